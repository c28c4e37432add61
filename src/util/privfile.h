/*
 * privfile.h - opening the files that may hold secrets (the configuration file
 * and the key and token files) with the same refusals for all of them.
 */
#ifndef B2CAUTHY_PRIVFILE_H
#define B2CAUTHY_PRIVFILE_H

#include <stdbool.h>
#include <stddef.h>

/*
 * privfile_open - open path read-only (O_CLOEXEC, O_NONBLOCK so that a FIFO
 * planted in its place cannot hang the start) and check the open descriptor,
 * with no stat-then-open race. Refused: a path that cannot be opened, anything
 * but a regular file, a file other users may access (any of the mode bits
 * 0007), a file its group may write (0020), and a file owned by anyone but
 * root or the effective user of this process. Returns the descriptor, owned by the caller (close
 * it), or -1 with the reason in err, starting with the path ("PATH: mode 0644 lets other users
 * access it; use 0600 or 0640"). Thread-safe.
 */
int privfile_open(const char *path, char *err, size_t errlen);

/*
 * privfile_trusted - whether path names a file that decides whom the
 * responder trusts without being secret (the CA bundle of the API): it
 * opens for reading and is a regular file that only root or the effective
 * user of this process can change (no write bit for the group or others;
 * owned by one of them). true, or false with the reason in err, starting
 * with the path. Thread-safe.
 */
bool privfile_trusted(const char *path, char *err, size_t errlen);

#endif
