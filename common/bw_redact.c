/*
 * bw_redact.c — credentials out of URLs and settings (see bw_redact.h).
 */
#include "bw_redact.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* True when needle (lower case) occurs in s[0..n), ASCII case-insensitive. */
static bool has_word(const char *s, size_t n, const char *needle)
{
	size_t k = strlen(needle);

	for (size_t i = 0; i + k <= n; i++)
		if (strncasecmp(s + i, needle, k) == 0)
			return true;
	return false;
}

bool bw_redact_is_secret_name(const char *name, size_t len)
{
	static const char *const words[] = { "password", "passwd", "secret", "token",
					     "credential", "signature", "apikey", "api_key",
					     "api-key", "private", "key.pem", "auth" };
	static const char *const exact[] = { "key", "sig", "pass", "pwd" };

	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (has_word(name, len, words[i]))
			return true;
	for (size_t i = 0; i < sizeof(exact) / sizeof(exact[0]); i++)
		if (len == strlen(exact[i]) && strncasecmp(name, exact[i], len) == 0)
			return true;
	return false;
}

/* Append s[0..n) to out at *o (bounded; always NUL-terminated). */
static void put(char *out, size_t outlen, size_t *o, const char *s, size_t n)
{
	size_t room = outlen - 1 - *o;

	if (n > room)
		n = room;
	memcpy(out + *o, s, n);
	*o += n;
	out[*o] = '\0';
}

char *bw_redact_url(const char *url, char *out, size_t outlen)
{
	const char *scheme_end = strstr(url, "://"), *auth, *path, *at = NULL, *p;
	size_t o = 0;

	if (!outlen)
		return out;
	out[0] = '\0';
	if (!scheme_end) {
		put(out, outlen, &o, url, strlen(url));
		return out;
	}
	auth = scheme_end + 3;
	path = auth + strcspn(auth, "/?#");
	for (const char *a = auth; a < path; a++) /* the last '@' ends the user-info */
		if (*a == '@')
			at = a;
	put(out, outlen, &o, url, (size_t)(auth - url));
	if (at) {
		put(out, outlen, &o, BW_REDACTED "@", sizeof(BW_REDACTED));
		auth = at + 1;
	}
	p = auth + strcspn(auth, "?#");
	put(out, outlen, &o, auth, (size_t)(p - auth));
	/* query and fragment: name=value pieces after '?', '&', ';' or '#' */
	while (*p) {
		const char *piece = p + 1, *end = piece + strcspn(piece, "&;#"), *eq;
		put(out, outlen, &o, p, 1);
		eq = memchr(piece, '=', (size_t)(end - piece));
		if (eq && bw_redact_is_secret_name(piece, (size_t)(eq - piece))) {
			put(out, outlen, &o, piece, (size_t)(eq + 1 - piece));
			put(out, outlen, &o, BW_REDACTED, sizeof(BW_REDACTED) - 1);
		} else {
			put(out, outlen, &o, piece, (size_t)(end - piece));
		}
		p = end;
	}
	return out;
}
