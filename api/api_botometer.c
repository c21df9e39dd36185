/*
 * api_botometer.c — Botometer-compatible routes, scored on the fly with the
 * pipeline's own decoder, feature state and model:
 *
 *   POST /4/check_account                 Botometer v4: {"user", "timeline", "mentions"}
 *   POST /litev1/check_accounts_in_bulk   BotometerLite: [tweet or user object, ...] (<= 100)
 *
 * Each tweet is handed to the decoder as one unit, exactly as an archive line
 * would be, and every decoded record goes through the features stage's
 * replay driver (feat_replay_post): it updates its author's state and the
 * state of each account it retweets, quotes, replies to or mentions — the
 * routing `botwatch replay` and the model's training corpus use — while the
 * author's evidence mask follows clf_avail_update(), as in clf_corpus_build.
 * Bad tweets are counted and reported in the response, never dropped
 * silently. The request's user object is one more profile record; a stub
 * ({id_str, screen_name}, botometer-python's default) never replaces the
 * timeline's fuller snapshot (feat_snapshot), so the answer equals `botwatch
 * replay` of the same units (tests/integration/botometer_real.sh runs the
 * real botometer-python against this). The answer's shape follows the
 * service: every bot-type key a number, majority_lang over the timeline's
 * lang values ("und" included), Lite's user_id a number. See docs/API.md for
 * the field mapping.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_int.h"
#include "bw_err.h"
#include "bw_time.h"
#include "clf.h"
#include "decode.h"
#include "feat.h"
#include "feat_replay.h"

#define BOM_MAX_LANGS 32 /* distinct timeline languages counted for majority_lang */
#define LITE_MAX 100     /* BotometerLite's per-request cap */

/* The bot types of Botometer v4, in its order. */
static const char *const bom_types[] = { "astroturf", "fake_follower", "financial", "other",
					 "self_declared", "spammer" };
#define N_BOM_TYPES (sizeof(bom_types) / sizeof(bom_types[0]))

/* One account being checked. */
struct bom_check {
	const char *user_id;                /* the account (id_str) */
	struct feat_replay *r;              /* routing driver; owns every account's state */
	struct clf_avail_state avail;       /* the checked account's evidence */
	char *screen_name;                  /* latest handle seen (owned) */
	uint64_t posts;                     /* records decoded (any author, embedded included) */
	uint64_t bad;                       /* units dead-lettered by the decoder */
	int err;                            /* first routing / feature-state error */
};

/* Every decoded record, routed as `botwatch replay` routes it. */
static int on_post(const struct bw_post *p, void *opaque)
{
	struct bom_check *c = opaque;
	int rc = feat_replay_post(c->r, p);

	c->posts++;
	if (rc && !c->err)
		c->err = rc;
	return 0;
}

/* A record authored by some account: the checked one's evidence, languages, name. */
static void on_author(const struct feat_account *acc, const struct bw_post *p, void *opaque)
{
	struct bom_check *c = opaque;

	if (strcmp(feat_account_id(acc), c->user_id) != 0)
		return;
	clf_avail_update(&c->avail, p);
	if (p->author.screen_name) {
		free(c->screen_name);
		c->screen_name = strdup(p->author.screen_name);
	}
}

/* The checked account's state, or NULL when nothing named it. */
static const struct feat_account *checked_account(const struct bom_check *c)
{
	for (size_t i = 0; i < feat_replay_count(c->r); i++) {
		const struct feat_account *a = feat_replay_account(c->r, i);
		if (strcmp(feat_account_id(a), c->user_id) == 0)
			return a;
	}
	return NULL;
}

static void on_dlq(const struct bw_dlq_rec *rec, void *opaque)
{
	(void)rec;
	((struct bom_check *)opaque)->bad++;
}

/* New check of `user_id` with its own decoder; NULL on allocation failure. */
static struct bw_decoder *check_begin(size_t max_unit, struct bom_check *c,
				      const char *user_id)
{
	struct bw_decode_opts o = { .max_unit_bytes = max_unit, .max_depth = 64,
				    .probe_time_ms = BW_TIME_NONE, .on_post = on_post,
				    .on_dlq = on_dlq, .opaque = c };
	struct feat_replay_opts ro = { .probe_time_ms = BW_TIME_NONE, .on_author = on_author,
				       .author_opaque = c };
	char err[256];

	memset(c, 0, sizeof(*c));
	c->user_id = user_id;
	if (!(c->r = feat_replay_new(&ro, err, sizeof(err))))
		return NULL;
	return ingest_decoder_new(&o, err, sizeof(err));
}

static void check_end(struct bom_check *c, struct bw_decoder *dec)
{
	ingest_decoder_free(dec);
	feat_replay_free(c->r);
	free(c->screen_name);
}

/* Decode one JSON value as one input unit (as one archive line would be). */
static void decode_value(struct bw_decoder *dec, struct bom_check *c, const json_t *v,
			 uint64_t line)
{
	char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);

	if (!text) {
		c->bad++;
		return;
	}
	ingest_decode_unit(dec, text, strlen(text), "request", line);
	free(text);
}

/* A profile-only unit {"created_at": now, "user": user}: probe time is now,
 * as the Botometer clients do for accounts given without tweets. */
static void decode_profile_now(struct bw_decoder *dec, struct bom_check *c, json_t *user,
			       int64_t now_ms)
{
	char now[40];
	json_t *u = json_pack("{s:s, s:O}", "created_at",
			      bw_time_format(now_ms, now, sizeof(now)), "user", user);

	if (!u) {
		c->bad++;
		return;
	}
	decode_value(dec, c, u, 0);
	json_decref(u);
}

/* The checked account's feature vector into x[0..feat_count()); 0 or a BW_E* code. */
static int check_extract(struct bom_check *c, struct bw_decoder *dec, double *x)
{
	const struct feat_account *acc;

	ingest_decoder_finish(dec);
	if (c->err)
		return c->err;
	if (!(acc = checked_account(c)))
		return BW_ENOENT;
	return feat_account_extract(acc, BW_TIME_NONE, x);
}

/* Score the checked account; 0 or a BW_E* code. */
static int check_score(struct api_server *srv, struct bom_check *c, struct bw_decoder *dec,
		       struct clf_score *sc)
{
	double *x;
	int rc;

	if (!(x = malloc(feat_count() * sizeof(double))))
		return BW_ENOMEM;
	if (!(rc = check_extract(c, dec, x)))
		clf_score(srv->model->mdl, x, clf_avail_mask(&c->avail), srv->opts.cap_prior, sc);
	free(x);
	return rc;
}

/* Whether model type `name` answers Botometer key `bom`: the same name or
 * its plural (fake_followers → fake_follower). */
static bool type_matches(const char *name, const char *bom)
{
	size_t n = strlen(bom);

	return strncmp(name, bom, n) == 0 && (!name[n] || (name[n] == 's' && !name[n + 1]));
}

/* Whether model type `name` answers any Botometer key but "other". */
static bool type_named(const char *name)
{
	for (size_t i = 0; i < N_BOM_TYPES; i++)
		if (strcmp(bom_types[i], "other") != 0 && type_matches(name, bom_types[i]))
			return true;
	return false;
}

/* The model's raw score for Botometer bot type `bom`, or NaN when the model
 * has no head for it (see type_score):
 *   - a key takes the head of the same name, else of its plural (the exact
 *     name wins when a model has both);
 *   - "other" (Botometer's catch-all, "miscellaneous other bots") takes the
 *     highest raw score among the heads that answer no other key, when the
 *     model has no head named "other". */
static double type_head(const struct clf_model *mdl, const struct clf_score *sc, const char *bom)
{
	size_t types = sc->n_types < clf_model_n_types(mdl) ? sc->n_types : clf_model_n_types(mdl);
	double v = NAN;

	for (int plural = 0; plural < 2; plural++)
		for (size_t t = 0; t < types; t++) {
			const char *name = clf_model_type_name(mdl, t);
			if (plural ? type_matches(name, bom) : strcmp(name, bom) == 0)
				return sc->raw[t];
		}
	if (strcmp(bom, "other") != 0)
		return NAN;
	for (size_t t = 0; t < types; t++)
		if (!type_named(clf_model_type_name(mdl, t)) && isfinite(sc->raw[t]) &&
		    !(sc->raw[t] <= v))
			v = sc->raw[t];
	return v;
}

/* The Botometer key's score: type_head(), or 0 when the model has no head for
 * the type (e.g. `financial`: no cashtag-bot training data). A number, never
 * null, so that clients taking max() over a score set work; the keys scored
 * so are listed in the answer's botwatch.types_not_modelled. */
static double type_score(const struct clf_model *mdl, const struct clf_score *sc,
			 const char *bom)
{
	double v = type_head(mdl, sc, bom);

	return isfinite(v) ? v : 0.0;
}

/* ["financial", ...]: the Botometer keys the model has no head for. */
static json_t *types_not_modelled(const struct clf_model *mdl, const struct clf_score *sc)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < N_BOM_TYPES; i++)
		if (!isfinite(type_head(mdl, sc, bom_types[i])))
			json_array_append_new(a, json_string(bom_types[i]));
	return a;
}

static json_t *num(double v)
{
	return isfinite(v) ? json_real(v) : json_null();
}

/* {"overall": o, <type>: ...} raw (scale 1) or display (scale 5, one decimal). */
static json_t *score_set(const struct clf_model *mdl, const struct clf_score *sc,
			 double overall, double scale)
{
	json_t *o = json_object();

	for (size_t i = 0; i <= N_BOM_TYPES; i++) {
		const char *name = i < N_BOM_TYPES ? bom_types[i] : "overall";
		double v = i < N_BOM_TYPES ? type_score(mdl, sc, name) : overall;
		if (scale != 1 && isfinite(v))
			v = round(v * scale * 10) / 10;
		json_object_set_new(o, name, num(v));
	}
	return o;
}

/* Botometer's majority_lang: the most frequent `lang` value among the
 * timeline's tweets as sent, "und" (undetermined) counted like any other
 * value; on a tie the value met first (the newest tweet's side, as the
 * timeline comes newest first). "und" when no tweet has a language. Borrowed
 * from `tl`. */
static const char *majority_lang(const json_t *tl)
{
	const char *langs[BOM_MAX_LANGS];
	unsigned n[BOM_MAX_LANGS] = { 0 };
	size_t n_langs = 0, i, best = 0, k;
	const json_t *tw;

	json_array_foreach(tl, i, tw) {
		const char *l = json_string_value(json_object_get(tw, "lang"));
		if (!l || !*l)
			continue;
		for (k = 0; k < n_langs && strcmp(langs[k], l) != 0; k++)
			;
		if (k == n_langs) {
			if (k == BOM_MAX_LANGS)
				continue;
			langs[n_langs++] = l;
		}
		n[k]++;
	}
	if (!n_langs)
		return "und";
	for (k = 1; k < n_langs; k++)
		if (n[k] > n[best])
			best = k;
	return langs[best];
}

static json_t *native_raw(const struct clf_model *mdl, const struct clf_score *sc)
{
	json_t *o = json_object();
	for (size_t t = 0; t < sc->n_types && t < clf_model_n_types(mdl); t++)
		json_object_set_new(o, clf_model_type_name(mdl, t), num(sc->raw[t]));
	return o;
}

/* The Botometer v4 response, plus a "botwatch" object with what it adds.
 * user.user_data is the request's user object as sent (Botometer returns it
 * "untouched": the stub or the full object); botwatch.screen_name is the
 * latest handle the records carried. */
static json_t *v4_response(struct api_server *srv, const struct bom_check *c,
			   const struct clf_score *sc, json_t *user, const json_t *tl)
{
	const struct clf_model *mdl = srv->model->mdl;
	const char *sn = c->screen_name ? c->screen_name
					: json_string_value(json_object_get(user, "screen_name"));

	return json_pack(
		"{s:{s:o, s:o}, s:{s:o, s:o}, s:{s:o, s:o},"
		" s:{s:s, s:O},"
		" s:{s:s, s:s, s:s?, s:o, s:o, s:I, s:I, s:I}}",
		"cap", "english", num(sc->cap_english), "universal", num(sc->cap_universal),
		"display_scores", "english", score_set(mdl, sc, sc->english, 5), "universal",
		score_set(mdl, sc, sc->universal, 5),
		"raw_scores", "english", score_set(mdl, sc, sc->english, 1), "universal",
		score_set(mdl, sc, sc->universal, 1),
		"user", "majority_lang", majority_lang(tl), "user_data", user,
		"botwatch", "status", clf_status_name(sc->status), "model_version", clf_model_id(mdl),
		"screen_name", sn, "raw_scores", native_raw(mdl, sc), "types_not_modelled",
		types_not_modelled(mdl, sc), "posts_seen",
		(json_int_t)feat_account_posts(checked_account(c)), "records_decoded",
		(json_int_t)c->posts,
		"units_rejected", (json_int_t)c->bad);
}

/* id_str (or a non-negative integer id) of a user object into buf; NULL if absent. */
static const char *user_id_of(const json_t *user, char *buf, size_t len)
{
	const json_t *v = json_object_get(user, "id_str");

	if (json_is_string(v) && api_valid_id(json_string_value(v)))
		return json_string_value(v);
	v = json_object_get(user, "id");
	if (json_is_integer(v) && json_integer_value(v) >= 0) {
		snprintf(buf, len, "%lld", (long long)json_integer_value(v));
		return buf;
	}
	if (json_is_string(v) && api_valid_id(json_string_value(v)))
		return json_string_value(v);
	return NULL;
}

/* Body of POST /4/check_account: {"user": {...}, "timeline": [...], "mentions": [...]}. */
static int parse_check(const struct api_request *req, json_t **doc, struct api_response *resp)
{
	json_error_t jerr;
	json_t *tl, *mn;

	*doc = NULL;
	if (!req->body || !req->body_len)
		return api_error(resp, 400, "empty body: expected {\"user\", \"timeline\", \"mentions\"}");
	if (!(*doc = json_loadb(req->body, req->body_len, 0, &jerr)))
		return api_error(resp, 400, "invalid JSON at line %d column %d: %s", jerr.line,
				 jerr.column, jerr.text);
	tl = json_object_get(*doc, "timeline");
	mn = json_object_get(*doc, "mentions");
	if (!json_is_object(json_object_get(*doc, "user")) || (tl && !json_is_array(tl)) ||
	    (mn && !json_is_array(mn))) {
		json_decref(*doc);
		*doc = NULL;
		return api_error(resp, 400, "expected {\"user\": {...}, \"timeline\": [...], \"mentions\": [...]}");
	}
	return 0;
}

int api_route_bom_check(struct api_server *srv, const struct api_request *req,
			struct api_response *resp)
{
	struct bom_check c;
	struct bw_decoder *dec;
	struct clf_score sc;
	json_t *doc, *user, *v;
	char idbuf[32];
	const char *id;
	size_t i;
	int rc = parse_check(req, &doc, resp);

	if (!doc)
		return rc;
	user = json_object_get(doc, "user");
	if (!(id = user_id_of(user, idbuf, sizeof(idbuf)))) {
		json_decref(doc);
		return api_error(resp, 400, "user.id_str missing or not an account id");
	}
	if (!srv->model) {
		json_decref(doc);
		return api_error(resp, 503, "no model loaded (score.model)");
	}
	if (!(dec = check_begin(srv->opts.max_body, &c, id))) {
		check_end(&c, NULL);
		json_decref(doc);
		return api_error(resp, 500, "out of memory");
	}
	json_t *tl = json_object_get(doc, "timeline");
	if (json_array_size(tl) == 0) {
		decode_profile_now(dec, &c, user, bw_time_now_ms());
	} else { /* profile record; its probe time is the latest post's */
		json_t *u = json_pack("{s:O}", "user", user);
		if (u)
			decode_value(dec, &c, u, 0);
		else
			c.bad++;
		json_decref(u);
	}
	json_array_foreach(tl, i, v)
		decode_value(dec, &c, v, i + 1);
	json_array_foreach(json_object_get(doc, "mentions"), i, v)
		decode_value(dec, &c, v, json_array_size(tl) + i + 1);
	if ((rc = check_score(srv, &c, dec, &sc))) {
		check_end(&c, dec);
		json_decref(doc);
		if (rc == BW_ENOENT)
			return api_error(resp, 400, "no decodable record of account %s in the request", id);
		return api_error(resp, 500, "feature extraction failed: %s", bw_strerror(rc));
	}
	json_t *out = v4_response(srv, &c, &sc, user, tl);
	check_end(&c, dec);
	json_decref(doc);
	return out ? api_json_response(resp, 200, out) : api_error(resp, 500, "out of memory");
}

/* BotometerLite's user_id: a JSON number, as the service answers (its
 * tweet_id is a string); an id that is not a decimal int64 stays a string. */
static json_t *lite_user_id(const char *id)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(id, &end, 10);
	if (errno || end == id || *end || v < 0)
		return json_string(id);
	return json_integer((json_int_t)v);
}

/* One BotometerLite input: a tweet (scored from its user object at the
 * tweet's created_at) or a bare user object (scored at the present time). */
static json_t *lite_one(struct api_server *srv, json_t *el)
{
	json_t *user = json_object_get(el, "user"), *tid = json_object_get(el, "id_str");
	bool tweet = json_is_object(user);
	struct bom_check c;
	struct bw_decoder *dec;
	struct clf_score sc;
	char idbuf[32];
	const char *id = json_is_object(el) ? user_id_of(tweet ? user : el, idbuf, sizeof(idbuf)) : NULL;
	json_t *tweet_id = tweet && json_is_string(tid) ? json_incref(tid) : json_null();
	int rc;

	if (!id)
		return json_pack("{s:n, s:o, s:n, s:s}", "botscore", "tweet_id", tweet_id, "user_id",
				 "error", "no user id (id_str) in this input");
	if (!(dec = check_begin(srv->opts.max_body, &c, id))) {
		check_end(&c, NULL);
		json_decref(tweet_id);
		return NULL;
	}
	if (tweet && json_is_string(json_object_get(el, "created_at")))
		decode_value(dec, &c, el, 1);
	else
		decode_profile_now(dec, &c, tweet ? user : el, bw_time_now_ms());
	rc = check_score(srv, &c, dec, &sc);
	json_t *out = rc ? json_pack("{s:n, s:o, s:o, s:s}", "botscore", "tweet_id", tweet_id,
				     "user_id", lite_user_id(id), "error", rc == BW_ENOENT ? "no decodable record of this account"
								 : bw_strerror(rc))
			 : json_pack("{s:o, s:o, s:o}", "botscore", num(sc.english), "tweet_id",
				     tweet_id, "user_id", lite_user_id(id));
	check_end(&c, dec);
	return out;
}

int api_route_bom_lite(struct api_server *srv, const struct api_request *req,
		       struct api_response *resp)
{
	json_error_t jerr;
	json_t *doc, *out, *el;
	size_t i;

	if (!req->body || !req->body_len)
		return api_error(resp, 400, "empty body: expected a JSON array of tweets or user objects");
	if (!(doc = json_loadb(req->body, req->body_len, 0, &jerr)))
		return api_error(resp, 400, "invalid JSON at line %d column %d: %s", jerr.line,
				 jerr.column, jerr.text);
	if (!json_is_array(doc) || json_array_size(doc) > LITE_MAX) {
		json_decref(doc);
		return api_error(resp, 400, "expected a JSON array of at most %d tweets or user objects",
				 LITE_MAX);
	}
	if (!srv->model) {
		json_decref(doc);
		return api_error(resp, 503, "no model loaded (score.model)");
	}
	out = json_array();
	json_array_foreach(doc, i, el) {
		json_t *one = lite_one(srv, el);
		if (!one || json_array_append_new(out, one)) {
			json_decref(out);
			json_decref(doc);
			return api_error(resp, 500, "out of memory");
		}
	}
	json_decref(doc);
	return api_json_response(resp, 200, out);
}

int api_account_features(size_t max_unit, const json_t *user, const json_t *timeline,
			 int64_t now_ms, double *x, uint32_t *avail, char *errstr, size_t errlen)
{
	struct bom_check c;
	struct bw_decoder *dec;
	char idbuf[32];
	const char *id = user_id_of(user, idbuf, sizeof(idbuf));
	json_t *v;
	size_t i;
	int rc;

	if (!id)
		return bw_seterr(errstr, errlen, BW_EINVAL, "user.id_str missing or not an account id");
	if (!(dec = check_begin(max_unit, &c, id))) {
		check_end(&c, NULL);
		return bw_seterr(errstr, errlen, BW_ENOMEM, "out of memory");
	}
	if (json_array_size(timeline) == 0) {
		decode_profile_now(dec, &c, (json_t *)user, now_ms);
	} else { /* as POST /4/check_account: the profile, then the posts */
		json_t *u = json_pack("{s:O}", "user", (json_t *)user);
		if (u)
			decode_value(dec, &c, u, 0);
		json_decref(u);
	}
	json_array_foreach(timeline, i, v)
		decode_value(dec, &c, v, i + 1);
	rc = check_extract(&c, dec, x);
	*avail = clf_avail_mask(&c.avail);
	check_end(&c, dec);
	if (rc == BW_ENOENT)
		return bw_seterr(errstr, errlen, BW_EINVAL, "no decodable record of account %s", id);
	return rc ? bw_seterr(errstr, errlen, rc, "feature extraction failed: %s", bw_strerror(rc)) : 0;
}
