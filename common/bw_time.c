/*
 * bw_time.c — locale- and zone-independent date parsing (see bw_time.h).
 */
#define _POSIX_C_SOURCE 200809L
#include "bw_time.h"
#include "bw_err.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/* Howard Hinnant's days_from_civil: exact for every proleptic Gregorian date. */
int64_t bw_days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	const int64_t era = (y >= 0 ? y : y - 399) / 400;
	const unsigned yoe = (unsigned)(y - era * 400);
	const unsigned doy = (153 * (m + (m > 2 ? (unsigned)-3 : 9)) + 2) / 5 + d - 1;
	const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	z += 719468;
	const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	const unsigned doe = (unsigned)(z - era * 146097);
	const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	const unsigned mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

/* Read exactly n decimal digits at s; -1 if any is not a digit. */
static int digits(const char *s, int n)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

static bool valid_ymdhms(int y, int mo, int d, int h, int mi, int s)
{
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	return y >= 0 && mo >= 1 && mo <= 12 && d >= 1 && d <= mdays[mo - 1] && h >= 0 &&
	       h <= 23 && mi >= 0 && mi <= 59 && s >= 0 && s <= 60;
}

static int64_t compose(int y, int mo, int d, int h, int mi, int s)
{
	return ((bw_days_from_civil(y, (unsigned)mo, (unsigned)d) * 24 + h) * 60 + mi) * 60 * 1000LL +
	       (int64_t)s * 1000;
}

int bw_time_parse_twitter(const char *s, size_t len, int64_t *ms)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	/* "Mon Jan 22 01:57:38 +0000 2007" is exactly 30 bytes */
	int mo = 0, d, h, mi, sec, oh, om, y, sign;

	if (len != 30 || s[3] != ' ' || s[7] != ' ' || s[10] != ' ' || s[13] != ':' ||
	    s[16] != ':' || s[19] != ' ' || s[25] != ' ')
		return BW_EPARSE;
	for (int i = 0; i < 12; i++)
		if (memcmp(s + 4, months + 3 * i, 3) == 0)
			mo = i + 1;
	d = digits(s + 8, 2);
	h = digits(s + 11, 2);
	mi = digits(s + 14, 2);
	sec = digits(s + 17, 2);
	sign = s[20] == '+' ? 1 : s[20] == '-' ? -1 : 0;
	oh = digits(s + 21, 2);
	om = digits(s + 23, 2);
	y = digits(s + 26, 4);
	if (!mo || !sign || oh < 0 || om < 0 || !valid_ymdhms(y, mo, d, h, mi, sec))
		return BW_EPARSE;
	*ms = compose(y, mo, d, h, mi, sec) - sign * (int64_t)(oh * 60 + om) * 60000;
	return 0;
}

int bw_time_parse_iso(const char *s, size_t len, int64_t *ms)
{
	int y, mo, d, h = 0, mi = 0, sec = 0, frac_ms = 0;
	size_t p = 10;
	int64_t off_min = 0;

	if (len < 10 || s[4] != '-' || s[7] != '-')
		return BW_EPARSE;
	y = digits(s, 4);
	mo = digits(s + 5, 2);
	d = digits(s + 8, 2);
	if (len > 10) {
		if ((s[10] != 'T' && s[10] != 't' && s[10] != ' ') || len < 19 || s[13] != ':' ||
		    s[16] != ':')
			return BW_EPARSE;
		h = digits(s + 11, 2);
		mi = digits(s + 14, 2);
		sec = digits(s + 17, 2);
		p = 19;
		if (p < len && s[p] == '.') {
			int scale = 100;
			p++;
			if (p >= len || s[p] < '0' || s[p] > '9')
				return BW_EPARSE;
			for (; p < len && s[p] >= '0' && s[p] <= '9'; p++) {
				frac_ms += (s[p] - '0') * scale;
				scale /= 10;
			}
		}
		if (p < len && (s[p] == 'Z' || s[p] == 'z')) {
			p++;
		} else if (p < len && (s[p] == '+' || s[p] == '-')) {
			int oh, om;
			if (len - p != 6 || s[p + 3] != ':')
				return BW_EPARSE;
			oh = digits(s + p + 1, 2);
			om = digits(s + p + 4, 2);
			if (oh < 0 || oh > 23 || om < 0 || om > 59)
				return BW_EPARSE;
			off_min = (s[p] == '-' ? -1 : 1) * (int64_t)(oh * 60 + om);
			p += 6;
		}
	}
	if (p != len || !valid_ymdhms(y, mo, d, h, mi, sec))
		return BW_EPARSE;
	*ms = compose(y, mo, d, h, mi, sec) + frac_ms - off_min * 60000;
	return 0;
}

int bw_time_parse_any(const char *s, size_t len, int64_t *ms)
{
	if (bw_time_parse_iso(s, len, ms) == 0)
		return 0;
	return bw_time_parse_twitter(s, len, ms);
}

char *bw_time_format(int64_t ms, char *buf, size_t len)
{
	int64_t secs = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
	int64_t rem_ms = ms - secs * 1000;
	int64_t days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
	int64_t sod = secs - days * 86400;
	int64_t y;
	unsigned m, d;

	civil_from_days(days, &y, &m, &d);
	if (rem_ms)
		snprintf(buf, len, "%04lld-%02u-%02uT%02d:%02d:%02d.%03dZ", (long long)y, m, d,
			 (int)(sod / 3600), (int)(sod / 60 % 60), (int)(sod % 60), (int)rem_ms);
	else
		snprintf(buf, len, "%04lld-%02u-%02uT%02d:%02d:%02dZ", (long long)y, m, d,
			 (int)(sod / 3600), (int)(sod / 60 % 60), (int)(sod % 60));
	return buf;
}

int64_t bw_time_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t bw_time_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
