/*
 * bsky_enrich.c — Bluesky profile enrichment from an AppView on its own
 * thread (see bsky_enrich.h).
 */
#define _POSIX_C_SOURCE 200809L
#include "bsky_enrich.h"

#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bw_err.h"
#include "bw_log.h"
#include "bw_time.h"
#include "stream.h"

#define ENRICH_BATCH 25           /* actors per getProfiles call (the API's limit) */
#define ENRICH_SEEN 65536         /* DIDs remembered for the TTL */
#define ENRICH_BODY_MAX (4 << 20) /* cap on one answer */
#define ENRICH_BACKOFF_MAX_MS 60000

/* A profile received (owned copies). */
struct enrich_res {
	char *did, *handle, *name, *description; /* owned strings (NULL = absent) */
	bool avatar, banner, bot;                /* presence flags */
	int64_t followers, follows, posts;       /* counts, -1 absent */
	int64_t created_ms;                      /* BW_TIME_NONE absent */
};

/* A DID and when it was last asked for. */
struct enrich_seen {
	char *did;     /* owned, NULL = empty slot */
	int64_t at_ms; /* monotonic time it was queued */
};

struct ingest_enrich {
	const struct bw_config *cfg;   /* borrowed */
	pthread_t th;                  /* the fetching thread */
	bool started;                  /* th is running */
	pthread_mutex_t mu;            /* guards everything below */
	pthread_cond_t cv;             /* queue non-empty, or stop */
	char **q;                      /* queued DIDs (owned), a ring */
	size_t qhead, qlen, qcap;      /* ring position, length, capacity */
	size_t inflight;               /* DIDs taken by the thread and not answered yet */
	struct enrich_seen *seen;      /* ENRICH_SEEN slots */
	struct enrich_res *res;        /* answers not taken yet */
	size_t nres, capres;           /* used / allocated */
	struct ingest_enrich_stats st; /* counters */
	bool stop;                     /* the thread should end */
	char ua[64];                   /* User-Agent */
};

/* ---- the queue (caller holds mu) ---------------------------------------------------- */

static bool q_push(struct ingest_enrich *e, char *did)
{
	if (e->qlen == e->qcap)
		return false;
	e->q[(e->qhead + e->qlen) % e->qcap] = did;
	e->qlen++;
	return true;
}

static char *q_pop(struct ingest_enrich *e)
{
	char *did = e->q[e->qhead];

	e->qhead = (e->qhead + 1) % e->qcap;
	e->qlen--;
	return did;
}

static uint32_t did_hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

void ingest_enrich_want(struct ingest_enrich *e, const char *did)
{
	int64_t now = bw_time_mono_ms();
	struct enrich_seen *s;
	char *copy;

	if (!e || !did)
		return;
	pthread_mutex_lock(&e->mu);
	s = &e->seen[did_hash(did) % ENRICH_SEEN];
	if (s->did && strcmp(s->did, did) == 0 && now - s->at_ms < e->cfg->bsky_enrich_ttl_s * 1000)
		goto out_unlock;
	if (e->qlen == e->qcap) {
		e->st.dropped++;
		goto out_unlock;
	}
	if (!(copy = strdup(did)))
		goto out_unlock;
	if (!s->did || strcmp(s->did, did) != 0) {
		char *sd = strdup(did);
		if (!sd) {
			free(copy);
			goto out_unlock;
		}
		free(s->did);
		s->did = sd;
	}
	s->at_ms = now;
	q_push(e, copy);
	pthread_cond_signal(&e->cv);
out_unlock:
	pthread_mutex_unlock(&e->mu);
}

/* ---- one call ------------------------------------------------------------------------ */

struct body {
	char *b;     /* bytes received (NUL-terminated) */
	size_t len;  /* used */
	size_t cap;  /* allocated */
};

static size_t on_body(char *p, size_t sz, size_t n, void *opaque)
{
	struct body *b = opaque;
	size_t k = sz * n;

	if (b->len + k + 1 > ENRICH_BODY_MAX)
		return 0;
	if (b->len + k + 1 > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 65536;
		while (cap < b->len + k + 1)
			cap *= 2;
		char *nb = realloc(b->b, cap);
		if (!nb)
			return 0;
		b->b = nb, b->cap = cap;
	}
	memcpy(b->b + b->len, p, k);
	b->len += k;
	b->b[b->len] = '\0';
	return k;
}

static size_t on_header(char *p, size_t sz, size_t n, void *opaque)
{
	int64_t *hint = opaque, h = ingest_stream_hint_ms(p, sz * n, bw_time_now_ms());

	if (h >= 0)
		*hint = h;
	return sz * n;
}

static char *dup_or_null(const char *s)
{
	return s ? strndup(s, 4096) : NULL;
}

/* One profile view into the answers (caller holds mu). */
static void take_view(struct ingest_enrich *e, json_t *v)
{
	struct enrich_res r = { .followers = -1, .follows = -1, .posts = -1,
				.created_ms = BW_TIME_NONE };
	const char *did = json_string_value(json_object_get(v, "did")), *created;
	json_t *lab;
	size_t i;

	if (!did || !bw_account_id_valid(did))
		return;
	if (e->nres == e->capres) {
		size_t cap = e->capres ? e->capres * 2 : 64;
		struct enrich_res *nr = realloc(e->res, cap * sizeof(*nr));
		if (!nr)
			return;
		e->res = nr, e->capres = cap;
	}
	r.did = strdup(did);
	r.handle = dup_or_null(json_string_value(json_object_get(v, "handle")));
	r.name = dup_or_null(json_string_value(json_object_get(v, "displayName")));
	r.description = dup_or_null(json_string_value(json_object_get(v, "description")));
	r.avatar = json_is_string(json_object_get(v, "avatar"));
	r.banner = json_is_string(json_object_get(v, "banner"));
	json_array_foreach(json_object_get(v, "labels"), i, lab) {
		const char *val = json_string_value(json_object_get(lab, "val"));
		const char *src = json_string_value(json_object_get(lab, "src"));
		if (val && strcmp(val, "bot") == 0 && (!src || strcmp(src, did) == 0))
			r.bot = true; /* a self-label (src is the account itself) */
	}
	if (json_is_integer(json_object_get(v, "followersCount")))
		r.followers = json_integer_value(json_object_get(v, "followersCount"));
	if (json_is_integer(json_object_get(v, "followsCount")))
		r.follows = json_integer_value(json_object_get(v, "followsCount"));
	if (json_is_integer(json_object_get(v, "postsCount")))
		r.posts = json_integer_value(json_object_get(v, "postsCount"));
	if ((created = json_string_value(json_object_get(v, "createdAt"))))
		bw_time_parse_iso(created, strlen(created), &r.created_ms);
	if (!r.did)
		return;
	e->res[e->nres++] = r;
	e->st.profiles++;
}

/*
 * GET getProfiles for dids[0..n). 0 on a 200 with a JSON body (profiles
 * added), else the wait the failure asks for in ms (> 0).
 */
static int64_t fetch(struct ingest_enrich *e, CURL *h, char **dids, size_t n, int64_t *backoff)
{
	char url[16384], enc[512];
	size_t len = (size_t)snprintf(url, sizeof(url), "%s/xrpc/app.bsky.actor.getProfiles",
				      e->cfg->bsky_appview);
	struct body b = { 0 };
	int64_t hint = -1;
	long status = 0;
	json_t *root = NULL;

	for (size_t i = 0; i < n && len < sizeof(url); i++)
		if (ingest_stream_pct_encode(dids[i], enc, sizeof(enc)) == 0)
			len += (size_t)snprintf(url + len, sizeof(url) - len, "%sactors=%s",
						i ? "&" : "?", enc);
	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, &hint);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 15000L);
	curl_easy_setopt(h, CURLOPT_USERAGENT, e->ua);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	if (curl_easy_perform(h) == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	if (status == 200 && (root = json_loads(b.b ? b.b : "", 0, NULL)) &&
	    json_is_array(json_object_get(root, "profiles"))) {
		size_t i;
		json_t *v;
		pthread_mutex_lock(&e->mu);
		json_array_foreach(json_object_get(root, "profiles"), i, v)
			take_view(e, v);
		e->st.calls++;
		pthread_mutex_unlock(&e->mu);
		json_decref(root);
		free(b.b);
		*backoff = 0;
		return 0;
	}
	json_decref(root);
	free(b.b);
	pthread_mutex_lock(&e->mu);
	e->st.failures++;
	pthread_mutex_unlock(&e->mu);
	*backoff = *backoff ? *backoff * 2 : 1000;
	if (*backoff > ENRICH_BACKOFF_MAX_MS)
		*backoff = ENRICH_BACKOFF_MAX_MS;
	BW_WARN("AppView getProfiles answered %ld; retrying in %lld ms", status,
		(long long)(hint > *backoff ? hint : *backoff));
	return hint > *backoff ? hint : *backoff;
}

/* Sleep ms unless stopped (returns false then). */
static bool nap(struct ingest_enrich *e, int64_t ms)
{
	int64_t until = bw_time_mono_ms() + ms;

	for (;;) {
		int64_t left = until - bw_time_mono_ms();
		pthread_mutex_lock(&e->mu);
		bool stop = e->stop;
		pthread_mutex_unlock(&e->mu);
		if (stop)
			return false;
		if (left <= 0)
			return true;
		struct timespec ts = { 0, (left > 50 ? 50 : left) * 1000000L };
		nanosleep(&ts, NULL);
	}
}

static void *enrich_main(void *arg)
{
	struct ingest_enrich *e = arg;
	CURL *h = curl_easy_init();
	int64_t gap = 1000 / (e->cfg->bsky_enrich_rate > 0 ? e->cfg->bsky_enrich_rate : 1), backoff = 0;
	char *dids[ENRICH_BATCH];

	while (h) {
		size_t n = 0;
		pthread_mutex_lock(&e->mu);
		while (!e->stop && e->qlen == 0)
			pthread_cond_wait(&e->cv, &e->mu);
		if (e->stop) {
			pthread_mutex_unlock(&e->mu);
			break;
		}
		while (n < ENRICH_BATCH && e->qlen)
			dids[n++] = q_pop(e);
		e->inflight = n;
		pthread_mutex_unlock(&e->mu);
		int64_t wait = fetch(e, h, dids, n, &backoff);
		pthread_mutex_lock(&e->mu);
		for (size_t i = 0; i < n; i++)
			if (!wait || !q_push(e, dids[i])) /* a failed batch goes back */
				free(dids[i]);
		e->inflight = 0;
		pthread_mutex_unlock(&e->mu);
		if (!nap(e, wait ? wait : gap))
			break;
	}
	curl_easy_cleanup(h);
	return NULL;
}

/* ---- public ---------------------------------------------------------------------------- */

struct ingest_enrich *ingest_enrich_new(const struct bw_config *cfg, const char *user_agent,
					char *errstr, size_t errlen)
{
	struct ingest_enrich *e = calloc(1, sizeof(*e));

	if (!e || !(e->seen = calloc(ENRICH_SEEN, sizeof(*e->seen))) ||
	    !(e->q = calloc((size_t)cfg->bsky_enrich_queue, sizeof(*e->q)))) {
		bw_seterr(errstr, errlen, BW_ENOMEM, "out of memory");
		goto out_free;
	}
	e->cfg = cfg;
	snprintf(e->ua, sizeof(e->ua), "%s", user_agent);
	e->qcap = (size_t)cfg->bsky_enrich_queue;
	pthread_mutex_init(&e->mu, NULL);
	pthread_cond_init(&e->cv, NULL);
	if (pthread_create(&e->th, NULL, enrich_main, e) != 0) {
		bw_seterr(errstr, errlen, BW_ENOMEM, "cannot start the enricher thread");
		goto out_free;
	}
	e->started = true;
	return e;
out_free:
	ingest_enrich_free(e);
	return NULL;
}

int ingest_enrich_take(struct ingest_enrich *e,
		       int (*fn)(const struct ingest_bsky_profile *p, void *opaque), void *opaque)
{
	struct enrich_res *res;
	size_t n, i;
	int rc = 0;

	if (!e)
		return 0;
	pthread_mutex_lock(&e->mu);
	res = e->res, n = e->nres;
	e->res = NULL, e->nres = e->capres = 0;
	pthread_mutex_unlock(&e->mu);
	for (i = 0; i < n; i++) {
		struct enrich_res *r = &res[i];
		struct ingest_bsky_profile p = {
			r->did, r->handle, r->name, r->description, r->avatar, r->banner, r->bot,
			r->followers, r->follows, r->posts, r->created_ms,
		};
		if (!rc)
			rc = fn(&p, opaque);
		free(r->did), free(r->handle), free(r->name), free(r->description);
	}
	free(res);
	return rc;
}

bool ingest_enrich_idle(struct ingest_enrich *e, int64_t timeout_ms)
{
	int64_t until = bw_time_mono_ms() + timeout_ms;

	for (;;) {
		pthread_mutex_lock(&e->mu);
		bool idle = !e->qlen && !e->inflight && !e->nres;
		pthread_mutex_unlock(&e->mu);
		if (idle || bw_time_mono_ms() >= until)
			return idle;
		struct timespec ts = { 0, 20 * 1000000L };
		nanosleep(&ts, NULL);
	}
}

void ingest_enrich_stats(struct ingest_enrich *e, struct ingest_enrich_stats *st)
{
	pthread_mutex_lock(&e->mu);
	*st = e->st;
	st->queued = e->qlen;
	pthread_mutex_unlock(&e->mu);
}

void ingest_enrich_free(struct ingest_enrich *e)
{
	if (!e)
		return;
	if (e->started) {
		pthread_mutex_lock(&e->mu);
		e->stop = true;
		pthread_cond_signal(&e->cv);
		pthread_mutex_unlock(&e->mu);
		pthread_join(e->th, NULL);
		pthread_mutex_destroy(&e->mu);
		pthread_cond_destroy(&e->cv);
	}
	while (e->q && e->qlen)
		free(q_pop(e));
	free(e->q);
	for (size_t i = 0; e->seen && i < ENRICH_SEEN; i++)
		free(e->seen[i].did);
	free(e->seen);
	for (size_t i = 0; i < e->nres; i++)
		free(e->res[i].did), free(e->res[i].handle), free(e->res[i].name),
			free(e->res[i].description);
	free(e->res);
	free(e);
}
