/*
 * stream_http.c — one streaming HTTP connection with libcurl (see stream.h).
 *
 * The idle (stall) rule is enforced with our own last-byte timestamp checked
 * in the xferinfo callback, because CURLOPT_LOW_SPEED_* fires seconds late.
 * Header lines and keep-alives count as bytes received.
 */
#define _POSIX_C_SOURCE 200809L
#include "stream.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bw_err.h"
#include "bw_time.h"

/* State shared by the callbacks of one attempt. */
struct conn {
	const struct ingest_stream_conn_opts *o; /* options */
	struct ingest_stream_result *res;        /* result being filled */
	struct ingest_stream_framer *framer;     /* created on the first body byte */
	int64_t last_byte_ms;                    /* monotonic time of the last byte */
	bool is_sse;                             /* Content-Type was text/event-stream */
	size_t err_len;                          /* bytes of an error body kept in res->error */
};

/* Parse a non-negative decimal header value; -1 when it is not one. */
static int64_t header_int(const char *v, size_t n)
{
	char buf[32];
	char *end;
	long long x;

	while (n && isspace((unsigned char)v[n - 1]))
		n--;
	while (n && isspace((unsigned char)*v))
		v++, n--;
	if (!n || n >= sizeof(buf))
		return -1;
	memcpy(buf, v, n);
	buf[n] = '\0';
	errno = 0;
	x = strtoll(buf, &end, 10);
	if (errno || *end || x < 0)
		return -1;
	return x;
}

static bool header_is(const char *line, size_t n, const char *name, const char **v, size_t *vn)
{
	size_t k = strlen(name);

	if (n <= k || line[k] != ':' || strncasecmp(line, name, k) != 0)
		return false;
	*v = line + k + 1;
	*vn = n - k - 1;
	return true;
}

/* Seconds in a header value of decimal digits (spaces around), saturating at
 * INT64_MAX / 1000 so a hostile value cannot overflow; -1 when not digits. */
static int64_t hint_seconds(const char *v, size_t n)
{
	const int64_t sat = INT64_MAX / 1000;
	int64_t x = 0;
	size_t i = 0;

	while (i < n && (v[i] == ' ' || v[i] == '\t'))
		i++;
	if (i == n || v[i] < '0' || v[i] > '9')
		return -1;
	for (; i < n && v[i] >= '0' && v[i] <= '9'; i++)
		x = x > (sat - (v[i] - '0')) / 10 ? sat : x * 10 + (v[i] - '0');
	while (i < n && isspace((unsigned char)v[i]))
		i++;
	return i == n ? x : -1;
}

int64_t ingest_stream_hint_ms(const char *line, size_t n, int64_t now_ms)
{
	const char *v;
	size_t vn;
	int64_t x, wait;

	if (header_is(line, n, "retry-after", &v, &vn) && (x = hint_seconds(v, vn)) >= 0)
		wait = x * 1000;
	else if (header_is(line, n, "x-rate-limit-reset", &v, &vn) && (x = hint_seconds(v, vn)) >= 0)
		wait = x * 1000 - now_ms; /* both within +-INT64_MAX / 1000 * 1000 */
	else
		return -1;
	return wait < 0 ? 0 : wait > INGEST_HINT_MAX_MS ? INGEST_HINT_MAX_MS : wait;
}

static size_t on_header(char *buf, size_t size, size_t nitems, void *ud)
{
	struct conn *c = ud;
	size_t n = size * nitems;
	const char *v;
	size_t vn;
	int64_t x;

	c->last_byte_ms = bw_time_mono_ms();
	if (n > 5 && strncmp(buf, "HTTP/", 5) == 0) { /* a new status line (after redirects too) */
		const char *sp = memchr(buf, ' ', n);
		size_t left = sp ? n - (size_t)(sp + 1 - buf) : 0;
		c->res->status = left >= 3 ? (long)header_int(sp + 1, 3) : 0;
		c->res->reset_hint_ms = -1;
		c->is_sse = false;
	} else if ((x = ingest_stream_hint_ms(buf, n, bw_time_now_ms())) >= 0) {
		if (x > c->res->reset_hint_ms)
			c->res->reset_hint_ms = x;
	} else if (header_is(buf, n, "content-type", &v, &vn)) {
		while (vn && *v == ' ')
			v++, vn--;
		c->is_sse = vn >= 17 && strncasecmp(v, "text/event-stream", 17) == 0;
	}
	return n;
}

static size_t on_body(char *buf, size_t size, size_t nmemb, void *ud)
{
	struct conn *c = ud;
	size_t n = size * nmemb;
	int rc;

	c->last_byte_ms = bw_time_mono_ms();
	if (c->res->status < 200 || c->res->status >= 300) { /* keep an excerpt of the error body */
		size_t room = sizeof(c->res->error) - 1 - c->err_len;
		size_t k = n < room ? n : room;
		memcpy(c->res->error + c->err_len, buf, k);
		c->err_len += k;
		c->res->error[c->err_len] = '\0';
		return n;
	}
	c->res->established = true;
	if (!c->framer) {
		enum ingest_stream_framing fr = c->o->framing;
		if (c->o->sniff_sse && c->is_sse)
			fr = INGEST_FRAMING_SSE;
		c->res->sse = fr == INGEST_FRAMING_SSE;
		c->framer = ingest_stream_framer_new(fr, c->o->max_unit, c->o->on_unit, c->o->opaque);
		if (!c->framer)
			return 0;
	}
	c->res->bytes += n;
	rc = ingest_stream_framer_feed(c->framer, buf, n);
	if (rc) {
		c->res->cb_rc = rc;
		return 0; /* abort the transfer */
	}
	return n;
}

static int on_xferinfo(void *ud, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	struct conn *c = ud;
	(void)dt, (void)dn, (void)ut, (void)un;

	if (c->o->stop && *c->o->stop) {
		c->res->stopped = true;
		return 1;
	}
	if (bw_time_mono_ms() - c->last_byte_ms > c->o->idle_ms) {
		c->res->stalled = true;
		return 1;
	}
	return 0;
}

static struct curl_slist *build_headers(const struct ingest_stream_conn_opts *o)
{
	struct curl_slist *h = NULL, *t;

	for (size_t i = 0; o->headers && o->headers[i]; i++) {
		if (!(t = curl_slist_append(h, o->headers[i]))) {
			curl_slist_free_all(h);
			return NULL;
		}
		h = t;
	}
	return h;
}

static void set_options(CURL *e, const struct ingest_stream_conn_opts *o, struct conn *c,
			struct curl_slist *hdrs, char *errbuf)
{
	curl_easy_setopt(e, CURLOPT_URL, o->url);
	curl_easy_setopt(e, CURLOPT_USERAGENT, o->user_agent);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)o->connect_timeout_ms);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(e, CURLOPT_MAXREDIRS, 5L);
	curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, ""); /* gzip when the server offers it */
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, c);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, c);
	curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, on_xferinfo);
	curl_easy_setopt(e, CURLOPT_XFERINFODATA, c);
	curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
	if (o->post_body)
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, o->post_body);
}

/* Decide what the reconnect ladder should do with this ending. */
static void classify(struct ingest_stream_result *r, CURLcode cc)
{
	if (r->established) {
		/* an established stream that delivered nothing is treated like a
		 * network error, so a server that accepts and closes cannot make
		 * us spin */
		r->cause = r->bytes ? INGEST_RETRY_DROP : INGEST_RETRY_TCP;
	} else if (r->status >= 300 || (cc == CURLE_OK && r->status != 0 && r->status < 200)) {
		r->cause = ingest_stream_cause_for_status(r->status);
	} else if (r->stalled) {
		r->cause = INGEST_RETRY_TCP; /* connected but no response in time */
	} else {
		r->cause = INGEST_RETRY_TCP;
	}
}

int ingest_stream_connect(const struct ingest_stream_conn_opts *o, struct ingest_stream_result *res)
{
	struct conn c = { .o = o, .res = res };
	char errbuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *hdrs = NULL;
	CURL *e;
	CURLcode cc;

	memset(res, 0, sizeof(*res));
	res->reset_hint_ms = -1;
	if (!(e = curl_easy_init()))
		return BW_ENOMEM;
	if (o->headers && o->headers[0] && !(hdrs = build_headers(o))) {
		curl_easy_cleanup(e);
		return BW_ENOMEM;
	}
	set_options(e, o, &c, hdrs, errbuf);
	c.last_byte_ms = bw_time_mono_ms();
	cc = curl_easy_perform(e);
	if (cc != CURLE_OK && !res->error[0] && !res->cb_rc && !res->stopped)
		snprintf(res->error, sizeof(res->error), "%s", errbuf[0] ? errbuf : curl_easy_strerror(cc));
	if (res->stalled)
		snprintf(res->error, sizeof(res->error), "no data for %lld ms (stall)",
			 (long long)o->idle_ms);
	if (c.framer)
		res->partial_bytes = ingest_stream_framer_reset(c.framer);
	classify(res, cc);
	ingest_stream_framer_free(c.framer);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(e);
	return 0;
}
