/*
 * feat_registry.c — the one feature table.
 *
 * The table is built once, on first use, by calling each family's register
 * function in a fixed order (user, friend+network, temporal, content+sentiment);
 * a family records the indices it was given and its extractor writes there, so
 * names, order, extraction, --list and docs/FEATURES.md cannot drift apart.
 * Storage is static (no allocation, nothing to free); after construction the
 * table is immutable and safe to share between threads.
 */
#include <pthread.h>
#include <stdarg.h>
#include <string.h>

#include <xxhash.h>

#include "bw_err.h"
#include "feat_int.h"

#define POOL_BYTES (2u << 20)

static struct feat_def defs[FEAT_MAX_FEATURES]; /* the table */
static size_t n_defs;                           /* entries used */
static char pool[POOL_BYTES];                   /* names and texts */
static size_t pool_used;                        /* bytes of pool used */
static char schema_hash[17];                    /* hex digest */
static pthread_once_t once = PTHREAD_ONCE_INIT;

static const char *const class_names[FEAT__NCLASS] = { "user",     "friend",  "network",
							"temporal", "content", "sentiment" };

static const char *const stat_how[ST__N] = {
	"smallest value",
	"largest value",
	"median",
	"arithmetic mean",
	"population standard deviation",
	"skewness sqrt(n)*M3/M2^1.5 (0 if constant)",
	"excess kurtosis n*M4/M2^2-3 (0 if constant)",
	"Shannon entropy (bits) of the 16-bin histogram",
};

/* Format into the static pool; the pool is sized for the whole table. */
static const char *pool_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static const char *pool_printf(const char *fmt, ...)
{
	va_list ap;
	char *p = pool + pool_used;
	size_t room = POOL_BYTES - pool_used;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(p, room, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= room)
		return ""; /* cannot happen with the shipped table; checked by the unit test */
	pool_used += (size_t)n + 1;
	return p;
}

static size_t add(enum feat_class cls, bool universal, const char *name, const char *desc,
		  const char *how)
{
	if (n_defs >= FEAT_MAX_FEATURES)
		return FEAT_MAX_FEATURES - 1; /* cannot happen; the unit test checks the count */
	defs[n_defs].name = name;
	defs[n_defs].cls = cls;
	defs[n_defs].universal = universal;
	defs[n_defs].description = desc;
	defs[n_defs].how = how;
	return n_defs++;
}

size_t feat_reg_scalar(enum feat_class cls, bool universal, const char *name, const char *desc,
		       const char *how)
{
	return add(cls, universal, pool_printf("%s.%s", class_names[cls], name),
		   pool_printf("%s", desc), pool_printf("%s", how));
}

size_t feat_reg_dist(enum feat_class cls, bool universal, const char *name, const char *desc,
		     const char *how)
{
	size_t first = n_defs;

	for (int s = 0; s < ST__N; s++)
		add(cls, universal, pool_printf("%s.%s.%s", class_names[cls], name, feat_stat_names[s]),
		    pool_printf("%s: %s", desc, feat_stat_names[s]),
		    pool_printf("%s of %s", stat_how[s], how));
	return first;
}

static void build(void)
{
	XXH64_state_t *st;

	feat_fam_user_register();
	feat_fam_social_register();
	feat_fam_temporal_register();
	feat_fam_content_register();

	st = XXH64_createState();
	if (st) {
		char ver[16];
		XXH64_reset(st, 0);
		snprintf(ver, sizeof(ver), "v%d\n", FEAT_SCHEMA_VERSION);
		XXH64_update(st, ver, strlen(ver));
		for (size_t i = 0; i < n_defs; i++) {
			XXH64_update(st, defs[i].name, strlen(defs[i].name) + 1);
			XXH64_update(st, class_names[defs[i].cls], strlen(class_names[defs[i].cls]) + 1);
		}
		snprintf(schema_hash, sizeof(schema_hash), "%016llx",
			 (unsigned long long)XXH64_digest(st));
		XXH64_freeState(st);
	}
}

void feat_registry_init(void)
{
	pthread_once(&once, build);
}

size_t feat_count(void)
{
	feat_registry_init();
	return n_defs;
}

const struct feat_def *feat_def_get(size_t i)
{
	feat_registry_init();
	return i < n_defs ? &defs[i] : NULL;
}

long feat_index(const char *name)
{
	feat_registry_init();
	for (size_t i = 0; name && i < n_defs; i++)
		if (strcmp(defs[i].name, name) == 0)
			return (long)i;
	return -1;
}

const char *feat_class_name(enum feat_class cls)
{
	return (unsigned)cls < FEAT__NCLASS ? class_names[cls] : "?";
}

int feat_class_parse(const char *name)
{
	for (int c = 0; name && c < FEAT__NCLASS; c++)
		if (strcmp(class_names[c], name) == 0)
			return c;
	return -1;
}

const char *feat_schema_hash(void)
{
	feat_registry_init();
	return schema_hash;
}

int feat_write_list(FILE *out)
{
	feat_registry_init();
	for (size_t i = 0; i < n_defs; i++)
		fprintf(out, "%zu\t%s\t%s\t%s\n", i, defs[i].name, class_names[defs[i].cls],
			defs[i].description);
	return ferror(out) ? BW_EIO : 0;
}

/* Markdown table cells must not contain '|'. */
static void md_cell(FILE *out, const char *s)
{
	for (; *s; s++) {
		if (*s == '|')
			fputs("\\|", out);
		else
			fputc(*s, out);
	}
}

int feat_write_markdown(FILE *out)
{
	size_t per[FEAT__NCLASS] = { 0 }, uni = 0;

	feat_registry_init();
	for (size_t i = 0; i < n_defs; i++) {
		per[defs[i].cls]++;
		uni += defs[i].universal;
	}
	fprintf(out, "# botwatch features\n\n"
		     "Generated by `botwatch features --markdown` from the feature registry "
		     "(features/feat_registry.c and features/feat_fam_*.c); do not edit. "
		     "`make docs` regenerates it and `make test` fails when it is stale.\n\n"
		     "Schema hash `%s`, schema version %d, %zu features, %zu of them universal "
		     "(language-independent; the universal score drops content and sentiment).\n\n",
		schema_hash, FEAT_SCHEMA_VERSION, n_defs, uni);
	fprintf(out, "How per-account state is kept, its bounds, idempotency and ordering: "
		     "docs/STATE.md. Lexicons and models: docs/LEXICONS.md.\n\n");
	fprintf(out, "**Population features.** `user.description_shared` counts other accounts "
		     "of the input, not the account alone: the most other authors that share a "
		     "run of five consecutive words of the bio after normalising, the account's "
		     "own name words read as one placeholder (the trace of a group created from "
		     "one template, even one filled with each account's name). "
		     "`botwatch replay`, `train` and `eval` compute it over every author read; "
		     "the Kafka features stage over the accounts its state store holds, sending "
		     "an account's update again when the count of one of its runs changes "
		     "(docs/STATE.md); a single account scored alone (the Botometer-compatible "
		     "endpoint) has 0. It stops at %d.\n\n",
		FEAT_POP_CAP);
	fprintf(out, "Every distribution is summarised by the 8 statistics min, max, median, mean, "
		     "std (population), skew, kurtosis (excess) and entropy (Shannon, bits, over the "
		     "quantity's 16-bin histogram); an empty distribution gives 0 for all 8 and a "
		     "constant one gives std = skew = kurtosis = entropy = 0. No value is ever NaN "
		     "or infinite.\n\n| class | features |\n|---|---|\n");
	for (int c = 0; c < FEAT__NCLASS; c++)
		fprintf(out, "| %s | %zu |\n", class_names[c], per[c]);
	for (int c = 0; c < FEAT__NCLASS; c++) {
		fprintf(out, "\n## %s\n\n| # | name | universal | description | how |\n"
			     "|---|---|---|---|---|\n", class_names[c]);
		for (size_t i = 0; i < n_defs; i++) {
			if ((int)defs[i].cls != c)
				continue;
			fprintf(out, "| %zu | `%s` | %s | ", i, defs[i].name,
				defs[i].universal ? "yes" : "no");
			md_cell(out, defs[i].description);
			fputs(" | ", out);
			md_cell(out, defs[i].how);
			fputs(" |\n", out);
		}
	}
	return ferror(out) ? BW_EIO : 0;
}
