/*
 * main.c - b2c-authy entry point: arguments, configuration, logging, curl
 * and libfcgi initialisation, the open file limit, the listening socket (own
 * or inherited), and the event loop: signals through a signalfd on it, start
 * of the tracker and the edge, and the drain on SIGTERM/SIGINT.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "config.h"
#include "fcgi_io.h"
#include "handlers.h"
#include "log.h"
#include "edge.h"
#include "loop.h"
#include "provider.h"
#include "ratelimit.h"
#include "tracker.h"
#include "upstream.h"

#define PROG "b2c-authy"
#define NOFILE_MARGIN 64 /* log, config, loop, signalfd, eventfd, listener... */
/* Users tracked by the push limiter: as many as the tracker holds approvals. */
#define PUSH_LIMIT_KEYS TRACKER_MAX_ENTRIES
/* authyIds whose code attempts are remembered at once (about 10 MB at the default limit). */
#define CODE_LIMIT_KEYS 100000
_Static_assert(CONFIG_MAX_WAITS_MAX <= TRACKER_MAX_ENTRIES,
               "a full tracker makes room only while some approval has nobody waiting");

extern char **environ;

struct options {
	const char *config_file;
	bool check_config;
	bool use_syslog;
};

static void
usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: " PROG ".fcgi [-c FILE] [-s] [-t] [-h] [-V]\n"
	    "\n"
	    "FastCGI responder for Azure AD B2C: push-approval MFA through the Authy API\n"
	    "or Twilio Verify v2 Push (provider = authy | verify).\n"
	    "POST /api/identity/register, POST /api/identity/waitforauthyapproval,\n"
	    "POST /api/identity/verifytoken, GET /healthz, GET /metrics.\n"
	    "\n"
	    "  -c, --config FILE   read key = value settings from FILE (mode 0600/0640)\n"
	    "  -t, --check-config  validate the configuration, print it (secrets masked), exit\n"
	    "  -s, --syslog        log to syslog instead of stderr\n"
	    "  -h, --help          show this help\n"
	    "  -V, --version       show the version\n"
	    "\n"
	    "Every setting may also come from the environment in upper case, e.g.\n"
	    "AUTHY_API_KEY or AUTHY_API_KEY_FILE, AUTHY_API_URL, AUTHY_CA_FILE,\n"
	    "CLIENT_CERT_THUMBPRINTS, WAIT_BUDGET_MS, LISTEN (environment wins over FILE).\n"
	    "Every key: " PROG ".conf(5), and " PROG ".conf.example in /etc/" PROG "/\n"
	    "(make install) or /usr/share/doc/" PROG "/examples/ (the Debian package).\n"
	    "\n"
	    "Socket: `listen` (a Unix socket path, created mode 0660, or host:port);\n"
	    "without it the socket is inherited: systemd socket activation (fd 3) or\n"
	    "spawn-fcgi (fd 0). At most max_connections connections; each must deliver a\n"
	    "whole request within request_read_timeout_ms, with params up to\n"
	    "max_params_bytes and a body up to max_body_bytes.\n"
	    "SIGTERM/SIGINT: stop accepting, close connections without a request, let\n"
	    "requests in flight finish within the wait budget, exit.\n"
	    "Exit status: 0 on clean shutdown (SIGTERM/SIGINT), 1 on a runtime failure,\n"
	    "2 on a usage or configuration error (also a listen socket that cannot be\n"
	    "opened, or none at all).\n");
}

/*
 * Before any secret is read: no core dump, and no other process of the same
 * user may ptrace this one or read its /proc/PID/environ and mem, where the
 * API key and tokens would otherwise be found.
 */
static void
no_dumps(void)
{
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
		fprintf(stderr, PROG ": prctl(PR_SET_DUMPABLE): %s\n", strerror(errno));
		exit(1);
	}
}

/*
 * Started with stdout or stderr closed (2>&- in an init script), the first
 * descriptor opened would take its number, and log lines would go to the
 * listening socket or the epoll descriptor. Hold 1 and 2 with /dev/null; 0
 * is left as it is, since spawn-fcgi passes the socket there.
 */
static void
hold_std_fds(void)
{
	for (int fd = STDOUT_FILENO; fd <= STDERR_FILENO; fd++) {
		int null;

		if (fcntl(fd, F_GETFD) != -1 || errno != EBADF)
			continue;
		null = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (null >= 0 && null != fd) {
			/* fd 0 was closed too and took it: keep 0 free for spawn-fcgi's socket. */
			dup2(null, fd);
			close(null);
		}
	}
}

static void
parse_args(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
	    {"config", required_argument, NULL, 'c'}, {"check-config", no_argument, NULL, 't'},
	    {"syslog", no_argument, NULL, 's'},       {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},      {NULL, 0, NULL, 0}};
	int ch;

	while ((ch = getopt_long(argc, argv, "c:tshV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			o->config_file = optarg;
			break;
		case 't':
			o->check_config = true;
			break;
		case 's':
			o->use_syslog = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case 'V':
			printf(PROG " " B2CAUTHY_VERSION "\n");
			exit(0);
		default:
			usage(stderr);
			exit(2);
		}
	}
	if (optind != argc) {
		usage(stderr);
		exit(2);
	}
}

/* edge_start's and edge_check_config's STATUS_CONFIG, said the same at start and by -t. */
#define MSG_REQUEST_TOO_LARGE                                                                      \
	"max_params_bytes and max_body_bytes allow requests larger than a socket buffer may be "   \
	"here: lower them, or raise net.core.wmem_max"

/* A configuration error: said on stderr, exit status 2 (no restart under systemd). */
static _Noreturn void
config_fail(const char *msg)
{
	fprintf(stderr, PROG ": configuration error: %s\n", msg);
	exit(2);
}

static void
load_config(const struct options *o, struct config *cfg)
{
	char err[512] = "";
	enum status rc = config_defaults(cfg);

	if (rc == STATUS_OK)
		rc = config_load(cfg, o->config_file, environ, err, sizeof(err));
	/* The secrets now live in cfg only: out of the environment and /proc/PID/environ. */
	config_scrub_env(environ);
	if (rc == STATUS_OK)
		rc = provider_config_validate(cfg, err, sizeof(err));
	if (rc != STATUS_OK) {
		config_free(cfg);
		config_fail(err[0] ? err : status_str(rc));
	}
}

/*
 * libfcgi installs SIGTERM/SIGPIPE/SIGUSR1 handlers of its own: block the
 * signals in every thread before FCGX_Init and any thread start, and take them
 * from a signalfd on the loop instead.
 */
static void
block_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, set, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static void
open_socket(const struct config *cfg, struct fcgi_listener *out)
{
	char err[256];

	if (cfg->listen != NULL && cfg->listen[0] != '\0') {
		if (fcgi_io_listen(cfg->listen, (int)cfg->listen_backlog, out, err, sizeof(err)) !=
		    STATUS_OK)
			config_fail(err);
		return;
	}
	*out = (struct fcgi_listener){.fd = fcgi_io_inherited_fd()};
	if (out->fd < 0)
		config_fail("no listening socket: set `listen`, or start under spawn-fcgi or "
		            "systemd socket activation");
}

/*
 * Raise the soft RLIMIT_NOFILE to the hard limit: every connection, upstream
 * connection and the loop's own descriptors need one.
 */
static void
raise_nofile(const struct config *cfg)
{
	struct rlimit rl;
	long need = cfg->max_connections + cfg->upstream_connections + NOFILE_MARGIN;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
			getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < (rlim_t)need)
		log_warnx(
		    "open file limit %llu cannot hold max_connections (%ld) plus the upstream "
		    "connections (%ld needed): raise the hard limit (LimitNOFILE=) or lower "
		    "max_connections",
		    (unsigned long long)rl.rlim_cur, cfg->max_connections, need);
}

struct runtime {
	struct provider provider;
	struct upstream_opts uo; /* strings borrowed from the configuration */
	struct loop *loop;
	struct upstream *up;
	struct handler_poller poller;
	struct tracker *tracker;
	struct ratelimit *push_limit;
	struct ratelimit *code_limit;
	struct ratelimit *used_codes;
	struct edge *edge;
	struct loop_watch *sigw;
	int sigfd;
	struct fcgi_listener listener;
	int stopping;
};

static void
on_drained(void *arg)
{
	struct runtime *rt = arg;

	loop_stop(rt->loop);
}

/* The name of one of the signals block_signals takes. */
static const char *
signal_name(int sig)
{
	switch (sig) {
	case SIGTERM:
		return "SIGTERM";
	case SIGINT:
		return "SIGINT";
	case SIGHUP:
		return "SIGHUP";
	case SIGUSR1:
		return "SIGUSR1";
	default:
		return "signal";
	}
}

static void
on_signal(void *arg, int fd, unsigned events)
{
	struct runtime *rt = arg;
	struct signalfd_siginfo si;

	(void)events;
	while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		int sig = (int)si.ssi_signo;
		if (sig != SIGTERM && sig != SIGINT) {
			/* A warning: whoever sent it expected a reload that does not happen. */
			log_warnx("%s ignored: the configuration is read only at start; restart "
			          "to apply a change",
			          signal_name(sig));
			continue;
		}
		if (rt->stopping)
			continue;
		rt->stopping = 1;
		log_info("%s: stopping; in-flight requests finish first", signal_name(sig));
		/* The watch goes before the descriptor: with another copy of the
		 * socket open (systemd's), epoll would keep reporting it. */
		edge_drain(rt->edge, on_drained, rt);
		/* Stop accepting at once: the web server gets a refusal, not a wait. */
		fcgi_io_listener_close(&rt->listener);
	}
}

static void
start(const struct config *cfg, const sigset_t *set, struct runtime *rt)
{
	struct upstream_opts *uo = &rt->uo;
	struct tracker_opts to = {.poll_interval_ms = cfg->poll_interval_ms,
	                          .poll_timeout_ms = cfg->request_timeout_ms,
	                          .max_attached = cfg->max_waits,
	                          /* Longer, and every wait in the pause would fail. */
	                          .pause_max_ms = cfg->wait_budget_ms,
	                          .poll = handler_wait_poll,
	                          .poll_cancel = handler_wait_poll_cancel,
	                          .create_cancel = handler_wait_create_cancel,
	                          .poll_arg = &rt->poller};
	struct edge_opts eo = {.listen_fd = rt->listener.fd, .cfg = cfg};
	enum status rc;

	if (loop_new(&rt->loop) != STATUS_OK)
		fatalx("cannot create the event loop");
	rt->sigfd = signalfd(-1, set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (rt->sigfd < 0 ||
	    loop_watch_add(rt->loop,
	                   &(struct loop_watch_opts){
	                       .fd = rt->sigfd, .events = LOOP_READ, .fn = on_signal, .arg = rt},
	                   &rt->sigw) != STATUS_OK)
		fatal("signalfd");
	if (provider_init(cfg, &rt->provider) != STATUS_OK)
		fatalx("unknown provider %s", cfg->provider);
	rt->provider.ops->upstream_opts(cfg, uo);
	uo->max_connections = cfg->upstream_connections;
	if (upstream_new(uo, rt->loop, &rt->up) != STATUS_OK)
		fatalx("cannot set up the upstream connection pool");
	rt->poller = (struct handler_poller){.provider = &rt->provider, .up = rt->up};
	to.loop = rt->loop;
	if (tracker_new(&to, &rt->tracker) != STATUS_OK)
		fatalx("cannot start the approval tracker");
	if (ratelimit_new(PUSH_LIMIT_KEYS, cfg->max_pushes_per_user, cfg->push_window_s,
	                  &rt->push_limit) != STATUS_OK)
		fatalx("cannot create the push limiter");
	if (ratelimit_new(CODE_LIMIT_KEYS, cfg->max_code_attempts, cfg->code_window_s,
	                  &rt->code_limit) != STATUS_OK)
		fatalx("cannot create the one-time code limiter");
	/* two keys per accepted code: the code, and the code with its sign-in */
	if (ratelimit_new(2 * CODE_LIMIT_KEYS, 1, HANDLER_CODE_REUSE_S, &rt->used_codes) !=
	    STATUS_OK)
		fatalx("cannot create the table of accepted one-time codes");
	eo.provider = &rt->provider;
	eo.loop = rt->loop;
	eo.up = rt->up;
	eo.tracker = rt->tracker;
	eo.push_limit = rt->push_limit;
	eo.code_limit = rt->code_limit;
	eo.used_codes = rt->used_codes;
	rc = edge_start(&eo, &rt->edge);
	if (rc == STATUS_CONFIG)
		config_fail(MSG_REQUEST_TOO_LARGE);
	if (rc != STATUS_OK)
		fatalx("cannot start accepting connections");
}

static void
stop(struct runtime *rt)
{
	edge_free(rt->edge);
	tracker_free(rt->tracker);
	ratelimit_free(rt->push_limit);
	ratelimit_free(rt->code_limit);
	ratelimit_free(rt->used_codes);
	upstream_free(rt->up);
	loop_watch_del(rt->loop, rt->sigw);
	close(rt->sigfd);
	loop_free(rt->loop);
	fcgi_io_listener_close(&rt->listener);
}

/*
 * Every waiting call holds its FastCGI connection: with max_waits at or above
 * max_connections the cap on connections is reached first, and the calls over
 * it have their connection closed (the web server answers 502) instead of the
 * 503 with Retry-After that max_waits gives. NULL when the two fit.
 */
static const char *
capacity_warning(const struct config *cfg, char *buf, size_t len)
{
	if (cfg->max_waits < cfg->max_connections)
		return NULL;
	snprintf(buf, len,
	         "max_waits (%ld) is not below max_connections (%ld): each waiting call holds a "
	         "FastCGI connection, so calls over max_connections are closed (502 from the web "
	         "server) before max_waits answers 503; raise max_connections above max_waits",
	         cfg->max_waits, cfg->max_connections);
	return buf;
}

/* Settings that weaken the client-certificate check are allowed, but never silently. */
static const char *
weak_cert_warning(const struct config *cfg)
{
	if (!cfg->client_cert_check)
		return "client_cert_check is off: any caller the web server lets through is "
		       "accepted. Use this for local development only";
	if (cfg->cert_allow_no_dates)
		return "client_cert_allow_no_dates is on: a certificate passed as a bare "
		       "fingerprint is accepted without a validity check";
	return NULL;
}

/*
 * A TCP socket has no file mode: every local user can connect to it (and, on
 * an address other than loopback, other hosts), send SSL_CLIENT_* of their
 * choosing and so pass the client-certificate check. Allowed, never silently.
 */
static const char *
tcp_listen_warning(const struct config *cfg)
{
	if (cfg->listen == NULL || cfg->listen[0] == '\0' || fcgi_io_listen_is_unix(cfg->listen))
		return NULL;
	return "listen is a TCP address: any local user, and any host that can reach it, "
	       "can connect and send SSL_CLIENT_* parameters of its own, passing the "
	       "client-certificate check; use a unix socket only the web server's group can "
	       "reach";
}

#define N_WARNINGS 3

/* What start warns about, NULL where nothing; buf holds the capacity warning. */
static void
start_warnings(const struct config *cfg, char *buf, size_t buflen, const char *warn[N_WARNINGS])
{
	warn[0] = capacity_warning(cfg, buf, buflen);
	warn[1] = weak_cert_warning(cfg);
	warn[2] = tcp_listen_warning(cfg);
}

/* --check-config: the effective settings, then whatever start would warn about. */
static void
print_checked(const struct config *cfg)
{
	char buf[320];
	const char *warn[N_WARNINGS];

	start_warnings(cfg, buf, sizeof(buf), warn);
	config_print(cfg, stdout);
	for (size_t i = 0; i < N_WARNINGS; i++)
		if (warn[i] != NULL)
			printf("# warning: %s\n", warn[i]);
	printf("# configuration OK\n");
}

static void
warn_at_start(const struct config *cfg)
{
	char buf[320];
	const char *warn[N_WARNINGS];

	start_warnings(cfg, buf, sizeof(buf), warn);
	for (size_t i = 0; i < N_WARNINGS; i++)
		if (warn[i] != NULL)
			log_warnx("%s", warn[i]);
}

int
main(int argc, char **argv)
{
	struct options o = {0};
	struct config cfg = {0};
	struct runtime rt = {0};
	enum log_level lvl = LOG_LVL_INFO;
	sigset_t set;
	bool failed;

	no_dumps();
	hold_std_fds();
	parse_args(argc, argv, &o);
	load_config(&o, &cfg);
	if (o.check_config) {
		/* What start refuses, --check-config refuses too: the system's socket buffer. */
		if (edge_check_config(&cfg) == STATUS_CONFIG) {
			config_free(&cfg);
			config_fail(MSG_REQUEST_TOO_LARGE);
		}
		print_checked(&cfg);
		config_free(&cfg);
		return 0;
	}
	log_level_parse(cfg.log_level, &lvl);
	log_init(PROG, lvl, o.use_syslog);
	warn_at_start(&cfg);
	block_signals(&set);
	if (upstream_global_init() != STATUS_OK || fcgi_io_init() != STATUS_OK)
		fatalx("library initialisation failed");
	raise_nofile(&cfg);
	open_socket(&cfg, &rt.listener);
	start(&cfg, &set, &rt);
	log_info("started version=%s max_connections=%ld max_waits=%ld provider=%s "
	         "api=%s wait_budget_ms=%ld",
	         B2CAUTHY_VERSION, cfg.max_connections, cfg.max_waits, rt.provider.ops->name,
	         rt.uo.base_url, cfg.wait_budget_ms);
	failed = loop_run(rt.loop) != STATUS_OK;
	if (failed)
		log_warn("event loop failed: requests in flight are aborted");
	stop(&rt);
	upstream_global_cleanup();
	log_info("stopped");
	config_free(&cfg);
	return failed ? 1 : 0;
}
