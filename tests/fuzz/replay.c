/* See COPYING for copyright and license details. */
/*
 * replay: run a fuzz target over files (or every file in directories)
 * without libFuzzer, for make check. Exit 0 when every input ran; an
 * input that breaks an invariant aborts, which the caller sees.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"
#include "log.h"
#include "util.h"

static int
run_file(const char *path)
{
	char *data;
	size_t len;
	int e;

	if ((e = util_read_file(path, UTIL_MAX_BODY, &data, &len)) != 0) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(e));
		return -1;
	}
	LLVMFuzzerTestOneInput((const uint8_t *)data, len);
	free(data);
	return 0;
}

static int
run_path(const char *path, int *count)
{
	struct dirent *de;
	struct stat st;
	DIR *d;
	int r = 0;

	if (stat(path, &st) < 0) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		(*count)++;
		return run_file(path);
	}
	if ((d = opendir(path)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		char sub[4096];

		if (de->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
		if (run_path(sub, count) < 0)
			r = -1;
	}
	closedir(d);
	return r;
}

int
main(int argc, char *argv[])
{
	int i, count = 0, r = 0;

	log_init("replay", 1);
	for (i = 1; i < argc; i++)
		if (run_path(argv[i], &count) < 0)
			r = 1;
	printf("%d inputs\n", count);
	return r;
}
