/*
 * Loop devices as the leak tests see them. Loop numbers are a host-wide pool
 * that tests running at the same time draw from, so a test knows its devices
 * by their backing file, never by number: a number it freed may already serve
 * another test's image.
 */
#ifndef PVSTACK_TESTS_LOOPS_H
#define PVSTACK_TESTS_LOOPS_H

/* The backing file of loop device dev ("" when free); the caller frees it. */
char *loop_backing(const char *dev);
/* How many loop devices hold img (also once it is deleted); with detach, detaches them. */
int loops_over(const char *img, int detach);
/* How many loop devices still held img after a while (a detach while udev's
 * probe has the device open is deferred to the probe's close); those are then
 * detached, so a failed test leaks nothing. */
int loops_left_over(const char *img);

#endif
