/*
 * cmd_simulate.c — `botwatch simulate`: write a simulated dump of human and
 * bot timelines with ground-truth labels (docs/SIMULATOR.md).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bw_err.h"
#include "bw_time.h"
#include "cfg.h"
#include "clf_sim.h"
#include "commands.h"

static void sim_usage(FILE *out)
{
	fprintf(out,
		"usage: botwatch simulate --accounts N --bot-share F --seed S --out DUMP.jsonl.gz\n"
		"                         --labels CSV [--posts-per-account K] [--end ISO8601]\n\n"
		"  --accounts N           labelled accounts to simulate (default 1000)\n"
		"  --bot-share F          share of bots, 0..1 (default 0.5)\n"
		"  --seed S               generator seed; same seed, same bytes (default 1)\n"
		"  --out FILE             gzip NDJSON of v1.1 statuses (required)\n"
		"  --labels FILE          CSV user_id,label,class (required)\n"
		"  --posts-per-account K  newest posts kept per account (default 200)\n"
		"  --end TIME             end of the simulated window (default 2021-04-01)\n");
}

static int parse_num(const char *opt, const char *v, double lo, double hi, double *out)
{
	char *e;
	errno = 0;
	double d = strtod(v, &e);
	if (!*v || *e || errno || !(d >= lo && d <= hi)) {
		fprintf(stderr, "botwatch simulate: %s: '%s' is not a number in [%g, %g]\n", opt, v,
			lo, hi);
		return -1;
	}
	*out = d;
	return 0;
}

/* Parse the options into o and the paths; 0 ok, 2 usage error, 3 help. */
static int sim_args(int argc, char **argv, struct clf_sim_opts *o, const char **out,
		    const char **labels)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		double d;
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
			return 3;
		if (!v) {
			fprintf(stderr, "botwatch simulate: %s needs a value\n", a);
			return 2;
		}
		i++;
		if (strcmp(a, "--out") == 0) {
			*out = v;
		} else if (strcmp(a, "--labels") == 0) {
			*labels = v;
		} else if (strcmp(a, "--accounts") == 0) {
			if (parse_num(a, v, 1, 1e7, &d))
				return 2;
			o->accounts = (size_t)d;
		} else if (strcmp(a, "--bot-share") == 0) {
			if (parse_num(a, v, 0, 1, &o->bot_share))
				return 2;
		} else if (strcmp(a, "--seed") == 0) {
			if (parse_num(a, v, 0, 9e15, &d))
				return 2;
			o->seed = (uint64_t)d;
		} else if (strcmp(a, "--posts-per-account") == 0) {
			if (parse_num(a, v, 1, 4096, &d))
				return 2;
			o->max_posts = (int)d;
		} else if (strcmp(a, "--end") == 0) {
			if (bw_time_parse_any(v, strlen(v), &o->end_ms)) {
				fprintf(stderr, "botwatch simulate: --end: '%s' is not a time\n", v);
				return 2;
			}
		} else {
			fprintf(stderr, "botwatch simulate: unknown option '%s'\n", a);
			return 2;
		}
	}
	if (!*out || !*labels) {
		fprintf(stderr, "botwatch simulate: --out and --labels are required\n");
		return 2;
	}
	return 0;
}

int cmd_simulate(int argc, char **argv)
{
	struct bw_config *cfg = NULL;
	struct clf_sim_opts o;
	struct clf_sim_stats st;
	const char *out = NULL, *labels = NULL;
	char err[512];

	int begun = cfg_cli_begin("simulate", sim_usage, &argc, argv, &cfg);
	if (begun >= 0)
		return begun;
	cfg_free(cfg);
	clf_sim_opts_init(&o);
	int rc = sim_args(argc, argv, &o, &out, &labels);
	if (rc) {
		sim_usage(stderr);
		return 2;
	}
	if (clf_sim_run(&o, out, labels, &st, err, sizeof(err))) {
		fprintf(stderr, "botwatch simulate: %s\n", err);
		return 1;
	}
	fprintf(stderr, "botwatch simulate: %zu accounts (%zu humans, %zu bots), %zu posts -> %s\n",
		st.humans + st.bots, st.humans, st.bots, st.posts, out);
	return 0;
}
