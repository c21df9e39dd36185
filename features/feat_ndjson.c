/*
 * feat_ndjson.c — one account's vector as an NDJSON line:
 *   {"user_id": "...", "screen_name": "..."|null, "posts_seen": N,
 *    "features": {"name": value, ...}}
 * in registry order. Numbers print in the shortest of %.15g / %.17g that
 * reads back exactly (integers as integers), so the line is lossless.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "bw_err.h"
#include "feat.h"

static void put_number(FILE *out, double v)
{
	char buf[40];

	if (v == 0) { /* most values; also prints -0 as 0 */
		fputc('0', out);
		return;
	}
	if (v == (double)(int64_t)v && fabs(v) < 1e15) {
		fprintf(out, "%lld", (long long)v);
		return;
	}
	snprintf(buf, sizeof(buf), "%.15g", v);
	if (strtod(buf, NULL) != v)
		snprintf(buf, sizeof(buf), "%.17g", v);
	fputs(buf, out);
}

static int put_string(FILE *out, const char *s)
{
	json_t *j = json_string(s);
	char *txt = j ? json_dumps(j, JSON_ENCODE_ANY) : NULL;

	json_decref(j);
	if (!txt)
		return BW_ENOMEM; /* also: not valid UTF-8 */
	fputs(txt, out);
	free(txt);
	return 0;
}

int feat_write_ndjson(FILE *out, const struct feat_account *acc, const double *vec)
{
	size_t n = feat_count();
	const char *sn = feat_account_screen_name(acc);

	fputs("{\"user_id\": ", out);
	if (put_string(out, feat_account_id(acc)))
		fputs("\"\"", out);
	fputs(", \"screen_name\": ", out);
	if (!sn || put_string(out, sn))
		fputs("null", out);
	fprintf(out, ", \"posts_seen\": %llu, \"features\": {",
		(unsigned long long)feat_account_posts(acc));
	for (size_t i = 0; i < n; i++) {
		fprintf(out, "%s\"%s\": ", i ? ", " : "", feat_def_get(i)->name);
		put_number(out, vec[i]);
	}
	fputs("}}\n", out);
	return ferror(out) ? BW_EIO : 0;
}
