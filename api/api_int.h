/*
 * api_int.h — private to api/: the server state and the helpers the route
 * files share. Not part of the public interface (api.h).
 */
#ifndef BW_API_INT_H
#define BW_API_INT_H

#include <jansson.h>
#include <pthread.h>
#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api.h"

struct api_guard;
struct bw_metric;
struct clf_model;
struct clf_explanation;

/* The loaded model (api_model.c). */
struct api_model {
	struct clf_model *mdl; /* scorer */
	char *path;            /* file it came from */
	size_t n;              /* features per vector (registry width) */
	json_t *info;          /* the /v1/models entry */
};

/* Load `path` (checked against the running feature registry); NULL with errstr. */
struct api_model *api_model_load(const char *path, char *errstr, size_t errlen);
void api_model_free(struct api_model *m);

#define API_MAX_NAME 64  /* longest screen name accepted */
#define API_DECISION_THRESHOLD 0.5 /* english score from which a decision reads "bot" */

struct api_server {
	struct bw_store *store;         /* borrowed score store */
	struct api_model *model;        /* loaded model or NULL (owned); read under model_lock */
	pthread_rwlock_t model_lock;    /* held for reading around each request's handling,
					   for writing by api_server_reload_model() to swap model */
	struct api_opts opts;           /* options; strings point into the copies below */
	char *listen;                   /* copy of opts.listen */
	bool has_token;                 /* a bearer token is required */
	unsigned char token_hash[32];   /* SHA-256 of the token (compared in constant time) */
	struct MHD_Daemon *daemon;      /* running daemon or NULL */
	struct api_guard *guard;        /* request deadline and eviction (owned) */
	struct bw_metric *m_requests;   /* botwatch_api_requests_total{route,status} */
	struct bw_metric *m_latency;    /* botwatch_api_request_duration_seconds{route,status} */
	struct bw_metric *m_lookups;    /* botwatch_api_lookups_total{result} */
	struct bw_metric *m_accounts;   /* botwatch_store_accounts */
};

/*
 * The connection guard (api_guard.c): a whole-request deadline and eviction of
 * the longest-waiting connection at the connection limit. api_guard_new() takes
 * the worker thread count, api.connection_limit and the deadline in seconds (0 =
 * the default); NULL when out of memory. api_guard_start() starts the deadline
 * sweeper (0 or -1). api_guard_notify() is libmicrohttpd's
 * MHD_OPTION_NOTIFY_CONNECTION callback (cls = the guard). A request is
 * received (headers and body) when it is dispatched, and done when libmicrohttpd
 * reports it complete; between done and the next received the connection waits
 * again. api_guard_free() accepts NULL; call it after the daemon has stopped.
 */
struct api_guard *api_guard_new(unsigned threads, unsigned conn_limit, unsigned deadline_s);
int api_guard_start(struct api_guard *g);
void api_guard_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
		      enum MHD_ConnectionNotificationCode code);
void api_guard_free(struct api_guard *g);
/* The libmicrohttpd connection limit that gives each worker one spare slot. */
unsigned api_guard_mhd_limit(const struct api_guard *g);
void api_guard_request_received(struct api_guard *g, struct MHD_Connection *conn);
void api_guard_request_done(struct api_guard *g, struct MHD_Connection *conn);

/* A growable byte buffer for response bodies (capped at `cap` bytes). */
struct api_buf {
	char *data;  /* malloc'd bytes */
	size_t len;  /* used */
	size_t size; /* allocated */
	bool failed; /* an append failed (allocation); the content is incomplete */
};

bool api_buf_append(struct api_buf *b, const char *s, size_t n);
bool api_buf_puts(struct api_buf *b, const char *s);
/* Append a compact JSON dump of `v` (any JSON value). */
bool api_buf_json(struct api_buf *b, const json_t *v);

/* Fill resp with a JSON body: takes the reference to `v`. */
int api_json_response(struct api_response *resp, unsigned status, json_t *v);
/* {"status":"error","error":msg} with `status`. */
int api_error(struct api_response *resp, unsigned status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Take ownership of b->data as the body (application/json). */
int api_buf_response(struct api_response *resp, unsigned status, struct api_buf *b);

/* True when s[0..n) is UTF-8 without NUL bytes. */
bool api_utf8_valid(const char *s, size_t n);
/* An account id as bw_account_id_valid() (post.h) defines it: decimal digits
 * without a leading zero (at most 20, within 64 bits), or a DID. */
bool api_valid_id(const char *s);
/* A screen name: 1..API_MAX_NAME of [A-Za-z0-9_.@-] (a leading '@' is stripped first). */
bool api_valid_name(const char *s);
/* Shortest decimal text that reads back as `v` into buf (>= 32 bytes). */
void api_fmt_double(char *buf, size_t len, double v);

/* The value of query parameter `key`, or NULL. */
const char *api_arg(const struct api_request *req, const char *key);
/* 0 when every query parameter is one of known[0..n); else a 400 naming the
 * stranger is written to resp and 1 returned (a typo must not silently change
 * what a route answers). */
int api_check_args(const struct api_request *req, const char *const *known, size_t n,
		   struct api_response *resp);

/*
 * The feature vector (x, feat_count() doubles) and evidence mask of the
 * account `user` with its posts `timeline` (an array or NULL), decoded and
 * folded exactly as POST /4/check_account does (api_botometer.c); a profile
 * without posts is probed at `now_ms`. 0, or BW_EINVAL (no decodable record
 * of the account) / BW_ENOMEM / a feature-state error, with errstr set.
 */
int api_account_features(size_t max_unit, const json_t *user, const json_t *timeline,
			 int64_t now_ms, double *x, uint32_t *avail, char *errstr, size_t errlen);

/* CLF_AVAIL_* bits from a score record's "evidence" array (api_explain.c). */
uint32_t api_evidence_mask(const json_t *rec);

/* The rule-style reason of the english decision at `threshold` for x / avail,
 * explained by `e` (api_whatif.c); NULL on allocation failure. */
json_t *api_reason_json(const struct clf_model *mdl, const double *x, uint32_t avail,
			double cap_prior, double threshold, const struct clf_explanation *e);

/* GET /v1/drift (api_drift.c). */
int api_route_drift(struct api_server *srv, struct api_response *resp);

/* Route handlers (api_routes.c, api_export.c, api_audit.c, api_whatif.c). */
int api_route_models(struct api_server *srv, struct api_response *resp);
int api_route_history(struct api_server *srv, const char *id, const struct api_request *req,
		      struct api_response *resp);
int api_route_audit(struct api_server *srv, const char *id, const struct api_request *req,
		    struct api_response *resp);
int api_route_whatif(struct api_server *srv, const struct api_request *req,
		     struct api_response *resp);
int api_route_account(struct api_server *srv, const char *id, struct api_response *resp);
int api_route_by_name(struct api_server *srv, const char *name, struct api_response *resp);
int api_route_lookup(struct api_server *srv, const struct api_request *req,
		     struct api_response *resp);
int api_route_export(struct api_server *srv, const struct api_request *req,
		     struct api_response *resp);
int api_route_explain(struct api_server *srv, const char *id, const struct api_request *req,
		      struct api_response *resp);
int api_route_bom_check(struct api_server *srv, const struct api_request *req,
			struct api_response *resp);
int api_route_report(struct api_server *srv, const struct api_request *req,
		     struct api_response *resp);
int api_route_summary(struct api_server *srv, const struct api_request *req,
		      struct api_response *resp);
int api_route_dash(struct api_server *srv, const struct api_request *req,
		   struct api_response *resp);
int api_route_bom_lite(struct api_server *srv, const struct api_request *req,
		       struct api_response *resp);

#endif
