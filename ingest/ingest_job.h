/*
 * ingest_job.h — one whole ingest run (`botwatch ingest` without its option
 * parsing): read cfg->ingest_source (a stream URL, a file or `-`), decode,
 * produce posts and dead letters to Kafka, flush, and report the totals.
 * `botwatch run` and `replay --via-kafka` run it on a thread of their own.
 *
 * The caller initialises libcurl (curl_global_init) once per process before
 * the first run and handles signals; *stop ends the run (reading stops, the
 * producer is flushed).
 */
#ifndef BW_INGEST_JOB_H
#define BW_INGEST_JOB_H

#include <signal.h>
#include <stdatomic.h>

struct bw_config;

/*
 * Ingest cfg->ingest_source with `cfg` (borrowed) until the source ends or
 * *stop (borrowed) is set. With kafka.bootstrap.servers empty the embedded
 * broker is started for the run's lifetime only. Errors are reported as
 * "botwatch ingest: ..." lines on stderr. Returns 0 when everything read was
 * delivered, else 1 (an exit status).
 */
int ingest_job_run(const struct bw_config *cfg, atomic_int *stop);

#endif
