/*
 * test_privfile.c - unit tests of privfile.c: which files that may hold
 * secrets are opened (mode and owner rules), which CA bundles are trusted,
 * and what the refusals say.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "privfile.h"
#include "privfile_int.h"

static char dir[] = "/tmp/b2c-privfile-XXXXXX";

static const char *
path_of(const char *name)
{
	static char p[128];

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return p;
}

static const char *
make_file(const char *name, mode_t mode)
{
	const char *p = path_of(name);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd >= 0) {
		if (write(fd, "secret\n", 7) != 7)
			perror("write");
		fchmod(fd, mode);
		close(fd);
	}
	return p;
}

/* The file opens, and the descriptor reads its content. */
static void
check_opens(const char *p)
{
	char err[256] = "", got[8] = "";
	int fd = privfile_open(p, err, sizeof(err));

	CHECK(fd >= 0);
	if (fd < 0) {
		fprintf(stderr, "  %s\n", err);
		return;
	}
	CHECK_INT(read(fd, got, 6), 6);
	CHECK_STR(got, "secret");
	CHECK(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	close(fd);
}

/* The file is refused with a message naming it and containing want. */
static void
check_refused(const char *p, const char *want)
{
	char err[256] = "";

	CHECK_INT(privfile_open(p, err, sizeof(err)), -1);
	CHECK(strncmp(err, p, strlen(p)) == 0);
	if (strstr(err, want) == NULL)
		fprintf(stderr, "  \"%s\" lacks \"%s\"\n", err, want);
	CHECK(strstr(err, want) != NULL);
}

static void
test_private_modes(void)
{
	check_opens(make_file("a", 0600));
	check_opens(make_file("b", 0640));
	check_opens(make_file("c", 0400));
	check_opens(make_file("d", 0440));
}

static void
test_other_users(void)
{
	check_refused(make_file("e", 0644), "mode 0644 lets other users access it");
	check_refused(make_file("f", 0604), "mode 0604");
	check_refused(make_file("g", 0602), "mode 0602");
	check_refused(make_file("h", 0601), "mode 0601");
}

static void
test_not_files(void)
{
	const char *sub = path_of("sub"), *fifo;

	mkdir(sub, 0700);
	check_refused(sub, "not a regular file (mode 40700)");
	rmdir(sub);
	check_refused(path_of("missing"), "cannot open: No such file or directory");
	fifo = path_of("fifo");
	CHECK_INT(mkfifo(fifo, 0600), 0);
	/* A FIFO does not block the open and is refused. */
	check_refused(fifo, "not a regular file");
	unlink(fifo);
}

static void
test_group_writable(void)
{
	check_refused(make_file("i", 0660), "mode 0660 lets the group write it");
	check_refused(make_file("j", 0620), "mode 0620 lets the group write it");
	check_refused(make_file("k", 0670), "mode 0670");
}

/* The rules as a function of the status: every owner case, whoever runs the test. */
static void
test_rules(void)
{
	struct stat st;
	char err[256];

	memset(&st, 0, sizeof(st));
	st.st_mode = S_IFREG | 0640;
	st.st_uid = 0;
	CHECK(privfile_allowed("/etc/x.conf", &st, 1000, err, sizeof(err)));
	CHECK(privfile_allowed("/etc/x.conf", &st, 0, err, sizeof(err)));
	st.st_uid = 1000;
	CHECK(privfile_allowed("/etc/x.conf", &st, 1000, err, sizeof(err)));
	CHECK(!privfile_allowed("/etc/x.conf", &st, 0, err, sizeof(err)));
	CHECK_STR(err, "/etc/x.conf: owned by uid 1000; it must be owned by root or by the "
	               "responder's user (uid 0)");
	st.st_uid = 1001;
	CHECK(!privfile_allowed("/etc/x.conf", &st, 1000, err, sizeof(err)));
	CHECK(strstr(err, "owned by uid 1001") != NULL && strstr(err, "(uid 1000)") != NULL);
	st.st_uid = 0;
	st.st_mode = S_IFREG | 0660;
	CHECK(!privfile_allowed("/etc/x.conf", &st, 0, err, sizeof(err)));
	CHECK_STR(err, "/etc/x.conf: mode 0660 lets the group write it; use 0600 or 0640");
	st.st_mode = S_IFREG | 0604;
	CHECK(!privfile_allowed("/etc/x.conf", &st, 0, err, sizeof(err)));
	CHECK_STR(err, "/etc/x.conf: mode 0604 lets other users access it; use 0600 or 0640");
	st.st_mode = S_IFREG | 0400;
	CHECK(privfile_allowed("/etc/x.conf", &st, 0, err, sizeof(err)));
	st.st_mode = S_IFIFO | 0600;
	CHECK(!privfile_allowed("/etc/x.conf", &st, 0, err, sizeof(err)));
	CHECK(strstr(err, "not a regular file") != NULL);
}

/* A CA bundle: anyone may read it; only root or the responder's user may change it. */
static void
test_trust_rules(void)
{
	struct stat st;
	char err[256];

	memset(&st, 0, sizeof(st));
	st.st_mode = S_IFREG | 0644;
	CHECK(privfile_trust_allowed("/etc/ca.pem", &st, 1000, err, sizeof(err)));
	st.st_uid = 1000;
	CHECK(privfile_trust_allowed("/etc/ca.pem", &st, 1000, err, sizeof(err)));
	CHECK(!privfile_trust_allowed("/etc/ca.pem", &st, 0, err, sizeof(err)));
	CHECK(strstr(err, "owned by uid 1000") != NULL);
	st.st_uid = 0;
	st.st_mode = S_IFREG | 0664;
	CHECK(!privfile_trust_allowed("/etc/ca.pem", &st, 0, err, sizeof(err)));
	CHECK_STR(err, "/etc/ca.pem: mode 0664 lets other users change it; use 0644");
	st.st_mode = S_IFREG | 0646;
	CHECK(!privfile_trust_allowed("/etc/ca.pem", &st, 0, err, sizeof(err)));
	st.st_mode = S_IFDIR | 0755;
	CHECK(!privfile_trust_allowed("/etc/ca.pem", &st, 0, err, sizeof(err)));
	CHECK(strstr(err, "not a regular file") != NULL);
	CHECK(privfile_trusted(make_file("m", 0644), err, sizeof(err)));
	CHECK(!privfile_trusted(make_file("n", 0666), err, sizeof(err)));
	CHECK(strstr(err, "mode 0666 lets other users change it") != NULL);
	CHECK(!privfile_trusted(path_of("absent"), err, sizeof(err)));
	CHECK(strstr(err, "cannot open") != NULL);
}

/* A real file of another owner, where the test may change owners (as root in CI). */
static void
test_foreign_owner(void)
{
	const char *p = make_file("l", 0600);

	if (geteuid() != 0) {
		fprintf(stderr, "  (not root: the owner rule is covered by test_rules only)\n");
		return;
	}
	CHECK_INT(chown(p, 12345, 0), 0);
	check_refused(p, "owned by uid 12345");
	CHECK_INT(chown(p, 0, 12345), 0);
	check_opens(p);
}

int
main(void)
{
	static const char *const names[] = {"a", "b", "c", "d", "e", "f", "g",
	                                    "h", "i", "j", "k", "l", "m", "n"};

	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	RUN(test_private_modes);
	RUN(test_other_users);
	RUN(test_not_files);
	RUN(test_group_writable);
	RUN(test_rules);
	RUN(test_foreign_owner);
	RUN(test_trust_rules);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		unlink(path_of(names[i]));
	rmdir(dir);
	HARNESS_END();
}
