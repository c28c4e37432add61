/*
 * fcgi_scan.h - the pre-reader's check of a FastCGI request before libfcgi
 * parses it: every record header (version, type, request id, lengths), the
 * name and value lengths inside FCGI_PARAMS computed here (so oversized or
 * overflowing lengths never reach libfcgi), and the caps on params and body.
 * Pure: it reads bytes, it does no I/O.
 */
#ifndef B2CAUTHY_FCGI_SCAN_H
#define B2CAUTHY_FCGI_SCAN_H

#include <stddef.h>

/* What the bytes seen so far amount to. */
enum fcgi_scan_result {
	FCGI_SCAN_MORE,      /* valid so far, the request is not complete yet */
	FCGI_SCAN_READY,     /* BEGIN_REQUEST, all PARAMS and all STDIN have arrived */
	FCGI_SCAN_TOO_LARGE, /* params complete, body over the cap: reply 413 */
	FCGI_SCAN_BAD,       /* protocol violation or params over the cap: close (why says) */
	FCGI_SCAN_MGMT,      /* a management record (request id 0), before the request or
	                      * among its records: it is buf[s->mgmt_at..s->used); answer it
	                      * (fcgi_scan_mgmt_reply), cut it out of buf, set s->used to
	                      * s->mgmt_at and go on */
	FCGI_SCAN_ABORTED,   /* FCGI_ABORT_REQUEST before the request was complete: answer it
	                      * (fcgi_scan_end_request); then, under s->keep_conn, drop
	                      * buf[0..s->used) and scan again from a zeroed s, else close */
	FCGI_SCAN_STALE      /* FCGI_ABORT_REQUEST for another request id (one that has ended,
	                      * or one never begun here): ignored, as the specification says:
	                      * it is buf[s->mgmt_at..s->used); cut it out as FCGI_SCAN_MGMT's,
	                      * without an answer */
};

/* The longest answer fcgi_scan_mgmt_reply writes. */
#define FCGI_SCAN_MGMT_REPLY_MAX 128
/* A record header; FCGI_END_REQUEST{FCGI_CANT_MPX_CONN} as fcgi_scan_cant_mpx writes it. */
#define FCGI_SCAN_HEADER_LEN 8
#define FCGI_SCAN_CANT_MPX_LEN 16

struct fcgi_scan {
	size_t used;       /* bytes of complete records checked so far */
	size_t mgmt_at;    /* FCGI_SCAN_MGMT or _STALE: where its record starts */
	size_t params_len; /* params bytes (lengths included) so far */
	size_t body_len;   /* STDIN content bytes so far */
	unsigned request_id;
	int began, params_done, stdin_done;
	int keep_conn; /* FCGI_KEEP_CONN was set in BEGIN_REQUEST */
	/* FCGI_PARAMS stream state: a pair may span records */
	unsigned char lenbuf[4];
	int lenhave, lenneed; /* bytes of the current length field */
	int which;            /* 0: name length next, 1: value length next */
	unsigned long long name_len;
	unsigned long long skip; /* name and value bytes still to pass */
	char why[96];            /* reason for FCGI_SCAN_BAD, for the log */
};

/*
 * fcgi_scan_step - continue checking buf[0..len) (the whole request as
 * received so far, from its first byte) from s->used on. params_max caps
 * the params stream, body_max the STDIN content. s starts zeroed (memset) for
 * each request. Returns the result above; FCGI_SCAN_BAD is final. Pure.
 */
enum fcgi_scan_result fcgi_scan_step(struct fcgi_scan *s, const unsigned char *buf, size_t len,
                                     size_t params_max, size_t body_max);

/*
 * fcgi_scan_unpad - remove the padding of every record in buf[0..used), the
 * records fcgi_scan_step has checked (used is its s->used), in place: each
 * record's padding length becomes 0 and the records close up. libfcgi leaves
 * the padding of FCGI_BEGIN_REQUEST and of an empty stream record unread and
 * takes it for the next record header, so it must never see any. Bytes from
 * used on are not touched. Returns the new length of the records. Pure.
 */
size_t fcgi_scan_unpad(unsigned char *buf, size_t used);

/*
 * fcgi_scan_mgmt_reply - the answer to the management record at rec (as
 * fcgi_scan_step or fcgi_scan_in_flight found it), of which rec[0..len) is at
 * hand: its header and its content or the first part of it (a pair cut short
 * there is left out): FCGI_GET_VALUES_RESULT for FCGI_GET_VALUES, with
 * FCGI_MAX_CONNS and FCGI_MAX_REQS as max_conns and FCGI_MPXS_CONNS 0 for
 * those asked (other names are left out, as the specification says), and
 * FCGI_UNKNOWN_TYPE for any other type. Writes the record to out, of at least
 * FCGI_SCAN_MGMT_REPLY_MAX bytes; returns its length. Pure.
 */
size_t fcgi_scan_mgmt_reply(const unsigned char *rec, size_t len, long max_conns,
                            unsigned char *out);

/* What a record that arrives while a request runs is (fcgi_scan_in_flight). */
enum fcgi_scan_flight {
	FCGI_SCAN_FLIGHT_BAD,     /* not FastCGI there (another version, the running request's
	                           * own stream records): the request is aborted */
	FCGI_SCAN_FLIGHT_FOREIGN, /* another request's (the web server multiplexes): dropped, and
	                           * its BEGIN_REQUEST refused (fcgi_scan_cant_mpx) */
	FCGI_SCAN_FLIGHT_MGMT,    /* a management record (request id 0): answered
	                           * (fcgi_scan_mgmt_reply) once the content kept is in */
	FCGI_SCAN_FLIGHT_ABORT    /* FCGI_ABORT_REQUEST for the running request: it ends with
	                           * FCGI_END_REQUEST */
};

/* The content of a management record kept while a request runs; more is dropped. */
#define FCGI_SCAN_MGMT_KEEP 256

/*
 * fcgi_scan_in_flight - hdr is a whole record header (FCGI_SCAN_HEADER_LEN
 * bytes) that arrived while request request_id runs. Returns what the record
 * is, with *keep the content bytes to gather after the header (a management
 * record's first FCGI_SCAN_MGMT_KEEP at most, else 0) and *skip the bytes to
 * drop after those (the rest of the content and the padding). Pure.
 */
enum fcgi_scan_flight fcgi_scan_in_flight(const unsigned char *hdr, unsigned request_id,
                                          size_t *keep, size_t *skip);

/*
 * fcgi_scan_end_request - writes FCGI_END_REQUEST{appStatus 0,
 * FCGI_REQUEST_COMPLETE} for request_id to out (of FCGI_SCAN_CANT_MPX_LEN
 * bytes, the same length) and returns that length: the answer to
 * FCGI_ABORT_REQUEST. Pure.
 */
size_t fcgi_scan_end_request(unsigned request_id, unsigned char *out);

/*
 * fcgi_scan_cant_mpx - when hdr (a whole record header) is a BEGIN_REQUEST,
 * writes FCGI_END_REQUEST{FCGI_CANT_MPX_CONN} for its request id to reply (of
 * FCGI_SCAN_CANT_MPX_LEN bytes) and returns FCGI_SCAN_CANT_MPX_LEN; else 0. Pure.
 */
size_t fcgi_scan_cant_mpx(const unsigned char *hdr, unsigned char *reply);

#endif
