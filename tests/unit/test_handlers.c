/*
 * test_handlers.c - the handlers as plain functions from a request context to
 * a response: /healthz and /metrics on a context built here, with no web
 * server, no FastCGI and no call to the API. The Makefile links this test
 * without libfcgi, so a handler that reaches the edge fails to build.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "harness.h"
#include "loop.h"
#include "request.h"
#include "tracker.h"
#include "upstream.h"

static struct loop *lp;
static struct upstream *up;
static struct tracker *tr;

static void
test_health(void)
{
	struct request req = {0};
	struct req_ctx ctx = {.req = &req};
	struct response res = {0};

	CHECK_INT(handler_health(&ctx, &res), STATUS_OK);
	CHECK_INT(res.http_status, 200);
	CHECK(res.body != NULL && res.body_len == strlen("{\"status\":\"ok\"}"));
	CHECK(res.body != NULL && memcmp(res.body, "{\"status\":\"ok\"}", res.body_len) == 0);
	response_free(&res);
}

/* The gauges the edge sets in the context as the handler starts. */
static void
test_metrics_counts(void)
{
	struct request req = {0};
	struct req_ctx ctx = {
	    .req = &req, .up = up, .tracker = tr, .open_connections = 7, .in_flight = 3};
	struct response res = {0};
	char *text;

	CHECK_INT(handler_metrics(&ctx, &res), STATUS_OK);
	CHECK_INT(res.http_status, 200);
	text = calloc(1, res.body_len + 1);
	CHECK(text != NULL);
	if (text == NULL || res.body == NULL)
		goto out;
	memcpy(text, res.body, res.body_len);
	CHECK(strstr(text, "open_connections 7\n") != NULL);
	CHECK(strstr(text, "requests_in_flight 3\n") != NULL);
	CHECK(strstr(text, "upstream_connections_in_use 0\n") != NULL);
	CHECK(strstr(text, "pending_approvals 0\n") != NULL);
out:
	free(text);
	response_free(&res);
}

int
main(void)
{
	struct upstream_opts uo = {.base_url = "https://localhost:1",
	                           .connect_timeout_ms = 1000,
	                           .request_timeout_ms = 1000};
	struct tracker_opts to = {.poll_interval_ms = 1000,
	                          .poll_timeout_ms = 1000,
	                          .max_attached = 1,
	                          .pause_max_ms = 1000};

	if (upstream_global_init() != STATUS_OK || loop_new(&lp) != STATUS_OK)
		return 2;
	to.loop = lp;
	if (upstream_new(&uo, lp, &up) != STATUS_OK || tracker_new(&to, &tr) != STATUS_OK)
		return 2;
	RUN(test_health);
	RUN(test_metrics_counts);
	tracker_free(tr);
	upstream_free(up);
	loop_free(lp);
	upstream_global_cleanup();
	HARNESS_END();
}
