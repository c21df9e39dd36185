/*
 * feat_tally.c — the conversation-report recorder (feat_tally.h).
 *
 * Deltas wait in a hash map keyed "kind bucket \x1f key \x1f account" until a
 * flush adds them to the store; the map holds one entry per distinct count,
 * not per post.
 */
#define _POSIX_C_SOURCE 200809L
#include "feat_tally.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bw_err.h"
#include "bw_map.h"
#include "bw_time.h"
#include "cfg.h"
#include "store.h"

#define MAX_KEYWORDS 256 /* keywords kept from report.keywords */
#define SEP '\x1f'       /* separates the parts of a delta's map key */

/* One waiting count. */
struct delta {
	uint64_t posts;     /* posts to add */
	int64_t bucket;     /* bucket start, seconds */
	char kind;          /* STORE_TALLY_* */
	const char *key;    /* into mk */
	const char *acct;   /* into mk */
	char mk[];          /* map key, then key and account as C strings */
};

struct feat_tally {
	int64_t bucket_s;            /* bucket width, seconds */
	size_t max_keys;             /* keys kept per kind and bucket */
	char **kw;                   /* lower-cased keywords */
	size_t n_kw;                 /* their number */
	struct bw_map *deltas;       /* map key → struct delta (owned) */
};

static void lower_ascii(char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s + 32);
}

/* Split "a, b ,c" into lower-cased words. */
static int parse_keywords(struct feat_tally *t, const char *list, char *errstr, size_t errlen)
{
	const char *p = list;

	while (p && *p) {
		const char *e = strchr(p, ',');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		while (n && (*p == ' ' || *p == '\t'))
			p++, n--;
		while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		if (n) {
			if (t->n_kw == MAX_KEYWORDS)
				return bw_seterr(errstr, errlen, BW_EINVAL,
						 "report.keywords: more than %d keywords", MAX_KEYWORDS);
			if (n > STORE_TALLY_KEY_MAX)
				return bw_seterr(errstr, errlen, BW_EINVAL,
						 "report.keywords: a keyword longer than %d bytes",
						 STORE_TALLY_KEY_MAX);
			if (!(t->kw[t->n_kw] = strndup(p, n)))
				return bw_seterr(errstr, errlen, BW_ENOMEM, "out of memory");
			lower_ascii(t->kw[t->n_kw++]);
		}
		p = e ? e + 1 : NULL;
	}
	return 0;
}

struct feat_tally *feat_tally_new(const struct feat_tally_opts *o, char *errstr, size_t errlen)
{
	struct feat_tally *t = calloc(1, sizeof(*t));

	if (o->bucket_s < 1) {
		bw_seterr(errstr, errlen, BW_EINVAL, "report.bucket_s must be at least 1");
		free(t);
		return NULL;
	}
	if (!t || !(t->deltas = bw_map_new()) || !(t->kw = calloc(MAX_KEYWORDS, sizeof(*t->kw)))) {
		bw_seterr(errstr, errlen, BW_ENOMEM, "out of memory");
		feat_tally_free(t);
		return NULL;
	}
	t->bucket_s = o->bucket_s;
	t->max_keys = o->max_keys;
	if (parse_keywords(t, o->keywords, errstr, errlen)) {
		feat_tally_free(t);
		return NULL;
	}
	return t;
}

int feat_tally_new_cfg(const struct bw_config *cfg, struct feat_tally **out, char *errstr,
		       size_t errlen)
{
	struct feat_tally_opts o = { cfg->report_bucket_s, (size_t)cfg->report_max_keys,
				     cfg->report_keywords };

	*out = NULL;
	if (!o.max_keys)
		return 0;
	return (*out = feat_tally_new(&o, errstr, errlen)) ? 0 : BW_EINVAL;
}

static void drop_deltas(struct feat_tally *t)
{
	size_t pos = 0;
	struct delta *d;

	while ((d = bw_map_next(t->deltas, &pos, NULL)))
		free(d);
	bw_map_clear(t->deltas);
}

void feat_tally_free(struct feat_tally *t)
{
	if (!t)
		return;
	if (t->deltas)
		drop_deltas(t);
	bw_map_free(t->deltas);
	for (size_t i = 0; t->kw && i < t->n_kw; i++)
		free(t->kw[i]);
	free(t->kw);
	free(t);
}

size_t feat_tally_pending(const struct feat_tally *t)
{
	return bw_map_count(t->deltas);
}

/* Count one (kind, key) of the post's author. */
static int bump(struct feat_tally *t, char kind, int64_t bucket, const char *key, size_t kn,
		const char *acct)
{
	char mk[2 * STORE_TALLY_KEY_MAX + BW_STORE_MAX_KEY + 40];
	struct delta *d;
	int n;

	if (kn > STORE_TALLY_KEY_MAX)
		kn = STORE_TALLY_KEY_MAX; /* the store cuts it at a character boundary */
	n = snprintf(mk, sizeof(mk), "%c%" PRId64 "%c%.*s%c%s", kind, bucket, SEP, (int)kn, key, SEP,
		     acct);
	if (n < 0 || (size_t)n >= sizeof(mk))
		return 0; /* an over-long account id: the store would refuse it */
	if ((d = bw_map_get(t->deltas, mk))) {
		d->posts++;
		return 0;
	}
	/* map key, NUL, key, NUL, account, NUL */
	if (!(d = malloc(sizeof(*d) + 2 * (size_t)n + 3)))
		return BW_ENOMEM;
	d->posts = 1;
	d->bucket = bucket;
	d->kind = kind;
	memcpy(d->mk, mk, (size_t)n + 1);
	char *k = d->mk + n + 1;
	memcpy(k, key, kn);
	k[kn] = '\0';
	d->key = k;
	memcpy(k + kn + 1, acct, strlen(acct) + 1); /* sized above: n covers it */
	d->acct = k + kn + 1;
	if (bw_map_put(t->deltas, d->mk, d)) {
		free(d);
		return BW_ENOMEM;
	}
	return 0;
}

bool feat_tally_domain(const char *url, char *buf, size_t n)
{
	const char *p = url ? strstr(url, "://") : NULL, *at;
	size_t len = 0;

	if (!p)
		return false;
	p += 3;
	while (p[len] && !strchr("/?#", p[len]))
		len++;
	/* user info ends at the authority's last '@'; the port follows a ':' */
	while ((at = memchr(p, '@', len))) {
		len -= (size_t)(at + 1 - p);
		p = at + 1;
	}
	for (size_t i = 0; i < len; i++)
		if (p[i] == ':')
			len = i;
	if (len > 4 && strncasecmp(p, "www.", 4) == 0)
		p += 4, len -= 4;
	if (!len || len >= n)
		return false;
	memcpy(buf, p, len);
	buf[len] = '\0';
	lower_ascii(buf);
	return true;
}

static bool is_word(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c >= 0x80;
}

/* Keyword `kw` (lower case) in `text` as a whole word, ASCII case-insensitively. */
static bool has_word(const char *text, const char *kw)
{
	size_t n = strlen(kw);

	for (const char *p = text; *p; p++) {
		size_t i = 0;
		while (i < n && p[i] && (p[i] >= 'A' && p[i] <= 'Z' ? p[i] + 32 : p[i]) == kw[i])
			i++;
		if (i == n && (p == text || !is_word((unsigned char)p[-1])) &&
		    !is_word((unsigned char)p[n]))
			return true;
	}
	return false;
}

/* True when entries[0..i) already hold `s` (ASCII case-insensitively). */
static bool seen_before(const char **v, uint32_t i, const char *s)
{
	for (uint32_t j = 0; j < i; j++)
		if (v[j] && strcasecmp(v[j], s) == 0)
			return true;
	return false;
}

int feat_tally_post(struct feat_tally *t, const struct bw_post *p)
{
	char host[STORE_TALLY_KEY_MAX + 1], seen[8][STORE_TALLY_KEY_MAX + 1];
	const char *acct = p->author.id;
	int64_t bucket;
	size_t n_seen = 0;
	int rc = 0;

	if (!t->max_keys || !p->id || !acct || (p->flags & BW_POSTF_EMBEDDED) ||
	    p->kind == BW_POST_PROFILE || p->kind == BW_POST_DELETE ||
	    p->created_at_ms == BW_TIME_NONE)
		return 0;
	bucket = p->created_at_ms / 1000 - (p->created_at_ms % 1000 < 0); /* floor, also before 1970 */
	bucket -= ((bucket % t->bucket_s) + t->bucket_s) % t->bucket_s;
	for (uint32_t i = 0; p->hashtags && i < p->n_hashtags && !rc; i++) {
		char tag[STORE_TALLY_KEY_MAX + 1];
		if (!p->hashtags[i] || !*p->hashtags[i] || seen_before(p->hashtags, i, p->hashtags[i]))
			continue;
		snprintf(tag, sizeof(tag), "%s", p->hashtags[i]);
		lower_ascii(tag);
		rc = bump(t, STORE_TALLY_HASHTAG, bucket, tag, strlen(tag), acct);
	}
	for (uint32_t i = 0; p->urls && i < p->n_urls && !rc; i++) {
		bool dup = false;
		if (!feat_tally_domain(p->urls[i], host, sizeof(host)))
			continue;
		for (size_t j = 0; j < n_seen && !dup; j++)
			dup = strcmp(seen[j], host) == 0;
		if (dup)
			continue;
		if (n_seen < 8)
			memcpy(seen[n_seen++], host, strlen(host) + 1);
		rc = bump(t, STORE_TALLY_DOMAIN, bucket, host, strlen(host), acct);
	}
	for (size_t i = 0; p->text && i < t->n_kw && !rc; i++)
		if (has_word(p->text, t->kw[i]))
			rc = bump(t, STORE_TALLY_KEYWORD, bucket, t->kw[i], strlen(t->kw[i]), acct);
	return rc;
}

/* A (kind, bucket) a flush touched. */
struct touched {
	char kind;      /* STORE_TALLY_* */
	int64_t bucket; /* bucket start */
	char mk[32];    /* map key "kind bucket" */
};

/* Add the deltas; note each (kind, bucket) in `touched` (owned entries). */
static int add_all(struct feat_tally *t, struct bw_map *touched, struct bw_store_txn *txn,
		   char *errstr, size_t errlen)
{
	size_t pos = 0;
	struct delta *d;
	int rc;

	while ((d = bw_map_next(t->deltas, &pos, NULL))) {
		struct touched *e;
		char kb[32];
		if ((rc = store_tally_add(txn, d->kind, d->bucket, d->key, d->acct, d->posts, errstr,
					  errlen)))
			return rc;
		snprintf(kb, sizeof(kb), "%c%" PRId64, d->kind, d->bucket);
		if (bw_map_get(touched, kb))
			continue;
		if (!(e = malloc(sizeof(*e))))
			return bw_seterr(errstr, errlen, BW_ENOMEM, "out of memory");
		*e = (struct touched){ d->kind, d->bucket, { 0 } };
		memcpy(e->mk, kb, sizeof(kb));
		if (bw_map_put(touched, e->mk, e)) {
			free(e);
			return bw_seterr(errstr, errlen, BW_ENOMEM, "out of memory");
		}
	}
	return 0;
}

int feat_tally_flush(struct feat_tally *t, struct bw_store_txn *txn, char *errstr, size_t errlen)
{
	struct bw_map *touched = bw_map_new();
	struct touched *e;
	size_t pos = 0;
	int rc;

	if (!touched)
		return bw_seterr(errstr, errlen, BW_ENOMEM, "out of memory");
	rc = add_all(t, touched, txn, errstr, errlen);
	while ((e = bw_map_next(touched, &pos, NULL))) {
		if (!rc)
			rc = store_tally_prune(txn, e->kind, e->bucket, t->max_keys, NULL, errstr,
					       errlen);
		free(e);
	}
	bw_map_free(touched);
	if (!rc)
		drop_deltas(t);
	return rc;
}


/* --- the stage's sink ------------------------------------------------------ */

#define SINK_MAX_PARTITIONS 4096 /* partitions whose mark is cached */

struct feat_tally_sink {
	struct feat_tally *t;         /* the recorder (owned) */
	struct bw_store *store;       /* the store written */
	bool own_store;               /* opened here (closed by feat_tally_sink_free) */
	char *topic;                  /* input topic (copy) */
	int64_t *mark;                /* per partition: next offset to count; -1 unknown */
};

int feat_tally_sink_open(const struct bw_config *cfg, struct bw_store *store, const char *topic,
			 struct feat_tally_sink **out, char *errstr, size_t errlen)
{
	struct feat_tally_sink *s;
	struct feat_tally *t;

	*out = NULL;
	if (feat_tally_new_cfg(cfg, &t, errstr, errlen))
		return BW_EINVAL;
	if (!t)
		return 0;
	if (!(s = calloc(1, sizeof(*s))) || !(s->topic = strdup(topic)) ||
	    !(s->mark = malloc(SINK_MAX_PARTITIONS * sizeof(*s->mark)))) {
		feat_tally_free(t);
		if (s)
			free(s->topic);
		free(s);
		return bw_seterr(errstr, errlen, BW_ENOMEM, "out of memory");
	}
	s->t = t;
	for (size_t i = 0; i < SINK_MAX_PARTITIONS; i++)
		s->mark[i] = -1;
	s->store = store;
	if (!store) {
		s->own_store = true;
		if (!(s->store = store_open(cfg->store_path, true, (size_t)cfg->store_map_size_mb,
					    errstr, errlen))) {
			feat_tally_sink_free(s);
			return BW_ESTORE;
		}
	}
	*out = s;
	return 0;
}

void feat_tally_sink_free(struct feat_tally_sink *s)
{
	if (!s)
		return;
	feat_tally_free(s->t);
	if (s->own_store)
		store_close(s->store);
	free(s->topic);
	free(s->mark);
	free(s);
}

int feat_tally_sink_post(struct feat_tally_sink *s, int32_t partition, int64_t offset,
			 const struct bw_post *post)
{
	if (partition < 0 || partition >= SINK_MAX_PARTITIONS)
		return feat_tally_post(s->t, post); /* no mark kept: counted as read */
	if (s->mark[partition] < 0) {
		int64_t m = 0;
		int rc = store_tally_mark_get(s->store, s->topic, partition, &m);
		if (rc && rc != BW_ENOENT)
			return rc;
		s->mark[partition] = rc ? 0 : m;
	}
	if (offset < s->mark[partition])
		return 0;
	return feat_tally_post(s->t, post);
}

int feat_tally_sink_commit(struct feat_tally_sink *s, size_t n, const int32_t *partitions,
			   const int64_t *offsets, char *errstr, size_t errlen)
{
	struct bw_store_txn *txn;
	int rc = 0;

	if (!feat_tally_pending(s->t) && !n)
		return 0;
	if (!(txn = store_txn_begin(s->store, errstr, errlen)))
		return BW_ESTORE;
	rc = feat_tally_flush(s->t, txn, errstr, errlen);
	for (size_t i = 0; i < n && !rc; i++)
		if (offsets[i] >= 0)
			rc = store_tally_mark_put(txn, s->topic, partitions[i], offsets[i], errstr,
						  errlen);
	if (rc) {
		store_txn_abort(txn);
		return rc;
	}
	if ((rc = store_txn_commit(txn, errstr, errlen)))
		return rc;
	for (size_t i = 0; i < n; i++)
		if (partitions[i] >= 0 && partitions[i] < SINK_MAX_PARTITIONS && offsets[i] >= 0)
			s->mark[partitions[i]] = offsets[i];
	return 0;
}

int feat_tally_marks_reset(struct bw_store *st, const char *topic, int32_t n, char *errstr,
			   size_t errlen)
{
	struct bw_store_txn *txn = NULL;
	int64_t off;
	int rc = 0;

	for (int32_t p = 0; p < n && !rc; p++) {
		if (store_tally_mark_get(st, topic, p, &off) || off == 0)
			continue;
		if (!txn && !(txn = store_txn_begin(st, errstr, errlen)))
			return BW_ESTORE;
		rc = store_tally_mark_put(txn, topic, p, 0, errstr, errlen);
	}
	if (rc) {
		store_txn_abort(txn);
		return rc;
	}
	return txn ? store_txn_commit(txn, errstr, errlen) : 0;
}
