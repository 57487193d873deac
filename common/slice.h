/*
 * EEVDF time slices (Linux 6.12+). dom0's services and xl ask for a short
 * slice: a guest on their CPU then gives way to them within 0.1 ms of their
 * wake-up instead of running out its own (0.75 ms by default; a create's
 * round trips waited that long behind a booting guest while the other CPU
 * idled). Their fairness is unchanged: a slice is how often, not how much.
 * Guests go back to the default slice.
 */
#ifndef PVSTACK_SLICE_H
#define PVSTACK_SLICE_H

#define SLICE_SHORT_NS	100000u		/* the kernel's shortest */

/* The calling thread's slice: short, or the kernel's default. No-ops on older kernels. */
void slice_short(void);
void slice_default(void);

#endif
