/*
 * epoll_fail.c - an LD_PRELOAD shim for the fault suite: once the file named
 * by $EPOLL_FAIL_FLAG exists, epoll_wait fails with EINVAL, as a broken
 * event loop would. Until then it waits at most 100 ms per call, so the flag
 * is seen soon even when the process is idle.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

int
epoll_wait(int epfd, struct epoll_event *events, int maxevents, int timeout)
{
	static int (*real)(int, struct epoll_event *, int, int);
	const char *flag = getenv("EPOLL_FAIL_FLAG");

	if (real == NULL)
		real = (int (*)(int, struct epoll_event *, int, int))dlsym(RTLD_NEXT, "epoll_wait");
	if (flag != NULL && access(flag, F_OK) == 0) {
		errno = EINVAL;
		return -1;
	}
	return real(epfd, events, maxevents, timeout < 0 || timeout > 100 ? 100 : timeout);
}
