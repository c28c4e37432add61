/*
 * test_authy_reply.c - the interpretation of Authy's replies to users/new,
 * approval requests and status polls, without any network: HTTP status plus
 * body in, result status, id/uuid and error code out.
 */
#include <string.h>

#include "api_call.h"
#include "authy.h"
#include "authy_int.h"
#include "harness.h"

struct row {
	long http;
	const char *body;
	enum status want;
	const char *out;  /* expected id / uuid on success */
	const char *code; /* expected call.error_code */
};

static void
test_user_create_reply(void)
{
	static const struct row rows[] = {
	    {200,
	     "{\"message\":\"User created successfully.\",\"user\":{\"id\":123},\"success\":true}",
	     STATUS_OK, "123", ""},
	    {200, "{\"user\":{\"id\":\"4567\"}}", STATUS_OK, "4567", ""},
	    {201, "{\"user\":{\"id\":99},\"success\":true}", STATUS_OK, "99", ""},
	    {200, "{\"user\":{\"id\":\"12a\"},\"success\":true}", STATUS_UPSTREAM_PROTOCOL, "", ""},
	    {200, "{\"user\":{\"id\":-5},\"success\":true}", STATUS_UPSTREAM_PROTOCOL, "", ""},
	    {200, "{\"user\":{\"id\":1.5},\"success\":true}", STATUS_UPSTREAM_PROTOCOL, "", ""},
	    {200, "{\"user\":{\"id\":123456789012345678901},\"success\":true}",
	     STATUS_UPSTREAM_PROTOCOL, "", ""},
	    {200, "{\"user\":{},\"success\":true}", STATUS_UPSTREAM_PROTOCOL, "", ""},
	    {200, "{\"user\":[1],\"success\":true}", STATUS_UPSTREAM_PROTOCOL, "", ""},
	    {200, "{\"user\":{\"id\":1},\"success\":false}", STATUS_UPSTREAM_PROTOCOL, "", ""},
	    {200, "not json {", STATUS_UPSTREAM_PROTOCOL, "", ""},
	    {200, "", STATUS_UPSTREAM_PROTOCOL, "", ""},
	    {200, "[{\"user\":{\"id\":1}}]", STATUS_UPSTREAM_PROTOCOL, "", ""},
	    {400, "{\"success\":false,\"message\":\"User was not valid\",\"error_code\":\"60027\"}",
	     STATUS_USER_REJECTED, "", "60027"},
	    {400, "{\"success\":false,\"error_code\":60000}", STATUS_USER_REJECTED, "", "60000"},
	    {401, "{\"success\":false,\"error_code\":\"60001\"}", STATUS_UPSTREAM_AUTH, "",
	     "60001"},
	    {429, "{\"success\":false,\"error_code\":\"60003\"}", STATUS_RATE_LIMITED, "", "60003"},
	    {503, "<html>busy</html>", STATUS_UPSTREAM_HTTP, "", ""},
	    {502, "", STATUS_UPSTREAM_HTTP, "", ""},
	    {404, "{\"success\":false}", STATUS_UPSTREAM_HTTP, "", ""},
	    {302, "{\"success\":true,\"user\":{\"id\":1}}", STATUS_UPSTREAM_HTTP, "", ""},
	    {0, "", STATUS_UPSTREAM_HTTP, "", ""},
	};
	char id[AUTHY_ID_MAX + 1];

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct api_call call;
		enum status rc;

		memset(&call, 0, sizeof(call));
		memset(id, 'x', sizeof(id));
		rc = authy_user_create_reply(
		    &call, &(struct api_reply){rows[i].http, rows[i].body, strlen(rows[i].body)},
		    id, sizeof(id));
		if (rc != rows[i].want)
			fprintf(stderr, "  row %zu: %s\n", i, status_str(rc));
		CHECK_INT(rc, rows[i].want);
		CHECK_STR(id, rows[i].out);
		CHECK_STR(call.error_code, rows[i].code);
		CHECK(rc == STATUS_OK || call.err[0] != '\0');
	}
}

static void
test_user_create_reply_bounds(void)
{
	static const char body[] = "{\"user\":{\"id\":12345},\"success\":true}";
	struct api_call call;
	char small[5];
	char id[AUTHY_ID_MAX + 1];

	memset(&call, 0, sizeof(call));
	/* the id does not fit: refused rather than truncated */
	CHECK_INT(authy_user_create_reply(&call, &(struct api_reply){200, body, strlen(body)},
	                                  small, sizeof(small)),
	          STATUS_UPSTREAM_PROTOCOL);
	CHECK_STR(small, "");
	/* exactly len bytes are parsed: a body cut short is not JSON */
	CHECK_INT(authy_user_create_reply(&call, &(struct api_reply){200, body, strlen(body) - 1},
	                                  id, sizeof(id)),
	          STATUS_UPSTREAM_PROTOCOL);
	CHECK_INT(authy_user_create_reply(&call, &(struct api_reply){200, NULL, 0}, id, sizeof(id)),
	          STATUS_UPSTREAM_PROTOCOL);
	/* a NUL inside the counted body is refused */
	CHECK_INT(authy_user_create_reply(&call, &(struct api_reply){200, body, sizeof(body)}, id,
	                                  sizeof(id)),
	          STATUS_UPSTREAM_PROTOCOL);
	/* error_code from an earlier reply does not stick */
	CHECK_INT(
	    authy_user_create_reply(
	        &call, &(struct api_reply){400, "{\"error_code\":\"60027\"}", 22}, id, sizeof(id)),
	    STATUS_USER_REJECTED);
	CHECK_INT(authy_user_create_reply(&call, &(struct api_reply){200, body, strlen(body)}, id,
	                                  sizeof(id)),
	          STATUS_OK);
	CHECK_STR(call.error_code, "");
	CHECK_STR(id, "12345");
}

static void
test_approval_create_reply(void)
{
	static const struct row rows[] = {
	    {200,
	     "{\"approval_request\":{\"uuid\":\"a4b2c3d4-e5f6-4789-abcd-ef0123456789\"},"
	     "\"success\":true}",
	     STATUS_OK, "a4b2c3d4-e5f6-4789-abcd-ef0123456789", ""},
	    {200, "{\"approval_request\":{\"uuid\":\"../users/1\"},\"success\":true}",
	     STATUS_UPSTREAM_PROTOCOL, "", ""},
	    {200, "{\"approval_request\":{\"uuid\":\"abc?x=1\"}}", STATUS_UPSTREAM_PROTOCOL, "",
	     ""},
	    {200, "{\"approval_request\":{\"uuid\":\"\"}}", STATUS_UPSTREAM_PROTOCOL, "", ""},
	    {200, "{\"approval_request\":{\"uuid\":1234}}", STATUS_UPSTREAM_PROTOCOL, "", ""},
	    {200, "{\"approval_request\":\"x\"}", STATUS_UPSTREAM_PROTOCOL, "", ""},
	    {200,
	     "{\"approval_request\":{\"uuid\":\"0123456789abcdef0123456789abcdef0123456789abcdef"
	     "0123456789abcdef0\"}}",
	     STATUS_UPSTREAM_PROTOCOL, "", ""},
	    {404, "{\"success\":false,\"error_code\":\"60026\"}", STATUS_USER_NOT_FOUND, "",
	     "60026"},
	    {400, "{\"success\":false,\"error_code\":\"60000\"}", STATUS_UPSTREAM_HTTP, "",
	     "60000"},
	    {400, "{\"success\":false}", STATUS_UPSTREAM_HTTP, "", ""},
	    {500, "{\"success\":false}", STATUS_UPSTREAM_HTTP, "", ""},
	    {200, "{\"success\":false,\"error_code\":\"60003\"}", STATUS_RATE_LIMITED, "", "60003"},
	};
	char uuid[AUTHY_UUID_MAX + 1];

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct api_call call;
		enum status rc;

		memset(&call, 0, sizeof(call));
		rc = authy_approval_create_reply(
		    &call, &(struct api_reply){rows[i].http, rows[i].body, strlen(rows[i].body)},
		    uuid, sizeof(uuid));
		if (rc != rows[i].want)
			fprintf(stderr, "  row %zu: %s\n", i, status_str(rc));
		CHECK_INT(rc, rows[i].want);
		CHECK_STR(uuid, rows[i].out);
		CHECK_STR(call.error_code, rows[i].code);
	}
}

static void
test_approval_status_reply(void)
{
	static const struct row rows[] = {
	    {200, "{\"approval_request\":{\"status\":\"approved\"},\"success\":true}", STATUS_OK,
	     "", ""},
	    {200, "{\"approval_request\":{\"status\":\"pending\"}}", STATUS_PENDING, "", ""},
	    {200, "{\"approval_request\":{\"status\":\"denied\"}}", STATUS_DENIED, "", ""},
	    {200, "{\"approval_request\":{\"status\":\"expired\"}}", STATUS_EXPIRED, "", ""},
	    {200, "{\"approval_request\":{\"status\":\"APPROVED\"}}", STATUS_UPSTREAM_PROTOCOL, "",
	     ""},
	    {200, "{\"approval_request\":{\"status\":\"approved \"}}", STATUS_UPSTREAM_PROTOCOL, "",
	     ""},
	    {200, "{\"approval_request\":{\"status\":true}}", STATUS_UPSTREAM_PROTOCOL, "", ""},
	    {200, "{\"approval_request\":{}}", STATUS_UPSTREAM_PROTOCOL, "", ""},
	    {200, "{\"status\":\"approved\"}", STATUS_UPSTREAM_PROTOCOL, "", ""},
	    {200, "{\"approval_request\":{\"status\":\"approved\"},\"success\":false}",
	     STATUS_UPSTREAM_PROTOCOL, "", ""},
	    {404, "{\"success\":false,\"error_code\":\"60049\"}", STATUS_APPROVAL_NOT_FOUND, "",
	     "60049"},
	    {429, "{\"approval_request\":{\"status\":\"approved\"}}", STATUS_RATE_LIMITED, "", ""},
	    {500, "{\"approval_request\":{\"status\":\"approved\"}}", STATUS_UPSTREAM_HTTP, "", ""},
	    {200, "{\"approval_request\":{\"status\":\"approved\"}} x", STATUS_UPSTREAM_PROTOCOL,
	     "", ""},
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct api_call call;
		enum status rc;

		memset(&call, 0, sizeof(call));
		rc = authy_approval_status_reply(
		    &call, &(struct api_reply){rows[i].http, rows[i].body, strlen(rows[i].body)});
		if (rc != rows[i].want)
			fprintf(stderr, "  row %zu: %s\n", i, status_str(rc));
		CHECK_INT(rc, rows[i].want);
		CHECK_STR(call.error_code, rows[i].code);
	}
}

static void
test_token_verify_reply(void)
{
	static const struct row rows[] = {
	    {200, "{\"message\":\"Token is valid.\",\"token\":\"is valid\",\"success\":true}",
	     STATUS_OK, "", ""},
	    /* Authy has sent success as a string in this reply */
	    {200, "{\"message\":\"Token is valid.\",\"token\":\"is valid\",\"success\":\"true\"}",
	     STATUS_OK, "", ""},
	    /* never approve without the documented answer */
	    {200, "{\"success\":true}", STATUS_UPSTREAM_PROTOCOL, "", ""},
	    {200, "{\"token\":\"is invalid\",\"success\":true}", STATUS_UPSTREAM_PROTOCOL, "", ""},
	    {200, "{\"token\":\"is valid\",\"success\":false}", STATUS_UPSTREAM_PROTOCOL, "", ""},
	    {200, "{\"token\":true}", STATUS_UPSTREAM_PROTOCOL, "", ""},
	    {200, "", STATUS_UPSTREAM_PROTOCOL, "", ""},
	    {401,
	     "{\"success\":false,\"message\":\"Token is invalid\",\"token\":\"is invalid\","
	     "\"error_code\":\"60020\"}",
	     STATUS_TOKEN_WRONG, "", "60020"},
	    {401, "{\"success\":false,\"error_code\":60020}", STATUS_TOKEN_WRONG, "", "60020"},
	    {401, "{\"success\":false,\"token\":\"is invalid\",\"error_code\":\"60019\"}",
	     STATUS_TOKEN_WRONG, "", "60019"},
	    {401, "{\"success\":false,\"message\":\"Invalid API key\",\"error_code\":\"60001\"}",
	     STATUS_UPSTREAM_AUTH, "", "60001"},
	    {401, "{\"success\":false,\"token\":\"is invalid\",\"error_code\":\"60001\"}",
	     STATUS_UPSTREAM_AUTH, "", "60001"},
	    {401, "not json", STATUS_UPSTREAM_AUTH, "", ""},
	    {404, "{\"success\":false,\"message\":\"User not found\",\"error_code\":\"60026\"}",
	     STATUS_USER_NOT_FOUND, "", "60026"},
	    {429, "{\"success\":false,\"error_code\":\"60003\"}", STATUS_RATE_LIMITED, "", "60003"},
	    {400, "{\"success\":false,\"error_code\":\"60002\"}", STATUS_UPSTREAM_HTTP, "",
	     "60002"},
	    {503, "", STATUS_UPSTREAM_HTTP, "", ""},
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct api_call call;
		enum status rc;

		memset(&call, 0, sizeof(call));
		rc = authy_token_verify_reply(
		    &call, &(struct api_reply){rows[i].http, rows[i].body, strlen(rows[i].body)});
		if (rc != rows[i].want)
			fprintf(stderr, "  row %zu: %s\n", i, status_str(rc));
		CHECK_INT(rc, rows[i].want);
		CHECK_STR(call.error_code, rows[i].code);
	}
}

static void
test_token_paths(void)
{
	char path[AUTHY_TOKEN_PATH_MAX], masked[AUTHY_TOKEN_PATH_MAX];

	CHECK_INT(authy_token_paths("1000001", "0123456", path, masked), STATUS_OK);
	CHECK_STR(path, "/protected/json/verify/0123456/1000001?force=true");
	CHECK_STR(masked, "/protected/json/verify/*******/1000001?force=true");
	CHECK(strstr(masked, "0123456") == NULL);
	CHECK_INT(authy_token_paths("1", "0123456789", path, masked), STATUS_OK);
	CHECK_STR(path, "/protected/json/verify/0123456789/1?force=true");
	CHECK_INT(authy_token_paths("12345678901234567890", "123456", path, masked), STATUS_OK);
	static const char *const bad[][2] = {
	    {"1000001", "12345"},
	    {"1000001", "12345678901"},
	    {"1000001", "12345a7"},
	    {"1000001", "../../x1"},
	    {"1000001", ""},
	    {"", "1234567"},
	    {"10/../1", "1234567"},
	    {"1000001", "1234567?a"},
	    {"1000001", NULL},
	    {NULL, "1234567"},
	    {"123456789012345678901", "1234567"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_INT(authy_token_paths(bad[i][0], bad[i][1], path, masked),
		          STATUS_BAD_REQUEST);
		CHECK_STR(path, "");
		CHECK_STR(masked, "");
	}
}

int
main(void)
{
	RUN(test_user_create_reply);
	RUN(test_user_create_reply_bounds);
	RUN(test_approval_create_reply);
	RUN(test_approval_status_reply);
	RUN(test_token_verify_reply);
	RUN(test_token_paths);
	HARNESS_END();
}
