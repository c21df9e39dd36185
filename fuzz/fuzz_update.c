/*
 * fuzz_update.c — fuzz the feature update reader (feat_update_decode) with
 * untrusted values of the features topic: whatever decodes must expand into
 * exactly its n values, dense (versions 1-2) or sparse (version 3), and
 * every value read one by one must agree with the expansion.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "feat_stage.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct feat_update u;
	double *all;

	if (feat_update_decode(data, size, &u) != 0)
		return 0;
	if (u.nnz > u.n || u.n > FEAT_UPDATE_MAX_N)
		abort();
	if (!(all = malloc((u.n ? u.n : 1) * sizeof(*all))))
		return 0;
	feat_update_values(&u, all);
	for (size_t i = 0; i < u.n && i < 4096; i++) {
		double one = feat_update_value(&u, i);
		if (memcmp(&one, &all[i], sizeof(one)) != 0)
			abort();
	}
	free(all);
	return 0;
}
