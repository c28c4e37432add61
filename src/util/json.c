/*
 * json.c - the only user of json-c: strict parsing of untrusted JSON (B2C
 * claims, Authy answers) into an opaque object with typed dotted-path getters,
 * and building and compact serialization of flat output objects.
 */
#include "json.h"

#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "utf8.h"
#include "util.h"

/* Longest dotted path and path segment the getters accept (paths are constants). */
#define JSON_PATH_MAX 256
/*
 * Texts up to this long are parsed by the thread's kept tokener, longer ones
 * by one of their own: a tokener's string buffer keeps the size of the
 * longest string it has held.
 */
#define KEEP_TOKENER_MAX 4096

struct json {
	json_object *obj; /* owned: one reference, dropped by json_free */
};

/* The value of the four hex digits at s, or -1 when they are not hex. */
static long
hex4(const char *s)
{
	long v = 0;

	for (int i = 0; i < 4; i++) {
		int d = util_hexval((unsigned char)s[i]);
		if (d < 0)
			return -1;
		v = v * 16 + d;
	}
	return v;
}

/*
 * Check the \u escape at text[i] (text[i] == 'u'); *i is left on its last
 * digit. A surrogate must come as a high-low pair: json-c turns a lone one
 * into U+FFFD, so two different names would become the same one. A \u0000
 * sets *nul.
 */
static bool
escape_ok(const char *text, size_t len, size_t *i, bool *nul)
{
	long v = *i + 4 < len ? hex4(text + *i + 1) : -1;

	if (v < 0)
		return false;
	*i += 4;
	if (v == 0)
		*nul = true;
	if (v >= 0xdc00 && v <= 0xdfff)
		return false;
	if (v < 0xd800 || v > 0xdbff)
		return true;
	if (*i + 6 >= len || text[*i + 1] != '\\' || text[*i + 2] != 'u')
		return false;
	v = hex4(text + *i + 3);
	*i += 6;
	return v >= 0xdc00 && v <= 0xdfff;
}

static size_t
digits(const char *text, size_t len, size_t i)
{
	while (i < len && text[i] >= '0' && text[i] <= '9')
		i++;
	return i;
}

/*
 * The end of the number that starts at text[i], or 0 when it is no JSON
 * number (RFC 8259: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?). json-c
 * also takes "1.", "-.5", "00" and "-01".
 */
static size_t
number_end(const char *text, size_t len, size_t i)
{
	size_t j;

	if (text[i] == '-')
		i++;
	if (i >= len || text[i] < '0' || text[i] > '9')
		return 0;
	j = text[i] == '0' ? i + 1 : digits(text, len, i);
	if (j < len && text[j] == '.') {
		i = j + 1;
		j = digits(text, len, i);
		if (j == i)
			return 0;
	}
	if (j < len && (text[j] == 'e' || text[j] == 'E')) {
		i = j + 1;
		if (i < len && (text[i] == '+' || text[i] == '-'))
			i++;
		j = digits(text, len, i);
		if (j == i)
			return 0;
	}
	/* "00" or "1.5.5": what follows a number is structure or white space */
	if (j < len && ((text[j] >= '0' && text[j] <= '9') || text[j] == '.'))
		return 0;
	return j;
}

/* Does a string that ended before text[i] name a key (a ':' follows)? */
static bool
is_key(const char *text, size_t len, size_t i)
{
	while (i < len && (text[i] == ' ' || text[i] == '\t' || text[i] == '\r' || text[i] == '\n'))
		i++;
	return i < len && text[i] == ':';
}

/*
 * Outside string literals JSON allows only white space, structure, numbers and
 * the letters of true/false/null. json-c's strict mode still takes 'single
 * quoted' strings, NaN, Infinity, numbers beyond the grammar (number_end) and
 * raw control characters inside strings; this scan refuses them before
 * json-c sees the text. It checks the \u escapes (escape_ok) and refuses a
 * key with \u0000: json-c keeps keys as C strings, so "authyId\u0000x" would
 * count as "authyId" while every other reader of the body sees another name.
 */
static bool
outside_strings_ok(const char *text, size_t len)
{
	static const char allowed[] = " \t\r\n{}[],:-+.0123456789eEtruefalsn";
	bool in_str = false, nul = false;

	for (size_t i = 0; i < len; i++) {
		char c = text[i];
		if (in_str) {
			/* control characters must be escaped in a string */
			if ((unsigned char)c < 0x20)
				return false;
			if (c == '\\' && i + 1 < len && text[i + 1] == 'u') {
				i++;
				if (!escape_ok(text, len, &i, &nul))
					return false;
			} else if (c == '\\') {
				i++;
			} else if (c == '"') {
				in_str = false;
				if (nul && is_key(text, len, i + 1))
					return false;
			}
		} else if (c == '"') {
			in_str = true;
			nul = false;
		} else if (c == '-' || (c >= '0' && c <= '9')) {
			size_t end = number_end(text, len, i);
			if (end == 0)
				return false;
			i = end - 1;
		} else if (strchr(allowed, c) == NULL) {
			return false;
		}
	}
	return true;
}

static bool
only_space(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
			return false;
	}
	return true;
}

static enum status
wrap(json_object *obj, struct json **out)
{
	struct json *j = malloc(sizeof(*j));

	if (j == NULL) {
		json_object_put(obj);
		return STATUS_NOMEM;
	}
	j->obj = obj;
	*out = j;
	return STATUS_OK;
}

/*
 * One tokener per thread, kept between parses: a new one costs four
 * allocations and the clearing of its stack, as much as a small reply's
 * objects. The key frees it when its thread ends.
 */
static pthread_key_t tok_key;
static pthread_once_t tok_once = PTHREAD_ONCE_INIT;
static bool tok_key_ok;

static void
tok_destroy(void *tok)
{
	json_tokener_free(tok);
}

static void
tok_key_init(void)
{
	tok_key_ok = pthread_key_create(&tok_key, tok_destroy) == 0;
}

/* A tokener for a text of len bytes: the thread's kept one, or a new one; NULL without memory. */
static struct json_tokener *
tokener_take(size_t len)
{
	struct json_tokener *tok = NULL;

	if (len <= KEEP_TOKENER_MAX) {
		pthread_once(&tok_once, tok_key_init);
		if (tok_key_ok)
			tok = pthread_getspecific(tok_key);
		if (tok != NULL && pthread_setspecific(tok_key, NULL) != 0)
			tok = NULL;
	}
	if (tok == NULL) {
		tok = json_tokener_new_ex(JSON_MAX_DEPTH);
		/*
		 * Strict: no trailing commas or unquoted names. UTF-8 validation
		 * keeps broken byte sequences away from Authy, the logs and our own
		 * replies.
		 */
		if (tok != NULL)
			json_tokener_set_flags(tok,
			                       JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	}
	return tok;
}

/* Done with tok: cleared of what a failed text left, and kept for the thread's next parse. */
static void
tokener_give(struct json_tokener *tok, size_t len)
{
	if (tok == NULL)
		return;
	json_tokener_reset(tok);
	if (len <= KEEP_TOKENER_MAX && tok_key_ok && pthread_getspecific(tok_key) == NULL &&
	    pthread_setspecific(tok_key, tok) == 0)
		return;
	json_tokener_free(tok);
}

enum status
json_parse(const char *text, size_t len, struct json **out)
{
	struct json_tokener *tok = NULL;
	json_object *obj = NULL;
	enum status rc = STATUS_BAD_REQUEST;

	*out = NULL;
	/*
	 * The body is counted, not NUL-terminated, and json-c takes an int length.
	 * A NUL byte inside it would make the C strings handed out later disagree
	 * with what was parsed, so it is refused outright.
	 */
	if (text == NULL || len == 0 || len >= INT_MAX || memchr(text, '\0', len) != NULL)
		return STATUS_BAD_REQUEST;
	if (!outside_strings_ok(text, len) || !utf8_valid(text, len))
		return STATUS_BAD_REQUEST;
	tok = tokener_take(len);
	if (tok == NULL)
		return STATUS_NOMEM;
	obj = json_tokener_parse_ex(tok, text, (int)len);
	/* An incomplete text ends in json_tokener_continue: also a failure here. */
	if (obj == NULL || json_tokener_get_error(tok) != json_tokener_success)
		goto out;
	if (!only_space(text + json_tokener_get_parse_end(tok),
	                len - json_tokener_get_parse_end(tok)))
		goto out;
	/* B2C posts a flat object of claims and Authy answers with an object. */
	if (!json_object_is_type(obj, json_type_object))
		goto out;
	rc = wrap(obj, out);
	obj = NULL; /* wrap took the reference, or dropped it on failure */
out:
	json_object_put(obj);
	tokener_give(tok, len);
	return rc;
}

void
json_free(struct json *j)
{
	if (j == NULL)
		return;
	json_object_put(j->obj);
	free(j);
}

/*
 * Walk a dotted path from obj. STATUS_OK with *out (never a JSON null),
 * STATUS_NOT_FOUND when a segment is absent or null, STATUS_BAD_REQUEST when an
 * intermediate value is not an object.
 */
static enum status
lookup_from(json_object *obj, const char *path, json_object **out)
{
	char seg[JSON_PATH_MAX];
	json_object *cur;

	if (obj == NULL || path == NULL || *path == '\0')
		return STATUS_NOT_FOUND;
	cur = obj;
	while (*path != '\0') {
		size_t n = strcspn(path, ".");
		if (n == 0 || n >= sizeof(seg))
			return STATUS_NOT_FOUND;
		if (!json_object_is_type(cur, json_type_object))
			return STATUS_BAD_REQUEST;
		memcpy(seg, path, n);
		seg[n] = '\0';
		if (!json_object_object_get_ex(cur, seg, &cur) || cur == NULL)
			return STATUS_NOT_FOUND;
		path += n;
		if (*path == '.')
			path++;
	}
	*out = cur;
	return STATUS_OK;
}

static enum status
lookup(const struct json *j, const char *path, json_object **out)
{
	return lookup_from(j != NULL ? j->obj : NULL, path, out);
}

static enum status
string_of(json_object *v, const char **out)
{
	if (!json_object_is_type(v, json_type_string))
		return STATUS_BAD_REQUEST;
	/* A "\u0000" escape would silently cut the C string short: refuse it. */
	if (strlen(json_object_get_string(v)) != (size_t)json_object_get_string_len(v))
		return STATUS_BAD_REQUEST;
	*out = json_object_get_string(v);
	return STATUS_OK;
}

enum status
json_get_string(const struct json *j, const char *path, const char **out)
{
	json_object *v = NULL;
	enum status rc = lookup(j, path, &v);

	if (rc != STATUS_OK)
		return rc;
	return string_of(v, out);
}

/*
 * Render an integer. json-c saturates out-of-range literals to INT64_MIN or
 * UINT64_MAX instead of failing, so those two values are refused as unreliable.
 */
static enum status
render_int(json_object *v, char *out, size_t outlen)
{
	int64_t s = json_object_get_int64(v);
	uint64_t u = json_object_get_uint64(v);
	int n;

	if (s == INT64_MIN || u == UINT64_MAX)
		return STATUS_BAD_REQUEST;
	if (s >= 0)
		n = snprintf(out, outlen, "%" PRIu64, u);
	else
		n = snprintf(out, outlen, "%" PRId64, s);
	return (n < 0 || (size_t)n >= outlen) ? STATUS_TOO_LARGE : STATUS_OK;
}

enum status
json_get_scalar(const struct json *j, const char *path, char *out, size_t outlen)
{
	json_object *v = NULL;
	const char *s = NULL;
	enum status rc = lookup(j, path, &v);

	if (rc != STATUS_OK)
		return rc;
	if (out == NULL || outlen == 0)
		return STATUS_TOO_LARGE;
	/* B2C sends numeric claims (int/long claim types) as JSON numbers. */
	switch (json_object_get_type(v)) {
	case json_type_string:
		rc = string_of(v, &s);
		if (rc == STATUS_OK && strlen(s) >= outlen)
			rc = STATUS_TOO_LARGE;
		if (rc == STATUS_OK)
			memcpy(out, s, strlen(s) + 1);
		return rc;
	case json_type_int:
		return render_int(v, out, outlen);
	case json_type_boolean:
		s = json_object_get_boolean(v) ? "true" : "false";
		if (strlen(s) >= outlen)
			return STATUS_TOO_LARGE;
		memcpy(out, s, strlen(s) + 1);
		return STATUS_OK;
	default:
		/* fractions, objects and arrays have no single text form */
		return STATUS_BAD_REQUEST;
	}
}

enum status
json_get_array_len(const struct json *j, const char *path, size_t *n)
{
	json_object *v = NULL;
	enum status rc = lookup(j, path, &v);

	if (rc != STATUS_OK)
		return rc;
	if (!json_object_is_type(v, json_type_array))
		return STATUS_BAD_REQUEST;
	*n = json_object_array_length(v);
	return STATUS_OK;
}

enum status
json_get_elem_string(const struct json *j, const char *path, size_t i, const char *field,
                     const char **out)
{
	json_object *arr = NULL, *elem, *v = NULL;
	enum status rc = lookup(j, path, &arr);

	if (rc != STATUS_OK)
		return rc;
	if (!json_object_is_type(arr, json_type_array))
		return STATUS_BAD_REQUEST;
	if (i >= json_object_array_length(arr))
		return STATUS_NOT_FOUND;
	elem = json_object_array_get_idx(arr, i);
	if (elem == NULL)
		return STATUS_NOT_FOUND;
	if (!json_object_is_type(elem, json_type_object))
		return STATUS_BAD_REQUEST;
	rc = lookup_from(elem, field, &v);
	if (rc != STATUS_OK)
		return rc;
	return string_of(v, out);
}

enum status
json_get_bool(const struct json *j, const char *path, bool *out)
{
	json_object *v = NULL;
	enum status rc = lookup(j, path, &v);

	if (rc != STATUS_OK)
		return rc;
	if (!json_object_is_type(v, json_type_boolean))
		return STATUS_BAD_REQUEST;
	*out = json_object_get_boolean(v) != 0;
	return STATUS_OK;
}

struct json *
json_new_object(void)
{
	json_object *obj = json_object_new_object();
	struct json *j = NULL;

	if (obj == NULL)
		return NULL;
	if (wrap(obj, &j) != STATUS_OK)
		return NULL;
	return j;
}

/* Attach value under key; takes the reference of value in every case. */
static enum status
add(struct json *j, const char *key, json_object *value)
{
	if (value == NULL)
		return STATUS_NOMEM;
	if (j == NULL || key == NULL) {
		json_object_put(value);
		return STATUS_INTERNAL;
	}
	if (json_object_object_add(j->obj, key, value) != 0) {
		json_object_put(value);
		return STATUS_NOMEM;
	}
	return STATUS_OK;
}

enum status
json_add_string(struct json *j, const char *key, const char *value)
{
	if (value == NULL)
		return STATUS_INTERNAL;
	return add(j, key, json_object_new_string(value));
}

/* Integers stay integers in the output ("status":409), as B2C expects. */
enum status
json_add_int(struct json *j, const char *key, long long value)
{
	return add(j, key, json_object_new_int64((int64_t)value));
}

enum status
json_serialize(const struct json *j, char **out, size_t *len)
{
	const char *text;
	size_t n = 0;
	char *copy;

	*out = NULL;
	if (j == NULL)
		return STATUS_INTERNAL;
	/* json-c renders into a buffer inside the object: one object, one thread. */
	text = json_object_to_json_string_length(
	    j->obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
	if (text == NULL)
		return STATUS_NOMEM;
	/* The caller owns the text beyond the life of the object. */
	copy = malloc(n + 1);
	if (copy == NULL)
		return STATUS_NOMEM;
	memcpy(copy, text, n);
	copy[n] = '\0';
	*out = copy;
	if (len != NULL)
		*len = n;
	return STATUS_OK;
}

struct walk {
	const char *path[JSON_MAX_DEPTH + 1];
	bool is_index[JSON_MAX_DEPTH + 1];
	json_visit_fn visit;
	void *arg;
};

static enum status walk_value(struct walk *w, json_object *v, size_t depth);

static enum status
walk_leaf(struct walk *w, json_object *v, size_t depth)
{
	struct json_leaf leaf = {w->path, w->is_index, depth, NULL};
	char num[32];

	switch (json_object_get_type(v)) {
	case json_type_null:
		break;
	case json_type_boolean:
		leaf.value = json_object_get_boolean(v) ? "true" : "false";
		break;
	case json_type_int:
		if (render_int(v, num, sizeof(num)) != STATUS_OK)
			return STATUS_BAD_REQUEST;
		leaf.value = num;
		break;
	default:
		leaf.value = json_object_get_string(v);
		break;
	}
	return w->visit(w->arg, &leaf);
}

static enum status
walk_value(struct walk *w, json_object *v, size_t depth)
{
	enum status rc = STATUS_OK;

	if (depth > JSON_MAX_DEPTH)
		return STATUS_BAD_REQUEST;
	if (json_object_is_type(v, json_type_object)) {
		json_object_object_foreach(v, key, child)
		{
			w->path[depth] = key;
			w->is_index[depth] = false;
			rc = walk_value(w, child, depth + 1);
			if (rc != STATUS_OK)
				return rc;
		}
		return STATUS_OK;
	}
	if (json_object_is_type(v, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(v) && rc == STATUS_OK; i++) {
			w->path[depth] = "";
			w->is_index[depth] = true;
			rc = walk_value(w, json_object_array_get_idx(v, i), depth + 1);
		}
		return rc;
	}
	return depth == 0 ? STATUS_BAD_REQUEST : walk_leaf(w, v, depth);
}

enum status
json_walk(const struct json *j, json_visit_fn visit, void *arg)
{
	struct walk w = {.visit = visit, .arg = arg};

	return walk_value(&w, j->obj, 0);
}
