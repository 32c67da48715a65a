/*
 * Shared by the libFuzzer harnesses: one private temp directory per
 * process (removed at exit) for the readers that take a path, so a
 * harness never writes anywhere else.
 */
#ifndef LF_FUZZ_COMMON_H
#define LF_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util/util.h"

static char *lf_fuzz_dir;

static void lf_fuzz_dir_remove(void)
{
	if (lf_fuzz_dir)
		lf_rmtree(lf_fuzz_dir, NULL);
	free(lf_fuzz_dir);
	lf_fuzz_dir = NULL;
}

/* path of NAME in the harness's temp dir, holding data; caller frees */
static inline char *lf_fuzz_file(const char *name, const uint8_t *data, size_t size)
{
	const char *tmp = getenv("TMPDIR");
	char *path;
	FILE *f;

	if (!lf_fuzz_dir) {
		lf_fuzz_dir = lf_xasprintf("%s/lf-fuzz-XXXXXX", tmp && *tmp ? tmp : "/tmp");
		if (!mkdtemp(lf_fuzz_dir)) {
			perror("lf-fuzz: mkdtemp");
			abort();
		}
		atexit(lf_fuzz_dir_remove);
	}
	path = lf_path_join(lf_fuzz_dir, name);
	f = fopen(path, "wb");
	if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0) {
		perror("lf-fuzz: writing the input");
		abort();
	}
	return path;
}

/* the input as a NUL-terminated string (inputs may hold NULs) */
static inline char *lf_fuzz_str(const uint8_t *data, size_t size)
{
	return lf_xstrndup((const char *)data, size);
}

#endif
