/*
 * bw_log.c — JSON-lines logger (see bw_log.h).
 */
#define _POSIX_C_SOURCE 200809L
#include "bw_log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

int bw_log_threshold = BW_LOG_INFO;

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static bool status_line; /* guarded by log_lock: see bw_log_set_status_line() */

static const char *const level_names[] = { "debug", "info", "warn", "error", "off" };

int bw_log_level_parse(const char *name)
{
	for (int i = 0; i < (int)(sizeof(level_names) / sizeof(level_names[0])); i++)
		if (strcmp(name, level_names[i]) == 0)
			return i;
	return -1;
}

const char *bw_log_level_name(int level)
{
	if (level < 0 || level > BW_LOG_OFF)
		return "?";
	return level_names[level];
}

void bw_log_set_level(int level)
{
	bw_log_threshold = level;
}

void bw_log_set_status_line(bool on)
{
	pthread_mutex_lock(&log_lock);
	status_line = on;
	pthread_mutex_unlock(&log_lock);
}

/* Append `s` JSON-escaped to out[*pos..cap); truncates silently at cap. */
static void json_escape_into(char *out, size_t cap, size_t *pos, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	size_t p = *pos;

	for (; *s && p + 7 < cap; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\') {
			out[p++] = '\\';
			out[p++] = (char)c;
		} else if (c == '\n') {
			out[p++] = '\\';
			out[p++] = 'n';
		} else if (c < 0x20) {
			out[p++] = '\\';
			out[p++] = 'u';
			out[p++] = '0';
			out[p++] = '0';
			out[p++] = hex[c >> 4];
			out[p++] = hex[c & 15];
		} else {
			out[p++] = (char)c;
		}
	}
	*pos = p;
}

void bw_log_write(int level, const char *file, int line, const char *fmt, ...)
{
	char msg[2048], out[4096 + 256], ts[96];
	struct timespec now;
	struct tm tm;
	const char *base = strrchr(file, '/');
	size_t pos = 0;
	va_list ap;
	int n;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);

	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	snprintf(ts, sizeof(ts), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 now.tv_nsec / 1000000L);

	n = snprintf(out, sizeof(out), "{\"ts\":\"%s\",\"level\":\"%s\",\"src\":\"%s:%d\",\"msg\":\"",
		     ts, bw_log_level_name(level), base ? base + 1 : file, line);
	if (n < 0)
		return;
	pos = (size_t)n;
	json_escape_into(out, sizeof(out) - 4, &pos, msg);
	out[pos++] = '"';
	out[pos++] = '}';
	out[pos++] = '\n';

	pthread_mutex_lock(&log_lock);
	if (status_line)
		fputs("\r\033[K", stderr);
	fwrite(out, 1, pos, stderr);
	fflush(stderr);
	pthread_mutex_unlock(&log_lock);
}
