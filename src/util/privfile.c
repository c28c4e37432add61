/*
 * privfile.c - the one opener of files that may hold secrets (the
 * configuration file and the API key, auth token and API key secret files),
 * and the check of a file that decides whom to trust (the CA bundle).
 */
#include "privfile.h"
#include "privfile_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A regular file: not a FIFO, device or directory planted in its place. */
static bool
regular(const char *path, const struct stat *st, char *err, size_t errlen)
{
	if (S_ISREG(st->st_mode))
		return true;
	snprintf(err, errlen, "%s: not a regular file (mode %o)", path, (unsigned)st->st_mode);
	return false;
}

/* Owned by root or by the responder's user (euid): nobody else may replace it. */
static bool
owner_ok(const char *path, const struct stat *st, uid_t euid, char *err, size_t errlen)
{
	if (st->st_uid == 0 || st->st_uid == euid)
		return true;
	snprintf(
	    err, errlen,
	    "%s: owned by uid %u; it must be owned by root or by the responder's user (uid %u)",
	    path, (unsigned)st->st_uid, (unsigned)euid);
	return false;
}

bool
privfile_allowed(const char *path, const struct stat *st, uid_t euid, char *err, size_t errlen)
{
	unsigned mode = (unsigned)(st->st_mode & 07777);

	if (!regular(path, st, err, errlen))
		return false;
	if ((st->st_mode & 0007) != 0) {
		snprintf(err, errlen, "%s: mode %04o lets other users access it; use 0600 or 0640",
		         path, mode);
		return false;
	}
	/* The group may read a secret (root:b2c-authy 0640), never replace it. */
	if ((st->st_mode & 0020) != 0) {
		snprintf(err, errlen, "%s: mode %04o lets the group write it; use 0600 or 0640",
		         path, mode);
		return false;
	}
	return owner_ok(path, st, euid, err, errlen);
}

/* A status rule: privfile_allowed or privfile_trust_allowed. */
typedef bool (*rule_fn)(const char *path, const struct stat *st, uid_t euid, char *err,
                        size_t errlen);

/*
 * Open path read-only (O_NONBLOCK: a FIFO planted in its place cannot hang
 * the start) and check the open descriptor against rule, with no
 * stat-then-open race. The descriptor, or -1 with the reason in err.
 */
static int
open_checked(const char *path, rule_fn rule, char *err, size_t errlen)
{
	struct stat st;
	int fd;

	memset(&st, 0, sizeof(st));
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0) {
		snprintf(err, errlen, "%s: cannot stat: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (!rule(path, &st, geteuid(), err, errlen)) {
		close(fd);
		return -1;
	}
	return fd;
}

int
privfile_open(const char *path, char *err, size_t errlen)
{
	return open_checked(path, privfile_allowed, err, errlen);
}

bool
privfile_trust_allowed(const char *path, const struct stat *st, uid_t euid, char *err,
                       size_t errlen)
{
	if (!regular(path, st, err, errlen))
		return false;
	if ((st->st_mode & 0022) != 0) {
		snprintf(err, errlen, "%s: mode %04o lets other users change it; use 0644", path,
		         (unsigned)(st->st_mode & 07777));
		return false;
	}
	return owner_ok(path, st, euid, err, errlen);
}

bool
privfile_trusted(const char *path, char *err, size_t errlen)
{
	int fd = open_checked(path, privfile_trust_allowed, err, errlen);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}
