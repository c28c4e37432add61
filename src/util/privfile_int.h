/*
 * privfile_int.h - the internals of privfile.c that its unit test reaches:
 * the ownership and mode rules as pure functions of a file's status.
 */
#ifndef B2CAUTHY_PRIVFILE_INT_H
#define B2CAUTHY_PRIVFILE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

/*
 * privfile_allowed - the rules of privfile_open for an opened file with
 * status st, path path, read by a process of effective user euid: a regular
 * file; no access for other users (mode 0007); not writable by the group
 * (0020); owned by euid or by root. true, or false with the reason in err
 * (starting with path; the mode in octal or the owner's uid). Pure.
 */
bool privfile_allowed(const char *path, const struct stat *st, uid_t euid, char *err,
                      size_t errlen);

/*
 * privfile_trust_allowed - the rules of privfile_trusted for a file with
 * status st: a regular file, not writable by the group or others (0022),
 * owned by euid or by root. true, or false with the reason in err. Pure.
 */
bool privfile_trust_allowed(const char *path, const struct stat *st, uid_t euid, char *err,
                            size_t errlen);

#endif
