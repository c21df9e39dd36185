/*
 * cmd_features.c — `botwatch features`: the Kafka features stage, an export
 * of its stored state, or the feature registry's reference (--list as TSV,
 * --markdown as docs/FEATURES.md, --hash).
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bw_err.h"
#include "bw_log.h"
#include "bw_time.h"
#include "cfg.h"
#include "commands.h"
#include "feat.h"
#include "feat_stage.h"
#include "stage_features.h"

/* Set by the signal handler, read by the stage: a lock-free C11 atomic is both
   async-signal-safe and race-free across threads. */
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "the stop flag must be lock-free");
static atomic_int features_stop;

static void on_signal(int sig)
{
	(void)sig;
	features_stop = 1;
}

static void features_usage(FILE *out)
{
	fprintf(out,
		"usage: botwatch features [--brokers LIST] [--max-messages N] [--idle-exit-ms N]\n"
		"                         [--config FILE] [--set key=value]...\n"
		"       botwatch features --export [--include-observed]\n"
		"       botwatch features (--list | --markdown | --hash)\n\n"
		"Without a listing option, runs the features stage: consumes posts (ingest.topic)\n"
		"in group features.group_id, keeps per-account state in LMDB (features.state_dir)\n"
		"with the consumed offsets in the same transaction, and produces a feature update\n"
		"per changed account to features.topic. SIGINT/SIGTERM commit and stop.\n\n"
		"  --brokers LIST      Kafka bootstrap servers (kafka.bootstrap.servers)\n"
		"  --max-messages N    stop after N consumed messages\n"
		"  --idle-exit-ms N    stop after N ms without a message once partitions are assigned\n"
		"  --crash-after N     fault injection (tests): abandon the open batch after N\n"
		"                      messages and exit with status 3\n"
		"  --export            print every stored account's vector as NDJSON (the replay format)\n"
		"  --include-observed  with --export: also accounts that were only observed\n"
		"  --list              every feature as TSV: index, name, class, description\n"
		"  --markdown          the feature reference (docs/FEATURES.md)\n"
		"  --hash              the feature schema hash models are trained against\n");
}

static int print_registry(const char *mode)
{
	int rc;

	if (strcmp(mode, "--list") == 0)
		rc = feat_write_list(stdout);
	else if (strcmp(mode, "--markdown") == 0)
		rc = feat_write_markdown(stdout);
	else
		rc = printf("%s\n", feat_schema_hash()) < 0 ? BW_EIO : 0;
	if (rc || fflush(stdout)) {
		fprintf(stderr, "botwatch features: cannot write output\n");
		return 1;
	}
	return 0;
}

struct export_ctx {
	bool include_observed; /* also never-authored accounts */
	struct feat_pop *pop;  /* the store's population table, as the stage keeps it */
	double *vec;           /* scratch */
	uint64_t written;      /* lines written */
};

static int export_one(const struct feat_account *a, void *opaque)
{
	struct export_ctx *x = opaque;

	if (!x->include_observed && !feat_account_authored(a))
		return 0;
	if (feat_account_extract(a, BW_TIME_NONE, x->vec))
		return BW_EIO;
	feat_pop_fill(x->pop, a, x->vec);
	if (feat_write_ndjson(stdout, a, x->vec))
		return BW_EIO;
	x->written++;
	return 0;
}

static int export_state(const struct bw_config *cfg, bool include_observed)
{
	struct export_ctx x = { include_observed, feat_pop_new(), malloc(feat_count() * sizeof(double)),
				0 };
	char err[512] = "";
	struct feat_store *s = x.vec && x.pop ? feat_store_open(cfg->features_state,
						     (size_t)cfg->features_map_size_mb, err, sizeof(err))
				     : NULL;
	int rc;

	if (!s) {
		BW_ERROR("botwatch features: %s", x.vec && x.pop ? err : "out of memory");
		feat_pop_free(x.pop);
		free(x.vec);
		return 1;
	}
	rc = feat_store_pop_counts(s, x.pop, err, sizeof(err));
	if (!rc)
		rc = feat_store_each(s, export_one, &x, err, sizeof(err));
	feat_store_close(s);
	feat_pop_free(x.pop);
	free(x.vec);
	if (rc || fflush(stdout)) {
		BW_ERROR("botwatch features: export: %s",
			err[0] ? err : rc ? bw_strerror(rc) : "write failed");
		return 1;
	}
	BW_INFO("botwatch features: exported %llu accounts", (unsigned long long)x.written);
	return 0;
}

/* Parse a non-negative integer option value; false on garbage. */
static bool parse_count(const char *v, long long *out)
{
	char *end;
	errno = 0;
	*out = strtoll(v, &end, 10);
	return v[0] && !errno && !*end && *out >= 0;
}

static int run_stage(struct bw_config *cfg, const struct feat_stage_opts *o)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct feat_stage_stats st;
	char err[512];
	int rc;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	rc = feat_stage_run(cfg, o, &features_stop, &st, err, sizeof(err));
	BW_INFO("features: %llu messages, %llu posts, %llu observations, %llu forwarded, %llu "
		"undecodable, %llu late, %llu commits, %llu updates",
		(unsigned long long)st.messages, (unsigned long long)st.posts,
		(unsigned long long)st.observations, (unsigned long long)st.forwarded,
		(unsigned long long)st.bad, (unsigned long long)st.late,
		(unsigned long long)st.commits, (unsigned long long)st.updates);
	if (rc == BW_ESTOP && o->crash_after) {
		BW_ERROR("botwatch features: %s", err);
		return 3; /* the test's "crashed" status */
	}
	if (rc) {
		BW_ERROR("botwatch features: %s", err);
		return 1;
	}
	return 0;
}

/* Options into *o / cfg / *mode; 0 or 2 (usage error, printed). */
static int parse_args(int argc, char **argv, struct bw_config *cfg, struct feat_stage_opts *o,
		      const char **mode, bool *observed)
{
	char err[512];

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		long long n;
		if (strcmp(a, "--list") == 0 || strcmp(a, "--markdown") == 0 ||
		    strcmp(a, "--hash") == 0 || strcmp(a, "--export") == 0) {
			if (*mode) {
				fprintf(stderr, "botwatch features: choose one of --list, --markdown, --hash, --export\n");
				return 2;
			}
			*mode = a;
		} else if (strcmp(a, "--include-observed") == 0) {
			*observed = true;
		} else if (strcmp(a, "--brokers") == 0 && v) {
			if (cfg_set(cfg, "kafka.bootstrap.servers", v, "--brokers", err, sizeof(err))) {
				fprintf(stderr, "botwatch features: %s\n", err);
				return 2;
			}
			i++;
		} else if ((strcmp(a, "--max-messages") == 0 || strcmp(a, "--idle-exit-ms") == 0 ||
			    strcmp(a, "--crash-after") == 0) && v) {
			if (!parse_count(v, &n)) {
				fprintf(stderr, "botwatch features: %s: '%s' is not a count\n", a, v);
				return 2;
			}
			if (a[2] == 'm')
				o->max_messages = (uint64_t)n;
			else if (a[2] == 'i')
				o->idle_exit_ms = n;
			else
				o->crash_after = (uint64_t)n;
			i++;
		} else {
			fprintf(stderr, "botwatch features: unknown option or missing value: '%s'\n", a);
			features_usage(stderr);
			return 2;
		}
	}
	return 0;
}

int cmd_features(int argc, char **argv)
{
	struct bw_config *cfg;
	struct feat_stage_opts o = { 0 };
	const char *mode = NULL;
	bool observed = false;
	int rc;

	int begun = cfg_cli_begin("features", features_usage, &argc, argv, &cfg);
	if (begun >= 0)
		return begun;
	bw_log_set_level(bw_log_level_parse(cfg->log_level));
	rc = parse_args(argc, argv, cfg, &o, &mode, &observed);
	if (rc == 0) {
		if (!mode)
			rc = run_stage(cfg, &o);
		else if (strcmp(mode, "--export") == 0)
			rc = export_state(cfg, observed);
		else
			rc = print_registry(mode);
	}
	cfg_free(cfg);
	return rc;
}
