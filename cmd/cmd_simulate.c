/*
 * cmd_simulate.c — `botwatch simulate`: write a simulated dump of human and
 * bot timelines with ground-truth labels (docs/SIMULATOR.md); with --serve,
 * then serve it as a live stream (cmd/sim_stream.c).
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <signal.h>
#include <unistd.h>
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
		"                         --labels CSV [--posts-per-account K] [--end ISO8601]\n"
		"       botwatch simulate --serve HOST:PORT [--rate N] [--port-file FILE] [options above]\n\n"
		"  --accounts N           labelled accounts to simulate (default 1000)\n"
		"  --bot-share F          share of bots, 0..1 (default 0.5)\n"
		"  --seed S               generator seed; same seed, same bytes (default 1)\n"
		"  --out FILE             gzip NDJSON of v1.1 statuses (required)\n"
		"  --labels FILE          CSV user_id,label,class (required)\n"
		"  --posts-per-account K  newest posts kept per account (default 200)\n"
		"  --end TIME             end of the simulated window (default 2021-04-01)\n"
		"  --serve HOST:PORT      then serve the dump as a live stream until SIGINT/SIGTERM:\n"
		"                         /1.1/statuses/sample.json (v1.1, delimited=length),\n"
		"                         /2/tweets/search/stream (v2 NDJSON), /subscribe (Bluesky\n"
		"                         Jetstream over WebSocket); port 0 picks a free port\n"
		"                         (--out and --labels are optional then)\n"
		"  --rate N               posts a second per connection (default 100; 0 = unpaced)\n"
		"  --port-file FILE       write the bound port to FILE\n");
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
/* --serve options. */
struct serve_args {
	const char *listen;    /* --serve or NULL */
	double rate;           /* --rate */
	const char *port_file; /* --port-file or NULL */
};

static int sim_args(int argc, char **argv, struct clf_sim_opts *o, const char **out,
		    const char **labels, struct serve_args *sv)
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
		} else if (strcmp(a, "--serve") == 0) {
			sv->listen = v;
		} else if (strcmp(a, "--port-file") == 0) {
			sv->port_file = v;
		} else if (strcmp(a, "--rate") == 0) {
			if (parse_num(a, v, 0, 1e7, &sv->rate))
				return 2;
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
	if (!sv->listen && (!*out || !*labels)) {
		fprintf(stderr, "botwatch simulate: --out and --labels are required\n");
		return 2;
	}
	return 0;
}

static atomic_int sim_stop;

static void on_signal(int sig)
{
	(void)sig;
	atomic_store(&sim_stop, 1);
}

/* --serve: stream the dump until a signal. */
static int serve(const char *out, const struct serve_args *sv)
{
	struct sim_stream_opts so = { sv->listen, sv->rate, sv->port_file, &sim_stop };
	struct sigaction sa = { .sa_handler = on_signal };
	char err[512];

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (sim_stream_serve(out, &so, err, sizeof(err))) {
		fprintf(stderr, "botwatch simulate: %s\n", err);
		return 1;
	}
	return 0;
}

/* A temporary file name (--serve without --out / --labels): unlinked at exit. */
static const char *tmp_path(char *buf, size_t n, const char *suffix)
{
	const char *dir = getenv("TMPDIR");
	int fd;

	snprintf(buf, n, "%s/botwatch-sim-XXXXXX%s", dir && *dir ? dir : "/tmp", suffix);
	if ((fd = mkstemps(buf, (int)strlen(suffix))) < 0)
		return NULL;
	close(fd);
	return buf;
}

int cmd_simulate(int argc, char **argv)
{
	struct bw_config *cfg = NULL;
	struct clf_sim_opts o;
	struct clf_sim_stats st;
	struct serve_args sv = { NULL, 100, NULL };
	const char *out = NULL, *labels = NULL;
	char err[512], tmp_out[512] = "", tmp_lab[512] = "";

	int begun = cfg_cli_begin("simulate", sim_usage, &argc, argv, &cfg);
	if (begun >= 0)
		return begun;
	cfg_free(cfg);
	clf_sim_opts_init(&o);
	int rc = sim_args(argc, argv, &o, &out, &labels, &sv);
	if (rc) {
		sim_usage(stderr);
		return 2;
	}
	if ((!out && !(out = tmp_path(tmp_out, sizeof(tmp_out), ".jsonl.gz"))) ||
	    (!labels && !(labels = tmp_path(tmp_lab, sizeof(tmp_lab), ".csv")))) {
		fprintf(stderr, "botwatch simulate: cannot create a temporary file: %s\n",
			strerror(errno));
		rc = 1;
		goto out_unlink;
	}
	if (clf_sim_run(&o, out, labels, &st, err, sizeof(err))) {
		fprintf(stderr, "botwatch simulate: %s\n", err);
		rc = 1;
		goto out_unlink;
	}
	fprintf(stderr, "botwatch simulate: %zu accounts (%zu humans, %zu bots), %zu posts -> %s\n",
		st.humans + st.bots, st.humans, st.bots, st.posts, out);
	if (sv.listen)
		rc = serve(out, &sv);
out_unlink:
	if (*tmp_out)
		unlink(tmp_out);
	if (*tmp_lab)
		unlink(tmp_lab);
	return rc;
}
