/*
 * ingest_expect.c — the data-expectation table and its counters (see
 * ingest_expect.h). The table below is the single source: the checks, the
 * /v1/drift listing and docs/EXPECTATIONS.md (`botwatch decode
 * --expectations-markdown`) all read it.
 */
#include "ingest_expect.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "bw_err.h"
#include "bw_metrics.h"
#include "bw_time.h"
#include "post.h"

/* Platforms on which a field is expected to be present. */
#define PL_TWITTER 0x1u
#define PL_MASTODON 0x2u
#define PL_BLUESKY 0x4u
#define PL_ALL 0x7u

/* Records a row applies to. */
#define RK_PROFILE 0x1u /* every record carrying an author profile (not deletions) */
#define RK_POST 0x2u    /* posts (not profile snapshots, not deletions) */
#define RK_TEXTUAL 0x4u /* originals, replies and quotes */

enum ex_field {
	F_SCREEN_NAME, F_NAME, F_ACCOUNT_CREATED, F_FOLLOWERS, F_FRIENDS, F_STATUSES, F_FAVOURITES,
	F_LISTED, F_POST_ID, F_CREATED, F_TEXT, F_LANG, F_N_FIELDS
};

enum ex_type { T_COUNT, T_TIME, T_STRING };
enum ex_format { FMT_NONE, FMT_HANDLE, FMT_LANG };

/* One expectation. */
struct expect {
	const char *field;     /* field of the normalised record (docs/POST.md) */
	enum ex_type type;     /* normalised type (other types are dead-lettered as bad_field) */
	unsigned records;      /* RK_* records it applies to */
	unsigned expected_on;  /* PL_* platforms that carry it: absent there is a violation */
	double min, max;       /* counts: value; times: ms since the epoch (max 0 = the record's
				* own event time); strings: length in bytes */
	enum ex_format format; /* format check of a string */
	const char *doc;       /* why, for the table */
};

#define T2006 1142899200000.0 /* 2006-03-21T00:00:00Z: the first post of the oldest platform */

static const struct expect table[F_N_FIELDS] = {
	[F_SCREEN_NAME] = { "author.screen_name", T_STRING, RK_PROFILE, PL_ALL, 1, 253, FMT_HANDLE,
			    "handle without '@': no spaces or control characters (Mastodon "
			    "user@domain, Bluesky domain handles)" },
	[F_NAME] = { "author.name", T_STRING, RK_PROFILE, PL_TWITTER | PL_MASTODON, 0, 1024, FMT_NONE,
		     "display name; Jetstream posts carry no profile" },
	[F_ACCOUNT_CREATED] = { "author.created_at", T_TIME, RK_PROFILE, PL_TWITTER | PL_MASTODON,
				T2006, 0, FMT_NONE,
				"account creation: not before 2006-03-21 nor after the record's "
				"event time" },
	[F_FOLLOWERS] = { "author.followers_count", T_COUNT, RK_PROFILE, PL_TWITTER | PL_MASTODON, 0,
			  5e8, FMT_NONE, "the most-followed accounts have about 2e8" },
	[F_FRIENDS] = { "author.friends_count", T_COUNT, RK_PROFILE, PL_TWITTER | PL_MASTODON, 0, 1e7,
			FMT_NONE, "accounts followed" },
	[F_STATUSES] = { "author.statuses_count", T_COUNT, RK_PROFILE, PL_TWITTER | PL_MASTODON, 0,
			 1e8, FMT_NONE, "posts ever made" },
	[F_FAVOURITES] = { "author.favourites_count", T_COUNT, RK_PROFILE, PL_TWITTER, 0, 1e8,
			   FMT_NONE, "likes given (Twitter v1.1; v2 does not carry it)" },
	[F_LISTED] = { "author.listed_count", T_COUNT, RK_PROFILE, PL_TWITTER, 0, 1e7, FMT_NONE,
		       "lists the account is on" },
	[F_POST_ID] = { "id", T_STRING, RK_POST, PL_ALL, 1, 512, FMT_NONE, "post id" },
	[F_CREATED] = { "created_at", T_TIME, RK_POST, PL_ALL, T2006, 0, FMT_NONE,
			"event time: not before 2006-03-21 (later than a day past the clock is "
			"dead-lettered as future_time)" },
	[F_TEXT] = { "text", T_STRING, RK_TEXTUAL, PL_ALL, 1, 65536, FMT_NONE,
		     "full text of originals, replies and quotes" },
	[F_LANG] = { "lang", T_STRING, RK_POST, PL_TWITTER, 2, 35, FMT_LANG,
		     "language tag (BCP 47: en, pt-BR, und); v1.1 always has it, v2 when requested" },
};

enum { K_CHECKED, K_ABSENT, K_RANGE, K_FORMAT, K_N };
static const char *const kind_names[K_N] = { "checked", "absent", "range", "format" };

static atomic_uint_fast64_t counts[F_N_FIELDS][K_N];     /* since start */
static atomic_uint_fast64_t published[F_N_FIELDS][K_N];  /* already added to the registry */

static unsigned platform_bit(const char *pl)
{
	if (!pl)
		return 0;
	return strcmp(pl, "twitter") == 0    ? PL_TWITTER
	       : strcmp(pl, "mastodon") == 0 ? PL_MASTODON
	       : strcmp(pl, "bluesky") == 0  ? PL_BLUESKY
					     : 0;
}

static bool handle_ok(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s <= 0x20 || *s == 0x7f)
			return false;
	return true;
}

/* en, eng, pt-BR, zh-Hant-TW, und, x-... : letters, then '-'-joined alphanumeric subtags. */
static bool lang_ok(const char *s)
{
	size_t n = 0;
	while (s[n] >= 'a' && s[n] <= 'z')
		n++;
	if (n < 2 || n > 8)
		return false;
	for (s += n; *s;) {
		if (*s++ != '-')
			return false;
		for (n = 0; (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9');
		     s++)
			n++;
		if (n < 1 || n > 8)
			return false;
	}
	return true;
}

/* The value of field f in p: *num for counts and times, *str for strings;
 * false when absent. */
static bool field_value(const struct bw_post *p, enum ex_field f, double *num, const char **str)
{
	int64_t v = -1;
	*str = NULL;
	switch (f) {
	case F_SCREEN_NAME: *str = p->author.screen_name; break;
	case F_NAME: *str = p->author.name; break;
	case F_POST_ID: *str = p->id; break;
	case F_TEXT: *str = p->text; break;
	case F_LANG: *str = p->lang; break;
	case F_ACCOUNT_CREATED: v = p->author.created_at_ms == BW_TIME_NONE ? -1 : p->author.created_at_ms; break;
	case F_CREATED: v = p->created_at_ms == BW_TIME_NONE ? -1 : p->created_at_ms; break;
	case F_FOLLOWERS: v = p->author.followers_count; break;
	case F_FRIENDS: v = p->author.friends_count; break;
	case F_STATUSES: v = p->author.statuses_count; break;
	case F_FAVOURITES: v = p->author.favourites_count; break;
	case F_LISTED: v = p->author.listed_count; break;
	case F_N_FIELDS: break;
	}
	if (table[f].type == T_STRING)
		return *str != NULL;
	/* times may be negative (before 1970) and still present */
	if ((f == F_ACCOUNT_CREATED && p->author.created_at_ms != BW_TIME_NONE) ||
	    (f == F_CREATED && p->created_at_ms != BW_TIME_NONE)) {
		*num = (double)(f == F_CREATED ? p->created_at_ms : p->author.created_at_ms);
		return true;
	}
	*num = (double)v;
	return v >= 0;
}

static unsigned record_bits(const struct bw_post *p)
{
	switch (p->kind) {
	case BW_POST_DELETE: return 0;
	case BW_POST_PROFILE: return RK_PROFILE;
	case BW_POST_RETWEET: return RK_PROFILE | RK_POST;
	default: return RK_PROFILE | RK_POST | RK_TEXTUAL;
	}
}

static void bump(enum ex_field f, int k)
{
	atomic_fetch_add_explicit(&counts[f][k], 1, memory_order_relaxed);
}

void ingest_expect_check(const struct bw_post *p)
{
	unsigned rec = record_bits(p), pl = platform_bit(p->platform);
	for (int f = 0; f < F_N_FIELDS; f++) {
		const struct expect *e = &table[f];
		double v = 0;
		const char *s;
		if (!(e->records & rec))
			continue;
		bump(f, K_CHECKED);
		if (!field_value(p, f, &v, &s)) {
			if (e->expected_on & pl)
				bump(f, K_ABSENT);
			continue;
		}
		if (s) {
			double len = (double)strlen(s);
			if (len < e->min || len > e->max)
				bump(f, K_RANGE);
			else if ((e->format == FMT_HANDLE && !handle_ok(s)) ||
				 (e->format == FMT_LANG && !lang_ok(s)))
				bump(f, K_FORMAT);
			continue;
		}
		double max = e->max;
		if (e->type == T_TIME && max == 0)
			max = p->created_at_ms != BW_TIME_NONE && f != F_CREATED ? (double)p->created_at_ms
										  : 9e18;
		if (v < e->min || v > max)
			bump(f, K_RANGE);
	}
}

void ingest_expect_publish(void)
{
	struct bw_metric *checks = bw_counter("botwatch_ingest_expectation_checks_total",
					      "Records checked against a field's expectation "
					      "(docs/EXPECTATIONS.md).", "field");
	struct bw_metric *viol = bw_counter("botwatch_ingest_expectation_violations_total",
					    "Expectation violations per field and kind (absent, "
					    "range, format).", "field,kind");
	for (int f = 0; f < F_N_FIELDS; f++)
		for (int k = 0; k < K_N; k++) {
			uint64_t now = atomic_load(&counts[f][k]);
			uint64_t was = atomic_exchange(&published[f][k], now);
			const char *lab[2] = { table[f].field, kind_names[k] };
			if (now <= was)
				continue;
			bw_counter_add(k == K_CHECKED ? checks : viol, lab, now - was);
		}
}

static const char *type_name(enum ex_type t)
{
	return t == T_COUNT ? "count" : t == T_TIME ? "time" : "string";
}

/* Comma-separated platform names into buf. */
static const char *platforms(unsigned m, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s%s", m & PL_TWITTER ? "twitter," : "",
		 m & PL_MASTODON ? "mastodon," : "", m & PL_BLUESKY ? "bluesky," : "",
		 m ? "" : "none");
	size_t n = strlen(buf);
	if (n && buf[n - 1] == ',')
		buf[n - 1] = '\0';
	return buf;
}

static const char *records(unsigned r)
{
	return r == RK_PROFILE ? "records with a profile" : r == RK_POST ? "posts"
								       : "originals, replies, quotes";
}

/* Range as text: "0 .. 5e+08", "2006-03-21 .. event time", "1 .. 253 bytes". */
static void range_text(const struct expect *e, char *buf, size_t len)
{
	if (e->type == T_TIME)
		snprintf(buf, len, "2006-03-21 .. %s",
			 e->records == RK_POST ? "a day past the clock" : "the record's event time");
	else
		snprintf(buf, len, "%.0f .. %.10g%s", e->min, e->max, e->type == T_STRING ? " bytes" : "");
}

json_t *ingest_expect_json(void)
{
	json_t *a = json_array();
	char pl[64], rg[96];
	for (int f = 0; a && f < F_N_FIELDS; f++) {
		const struct expect *e = &table[f];
		range_text(e, rg, sizeof(rg));
		json_array_append_new(
			a, json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:I}", "field", e->field,
				     "type", type_name(e->type), "applies_to", records(e->records),
				     "expected_on", platforms(e->expected_on, pl, sizeof(pl)), "range",
				     rg, "checked", (json_int_t)atomic_load(&counts[f][K_CHECKED]),
				     "absent", (json_int_t)atomic_load(&counts[f][K_ABSENT]), "out_of_range",
				     (json_int_t)atomic_load(&counts[f][K_RANGE]), "bad_format",
				     (json_int_t)atomic_load(&counts[f][K_FORMAT])));
	}
	return a;
}

int ingest_expect_write_markdown(FILE *out)
{
	char pl[64], rg[96];
	fprintf(out,
		"# Data expectations at ingest\n\n"
		"Generated by `botwatch decode --expectations-markdown` from the table in\n"
		"`ingest/ingest_expect.c`; do not edit by hand.\n\n"
		"Every normalised record the decoder emits (docs/POST.md) is checked against these\n"
		"expectations. A violation never rejects a record (what cannot be used at all is\n"
		"dead-lettered by the decoder, e.g. a count of another JSON type as `bad_field`);\n"
		"violations are counted per field and kind: `absent` (missing on a platform that\n"
		"carries the field), `range` (a count, time or length outside the range) and\n"
		"`format`. They are exported as `botwatch_ingest_expectation_violations_total{field,kind}`\n"
		"(and `botwatch_ingest_expectation_checks_total{field}`) on `/metrics` and listed\n"
		"under `expectations` in `GET /v1/drift` (docs/DRIFT.md).\n\n"
		"| field | type | checked on | expected on | range | format | why |\n"
		"|---|---|---|---|---|---|---|\n");
	for (int f = 0; f < F_N_FIELDS; f++) {
		const struct expect *e = &table[f];
		range_text(e, rg, sizeof(rg));
		fprintf(out, "| `%s` | %s | %s | %s | %s | %s | %s |\n", e->field, type_name(e->type),
			records(e->records), platforms(e->expected_on, pl, sizeof(pl)), rg,
			e->format == FMT_HANDLE ? "no spaces or control characters"
			: e->format == FMT_LANG ? "language tag"
						: "-",
			e->doc);
	}
	return ferror(out) ? BW_EIO : 0;
}

void ingest_expect_reset(void)
{
	for (int f = 0; f < F_N_FIELDS; f++)
		for (int k = 0; k < K_N; k++) {
			atomic_store(&counts[f][k], 0);
			atomic_store(&published[f][k], 0);
		}
}
