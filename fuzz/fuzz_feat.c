/*
 * fuzz_feat.c — fuzz the features module's two input surfaces:
 *   first byte even: the rest is a serialised account state for
 *     feat_account_load(); a state that loads must extract finite values and
 *     re-serialise to the same bytes;
 *   first byte odd: the rest is a post text (any bytes) folded into a fresh
 *     account; extraction must stay finite.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bw_time.h"
#include "feat.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_finite(const struct feat_account *a)
{
	size_t n = feat_count();
	double *v = malloc(n * sizeof(*v));

	if (!v)
		return;
	if (feat_account_extract(a, BW_TIME_NONE, v) == 0)
		for (size_t i = 0; i < n; i++)
			if (!isfinite(v[i]))
				abort();
	free(v);
}

static void fuzz_state(const uint8_t *data, size_t size)
{
	char err[128];
	struct feat_account *a = feat_account_load(data, size, err, sizeof(err));
	void *buf = NULL;
	size_t len = 0;

	if (!a)
		return;
	check_finite(a);
	if (feat_account_save(a, &buf, &len) == 0) {
		struct feat_account *b = feat_account_load(buf, len, err, sizeof(err));
		void *buf2 = NULL;
		size_t len2 = 0;
		if (!b || feat_account_save(b, &buf2, &len2) || len2 != len || memcmp(buf, buf2, len))
			abort(); /* a loaded state must round-trip */
		feat_account_free(b);
		free(buf2);
	}
	free(buf);
	feat_account_free(a);
}

static void fuzz_text(const uint8_t *data, size_t size)
{
	struct feat_account *a = feat_account_new("1");
	struct bw_post p;
	char *text = malloc(size + 1);

	if (!a || !text)
		goto out;
	memcpy(text, data, size);
	text[size] = '\0';
	memset(&p, 0, sizeof(p));
	p.author.id = "1";
	p.author.created_at_ms = BW_TIME_NONE;
	p.author.followers_count = p.author.friends_count = p.author.statuses_count = -1;
	p.author.favourites_count = p.author.listed_count = -1;
	p.id = "2";
	p.created_at_ms = 1500000000000LL;
	p.text = text;
	p.retweet_count = p.favorite_count = p.reply_count = p.quote_count = -1;
	if (feat_account_update(a, &p) == 0)
		check_finite(a);
out:
	free(text);
	feat_account_free(a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	if (data[0] % 2 == 0)
		fuzz_state(data + 1, size - 1);
	else
		fuzz_text(data + 1, size - 1);
	return 0;
}
