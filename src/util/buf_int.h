/*
 * buf_int.h - test-only buffer helpers.
 */
#ifndef B2CAUTHY_BUF_INT_H
#define B2CAUTHY_BUF_INT_H

#include "buf.h"

/* buf_reset - drop the contents, keep the memory and max. One thread at a time, as buf.h. */
void buf_reset(struct buf *b);

#endif
