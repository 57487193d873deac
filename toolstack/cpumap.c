/*
 * The CPU list grammar of xl.cfg's cpus= and xl vcpu-pin: a comma-separated
 * list of "all", a CPU, a range "a-b", each of which may be prefixed with
 * '^' to take those CPUs out again. "nodes:" ranges need NUMA placement,
 * which this host model has not got, so they are refused by name.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpumap.h"

/* One number; the rest of the text after it in *end. */
static int
cpumap_number(const char *s, const char **end, unsigned *out)
{
	char *e;
	unsigned long v;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoul(s, &e, 10);
	if (errno || v >= HV_CPUMAP_MAX)
		return -1;
	*out = (unsigned)v;
	*end = e;
	return 0;
}

static void
cpumap_mark(struct hv_cpumap *map, unsigned lo, unsigned hi, bool on)
{
	for (unsigned cpu = lo; cpu <= hi; cpu++) {
		if (on)
			map->bits[cpu / 8] |= (uint8_t)(1u << (cpu % 8));
		else
			map->bits[cpu / 8] &= (uint8_t)~(1u << (cpu % 8));
	}
}

/* cpumap.h */
int
cpumap_parse(const char *text, struct hv_cpumap *map, char *why, size_t whylen)
{
	const char *s = text;

	if (strncmp(s, "nodes:", 6) == 0 || strncmp(s, "node:", 5) == 0) {
		snprintf(why, whylen, "\"%s\": NUMA node lists are not supported here; name "
		    "CPUs (\"0-3\", \"all\")", text);
		return -1;
	}
	do {
		bool neg = false;
		unsigned lo, hi;
		while (*s == ' ')
			s++;
		if (*s == '^') {
			neg = true;
			s++;
		}
		if (strncmp(s, "all", 3) == 0) {
			lo = 0;
			hi = HV_CPUMAP_MAX - 1;
			s += 3;
		} else if (cpumap_number(s, &s, &lo) == 0) {
			hi = lo;
			if (*s == '-' && cpumap_number(s + 1, &s, &hi) < 0)
				goto bad;
			if (hi < lo)
				goto bad;
		} else
			goto bad;
		while (*s == ' ')
			s++;
		if (*s != ',' && *s != '\0')
			goto bad;
		cpumap_mark(map, lo, hi, !neg);
	} while (*s++ == ',');
	return 0;
bad:
	snprintf(why, whylen, "\"%s\": not a CPU list (\"all\", \"3\", \"0-3\", \"0-3,^1\"; "
	    "CPUs below %d)", text, HV_CPUMAP_MAX);
	return -1;
}

static bool
cpumap_has(const struct hv_cpumap *map, unsigned cpu)
{
	return cpu < HV_CPUMAP_MAX && (map->bits[cpu / 8] & (1u << (cpu % 8)));
}

/* cpumap.h */
bool
cpumap_empty(const struct hv_cpumap *map)
{
	for (size_t i = 0; i < sizeof(map->bits); i++)
		if (map->bits[i])
			return false;
	return true;
}

/* cpumap.h */
void
cpumap_format(const struct hv_cpumap *map, unsigned nr_cpus, char *buf, size_t len)
{
	size_t at = 0;
	unsigned cpu;
	bool all = nr_cpus > 0;

	for (cpu = 0; cpu < nr_cpus; cpu++)
		all &= cpumap_has(map, cpu);
	if (all) {
		snprintf(buf, len, "all");
		return;
	}
	buf[0] = '\0';
	for (cpu = 0; cpu < HV_CPUMAP_MAX && at < len; cpu++) {
		if (!cpumap_has(map, cpu))
			continue;
		unsigned end = cpu;
		while (cpumap_has(map, end + 1))
			end++;
		int n = end == cpu ? snprintf(buf + at, len - at, "%s%u", at ? "," : "", cpu) :
		    snprintf(buf + at, len - at, "%s%u-%u", at ? "," : "", cpu, end);
		at += n > 0 ? (size_t)n : 0;
		cpu = end;
	}
	if (buf[0] == '\0')
		snprintf(buf, len, "none");
}
