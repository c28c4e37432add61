/*
 * router.c - dispatch table and request pre-checks (client certificate,
 * body size, content type) in front of the handlers, and the single place
 * where a failure status is logged and turned into the B2C-shaped reply.
 */
#include "router.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "b2c.h"
#include "clientcert.h"
#include "config.h"
#include "handlers.h"
#include "log.h"
#include "util.h"

typedef enum status (*handler_fn)(struct req_ctx *ctx, struct response *res);

struct route {
	const char *name;    /* for logs and metrics */
	const char *methods; /* allowed methods, also the Allow header */
	const char *path;    /* NULL: the configured callback path */
	handler_fn fn;
	bool needs_cert; /* B2C calls: client certificate required */
	bool json_body;  /* B2C calls: a JSON body */
};

static const struct route routes[] = {
    {"register", "POST", ROUTE_REGISTER, handler_register, true, true},
    {"wait", "POST", ROUTE_WAIT, handler_wait, true, true},
    {"verifytoken", "POST", ROUTE_VERIFY_TOKEN, handler_verify_token, true, true},
    {"health", "GET, HEAD", ROUTE_HEALTH, handler_health, false, false},
    {"metrics", "GET, HEAD", ROUTE_METRICS, handler_metrics, false, false},
    /* Authy calls back without a client certificate: its signature is checked instead. */
    {"callback", "POST, GET", NULL, handler_callback, false, false},
};

/* Case-insensitive, as ASP.NET matches routes; one trailing '/' on path is ignored. */
static int
path_equal(const char *path, const char *route)
{
	size_t n = strlen(route);

	if (strncasecmp(path, route, n) != 0)
		return 0;
	return path[n] == '\0' || (path[n] == '/' && path[n + 1] == '\0');
}

static const struct route *
find_route(const char *path, const char *callback_path)
{
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		const char *p = routes[i].path ? routes[i].path : callback_path;
		if (p != NULL && path_equal(path, p))
			return &routes[i];
	}
	return NULL;
}

/* Is method one of the comma-separated names in methods? */
static bool
method_allowed(const char *methods, const char *method)
{
	size_t n = strlen(method);

	for (const char *p = methods; n > 0 && (p = strstr(p, method)) != NULL; p += n) {
		if ((p == methods || p[-1] == ' ') && (p[n] == '\0' || p[n] == ','))
			return true;
	}
	return false;
}

/*
 * The parameters after the media type: each "; name=value" with optional
 * white space around the ';'. A charset must be UTF-8, as the body is read
 * as UTF-8: JSON in another charset would be parsed as something else.
 */
static bool
media_params_ok(const char *p)
{
	for (;;) {
		p += strspn(p, " \t");
		if (*p == '\0')
			return true;
		if (*p != ';')
			return false;
		p++;
		p += strspn(p, " \t");
		if (strncasecmp(p, "charset=", 8) == 0) {
			const char *v = p + 8;
			bool quoted = *v == '"';
			v += quoted;
			if (strncasecmp(v, "utf-8", 5) != 0 || (quoted && v[5] != '"'))
				return false;
			p = v + 5 + quoted;
			if (*p != '\0' && *p != ';' && *p != ' ' && *p != '\t')
				return false;
		} else {
			p += strcspn(p, ";");
		}
	}
}

/* B2C sends "application/json" (perhaps with a UTF-8 charset); absent is tolerated. */
static bool
json_content_type(const char *ct)
{
	size_t n = strlen("application/json");

	if (ct == NULL || *ct == '\0')
		return true;
	return strncasecmp(ct, "application/json", n) == 0 && media_params_ok(ct + n);
}

static enum status
prechecks(struct req_ctx *ctx, const struct route *r)
{
	const struct request *req = ctx->req;
	enum status rc;

	if (r->needs_cert) {
		rc =
		    clientcert_check(req, ctx->cfg, (time_t)req->now_s, ctx->err, sizeof(ctx->err));
		if (rc != STATUS_OK)
			return STATUS_FORBIDDEN;
	}
	if (req->body_status != STATUS_OK) {
		ctx_seterr(ctx, "request body over %ld bytes", ctx->cfg->max_body_bytes);
		return req->body_status;
	}
	if (!r->json_body)
		return STATUS_OK;
	if (!json_content_type(request_param(req, REQUEST_P_CONTENT_TYPE))) {
		char ct[64];
		ctx_seterr(
		    ctx, "content type %s",
		    util_sanitize(request_param(req, REQUEST_P_CONTENT_TYPE), ct, sizeof(ct)));
		return STATUS_MEDIA_TYPE;
	}
	return STATUS_OK;
}

static void
log_failure(const struct req_ctx *ctx, enum status rc)
{
	/*
	 * Outcomes the user caused are info. Our or Authy's failures, and the
	 * refusals that guard an account (a limit, a reused code, a wait the
	 * policy sent unbound), are warnings.
	 */
	bool warn = rc == STATUS_NOMEM || rc == STATUS_INTERNAL || rc == STATUS_UNAVAILABLE ||
	            rc == STATUS_FORBIDDEN || rc == STATUS_UNAUTHORIZED ||
	            (rc >= STATUS_RATE_LIMITED && rc <= STATUS_UPSTREAM_PROTOCOL) ||
	            rc == STATUS_NO_CORRELATION || rc == STATUS_PUSH_LIMITED ||
	            rc == STATUS_TOKEN_LIMITED || rc == STATUS_TOKEN_USED;

	if (warn)
		log_warnx("%s: %s: %s", ctx->route, status_str(rc), ctx->err[0] ? ctx->err : "-");
	else
		log_info("%s: %s%s%s", ctx->route, status_str(rc), ctx->err[0] ? ": " : "",
		         ctx->err);
}

enum status
router_dispatch(struct req_ctx *ctx, struct response *res)
{
	const struct request *req = ctx->req;
	const struct route *r = find_route(req->path, ctx->cfg->callback_path);
	enum status rc;

	util_strlcpy(ctx->route, r ? r->name : "other", sizeof(ctx->route));
	if (r == NULL) {
		rc = STATUS_NOT_FOUND;
		goto out;
	}
	if (!method_allowed(r->methods, req->method)) {
		rc = STATUS_METHOD;
		goto out;
	}
	rc = prechecks(ctx, r);
	if (rc != STATUS_OK)
		goto out;
	rc = r->fn(ctx, res);
	if (rc == STATUS_ASYNC)
		return rc;
out:
	if (rc != STATUS_OK) {
		router_complete(ctx, rc, res);
		if (rc == STATUS_METHOD)
			res->allow = r->methods;
	}
	res->head_only = req->method != NULL && strcmp(req->method, "HEAD") == 0;
	return rc;
}

void
router_complete(struct req_ctx *ctx, enum status rc, struct response *res)
{
	if (rc == STATUS_OK)
		return;
	log_failure(ctx, rc);
	response_free(res);
	b2c_reply_error(res, rc, ctx->id);
}
