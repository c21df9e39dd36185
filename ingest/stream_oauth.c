/*
 * stream_oauth.c — OAuth 1.0a HMAC-SHA1 request signing for Twitter v1.1
 * streams (see stream.h), following RFC 5849 and Twitter's "Creating a
 * signature" document: percent-encode every parameter, sort, join into the
 * signature base string, sign with "consumer_secret&token_secret".
 */
#include "stream.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bw_err.h"

#define MAX_PARAMS 64
#define ENC_MAX 4096

int ingest_stream_pct_encode(const char *s, char *out, size_t cap)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t p = 0;

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		bool plain = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			     (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
		if (p + (plain ? 1 : 3) >= cap)
			return BW_ETOOLARGE;
		if (plain) {
			out[p++] = (char)c;
		} else {
			out[p++] = '%';
			out[p++] = hex[c >> 4];
			out[p++] = hex[c & 15];
		}
	}
	if (p >= cap)
		return BW_ETOOLARGE;
	out[p] = '\0';
	return 0;
}

/* One encoded key=value pair, for sorting. */
struct enc_pair {
	char *k; /* encoded key (malloc'd) */
	char *v; /* encoded value (malloc'd) */
};

static int pair_cmp(const void *a, const void *b)
{
	const struct enc_pair *x = a, *y = b;
	int c = strcmp(x->k, y->k);
	return c ? c : strcmp(x->v, y->v);
}

static char *enc_dup(const char *s)
{
	char buf[ENC_MAX];
	return ingest_stream_pct_encode(s, buf, sizeof(buf)) ? NULL : strdup(buf);
}

/* Append s to out[*p..cap); BW_ETOOLARGE when it does not fit. */
static int cat(char *out, size_t cap, size_t *p, const char *s)
{
	size_t n = strlen(s);
	if (*p + n >= cap)
		return BW_ETOOLARGE;
	memcpy(out + *p, s, n + 1);
	*p += n;
	return 0;
}

/* The signature base string: METHOD&enc(url)&enc(sorted params). */
static int base_string(const struct enc_pair *pairs, size_t n, const char *method,
		       const char *url, char *out, size_t cap)
{
	char *joined = malloc(cap), *enc = malloc(cap * 3);
	size_t jp = 0, p = 0;
	int rc = BW_ENOMEM;

	if (!joined || !enc)
		goto out_free;
	joined[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		if ((i && (rc = cat(joined, cap, &jp, "&"))) || (rc = cat(joined, cap, &jp, pairs[i].k)) ||
		    (rc = cat(joined, cap, &jp, "=")) || (rc = cat(joined, cap, &jp, pairs[i].v)))
			goto out_free;
	}
	out[0] = '\0';
	if ((rc = cat(out, cap, &p, method)) || (rc = cat(out, cap, &p, "&")) ||
	    (rc = ingest_stream_pct_encode(url, enc, cap * 3)) || (rc = cat(out, cap, &p, enc)) ||
	    (rc = cat(out, cap, &p, "&")) || (rc = ingest_stream_pct_encode(joined, enc, cap * 3)) ||
	    (rc = cat(out, cap, &p, enc)))
		goto out_free;
	rc = 0;
out_free:
	free(joined);
	free(enc);
	return rc;
}

int ingest_stream_oauth_sign(const struct ingest_stream_oauth *cred, const char *method,
			     const char *url, const struct ingest_stream_param *params, size_t n,
			     const char *nonce, const char *timestamp, char *sig, size_t siglen,
			     char *errstr, size_t errlen)
{
	const struct ingest_stream_param oauth[] = {
		{ "oauth_consumer_key", cred->consumer_key }, { "oauth_nonce", nonce },
		{ "oauth_signature_method", "HMAC-SHA1" },     { "oauth_timestamp", timestamp },
		{ "oauth_token", cred->token },                { "oauth_version", "1.0" },
	};
	struct enc_pair pairs[MAX_PARAMS + 6] = { { 0 } };
	size_t np = 0, base_cap = 64 * 1024;
	char key[2 * ENC_MAX], ks[ENC_MAX], ts[ENC_MAX], *base = NULL;
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	int rc = BW_ENOMEM;

	if (n > MAX_PARAMS)
		return bw_seterr(errstr, errlen, BW_ETOOLARGE, "oauth: too many parameters");
	for (size_t i = 0; i < n + 6; i++, np++) {
		const struct ingest_stream_param *prm = i < n ? &params[i] : &oauth[i - n];
		if (!(pairs[np].k = enc_dup(prm->key)) || !(pairs[np].v = enc_dup(prm->value)))
			goto out_free;
	}
	qsort(pairs, np, sizeof(pairs[0]), pair_cmp);
	if (!(base = malloc(base_cap)) ||
	    (rc = base_string(pairs, np, method, url, base, base_cap)))
		goto out_free;
	if ((rc = ingest_stream_pct_encode(cred->consumer_secret, ks, sizeof(ks))) ||
	    (rc = ingest_stream_pct_encode(cred->token_secret, ts, sizeof(ts))))
		goto out_free;
	snprintf(key, sizeof(key), "%s&%s", ks, ts);
	if (!HMAC(EVP_sha1(), key, (int)strlen(key), (const unsigned char *)base, strlen(base), mac,
		  &maclen) || siglen < 4 * ((maclen + 2) / 3) + 1) {
		rc = BW_EINVAL;
		goto out_free;
	}
	EVP_EncodeBlock((unsigned char *)sig, mac, (int)maclen);
	rc = 0;
out_free:
	for (size_t i = 0; i < np + 1 && i < MAX_PARAMS + 6; i++) {
		free(pairs[i].k);
		free(pairs[i].v);
	}
	free(base);
	if (rc)
		return bw_seterr(errstr, errlen, rc, "oauth: cannot sign the request (%s)",
				 bw_strerror(rc));
	return 0;
}

int ingest_stream_oauth_header(const struct ingest_stream_oauth *cred, const char *method,
			       const char *url, const struct ingest_stream_param *params, size_t n,
			       const char *nonce, const char *timestamp, char *out, size_t cap,
			       char *errstr, size_t errlen)
{
	char nbuf[33], tbuf[24], sig[64], e_ck[ENC_MAX], e_tok[ENC_MAX], e_sig[128];
	int rc;

	if (!nonce) {
		unsigned char rnd[16];
		if (RAND_bytes(rnd, sizeof(rnd)) != 1)
			return bw_seterr(errstr, errlen, BW_EIO, "oauth: no randomness for a nonce");
		for (size_t i = 0; i < sizeof(rnd); i++)
			snprintf(nbuf + 2 * i, 3, "%02x", rnd[i]);
		nonce = nbuf;
	}
	if (!timestamp) {
		snprintf(tbuf, sizeof(tbuf), "%lld", (long long)time(NULL));
		timestamp = tbuf;
	}
	if ((rc = ingest_stream_oauth_sign(cred, method, url, params, n, nonce, timestamp, sig,
					   sizeof(sig), errstr, errlen)))
		return rc;
	if (ingest_stream_pct_encode(cred->consumer_key, e_ck, sizeof(e_ck)) ||
	    ingest_stream_pct_encode(cred->token, e_tok, sizeof(e_tok)) ||
	    ingest_stream_pct_encode(sig, e_sig, sizeof(e_sig)))
		return bw_seterr(errstr, errlen, BW_ETOOLARGE, "oauth: credentials too long");
	if ((size_t)snprintf(out, cap,
			     "Authorization: OAuth oauth_consumer_key=\"%s\", oauth_nonce=\"%s\", "
			     "oauth_signature=\"%s\", oauth_signature_method=\"HMAC-SHA1\", "
			     "oauth_timestamp=\"%s\", oauth_token=\"%s\", oauth_version=\"1.0\"",
			     e_ck, nonce, e_sig, timestamp, e_tok) >= cap)
		return bw_seterr(errstr, errlen, BW_ETOOLARGE, "oauth: header too long");
	return 0;
}
