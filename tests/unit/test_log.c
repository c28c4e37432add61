/*
 * test_log.c - unit tests of log.c on stderr: one logfmt line per call, a
 * message's quotes and backslashes escaped and its control and non-ASCII
 * bytes written as \xHH (util_quote, as for every field) so that no text
 * can start a line or a field of its own, the level filter and the request
 * id.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "log.h"

static FILE *sink;
static int saved_stderr = -1;

/* Send fd 2 to a temporary file for log_init to take as its sink. */
static void
capture(enum log_level min)
{
	fflush(stderr);
	sink = tmpfile();
	saved_stderr = dup(STDERR_FILENO);
	if (sink == NULL || saved_stderr < 0 || dup2(fileno(sink), STDERR_FILENO) < 0) {
		fprintf(stdout, "capture failed\n");
		exit(1);
	}
	log_init("test", min, false);
}

/* Put fd 2 back and return what was logged (caller frees). */
static char *
captured(void)
{
	long n;
	char *text;

	dup2(saved_stderr, STDERR_FILENO);
	close(saved_stderr);
	log_init("test", LOG_LVL_INFO, false);
	fseek(sink, 0, SEEK_END);
	n = ftell(sink);
	rewind(sink);
	text = calloc(1, (size_t)n + 1);
	if (text == NULL || fread(text, 1, (size_t)n, sink) != (size_t)n) {
		fprintf(stdout, "read failed\n");
		exit(1);
	}
	fclose(sink);
	return text;
}

static int
count_lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static void
test_message_quoted(void)
{
	char *out;

	capture(LOG_LVL_INFO);
	log_warnx("a\nlevel=error msg=\"forged\"\r\x01\x7f\\ end caf\xc3\xa9");
	out = captured();
	CHECK_INT(count_lines(out), 1);
	CHECK(strncmp(out, "ts=", 3) == 0);
	CHECK(strstr(out,
	             " level=warn rid=- msg=\"a\\x0alevel=error msg=\\\"forged\\\"\\x0d\\x01\\x7f"
	             "\\\\ end caf\\xc3\\xa9\"\n") != NULL);
	free(out);
}

static void
test_level_filter(void)
{
	char *out;

	capture(LOG_LVL_WARN);
	log_debug("hidden-debug");
	log_info("hidden-info");
	log_warnx("shown-warn");
	log_fields(LOG_LVL_INFO, "event=hidden");
	log_fields(LOG_LVL_ERROR, "event=shown");
	out = captured();
	CHECK_INT(count_lines(out), 2);
	CHECK(strstr(out, "hidden") == NULL);
	CHECK(strstr(out, "level=warn rid=- msg=\"shown-warn\"\n") != NULL);
	CHECK(strstr(out, "level=error rid=- event=shown\n") != NULL);
	free(out);
}

static void
test_request_id(void)
{
	struct log_rid saved;
	char *out;

	capture(LOG_LVL_DEBUG);
	log_set_request_id("r1\nlevel=x");
	log_debug("one");
	log_rid_enter(&saved, "r2");
	log_info("two");
	log_rid_leave(&saved);
	log_info("three");
	log_set_request_id(NULL);
	log_info("four");
	out = captured();
	CHECK_INT(count_lines(out), 4);
	CHECK(strstr(out, "level=debug rid=r1?level=x msg=\"one\"\n") != NULL);
	CHECK(strstr(out, "level=info rid=r2 msg=\"two\"\n") != NULL);
	CHECK(strstr(out, "level=info rid=r1?level=x msg=\"three\"\n") != NULL);
	CHECK(strstr(out, "level=info rid=- msg=\"four\"\n") != NULL);
	free(out);
}

static void
test_level_parse(void)
{
	enum log_level l = LOG_LVL_INFO;

	CHECK_INT(log_level_parse("debug", &l), STATUS_OK);
	CHECK_INT(l, LOG_LVL_DEBUG);
	CHECK_INT(log_level_parse("error", &l), STATUS_OK);
	CHECK_INT(l, LOG_LVL_ERROR);
	CHECK_INT(log_level_parse("Error", &l), STATUS_CONFIG);
	CHECK_INT(log_level_parse(NULL, &l), STATUS_CONFIG);
	CHECK_INT(l, LOG_LVL_ERROR);
}

int
main(void)
{
	RUN(test_message_quoted);
	RUN(test_level_filter);
	RUN(test_request_id);
	RUN(test_level_parse);
	HARNESS_END();
}
