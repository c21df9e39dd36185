/*
 * api_server.c — the libmicrohttpd daemon around api_handle(): server
 * state, listening, request bodies, responses and per-request metrics.
 *
 * Access-handler protocol (two calls at least): the first call only sets up
 * the request context — queueing a response there makes libmicrohttpd send
 * `Connection: close` — except for a declared body over the cap, which is
 * refused at once with 413 (closing is then what we want). Body chunks
 * accumulate up to api.max_body_bytes; the final call routes and queues.
 * Latency is observed when the request completes (after streaming).
 */
#define _GNU_SOURCE /* pthread_rwlockattr_setkind_np: a reload is not starved by readers */
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <openssl/sha.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "api_int.h"
#include "bw_err.h"
#include "bw_log.h"
#include "clf.h"
#include "bw_metrics.h"

#define STREAM_BLOCK (32 * 1024) /* bytes per streamed read */

static const char oom_body[] = "{\"status\":\"error\",\"error\":\"out of memory\"}";

/* Per-request state, from the first access-handler call to completion. */
struct req_ctx {
	struct timespec t0;  /* first call (monotonic) */
	struct api_buf body; /* request body so far */
	bool too_large;      /* body over the cap: discarded, answer 413 */
	const char *route;   /* route label once a response is queued */
	unsigned status;     /* status of the queued response */
};

/* Query parameters collected for api_request. */
static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind, const char *key,
				   const char *value)
{
	struct api_request *req = cls;

	(void)kind;
	if (req->n_args == API_MAX_ARGS) {
		req->too_many_args = true;
		return MHD_NO;
	}
	req->arg_keys[req->n_args] = key;
	req->arg_values[req->n_args++] = value ? value : "";
	return MHD_YES;
}

static ssize_t stream_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
	ssize_t n = api_stream_read(cls, buf, max);

	(void)pos;
	if (n == 0)
		return MHD_CONTENT_READER_END_OF_STREAM;
	return n < 0 ? MHD_CONTENT_READER_END_WITH_ERROR : n;
}

static void stream_free(void *cls)
{
	api_stream_free(cls);
}

/* Turn an api_response into a queued MHD response; takes what it owns. */
static enum MHD_Result send_response(struct MHD_Connection *conn, struct api_response *r)
{
	struct MHD_Response *mr;
	enum MHD_Result ret;
	const char *ct = r->content_type ? r->content_type : "application/json";

	if (r->stream) {
		mr = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, STREAM_BLOCK, stream_reader,
						       r->stream, stream_free);
		if (mr)
			r->stream = NULL;
	} else if (r->body) {
		mr = MHD_create_response_from_buffer(r->len, r->body, MHD_RESPMEM_MUST_FREE);
		if (mr)
			r->body = NULL;
	} else {
		r->status = 500;
		ct = "application/json";
		mr = MHD_create_response_from_buffer(sizeof(oom_body) - 1, (void *)oom_body,
						     MHD_RESPMEM_PERSISTENT);
	}
	api_response_release(r);
	if (!mr)
		return MHD_NO;
	MHD_add_response_header(mr, MHD_HTTP_HEADER_CONTENT_TYPE, ct);
	if (r->allow)
		MHD_add_response_header(mr, MHD_HTTP_HEADER_ALLOW, r->allow);
	if (r->status == 401)
		MHD_add_response_header(mr, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
					"Bearer realm=\"botwatch\"");
	ret = MHD_queue_response(conn, r->status, mr);
	MHD_destroy_response(mr);
	return ret;
}

/* Build the api_request for this connection and route it. */
static enum MHD_Result dispatch(struct api_server *srv, struct MHD_Connection *conn,
				struct req_ctx *ctx, const char *url, const char *method)
{
	struct api_request req = {
		.method = method,
		.path = url,
		.body = ctx->body.data,
		.body_len = ctx->body.len,
		.body_too_large = ctx->too_large,
	};
	struct api_response resp;

	api_guard_request_received(srv->guard, conn);
	MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, collect_arg, &req);
	if (srv->has_token) {
		req.authorization = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
								 MHD_HTTP_HEADER_AUTHORIZATION);
		req.api_key = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-RapidAPI-Key");
	}
	req.content_type = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
							MHD_HTTP_HEADER_CONTENT_TYPE);
	pthread_rwlock_rdlock(&srv->model_lock);
	api_handle(srv, &req, &resp);
	pthread_rwlock_unlock(&srv->model_lock);
	ctx->route = resp.route;
	ctx->status = resp.status;
	return send_response(conn, &resp);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version,
				  const char *upload_data, size_t *upload_size, void **con_cls)
{
	struct api_server *srv = cls;
	struct req_ctx *ctx = *con_cls;

	(void)version;
	if (!ctx) {
		const char *cl;
		if (!(ctx = calloc(1, sizeof(*ctx))))
			return MHD_NO;
		clock_gettime(CLOCK_MONOTONIC, &ctx->t0);
		*con_cls = ctx;
		cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
						 MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl && strtoull(cl, NULL, 10) > srv->opts.max_body) {
			ctx->too_large = true;
			return dispatch(srv, conn, ctx, url, method);
		}
		return MHD_YES;
	}
	if (*upload_size) {
		/* (the body still counts against the request deadline) */
		if (!ctx->too_large && ctx->body.len + *upload_size <= srv->opts.max_body) {
			if (!api_buf_append(&ctx->body, upload_data, *upload_size))
				return MHD_NO;
		} else {
			ctx->too_large = true;
			free(ctx->body.data);
			ctx->body = (struct api_buf){ 0 };
		}
		*upload_size = 0;
		return MHD_YES;
	}
	if (ctx->route)
		return MHD_YES; /* already answered (early 413) */
	return dispatch(srv, conn, ctx, url, method);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct api_server *srv = cls;
	struct req_ctx *ctx = *con_cls;
	struct timespec t1;
	char status[16];

	(void)toe;
	if (!ctx)
		return;
	api_guard_request_done(srv->guard, conn);
	if (ctx->route) {
		clock_gettime(CLOCK_MONOTONIC, &t1);
		double secs = (double)(t1.tv_sec - ctx->t0.tv_sec) +
			      (double)(t1.tv_nsec - ctx->t0.tv_nsec) / 1e9;
		snprintf(status, sizeof(status), "%u", ctx->status);
		const char *labels[] = { ctx->route, status };
		bw_counter_add(srv->m_requests, labels, 1);
		bw_histogram_observe(srv->m_latency, labels, secs);
	}
	free(ctx->body.data);
	free(ctx);
	*con_cls = NULL;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Percent-decode the path and each query key and value in place (libmicrohttpd's
 * MHD_OPTION_UNESCAPE_CALLBACK); returns the new length. "%00" is left as the
 * three characters "%00" — decoded, the NUL would end the C string and cut the
 * value short (`/v1/accounts/1%00junk` read as account 1) — and api_handle()
 * refuses any path or parameter containing it with a 400.
 */
static size_t unescape(void *cls, struct MHD_Connection *conn, char *s)
{
	char *w = s;
	const char *r = s;

	(void)cls;
	(void)conn;
	while (*r) {
		int hi, lo;
		if (r[0] == '%' && (hi = hex_digit(r[1])) >= 0 && (lo = hex_digit(r[2])) >= 0 &&
		    (hi || lo)) {
			*w++ = (char)(hi * 16 + lo);
			r += 3;
		} else {
			*w++ = *r++;
		}
	}
	*w = '\0';
	return (size_t)(w - s);
}

/* libmicrohttpd's messages into our log; `fmt` is libmicrohttpd's own format. */
__attribute__((format(printf, 2, 0)))
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	size_t n;

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	/* a client that goes away (or that the guard drops) is routine and, under
	 * a flood, one line per connection: debug only (the guard counts drops) */
	if (strstr(msg, "closed") || strstr(msg, "closure"))
		BW_DEBUG("http: %s", msg);
	else
		BW_WARN("http: %s", msg);
}

/* ---------------------------------------------------------------------------- */

/* True when nothing exists at `path` (a missing model is allowed; a broken one is not). */
static bool model_missing(const char *path)
{
	return access(path, F_OK) != 0 && errno == ENOENT;
}

struct api_server *api_server_new(struct bw_store *st, const struct api_opts *opts,
				  char *errstr, size_t errlen)
{
	static const double bounds[] = { 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
					 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10 };
	struct api_server *srv = calloc(1, sizeof(*srv));

	if (!srv) {
		bw_seterr(errstr, errlen, BW_ENOMEM, "out of memory");
		return NULL;
	}
	pthread_rwlockattr_t la;
	pthread_rwlockattr_init(&la);
	pthread_rwlockattr_setkind_np(&la, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&srv->model_lock, &la);
	pthread_rwlockattr_destroy(&la);
	srv->store = st;
	srv->opts = *opts;
	if (!(srv->listen = strdup(opts->listen ? opts->listen : "127.0.0.1:8080"))) {
		free(srv);
		bw_seterr(errstr, errlen, BW_ENOMEM, "out of memory");
		return NULL;
	}
	srv->opts.listen = srv->listen;
	srv->opts.token = NULL;      /* only its hash is kept */
	srv->opts.model_path = NULL; /* the model keeps its own copy */
	if (opts->token && *opts->token) {
		srv->has_token = true;
		SHA256((const unsigned char *)opts->token, strlen(opts->token), srv->token_hash);
	}
	if (opts->model_path && *opts->model_path) {
		char merr[512];
		srv->model = api_model_load(opts->model_path, merr, sizeof(merr));
		if (!srv->model && !model_missing(opts->model_path)) {
			bw_seterr(errstr, errlen, BW_EINVAL, "model: %s", merr);
			api_server_free(srv);
			return NULL;
		}
		if (!srv->model)
			BW_WARN("no model at %s: explain and the Botometer routes answer 503",
				opts->model_path);
	}
	if (!(srv->guard = api_guard_new(opts->threads, opts->conn_limit,
					 opts->request_timeout_s))) {
		api_server_free(srv);
		bw_seterr(errstr, errlen, BW_ENOMEM, "out of memory");
		return NULL;
	}
	srv->m_requests = bw_counter("botwatch_api_requests_total",
				     "API requests answered, by route template and HTTP status.",
				     "route,status");
	srv->m_latency = bw_histogram("botwatch_api_request_duration_seconds",
				      "API request latency from first byte to last byte sent.",
				      "route,status", bounds, sizeof(bounds) / sizeof(bounds[0]));
	srv->m_lookups = bw_counter("botwatch_api_lookups_total",
				    "Accounts looked up (single and batch), by result.", "result");
	srv->m_accounts = bw_gauge("botwatch_store_accounts",
				   "Score records in the store (updated on each scrape).", NULL);
	return srv;
}

/* Resolve "HOST:PORT" / "[v6]:PORT" into a socket address. */
static int parse_listen(const char *listen, struct sockaddr_storage *ss, char *errstr,
			size_t errlen)
{
	char host[256];
	const char *colon = strrchr(listen, ':');
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_NUMERICSERV | AI_PASSIVE };
	struct addrinfo *ai = NULL;
	size_t hl;
	int rc;

	if (!colon || colon == listen || !colon[1] || (size_t)(colon - listen) >= sizeof(host))
		return bw_seterr(errstr, errlen, BW_EINVAL, "listen address '%s': expected HOST:PORT",
				 listen);
	/* getaddrinfo() takes "99999" and keeps its low 16 bits (a random port) */
	if (strspn(colon + 1, "0123456789") != strlen(colon + 1) || strlen(colon + 1) > 5 ||
	    strtol(colon + 1, NULL, 10) > 65535)
		return bw_seterr(errstr, errlen, BW_EINVAL,
				 "listen address '%s': port '%.16s' is not a number from 0 to 65535",
				 listen, colon + 1);
	hl = (size_t)(colon - listen);
	memcpy(host, listen, hl);
	host[hl] = '\0';
	if (host[0] == '[' && hl > 2 && host[hl - 1] == ']') {
		memmove(host, host + 1, hl - 2);
		host[hl - 2] = '\0';
	}
	if ((rc = getaddrinfo(host, colon + 1, &hints, &ai)))
		return bw_seterr(errstr, errlen, BW_EINVAL, "listen address '%s': %s", listen,
				 gai_strerror(rc));
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	freeaddrinfo(ai);
	return 0;
}

int api_server_start(struct api_server *srv, char *errstr, size_t errlen)
{
	struct sockaddr_storage ss = { 0 };
	unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG;
	int rc;

	if ((rc = parse_listen(srv->listen, &ss, errstr, errlen)))
		return rc;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	/* a pool of event threads, or (api.threads = 1) just the one epoll thread */
	struct MHD_OptionItem pool[] = {
		{ srv->opts.threads > 1 ? MHD_OPTION_THREAD_POOL_SIZE : MHD_OPTION_END,
		  (intptr_t)srv->opts.threads, NULL },
		{ MHD_OPTION_END, 0, NULL },
	};
	srv->daemon = MHD_start_daemon(
		flags, 0, NULL, NULL, on_request, srv,
		MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
		MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
		MHD_OPTION_ARRAY, pool,
		MHD_OPTION_CONNECTION_LIMIT, api_guard_mhd_limit(srv->guard),
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)srv->opts.timeout_s,
		MHD_OPTION_NOTIFY_CONNECTION, api_guard_notify, srv->guard,
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
		MHD_OPTION_UNESCAPE_CALLBACK, unescape, NULL,
		MHD_OPTION_END);
	if (!srv->daemon)
		return bw_seterr(errstr, errlen, BW_EHTTP, "cannot listen on %s: %s", srv->listen,
				 errno ? strerror(errno) : "libmicrohttpd refused to start");
	if (api_guard_start(srv->guard)) {
		MHD_stop_daemon(srv->daemon);
		srv->daemon = NULL;
		return bw_seterr(errstr, errlen, BW_ENOMEM, "cannot start the request-deadline thread");
	}
	return 0;
}

uint16_t api_server_port(const struct api_server *srv)
{
	const union MHD_DaemonInfo *info;

	if (!srv || !srv->daemon)
		return 0;
	info = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
	return info ? info->port : 0;
}

void api_server_free(struct api_server *srv)
{
	if (!srv)
		return;
	if (srv->daemon)
		MHD_stop_daemon(srv->daemon);
	api_guard_free(srv->guard); /* after the daemon: it reported every close */
	api_model_free(srv->model);
	pthread_rwlock_destroy(&srv->model_lock);
	free(srv->listen);
	free(srv);
}

int api_server_reload_model(struct api_server *srv, const char *path, char *errstr,
			    size_t errlen)
{
	char merr[512], old_id[80];
	struct api_model *m = api_model_load(path, merr, sizeof(merr)), *old;

	if (!m) {
		BW_ERROR("model reload from %s failed, keeping %s: %s", path,
			 srv->model ? clf_model_id(srv->model->mdl) : "no model", merr);
		return bw_seterr(errstr, errlen, BW_EINVAL, "model %s: %s", path, merr);
	}
	pthread_rwlock_wrlock(&srv->model_lock);
	old = srv->model;
	srv->model = m;
	pthread_rwlock_unlock(&srv->model_lock);
	snprintf(old_id, sizeof(old_id), "%s", old ? clf_model_id(old->mdl) : "no model");
	api_model_free(old);
	BW_INFO("model reloaded from %s: %s -> %s", path, old_id, clf_model_id(m->mdl));
	return 0;
}
