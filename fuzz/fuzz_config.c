/*
 * fuzz_config.c — fuzz the `key = value` config parser.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>

#include "cfg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512];
	struct bw_config *cfg = cfg_new();
	FILE *f;

	if (!cfg)
		return 0;
	if (size && (f = fmemopen((void *)data, size, "r"))) {
		(void)cfg_load_stream(cfg, f, "fuzz", err, sizeof(err));
		fclose(f);
	}
	cfg_free(cfg);
	return 0;
}
