/*
 * main.c - b2c-authy entry point: arguments, configuration, logging, curl
 * and libfcgi initialisation, the listening socket (own or inherited), the
 * signal mask with sigwait, and start/stop of the tracker and the workers.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "fcgi_io.h"
#include "handlers.h"
#include "log.h"
#include "executor.h"
#include "provider.h"
#include "tracker.h"
#include "upstream.h"
#include "worker.h"

#define PROG "b2c-authy"
#define STACK_SIZE (256 * 1024)

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
	    "GET /healthz, GET /metrics.\n"
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
	    "See etc/" PROG ".conf.example for every key.\n"
	    "\n"
	    "Socket: `listen` (a Unix socket path, created mode 0660, or host:port);\n"
	    "without it the socket is inherited: systemd socket activation (fd 3) or\n"
	    "spawn-fcgi (fd 0).\n"
	    "Exit status: 0 on clean shutdown (SIGTERM/SIGINT), 1 on a runtime failure,\n"
	    "2 on a usage or configuration error.\n");
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

static void
load_config(const struct options *o, struct config *cfg)
{
	char err[512] = "";
	enum status rc = config_defaults(cfg);

	if (rc == STATUS_OK && o->config_file != NULL)
		rc = config_load_file(cfg, o->config_file, err, sizeof(err));
	if (rc == STATUS_OK)
		rc = config_load_env(cfg, environ, err, sizeof(err));
	if (rc == STATUS_OK)
		rc = config_validate(cfg, err, sizeof(err));
	if (rc != STATUS_OK) {
		fprintf(stderr, PROG ": configuration error: %s\n", err[0] ? err : status_str(rc));
		config_free(cfg);
		exit(2);
	}
}

/*
 * libfcgi installs SIGTERM/SIGPIPE/SIGUSR1 handlers of its own, and a threaded
 * responder would then not exit on SIGTERM: block them in every thread before
 * FCGX_Init and take them with sigwait in main instead.
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

static int
open_socket(const struct config *cfg)
{
	char err[256];
	int fd = -1;

	if (cfg->listen != NULL && cfg->listen[0] != '\0') {
		if (fcgi_io_listen(cfg->listen, (int)cfg->listen_backlog, &fd, err, sizeof(err)) !=
		    STATUS_OK)
			fatalx("%s", err);
		return fd;
	}
	fd = fcgi_io_inherited_fd();
	if (fd < 0)
		fatalx("no listening socket: set `listen`, or start under spawn-fcgi or systemd "
		       "socket activation");
	return fd;
}

static void
wait_for_stop(const sigset_t *set)
{
	int sig = 0;

	for (;;) {
		if (sigwait(set, &sig) != 0)
			continue;
		if (sig == SIGTERM || sig == SIGINT)
			break;
		log_info("signal %d ignored (restart to reload the configuration)", sig);
	}
	log_info("signal %d: stopping; in-flight requests finish first", sig);
}

struct runtime {
	struct executor *exec;
	struct tracker *tracker;
	struct workers *workers;
};

static void
start(const struct config *cfg, int fd, struct runtime *rt)
{
	struct upstream_opts uo;
	struct tracker_opts to = {.poll_interval_ms = cfg->poll_interval_ms,
	                          .poll_timeout_ms = cfg->request_timeout_ms,
	                          .pollers = (int)cfg->tracker_connections,
	                          .poll = handler_wait_poll,
	                          .poll_arg = (void *)cfg};
	struct worker_opts wo = {.listen_fd = fd, .cfg = cfg, .stack_size = STACK_SIZE};

	provider_upstream_opts(cfg, &uo);
	if (executor_new(&uo, (int)cfg->upstream_connections, &rt->exec) != STATUS_OK)
		fatalx("cannot start the upstream executor");
	to.upstream = &uo;
	if (tracker_new(&to, &rt->tracker) != STATUS_OK)
		fatalx("cannot start the approval tracker");
	wo.exec = rt->exec;
	wo.tracker = rt->tracker;
	if (workers_start(&wo, &rt->workers) != STATUS_OK)
		fatalx("cannot start the worker threads");
}

/* Settings that weaken the client-certificate check are allowed, but never silently. */
static void
warn_weak_settings(const struct config *cfg)
{
	if (!cfg->client_cert_check)
		log_warnx("client_cert_check is off: any caller the web server lets through is "
		          "accepted. Use this for local development only");
	else if (cfg->cert_allow_no_dates)
		log_warnx("client_cert_allow_no_dates is on: a certificate passed as a bare "
		          "fingerprint is accepted without a validity check");
}

int
main(int argc, char **argv)
{
	struct options o = {0};
	struct config cfg = {0};
	struct runtime rt = {0};
	enum log_level lvl = LOG_LVL_INFO;
	sigset_t set;
	int fd;

	parse_args(argc, argv, &o);
	load_config(&o, &cfg);
	if (o.check_config) {
		config_print(&cfg, stdout);
		printf("# configuration OK\n");
		config_free(&cfg);
		return 0;
	}
	log_level_parse(cfg.log_level, &lvl);
	log_init(PROG, lvl, o.use_syslog);
	warn_weak_settings(&cfg);
	block_signals(&set);
	if (upstream_global_init() != STATUS_OK || fcgi_io_init() != STATUS_OK)
		fatalx("library initialisation failed");
	fd = open_socket(&cfg);
	start(&cfg, fd, &rt);
	log_info("started version=%s workers=%ld max_workers=%ld provider=%s api=%s "
	         "wait_budget_ms=%ld",
	         B2CAUTHY_VERSION, cfg.workers, cfg.max_workers, provider_name(&cfg),
	         config_is_verify(&cfg) ? cfg.verify_api_url : cfg.api_url, cfg.wait_budget_ms);
	wait_for_stop(&set);
	workers_stop(rt.workers);
	tracker_free(rt.tracker);
	executor_free(rt.exec);
	if (cfg.listen != NULL && cfg.listen[0] == '/')
		unlink(cfg.listen);
	upstream_global_cleanup();
	log_info("stopped");
	config_free(&cfg);
	return 0;
}
