/* Loop devices known by their backing file (see loops.h). */
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "loops.h"

char *
loop_backing(const char *dev)
{
	char p[128], buf[512] = "";
	const char *name = strrchr(dev, '/');
	FILE *f;

	snprintf(p, sizeof(p), "/sys/block/%s/loop/backing_file", name ? name + 1 : dev);
	if ((f = fopen(p, "r")) != NULL) {
		if (fgets(buf, sizeof(buf), f))
			buf[strcspn(buf, "\n")] = '\0';
		fclose(f);
	}
	return strdup(buf);
}

int
loops_over(const char *img, int detach)
{
	char gone[512], dev[128], cmd[160];
	glob_t g;
	int n = 0;

	snprintf(gone, sizeof(gone), "%s (deleted)", img);
	if (glob("/sys/block/loop*/loop/backing_file", 0, NULL, &g) != 0)
		return 0;
	for (size_t i = 0; i < g.gl_pathc; i++) {
		const char *name = g.gl_pathv[i] + strlen("/sys/block/");
		char *b;
		int ours;

		snprintf(dev, sizeof(dev), "/dev/%.*s", (int)strcspn(name, "/"), name);
		b = loop_backing(dev);
		ours = strcmp(b, img) == 0 || strcmp(b, gone) == 0;
		free(b);
		if (!ours)
			continue;
		n++;
		if (detach) {
			snprintf(cmd, sizeof(cmd), "losetup -d %s 2>/dev/null", dev);
			if (system(cmd) != 0)
				fprintf(stderr, "loops: could not detach %s (%s)\n", dev, img);
		}
	}
	globfree(&g);
	return n;
}

int
loops_left_over(const char *img)
{
	for (int i = 0; i < 250 && loops_over(img, 0) > 0; i++)
		usleep(20000);
	return loops_over(img, 1);
}
