/*
 * sim_stream.c — `botwatch simulate --serve HOST:PORT`: a simulated dump
 * (clf_sim.h) served as a live stream at a given rate, in the three framings
 * ingest reads (docs/INGEST.md), chosen by the request path:
 *
 *   /1.1/statuses/sample.json, /1.1/statuses/filter.json   Twitter v1.1,
 *       `delimited=length` framing, "\r\n" keep-alives
 *   /2/tweets/search/stream, /2/tweets/sample/stream       X API v2 NDJSON
 *       {data, includes.users, includes.tweets, matching_rules}, "\r\n" heartbeats
 *   /subscribe (WebSocket upgrade)                          Bluesky Jetstream commit
 *       events: profiles, posts (hashtag and link facets, replies), reposts;
 *       an account id N becomes did:plc:simN
 *
 * Every connection gets the dump from its first post (profile-only records
 * are not stream content and are skipped), paced at `rate` posts a second,
 * then keep-alives until the client leaves or the server stops. One thread
 * per connection, each reading the dump file itself. Binds HOST:PORT (port 0
 * = any; the bound port is printed and written to the port file).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "bw_err.h"
#include "bw_map.h"
#include "bw_time.h"
#include "commands.h"

#define LINE_MAX_BYTES (1 << 20) /* longest dump line read */
#define KEEPALIVE_MS 10000       /* blank line / ping when nothing else was sent */
#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

enum framing { FR_V1, FR_V2, FR_JETSTREAM };

static const char *const framing_name[] = { "v1.1", "v2", "jetstream" };

/* One client connection. */
struct conn {
	int fd;                         /* socket (owned) */
	unsigned n;                     /* connection number, for the log */
	const struct sim_stream_opts *o;/* borrowed */
	const char *dump;               /* dump path (borrowed) */
	atomic_int *active;             /* the server's count of running connections */
};

/* Write all of buf; false when the client is gone. */
static bool send_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;

	while (n) {
		ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return false;
		p += k;
		n -= (size_t)k;
	}
	return true;
}

/* A WebSocket text frame (server frames are not masked). */
static bool ws_send(int fd, const char *s, size_t n, int opcode)
{
	unsigned char h[10];
	size_t hn;

	h[0] = (unsigned char)(0x80 | opcode);
	if (n < 126) {
		h[1] = (unsigned char)n;
		hn = 2;
	} else if (n < 65536) {
		h[1] = 126, h[2] = (unsigned char)(n >> 8), h[3] = (unsigned char)n;
		hn = 4;
	} else {
		h[1] = 127;
		for (int i = 0; i < 8; i++)
			h[2 + i] = (unsigned char)((uint64_t)n >> (56 - 8 * i));
		hn = 10;
	}
	return send_all(fd, h, hn) && send_all(fd, s, n);
}

/* Event time of a v1.1 "created_at" as RFC 3339, or "" (buf >= 40). */
static const char *iso_time(const json_t *v, char *buf, size_t n, int64_t *ms)
{
	const char *s = json_string_value(v);

	*ms = 0;
	if (!s || bw_time_parse_twitter(s, strlen(s), ms))
		return "";
	return bw_time_format(*ms, buf, n) ? buf : "";
}

/* HTML source ("<a ...>Name</a>") as its text. */
static json_t *plain_source(const json_t *v)
{
	const char *s = json_string_value(v), *b, *e;

	if (!s)
		return json_null();
	if ((b = strchr(s, '>')) && (e = strstr(b, "</a>")))
		return json_stringn(b + 1, (size_t)(e - b - 1));
	return json_string(s);
}

static json_t *v2_user(const json_t *u)
{
	char t[40];
	int64_t ms;

	return json_pack("{s:O?, s:O?, s:O?, s:s, s:O?, s:O?, s:O?, s:O?, s:O?, "
			 "s:{s:O?, s:O?, s:O?, s:O?}}",
			 "id", json_object_get(u, "id_str"), "name", json_object_get(u, "name"),
			 "username", json_object_get(u, "screen_name"), "created_at",
			 iso_time(json_object_get(u, "created_at"), t, sizeof(t), &ms), "description",
			 json_object_get(u, "description"), "location", json_object_get(u, "location"),
			 "url", json_object_get(u, "url"), "verified", json_object_get(u, "verified"),
			 "protected", json_object_get(u, "protected"), "public_metrics",
			 "followers_count", json_object_get(u, "followers_count"), "following_count",
			 json_object_get(u, "friends_count"), "tweet_count",
			 json_object_get(u, "statuses_count"), "listed_count",
			 json_object_get(u, "listed_count"));
}

/* The v2 tweet object of a v1.1 status. */
static json_t *v2_tweet(const json_t *s)
{
	const json_t *ent = json_object_get(s, "entities"), *rt = json_object_get(s, "retweeted_status");
	const json_t *x;
	json_t *t, *e = json_object(), *arr, *refs = json_array();
	char tm[40];
	int64_t ms;
	size_t i;

	t = json_pack("{s:O?, s:O?, s:O?, s:s, s:O?, s:o, s:{s:O?, s:i, s:O?, s:i}}", "id",
		      json_object_get(s, "id_str"), "text", json_object_get(s, "text"), "author_id",
		      json_object_get(json_object_get(s, "user"), "id_str"), "created_at",
		      iso_time(json_object_get(s, "created_at"), tm, sizeof(tm), &ms), "lang",
		      json_object_get(s, "lang"), "source", plain_source(json_object_get(s, "source")),
		      "public_metrics", "retweet_count", json_object_get(s, "retweet_count"),
		      "reply_count", 0, "like_count", json_object_get(s, "favorite_count"),
		      "quote_count", 0);
	if (!t)
		return NULL;
	arr = json_array();
	json_array_foreach(json_object_get(ent, "hashtags"), i, x)
		json_array_append_new(arr, json_pack("{s:O?}", "tag", json_object_get(x, "text")));
	json_object_set_new(e, "hashtags", arr);
	arr = json_array();
	json_array_foreach(json_object_get(ent, "urls"), i, x)
		json_array_append_new(arr, json_pack("{s:O?, s:O?}", "url", json_object_get(x, "url"),
						     "expanded_url", json_object_get(x, "expanded_url")));
	json_object_set_new(e, "urls", arr);
	arr = json_array();
	json_array_foreach(json_object_get(ent, "user_mentions"), i, x)
		json_array_append_new(arr, json_pack("{s:O?, s:O?}", "username",
						     json_object_get(x, "screen_name"), "id",
						     json_object_get(x, "id_str")));
	json_object_set_new(e, "mentions", arr);
	json_object_set_new(t, "entities", e);
	if (rt)
		json_array_append_new(refs, json_pack("{s:s, s:O?}", "type", "retweeted", "id",
						      json_object_get(rt, "id_str")));
	else if (json_is_string(json_object_get(s, "in_reply_to_status_id_str")))
		json_array_append_new(refs, json_pack("{s:s, s:O}", "type", "replied_to", "id",
						      json_object_get(s, "in_reply_to_status_id_str")));
	if (json_array_size(refs))
		json_object_set_new(t, "referenced_tweets", refs);
	else
		json_decref(refs);
	if (json_is_string(json_object_get(s, "in_reply_to_user_id_str")))
		json_object_set(t, "in_reply_to_user_id", json_object_get(s, "in_reply_to_user_id_str"));
	return t;
}

/* The v2 stream line of a v1.1 status: malloc'd compact JSON or NULL. */
static char *to_v2(const json_t *s)
{
	const json_t *rt = json_object_get(s, "retweeted_status");
	json_t *users = json_array(), *tweets = json_array(), *doc;
	char *out;

	json_array_append_new(users, v2_user(json_object_get(s, "user")));
	if (rt) {
		json_array_append_new(users, v2_user(json_object_get(rt, "user")));
		json_array_append_new(tweets, v2_tweet(rt));
	}
	doc = json_pack("{s:o, s:{s:o, s:o}, s:[{s:s, s:s}]}", "data", v2_tweet(s), "includes",
			"users", users, "tweets", tweets, "matching_rules", "id", "1", "tag",
			"simulated");
	out = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	json_decref(doc);
	return out;
}

/* A JSON string's text, or "0". */
static const char *str_or(const json_t *v)
{
	return json_string_value(v) ? json_string_value(v) : "0";
}

/* did:plc:sim<id> into buf. */
static const char *did_of(const json_t *id, char *buf, size_t n)
{
	snprintf(buf, n, "did:plc:sim%s", json_string_value(id) ? json_string_value(id) : "0");
	return buf;
}

/* A facet for the first "#tag" / url in text (UTF-8 byte offsets), else 0..0. */
static json_t *facet(const char *text, const char *needle, json_t *feature)
{
	const char *p = text && needle ? strstr(text, needle) : NULL;
	json_int_t b = p ? (json_int_t)(p - text) : 0, e = p ? b + (json_int_t)strlen(needle) : 0;

	return json_pack("{s:{s:I, s:I}, s:[o]}", "index", "byteStart", b, "byteEnd", e, "features",
			 feature);
}

/*
 * The Jetstream events of a v1.1 status: the author's profile the first time
 * (`seen` says whether it was sent), then the post or repost. Appends
 * malloc'd lines to out[0..2]; returns how many.
 */
static int to_jetstream(const json_t *s, int64_t *last_us, bool first, char **out)
{
	const json_t *u = json_object_get(s, "user"), *rt = json_object_get(s, "retweeted_status");
	const json_t *ent = json_object_get(s, "entities"), *x;
	const char *text = json_string_value(json_object_get(s, "text"));
	char did[96], tm[40], rkey[64], uri[256], tag[160];
	json_t *rec, *ev, *facets;
	int64_t ms, us;
	int n = 0;
	size_t i;

	iso_time(json_object_get(s, "created_at"), tm, sizeof(tm), &ms);
	us = ms * 1000 > *last_us ? ms * 1000 : *last_us + 1;
	*last_us = us;
	did_of(json_object_get(u, "id_str"), did, sizeof(did));
	if (first) {
		rec = json_pack("{s:s, s:O?, s:O?}", "$type", "app.bsky.actor.profile", "displayName",
				json_object_get(u, "name"), "description", json_object_get(u, "description"));
		ev = json_pack("{s:s, s:I, s:s, s:{s:s, s:s, s:s, s:s, s:o, s:s}}", "did", did,
			       "time_us", (json_int_t)us, "kind", "commit", "commit", "rev", "p0",
			       "operation", "create", "collection", "app.bsky.actor.profile", "rkey",
			       "self", "record", rec, "cid", "bafysimprofile");
		if (ev && (out[n] = json_dumps(ev, JSON_COMPACT)))
			n++;
		json_decref(ev);
	}
	snprintf(rkey, sizeof(rkey), "3s%s", str_or(json_object_get(s, "id_str")));
	if (rt) {
		char rdid[96];
		snprintf(uri, sizeof(uri), "at://%s/app.bsky.feed.post/3s%s",
			 did_of(json_object_get(json_object_get(rt, "user"), "id_str"), rdid, sizeof(rdid)),
			 str_or(json_object_get(rt, "id_str")));
		rec = json_pack("{s:s, s:s, s:{s:s, s:s}}", "$type", "app.bsky.feed.repost", "createdAt",
				tm, "subject", "uri", uri, "cid", "bafysimrepost");
	} else {
		facets = json_array();
		json_array_foreach(json_object_get(ent, "hashtags"), i, x) {
			snprintf(tag, sizeof(tag), "#%s", str_or(json_object_get(x, "text")));
			json_array_append_new(facets, facet(text, tag, json_pack("{s:s, s:s}", "$type",
				"app.bsky.richtext.facet#tag", "tag", tag + 1)));
		}
		json_array_foreach(json_object_get(ent, "urls"), i, x)
			json_array_append_new(facets, facet(text, json_string_value(json_object_get(x, "url")),
				json_pack("{s:s, s:O?}", "$type", "app.bsky.richtext.facet#link", "uri",
					  json_object_get(x, "expanded_url"))));
		rec = json_pack("{s:s, s:O?, s:s, s:[O?], s:o}", "$type", "app.bsky.feed.post", "text",
				json_object_get(s, "text"), "createdAt", tm, "langs",
				json_object_get(s, "lang"), "facets", facets);
		if (rec && json_is_string(json_object_get(s, "in_reply_to_status_id_str"))) {
			char pdid[96];
			snprintf(uri, sizeof(uri), "at://%s/app.bsky.feed.post/3s%s",
				 did_of(json_object_get(s, "in_reply_to_user_id_str"), pdid, sizeof(pdid)),
				 json_string_value(json_object_get(s, "in_reply_to_status_id_str")));
			json_object_set_new(rec, "reply", json_pack("{s:{s:s, s:s}, s:{s:s, s:s}}",
				"parent", "uri", uri, "cid", "bafysimparent", "root", "uri", uri, "cid",
				"bafysimparent"));
		}
	}
	ev = json_pack("{s:s, s:I, s:s, s:{s:s, s:s, s:s, s:s, s:o, s:s}}", "did", did, "time_us",
		       (json_int_t)us, "kind", "commit", "commit", "rev", "p1", "operation", "create",
		       "collection", rt ? "app.bsky.feed.repost" : "app.bsky.feed.post", "rkey", rkey,
		       "record", rec, "cid", "bafysimpost");
	if (ev && (out[n] = json_dumps(ev, JSON_COMPACT)))
		n++;
	json_decref(ev);
	return n;
}

/* Read the request head (up to 8 KiB); false on a bad or missing one. */
static bool read_head(int fd, char *buf, size_t n)
{
	size_t len = 0;

	while (len + 1 < n) {
		struct pollfd p = { fd, POLLIN, 0 };
		ssize_t k;
		if (poll(&p, 1, 5000) <= 0)
			return false;
		if ((k = recv(fd, buf + len, n - 1 - len, 0)) <= 0)
			return false;
		len += (size_t)k;
		buf[len] = '\0';
		if (strstr(buf, "\r\n\r\n"))
			return true;
	}
	return false;
}

/* A header's value (case-insensitive name) copied into out; false when absent. */
static bool header(const char *head, const char *name, char *out, size_t n)
{
	size_t nl = strlen(name);

	for (const char *p = strstr(head, "\r\n"); p && p[2]; p = strstr(p + 2, "\r\n")) {
		if (strncasecmp(p + 2, name, nl) == 0 && p[2 + nl] == ':') {
			const char *v = p + 3 + nl, *e;
			v += strspn(v, " \t");
			e = strstr(v, "\r\n");
			snprintf(out, n, "%.*s", (int)(e ? e - v : (ptrdiff_t)strlen(v)), v);
			return true;
		}
	}
	return false;
}

/* Answer the request head: the framing chosen, or -1 (an error was sent). */
static int handshake(int fd, const char *head)
{
	static const char notfound[] =
		"HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n"
		"botwatch simulate --serve: GET /1.1/statuses/sample.json (v1.1), "
		"/2/tweets/search/stream (v2) or /subscribe (Jetstream, WebSocket)\n";
	char key[128], up[32];

	if (strstr(head, " /1.1/statuses/")) {
		static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
					 "Connection: close\r\n\r\n";
		return send_all(fd, ok, sizeof(ok) - 1) ? FR_V1 : -1;
	}
	if (strstr(head, " /2/tweets/search/stream") || strstr(head, " /2/tweets/sample/stream")) {
		static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
					 "Connection: close\r\n\r\n";
		return send_all(fd, ok, sizeof(ok) - 1) ? FR_V2 : -1;
	}
	if (strstr(head, " /subscribe") && header(head, "Upgrade", up, sizeof(up)) &&
	    strcasecmp(up, "websocket") == 0 && header(head, "Sec-WebSocket-Key", key, sizeof(key))) {
		unsigned char md[SHA_DIGEST_LENGTH], acc[64];
		char both[256], resp[256];
		int n;
		snprintf(both, sizeof(both), "%s%s", key, WS_GUID);
		SHA1((const unsigned char *)both, strlen(both), md);
		EVP_EncodeBlock(acc, md, SHA_DIGEST_LENGTH);
		n = snprintf(resp, sizeof(resp), "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
			     "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n", (const char *)acc);
		return send_all(fd, resp, (size_t)n) ? FR_JETSTREAM : -1;
	}
	send_all(fd, notfound, sizeof(notfound) - 1);
	return -1;
}

static int64_t mono_ms(void)
{
	return bw_time_mono_ms();
}

/* Sleep until `when` (monotonic ms), sending keep-alives; false when the
 * client is gone or the server stops. */
static bool wait_until(struct conn *c, enum framing fr, int64_t when, int64_t *last_sent)
{
	for (;;) {
		int64_t now = mono_ms();
		if (atomic_load(c->o->stop))
			return false;
		if (now >= when)
			return true;
		if (now - *last_sent >= KEEPALIVE_MS) {
			bool ok = fr == FR_JETSTREAM ? ws_send(c->fd, "", 0, 0x9) /* ping */
						     : send_all(c->fd, "\r\n", 2);
			if (!ok)
				return false;
			*last_sent = now;
		}
		struct timespec ts = { 0, (long)((when - now < 100 ? when - now : 100) * 1000000) };
		nanosleep(&ts, NULL);
	}
}

/* Send one unit in the connection's framing. */
static bool send_unit(struct conn *c, enum framing fr, const char *s)
{
	size_t n = strlen(s);
	char len[32];

	switch (fr) {
	case FR_V1:
		snprintf(len, sizeof(len), "%zu\r\n", n + 2);
		return send_all(c->fd, len, strlen(len)) && send_all(c->fd, s, n) &&
		       send_all(c->fd, "\r\n", 2);
	case FR_V2:
		return send_all(c->fd, s, n) && send_all(c->fd, "\r\n", 2);
	case FR_JETSTREAM:
		return ws_send(c->fd, s, n, 0x1);
	}
	return false;
}

/* Stream the dump to one client. Returns the posts sent. */
static uint64_t stream_dump(struct conn *c, enum framing fr, char *line)
{
	gzFile gz = gzopen(c->dump, "rb");
	struct bw_map *seen = fr == FR_JETSTREAM ? bw_map_new() : NULL;
	int64_t start = mono_ms(), last_sent = start, last_us = 0;
	uint64_t sent = 0;
	bool alive = gz != NULL;

	while (alive && gzgets(gz, line, LINE_MAX_BYTES)) {
		json_t *s;
		char *units[3] = { NULL, NULL, NULL };
		int nu = 0;
		size_t n = strlen(line);
		while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (!n || strstr(line, "\"_profile_only\":true"))
			continue;
		if (c->o->rate > 0 &&
		    !wait_until(c, fr, start + (int64_t)(1000.0 * (double)sent / c->o->rate), &last_sent))
			break;
		if (fr == FR_V1) {
			alive = send_unit(c, fr, line);
		} else if ((s = json_loads(line, 0, NULL))) {
			if (fr == FR_V2) {
				units[nu++] = to_v2(s);
			} else {
				const char *id = json_string_value(json_object_get(json_object_get(s, "user"), "id_str"));
				bool first = id && seen && !bw_map_get(seen, id);
				char *key = first ? strdup(id) : NULL;
				if (key && bw_map_put(seen, key, key))
					free(key);
				nu = to_jetstream(s, &last_us, first, units);
			}
			json_decref(s);
			for (int i = 0; i < nu; i++) {
				alive = alive && units[i] && send_unit(c, fr, units[i]);
				free(units[i]);
			}
		}
		if (alive)
			sent++, last_sent = mono_ms();
	}
	if (gz)
		gzclose(gz);
	if (seen) {
		size_t pos = 0;
		char *k;
		while ((k = bw_map_next(seen, &pos, NULL)))
			free(k);
		bw_map_free(seen);
	}
	/* the dump is out: a live stream stays open, with keep-alives */
	while (alive && wait_until(c, fr, mono_ms() + KEEPALIVE_MS, &last_sent))
		;
	return sent;
}

static void *conn_main(void *arg)
{
	struct conn *c = arg;
	char head[8192];
	char *line = malloc(LINE_MAX_BYTES);
	int fr;

	if (line && read_head(c->fd, head, sizeof(head)) && (fr = handshake(c->fd, head)) >= 0) {
		fprintf(stderr, "botwatch simulate: client %u (%s) connected\n", c->n, framing_name[fr]);
		uint64_t n = stream_dump(c, (enum framing)fr, line);
		fprintf(stderr, "botwatch simulate: client %u (%s) left after %llu posts\n", c->n,
			framing_name[fr], (unsigned long long)n);
	}
	free(line);
	close(c->fd);
	atomic_fetch_sub(c->active, 1);
	free(c);
	return NULL;
}

/* Bind HOST:PORT; the socket or -1 with errstr. */
static int listen_on(const char *hostport, uint16_t *port, char *errstr, size_t errlen)
{
	char host[256];
	const char *colon = strrchr(hostport, ':');
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE }, *ai = NULL;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int fd = -1, one = 1;

	if (!colon || colon == hostport || (size_t)(colon - hostport) >= sizeof(host)) {
		bw_seterr(errstr, errlen, BW_EINVAL, "--serve: '%s' is not HOST:PORT", hostport);
		return -1;
	}
	snprintf(host, sizeof(host), "%.*s", (int)(colon - hostport), hostport);
	if (getaddrinfo(host, colon + 1, &hints, &ai) || !ai) {
		bw_seterr(errstr, errlen, BW_EINVAL, "--serve: cannot resolve '%s'", hostport);
		return -1;
	}
	if ((fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) || listen(fd, 16) ||
	    getsockname(fd, (struct sockaddr *)&ss, &sl)) {
		bw_seterr(errstr, errlen, BW_EIO, "--serve %s: %s", hostport, strerror(errno));
		if (fd >= 0)
			close(fd);
		freeaddrinfo(ai);
		return -1;
	}
	freeaddrinfo(ai);
	*port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
					       : ((struct sockaddr_in *)&ss)->sin_port);
	return fd;
}

int sim_stream_serve(const char *dump, const struct sim_stream_opts *o, char *errstr,
		     size_t errlen)
{
	uint16_t port = 0;
	unsigned n = 0;
	atomic_int active = 0;
	int fd = listen_on(o->listen, &port, errstr, errlen);

	if (fd < 0)
		return BW_EIO;
	if (o->port_file) {
		FILE *f = fopen(o->port_file, "w");
		if (!f || fprintf(f, "%u\n", port) < 0 || fclose(f)) {
			close(fd);
			return bw_seterr(errstr, errlen, BW_EIO, "%s: cannot write", o->port_file);
		}
	}
	fprintf(stderr, "botwatch simulate: serving on port %u at %g posts/s: "
			"/1.1/statuses/sample.json (v1.1), /2/tweets/search/stream (v2), "
			"/subscribe (Jetstream)\n", port, o->rate);
	while (!atomic_load(o->stop)) {
		struct pollfd p = { fd, POLLIN, 0 };
		struct conn *c;
		pthread_t t;
		int cfd;
		if (poll(&p, 1, 200) <= 0)
			continue;
		if ((cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC)) < 0)
			continue;
		if (!(c = calloc(1, sizeof(*c)))) {
			close(cfd);
			continue;
		}
		*c = (struct conn){ cfd, ++n, o, dump, &active };
		atomic_fetch_add(&active, 1);
		if (pthread_create(&t, NULL, conn_main, c)) {
			atomic_fetch_sub(&active, 1);
			close(cfd);
			free(c);
			continue;
		}
		pthread_detach(t);
	}
	close(fd);
	/* connections see the stop within 100 ms; they borrow `o` and `active` */
	while (atomic_load(&active) > 0) {
		struct timespec ts = { 0, 20 * 1000000 };
		nanosleep(&ts, NULL);
	}
	return 0;
}
