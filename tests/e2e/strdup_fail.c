/*
 * strdup_fail.c - an LD_PRELOAD shim for the fault suite: strdup of a string
 * that starts with "/oom/" fails with ENOMEM, as it would out of memory, so
 * that a request for such a path is refused as its path is read.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <string.h>

char *
strdup(const char *s)
{
	static char *(*real)(const char *);

	if (real == NULL)
		real = (char *(*)(const char *))dlsym(RTLD_NEXT, "strdup");
	if (strncmp(s, "/oom/", 5) == 0) {
		errno = ENOMEM;
		return NULL;
	}
	return real(s);
}
