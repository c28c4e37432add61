/*
 * sndbuf_cap.c - an LD_PRELOAD shim for the CLI suite: setsockopt SO_SNDBUF
 * asks for at most 212992 bytes, as Debian's default net.core.wmem_max
 * grants, so that a host with a larger limit behaves like a default one.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stddef.h>
#include <sys/socket.h>

#define WMEM_MAX_DEFAULT 212992

int
setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
	static int (*real)(int, int, int, const void *, socklen_t);
	int capped;

	if (real == NULL)
		real = (int (*)(int, int, int, const void *, socklen_t))dlsym(RTLD_NEXT,
		                                                             "setsockopt");
	if (level == SOL_SOCKET && name == SO_SNDBUF && len == sizeof(int) &&
	    *(const int *)val > WMEM_MAX_DEFAULT) {
		capped = WMEM_MAX_DEFAULT;
		return real(fd, level, name, &capped, len);
	}
	return real(fd, level, name, val, len);
}
