/*
 * bw_time.h — event-time parsing and formatting, independent of the host's
 * time zone and locale (no mktime/timegm/strptime).
 *
 * All times are int64 milliseconds since the Unix epoch, UTC. BW_TIME_NONE
 * marks "absent". Leaf module.
 */
#ifndef BW_TIME_H
#define BW_TIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BW_TIME_NONE INT64_MIN

/* Days since 1970-01-01 of a proleptic Gregorian civil date. */
int64_t bw_days_from_civil(int64_t y, unsigned m, unsigned d);

/*
 * Parse the Twitter v1.1 form "Mon Jan 22 01:57:38 +0000 2007".
 * Returns 0 and sets *ms, or BW_EPARSE. `s` need not be NUL-terminated past len.
 */
int bw_time_parse_twitter(const char *s, size_t len, int64_t *ms);

/*
 * Parse RFC 3339 / ISO 8601: "2021-04-01T12:00:00Z", with optional fraction
 * and "+hh:mm" offset; a date alone ("2021-04-01") is midnight UTC.
 */
int bw_time_parse_iso(const char *s, size_t len, int64_t *ms);

/* Try every form this project accepts (ISO, Twitter); 0 or BW_EPARSE. */
int bw_time_parse_any(const char *s, size_t len, int64_t *ms);

/*
 * Format as RFC 3339 UTC with seconds ("2021-04-01T12:00:00Z"), or with
 * milliseconds when ms % 1000 != 0. buf must hold at least 32 bytes.
 * Returns buf.
 */
char *bw_time_format(int64_t ms, char *buf, size_t len);

/* Wall-clock now in ms (for logs and metrics only; never for features — the
 * decoder's one other use is its sanity bound on future-dated posts). */
int64_t bw_time_now_ms(void);

/* Monotonic clock in ms (for timeouts and back-off). */
int64_t bw_time_mono_ms(void);

#endif
