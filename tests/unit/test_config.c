/*
 * test_config.c - unit tests of config.c: defaults, file syntax and every
 * error class with its line number, permissions, environment overrides, the
 * API key file, ranges, lists, validation, the masked print, the Twilio Verify
 * settings and their secret files, and agreement between
 * etc/b2c-authy.conf.example and the parse table.
 */
#include <ctype.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "harness.h"
#include "provider.h"
#include "config_int.h"

#define NFILES 9

static char tmpdir[64];
static char files[NFILES][128];

/* tmpdir/name (one of a few fixed names, removed at the end). */
static const char *
tmp_path(int slot, const char *name)
{
	snprintf(files[slot], sizeof(files[slot]), "%s/%s", tmpdir, name);
	return files[slot];
}

static void
write_file(const char *path, mode_t mode, const char *content)
{
	FILE *fp = fopen(path, "w");

	if (fp == NULL)
		return;
	fputs(content, fp);
	fchmod(fileno(fp), mode);
	fclose(fp);
}

/* Fresh defaults, then content as a config file of the given mode. */
static enum status
load(struct config *cfg, const char *content, mode_t mode, char *err, size_t errlen)
{
	const char *p = tmp_path(0, "t.conf");

	config_defaults(cfg);
	err[0] = '\0';
	write_file(p, mode, content);
	return config_load_file(cfg, p, err, errlen);
}

static int
starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* err must read "<t.conf path>:<line>: ..." and contain needle. */
static void
check_err_at(const char *err, int line, const char *needle)
{
	char prefix[192];

	snprintf(prefix, sizeof(prefix), "%s:%d: ", files[0], line);
	CHECK(starts_with(err, prefix));
	CHECK(strstr(err, needle) != NULL);
	if (!starts_with(err, prefix) || strstr(err, needle) == NULL)
		fprintf(stderr, "    err was: %s\n", err);
}

/* config_print output (malloc'd). */
static char *
printed(const struct config *cfg)
{
	char *out = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&out, &len);

	config_print(cfg, fp);
	fclose(fp);
	return out;
}

/* The value printed for key ("" when the line is missing). */
static void
printed_value(const struct config *cfg, const char *key, char *out, size_t outlen)
{
	char *all = printed(cfg), *rest = all, *line;
	size_t n = strlen(key);

	out[0] = '\0';
	while ((line = strsep(&rest, "\n")) != NULL) {
		if (strncmp(line, key, n) == 0 && strncmp(line + n, " = ", 3) == 0) {
			snprintf(out, outlen, "%s", line + n + 3);
			break;
		}
	}
	free(all);
}

static void
test_defaults(void)
{
	struct config cfg;

	CHECK_INT(config_defaults(&cfg), STATUS_OK);
	CHECK(cfg.api_key == NULL);
	CHECK(cfg.api_key_file == NULL);
	CHECK_STR(cfg.api_url, "https://api.authy.com");
	CHECK(cfg.ca_file == NULL);
	CHECK_INT(cfg.connect_timeout_ms, 3000);
	CHECK_INT(cfg.request_timeout_ms, 10000);
	CHECK(!cfg.send_install_link);
	CHECK_STR(cfg.approval_message, "Sign-in request");
	CHECK_INT(cfg.n_details, 0);
	CHECK_INT(cfg.approval_ttl_s, 120);
	CHECK_INT(cfg.wait_budget_ms, 25000);
	CHECK_INT(cfg.poll_interval_ms, 1000);
	CHECK(cfg.client_cert_check);
	CHECK(!cfg.cert_allow_no_dates);
	CHECK_INT(cfg.n_thumbprints, 0);
	CHECK(cfg.cert_subject == NULL);
	CHECK(cfg.cert_issuer == NULL);
	CHECK(cfg.listen == NULL);
	CHECK_INT(cfg.listen_backlog, 1024);
	CHECK_INT(cfg.upstream_connections, 16);
	CHECK_INT(cfg.max_waits, 20000);
	CHECK_INT(cfg.max_body_bytes, 16384);
	CHECK_STR(cfg.log_level, "info");
	CHECK_STR(cfg.callback_path, "/api/authy/callback");
	CHECK_INT(cfg.callback_max_age_s, 300);
	config_free(&cfg);
	CHECK(cfg.api_url == NULL);
	config_free(NULL);
}

static void
test_file_basic(void)
{
	struct config cfg;
	char err[512];

	CHECK_INT(load(&cfg,
	               "# b2c-authy\n"
	               "\n"
	               "   # indented comment\n"
	               "authy_api_key = abcDEF0123456789\n"
	               "  upstream_connections=7  \r\n"
	               "approval_message = Sign in #1\n"
	               "client_cert_subject = \"CN=b2c, O=Contoso\"\n"
	               "authy_send_install_link = yes\n"
	               "client_cert_check = off\n"
	               "client_cert_allow_no_dates = on\n"
	               "log_level = debug\n",
	               0600, err, sizeof(err)),
	          STATUS_OK);
	CHECK_STR(err, "");
	CHECK_STR(cfg.api_key, "abcDEF0123456789");
	CHECK_INT(cfg.upstream_connections, 7);
	CHECK_STR(cfg.approval_message, "Sign in #1");
	CHECK_STR(cfg.cert_subject, "CN=b2c, O=Contoso");
	CHECK(cfg.send_install_link);
	CHECK(!cfg.client_cert_check);
	CHECK(cfg.cert_allow_no_dates);
	CHECK_STR(cfg.log_level, "debug");
	/* Untouched keys keep their defaults. */
	CHECK_INT(cfg.max_waits, 20000);
	config_free(&cfg);
}

static void
test_file_quoting(void)
{
	struct config cfg;
	char err[512];

	CHECK_INT(load(&cfg,
	               "approval_message = \"He said \\\"hi\\\" \\\\o/\"\n"
	               "client_cert_issuer = \"  padded  \"\n"
	               "client_cert_subject = \"\"\n",
	               0600, err, sizeof(err)),
	          STATUS_OK);
	CHECK_STR(cfg.approval_message, "He said \"hi\" \\o/");
	CHECK_STR(cfg.cert_issuer, "  padded  ");
	CHECK(cfg.cert_subject == NULL);
	config_free(&cfg);

	CHECK_INT(load(&cfg, "upstream_connections = 3\napproval_message = \"open\n", 0600, err,
	               sizeof(err)),
	          STATUS_CONFIG);
	check_err_at(err, 2, "approval_message: unterminated");
	config_free(&cfg);
	CHECK_INT(load(&cfg, "approval_message = \"a\" b\n", 0600, err, sizeof(err)),
	          STATUS_CONFIG);
	check_err_at(err, 1, "after the closing quote");
	config_free(&cfg);
}

static void
test_file_errors(void)
{
	struct config cfg;
	char err[512], *longline;

	CHECK_INT(
	    load(&cfg, "# c\n\nupstream_connections = 8\nbogus_key = 1\n", 0600, err, sizeof(err)),
	    STATUS_CONFIG);
	check_err_at(err, 4, "unknown key \"bogus_key\"");
	config_free(&cfg);

	CHECK_INT(load(&cfg, "upstream_connections = 8\n\nupstream_connections = 9\n", 0600, err,
	               sizeof(err)),
	          STATUS_CONFIG);
	check_err_at(err, 3, "upstream_connections: duplicate key (first set on line 1)");
	config_free(&cfg);

	CHECK_INT(load(&cfg, "upstream_connections = 8\njust some words\n", 0600, err, sizeof(err)),
	          STATUS_CONFIG);
	check_err_at(err, 2, "expected key = value");
	config_free(&cfg);

	CHECK_INT(load(&cfg, "\n\n\n\nupstream_connections = many\n", 0600, err, sizeof(err)),
	          STATUS_CONFIG);
	check_err_at(err, 5, "upstream_connections: expected an integer in 1..256, got \"many\"");
	config_free(&cfg);

	CHECK_INT(load(&cfg, "WORKERS = 3\n", 0600, err, sizeof(err)), STATUS_CONFIG);
	check_err_at(err, 1, "unknown key");
	config_free(&cfg);

	CHECK_INT(load(&cfg, "client_cert_check = maybe\n", 0600, err, sizeof(err)), STATUS_CONFIG);
	check_err_at(err, 1, "client_cert_check: expected true/false");
	config_free(&cfg);

	CHECK_INT(load(&cfg, "= 3\n", 0600, err, sizeof(err)), STATUS_CONFIG);
	check_err_at(err, 1, "unknown key");
	config_free(&cfg);

	longline = malloc(9001);
	memset(longline, 'a', 9000);
	longline[9000] = '\0';
	memcpy(longline, "approval_message = ", 19);
	CHECK_INT(load(&cfg, longline, 0600, err, sizeof(err)), STATUS_CONFIG);
	check_err_at(err, 1, "longer than");
	free(longline);
	config_free(&cfg);
}

static void
test_file_refused(void)
{
	struct config cfg;
	char err[512];
	const char *dir = tmp_path(1, "adir");

	CHECK_INT(load(&cfg, "upstream_connections = 2\n", 0644, err, sizeof(err)), STATUS_CONFIG);
	CHECK(starts_with(err, files[0]));
	CHECK(strstr(err, "0644") != NULL);
	CHECK_INT(cfg.upstream_connections, 16);
	config_free(&cfg);
	CHECK_INT(load(&cfg, "upstream_connections = 2\n", 0604, err, sizeof(err)), STATUS_CONFIG);
	CHECK(strstr(err, "0604") != NULL);
	config_free(&cfg);
	CHECK_INT(load(&cfg, "upstream_connections = 2\n", 0660, err, sizeof(err)), STATUS_CONFIG);
	CHECK(starts_with(err, files[0]));
	CHECK(strstr(err, "mode 0660 lets the group write it") != NULL);
	CHECK_INT(cfg.upstream_connections, 16);
	config_free(&cfg);
	CHECK_INT(load(&cfg, "upstream_connections = 2\n", 0640, err, sizeof(err)), STATUS_OK);
	CHECK_INT(cfg.upstream_connections, 2);
	config_free(&cfg);
	CHECK_INT(load(&cfg, "upstream_connections = 2\n", 0600, err, sizeof(err)), STATUS_OK);
	config_free(&cfg);

	mkdir(dir, 0700);
	config_defaults(&cfg);
	CHECK_INT(config_load_file(&cfg, dir, err, sizeof(err)), STATUS_CONFIG);
	CHECK(strstr(err, "not a regular file (mode 40700)") != NULL);
	CHECK_INT(config_load_file(&cfg, tmp_path(2, "missing.conf"), err, sizeof(err)),
	          STATUS_CONFIG);
	CHECK(strstr(err, "cannot open") != NULL);
	rmdir(dir);
	config_free(&cfg);
}

static void
test_env_override(void)
{
	char *env[] = {"UPSTREAM_CONNECTIONS=20",
	               "FOO=1",
	               "upstream_connections=5",
	               "APPROVAL_MESSAGE=Approve the sign-in",
	               "CLIENT_CERT_THUMBPRINTS=" /* one */
	               "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	               "AUTHY_CA_FILE=",
	               NULL};
	struct config cfg;
	char err[512];

	CHECK_INT(load(&cfg,
	               "upstream_connections = 10\nmax_waits = 100\n"
	               "client_cert_thumbprints = bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb, "
	               "cccccccccccccccccccccccccccccccccccccccc\n",
	               0600, err, sizeof(err)),
	          STATUS_OK);
	CHECK_INT(cfg.n_thumbprints, 2);
	CHECK_INT(config_load_env(&cfg, env, err, sizeof(err)), STATUS_OK);
	CHECK_INT(cfg.upstream_connections, 20);
	CHECK_INT(cfg.max_waits, 100);
	CHECK_STR(cfg.approval_message, "Approve the sign-in");
	CHECK_INT(cfg.n_thumbprints, 1);
	CHECK_STR(cfg.thumbprints[0], "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	CHECK(cfg.ca_file == NULL);
	CHECK_INT(config_load_env(&cfg, NULL, err, sizeof(err)), STATUS_OK);
	config_free(&cfg);
}

/*
 * The secret keys' variables lose their value bytes in place (what
 * /proc/PID/environ shows) and their entries; every other entry stays, in order.
 */
static void
test_scrub_env(void)
{
	const char *init[] = {"PATH=/usr/bin",
	                      "AUTHY_API_KEY=k3y-value",
	                      "AUTHY_API_KEY_FILE=/etc/key",
	                      "TWILIO_AUTH_TOKEN=t0ken-value",
	                      "AUTHY_API_KEYS=not-a-key",
	                      "TWILIO_API_SECRET=s3cret-value",
	                      "VERIFY_IDENTITY_SECRET=identity-secret-value",
	                      "AUTHY_API_KEY=second-k3y",
	                      "WAIT_BUDGET_MS=20000"};
	enum { N = sizeof(init) / sizeof(init[0]) };
	char *env[N + 1], *orig[N];

	for (size_t i = 0; i < N; i++)
		env[i] = orig[i] = strdup(init[i]);
	env[N] = NULL;
	CHECK_INT(config_scrub_env(env), 5);
	CHECK_STR(env[0], "PATH=/usr/bin");
	CHECK_STR(env[1], "AUTHY_API_KEY_FILE=/etc/key");
	CHECK_STR(env[2], "AUTHY_API_KEYS=not-a-key");
	CHECK_STR(env[3], "WAIT_BUDGET_MS=20000");
	CHECK(env[4] == NULL);
	for (size_t i = 0; i < N; i++) {
		const char *eq = strchr(init[i], '=');
		size_t name = (size_t)(eq - init[i]) + 1, len = strlen(init[i]);
		bool secret = strstr(init[i], "-value") != NULL || strstr(init[i], "k3y") != NULL;

		/* The name stays, every byte of the value is zero: nothing of it is left. */
		CHECK(memcmp(orig[i], init[i], name) == 0);
		for (size_t j = name; secret && j < len; j++)
			CHECK(orig[i][j] == '\0');
		if (!secret)
			CHECK_STR(orig[i], init[i]);
		free(orig[i]);
	}
	CHECK_INT(config_scrub_env(NULL), 0);
}

static void
test_env_errors(void)
{
	char *bad_url[] = {"AUTHY_API_URL=http://api.authy.com", NULL};
	char *bad_int[] = {"POLL_INTERVAL_MS=50", NULL};
	char *both[] = {"AUTHY_API_KEY=abc", "AUTHY_API_KEY_FILE=/nonexistent", NULL};
	char *secret[] = {"AUTHY_API_KEY=hunter2 hunter3", NULL};
	struct config cfg;
	char err[512];

	config_defaults(&cfg);
	CHECK_INT(config_load_env(&cfg, bad_url, err, sizeof(err)), STATUS_CONFIG);
	CHECK(starts_with(err, "environment: AUTHY_API_URL: expected an https:// URL"));
	CHECK_INT(config_load_env(&cfg, bad_int, err, sizeof(err)), STATUS_CONFIG);
	CHECK(starts_with(err, "environment: POLL_INTERVAL_MS: expected an integer in 100..10000"));
	CHECK_INT(config_load_env(&cfg, both, err, sizeof(err)), STATUS_CONFIG);
	CHECK(strstr(err, "conflicts with authy_api_key") != NULL);
	CHECK_INT(config_load_env(&cfg, secret, err, sizeof(err)), STATUS_CONFIG);
	CHECK(starts_with(err, "environment: AUTHY_API_KEY: expected"));
	CHECK(strstr(err, "hunter") == NULL);
	config_free(&cfg);
}

/* NAME=value for key in upper case into var. */
static void
env_var(const char *key, const char *value, char *var, size_t varlen)
{
	size_t i = 0;

	for (; key[i] != '\0' && i + 1 < varlen; i++)
		var[i] = (char)toupper((unsigned char)key[i]);
	snprintf(var + i, varlen - i, "=%s", value);
}

/*
 * Every key is read from its upper-case variable: a control character is a
 * bad value for every type, so each variable must be reported by name.
 */
static void
test_env_names(void)
{
	const char *const *names = config_key_names();
	struct config cfg;
	char var[128], want[128], err[512];
	char *env[2] = {var, NULL};
	int n = 0;

	for (; *names != NULL; names++, n++) {
		env_var(*names, "\001", var, sizeof(var));
		snprintf(want, sizeof(want), "environment: %.*s: ", (int)strcspn(var, "="), var);
		config_defaults(&cfg);
		CHECK_INT(config_load_env(&cfg, env, err, sizeof(err)), STATUS_CONFIG);
		CHECK(starts_with(err, want));
		if (!starts_with(err, want))
			fprintf(stderr, "    %s: %s\n", *names, err);
		config_free(&cfg);
	}
	CHECK_INT(n, 45);
}

/* Every printed default is accepted back through the environment unchanged. */
static void
test_env_defaults(void)
{
	const char *const *names = config_key_names();
	struct config def, cfg;
	char val[512], var[600], err[512], got[512];
	char *env[2] = {var, NULL};

	config_defaults(&def);
	for (; *names != NULL; names++) {
		printed_value(&def, *names, val, sizeof(val));
		if (val[0] == '\0')
			continue;
		if (val[0] == '"') {
			memmove(val, val + 1, strlen(val));
			val[strlen(val) - 1] = '\0';
		}
		env_var(*names, val, var, sizeof(var));
		config_defaults(&cfg);
		CHECK_INT(config_load_env(&cfg, env, err, sizeof(err)), STATUS_OK);
		printed_value(&cfg, *names, got, sizeof(got));
		printed_value(&def, *names, val, sizeof(val));
		CHECK_STR(got, val);
		config_free(&cfg);
	}
	config_free(&def);
	/* And a changed value arrives in the field. */
	{
		char *chg[] = {"CALLBACK_MAX_AGE_S=77", "AUTHY_SEND_INSTALL_LINK=on",
		               "LOG_LEVEL=warn", NULL};

		config_defaults(&cfg);
		CHECK_INT(config_load_env(&cfg, chg, err, sizeof(err)), STATUS_OK);
		CHECK_INT(cfg.callback_max_age_s, 77);
		CHECK(cfg.send_install_link);
		CHECK_STR(cfg.log_level, "warn");
		config_free(&cfg);
	}
}

static void
test_api_key_file(void)
{
	const char *kf = tmp_path(3, "api-key");
	char conf[256], err[512];
	char *env[] = {"AUTHY_API_KEY=fromenv", NULL};
	struct config cfg;

	snprintf(conf, sizeof(conf), "authy_api_key_file = %s\n", kf);
	write_file(kf, 0600, "  abcDEF0123456789  \nsecond line\n");
	CHECK_INT(load(&cfg, conf, 0600, err, sizeof(err)), STATUS_OK);
	CHECK_STR(cfg.api_key, "abcDEF0123456789");
	CHECK_STR(cfg.api_key_file, kf);
	/* The environment's key replaces the file's. */
	CHECK_INT(config_load_env(&cfg, env, err, sizeof(err)), STATUS_OK);
	CHECK_STR(cfg.api_key, "fromenv");
	CHECK(cfg.api_key_file == NULL);
	config_free(&cfg);

	chmod(kf, 0640);
	CHECK_INT(load(&cfg, conf, 0600, err, sizeof(err)), STATUS_OK);
	config_free(&cfg);
	chmod(kf, 0644);
	CHECK_INT(load(&cfg, conf, 0600, err, sizeof(err)), STATUS_CONFIG);
	check_err_at(err, 1, "authy_api_key_file:");
	CHECK(strstr(err, "0644") != NULL);
	CHECK(strstr(err, "abcDEF") == NULL);
	CHECK(cfg.api_key == NULL);
	config_free(&cfg);
	/* A key file its group may write, or of another owner, is refused the same way. */
	chmod(kf, 0660);
	CHECK_INT(load(&cfg, conf, 0600, err, sizeof(err)), STATUS_CONFIG);
	check_err_at(err, 1, "authy_api_key_file:");
	CHECK(strstr(err, "mode 0660 lets the group write it") != NULL);
	CHECK(cfg.api_key == NULL);
	config_free(&cfg);
	chmod(kf, 0600);
	if (geteuid() == 0) {
		CHECK_INT(chown(kf, 12345, 0), 0);
		CHECK_INT(load(&cfg, conf, 0600, err, sizeof(err)), STATUS_CONFIG);
		CHECK(strstr(err, "owned by uid 12345") != NULL);
		config_free(&cfg);
		CHECK_INT(chown(kf, 0, 0), 0);
	}

	write_file(kf, 0600, "\n");
	CHECK_INT(load(&cfg, conf, 0600, err, sizeof(err)), STATUS_CONFIG);
	check_err_at(err, 1, "must hold the API key");
	config_free(&cfg);
	write_file(kf, 0600, "hunter2 hunter3\n");
	CHECK_INT(load(&cfg, conf, 0600, err, sizeof(err)), STATUS_CONFIG);
	CHECK(strstr(err, "hunter") == NULL);
	config_free(&cfg);
	unlink(kf);
	CHECK_INT(load(&cfg, conf, 0600, err, sizeof(err)), STATUS_CONFIG);
	check_err_at(err, 1, "cannot open");
	config_free(&cfg);
}

/* config_load with the config file at slot 0 holding content. */
static enum status
load_with_env(struct config *cfg, const char *content, char **env, char *err, size_t errlen)
{
	const char *p = tmp_path(0, "t.conf");

	config_defaults(cfg);
	err[0] = '\0';
	write_file(p, 0600, content);
	return config_load(cfg, p, env, err, errlen);
}

/*
 * A secret the environment gives replaces the file's source: the key file the
 * configuration names is never opened, so a missing or unreadable one does no
 * harm. Without the variable the same file is refused.
 */
static void
test_env_secret_override(void)
{
	const char *good = tmp_path(8, "env-key");
	char bad_env[160], good_env[160], line[160], err[512];
	char *by_file[] = {good_env, NULL}, *direct[] = {"AUTHY_API_KEY=fromenv", NULL};
	char *token[] = {bad_env, NULL}, *none[] = {NULL};
	static const char conf[] = "authy_api_key_file = /nonexistent/authy-key\n"
	                           "twilio_auth_token_file = /nonexistent/token\n";
	struct config cfg;

	write_file(good, 0600, "keyFromCredential\n");
	snprintf(good_env, sizeof(good_env), "AUTHY_API_KEY_FILE=%s", good);
	snprintf(bad_env, sizeof(bad_env), "TWILIO_AUTH_TOKEN_FILE=%s", good);
	CHECK_INT(load_with_env(&cfg, conf, by_file, err, sizeof(err)), STATUS_CONFIG);
	check_err_at(err, 2, "twilio_auth_token_file: ");
	config_free(&cfg);
	CHECK_INT(load_with_env(&cfg, conf + strcspn(conf, "\n") + 1, token, err, sizeof(err)),
	          STATUS_OK);
	CHECK_STR(cfg.twilio_auth_token, "keyFromCredential");
	config_free(&cfg);
	CHECK_INT(
	    load_with_env(&cfg, "authy_api_key_file = /nonexistent/k\n", by_file, err, sizeof(err)),
	    STATUS_OK);
	CHECK_STR(cfg.api_key, "keyFromCredential");
	CHECK_STR(cfg.api_key_file, good);
	config_free(&cfg);
	CHECK_INT(
	    load_with_env(&cfg, "authy_api_key_file = /nonexistent/k\n", direct, err, sizeof(err)),
	    STATUS_OK);
	CHECK_STR(cfg.api_key, "fromenv");
	CHECK(cfg.api_key_file == NULL);
	config_free(&cfg);
	/* An unreadable file: mode 0644 is refused without the variable only. */
	chmod(good, 0644);
	snprintf(line, sizeof(line), "authy_api_key_file = %s\n", good);
	CHECK_INT(load_with_env(&cfg, line, direct, err, sizeof(err)), STATUS_OK);
	config_free(&cfg);
	CHECK_INT(load_with_env(&cfg, line, none, err, sizeof(err)), STATUS_CONFIG);
	CHECK(strstr(err, "0644") != NULL);
	config_free(&cfg);
	CHECK_INT(
	    load_with_env(&cfg, "authy_api_key_file = /nonexistent/k\n", none, err, sizeof(err)),
	    STATUS_CONFIG);
	check_err_at(err, 1, "authy_api_key_file: ");
	config_free(&cfg);
	/* The file's own conflicts are still reported. */
	CHECK_INT(load_with_env(&cfg, "authy_api_key = abc\nauthy_api_key_file = /x\n", direct, err,
	                        sizeof(err)),
	          STATUS_CONFIG);
	check_err_at(err, 2, "conflicts with authy_api_key on line 1");
	config_free(&cfg);
	CHECK_INT(load_with_env(&cfg, "max_waits = 5\n", NULL, err, sizeof(err)), STATUS_OK);
	CHECK_INT(cfg.max_waits, 5);
	config_free(&cfg);
	config_defaults(&cfg);
	CHECK_INT(config_load(&cfg, NULL, direct, err, sizeof(err)), STATUS_OK);
	CHECK_STR(cfg.api_key, "fromenv");
	config_free(&cfg);
}

static void
test_api_key_conflict_and_secret(void)
{
	struct config cfg;
	char err[512];

	CHECK_INT(
	    load(&cfg, "authy_api_key = abc\n\nauthy_api_key_file = /x\n", 0600, err, sizeof(err)),
	    STATUS_CONFIG);
	check_err_at(err, 3, "conflicts with authy_api_key on line 1");
	config_free(&cfg);
	CHECK_INT(load(&cfg, "authy_api_key = hunter2 hunter3\n", 0600, err, sizeof(err)),
	          STATUS_CONFIG);
	check_err_at(err, 1, "authy_api_key: expected 1..128 printable characters");
	CHECK(strstr(err, "hunter") == NULL);
	config_free(&cfg);
	CHECK_INT(load(&cfg, "authy_api_key = \"\"\n", 0600, err, sizeof(err)), STATUS_CONFIG);
	check_err_at(err, 1, "authy_api_key: expected");
	config_free(&cfg);
}

struct range {
	const char *key;
	long min, max;
	size_t off;
};

static void
check_range(const struct range *r)
{
	static const char *const junk[] = {"", "12abc", "-", "1e3", "0x10", "+", "1 2"};
	struct config cfg;
	char line[128], err[512], want[64];
	long probe[4] = {r->min, r->max, r->min - 1, r->max + 1};

	for (int i = 0; i < 4; i++) {
		snprintf(line, sizeof(line), "\n%s = %ld\n", r->key, probe[i]);
		if (i < 2) {
			CHECK_INT(load(&cfg, line, 0600, err, sizeof(err)), STATUS_OK);
			CHECK_INT(*(long *)((char *)&cfg + r->off), probe[i]);
		} else {
			CHECK_INT(load(&cfg, line, 0600, err, sizeof(err)), STATUS_CONFIG);
			snprintf(want, sizeof(want), "%s: expected an integer in %ld..%ld", r->key,
			         r->min, r->max);
			check_err_at(err, 2, want);
		}
		config_free(&cfg);
	}
	for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
		snprintf(line, sizeof(line), "%s = %s\n", r->key, junk[i]);
		CHECK_INT(load(&cfg, line, 0600, err, sizeof(err)), STATUS_CONFIG);
		config_free(&cfg);
	}
}

static void
test_ranges(void)
{
	static const struct range ranges[] = {
	    {"upstream_connect_timeout_ms", 100, 60000,
	     offsetof(struct config, connect_timeout_ms)},
	    {"upstream_timeout_ms", 500, 120000, offsetof(struct config, request_timeout_ms)},
	    {"approval_ttl_s", 30, 86400, offsetof(struct config, approval_ttl_s)},
	    {"wait_budget_ms", 1000, 29000, offsetof(struct config, wait_budget_ms)},
	    {"poll_interval_ms", 100, 10000, offsetof(struct config, poll_interval_ms)},
	    {"listen_backlog", 1, 65535, offsetof(struct config, listen_backlog)},
	    {"max_waits", 1, 200000, offsetof(struct config, max_waits)},
	    {"max_body_bytes", 1024, 1048576, offsetof(struct config, max_body_bytes)},
	    {"callback_max_age_s", 10, 3600, offsetof(struct config, callback_max_age_s)},
	    {"max_connections", 16, 1048576, offsetof(struct config, max_connections)},
	    {"request_read_timeout_ms", 100, 600000,
	     offsetof(struct config, request_read_timeout_ms)},
	    {"max_params_bytes", 4096, 1048576, offsetof(struct config, max_params_bytes)},
	};

	for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++)
		check_range(&ranges[i]);
}

static void
test_bools(void)
{
	static const char *const yes[] = {"true", "yes", "on", "1", "TRUE"};
	static const char *const no[] = {"false", "no", "off", "0", "Off"};
	struct config cfg;
	char line[64], err[512];

	for (int i = 0; i < 5; i++) {
		snprintf(line, sizeof(line), "authy_send_install_link = %s\n", yes[i]);
		CHECK_INT(load(&cfg, line, 0600, err, sizeof(err)), STATUS_OK);
		CHECK(cfg.send_install_link);
		config_free(&cfg);
		snprintf(line, sizeof(line), "client_cert_check = %s\n", no[i]);
		CHECK_INT(load(&cfg, line, 0600, err, sizeof(err)), STATUS_OK);
		CHECK(!cfg.client_cert_check);
		config_free(&cfg);
	}
	CHECK_INT(load(&cfg, "client_cert_check = 2\n", 0600, err, sizeof(err)), STATUS_CONFIG);
	config_free(&cfg);
}

/* Load one "key = value" line; returns the status and leaves cfg loaded. */
static enum status
load1(struct config *cfg, const char *key, const char *value, char *err, size_t errlen)
{
	char line[1200];

	snprintf(line, sizeof(line), "%s = %s\n", key, value);
	return load(cfg, line, 0600, err, errlen);
}

static void
test_strings(void)
{
	static const struct {
		const char *key, *value;
		enum status want;
	} cases[] = {
	    {"log_level", "warn", STATUS_OK},
	    {"log_level", "verbose", STATUS_CONFIG},
	    {"callback_path", "/hooks/authy", STATUS_OK},
	    {"callback_path", "hooks/authy", STATUS_CONFIG},
	    {"callback_path", "/a b", STATUS_CONFIG},
	    {"callback_path", "/a?b=1", STATUS_CONFIG},
	    {"listen", "/run/b2c-authy/fcgi.sock", STATUS_OK},
	    {"listen", "127.0.0.1:9000", STATUS_OK},
	    {"listen", "[::1]:9000", STATUS_OK},
	    {"listen", "localhost", STATUS_CONFIG},
	    {"listen", "host:0", STATUS_CONFIG},
	    {"listen", "host:70000", STATUS_CONFIG},
	    {"listen", ":9000", STATUS_CONFIG},
	    {"authy_ca_file", "/nonexistent/ca.pem", STATUS_CONFIG},
	    {"authy_ca_file", "/tmp", STATUS_CONFIG},
	    {"approval_message", "\"\"", STATUS_CONFIG},
	    {"authy_api_url", "https://api.example.com:8443/base", STATUS_OK},
	    {"authy_api_url", "http://api.authy.com", STATUS_CONFIG},
	    {"authy_api_url", "https://user:pw@api.authy.com", STATUS_CONFIG},
	    {"authy_api_url", "https://api.authy.com/?x=1", STATUS_CONFIG},
	    {"authy_api_url", "https://api.authy.com/#frag", STATUS_CONFIG},
	    {"authy_api_url", "https://", STATUS_CONFIG},
	    {"authy_api_url", "ftp://api.authy.com", STATUS_CONFIG},
	    {"authy_api_url", "https://api authy.com", STATUS_CONFIG},
	    /* the URL callbacks are signed with */
	    {"callback_url", "https://b2c.example.com/api/authy/callback", STATUS_OK},
	    {"callback_url", "http://b2c.example.com/api/authy/callback", STATUS_CONFIG},
	    {"callback_url", "https://", STATUS_CONFIG},
	    {"callback_url", "https:///api/authy/callback", STATUS_CONFIG},
	    {"callback_url", "https://b2c.example.com/cb?x=1", STATUS_CONFIG},
	    {"callback_url", "https://b2c.example.com/cb#frag", STATUS_CONFIG},
	    {"callback_url", "\"https://b2c.example.com/a b\"", STATUS_CONFIG},
	    {"callback_url", "https://b2c.example.com/a\x7f", STATUS_CONFIG},
	};
	struct config cfg;
	char err[512];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum status rc = load1(&cfg, cases[i].key, cases[i].value, err, sizeof(err));

		CHECK_INT(rc, cases[i].want);
		if (cases[i].want != STATUS_OK)
			check_err_at(err, 1, cases[i].key);
		if (rc != cases[i].want)
			fprintf(stderr, "    case %s = %s\n", cases[i].key, cases[i].value);
		config_free(&cfg);
	}
}

static void
test_string_details(void)
{
	struct config cfg;
	char err[512], msg[1100], sock[200];
	const char *ca = tmp_path(4, "ca.pem");

	/* A trailing '/' of the API URL is dropped. */
	CHECK_INT(
	    load1(&cfg, "authy_api_url", "https://api.example.com:8443/base//", err, sizeof(err)),
	    STATUS_OK);
	CHECK_STR(cfg.api_url, "https://api.example.com:8443/base");
	config_free(&cfg);
	/* Credentials in a rejected URL are not repeated in the error. */
	CHECK_INT(
	    load1(&cfg, "authy_api_url", "https://user:s3cr3tpw@api.authy.com", err, sizeof(err)),
	    STATUS_CONFIG);
	check_err_at(err, 1, "authy_api_url: expected an https:// URL");
	CHECK(strstr(err, "s3cr3tpw") == NULL);
	config_free(&cfg);
	/* Other bad values are shown (sanitized) to help the operator. */
	CHECK_INT(load1(&cfg, "log_level", "loud", err, sizeof(err)), STATUS_CONFIG);
	check_err_at(err, 1, "got \"loud\"");
	config_free(&cfg);
	write_file(ca, 0644, "-----BEGIN CERTIFICATE-----\n");
	CHECK_INT(load1(&cfg, "authy_ca_file", ca, err, sizeof(err)), STATUS_OK);
	CHECK_STR(cfg.ca_file, ca);
	config_free(&cfg);
	/* A CA bundle others may change would let them pick the server that gets the key. */
	CHECK_INT(chmod(ca, 0666), 0);
	CHECK_INT(load1(&cfg, "authy_ca_file", ca, err, sizeof(err)), STATUS_CONFIG);
	check_err_at(err, 1,
	             "authy_ca_file: expected an existing readable regular file that only "
	             "root or the responder's user can change");
	config_free(&cfg);
	CHECK_INT(chmod(ca, 0664), 0);
	CHECK_INT(load1(&cfg, "authy_ca_file", ca, err, sizeof(err)), STATUS_CONFIG);
	config_free(&cfg);
	CHECK_INT(chmod(ca, 0644), 0);
	/* 200 characters pass, 201 do not; UTF-8 counts characters, not bytes. */
	memset(msg, 'a', 200);
	msg[200] = '\0';
	CHECK_INT(load1(&cfg, "approval_message", msg, err, sizeof(err)), STATUS_OK);
	config_free(&cfg);
	msg[200] = 'a';
	msg[201] = '\0';
	CHECK_INT(load1(&cfg, "approval_message", msg, err, sizeof(err)), STATUS_CONFIG);
	check_err_at(err, 1, "approval_message: expected 1..200 characters");
	config_free(&cfg);
	for (int i = 0; i < 200; i++)
		memcpy(msg + 2 * i, "\xc3\xa4", 2);
	msg[400] = '\0';
	CHECK_INT(load1(&cfg, "approval_message", msg, err, sizeof(err)), STATUS_OK);
	config_free(&cfg);
	/* A unix socket path must fit sun_path. */
	memset(sock, 'x', 120);
	sock[0] = '/';
	sock[120] = '\0';
	CHECK_INT(load1(&cfg, "listen", sock, err, sizeof(err)), STATUS_CONFIG);
	config_free(&cfg);
}

static void
test_thumbprints(void)
{
	static const char lower[] = "0a1b2c3d4e5f60718293a4b5c6d7e8f901234567";
	struct config cfg;
	char err[512], big[2048];
	int o = 0;

	CHECK_INT(load1(&cfg, "client_cert_thumbprints",
	                "0A:1B:2C:3D:4E:5F:60:71:82:93:A4:B5:C6:D7:E8:F9:01:23:45:67, "
	                "ffffffffffffffffffffffffffffffffffffffff "
	                "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee,",
	                err, sizeof(err)),
	          STATUS_OK);
	CHECK_INT(cfg.n_thumbprints, 3);
	CHECK_STR(cfg.thumbprints[0], lower);
	CHECK_STR(cfg.thumbprints[1], "ffffffffffffffffffffffffffffffffffffffff");
	CHECK_STR(cfg.thumbprints[2], "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee");
	config_free(&cfg);
	/* Space between the bytes (certificate viewers), and a duplicate in other case. */
	CHECK_INT(load1(&cfg, "client_cert_thumbprints",
	                "0a 1b 2c 3d 4e 5f 60 71 82 93 a4 b5 c6 d7 e8 f9 01 23 45 67, "
	                "0A1B2C3D4E5F60718293A4B5C6D7E8F901234567",
	                err, sizeof(err)),
	          STATUS_OK);
	CHECK_INT(cfg.n_thumbprints, 1);
	CHECK_STR(cfg.thumbprints[0], lower);
	config_free(&cfg);
	CHECK_INT(load1(&cfg, "client_cert_thumbprints", "xyz", err, sizeof(err)), STATUS_CONFIG);
	check_err_at(err, 1, "client_cert_thumbprints: item 1");
	config_free(&cfg);
	CHECK_INT(load1(&cfg, "client_cert_thumbprints",
	                "ffffffffffffffffffffffffffffffffffffffff, 0a1b2c3d4e5f6071829", err,
	                sizeof(err)),
	          STATUS_CONFIG);
	check_err_at(err, 1, "client_cert_thumbprints: item 2");
	config_free(&cfg);
	/* 16 fit, 17 do not. */
	for (int i = 0; i < 17; i++)
		o += snprintf(big + o, sizeof(big) - (size_t)o, "%s%038x%02x", i ? "," : "", 0, i);
	CHECK_INT(load1(&cfg, "client_cert_thumbprints", big, err, sizeof(err)), STATUS_CONFIG);
	check_err_at(err, 1, "at most 16");
	config_free(&cfg);
	big[strlen(big) - 41] = '\0';
	CHECK_INT(load1(&cfg, "client_cert_thumbprints", big, err, sizeof(err)), STATUS_OK);
	CHECK_INT(cfg.n_thumbprints, 16);
	CHECK_STR(cfg.thumbprints[15], "000000000000000000000000000000000000000f");
	config_free(&cfg);
	CHECK_INT(load1(&cfg, "client_cert_thumbprints", "", err, sizeof(err)), STATUS_OK);
	CHECK_INT(cfg.n_thumbprints, 0);
	config_free(&cfg);
}

static void
test_details(void)
{
	static const struct {
		const char *value, *needle;
	} bad[] = {
	    {"Bad.Key=1", "item 1: the key"},
	    {"A=1;NoEquals", "item 2: expected Key=Value"},
	    {"=v", "item 1: the key"},
	    {"k=", "item 1: the value"},
	    {"A=1;B=2;A=3", "item 3: duplicate key"},
	    {"a=1;b=2;c=3;d=4;e=5;f=6;g=7;h=8;i=9", "item 9: too many"},
	    {"0123456789012345678901234567890123456789X=1", "item 1: the key"},
	};
	struct config cfg;
	char err[512], v[400];

	CHECK_INT(load1(&cfg, "approval_details",
	                "Application=Contoso; Key One = Value with = sign ;", err, sizeof(err)),
	          STATUS_OK);
	CHECK_INT(cfg.n_details, 2);
	CHECK_STR(cfg.details[0].key, "Application");
	CHECK_STR(cfg.details[0].value, "Contoso");
	CHECK_STR(cfg.details[1].key, "Key One");
	CHECK_STR(cfg.details[1].value, "Value with = sign");
	config_free(&cfg);
	CHECK_INT(load1(&cfg, "approval_details", "a=1;b=2;c=3;d=4;e=5;f=6;g=7;h-_ 8=8", err,
	                sizeof(err)),
	          STATUS_OK);
	CHECK_INT(cfg.n_details, 8);
	config_free(&cfg);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_INT(load1(&cfg, "approval_details", bad[i].value, err, sizeof(err)),
		          STATUS_CONFIG);
		check_err_at(err, 1, bad[i].needle);
		CHECK(strstr(err, "approval_details") != NULL);
		config_free(&cfg);
	}
	/* Key up to 40 characters, value up to 200. */
	snprintf(v, sizeof(v), "%040d=%0200d", 0, 0);
	CHECK_INT(load1(&cfg, "approval_details", v, err, sizeof(err)), STATUS_OK);
	config_free(&cfg);
	snprintf(v, sizeof(v), "K=%0201d", 0);
	CHECK_INT(load1(&cfg, "approval_details", v, err, sizeof(err)), STATUS_CONFIG);
	check_err_at(err, 1, "the value must be 1..200");
	config_free(&cfg);
}

/* A config that passes validation. */
static void
valid_cfg(struct config *cfg)
{
	config_defaults(cfg);
	cfg->api_key = strdup("abcDEF0123456789");
	snprintf(cfg->thumbprints[0], sizeof(cfg->thumbprints[0]), "%040d", 7);
	cfg->n_thumbprints = 1;
}

static void
check_invalid(const struct config *cfg, const char *needle)
{
	char err[512] = "";

	CHECK_INT(provider_config_validate(cfg, err, sizeof(err)), STATUS_CONFIG);
	CHECK(starts_with(err, needle));
	if (!starts_with(err, needle))
		fprintf(stderr, "    err was: %s\n", err);
}

static void
test_validate(void)
{
	struct config cfg;
	char err[512];

	valid_cfg(&cfg);
	CHECK_INT(provider_config_validate(&cfg, err, sizeof(err)), STATUS_OK);
	cfg.client_cert_check = false;
	cfg.n_thumbprints = 0;
	CHECK_INT(provider_config_validate(&cfg, err, sizeof(err)), STATUS_OK);
	cfg.client_cert_check = true;
	check_invalid(&cfg, "client_cert_thumbprints: at least one");
	config_free(&cfg);

	config_defaults(&cfg);
	check_invalid(&cfg, "authy_api_key: required");
	config_free(&cfg);

	valid_cfg(&cfg);
	free(cfg.api_key);
	cfg.api_key = strdup("hunter2 hunter3");
	check_invalid(&cfg, "authy_api_key: expected");
	CHECK_INT(provider_config_validate(&cfg, err, sizeof(err)), STATUS_CONFIG);
	CHECK(strstr(err, "hunter") == NULL);
	free(cfg.api_key);
	cfg.api_key = calloc(1, 130);
	memset(cfg.api_key, 'k', 129);
	check_invalid(&cfg, "authy_api_key: expected");
	config_free(&cfg);

	valid_cfg(&cfg);
	free(cfg.api_url);
	cfg.api_url = strdup("http://127.0.0.1:8080");
	check_invalid(&cfg, "authy_api_url: expected an https:// URL");
	config_free(&cfg);

	valid_cfg(&cfg);
	cfg.poll_interval_ms = 5000;
	cfg.wait_budget_ms = 5000;
	check_invalid(&cfg, "poll_interval_ms: expected a value below wait_budget_ms");
	cfg.poll_interval_ms = 4999;
	CHECK_INT(provider_config_validate(&cfg, err, sizeof(err)), STATUS_OK);
	cfg.upstream_connections = 0;
	check_invalid(&cfg, "upstream_connections: expected an integer in 1..256");
	cfg.upstream_connections = 8;
	free(cfg.log_level);
	cfg.log_level = strdup("verbose");
	check_invalid(&cfg, "log_level: expected debug, info, warn or error");
	free(cfg.log_level);
	cfg.log_level = NULL;
	check_invalid(&cfg, "log_level: required");
	config_free(&cfg);
}

static void
test_validate_after_load(void)
{
	struct config cfg;
	char err[512];

	CHECK_INT(load(&cfg,
	               "authy_api_key = abc\n"
	               "client_cert_thumbprints = 0a1b2c3d4e5f60718293a4b5c6d7e8f901234567\n"
	               "wait_budget_ms = 2000\n"
	               "poll_interval_ms = 2000\n",
	               0600, err, sizeof(err)),
	          STATUS_OK);
	check_invalid(&cfg, "poll_interval_ms");
	config_free(&cfg);
}

static void
test_print(void)
{
	const char *const *names = config_key_names();
	struct config cfg;
	char *out, want[96];
	int lines = 0, n = 0;

	valid_cfg(&cfg);
	out = printed(&cfg);
	CHECK(strstr(out, "authy_api_key = ********\n") != NULL);
	CHECK(strstr(out, "abcDEF") == NULL);
	CHECK(strstr(out, "authy_ca_file = \n") != NULL);
	CHECK(strstr(out, "authy_api_key_file = \n") != NULL);
	CHECK(strstr(out, "approval_message = \"Sign-in request\"\n") != NULL);
	CHECK(strstr(out, "upstream_connections = 16\n") != NULL);
	CHECK(strstr(out, "client_cert_check = true\n") != NULL);
	for (const char *p = out; *p; p++)
		lines += *p == '\n';
	for (; *names != NULL; names++, n++) {
		snprintf(want, sizeof(want), "%s = ", *names);
		CHECK(starts_with(out, want) || strstr(out, want) != NULL);
	}
	CHECK_INT(lines, n);
	free(out);
	config_free(&cfg);
	/* Unset key: empty, not masked. */
	config_defaults(&cfg);
	out = printed(&cfg);
	CHECK(starts_with(out, "authy_api_key = \n"));
	free(out);
	config_free(&cfg);
}

/* What config_print writes reads back to the same configuration. */
static void
test_print_round_trip(void)
{
	struct config a, b;
	char err[512], *out1, *out2, *p, *line;
	FILE *fp;
	const char *path = tmp_path(5, "rt.conf");

	CHECK_INT(load(&a,
	               "approval_message = \"Say \\\"yes\\\" \\\\ go\"\n"
	               "approval_details = App=Contoso Web;Where=Berlin, DE\n"
	               "client_cert_thumbprints = 0a1b2c3d4e5f60718293a4b5c6d7e8f901234567 "
	               "ffffffffffffffffffffffffffffffffffffffff\n"
	               "client_cert_subject = CN=b2c,O=Contoso\n"
	               "listen = 127.0.0.1:9000\n"
	               "upstream_connections = 3\n",
	               0600, err, sizeof(err)),
	          STATUS_OK);
	out1 = printed(&a);
	fp = fopen(path, "w");
	fchmod(fileno(fp), 0600);
	for (p = out1; (line = strsep(&p, "\n")) != NULL;) {
		size_t n = strlen(line);

		/* Skip the empty (unset) values. */
		if (n > 3 && strcmp(line + n - 3, " = ") != 0)
			fprintf(fp, "%s\n", line);
	}
	fclose(fp);
	free(out1);
	out1 = printed(&a);
	config_defaults(&b);
	CHECK_INT(config_load_file(&b, path, err, sizeof(err)), STATUS_OK);
	out2 = printed(&b);
	CHECK_STR(out2, out1);
	CHECK_STR(b.approval_message, "Say \"yes\" \\ go");
	CHECK_INT(b.n_details, 2);
	CHECK_STR(b.details[1].value, "Berlin, DE");
	free(out1);
	free(out2);
	config_free(&a);
	config_free(&b);
}

static void
test_key_names(void)
{
	const char *const *names = config_key_names();
	int n = 0;

	for (; names[n] != NULL; n++) {
		CHECK(config_key_help(names[n]) != NULL && config_key_help(names[n])[0] != '\0');
		for (const char *c = names[n]; *c; c++)
			CHECK(islower((unsigned char)*c) || isdigit((unsigned char)*c) ||
			      *c == '_');
		for (int j = 0; j < n; j++)
			CHECK(strcmp(names[j], names[n]) != 0);
	}
	CHECK_INT(n, 45);
	CHECK(config_key_help("nope") == NULL);
	CHECK(config_key_names() == names);
}

/*
 * The key of an example line "#key = value" or "key = value", else 0.
 * Prose lines start with "# " and never match.
 */
static int
example_key(const char *line, char *key, size_t keylen, const char **value)
{
	size_t n = 0;

	if (*line == '#')
		line++;
	if (!islower((unsigned char)*line))
		return 0;
	while (islower((unsigned char)line[n]) || isdigit((unsigned char)line[n]) || line[n] == '_')
		n++;
	if (strncmp(line + n, " =", 2) != 0 || (line[n + 2] != ' ' && line[n + 2] != '\n') ||
	    n >= keylen)
		return 0;
	snprintf(key, keylen, "%.*s", (int)n, line);
	*value = line + n + 2;
	while (**value == ' ')
		(*value)++;
	return 1;
}

static FILE *
open_example(void)
{
	const char *root = getenv("B2C_AUTHY_ROOT");
	char path[512];
	FILE *fp = NULL;

	if (root != NULL) {
		snprintf(path, sizeof(path), "%s/etc/b2c-authy.conf.example", root);
		fp = fopen(path, "r");
	}
	if (fp == NULL)
		fp = fopen("etc/b2c-authy.conf.example", "r");
	return fp;
}

static void
test_example_file(void)
{
	const char *const *names = config_key_names();
	FILE *ex = open_example(), *out;
	char line[1024], key[64], seen[64][64], *p1, *p2, err[512];
	const char *value, *path = tmp_path(6, "example.conf");
	struct config def, cfg;
	int n = 0, nkeys = 0;

	CHECK(ex != NULL);
	if (ex == NULL)
		return;
	out = fopen(path, "w");
	fchmod(fileno(out), 0600);
	config_defaults(&def);
	while (fgets(line, sizeof(line), ex) != NULL) {
		if (!example_key(line, key, sizeof(key), &value))
			continue;
		CHECK(config_key_help(key) != NULL);
		for (int j = 0; j < n; j++)
			CHECK(strcmp(seen[j], key) != 0);
		if (n < 64)
			snprintf(seen[n++], sizeof(seen[0]), "%s", key);
		if (value[0] != '\n') {
			fprintf(out, "%s = %s", key, value);
		} else {
			/* Documented without a value: the key must have no default. */
			char dv[256];

			printed_value(&def, key, dv, sizeof(dv));
			CHECK_STR(dv, "");
		}
	}
	fclose(ex);
	fclose(out);
	for (; names[nkeys] != NULL; nkeys++) {
		int found = 0;

		for (int j = 0; j < n; j++)
			found |= strcmp(seen[j], names[nkeys]) == 0;
		CHECK(found);
		if (!found)
			fprintf(stderr, "    %s missing from the example\n", names[nkeys]);
	}
	CHECK_INT(n, nkeys);
	/* The documented defaults are the built-in ones. */
	config_defaults(&cfg);
	CHECK_INT(config_load_file(&cfg, path, err, sizeof(err)), STATUS_OK);
	p1 = printed(&def);
	p2 = printed(&cfg);
	CHECK_STR(p2, p1);
	free(p1);
	free(p2);
	config_free(&cfg);
	config_free(&def);
}

#define T_SERVICE "VA0123456789abcdef0123456789ABCDEF"
#define T_ACCOUNT "AC0123456789abcdef0123456789abcdef"
#define T_KEY "SK0123456789abcdef0123456789abcdef"

/* A provider = verify configuration with the account SID and auth token. */
static const char verify_conf[] = "provider = verify\n"
                                  "verify_service_sid = " T_SERVICE "\n"
                                  "twilio_account_sid = " T_ACCOUNT "\n"
                                  "twilio_auth_token = tok3n-abcdef0123456789\n"
                                  "verify_identity_secret = id-secret-0123456789\n"
                                  "client_cert_check = false\n";

static void
check_verify_invalid(const char *extra, const char *needle)
{
	struct config cfg;
	char conf[1024], err[512] = "";

	snprintf(conf, sizeof(conf), "%s%s", verify_conf, extra);
	CHECK_INT(load(&cfg, conf, 0600, err, sizeof(err)), STATUS_OK);
	if (err[0] != '\0')
		fprintf(stderr, "    load: %s\n", err);
	CHECK_INT(provider_config_validate(&cfg, err, sizeof(err)), STATUS_CONFIG);
	CHECK(starts_with(err, needle));
	if (!starts_with(err, needle))
		fprintf(stderr, "    err was: %s\n", err);
	CHECK(strstr(err, "tok3n") == NULL && strstr(err, "id-secret") == NULL);
	config_free(&cfg);
}

/* provider = authy: details keys of at most 20 characters, as the API takes them. */
static void
test_authy_details(void)
{
	struct config cfg;
	char err[512] = "";

	CHECK_INT(load(&cfg,
	               "authy_api_key = k3y-abcdef0123456789\nclient_cert_check = false\n"
	               "approval_details = Twenty chars exactly=x;Department=Finance\n",
	               0600, err, sizeof(err)),
	          STATUS_OK);
	CHECK_INT(provider_config_validate(&cfg, err, sizeof(err)), STATUS_OK);
	config_free(&cfg);
	CHECK_INT(load(&cfg,
	               "authy_api_key = k3y-abcdef0123456789\nclient_cert_check = false\n"
	               "approval_details = Department=Finance;Department of the user=Finance\n",
	               0600, err, sizeof(err)),
	          STATUS_OK);
	CHECK_INT(provider_config_validate(&cfg, err, sizeof(err)), STATUS_CONFIG);
	CHECK_STR(err, "approval_details: item 2: with provider = authy keys are at most 20 "
	               "characters");
	config_free(&cfg);
}

/* provider = verify: no Authy key needed, the Verify settings are. */
static void
test_verify_validate(void)
{
	struct config cfg;
	char err[512];

	CHECK_INT(load(&cfg, verify_conf, 0600, err, sizeof(err)), STATUS_OK);
	CHECK_STR(cfg.provider, "verify");
	CHECK(cfg.api_key == NULL);
	CHECK_STR(cfg.verify_api_url, "https://verify.twilio.com");
	CHECK_STR(cfg.twilio_auth_token, "tok3n-abcdef0123456789");
	CHECK_INT(provider_config_validate(&cfg, err, sizeof(err)), STATUS_OK);
	config_free(&cfg);
	/* The default provider is Authy, and it still needs its key. */
	config_defaults(&cfg);
	CHECK_STR(cfg.provider, "authy");
	config_free(&cfg);

	check_verify_invalid("approval_ttl_s = 3601\n", "approval_ttl_s: expected at most 3600");
	check_verify_invalid("approval_details = "
	                     "A label that is longer than thirty-six=x\n",
	                     "approval_details: item 1: with provider = verify keys are at most 36 "
	                     "and values at most 128 characters");
	check_verify_invalid("twilio_api_key = " T_KEY "\n", "twilio_api_secret: required");
	check_verify_invalid("twilio_api_secret = s3cret-abcdef\n", "twilio_api_key: required");

	/* Each required setting, left out in turn. */
	{
		static const struct {
			const char *drop, *needle;
		} cases[] = {
		    {"verify_service_sid", "verify_service_sid: required"},
		    {"verify_identity_secret", "verify_identity_secret: required"},
		    {"twilio_auth_token", "twilio_auth_token: required"},
		    {"twilio_account_sid", "twilio_account_sid: required"},
		};
		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			char conf[1024] = "", *line, *rest, copy[1024];

			snprintf(copy, sizeof(copy), "%s", verify_conf);
			for (rest = copy; (line = strsep(&rest, "\n")) != NULL;) {
				if (*line != '\0' && !starts_with(line, cases[i].drop))
					snprintf(conf + strlen(conf), sizeof(conf) - strlen(conf),
					         "%s\n", line);
			}
			CHECK_INT(load(&cfg, conf, 0600, err, sizeof(err)), STATUS_OK);
			CHECK_INT(provider_config_validate(&cfg, err, sizeof(err)), STATUS_CONFIG);
			CHECK(starts_with(err, cases[i].needle));
			if (!starts_with(err, cases[i].needle))
				fprintf(stderr, "    %s: %s\n", cases[i].drop, err);
			config_free(&cfg);
		}
	}
	/* An API key pair alone is enough; the account SID is then optional. */
	CHECK_INT(load(&cfg,
	               "provider = verify\n"
	               "verify_service_sid = " T_SERVICE "\n"
	               "twilio_api_key = " T_KEY "\n"
	               "twilio_api_secret = s3cret-abcdef\n"
	               "verify_identity_secret = id-secret-0123456789\n"
	               "client_cert_check = false\n",
	               0600, err, sizeof(err)),
	          STATUS_OK);
	CHECK_INT(provider_config_validate(&cfg, err, sizeof(err)), STATUS_OK);
	config_free(&cfg);
}

/* Formats of the Verify keys, checked when loading; secrets never echoed. */
static void
test_verify_formats(void)
{
	static const struct {
		const char *line, *needle;
	} bad[] = {
	    {"provider = twilio\n", "provider: expected authy or verify"},
	    {"verify_service_sid = AC0123456789abcdef0123456789abcdef\n",
	     "verify_service_sid: expected a Verify Service SID"},
	    {"verify_service_sid = VA0123\n", "verify_service_sid: expected"},
	    {"verify_service_sid = VA0123456789abcdef0123456789abcdeg\n",
	     "verify_service_sid: expected"},
	    {"twilio_account_sid = ac0123456789abcdef0123456789abcdef\n",
	     "twilio_account_sid: expected an Account SID"},
	    {"twilio_api_key = SK0123456789abcdef0123456789abcdef0\n",
	     "twilio_api_key: expected an API key SID"},
	    {"verify_api_url = http://verify.twilio.com\n", "verify_api_url: expected an https://"},
	    {"verify_identity_secret = short-secret\n",
	     "verify_identity_secret: expected 16..128 printable"},
	    {"twilio_auth_token = two words\n", "twilio_auth_token: expected"},
	};
	struct config cfg;
	char err[512];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_INT(load(&cfg, bad[i].line, 0600, err, sizeof(err)), STATUS_CONFIG);
		check_err_at(err, 1, bad[i].needle);
		config_free(&cfg);
	}
	CHECK_INT(load(&cfg, "verify_identity_secret = short-secret\n", 0600, err, sizeof(err)),
	          STATUS_CONFIG);
	CHECK(strstr(err, "short-secret") == NULL);
	config_free(&cfg);
	CHECK_INT(load(&cfg, "twilio_auth_token = two words\n", 0600, err, sizeof(err)),
	          STATUS_CONFIG);
	CHECK(strstr(err, "words") == NULL);
	config_free(&cfg);
	/* Hex digits of either case are accepted. */
	CHECK_INT(load(&cfg, "verify_service_sid = " T_SERVICE "\n", 0600, err, sizeof(err)),
	          STATUS_OK);
	CHECK_STR(cfg.verify_service_sid, T_SERVICE);
	config_free(&cfg);
}

/* The auth token and API secret files, like the Authy key file. */
static void
test_verify_secret_files(void)
{
	const char *tf = tmp_path(7, "twilio-secret");
	char conf[512], err[512], *out;
	struct config cfg;

	write_file(tf, 0600, "tokenFromFile0123456789\n");
	snprintf(conf, sizeof(conf), "twilio_auth_token_file = %s\n", tf);
	CHECK_INT(load(&cfg, conf, 0600, err, sizeof(err)), STATUS_OK);
	CHECK_STR(cfg.twilio_auth_token, "tokenFromFile0123456789");
	CHECK_STR(cfg.twilio_auth_token_file, tf);
	CHECK(cfg.api_key == NULL && cfg.twilio_api_secret == NULL);
	{
		char *env[] = {"TWILIO_AUTH_TOKEN=fromenv123", NULL};

		CHECK_INT(config_load_env(&cfg, env, err, sizeof(err)), STATUS_OK);
		CHECK_STR(cfg.twilio_auth_token, "fromenv123");
		CHECK(cfg.twilio_auth_token_file == NULL);
	}
	config_free(&cfg);

	snprintf(conf, sizeof(conf), "twilio_api_secret_file = %s\n", tf);
	CHECK_INT(load(&cfg, conf, 0600, err, sizeof(err)), STATUS_OK);
	CHECK_STR(cfg.twilio_api_secret, "tokenFromFile0123456789");
	CHECK(cfg.twilio_auth_token == NULL);
	config_free(&cfg);

	snprintf(conf, sizeof(conf), "twilio_auth_token = abc\ntwilio_auth_token_file = %s\n", tf);
	CHECK_INT(load(&cfg, conf, 0600, err, sizeof(err)), STATUS_CONFIG);
	check_err_at(err, 2, "conflicts with twilio_auth_token on line 1");
	config_free(&cfg);
	/* Different secrets do not conflict with each other. */
	snprintf(conf, sizeof(conf), "authy_api_key = abc\ntwilio_auth_token_file = %s\n", tf);
	CHECK_INT(load(&cfg, conf, 0600, err, sizeof(err)), STATUS_OK);
	config_free(&cfg);

	chmod(tf, 0604);
	snprintf(conf, sizeof(conf), "twilio_api_secret_file = %s\n", tf);
	CHECK_INT(load(&cfg, conf, 0600, err, sizeof(err)), STATUS_CONFIG);
	check_err_at(err, 1, "twilio_api_secret_file:");
	CHECK(strstr(err, "tokenFromFile") == NULL);
	config_free(&cfg);
	write_file(tf, 0600, "\n");
	chmod(tf, 0600);
	CHECK_INT(load(&cfg, conf, 0600, err, sizeof(err)), STATUS_CONFIG);
	check_err_at(err, 1, "must hold the API key secret");
	config_free(&cfg);
	unlink(tf);

	/* Every secret is masked in the print. */
	CHECK_INT(load(&cfg, verify_conf, 0600, err, sizeof(err)), STATUS_OK);
	out = printed(&cfg);
	CHECK(strstr(out, "twilio_auth_token = ********\n") != NULL);
	CHECK(strstr(out, "verify_identity_secret = ********\n") != NULL);
	CHECK(strstr(out, "provider = verify\n") != NULL);
	CHECK(strstr(out, "verify_service_sid = " T_SERVICE "\n") != NULL);
	CHECK(strstr(out, "tok3n") == NULL && strstr(out, "id-secret") == NULL);
	free(out);
	config_free(&cfg);
}

static void
test_normalize_thumbprint(void)
{
	char out[41], small[40];

	CHECK_INT(config_normalize_thumbprint("0A1B2C3D4E5F60718293A4B5C6D7E8F901234567", out,
	                                      sizeof(out)),
	          STATUS_OK);
	CHECK_STR(out, "0a1b2c3d4e5f60718293a4b5c6d7e8f901234567");
	CHECK_INT(
	    config_normalize_thumbprint(
	        "0a:1b:2c:3d:4e:5f:60:71:82:93:a4:b5:c6:d7:e8:f9:01:23:45:67", out, sizeof(out)),
	    STATUS_OK);
	CHECK_STR(out, "0a1b2c3d4e5f60718293a4b5c6d7e8f901234567");
	CHECK_INT(
	    config_normalize_thumbprint(
	        " 0a 1b 2c 3d 4e 5f 60 71 82 93 a4 b5 c6 d7 e8 f9 01 23 45 67 ", out, sizeof(out)),
	    STATUS_OK);
	CHECK_STR(out, "0a1b2c3d4e5f60718293a4b5c6d7e8f901234567");
	CHECK_INT(config_normalize_thumbprint("0a1b2c3d4e5f60718293a4b5c6d7e8f90123456", out,
	                                      sizeof(out)),
	          STATUS_CONFIG);
	CHECK_INT(config_normalize_thumbprint("0a1b2c3d4e5f60718293a4b5c6d7e8f9012345678", out,
	                                      sizeof(out)),
	          STATUS_CONFIG);
	CHECK_INT(config_normalize_thumbprint("0g1b2c3d4e5f60718293a4b5c6d7e8f901234567", out,
	                                      sizeof(out)),
	          STATUS_CONFIG);
	CHECK_INT(config_normalize_thumbprint("", out, sizeof(out)), STATUS_CONFIG);
	CHECK_INT(config_normalize_thumbprint("0a1b2c3d4e5f60718293a4b5c6d7e8f901234567", small,
	                                      sizeof(small)),
	          STATUS_CONFIG);
}

int
main(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/b2c-authy-test-XXXXXX");
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		printf("0 passed, 1 failed\n");
		return 1;
	}
	RUN(test_defaults);
	RUN(test_file_basic);
	RUN(test_file_quoting);
	RUN(test_file_errors);
	RUN(test_file_refused);
	RUN(test_env_override);
	RUN(test_env_errors);
	RUN(test_scrub_env);
	RUN(test_env_names);
	RUN(test_env_defaults);
	RUN(test_api_key_file);
	RUN(test_env_secret_override);
	RUN(test_api_key_conflict_and_secret);
	RUN(test_ranges);
	RUN(test_bools);
	RUN(test_strings);
	RUN(test_string_details);
	RUN(test_thumbprints);
	RUN(test_details);
	RUN(test_validate);
	RUN(test_validate_after_load);
	RUN(test_print);
	RUN(test_print_round_trip);
	RUN(test_key_names);
	RUN(test_example_file);
	RUN(test_authy_details);
	RUN(test_verify_validate);
	RUN(test_verify_formats);
	RUN(test_verify_secret_files);
	RUN(test_normalize_thumbprint);
	for (int i = 0; i < NFILES; i++) {
		if (files[i][0] != '\0')
			unlink(files[i]);
	}
	rmdir(tmpdir);
	HARNESS_END();
}
