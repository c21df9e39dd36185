/*
 * fuzz_labels.c — fuzz the labels CSV loader (clf_labels_load,
 * classifier/clf_cmd.c) that `botwatch train` and `eval` read: the input is
 * written as a labels file and loaded; whatever loads must be findable by id.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clf_cmd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[64];
	char err[512];
	struct clf_labels lb;
	FILE *f;

	if (size > 65536)
		return 0;
	if (!path[0])
		snprintf(path, sizeof(path), "/tmp/bw_fuzz_labels_%ld.csv", (long)getpid());
	if (!(f = fopen(path, "wb")))
		abort();
	if (size && fwrite(data, 1, size, f) != size)
		abort();
	fclose(f);
	clf_labels_init(&lb);
	if (clf_labels_load(&lb, path, err, sizeof(err)) == 0) {
		/* every row kept is found again at its own index (duplicates are dropped) */
		for (size_t i = 0; i < lb.n; i++)
			if (clf_labels_find(&lb, lb.id[i]) != (long)i || (lb.label[i] != 0 && lb.label[i] != 1))
				abort();
	}
	clf_labels_free(&lb);
	unlink(path);
	return 0;
}
