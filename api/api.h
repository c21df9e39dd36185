/*
 * api.h — the lookup API: score records over HTTP (docs/API.md).
 *
 * An api_server holds the routes' shared state (the store, the options, the
 * metrics) and, once started, a libmicrohttpd daemon serving them. The
 * routing itself is a plain function, api_handle(), from a request to a
 * response, so tests and the fuzz target drive every route without sockets.
 *
 * Ownership: the server borrows the store (it must outlive the server) and
 * copies the options' strings. Responses own their body or stream and are
 * released with api_response_release(). Thread-safety: api_handle() may run
 * on many threads at once; start/free are not concurrent with anything.
 */
#ifndef BW_API_H
#define BW_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

struct bw_store;

#define API_MAX_ARGS 32 /* query parameters kept per request; more is a 400 */
#define API_REQUEST_TIMEOUT_DEFAULT 10 /* seconds for a whole request to arrive */

struct api_opts {
	const char *listen;     /* "HOST:PORT" (port 0 = any free port) */
	const char *token;      /* bearer token required on every route but /healthz; NULL or "" = open */
	unsigned threads;       /* worker threads (1 = one epoll thread, else a pool) */
	size_t max_body;        /* request body cap in bytes (413 past it) */
	unsigned conn_limit;    /* concurrent connections accepted */
	unsigned timeout_s;     /* idle connection timeout */
	unsigned request_timeout_s; /* whole-request deadline (0 = API_REQUEST_TIMEOUT_DEFAULT) */
	size_t max_batch;       /* most ids + names in one POST /v1/accounts:lookup */
	const char *model_path; /* model for explain and the Botometer routes; NULL/"" = none */
	double cap_prior;       /* prior share of bots for CAP (score.cap_prior) */
};

/* One HTTP request as the router sees it; every pointer is borrowed. */
struct api_request {
	const char *method;                    /* "GET", "POST", ... */
	const char *path;                      /* URL-decoded path, no query */
	size_t n_args;                         /* query parameters */
	const char *arg_keys[API_MAX_ARGS];    /* their names */
	const char *arg_values[API_MAX_ARGS];  /* their values ("" when bare) */
	bool too_many_args;                    /* more than API_MAX_ARGS were sent */
	const char *authorization;             /* Authorization header or NULL */
	const char *content_type;              /* Content-Type header or NULL */
	const char *api_key;                   /* X-RapidAPI-Key header or NULL (Botometer clients) */
	const char *body;                      /* request body (not NUL-terminated) or NULL */
	size_t body_len;                       /* its length */
	bool body_too_large;                   /* the body exceeded max_body (and was discarded) */
};

struct api_stream;

/* A response. Exactly one of body / stream carries the content. */
struct api_response {
	unsigned status;          /* HTTP status */
	const char *content_type; /* static string */
	const char *allow;        /* Allow header for 405 (static) or NULL */
	const char *route;        /* route template for metrics (static), e.g. "/v1/accounts/{id}" */
	char *body;               /* malloc'd body, owned */
	size_t len;               /* body length */
	struct api_stream *stream;/* streamed body (owned) or NULL */
};

struct api_server;

/* New server state over `st` (borrowed); NULL with errstr set. Free with api_server_free(). */
struct api_server *api_server_new(struct bw_store *st, const struct api_opts *opts,
				  char *errstr, size_t errlen);

/* Start listening (opts->listen); 0 or BW_EINVAL (bad address) / BW_EHTTP. */
int api_server_start(struct api_server *srv, char *errstr, size_t errlen);

/* The bound TCP port once started (useful with port 0), else 0. */
uint16_t api_server_port(const struct api_server *srv);

/*
 * Load the model at `path` and swap it in atomically (SIGHUP): requests in
 * flight finish with the old model, later ones get the new one. A model that
 * does not load leaves the old one in place (BW_EINVAL with errstr set).
 * Logs the old and new model ids. Thread-safe against the request threads.
 */
int api_server_reload_model(struct api_server *srv, const char *path, char *errstr,
			    size_t errlen);

/* Stop the daemon (waiting for in-flight requests) and free. Accepts NULL. */
void api_server_free(struct api_server *srv);

/*
 * Route one request. Always fills `resp` (errors become 4xx/5xx JSON
 * bodies); returns 0, or BW_ENOMEM when not even an error body could be
 * built (then resp->status is 500 and resp->body NULL).
 */
int api_handle(struct api_server *srv, const struct api_request *req, struct api_response *resp);

/*
 * Read the next bytes of a streamed response into buf (at most max): the
 * number written (> 0), 0 at the end, or -1 on an error (the stream must
 * then be cut short). Not thread-safe per stream.
 */
ssize_t api_stream_read(struct api_stream *s, char *buf, size_t max);
void api_stream_free(struct api_stream *s);

/* Free what the response owns (body, stream); the struct itself is the caller's. */
void api_response_release(struct api_response *resp);

/*
 * What-if (docs/API.md, POST /v1/whatif; also `botwatch whatif`): the
 * answer to request `body` ({"user_id"} of an account in `st`, or {"user",
 * "timeline"}, plus "overrides" and an optional "threshold") scored with
 * `mdl` at prior `cap_prior`; `max_unit` bounds one decoded post. *out is a
 * new reference. 0, or BW_EINVAL (a bad request: a 400), BW_ENOENT (no such
 * stored account: a 404), BW_ESCHEMA (a stored vector the model cannot read),
 * BW_ENOMEM / BW_ESTORE, with errstr set.
 */
struct clf_model;
int api_whatif(struct bw_store *st, const struct clf_model *mdl, double cap_prior,
	       size_t max_unit, const json_t *body, json_t **out, char *errstr, size_t errlen);
/* ---- The conversation report (api_report.c; docs/REPORT.md) ------------------ */

struct json_t;

struct api_report_opts {
	struct bw_store *store; /* borrowed */
	char kind;              /* STORE_TALLY_HASHTAG / _DOMAIN / _KEYWORD (store.h) */
	int64_t window_s;       /* window width in seconds; 0 = one window over all time */
	double threshold;       /* an account is "above" when its CAP >= this */
	const char *cap;        /* CAP head: "english" or "universal" */
	int64_t from_s, to_s;   /* bucket starts in [from_s, to_s) only; 0 = unbounded */
	size_t top;             /* keys per window, the most posted (0 = all) */
	const char *key;        /* only this key (NULL = every key) */
	/* instead of the store's CAP, the value compared with the threshold
	 * (NAN = unscored), e.g. ground-truth labels as 1 / 0; NULL = the CAP */
	double (*value_of)(void *ctx, const char *account);
	void *value_ctx;        /* passed to value_of */
};

/*
 * Parse the report's query parameters (by, window, threshold, cap, from, to,
 * top, key; format is checked by the caller) into *o (strings borrowed from
 * `get(ctx, name)`, which returns NULL for an absent one). 0, or BW_EINVAL
 * with errstr saying which value is wrong.
 */
int api_report_parse(const char *(*get)(void *ctx, const char *name), void *ctx,
		     struct api_report_opts *o, char *errstr, size_t errlen);

/* Build the report as JSON into *out (a new reference; caller decrefs).
 * 0, or a BW_E* code with errstr set. */
int api_report_build(const struct api_report_opts *o, struct json_t **out, char *errstr,
		     size_t errlen);

/* The report's rows as CSV (header line first): malloc'd, NUL-terminated
 * (caller frees), NULL when out of memory. */
char *api_report_csv(const struct json_t *report);

#endif
