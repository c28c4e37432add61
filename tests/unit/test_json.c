/*
 * test_json.c - unit tests of json.c: strict parsing of untrusted text,
 * dotted-path getters and their statuses, building and compact serialization.
 */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
/* By path: json-c's own json.h comes first on the pkg-config include path. */
#include "json.h"

struct parse_case {
	const char *text;
	size_t len; /* 0: strlen(text) */
	enum status want;
};

static const struct parse_case parse_cases[] = {
    {"{}", 0, STATUS_OK},
    {"{\"a\":1}", 0, STATUS_OK},
    {" \r\n\t{\"a\":\"b\"} \n", 0, STATUS_OK},
    {"{\"a\":{\"b\":[1,2,{\"c\":null}]}}", 0, STATUS_OK},
    {"{\"a\":\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"}", 0, STATUS_OK},
    {"{\"a\":\"\\u00e9\\ud83d\\ude00\"}", 0, STATUS_OK},
    {"{\"a\":-1.5e3,\"b\":true,\"c\":false,\"d\":null}", 0, STATUS_OK},
    {"{\"a\":\"\\uD83D\\uDE00 \\u0000\",\"b\\u00e9\":1}", 0, STATUS_OK},
    /* lone surrogates: json-c would turn each into U+FFFD */
    {"{\"a\":\"x\\ud800\"}", 0, STATUS_BAD_REQUEST},
    {"{\"a\":\"x\\ud800y\"}", 0, STATUS_BAD_REQUEST},
    {"{\"a\":\"x\\udbff\\u0041\"}", 0, STATUS_BAD_REQUEST},
    {"{\"a\":\"x\\udc00\"}", 0, STATUS_BAD_REQUEST},
    {"{\"a\":\"\\ude00\\ud83d\"}", 0, STATUS_BAD_REQUEST},
    {"{\"a\\ud800\":1}", 0, STATUS_BAD_REQUEST},
    {"{\"a\":\"\\ud83d\\", 0, STATUS_BAD_REQUEST},
    /* numbers beyond RFC 8259 that json-c takes, and raw control characters */
    {"{\"a\":1.}", 0, STATUS_BAD_REQUEST},
    {"{\"a\":1.e5}", 0, STATUS_BAD_REQUEST},
    {"{\"a\":-.5}", 0, STATUS_BAD_REQUEST},
    {"{\"a\":00}", 0, STATUS_BAD_REQUEST},
    {"{\"a\":-01}", 0, STATUS_BAD_REQUEST},
    {"{\"a\":[1,-0,0.5,-1.25e-3,1E+2,1e05,0e0]}", 0, STATUS_OK},
    {"{\"a\":\"x\ty\"}", 0, STATUS_BAD_REQUEST},
    {"{\"a\":\"x\ny\"}", 0, STATUS_BAD_REQUEST},
    {"{\"a\":\"x\x1f\"}", 0, STATUS_BAD_REQUEST},
    {"{\"a\":\"x\\t\\u001f\"}", 0, STATUS_OK},
    /* a key with \u0000 would be cut short to another key by json-c */
    {"{\"a\\u0000b\":1}", 0, STATUS_BAD_REQUEST},
    {"{\"x\":{\"a\\u0000\" \t: 1}}", 0, STATUS_BAD_REQUEST},
    {"", 0, STATUS_BAD_REQUEST},
    {"   ", 0, STATUS_BAD_REQUEST},
    {"[]", 0, STATUS_BAD_REQUEST},
    {"[{\"a\":1}]", 0, STATUS_BAD_REQUEST},
    {"\"str\"", 0, STATUS_BAD_REQUEST},
    {"42", 0, STATUS_BAD_REQUEST},
    {"true", 0, STATUS_BAD_REQUEST},
    {"null", 0, STATUS_BAD_REQUEST},
    {"{", 0, STATUS_BAD_REQUEST},
    {"{\"a\":", 0, STATUS_BAD_REQUEST},
    {"{\"a\":1", 0, STATUS_BAD_REQUEST},
    {"{\"a\":\"unterminated}", 0, STATUS_BAD_REQUEST},
    {"{\"a\":1} x", 0, STATUS_BAD_REQUEST},
    {"{\"a\":1}{}", 0, STATUS_BAD_REQUEST},
    {"{\"a\":1},", 0, STATUS_BAD_REQUEST},
    {"{\"a\":1,}", 0, STATUS_BAD_REQUEST},
    {"{a:1}", 0, STATUS_BAD_REQUEST},
    {"{'a':1}", 0, STATUS_BAD_REQUEST},
    {"{\"a\":'b'}", 0, STATUS_BAD_REQUEST},
    {"{\"a\":NaN}", 0, STATUS_BAD_REQUEST},
    {"{\"a\":Infinity}", 0, STATUS_BAD_REQUEST},
    {"{\"a\":01}", 0, STATUS_BAD_REQUEST},
    {"{\"a\":TRUE}", 0, STATUS_BAD_REQUEST},
    {"{\"a\":1 /* c */}", 0, STATUS_BAD_REQUEST},
    {"{\"a\":1} // c", 0, STATUS_BAD_REQUEST},
    {"{\"a\":\"\xff\"}", 0, STATUS_BAD_REQUEST},
    {"{\"a\":\"\xc3\"}", 0, STATUS_BAD_REQUEST},
    {"{\"a\":1}\0", 8, STATUS_BAD_REQUEST},
    {"{\"a\":\"x\0y\"}", 11, STATUS_BAD_REQUEST},
    {"\0{}", 3, STATUS_BAD_REQUEST},
    /* exactly len bytes: the rest of the C string is not read */
    {"{\"a\":1}garbage", 7, STATUS_OK},
    {"{\"a\":1}", 6, STATUS_BAD_REQUEST},
};

static void
test_parse_table(void)
{
	for (size_t i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++) {
		const struct parse_case *c = &parse_cases[i];
		size_t len = c->len ? c->len : strlen(c->text);
		struct json *j = (struct json *)1;
		enum status rc = json_parse(c->text, len, &j);

		if (rc != c->want)
			fprintf(stderr, "  case %zu: %s\n", i, c->text);
		CHECK_INT(rc, c->want);
		CHECK(rc == STATUS_OK ? j != NULL : j == NULL);
		json_free(j);
	}
}

/* Build "{"a":" + depth-1 nested arrays + "}" for a total depth of depth. */
static enum status
parse_depth(int depth)
{
	char text[256];
	size_t n = 0;
	struct json *j = NULL;
	enum status rc;

	n += (size_t)snprintf(text + n, sizeof(text) - n, "{\"a\":");
	for (int i = 1; i < depth; i++)
		text[n++] = '[';
	text[n++] = '1';
	for (int i = 1; i < depth; i++)
		text[n++] = ']';
	text[n++] = '}';
	text[n] = '\0';
	rc = json_parse(text, n, &j);
	json_free(j);
	return rc;
}

static void
test_depth(void)
{
	CHECK_INT(parse_depth(1), STATUS_OK);
	CHECK_INT(parse_depth(JSON_MAX_DEPTH - 1), STATUS_OK);
	CHECK_INT(parse_depth(JSON_MAX_DEPTH), STATUS_BAD_REQUEST);
	CHECK_INT(parse_depth(JSON_MAX_DEPTH + 20), STATUS_BAD_REQUEST);
}

/*
 * One thread parses many texts with one kept parser: a text that ended it
 * midway (incomplete, too deep, refused) leaves nothing behind for the next,
 * and the strict rules still hold after a long text had its own parser.
 */
static void
test_parse_in_turn(void)
{
	static const char *const broken[] = {"{\"a\":{\"b\":[1,2", "{\"a\":[[[[[[[[[[[[[[[[[[1",
	                                     "{\"a\":\"x", "{\"a\" 1}"};
	char long_text[6000];
	struct json *j = NULL;
	const char *s = NULL;
	size_t n;

	for (size_t i = 0; i < sizeof(broken) / sizeof(broken[0]); i++) {
		CHECK_INT(json_parse(broken[i], strlen(broken[i]), &j), STATUS_BAD_REQUEST);
		CHECK_INT(json_parse("{\"x\":\"y\"}", 9, &j), STATUS_OK);
		CHECK_INT(json_get_string(j, "x", &s), STATUS_OK);
		CHECK_STR(s, "y");
		CHECK_INT(json_get_string(j, "a", &s), STATUS_NOT_FOUND);
		json_free(j);
		j = NULL;
	}
	n = (size_t)snprintf(long_text, sizeof(long_text), "{\"k\":\"");
	memset(long_text + n, 'v', 5000);
	n += 5000;
	n += (size_t)snprintf(long_text + n, sizeof(long_text) - n, "\"}");
	CHECK_INT(json_parse(long_text, n, &j), STATUS_OK);
	CHECK_INT(json_get_string(j, "k", &s), STATUS_OK);
	CHECK(s != NULL && strlen(s) == 5000);
	json_free(j);
	CHECK_INT(json_parse("{\"a\":1,}", 8, &j), STATUS_BAD_REQUEST);
	CHECK_INT(json_parse("{a:1}", 5, &j), STATUS_BAD_REQUEST);
	CHECK_INT(json_parse("{\"b\":2}", 7, &j), STATUS_OK);
	json_free(j);
}

static void
test_parse_null_args(void)
{
	struct json *j = (struct json *)1;

	CHECK_INT(json_parse(NULL, 3, &j), STATUS_BAD_REQUEST);
	CHECK(j == NULL);
	json_free(NULL); /* no-op */
}

static const char doc[] = "{\"s\":\"text\",\"e\":\"\",\"i\":42,\"neg\":-7,\"big\":9007199254740993,"
                          "\"u\":18446744073709551614,\"over\":18446744073709551616,"
                          "\"under\":-9223372036854775809,\"d\":1.5,\"t\":true,\"f\":false,"
                          "\"n\":null,\"o\":{\"k\":\"v\",\"in\":{\"deep\":\"x\"},\"n\":null},"
                          "\"arr\":[1],\"nul\":\"a\\u0000b\",\"dup\":\"1\",\"dup\":\"2\","
                          "\"a.b\":\"dotted\",\"esc\":\"q\\\"b\\\\s\\/\"}";

struct get_case {
	const char *path;
	enum status want;
	const char *value; /* expected text when want == STATUS_OK */
};

static const struct get_case string_cases[] = {
    {"s", STATUS_OK, "text"},
    {"e", STATUS_OK, ""},
    {"o.k", STATUS_OK, "v"},
    {"o.in.deep", STATUS_OK, "x"},
    {"dup", STATUS_OK, "2"},
    {"esc", STATUS_OK, "q\"b\\s/"},
    {"i", STATUS_BAD_REQUEST, NULL},
    {"t", STATUS_BAD_REQUEST, NULL},
    {"o", STATUS_BAD_REQUEST, NULL},
    {"arr", STATUS_BAD_REQUEST, NULL},
    {"nul", STATUS_BAD_REQUEST, NULL},
    {"s.x", STATUS_BAD_REQUEST, NULL}, /* walking through a string */
    {"n", STATUS_NOT_FOUND, NULL},
    {"n.x", STATUS_NOT_FOUND, NULL},
    {"o.n", STATUS_NOT_FOUND, NULL},
    {"missing", STATUS_NOT_FOUND, NULL},
    {"o.missing", STATUS_NOT_FOUND, NULL},
    {"o.in.deep.more", STATUS_BAD_REQUEST, NULL},
    {"a.b", STATUS_NOT_FOUND, NULL}, /* a dot always separates */
    {"", STATUS_NOT_FOUND, NULL},
    {".s", STATUS_NOT_FOUND, NULL},
    {"o..k", STATUS_NOT_FOUND, NULL},
    {"S", STATUS_NOT_FOUND, NULL}, /* keys are case-sensitive */
};

static void
test_get_string(void)
{
	struct json *j = NULL;

	CHECK_INT(json_parse(doc, strlen(doc), &j), STATUS_OK);
	for (size_t i = 0; i < sizeof(string_cases) / sizeof(string_cases[0]); i++) {
		const struct get_case *c = &string_cases[i];
		const char *v = NULL;
		enum status rc = json_get_string(j, c->path, &v);

		if (rc != c->want)
			fprintf(stderr, "  path \"%s\"\n", c->path);
		CHECK_INT(rc, c->want);
		if (c->want == STATUS_OK)
			CHECK_STR(v, c->value);
	}
	json_free(j);
}

static const struct get_case scalar_cases[] = {
    {"s", STATUS_OK, "text"},
    {"e", STATUS_OK, ""},
    {"i", STATUS_OK, "42"},
    {"neg", STATUS_OK, "-7"},
    {"big", STATUS_OK, "9007199254740993"},
    {"u", STATUS_OK, "18446744073709551614"},
    {"t", STATUS_OK, "true"},
    {"f", STATUS_OK, "false"},
    {"over", STATUS_BAD_REQUEST, NULL},
    {"under", STATUS_BAD_REQUEST, NULL},
    {"d", STATUS_BAD_REQUEST, NULL},
    {"o", STATUS_BAD_REQUEST, NULL},
    {"arr", STATUS_BAD_REQUEST, NULL},
    {"nul", STATUS_BAD_REQUEST, NULL},
    {"n", STATUS_NOT_FOUND, NULL},
    {"missing", STATUS_NOT_FOUND, NULL},
};

static void
test_get_scalar(void)
{
	struct json *j = NULL;
	char out[32];

	CHECK_INT(json_parse(doc, strlen(doc), &j), STATUS_OK);
	for (size_t i = 0; i < sizeof(scalar_cases) / sizeof(scalar_cases[0]); i++) {
		const struct get_case *c = &scalar_cases[i];
		enum status rc = json_get_scalar(j, c->path, out, sizeof(out));

		if (rc != c->want)
			fprintf(stderr, "  path \"%s\"\n", c->path);
		CHECK_INT(rc, c->want);
		if (c->want == STATUS_OK)
			CHECK_STR(out, c->value);
	}
	/* output bounds: exact fit and one byte short */
	CHECK_INT(json_get_scalar(j, "s", out, 5), STATUS_OK);
	CHECK_STR(out, "text");
	CHECK_INT(json_get_scalar(j, "s", out, 4), STATUS_TOO_LARGE);
	CHECK_INT(json_get_scalar(j, "i", out, 3), STATUS_OK);
	CHECK_INT(json_get_scalar(j, "i", out, 2), STATUS_TOO_LARGE);
	CHECK_INT(json_get_scalar(j, "t", out, 4), STATUS_TOO_LARGE);
	CHECK_INT(json_get_scalar(j, "e", out, 1), STATUS_OK);
	CHECK_INT(json_get_scalar(j, "s", out, 0), STATUS_TOO_LARGE);
	json_free(j);
}

static void
test_get_bool(void)
{
	struct json *j = NULL;
	bool b = false;

	CHECK_INT(json_parse(doc, strlen(doc), &j), STATUS_OK);
	CHECK_INT(json_get_bool(j, "t", &b), STATUS_OK);
	CHECK(b == true);
	CHECK_INT(json_get_bool(j, "f", &b), STATUS_OK);
	CHECK(b == false);
	CHECK_INT(json_get_bool(j, "s", &b), STATUS_BAD_REQUEST);
	CHECK_INT(json_get_bool(j, "i", &b), STATUS_BAD_REQUEST);
	CHECK_INT(json_get_bool(j, "n", &b), STATUS_NOT_FOUND);
	CHECK_INT(json_get_bool(j, "nope", &b), STATUS_NOT_FOUND);
	CHECK_INT(json_get_bool(NULL, "t", &b), STATUS_NOT_FOUND);
	json_free(j);
}

/* The shape Authy answers with, read the way authy.c reads it. */
static void
test_authy_shapes(void)
{
	static const char ok[] = "{\"approval_request\":{\"uuid\":\"550e8400-e29b\","
	                         "\"status\":\"pending\"},\"success\":true}";
	static const char user[] = "{\"message\":\"User created successfully.\","
	                           "\"user\":{\"id\":123456789},\"success\":true}";
	struct json *j = NULL;
	const char *s = NULL;
	char id[24];
	bool b = false;

	CHECK_INT(json_parse(ok, strlen(ok), &j), STATUS_OK);
	CHECK_INT(json_get_string(j, "approval_request.status", &s), STATUS_OK);
	CHECK_STR(s, "pending");
	CHECK_INT(json_get_string(j, "approval_request.uuid", &s), STATUS_OK);
	CHECK_STR(s, "550e8400-e29b");
	CHECK_INT(json_get_bool(j, "success", &b), STATUS_OK);
	CHECK(b);
	json_free(j);
	CHECK_INT(json_parse(user, strlen(user), &j), STATUS_OK);
	CHECK_INT(json_get_scalar(j, "user.id", id, sizeof(id)), STATUS_OK);
	CHECK_STR(id, "123456789");
	json_free(j);
}

struct build_case {
	const char *key;
	const char *value; /* NULL: add the int below */
	long long num;
};

static void
test_build_serialize(void)
{
	static const struct build_case steps[] = {
	    {"version", "1.0.0", 0},
	    {"status", NULL, 409},
	    {"slash", "a/b", 0},
	    {"quote", "say \"hi\"\\", 0},
	    {"ctl", "t\tn\n\x01", 0},
	    {"utf8", "caf\xc3\xa9", 0},
	    {"neg", NULL, -9007199254740993LL},
	    {"empty", "", 0},
	};
	static const char want[] = "{\"version\":\"1.0.0\",\"status\":409,\"slash\":\"a/b\","
	                           "\"quote\":\"say \\\"hi\\\"\\\\\",\"ctl\":\"t\\tn\\n\\u0001\","
	                           "\"utf8\":\"caf\xc3\xa9\",\"neg\":-9007199254740993,"
	                           "\"empty\":\"\"}";
	struct json *j = json_new_object();
	struct json *back = NULL;
	char *out = NULL;
	size_t len = 0;
	const char *s = NULL;

	CHECK(j != NULL);
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		if (steps[i].value != NULL)
			CHECK_INT(json_add_string(j, steps[i].key, steps[i].value), STATUS_OK);
		else
			CHECK_INT(json_add_int(j, steps[i].key, steps[i].num), STATUS_OK);
	}
	CHECK_INT(json_serialize(j, &out, &len), STATUS_OK);
	CHECK_STR(out, want);
	CHECK_INT(len, strlen(want));
	/* round trip */
	CHECK_INT(json_parse(out, len, &back), STATUS_OK);
	CHECK_INT(json_get_string(back, "quote", &s), STATUS_OK);
	CHECK_STR(s, "say \"hi\"\\");
	json_free(back);
	free(out);
	/* replacing a key keeps one entry */
	CHECK_INT(json_add_string(j, "version", "2"), STATUS_OK);
	CHECK_INT(json_serialize(j, &out, NULL), STATUS_OK);
	CHECK(strstr(out, "\"version\":\"2\"") != NULL);
	CHECK(strstr(out, "1.0.0") == NULL);
	free(out);
	CHECK_INT(json_add_string(j, "x", NULL), STATUS_INTERNAL);
	json_free(j);
}

static void
test_empty_object(void)
{
	struct json *j = json_new_object();
	char *out = NULL;
	size_t len = 99;

	CHECK_INT(json_serialize(j, &out, &len), STATUS_OK);
	CHECK_STR(out, "{}");
	CHECK_INT(len, 2);
	free(out);
	json_free(j);
	CHECK_INT(json_serialize(NULL, &out, &len), STATUS_INTERNAL);
	CHECK(out == NULL);
}

int
main(void)
{
	RUN(test_parse_table);
	RUN(test_depth);
	RUN(test_parse_in_turn);
	RUN(test_parse_null_args);
	RUN(test_get_string);
	RUN(test_get_scalar);
	RUN(test_get_bool);
	RUN(test_authy_shapes);
	RUN(test_build_serialize);
	RUN(test_empty_object);
	HARNESS_END();
}
