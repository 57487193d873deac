/* Domain UUIDs: random version 4, printed the way xl prints them. */
#include <stdio.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "dom.h"

/* A fresh random (version 4) uuid. */
void
dom_uuid_generate(uint8_t uuid[16])
{
	if (getrandom(uuid, 16, 0) != 16) {
		/* No entropy source: still unique enough per host and time. */
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		for (int i = 0; i < 16; i++)
			uuid[i] = (uint8_t)((ts.tv_nsec >> (i % 4 * 8)) ^ (getpid() >> (i % 2 * 8)) ^ i);
	}
	uuid[6] = (uuid[6] & 0x0f) | 0x40;
	uuid[8] = (uuid[8] & 0x3f) | 0x80;
}

/* 8-4-4-4-12 lower-case hex. */
void
dom_uuid_format(const uint8_t u[16], char *buf)
{
	snprintf(buf, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
	    u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12],
	    u[13], u[14], u[15]);
}
