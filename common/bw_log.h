/*
 * bw_log.h — JSON-lines logging on stderr.
 *
 * One line per event: {"ts":"2026-11-21T14:00:00.123Z","level":"info",
 * "src":"file.c:42","msg":"..."}. BW_LOG() checks the level before it
 * evaluates its arguments, so expensive arguments below the level cost
 * nothing. Thread-safe: each line is written with one fwrite under a lock.
 *
 * Library-like modules (features, classifier) do not log; they return errors.
 * Leaf module: includes no application header.
 */
#ifndef BW_LOG_H
#define BW_LOG_H

#include <stdbool.h>

enum bw_log_level {
	BW_LOG_DEBUG = 0,
	BW_LOG_INFO = 1,
	BW_LOG_WARN = 2,
	BW_LOG_ERROR = 3,
	BW_LOG_OFF = 4,
};

/* Current threshold; read by BW_LOG without a lock (a torn read is harmless). */
extern int bw_log_threshold;

#define BW_LOG(level, ...)                                                   \
	do {                                                                 \
		if ((level) >= bw_log_threshold)                             \
			bw_log_write((level), __FILE__, __LINE__, __VA_ARGS__); \
	} while (0)

#define BW_DEBUG(...) BW_LOG(BW_LOG_DEBUG, __VA_ARGS__)
#define BW_INFO(...) BW_LOG(BW_LOG_INFO, __VA_ARGS__)
#define BW_WARN(...) BW_LOG(BW_LOG_WARN, __VA_ARGS__)
#define BW_ERROR(...) BW_LOG(BW_LOG_ERROR, __VA_ARGS__)

/* Write one log line unconditionally; use BW_LOG instead. */
void bw_log_write(int level, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Parse "debug", "info", "warn", "error", "off"; returns -1 when unknown. */
int bw_log_level_parse(const char *name);

/* Name of a level ("info"); "?" when out of range. */
const char *bw_log_level_name(int level);

void bw_log_set_level(int level);

/* Whether a status line (a terminal progress line redrawn with "\r") sits on
 * stderr: while set, each log line first erases it ("\r", erase to end of
 * line), so a log line never runs on from the progress text. */
void bw_log_set_status_line(bool on);

#endif
