/* Helpers the device-spec parsers (cfg_disk.c, cfg_nic.c) share: the error
 * message, the set-once field and the trimmed token. */
#ifndef PVSTACK_CFG_SPEC_H
#define PVSTACK_CFG_SPEC_H

#include <stddef.h>

/* Writes the message into why and returns -1, for the parsers' error paths. */
int cfg_spec_fail(char *why, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Sets *field to a copy of val; -1 ("<key> given more than once") when set. */
int cfg_spec_once(char **field, const char *key, const char *val, char *why, size_t len);
/* Copy of [s, s+n) without leading and trailing blanks. */
char *cfg_spec_trim(const char *s, size_t n);

#endif
