/*
 * bw_redact.h — keep credentials out of logs, dead-letter records and config
 * dumps. Leaf module.
 *
 * Rules (docs/INGEST.md "Secrets"): in a URL, the whole user-info part
 * (`user:pass@`, `token@`) becomes `***@`, and the value of every query
 * parameter whose name holds a secret word (bw_redact_is_secret_name()) becomes
 * `***`. A setting's value is secret when its name holds such a word.
 */
#ifndef BW_REDACT_H
#define BW_REDACT_H

#include <stdbool.h>
#include <stddef.h>

#define BW_REDACTED "***"

/*
 * True when `name` (a config key or a query parameter name, ASCII
 * case-insensitive) names a secret: it contains "password", "passwd", "secret",
 * "token", "credential", "signature", "apikey", "api_key", "api-key",
 * "private", "key.pem" (librdkafka's ssl.key.pem holds a private key) or "auth",
 * or is "key", "sig", "pass" or "pwd" (not "session": the
 * session.timeout.ms of librdkafka is no secret).
 */
bool bw_redact_is_secret_name(const char *name, size_t len);

/*
 * Copy `url` into out[outlen] with its credentials replaced (rules above);
 * a string that is not a URL ("scheme://...") is copied unchanged. The copy is
 * cut (still NUL-terminated) when out is too small — never leaving a secret's
 * tail in it, since secrets are replaced before the cut. Returns out.
 */
char *bw_redact_url(const char *url, char *out, size_t outlen);

#endif
