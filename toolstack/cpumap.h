/* CPU lists as xl writes them ("all", "0-3,^2", "5"), to and from hv_cpumap. */
#ifndef PVSTACK_CPUMAP_H
#define PVSTACK_CPUMAP_H

#include <stdbool.h>
#include <stddef.h>

#include "libhv.h"

/* Adds the CPUs of text to map; -1 with why (for the caller's message) when malformed. */
int cpumap_parse(const char *text, struct hv_cpumap *map, char *why, size_t whylen);
/* "all" when map holds CPUs 0..nr_cpus-1, else ranges ("0-2,5"). */
void cpumap_format(const struct hv_cpumap *map, unsigned nr_cpus, char *buf, size_t len);
bool cpumap_empty(const struct hv_cpumap *map);

#endif
