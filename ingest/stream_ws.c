/*
 * stream_ws.c — one WebSocket streaming connection (RFC 6455 client over a
 * TCP socket, TLS with OpenSSL for wss://): the transport of Bluesky's
 * Jetstream (`ws://` or `wss://…/subscribe`).
 *
 * Written on the socket rather than on libwebsockets: Debian 12's
 * libwebsockets 4.1.6 rejects every correct upgrade response here with "HS:
 * Accept hash wrong" (its expected Sec-WebSocket-Accept is not SHA-1 of the key
 * it sent; reproduced with a ten-line client of its own), and a client needs
 * little of RFC 6455: the upgrade request, unmasked server frames, masked
 * pong and close replies.
 *
 * Every complete message (fragments joined) is one unit handed to the
 * caller's on_unit; a message over the unit cap is skipped without being
 * buffered and reported as INGEST_UNIT_TOO_LARGE with an excerpt. Binary
 * messages are zstd frames (Jetstream's `compress=true`), decompressed with
 * the configured dictionary into at most the unit cap; one that does not
 * decompress is an INGEST_UNIT_BAD_FRAME. A ping (answered with a pong) or
 * a pong is an INGEST_UNIT_KEEPALIVE. Reads wait at most 50 ms, so the
 * stall rule and the stop flag are checked that often.
 *
 * How an attempt ended is reported in struct ingest_stream_result exactly
 * as for HTTP streams (stream.h), so the same reconnect ladder applies: a
 * refused connection, a failed TLS handshake or a bad upgrade answer is a
 * network error, an HTTP status other than 101 an HTTP error (429 a rate
 * limit, Retry-After honoured), a close, reset or stall after the 101 a drop.
 *
 * Not thread-safe; one connection per call.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <zstd.h>

#include "bw_err.h"
#include "bw_log.h"
#include "bw_time.h"
#include "stream.h"

#define WS_TICK_MS 50
#define WS_HEAD_MAX 16384 /* cap on the upgrade response's header block */

/* One connection attempt's state. */
struct ws_conn {
	const struct ingest_ws_opts *o;  /* borrowed options */
	struct ingest_stream_result *res;/* borrowed result */
	int fd;                          /* the socket, or -1 */
	SSL_CTX *tls_ctx;                /* wss:// only */
	SSL *tls;                        /* wss:// only */
	char host[128];                  /* host name (no brackets) */
	char port[8];                    /* port as text */
	char path[8192];                 /* path with query, starting with '/' */
	unsigned char *in;               /* bytes read and not yet parsed */
	size_t in_len, in_cap;           /* used / allocated */
	char *msg;                       /* message being assembled */
	size_t len, cap;                 /* bytes in msg / allocated */
	uint64_t skip_size;              /* > 0: skipping an over-long message (bytes so far) */
	char excerpt[INGEST_EXCERPT_BYTES]; /* start of a skipped message */
	size_t excerpt_len;              /* its bytes */
	bool binary;                     /* the message being assembled is binary */
	bool in_message;                 /* a data frame without FIN was seen */
	uint64_t frame_left;             /* payload bytes of the current data frame still to come */
	bool frame_fin;                  /* the current data frame ends its message */
	bool frame_masked;               /* it is masked (servers should not) */
	unsigned char frame_mask[4];     /* its mask */
	size_t mask_pos;                 /* mask position of its next byte */
	ZSTD_DCtx *dctx;                 /* zstd decompressor (binary messages) */
	ZSTD_DDict *ddict;               /* the dictionary, or NULL */
	char *zout;                      /* decompressed message (max_unit + 1 bytes) */
	int64_t last_ms;                 /* last byte received (monotonic) */
	bool done;                       /* the connection is over */
};

/* Hand one unit to the caller; a non-zero stop value ends the connection. */
static int ws_emit(struct ws_conn *c, const struct ingest_unit *u)
{
	int rc = c->o->on_unit(u, c->o->opaque);

	if (rc) {
		c->res->cb_rc = rc;
		c->done = true;
	}
	return rc;
}

/* A binary message: a zstd frame (with the dictionary when configured). */
static int ws_emit_zstd(struct ws_conn *c)
{
	size_t max = c->o->max_unit;
	ZSTD_inBuffer in = { c->msg, c->len, 0 };
	ZSTD_outBuffer out = { c->zout, max + 1, 0 };
	struct ingest_unit u = { .kind = INGEST_UNIT_DATA };
	size_t zr;

	ZSTD_DCtx_reset(c->dctx, ZSTD_reset_session_only);
	if (c->ddict)
		ZSTD_DCtx_refDDict(c->dctx, c->ddict);
	do
		zr = ZSTD_decompressStream(c->dctx, &out, &in);
	while (!ZSTD_isError(zr) && zr != 0 && in.pos < in.size && out.pos <= max);
	if (out.pos > max) {
		u.kind = INGEST_UNIT_TOO_LARGE;
		u.data = c->zout;
		u.len = INGEST_EXCERPT_BYTES;
		u.size = out.pos;
		u.detail = "decompressed message exceeds ingest.max_line_bytes";
	} else if (ZSTD_isError(zr) || zr != 0) {
		u.kind = INGEST_UNIT_BAD_FRAME;
		u.data = c->msg;
		u.len = c->len < INGEST_EXCERPT_BYTES ? c->len : INGEST_EXCERPT_BYTES;
		u.size = c->len;
		u.detail = ZSTD_isError(zr) ? ZSTD_getErrorName(zr) : "truncated zstd frame";
	} else {
		c->zout[out.pos] = '\0';
		u.data = c->zout;
		u.len = out.pos;
	}
	return ws_emit(c, &u);
}

/* The last fragment of a message arrived: emit it. */
static int ws_message_end(struct ws_conn *c)
{
	struct ingest_unit u = { .kind = INGEST_UNIT_DATA };
	int rc;

	if (c->skip_size) {
		u.kind = INGEST_UNIT_TOO_LARGE;
		u.data = c->excerpt;
		u.len = c->excerpt_len;
		u.size = c->skip_size;
		u.detail = "WebSocket message exceeds ingest.max_line_bytes";
		rc = ws_emit(c, &u);
	} else if (c->binary && c->dctx) {
		rc = ws_emit_zstd(c);
	} else if (c->binary) {
		u.kind = INGEST_UNIT_BAD_FRAME;
		u.data = c->msg;
		u.len = c->len < INGEST_EXCERPT_BYTES ? c->len : INGEST_EXCERPT_BYTES;
		u.size = c->len;
		u.detail = "binary WebSocket message without ingest.jetstream.compress";
		rc = ws_emit(c, &u);
	} else {
		u.data = c->msg ? c->msg : "";
		u.len = c->len;
		rc = ws_emit(c, &u);
	}
	c->len = 0;
	c->skip_size = 0;
	c->excerpt_len = 0;
	return rc;
}

/* The payload of one data frame; `fin` ends the message. 0, or non-zero to stop. */
static int ws_receive(struct ws_conn *c, const char *in, size_t n, bool fin)
{
	size_t max = c->o->max_unit;

	if (!c->skip_size && c->len + n > max) { /* over the cap: keep an excerpt only */
		size_t k = c->len < INGEST_EXCERPT_BYTES ? c->len : INGEST_EXCERPT_BYTES;
		memcpy(c->excerpt, c->msg, k);
		c->excerpt_len = k;
		c->skip_size = c->len;
		c->len = 0;
	}
	if (c->skip_size) {
		size_t k = INGEST_EXCERPT_BYTES - c->excerpt_len;
		if (k > n)
			k = n;
		memcpy(c->excerpt + c->excerpt_len, in, k);
		c->excerpt_len += k;
		c->skip_size += n;
	} else {
		if (c->len + n + 1 > c->cap) {
			size_t cap = c->cap ? c->cap : 16384;
			while (cap < c->len + n + 1)
				cap *= 2;
			char *nb = realloc(c->msg, cap);
			if (!nb) {
				snprintf(c->res->error, sizeof(c->res->error), "out of memory");
				c->res->cb_rc = BW_ENOMEM;
				c->done = true;
				return BW_ENOMEM;
			}
			c->msg = nb;
			c->cap = cap;
		}
		memcpy(c->msg + c->len, in, n);
		c->len += n;
		c->msg[c->len] = '\0';
	}
	if (fin)
		return ws_message_end(c);
	return 0;
}

/* ---- transport: plain or TLS ------------------------------------------------------ */

/* Read what is there (waiting at most WS_TICK_MS): bytes, 0 on timeout, -1 closed/error. */
static ssize_t ws_read(struct ws_conn *c, void *buf, size_t cap)
{
	if (c->tls) {
		int n = SSL_read(c->tls, buf, (int)(cap > INT32_MAX ? INT32_MAX : cap));
		if (n > 0)
			return n;
		int e = SSL_get_error(c->tls, n);
		if ((e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE ||
		     (e == SSL_ERROR_SYSCALL && (errno == EAGAIN || errno == EWOULDBLOCK))) &&
		    n < 0)
			return 0;
		if (e == SSL_ERROR_ZERO_RETURN)
			snprintf(c->res->error, sizeof(c->res->error), "closed by the server");
		else if (!c->res->error[0])
			snprintf(c->res->error, sizeof(c->res->error), "TLS read error");
		return -1;
	}
	ssize_t n = recv(c->fd, buf, cap, 0);
	if (n > 0)
		return n;
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return 0;
	if (!c->res->error[0])
		snprintf(c->res->error, sizeof(c->res->error), "%s",
			 n == 0 ? "closed by the server" : strerror(errno));
	return -1;
}

/* Write all of buf; 0 or -1. */
static int ws_write(struct ws_conn *c, const void *buf, size_t n)
{
	const char *p = buf;

	while (n) {
		ssize_t k;
		if (c->tls) {
			int w = SSL_write(c->tls, p, (int)n);
			if (w <= 0) {
				int e = SSL_get_error(c->tls, w);
				if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
					continue;
				return -1;
			}
			k = w;
		} else {
			k = send(c->fd, p, n, MSG_NOSIGNAL);
			if (k < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (k <= 0)
				return -1;
		}
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

/* Set the socket's read and write timeouts. */
static void ws_timeouts(int fd, int64_t ms)
{
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000) };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* Split a ws(s):// URL into host, port and path. */
static int ws_parse_url(struct ws_conn *c, const char *url, bool *tls)
{
	const char *h, *end, *colon, *slash;
	size_t hn;

	*tls = strncmp(url, "wss://", 6) == 0;
	if (!*tls && strncmp(url, "ws://", 5) != 0)
		return bw_seterr(c->res->error, sizeof(c->res->error), BW_EUSAGE,
				 "not a ws:// or wss:// URL");
	h = url + (*tls ? 6 : 5);
	slash = h + strcspn(h, "/?#");
	end = slash;
	if (memchr(h, '@', (size_t)(end - h)))
		h = (const char *)memchr(h, '@', (size_t)(end - h)) + 1; /* user-info is not sent */
	if (*h == '[') { /* [IPv6]:port */
		const char *rb = memchr(h, ']', (size_t)(end - h));
		if (!rb)
			return bw_seterr(c->res->error, sizeof(c->res->error), BW_EUSAGE, "bad host");
		hn = (size_t)(rb - h - 1);
		colon = rb + 1 < end && rb[1] == ':' ? rb + 1 : NULL;
		h++;
	} else {
		colon = memchr(h, ':', (size_t)(end - h));
		hn = (size_t)((colon ? colon : end) - h);
	}
	if (!hn || hn >= sizeof(c->host))
		return bw_seterr(c->res->error, sizeof(c->res->error), BW_EUSAGE, "bad host");
	memcpy(c->host, h, hn);
	c->host[hn] = '\0';
	if (colon && (size_t)(end - colon - 1) < sizeof(c->port) && end > colon + 1) {
		memcpy(c->port, colon + 1, (size_t)(end - colon - 1));
		c->port[end - colon - 1] = '\0';
	} else {
		snprintf(c->port, sizeof(c->port), "%s", *tls ? "443" : "80");
	}
	if (snprintf(c->path, sizeof(c->path), "%s%s", *slash == '/' ? "" : "/", slash) >=
	    (int)sizeof(c->path))
		return bw_seterr(c->res->error, sizeof(c->res->error), BW_ETOOLARGE, "URL too long");
	return 0;
}

/* TCP connect within the connect timeout; 0 or -1 with res->error set. */
static int ws_tcp(struct ws_conn *c)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *ai, *a;
	int rc = getaddrinfo(c->host, c->port, &hints, &ai);

	if (rc) {
		snprintf(c->res->error, sizeof(c->res->error), "%s: %s", c->host, gai_strerror(rc));
		return -1;
	}
	for (a = ai; a; a = a->ai_next) {
		int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
		if (fd < 0)
			continue;
		ws_timeouts(fd, c->o->connect_timeout_ms);
		if (connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
			c->fd = fd;
			break;
		}
		snprintf(c->res->error, sizeof(c->res->error), "connect to %.100s:%s: %.100s",
			 c->host, c->port, strerror(errno));
		close(fd);
	}
	freeaddrinfo(ai);
	return c->fd >= 0 ? 0 : -1;
}

/* TLS handshake with certificate and host name verification. */
static int ws_tls(struct ws_conn *c)
{
	if (!(c->tls_ctx = SSL_CTX_new(TLS_client_method())) ||
	    SSL_CTX_set_default_verify_paths(c->tls_ctx) != 1 || !(c->tls = SSL_new(c->tls_ctx)))
		goto out_err;
	SSL_set_verify(c->tls, SSL_VERIFY_PEER, NULL);
	if (SSL_set_tlsext_host_name(c->tls, c->host) != 1 || SSL_set1_host(c->tls, c->host) != 1 ||
	    SSL_set_fd(c->tls, c->fd) != 1 || SSL_connect(c->tls) != 1)
		goto out_err;
	return 0;
out_err:
	snprintf(c->res->error, sizeof(c->res->error), "TLS handshake with %.100s failed: %.100s", c->host,
		 ERR_reason_error_string(ERR_peek_last_error())
			 ? ERR_reason_error_string(ERR_peek_last_error())
			 : "error");
	ERR_clear_error();
	return -1;
}

/* ---- the upgrade ------------------------------------------------------------------- */

/* base64(SHA-1(key + GUID)) into out (>= 29 bytes). */
static void ws_accept_of(const char *key, char *out)
{
	static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char buf[128];
	int n = snprintf(buf, sizeof(buf), "%s%s", key, guid);

	EVP_Digest(buf, (size_t)n, md, &mdlen, EVP_sha1(), NULL);
	EVP_EncodeBlock((unsigned char *)out, md, (int)mdlen);
}

/* Look at one response header line (no CRLF). */
static void ws_header(struct ws_conn *c, const char *l, size_t n, bool *accept_ok,
		      const char *want)
{
	const char *v;
	size_t vn;
	int64_t hint = ingest_stream_hint_ms(l, n, bw_time_now_ms());

	if (hint >= 0)
		c->res->reset_hint_ms = hint;
	if (n > 21 && strncasecmp(l, "sec-websocket-accept:", 21) == 0) {
		v = l + 21, vn = n - 21;
		while (vn && (*v == ' ' || *v == '\t'))
			v++, vn--;
		while (vn && (v[vn - 1] == ' ' || v[vn - 1] == '\t'))
			vn--;
		*accept_ok = vn == strlen(want) && memcmp(v, want, vn) == 0;
	}
}

/* Send the upgrade request and read the answer; 0 once established (bytes after
 * the headers stay in c->in), else -1 with res->status / cause / error set. */
static int ws_upgrade(struct ws_conn *c)
{
	unsigned char nonce[16];
	char key[32], want[32], req[sizeof(c->path) + 1024], *hdr_end = NULL;
	bool accept_ok = false;
	long status = 0;
	int n;

	if (RAND_bytes(nonce, sizeof(nonce)) != 1)
		return snprintf(c->res->error, sizeof(c->res->error), "no random bytes"), -1;
	EVP_EncodeBlock((unsigned char *)key, nonce, sizeof(nonce));
	ws_accept_of(key, want);
	n = snprintf(req, sizeof(req),
		     "GET %s HTTP/1.1\r\nHost: %s%s%s%s%s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		     "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\nUser-Agent: %s\r\n\r\n",
		     c->path, strchr(c->host, ':') ? "[" : "", c->host, strchr(c->host, ':') ? "]" : "",
		     (strcmp(c->port, "80") && strcmp(c->port, "443")) ? ":" : "",
		     (strcmp(c->port, "80") && strcmp(c->port, "443")) ? c->port : "", key,
		     c->o->user_agent ? c->o->user_agent : "botwatch");
	if (n >= (int)sizeof(req) || ws_write(c, req, (size_t)n))
		return snprintf(c->res->error, sizeof(c->res->error), "cannot send the request"), -1;
	while (!hdr_end) {
		if (c->in_len + 4096 > c->in_cap || c->in_len >= WS_HEAD_MAX) {
			if (c->in_len >= WS_HEAD_MAX)
				return snprintf(c->res->error, sizeof(c->res->error),
						"upgrade response headers over %d bytes", WS_HEAD_MAX), -1;
			unsigned char *nb = realloc(c->in, c->in_cap + 8192);
			if (!nb)
				return c->res->cb_rc = BW_ENOMEM, -1;
			c->in = nb, c->in_cap += 8192;
		}
		ssize_t got = ws_read(c, c->in + c->in_len, c->in_cap - c->in_len - 1);
		if (got < 0)
			return -1;
		if (got == 0 && bw_time_mono_ms() - c->last_ms >= c->o->connect_timeout_ms)
			return snprintf(c->res->error, sizeof(c->res->error),
					"no upgrade response within %lld ms",
					(long long)c->o->connect_timeout_ms), -1;
		if (c->o->stop && *c->o->stop)
			return c->res->stopped = true, -1;
		c->in_len += (size_t)got;
		c->in[c->in_len] = '\0';
		hdr_end = strstr((char *)c->in, "\r\n\r\n");
	}
	/* status line, then one header per line */
	char *line = (char *)c->in, *eol;
	if (strncmp(line, "HTTP/1.", 7) == 0 && strlen(line) > 12)
		status = strtol(line + 9, NULL, 10);
	while ((eol = strstr(line, "\r\n")) && eol <= hdr_end) {
		if (line != (char *)c->in)
			ws_header(c, line, (size_t)(eol - line), &accept_ok, want);
		line = eol + 2;
	}
	c->res->status = status;
	if (status != 101) {
		size_t body = c->in_len - (size_t)(hdr_end + 4 - (char *)c->in);
		snprintf(c->res->error, sizeof(c->res->error), "%.*s", (int)(body > 200 ? 200 : body),
			 hdr_end + 4);
		c->res->cause = status >= 300 ? ingest_stream_cause_for_status(status) : INGEST_RETRY_HTTP;
		return -1;
	}
	if (!accept_ok) {
		snprintf(c->res->error, sizeof(c->res->error),
			 "upgrade response without the right Sec-WebSocket-Accept");
		c->res->cause = INGEST_RETRY_HTTP;
		return -1;
	}
	size_t used = (size_t)(hdr_end + 4 - (char *)c->in);
	memmove(c->in, c->in + used, c->in_len - used);
	c->in_len -= used;
	c->res->established = true;
	return 0;
}

/* ---- frames -------------------------------------------------------------------------- */

/* Send a masked control frame (pong, close) with a payload of at most 125 bytes. */
static int ws_send_control(struct ws_conn *c, int opcode, const unsigned char *p, size_t n)
{
	unsigned char f[2 + 4 + 125], mask[4];

	if (n > 125 || RAND_bytes(mask, 4) != 1)
		return -1;
	f[0] = (unsigned char)(0x80 | opcode);
	f[1] = (unsigned char)(0x80 | n);
	memcpy(f + 2, mask, 4);
	for (size_t i = 0; i < n; i++)
		f[6 + i] = p[i] ^ mask[i & 3];
	return ws_write(c, f, 6 + n);
}

/* A control frame (whole, unmasked): 0, or -1 when the connection is over. */
static int ws_control(struct ws_conn *c, int op, const char *d, size_t dn)
{
	switch (op) {
	case 8: /* close: answer and end */
		ws_send_control(c, 8, (const unsigned char *)d, dn > 2 ? 2 : dn);
		snprintf(c->res->error, sizeof(c->res->error), "closed by the server (code %d)",
			 dn >= 2 ? ((unsigned char)d[0] << 8 | (unsigned char)d[1]) : 1005);
		return -1;
	case 9: /* ping: pong, and a keep-alive unit for the caller's periodic work */
		if (ws_send_control(c, 10, (const unsigned char *)d, dn))
			return -1;
		/* fall through */
	case 10:
		return ws_emit(c, &(struct ingest_unit){ .kind = INGEST_UNIT_KEEPALIVE, .data = "" }) ? -1 : 0;
	default:
		snprintf(c->res->error, sizeof(c->res->error), "unknown frame opcode %d", op);
		return -1;
	}
}

/*
 * Parse and act on the bytes in c->in. A data frame's payload is consumed as
 * it arrives (c->frame_left bytes still to come), so a long frame is never
 * buffered beyond the message cap; control frames (at most 125 bytes) are
 * handled whole. Returns 0 (more bytes needed), or -1 when the connection is
 * over (close frame, protocol error, the callback's stop).
 */
static int ws_frames(struct ws_conn *c)
{
	size_t pos = 0;
	int rc = 0;

	while (!rc && pos < c->in_len) {
		unsigned char *f = c->in + pos;
		size_t have = c->in_len - pos;
		if (c->frame_left) {
			size_t k = have < c->frame_left ? have : (size_t)c->frame_left;
			if (c->frame_masked)
				for (size_t i = 0; i < k; i++)
					f[i] ^= c->frame_mask[c->mask_pos++ & 3];
			c->frame_left -= k;
			pos += k;
			rc = ws_receive(c, (const char *)f, k, c->frame_fin && !c->frame_left) ? -1 : 0;
			continue;
		}
		if (have < 2)
			break;
		int fin = f[0] & 0x80, op = f[0] & 0x0f;
		bool masked = f[1] & 0x80;
		uint64_t plen = f[1] & 0x7f;
		size_t hl = 2;
		if (plen == 126) {
			if (have < 4)
				break;
			plen = ((uint64_t)f[2] << 8) | f[3];
			hl = 4;
		} else if (plen == 127) {
			if (have < 10)
				break;
			plen = 0;
			for (int i = 0; i < 8; i++)
				plen = (plen << 8) | f[2 + i];
			hl = 10;
		}
		if (have < hl + (masked ? 4 : 0))
			break;
		if (op >= 8) {
			if (plen > 125 || !fin) {
				snprintf(c->res->error, sizeof(c->res->error), "bad control frame");
				return -1;
			}
			if (have < hl + (masked ? 4 : 0) + plen)
				break;
			char d[125];
			for (size_t i = 0; i < plen; i++)
				d[i] = (char)(f[hl + (masked ? 4 : 0) + i] ^ (masked ? f[hl + (i & 3)] : 0));
			pos += hl + (masked ? 4 : 0) + plen;
			rc = ws_control(c, op, d, (size_t)plen);
			continue;
		}
		if (op > 2 || (op == 0) != c->in_message) {
			snprintf(c->res->error, sizeof(c->res->error), "unexpected frame opcode %d", op);
			return -1;
		}
		if (op)
			c->binary = op == 2;
		c->in_message = !fin;
		c->frame_fin = fin != 0;
		c->frame_masked = masked;
		if (masked)
			memcpy(c->frame_mask, f + hl, 4);
		c->mask_pos = 0;
		c->frame_left = plen;
		pos += hl + (masked ? 4 : 0);
		if (plen == 0)
			rc = ws_receive(c, "", 0, c->frame_fin) ? -1 : 0;
	}
	memmove(c->in, c->in + pos, c->in_len - pos);
	c->in_len -= pos;
	return rc;
}

/* Read and dispatch until the connection ends. */
static void ws_pump(struct ws_conn *c)
{
	ws_timeouts(c->fd, WS_TICK_MS);
	c->last_ms = bw_time_mono_ms();
	if (ws_frames(c))
		return;
	while (!c->done) {
		if (c->o->stop && *c->o->stop) {
			c->res->stopped = true;
			return;
		}
		if (c->in_cap - c->in_len < 65536) {
			unsigned char *nb = realloc(c->in, c->in_cap + 131072);
			if (!nb) {
				c->res->cb_rc = BW_ENOMEM;
				return;
			}
			c->in = nb, c->in_cap += 131072;
		}
		ssize_t got = ws_read(c, c->in + c->in_len, c->in_cap - c->in_len);
		int64_t now = bw_time_mono_ms();
		if (got < 0)
			return;
		if (got == 0) {
			if (now - c->last_ms >= c->o->idle_ms) {
				c->res->stalled = true;
				snprintf(c->res->error, sizeof(c->res->error), "no data for %lld ms",
					 (long long)(now - c->last_ms));
				return;
			}
			continue;
		}
		c->last_ms = now;
		c->res->bytes += (uint64_t)got;
		c->in_len += (size_t)got;
		if (ws_frames(c))
			return;
	}
}

/* The decompressor, when zstd is asked for. */
static int ws_zstd_open(struct ws_conn *c)
{
	const struct ingest_ws_opts *o = c->o;

	if (!o->zstd)
		return 0;
	if (!(c->dctx = ZSTD_createDCtx()) || !(c->zout = malloc(o->max_unit + 1)))
		return BW_ENOMEM;
	if (o->zstd_dict && o->zstd_dict_len &&
	    !(c->ddict = ZSTD_createDDict(o->zstd_dict, o->zstd_dict_len)))
		return BW_ENOMEM;
	return 0;
}

/* Free a connection's buffers, decompressor and TLS context (the socket and
 * the TLS session are closed by the caller). */
static void conn_free(struct ws_conn *c)
{
	SSL_CTX_free(c->tls_ctx); /* NULL when never made */
	ZSTD_freeDDict(c->ddict);
	ZSTD_freeDCtx(c->dctx);
	free(c->zout);
	free(c->msg);
	free(c->in);
	free(c);
}

int ingest_ws_parse(const struct ingest_ws_opts *o, const void *buf, size_t len, size_t chunk,
		    struct ingest_stream_result *res)
{
	struct ws_conn *c = calloc(1, sizeof(*c));
	const unsigned char *p = buf;
	int rc = 0;

	memset(res, 0, sizeof(*res));
	res->reset_hint_ms = -1;
	if (!c)
		return BW_ENOMEM;
	c->o = o, c->res = res, c->fd = -1;
	if ((rc = ws_zstd_open(c)))
		goto out_free;
	if (!chunk)
		chunk = 1;
	for (size_t off = 0; off < len; off += chunk) {
		size_t k = len - off < chunk ? len - off : chunk;
		if (c->in_len + k > c->in_cap) {
			unsigned char *nb = realloc(c->in, c->in_len + k);
			if (!nb) {
				rc = BW_ENOMEM;
				goto out_free;
			}
			c->in = nb, c->in_cap = c->in_len + k;
		}
		memcpy(c->in + c->in_len, p + off, k);
		c->in_len += k;
		res->bytes += k;
		if (ws_frames(c))
			break;
	}
	res->partial_bytes = c->len ? c->len : (size_t)c->skip_size;
out_free:
	conn_free(c);
	return rc;
}

int ingest_ws_connect(const struct ingest_ws_opts *o, struct ingest_stream_result *res)
{
	struct ws_conn *c = calloc(1, sizeof(*c));
	bool tls = false;
	int rc = 0;

	memset(res, 0, sizeof(*res));
	res->cause = INGEST_RETRY_TCP;
	res->reset_hint_ms = -1;
	if (!c)
		return BW_ENOMEM;
	c->o = o, c->res = res, c->fd = -1;
	if ((rc = ws_zstd_open(c)))
		goto out_free;
	if ((rc = ws_parse_url(c, o->url, &tls)))
		goto out_free;
	c->last_ms = bw_time_mono_ms();
	if (ws_tcp(c) || (tls && ws_tls(c)) || ws_upgrade(c))
		goto out_close;
	res->cause = INGEST_RETRY_DROP;
	ws_pump(c);
	if (c->len || c->skip_size)
		res->partial_bytes = c->len ? c->len : (size_t)c->skip_size;
out_close:
	if (c->tls) {
		SSL_free(c->tls);
		c->tls = NULL;
	}
	if (c->fd >= 0)
		close(c->fd);
out_free:
	conn_free(c);
	return rc;
}
