/*
 * config_int.h - the parse table's key descriptions, for the unit test that checks them.
 */
#ifndef B2CAUTHY_CONFIG_INT_H
#define B2CAUTHY_CONFIG_INT_H

#include "config.h"

/*
 * config_key_help - one-line description of key (from the parse table), or
 * NULL for an unknown key. Static string. Thread-safe.
 */
const char *config_key_help(const char *key);

#endif
