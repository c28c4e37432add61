/*
 * json.h - the only interface to json-c. Parsing of untrusted JSON into an
 * opaque object with typed getters, and building of flat output objects.
 * An object belongs to one thread at a time, and other objects may be used
 * on other threads meanwhile; each thread keeps one parser between parses.
 */
#ifndef B2CAUTHY_JSON_H
#define B2CAUTHY_JSON_H

#include <stdbool.h>
#include <stddef.h>

#include "status.h"

#define JSON_MAX_DEPTH 16

struct json;

/*
 * json_parse - parse exactly len bytes as one JSON value which must be an
 * object; trailing non-space bytes, invalid UTF-8, a lone surrogate escape,
 * a name with a \u0000 escape, depth > JSON_MAX_DEPTH or a non-object give
 * STATUS_BAD_REQUEST. STATUS_NOMEM on allocation failure.
 * On success *out is owned by the caller (json_free). Thread-safe: each
 * thread keeps its own json-c tokener, freed when the thread ends.
 */
enum status json_parse(const char *text, size_t len, struct json **out);

/* json_free - release a parsed or built object; NULL is a no-op. */
void json_free(struct json *j);

/*
 * json_get_string - the string at a dotted path ("approval_request.status").
 * Returns STATUS_OK and *out borrowed from j (valid until json_free),
 * STATUS_NOT_FOUND when absent or null, STATUS_BAD_REQUEST when another type.
 */
enum status json_get_string(const struct json *j, const char *path, const char **out);

/*
 * json_get_scalar - a string, integer or boolean at path rendered as text into
 * out (integers in decimal, booleans "true"/"false"). Statuses as
 * json_get_string; STATUS_TOO_LARGE when it does not fit outlen.
 */
enum status json_get_scalar(const struct json *j, const char *path, char *out, size_t outlen);

/*
 * json_get_bool - a boolean at path. Statuses as json_get_string.
 */
enum status json_get_bool(const struct json *j, const char *path, bool *out);

/*
 * json_get_array_len - the number of elements of the array at path. STATUS_OK
 * and *n, STATUS_NOT_FOUND when absent or null, STATUS_BAD_REQUEST when the
 * value is not an array.
 */
enum status json_get_array_len(const struct json *j, const char *path, size_t *n);

/*
 * json_get_elem_string - the string at the dotted path field inside element i
 * of the array at path ("factors", 0, "status"). Statuses as json_get_string;
 * STATUS_NOT_FOUND also for i out of range, STATUS_BAD_REQUEST when the array
 * is not one or the element is not an object. *out is borrowed from j.
 */
enum status json_get_elem_string(const struct json *j, const char *path, size_t i,
                                 const char *field, const char **out);

/* One leaf of a walked document: the path of keys (array positions have
 * is_index set and an empty key) and the value as text, NULL for null. */
struct json_leaf {
	const char *const *path;
	const bool *is_index;
	size_t depth; /* number of path elements, >= 1 */
	const char *value;
};

typedef enum status (*json_visit_fn)(void *arg, const struct json_leaf *leaf);

/*
 * json_walk - call visit for every scalar leaf of j in document order:
 * strings as they are, integers in decimal, doubles as json-c prints them,
 * booleans "true"/"false", null as NULL. Empty objects and arrays yield no
 * leaf. Stops at the first status other than STATUS_OK and returns it.
 * Strings passed to visit are valid during the call only.
 */
enum status json_walk(const struct json *j, json_visit_fn visit, void *arg);

/* json_new_object - an empty object to build output; NULL when out of memory. */
struct json *json_new_object(void);

/* json_add_string / json_add_int - set key on a built object. STATUS_OK or STATUS_NOMEM. */
enum status json_add_string(struct json *j, const char *key, const char *value);
enum status json_add_int(struct json *j, const char *key, long long value);

/*
 * json_serialize - compact text of j, newly allocated (free()), length in *len
 * (may be NULL). STATUS_OK or STATUS_NOMEM.
 */
enum status json_serialize(const struct json *j, char **out, size_t *len);

#endif
