/*
 * privfile.c - the one opener of files that may hold secrets: the
 * configuration file and the API key, auth token and API key secret files.
 */
#include "privfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int
privfile_open(const char *path, char *err, size_t errlen)
{
	struct stat st;
	int fd;

	memset(&st, 0, sizeof(st));
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file (mode %o)", path,
		         (unsigned)st.st_mode);
		goto refuse;
	}
	if ((st.st_mode & 0007) != 0) {
		snprintf(err, errlen, "%s: mode %04o lets other users access it; use 0600 or 0640",
		         path, (unsigned)(st.st_mode & 07777));
		goto refuse;
	}
	return fd;
refuse:
	close(fd);
	return -1;
}
