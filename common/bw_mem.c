/*
 * bw_mem.c — resident memory readings and their peaks (bw_mem.h).
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bw_err.h"
#include "bw_mem.h"

void bw_mem_read(struct bw_mem *m)
{
	char line[256];
	FILE *f = fopen("/proc/self/status", "r");

	*m = (struct bw_mem){ 0 };
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		uint64_t *dst = strncmp(line, "RssAnon:", 8) == 0 ? &m->anon_kb
				: strncmp(line, "RssFile:", 8) == 0 ? &m->file_kb
				: strncmp(line, "VmHWM:", 6) == 0 ? &m->hwm_kb : NULL;
		if (dst)
			*dst = strtoull(strchr(line, ':') + 1, NULL, 10);
	}
	fclose(f);
}

static void sample(struct bw_mem_sampler *s)
{
	struct bw_mem m;

	bw_mem_read(&m);
	if (m.anon_kb > s->anon_peak_kb)
		s->anon_peak_kb = m.anon_kb;
	if (m.file_kb > s->file_peak_kb)
		s->file_peak_kb = m.file_kb;
	s->hwm_kb = m.hwm_kb;
}

static void *sampler_main(void *arg)
{
	struct bw_mem_sampler *s = arg;
	struct timespec tick = { s->period_ms / 1000, (long)(s->period_ms % 1000) * 1000000L };

	while (!atomic_load(&s->stop)) {
		sample(s);
		nanosleep(&tick, NULL);
	}
	return NULL;
}

int bw_mem_sampler_start(struct bw_mem_sampler *s, int period_ms)
{
	memset(s, 0, sizeof(*s));
	atomic_init(&s->stop, false);
	s->period_ms = period_ms > 0 ? period_ms : 20;
	if (pthread_create(&s->th, NULL, sampler_main, s))
		return BW_ENOMEM;
	s->started = true;
	return 0;
}

void bw_mem_sampler_stop(struct bw_mem_sampler *s)
{
	if (s->started) {
		atomic_store(&s->stop, true);
		pthread_join(s->th, NULL);
		s->started = false;
	}
	sample(s);
}
