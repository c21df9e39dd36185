/*
 * bw_mem.h — the process's memory as the kernel sees it: resident anonymous
 * (heap) and file-backed pages from /proc/self/status, with a sampling thread
 * that keeps their peaks (the kernel keeps only the whole RSS's, VmHWM).
 * The bounded-memory figures of replay and the pipeline are reported from it.
 *
 * Leaf module: no application headers.
 */
#ifndef BW_MEM_H
#define BW_MEM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/* One reading of /proc/self/status, in KiB (0 when the kernel does not tell). */
struct bw_mem {
	uint64_t anon_kb;  /* RssAnon: resident anonymous memory (heap, stacks) */
	uint64_t file_kb;  /* RssFile: resident file-backed pages (mapped stores) */
	uint64_t hwm_kb;   /* VmHWM: peak resident set */
};

void bw_mem_read(struct bw_mem *m);

/* A thread sampling every `period_ms` and keeping the peaks. */
struct bw_mem_sampler {
	pthread_t th;               /* the sampling thread */
	bool started;               /* th is valid */
	atomic_bool stop;           /* set to end it */
	int period_ms;              /* sampling period */
	uint64_t anon_peak_kb;      /* largest RssAnon seen (read after stop) */
	uint64_t file_peak_kb;      /* largest RssFile seen */
	uint64_t hwm_kb;            /* VmHWM at the last sample */
};

/* Start sampling into *s (caller-owned, zeroed by this call). 0 or BW_ENOMEM. */
int bw_mem_sampler_start(struct bw_mem_sampler *s, int period_ms);

/* Take a last sample and stop the thread; the peaks are then final. */
void bw_mem_sampler_stop(struct bw_mem_sampler *s);

#endif
