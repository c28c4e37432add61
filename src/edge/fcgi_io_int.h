/*
 * fcgi_io_int.h - the internals of fcgi_io.c that its unit test reaches.
 */
#ifndef B2CAUTHY_FCGI_IO_INT_H
#define B2CAUTHY_FCGI_IO_INT_H

/*
 * Room the feed keeps beyond the largest request for the kernel's own
 * bookkeeping of queued bytes: fcgi_io_feed_new needs a granted send buffer
 * of at least max_request + FCGI_IO_FEED_SLACK.
 */
#define FCGI_IO_FEED_SLACK 65536

#endif
