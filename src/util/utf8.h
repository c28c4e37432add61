/*
 * utf8.h - UTF-8 measures shared by every module: character counts, cuts at a
 * character boundary and strict validation (RFC 3629). Pure functions, no
 * allocation, thread-safe.
 */
#ifndef B2CAUTHY_UTF8_H
#define B2CAUTHY_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/*
 * utf8_chars - number of characters (code points: bytes that do not continue
 * a sequence) in the NUL-terminated s. Limits such as Authy's 200-character
 * message are in characters. NULL counts 0.
 */
size_t utf8_chars(const char *s);

/*
 * utf8_cut_bytes - how many bytes of s to keep under a limit of max bytes: all
 * of s when strlen(s) <= max, else the longest prefix of at most max bytes
 * that does not split a UTF-8 sequence. Invalid input (a run of continuation
 * bytes) is cut at max. NULL gives 0.
 */
size_t utf8_cut_bytes(const char *s, size_t max);

/*
 * utf8_cut_chars - how many bytes of s hold its first max characters (never
 * splitting a sequence): strlen(s) when s has at most max characters. NULL
 * gives 0.
 */
size_t utf8_cut_chars(const char *s, size_t max);

/*
 * utf8_valid - true when the len bytes at s are well-formed UTF-8: no
 * overlong forms, no UTF-16 surrogates (D800..DFFF), nothing above U+10FFFF,
 * no truncated sequence. NUL bytes are ASCII here.
 */
bool utf8_valid(const char *s, size_t len);

/*
 * utf8_decode - the code point of the sequence at s (at most len > 0 bytes),
 * with *n its length; -1 with *n 1 when no well-formed sequence starts there
 * (as utf8_valid judges it).
 */
long utf8_decode(const char *s, size_t len, size_t *n);

#endif
