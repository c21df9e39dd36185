/*
 * cmd_progress.c — the terminal progress line (cmd_progress.h).
 *
 * Every 500 ms the thread finds the input files among the process's open
 * descriptors (readlink of /proc/self/fd/N against each input's real path)
 * and reads their offsets (/proc/self/fdinfo/N "pos:"). Inputs are read in
 * order, so once file k is seen open every earlier file counts as fully read.
 * For gzip inputs the offset is in the compressed file, which is what the
 * size on disk and so the ETA refer to.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bw_log.h"
#include "cmd_progress.h"

#define PROGRESS_TICK_MS 500

struct cmd_progress {
	const char *cmd;           /* command name (borrowed) */
	size_t n;                  /* input files */
	char **real;               /* their real paths (owned; NULL: stdin or unknown) */
	uint64_t *size;            /* their sizes (0: unknown) */
	uint64_t *pos;             /* the furthest offset seen in each */
	uint64_t total;            /* sum of the known sizes */
	double t0;                 /* start (monotonic seconds) */
	pthread_t th;              /* the drawing thread */
	pthread_mutex_t mu;        /* guards stop, phase */
	pthread_cond_t cond;       /* signalled on stop */
	bool stop;                 /* cmd_progress_stop() was called */
	char phase[96];            /* cmd_progress_phase() text */
	int width;                 /* characters of the last line drawn */
};

static double mono_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Offsets of the inputs open now into p->pos (kept at their maximum). */
static void sample(struct cmd_progress *p)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	size_t last_open = 0;
	bool any = false;

	if (!d)
		return;
	while ((e = readdir(d))) {
		char link[300], target[PATH_MAX], info[300], line[128];
		ssize_t len;
		if (e->d_name[0] == '.')
			continue;
		snprintf(link, sizeof(link), "/proc/self/fd/%s", e->d_name);
		if ((len = readlink(link, target, sizeof(target) - 1)) <= 0)
			continue;
		target[len] = '\0';
		for (size_t i = 0; i < p->n; i++) {
			if (!p->real[i] || strcmp(p->real[i], target) != 0)
				continue;
			snprintf(info, sizeof(info), "/proc/self/fdinfo/%s", e->d_name);
			FILE *f = fopen(info, "r");
			while (f && fgets(line, sizeof(line), f)) {
				unsigned long long v;
				char *end;
				if (strncmp(line, "pos:", 4) != 0)
					continue;
				v = strtoull(line + 4, &end, 10);
				if (end != line + 4 && v > p->pos[i])
					p->pos[i] = v;
			}
			if (f)
				fclose(f);
			if (!any || i > last_open)
				last_open = i;
			any = true;
		}
	}
	closedir(d);
	for (size_t i = 0; any && i < last_open; i++)
		p->pos[i] = p->size[i];
}

static void fmt_secs(double s, char *buf, size_t len)
{
	unsigned long t = s > 0 && s < 360000 ? (unsigned long)(s + 0.5) : 0;
	snprintf(buf, len, "%lu:%02lu:%02lu", t / 3600, t / 60 % 60, t % 60);
}

static void draw(struct cmd_progress *p, const char *phase)
{
	uint64_t done = 0;
	double el = mono_s() - p->t0, mb = 1024.0 * 1024.0;
	char line[256], eta[32], elapsed[32];
	int w;

	for (size_t i = 0; i < p->n; i++)
		done += p->pos[i] < p->size[i] || !p->size[i] ? p->pos[i] : p->size[i];
	double rate = el > 0 ? (double)done / el : 0;
	fmt_secs(el, elapsed, sizeof(elapsed));
	if (p->total && rate > 0 && done <= p->total) {
		fmt_secs((double)(p->total - done) / rate, eta, sizeof(eta));
		w = snprintf(line, sizeof(line), "%s: %.1f of %.1f MB read (%.0f%%), %.1f MB/s, "
				 "elapsed %s, ETA %s%s%s", p->cmd, (double)done / mb,
			     (double)p->total / mb, 100.0 * (double)done / (double)p->total,
			     rate / mb, elapsed, eta, *phase ? "; " : "", phase);
	} else {
		w = snprintf(line, sizeof(line), "%s: %.1f MB read, %.1f MB/s, elapsed %s%s%s",
			     p->cmd, (double)done / mb, rate / mb, elapsed, *phase ? "; " : "", phase);
	}
	if (w < 0)
		return;
	if (w >= (int)sizeof(line))
		w = (int)sizeof(line) - 1;
	/* pad over the previous, longer line */
	fprintf(stderr, "\r%s%*s", line, p->width > w ? p->width - w : 0, "");
	fflush(stderr);
	p->width = w;
}

static void *progress_main(void *arg)
{
	struct cmd_progress *p = arg;
	char phase[sizeof(p->phase)];

	pthread_mutex_lock(&p->mu);
	while (!p->stop) {
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += PROGRESS_TICK_MS * 1000000L;
		until.tv_sec += until.tv_nsec / 1000000000L;
		until.tv_nsec %= 1000000000L;
		pthread_cond_timedwait(&p->cond, &p->mu, &until);
		if (p->stop)
			break;
		memcpy(phase, p->phase, sizeof(phase));
		pthread_mutex_unlock(&p->mu);
		sample(p);
		draw(p, phase);
		pthread_mutex_lock(&p->mu);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

static void progress_free(struct cmd_progress *p)
{
	if (!p)
		return;
	for (size_t i = 0; p->real && i < p->n; i++)
		free(p->real[i]);
	free(p->real);
	free(p->size);
	free(p->pos);
	free(p);
}

struct cmd_progress *cmd_progress_start(const char *cmd, char *const *files, size_t n)
{
	const char *env = getenv("BOTWATCH_PROGRESS");
	struct cmd_progress *p;

	if (!isatty(STDERR_FILENO) || (env && strcmp(env, "0") == 0) || !n)
		return NULL;
	if (!(p = calloc(1, sizeof(*p))) || !(p->real = calloc(n, sizeof(char *))) ||
	    !(p->size = calloc(n, sizeof(uint64_t))) || !(p->pos = calloc(n, sizeof(uint64_t)))) {
		progress_free(p);
		return NULL;
	}
	p->cmd = cmd;
	p->n = n;
	for (size_t i = 0; i < n; i++) {
		struct stat st;
		if (strcmp(files[i], "-") == 0 || stat(files[i], &st) || !S_ISREG(st.st_mode))
			continue;
		p->real[i] = realpath(files[i], NULL);
		p->size[i] = (uint64_t)st.st_size;
		p->total += p->size[i];
	}
	p->t0 = mono_s();
	bw_log_set_status_line(true);
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cond, NULL);
	if (pthread_create(&p->th, NULL, progress_main, p)) {
		bw_log_set_status_line(false);
		pthread_cond_destroy(&p->cond);
		pthread_mutex_destroy(&p->mu);
		progress_free(p);
		return NULL;
	}
	return p;
}

void cmd_progress_phase(struct cmd_progress *p, const char *phase)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	snprintf(p->phase, sizeof(p->phase), "%s", phase ? phase : "");
	pthread_mutex_unlock(&p->mu);
}

void cmd_progress_stop(struct cmd_progress *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	p->stop = true;
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->mu);
	pthread_join(p->th, NULL);
	if (p->width)
		fprintf(stderr, "\r%*s\r", p->width, "");
	fflush(stderr);
	bw_log_set_status_line(false);
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->mu);
	progress_free(p);
}
