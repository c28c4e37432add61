/*
 * test_form.c - unit tests of form.c: building pairs of a form body, decoding
 * components, splitting bodies into pairs and finding one value.
 */
#include <stdlib.h>
#include <string.h>

#include "form.h"
#include "form_int.h"
#include "harness.h"

static void
test_add(void)
{
	struct buf b;

	buf_init(&b, 256);
	CHECK_INT(form_add(&b, "user", "email", "jane+x@example.com"), STATUS_OK);
	CHECK_STR(buf_cstr(&b), "user%5Bemail%5D=jane%2Bx%40example.com");
	CHECK_INT(form_add(&b, "message", NULL, "Log in?"), STATUS_OK);
	CHECK_STR(buf_cstr(&b), "user%5Bemail%5D=jane%2Bx%40example.com&message=Log+in%3F");
	CHECK_INT(form_add(&b, "empty", NULL, NULL), STATUS_OK);
	CHECK_STR(buf_cstr(&b) + b.len - 7, "&empty=");
	buf_free(&b);
	/* A pair that does not fit is refused. */
	buf_init(&b, 8);
	CHECK_INT(form_add(&b, "name", NULL, "too long a value"), STATUS_TOO_LARGE);
	buf_free(&b);
}

static void
test_decode(void)
{
	static const char *const good[][2] = {{"a+b", "a b"},
	                                      {"%41%62c", "Abc"},
	                                      {"x%2Fy%3d", "x/y="},
	                                      {"", ""},
	                                      {"%e2%82%ac", "\xe2\x82\xac"}};
	static const char *const bad[] = {"%", "%4", "%zz", "a%00b", "%g1"};
	char out[32];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		CHECK_INT(form_decode(good[i][0], strlen(good[i][0]), out), STATUS_OK);
		CHECK_STR(out, good[i][1]);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_INT(form_decode(bad[i], strlen(bad[i]), out), STATUS_BAD_REQUEST);
	/* Only len bytes are read. */
	CHECK_INT(form_decode("ab%41", 3, out), STATUS_BAD_REQUEST);
	CHECK_INT(form_decode("ab%41", 2, out), STATUS_OK);
	CHECK_STR(out, "ab");
	/* form_unescape keeps '+' (base64 in an escaped PEM). */
	CHECK_INT(form_unescape("a+b%2Bc%0A", 10, out), STATUS_OK);
	CHECK_STR(out, "a+b+c\n");
	CHECK_INT(form_unescape("a%00", 4, out), STATUS_BAD_REQUEST);
	CHECK_INT(form_unescape("%2", 2, out), STATUS_BAD_REQUEST);
}

struct seen {
	char text[256];
	int n;
	enum status stop_at_b;
};

static enum status
record(void *arg, const char *name, const char *value)
{
	struct seen *s = arg;
	size_t o = strlen(s->text);

	snprintf(s->text + o, sizeof(s->text) - o, "[%s|%s]", name, value);
	s->n++;
	return strcmp(name, "b") == 0 ? s->stop_at_b : STATUS_OK;
}

static void
test_each(void)
{
	static const char body[] = "a=1&&b=x+y%26z&flag&=v&c=";
	struct seen s = {"", 0, STATUS_OK};
	char *big;

	CHECK_INT(form_each(body, strlen(body), record, &s), STATUS_OK);
	CHECK_STR(s.text, "[a|1][b|x y&z][flag|][|v][c|]");
	CHECK_INT(s.n, 5);
	/* The visitor's answer stops the walk. */
	memset(&s, 0, sizeof(s));
	s.stop_at_b = STATUS_NOMEM;
	CHECK_INT(form_each(body, strlen(body), record, &s), STATUS_NOMEM);
	CHECK_STR(s.text, "[a|1][b|x y&z]");
	/* Only len bytes; an empty body has no pairs. */
	memset(&s, 0, sizeof(s));
	CHECK_INT(form_each(body, 3, record, &s), STATUS_OK);
	CHECK_STR(s.text, "[a|1]");
	CHECK_INT(form_each("", 0, record, &s), STATUS_OK);
	CHECK_INT(s.n, 1);
	/* NUL bytes, bad escapes and oversized items are refused. */
	CHECK_INT(form_each("a=1\0b=2", 7, record, &s), STATUS_BAD_REQUEST);
	CHECK_INT(form_each("a=%zz", 5, record, &s), STATUS_BAD_REQUEST);
	big = malloc(FORM_ITEM_MAX + 2);
	CHECK(big != NULL);
	if (big == NULL)
		return;
	memset(big, 'a', FORM_ITEM_MAX + 1);
	big[0] = 'k';
	big[1] = '=';
	memset(&s, 0, sizeof(s));
	CHECK_INT(form_each(big, FORM_ITEM_MAX, record, &s), STATUS_OK);
	CHECK_INT(s.n, 1);
	CHECK_INT(form_each(big, FORM_ITEM_MAX + 1, record, &s), STATUS_BAD_REQUEST);
	free(big);
}

static void
test_get(void)
{
	static const char body[] = "uuid=abc-123&status=approved&status=denied&x%5Fy=1";
	char out[16];

	CHECK_INT(form_get(body, strlen(body), "uuid", out, sizeof(out)), STATUS_OK);
	CHECK_STR(out, "abc-123");
	/* The first one wins; names compare after decoding. */
	CHECK_INT(form_get(body, strlen(body), "status", out, sizeof(out)), STATUS_OK);
	CHECK_STR(out, "approved");
	CHECK_INT(form_get(body, strlen(body), "x_y", out, sizeof(out)), STATUS_OK);
	CHECK_STR(out, "1");
	CHECK_INT(form_get(body, strlen(body), "missing", out, sizeof(out)), STATUS_BAD_REQUEST);
	CHECK_STR(out, "");
	CHECK_INT(form_get(body, strlen(body), "status", out, 8), STATUS_BAD_REQUEST);
	CHECK_INT(form_get(body, strlen(body), "status", out, 9), STATUS_OK);
	CHECK_INT(form_get("uuid=%zz", 8, "uuid", out, sizeof(out)), STATUS_BAD_REQUEST);
}

int
main(void)
{
	RUN(test_add);
	RUN(test_decode);
	RUN(test_each);
	RUN(test_get);
	HARNESS_END();
}
