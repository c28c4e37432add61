/*
 * fuzz_config.c - libFuzzer harness for the configuration parser: the input
 * as a key = value file (written to a private temporary file of mode 0600 for
 * config_load_file) and, cut at newlines, as the environment for
 * config_load_env; then validation, printing and freeing, so that LeakSanitizer
 * sees every partial load. When byte 0 is odd, an API key is set first (a
 * first line, or AUTHY_API_KEY) and must then never show in an error message
 * or in the printed configuration, unless the rest of the input repeats it.
 */
#define _GNU_SOURCE /* memmem, open_memstream */
#include "fuzz.h"

#include <unistd.h>

#include "config.h"
#include "config_int.h"

#define MAX_ENV 64
#define FUZZ_KEY "fuzz-secret-key-7f3e9a"

static const char key_line[] = "authy_api_key = " FUZZ_KEY "\n";
static const char key_env[] = "AUTHY_API_KEY=" FUZZ_KEY;
static char path[4096];
static int fd = -1;

static void
cleanup(void)
{
	if (fd >= 0)
		unlink(path);
}

static void
init(void)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(path, sizeof(path), "%s/b2c-authy-fuzz-config-XXXXXX", tmp ? tmp : "/tmp");
	fd = mkstemp(path); /* mode 0600 */
	if (fd < 0)
		abort();
	atexit(cleanup);
}

/* Validate, print and free one loaded configuration; secret: the key must not show. */
static void
finish(struct config *cfg, enum status rc, const char *err, int secret)
{
	char verr[512] = "";
	char *printed = NULL;
	size_t plen = 0;
	FILE *out;

	if (rc == STATUS_OK && config_validate(cfg, verr, sizeof(verr)) == STATUS_OK) {
		out = open_memstream(&printed, &plen);
		if (out == NULL)
			abort();
		config_print(cfg, out);
		fclose(out);
	}
	if (secret) {
		FUZZ_ASSERT(strstr(err, FUZZ_KEY) == NULL && strstr(verr, FUZZ_KEY) == NULL);
		FUZZ_ASSERT(printed == NULL || strstr(printed, FUZZ_KEY) == NULL);
	}
	free(printed);
	config_free(cfg);
}

static void
from_file(const uint8_t *data, size_t size, int with_key, int secret)
{
	size_t off = with_key ? sizeof(key_line) - 1 : 0;
	struct config cfg;
	char err[512] = "";
	enum status rc;

	if (ftruncate(fd, 0) != 0 || (off && pwrite(fd, key_line, off, 0) != (ssize_t)off) ||
	    pwrite(fd, data, size, (off_t)off) != (ssize_t)size)
		abort();
	memset(&cfg, 0, sizeof(cfg));
	FUZZ_ASSERT(config_defaults(&cfg) == STATUS_OK);
	rc = config_load_file(&cfg, path, err, sizeof(err));
	finish(&cfg, rc, err, secret);
}

static void
from_env(const uint8_t *data, size_t size, int with_key, int secret)
{
	char *envp[MAX_ENV + 2];
	char *buf = fuzz_strndup(data, size), *p = buf;
	struct config cfg;
	char err[512] = "";
	size_t n = 0;
	enum status rc;

	if (with_key)
		envp[n++] = (char *)key_env;
	while (n < MAX_ENV && p != NULL) {
		envp[n++] = p;
		p = strchr(p, '\n');
		if (p != NULL)
			*p++ = '\0';
	}
	envp[n] = NULL;
	memset(&cfg, 0, sizeof(cfg));
	FUZZ_ASSERT(config_defaults(&cfg) == STATUS_OK);
	rc = config_load_env(&cfg, envp, err, sizeof(err));
	finish(&cfg, rc, err, secret);
	free(buf);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int with_key = size > 0 && (data[0] & 1);
	/* The input may spell the key itself, e.g. as an unknown key name. */
	int secret = with_key && memmem(data, size, FUZZ_KEY, strlen(FUZZ_KEY)) == NULL;

	if (fd < 0)
		init();
	from_file(data, size, with_key, secret);
	from_env(data, size, with_key, secret);
	return 0;
}
