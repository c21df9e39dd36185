/*
 * cmd_score.c — `botwatch score`: the Kafka scoring stage as its own process
 * (stage/stage_score.h, docs/PIPELINE.md).
 *
 *   botwatch score [--brokers LIST] [--store DIR] [--model FILE] [--idle-exit-ms N]
 *
 * SIGINT/SIGTERM score every held-back account, commit and stop; SIGHUP
 * reloads score.model between batches (old and new ids logged).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bw_err.h"
#include "bw_log.h"
#include "cfg.h"
#include "stage_score.h"
#include "commands.h"

/* Set by the signal handler, read by the stage: a lock-free C11 atomic is both
   async-signal-safe and race-free across threads. */
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "the stop flag must be lock-free");
static atomic_int score_stop;
static atomic_int score_reload; /* SIGHUP: reload score.model (stage_score.h) */

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		score_reload = 1;
	else
		score_stop = 1;
}

static void score_usage(FILE *out)
{
	fprintf(out,
		"usage: botwatch score [--config FILE] [--set key=value]... [--brokers LIST]\n"
		"                      [--store DIR] [--model FILE] [--idle-exit-ms N]\n\n"
		"Consume feature updates from features.topic in consumer group score.group_id,\n"
		"rescore each account at most once per score.debounce_ms of event time (in batches\n"
		"of score.batch), write the score records (docs/SCORES.md) and feature vectors to\n"
		"the LMDB store and the records to the compacted topic score.topic (key = account\n"
		"id), then commit the consumed offsets. SIGINT/SIGTERM score what is held back,\n"
		"commit and stop.\n\n"
		"  --brokers LIST     Kafka bootstrap servers (kafka.bootstrap.servers; required)\n"
		"  --store DIR        LMDB store the API serves (store.path)\n"
		"  --model FILE       model file (score.model)\n"
		"  --idle-exit-ms N   stop after N ms without an update once assigned and nothing\n"
		"                     is held back\n");
}

/* Options into cfg / *idle_ms; 0 or 2 (usage error, printed). */
static int parse_args(int argc, char **argv, struct bw_config *cfg, int64_t *idle_ms)
{
	static const struct cfg_flag flags[] = {
		{ "--brokers", "kafka.bootstrap.servers" }, { "--store", "store.path" },
		{ "--model", "score.model" },
	};
	char err[512];

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		int rc = cfg_flag_apply(cfg, flags, sizeof(flags) / sizeof(flags[0]), argc, argv, &i,
					err, sizeof(err));
		if (rc < 0) {
			fprintf(stderr, "botwatch score: %s\n", err);
			return 2;
		}
		if (rc > 0)
			continue;
		if (strcmp(a, "--idle-exit-ms") == 0 && v) {
			char *end;
			errno = 0;
			long long n = strtoll(v, &end, 10);
			if (!v[0] || *end || errno || n < 0) {
				fprintf(stderr, "botwatch score: --idle-exit-ms: '%s' is not a count\n", v);
				return 2;
			}
			*idle_ms = n;
			i++;
		} else {
			fprintf(stderr, "botwatch score: unknown option or missing value: '%s'\n", a);
			score_usage(stderr);
			return 2;
		}
	}
	return 0;
}

int cmd_score(int argc, char **argv)
{
	struct bw_config *cfg;
	struct clf_stage_opts o = { .reload = &score_reload };
	struct clf_stage_stats st;
	struct sigaction sa = { .sa_handler = on_signal };
	char err[512];
	int rc;

	int begun = cfg_cli_begin("score", score_usage, &argc, argv, &cfg);
	if (begun >= 0)
		return begun;
	bw_log_set_level(bw_log_level_parse(cfg->log_level));
	if ((rc = parse_args(argc, argv, cfg, &o.idle_exit_ms))) {
		cfg_free(cfg);
		return rc;
	}
	if (cfg_resolve_model(cfg, NULL, err, sizeof(err))) {
		BW_ERROR("botwatch score: %s", err);
		cfg_free(cfg);
		return 1;
	}
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	rc = clf_stage_run(cfg, &o, &score_stop, &st, err, sizeof(err));
	BW_INFO("score: %llu updates, %llu scored, %llu batches, %llu debounced, %llu not scored, "
		"%llu offset commits",
		(unsigned long long)st.messages, (unsigned long long)st.scored,
		(unsigned long long)st.batches, (unsigned long long)st.debounced,
		(unsigned long long)st.errors, (unsigned long long)st.commits);
	if (rc)
		BW_ERROR("botwatch score: %s", err);
	cfg_free(cfg);
	return rc ? 1 : 0;
}
