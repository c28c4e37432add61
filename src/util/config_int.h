/*
 * config_int.h - for the unit tests: the parse table's key names and
 * descriptions, and the two halves of config_load on their own.
 */
#ifndef B2CAUTHY_CONFIG_INT_H
#define B2CAUTHY_CONFIG_INT_H

#include "config.h"

/*
 * config_key_help - one-line description of key (from the parse table), or
 * NULL for an unknown key. Static string. Thread-safe.
 */
const char *config_key_help(const char *key);

/*
 * config_load_file - config_load with the file alone (no environment):
 * its lines, refusals and messages. Not thread-safe.
 */
enum status config_load_file(struct config *cfg, const char *path, char *err, size_t errlen);

/*
 * config_load_env - config_load with the environment alone (no file): its
 * variables, errors prefixed "environment: NAME: ...". Not thread-safe.
 */
enum status config_load_env(struct config *cfg, char **envp, char *err, size_t errlen);

/*
 * config_key_names - the NULL-terminated list of every key of the parse table
 * (lower case). Static. For tests that check the example file. Thread-safe.
 */
const char *const *config_key_names(void);

#endif
