/*
 * stream_req.c — turn a stream source URL and the config into the request
 * the provider expects (see stream.h): format detection, the parameters
 * botwatch adds, and the Authorization header.
 */
#include "stream.h"

#include <stdio.h>
#include <string.h>

#include "bw_err.h"

/* The user and tweet fields the features stage uses (v2 sends only what is asked for). */
#define V2_EXPANSIONS "author_id,referenced_tweets.id,referenced_tweets.id.author_id"
#define V2_USER_FIELDS                                                                    \
	"created_at,description,location,name,protected,public_metrics,url,username,verified," \
	"profile_image_url"
#define V2_TWEET_FIELDS                                                                   \
	"author_id,created_at,entities,lang,public_metrics,referenced_tweets,"            \
	"in_reply_to_user_id,source,conversation_id"

static enum ingest_format detect(const char *url)
{
	if (strstr(url, "/1.1/statuses/"))
		return INGEST_FORMAT_V11;
	if (strstr(url, "/2/tweets/"))
		return INGEST_FORMAT_V2;
	if (strstr(url, "/streaming"))
		return INGEST_FORMAT_SSE;
	return INGEST_FORMAT_NDJSON;
}

/* Append "&k=v" (or "?k=v" / "k=v") unless `key=` is already in `s`. */
static int add_param(char *s, size_t cap, char first_sep, const char *key, const char *value)
{
	char probe[128];
	size_t n = strlen(s);
	const char *q = strchr(s, '?');

	snprintf(probe, sizeof(probe), "%s=", key);
	if (strstr(first_sep == '?' ? (q ? q : "") : s, probe))
		return 0;
	char sep = first_sep == '?' ? (q ? '&' : '?') : (n ? '&' : '\0');
	int w = sep ? snprintf(s + n, cap - n, "%c%s=%s", sep, key, value)
		    : snprintf(s + n, cap - n, "%s=%s", key, value);
	return (size_t)w >= cap - n ? BW_ETOOLARGE : 0;
}

/* Add an encoded config value (track/follow/locations) to the form body. */
static int add_form(char *body, size_t cap, const char *key, const char *value)
{
	char enc[4096];

	if (!value || !*value)
		return 0;
	if (ingest_stream_pct_encode(value, enc, sizeof(enc)))
		return BW_ETOOLARGE;
	return add_param(body, cap, '&', key, enc);
}

static int build_v11(const struct bw_config *cfg, struct ingest_stream_req *r, char *errstr,
		     size_t errlen)
{
	int rc = 0;

	r->framing = INGEST_FRAMING_LENGTH;
	r->idle_ms = cfg->ingest_idle_v1_ms;
	if (strstr(r->url, "/statuses/filter")) {
		if (!cfg->ingest_track[0] && !cfg->ingest_follow[0] && !cfg->ingest_locations[0])
			return bw_seterr(errstr, errlen, BW_EUSAGE,
					 "statuses/filter needs ingest.track, ingest.follow or "
					 "ingest.locations");
		if ((rc = add_form(r->body, sizeof(r->body), "track", cfg->ingest_track)) ||
		    (rc = add_form(r->body, sizeof(r->body), "follow", cfg->ingest_follow)) ||
		    (rc = add_form(r->body, sizeof(r->body), "locations", cfg->ingest_locations)) ||
		    (rc = add_param(r->body, sizeof(r->body), '&', "delimited", "length")) ||
		    (rc = add_param(r->body, sizeof(r->body), '&', "stall_warnings", "true")))
			return bw_seterr(errstr, errlen, rc, "statuses/filter parameters too long");
		return 0;
	}
	if ((rc = add_param(r->url, sizeof(r->url), '?', "delimited", "length")) ||
	    (rc = add_param(r->url, sizeof(r->url), '?', "stall_warnings", "true")))
		return bw_seterr(errstr, errlen, rc, "URL too long");
	return 0;
}

int ingest_stream_req_build(const struct bw_config *cfg, const char *src,
			    enum ingest_format format, struct ingest_stream_req *r,
			    char *errstr, size_t errlen)
{
	memset(r, 0, sizeof(*r));
	if (strncmp(src, "http://", 7) != 0 && strncmp(src, "https://", 8) != 0)
		return bw_seterr(errstr, errlen, BW_EUSAGE, "'%s' is not an http(s) URL", src);
	if ((size_t)snprintf(r->url, sizeof(r->url), "%s", src) >= sizeof(r->url))
		return bw_seterr(errstr, errlen, BW_ETOOLARGE, "URL too long");
	r->format = format == INGEST_FORMAT_AUTO ? detect(src) : format;
	r->framing = INGEST_FRAMING_LINES;
	r->idle_ms = cfg->ingest_idle_sse_ms;
	switch (r->format) {
	case INGEST_FORMAT_V11:
		return build_v11(cfg, r, errstr, errlen);
	case INGEST_FORMAT_V2:
		r->idle_ms = cfg->ingest_idle_v2_ms;
		if (add_param(r->url, sizeof(r->url), '?', "expansions", V2_EXPANSIONS) ||
		    add_param(r->url, sizeof(r->url), '?', "user.fields", V2_USER_FIELDS) ||
		    add_param(r->url, sizeof(r->url), '?', "tweet.fields", V2_TWEET_FIELDS))
			return bw_seterr(errstr, errlen, BW_ETOOLARGE, "URL too long");
		return 0;
	case INGEST_FORMAT_SSE:
		r->framing = INGEST_FRAMING_SSE;
		return 0;
	case INGEST_FORMAT_AUTO:
	case INGEST_FORMAT_TWARC2:
	case INGEST_FORMAT_NDJSON:
		r->sniff_sse = format == INGEST_FORMAT_AUTO;
		return 0;
	}
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)(c | 0x20);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Percent-decode s[0..n) into out (NUL-terminated); '+' is a space in forms. */
static void pct_decode(const char *s, size_t n, char *out, size_t cap)
{
	size_t p = 0;

	for (size_t i = 0; i < n && p + 1 < cap; i++) {
		int hi, lo;
		if (s[i] == '%' && i + 2 < n && (hi = hexval(s[i + 1])) >= 0 &&
		    (lo = hexval(s[i + 2])) >= 0) {
			out[p++] = (char)(hi * 16 + lo);
			i += 2;
		} else {
			out[p++] = s[i] == '+' ? ' ' : s[i];
		}
	}
	out[p] = '\0';
}

#define MAX_SIGN_PARAMS 32

/* Decoded k=v pairs of a query string or form body, into storage. */
static size_t split_params(const char *q, struct ingest_stream_param *out, size_t max,
			   char (*store)[2][1024], size_t used)
{
	size_t n = used;

	while (q && *q && n < max) {
		const char *amp = strchr(q, '&');
		size_t len = amp ? (size_t)(amp - q) : strlen(q);
		const char *eq = memchr(q, '=', len);
		size_t kl = eq ? (size_t)(eq - q) : len;
		pct_decode(q, kl, store[n][0], sizeof(store[n][0]));
		pct_decode(eq ? eq + 1 : q + len, eq ? len - kl - 1 : 0, store[n][1],
			   sizeof(store[n][1]));
		out[n].key = store[n][0];
		out[n].value = store[n][1];
		n++;
		q = amp ? amp + 1 : NULL;
	}
	return n;
}

static int oauth_header(const struct bw_config *cfg, const struct ingest_stream_req *r, char *out,
			size_t cap, char *errstr, size_t errlen)
{
	static char store[MAX_SIGN_PARAMS][2][1024];
	struct ingest_stream_param params[MAX_SIGN_PARAMS];
	const struct ingest_stream_oauth cred = { cfg->ingest_oauth_consumer_key,
						  cfg->ingest_oauth_consumer_secret,
						  cfg->ingest_oauth_token,
						  cfg->ingest_oauth_token_secret };
	char base[8192];
	const char *q = strchr(r->url, '?');
	size_t n;

	snprintf(base, sizeof(base), "%.*s", (int)(q ? (size_t)(q - r->url) : strlen(r->url)),
		 r->url);
	n = split_params(q ? q + 1 : NULL, params, MAX_SIGN_PARAMS, store, 0);
	n = split_params(r->body, params, MAX_SIGN_PARAMS, store, n);
	return ingest_stream_oauth_header(&cred, r->body[0] ? "POST" : "GET", base, params, n, NULL,
					  NULL, out, cap, errstr, errlen);
}

int ingest_stream_req_auth(const struct bw_config *cfg, const struct ingest_stream_req *r,
			   char *out, size_t cap, char *errstr, size_t errlen)
{
	bool oauth = cfg->ingest_oauth_consumer_key[0] && cfg->ingest_oauth_consumer_secret[0] &&
		     cfg->ingest_oauth_token[0] && cfg->ingest_oauth_token_secret[0];

	out[0] = '\0';
	if (r->format == INGEST_FORMAT_V11 && oauth)
		return oauth_header(cfg, r, out, cap, errstr, errlen);
	if (cfg->ingest_bearer_token[0] &&
	    (size_t)snprintf(out, cap, "Authorization: Bearer %s", cfg->ingest_bearer_token) >= cap)
		return bw_seterr(errstr, errlen, BW_ETOOLARGE, "bearer token too long");
	return 0;
}
