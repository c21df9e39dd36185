/*
 * cmd_demo.c — `botwatch demo`: the live demo. Starts `botwatch simulate
 * --serve` (a simulated stream with ground truth) and `botwatch run` reading
 * it (ingest → features → score → store → API), shows a live view (posts/s,
 * accounts, scored, top bots, the conversation report, the dashboard URL)
 * read from the API, and ends with one JSON line: posts, accounts, scored,
 * api_ok, the AUC of the scores against the simulator's labels.
 *
 * Both children are this same binary (/proc/self/exe); their logs go to the
 * work directory. SIGINT/SIGTERM end the demo early (summary still printed).
 */
#define _GNU_SOURCE
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bw_err.h"
#include "bw_time.h"
#include "clf_cmd.h"
#include "commands.h"

#define BODY_MAX (64u << 20) /* largest API answer read (the export at the end) */

extern char **environ;

static atomic_int demo_stop;

static void on_signal(int sig)
{
	(void)sig;
	atomic_store(&demo_stop, 1);
}

static void demo_usage(FILE *out)
{
	fprintf(out,
		"usage: botwatch demo [--duration S] [--accounts N] [--rate N] [--seed S]\n"
		"                     [--framing v1.1|v2|jetstream] [--dir DIR] [--quiet]\n\n"
		"The live demo: a simulated stream (`simulate --serve`) read by the whole pipeline\n"
		"(`run`), with a live view of what the API answers and the dashboard's URL. Ends\n"
		"after S seconds (0: at Ctrl-C) with one JSON line: posts, accounts, scored, api_ok,\n"
		"auc (the scores against the simulator's ground truth).\n\n"
		"  --duration S     seconds to run (default 60)\n"
		"  --accounts N     simulated accounts (default 300; 30 posts each at most)\n"
		"  --rate N         posts a second (default 200)\n"
		"  --seed S         simulator seed (default 1)\n"
		"  --framing F      stream framing: v1.1 (default), v2 or jetstream\n"
		"  --dir DIR        work directory kept afterwards (default: a temporary one, removed)\n"
		"  --quiet          no live view, only the summary line\n");
}

struct demo_args {
	double duration, rate;       /* seconds, posts a second */
	long accounts, seed;         /* simulator options */
	const char *framing;         /* v1.1, v2, jetstream */
	const char *dir;             /* --dir or NULL */
	bool quiet;                  /* --quiet */
};

static int demo_parse(int argc, char **argv, struct demo_args *a)
{
	for (int i = 1; i < argc; i++) {
		const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		char *end = NULL;
		double d = v ? strtod(v, &end) : 0;
		bool num = v && end != v && !*end;
		if (strcmp(o, "--quiet") == 0) {
			a->quiet = true;
			continue;
		}
		if (!v) {
			fprintf(stderr, "botwatch demo: %s needs a value\n", o);
			return 2;
		}
		i++;
		if (strcmp(o, "--duration") == 0 && num && d >= 0 && d <= 86400)
			a->duration = d;
		else if (strcmp(o, "--rate") == 0 && num && d > 0 && d <= 1e6)
			a->rate = d;
		else if (strcmp(o, "--accounts") == 0 && num && d >= 10 && d <= 1e6)
			a->accounts = (long)d;
		else if (strcmp(o, "--seed") == 0 && num && d >= 0 && d <= 1e15)
			a->seed = (long)d;
		else if (strcmp(o, "--framing") == 0 &&
			 (!strcmp(v, "v1.1") || !strcmp(v, "v2") || !strcmp(v, "jetstream")))
			a->framing = v;
		else if (strcmp(o, "--dir") == 0)
			a->dir = v;
		else {
			fprintf(stderr, "botwatch demo: bad option %s %s\n", o, v);
			return 2;
		}
	}
	return 0;
}

/* Start this binary with `args` (NULL-terminated), stderr to `log`. */
static pid_t spawn_self(char *const *args, const char *log)
{
	posix_spawn_file_actions_t fa;
	pid_t pid = -1;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 2, log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	if (posix_spawn(&pid, "/proc/self/exe", &fa, NULL, args, environ))
		pid = -1;
	posix_spawn_file_actions_destroy(&fa);
	return pid;
}

/* Stop a child: SIGTERM, then SIGKILL after `grace_ms`. */
static void stop_child(pid_t pid, int64_t grace_ms)
{
	int64_t t0 = bw_time_mono_ms();
	int st;

	if (pid <= 0)
		return;
	kill(pid, SIGTERM);
	while (waitpid(pid, &st, WNOHANG) == 0) {
		if (bw_time_mono_ms() - t0 > grace_ms) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			return;
		}
		struct timespec ts = { 0, 50 * 1000000 };
		nanosleep(&ts, NULL);
	}
}

/* A free loopback port (bound, read, released: `run` then binds it). */
static unsigned free_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	unsigned port = 0;

	if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &sl) == 0)
		port = ntohs(sa.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

/* Read the port a child wrote, waiting up to `ms`; 0 when none. */
static unsigned read_port(const char *path, int64_t ms)
{
	int64_t t0 = bw_time_mono_ms();

	while (bw_time_mono_ms() - t0 < ms && !atomic_load(&demo_stop)) {
		FILE *f = fopen(path, "r");
		unsigned p = 0;
		if (f) {
			char buf[32] = "";
			if (fgets(buf, sizeof(buf), f))
				p = (unsigned)strtoul(buf, NULL, 10);
			fclose(f);
		}
		if (p)
			return p;
		struct timespec ts = { 0, 50 * 1000000 };
		nanosleep(&ts, NULL);
	}
	return 0;
}

/* --- the API, read over HTTP ---------------------------------------------------- */

struct body {
	char *p;     /* bytes (NUL-terminated) */
	size_t n;    /* length */
	bool over;   /* past BODY_MAX */
};

static size_t on_body(char *p, size_t size, size_t k, void *ud)
{
	struct body *b = ud;
	size_t n = size * k;
	char *q;

	if (b->n + n > BODY_MAX) {
		b->over = true;
		return 0;
	}
	if (!(q = realloc(b->p, b->n + n + 1)))
		return 0;
	memcpy(q + b->n, p, n);
	b->p = q;
	b->n += n;
	b->p[b->n] = '\0';
	return n;
}

/* GET base+path: the body (malloc'd, caller frees) on HTTP 200, else NULL. */
static char *http_get(CURL *c, const char *base, const char *path, long *status)
{
	char url[512];
	struct body b = { NULL, 0, false };

	snprintf(url, sizeof(url), "%s%s", base, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
	*status = 0;
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	if (*status != 200 || b.over || !b.p) {
		free(b.p);
		return NULL;
	}
	return b.p;
}

/* Sum of a metric's samples in Prometheus text (0 when absent). */
static double metric(const char *text, const char *name)
{
	size_t n = strlen(name);
	double sum = 0;

	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		if (strncmp(p, name, n) == 0 && (p[n] == ' ' || p[n] == '{')) {
			const char *e = strchr(p, '\n'), *sp = p;
			for (const char *q = p; q < (e ? e : p + strlen(p)); q++)
				if (*q == ' ')
					sp = q;
			sum += strtod(sp, NULL);
		}
	}
	return sum;
}

/* What the demo saw last. */
struct view {
	double posts, prev_posts;   /* posts ingested now and at the last look */
	int64_t at, prev_at;        /* when (monotonic ms) */
	json_int_t accounts;        /* records in the store */
	json_int_t scored;          /* of them with a score */
	json_t *summary, *report;   /* last answers (owned) */
	bool api_up;                /* the API answered once */
	bool api_ok;                /* every request since then got 200 */
	long requests;              /* requests made since it came up */
};

/* One round of requests; false when the API is not up yet. */
static void look(CURL *c, const char *base, struct view *v)
{
	long st;
	char *m = http_get(c, base, "/metrics", &st);
	char *s, *r;

	if (!m && !v->api_up)
		return; /* `run` is still starting */
	v->api_up = true;
	v->requests += 3;
	v->api_ok &= m != NULL;
	s = http_get(c, base, "/v1/summary?top=5", &st);
	v->api_ok &= s != NULL;
	r = http_get(c, base, "/v1/report?window=all&top=5", &st);
	v->api_ok &= r != NULL;
	v->prev_posts = v->posts, v->prev_at = v->at;
	v->posts = m ? metric(m, "botwatch_ingest_posts_total") : v->posts;
	v->at = bw_time_mono_ms();
	if (s) {
		json_decref(v->summary);
		v->summary = json_loads(s, 0, NULL);
		const json_t *bs = json_object_get(v->summary, "by_status");
		v->accounts = json_integer_value(json_object_get(v->summary, "accounts"));
		v->scored = v->accounts - json_integer_value(json_object_get(bs, "insufficient_data"));
	}
	if (r) {
		json_decref(v->report);
		v->report = json_loads(r, 0, NULL);
	}
	free(m), free(s), free(r);
}

static const char *str_or(const json_t *v, const char *dflt)
{
	return json_string_value(v) ? json_string_value(v) : dflt;
}

static void show(const struct view *v, const struct demo_args *a, const char *base, double el,
		 bool tty)
{
	double rate = v->at > v->prev_at ? (v->posts - v->prev_posts) * 1000.0 / (double)(v->at - v->prev_at) : 0;
	const json_t *x;
	size_t i;

	if (!tty) {
		printf("demo: %.0f s: %.0f posts (%.0f/s), %lld accounts, %lld scored\n", el, v->posts,
		       rate, (long long)v->accounts, (long long)v->scored);
		fflush(stdout);
		return;
	}
	printf("\033[H\033[2J");
	printf("botwatch demo: simulated %s stream, %g posts/s → ingest → features → score → store → API\n",
	       a->framing, a->rate);
	printf("dashboard: %s/\n\n", base);
	printf("  %5.0f s   posts %8.0f  (%6.0f/s)   accounts %6lld   scored %6lld   API %s\n\n", el,
	       v->posts, rate, (long long)v->accounts, (long long)v->scored,
	       !v->api_up ? "starting" : v->api_ok ? "ok" : "ERRORS");
	printf("  top bots\n");
	json_array_foreach(json_object_get(v->summary, "top"), i, x)
		printf("    @%-21s %-14s score %.3f  CAP %.3f\n",
		       str_or(json_object_get(x, "screen_name"), "-"),
		       str_or(json_object_get(x, "status"), ""),
		       json_number_value(json_object_get(x, "score")),
		       json_number_value(json_object_get(json_object_get(x, "cap"), "english")));
	printf("\n  conversation report (hashtags, all time, CAP >= 0.5; 95%% CI)\n");
	json_array_foreach(json_object_get(v->report, "rows"), i, x) {
		const json_t *ci = json_object_get(x, "share_posts_ci");
		printf("    #%-16s %6lld posts %5lld accounts   posts above %5.1f%% [%4.1f–%4.1f]   accounts above %5.1f%%\n",
		       json_string_value(json_object_get(x, "key")),
		       (long long)json_integer_value(json_object_get(x, "posts")),
		       (long long)json_integer_value(json_object_get(x, "accounts")),
		       100 * json_number_value(json_object_get(x, "share_posts")),
		       100 * json_number_value(json_array_get(ci, 0)),
		       100 * json_number_value(json_array_get(ci, 1)),
		       100 * json_number_value(json_object_get(x, "share_accounts")));
	}
	printf("\n  (Ctrl-C ends the demo)\n");
	fflush(stdout);
}

/* --- the end: AUC against the simulator's labels ------------------------------------ */

struct scored {
	double score; /* the account's score */
	int label;    /* 1 bot, 0 human */
};

static int by_score(const void *x, const void *y)
{
	const struct scored *a = x, *b = y;
	return a->score < b->score ? -1 : a->score > b->score;
}

/* AUC (Mann-Whitney, ties counted half) of the exported scores against the
 * labels; NAN when either class is missing. */
static double auc_of(const char *ndjson, const struct clf_labels *lb, long *n_labelled)
{
	struct scored *v = NULL, *nv;
	size_t n = 0, cap = 0, pos = 0, neg = 0;
	double rank_sum = 0;
	const char *p = ndjson;

	while (p && *p) {
		const char *e = strchr(p, '\n');
		json_t *r = json_loadb(p, e ? (size_t)(e - p) : strlen(p), 0, NULL);
		const json_t *sc = json_object_get(r, "score");
		const char *id = str_or(json_object_get(r, "user_id"), "");
		long i;
		if (strncmp(id, "did:plc:sim", 11) == 0)
			id += 11; /* the Jetstream framing's DID of simulated account N */
		i = r ? clf_labels_find(lb, id) : -1;
		if (i >= 0 && json_is_number(sc)) {
			if (n == cap && (nv = realloc(v, (cap = cap ? 2 * cap : 1024) * sizeof(*v))))
				v = nv;
			if (n < cap)
				v[n++] = (struct scored){ json_number_value(sc), lb->label[i] };
		}
		json_decref(r);
		p = e ? e + 1 : NULL;
	}
	*n_labelled = (long)n;
	qsort(v, n, sizeof(*v), by_score);
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j < n && v[j].score == v[i].score)
			j++;
		for (size_t k = i; k < j; k++)
			if (v[k].label)
				rank_sum += (double)(i + j + 1) / 2.0; /* mid-rank, 1-based */
		i = j;
	}
	for (size_t i = 0; i < n; i++)
		v[i].label ? pos++ : neg++;
	free(v);
	if (!pos || !neg)
		return NAN;
	return (rank_sum - (double)pos * ((double)pos + 1) / 2.0) / ((double)pos * (double)neg);
}

/* nftw callback: remove one entry of the temporary work directory. */
static int rm_one(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb, (void)type, (void)ftw;
	remove(path);
	return 0;
}

/* --- the command ------------------------------------------------------------------ */

/* Start the simulator serving and `run` reading it; the API's base URL into base. */
static int start_children(const struct demo_args *a, const char *dir, pid_t *sim, pid_t *run,
			  char *base, size_t n)
{
	char acc[32], seed[32], rate[32], out[1024], lab[1024], pf[1024], log[1024], src[256];
	char store[1024], state[1024], listen[64], stset[1100], logs[1024];
	unsigned sport, aport;
	const char *path = !strcmp(a->framing, "v2") ? "/2/tweets/search/stream"
			   : !strcmp(a->framing, "jetstream") ? "/subscribe"
							      : "/1.1/statuses/sample.json";

	snprintf(acc, sizeof(acc), "%ld", a->accounts);
	snprintf(seed, sizeof(seed), "%ld", a->seed);
	snprintf(rate, sizeof(rate), "%g", a->rate);
	snprintf(out, sizeof(out), "%s/sim.jsonl.gz", dir);
	snprintf(lab, sizeof(lab), "%s/labels.csv", dir);
	snprintf(pf, sizeof(pf), "%s/sim.port", dir);
	snprintf(log, sizeof(log), "%s/simulate.log", dir);
	char *sargs[] = { "botwatch", "simulate", "--accounts", acc, "--bot-share", "0.3", "--seed",
			  seed, "--posts-per-account", "30", "--out", out, "--labels", lab,
			  "--serve", "127.0.0.1:0", "--rate", rate, "--port-file", pf, NULL };
	if ((*sim = spawn_self(sargs, log)) < 0 || !(sport = read_port(pf, 60000))) {
		fprintf(stderr, "botwatch demo: the simulator did not start (see %s)\n", log);
		return -1;
	}
	if (!(aport = free_port()))
		return -1;
	snprintf(src, sizeof(src), "%s://127.0.0.1:%u%s",
		 !strcmp(a->framing, "jetstream") ? "ws" : "http", sport, path);
	snprintf(store, sizeof(store), "%s/store", dir);
	snprintf(state, sizeof(state), "features.state_dir=%s/state", dir);
	snprintf(stset, sizeof(stset), "store.path=%s", store);
	snprintf(listen, sizeof(listen), "127.0.0.1:%u", aport);
	snprintf(logs, sizeof(logs), "%s/run.log", dir);
	char *rargs[] = { "botwatch", "run", "--source", src, "--listen", listen, "--set", stset,
			  "--set", state, "--set", "ingest.bearer_token=demo", "--set",
			  "log.level=warn", NULL };
	if ((*run = spawn_self(rargs, logs)) < 0) {
		fprintf(stderr, "botwatch demo: cannot start the pipeline\n");
		return -1;
	}
	snprintf(base, n, "http://127.0.0.1:%u", aport);
	return 0;
}

/* Run the live view until the duration passes or a signal. */
static void live(const struct demo_args *a, CURL *c, const char *base, pid_t run, struct view *v)
{
	int64_t t0 = bw_time_mono_ms(), last_line = 0;
	bool tty = isatty(1) && !a->quiet;
	int st;

	while (!atomic_load(&demo_stop)) {
		double el = (double)(bw_time_mono_ms() - t0) / 1000.0;
		if (a->duration > 0 && el >= a->duration)
			break;
		if (waitpid(run, &st, WNOHANG) == run) {
			fprintf(stderr, "botwatch demo: the pipeline stopped early\n");
			v->api_ok = false;
			break;
		}
		look(c, base, v);
		if (!a->quiet && (tty || bw_time_mono_ms() - last_line >= 5000)) {
			show(v, a, base, el, tty);
			last_line = bw_time_mono_ms();
		}
		struct timespec ts = { 1, 0 };
		nanosleep(&ts, NULL);
	}
}

int cmd_demo(int argc, char **argv)
{
	struct demo_args a = { 60, 200, 300, 1, "v1.1", NULL, false };
	struct view v = { .api_ok = true };
	struct clf_labels lb;
	char dirbuf[256], base[128] = "", lab[1100], err[512];
	const char *dir;
	pid_t sim = -1, run = -1;
	CURL *c = NULL;
	char *export = NULL;
	double auc = NAN;
	long labelled = 0, st;
	int rc = 1;

	if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		demo_usage(stdout);
		return 0;
	}
	if (demo_parse(argc, argv, &a)) {
		demo_usage(stderr);
		return 2;
	}
	clf_labels_init(&lb);
	snprintf(dirbuf, sizeof(dirbuf), "%s/botwatch-demo-XXXXXX",
		 getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (a.dir && mkdir(a.dir, 0775) && errno != EEXIST) {
		fprintf(stderr, "botwatch demo: %s: %s\n", a.dir, strerror(errno));
		return 1;
	}
	if (!(dir = a.dir ? a.dir : mkdtemp(dirbuf))) {
		fprintf(stderr, "botwatch demo: cannot create a work directory: %s\n", strerror(errno));
		return 1;
	}
	struct sigaction sa = { .sa_handler = on_signal };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (start_children(&a, dir, &sim, &run, base, sizeof(base)) || !(c = curl_easy_init()))
		goto out;
	if (!a.quiet)
		fprintf(stderr, "botwatch demo: dashboard at %s/ (work directory %s)\n", base, dir);
	live(&a, c, base, run, &v);
	look(c, base, &v); /* the final figures */
	if (v.api_up) {
		export = http_get(c, base, "/v1/accounts", &st);
		v.api_ok &= export != NULL;
	}
	snprintf(lab, sizeof(lab), "%s/labels.csv", dir);
	if (export && clf_labels_load(&lb, lab, err, sizeof(err)) == 0)
		auc = auc_of(export, &lb, &labelled);
	rc = 0;
out:
	stop_child(run, 30000);
	stop_child(sim, 5000);
	json_t *sum = json_pack("{s:I, s:I, s:I, s:b, s:o, s:I, s:s, s:f, s:s}", "posts",
				(json_int_t)v.posts,
				"accounts", v.accounts, "scored", v.scored, "api_ok",
				v.api_up && v.api_ok, "auc",
				isnan(auc) ? json_null() : json_real(round(auc * 1e4) / 1e4), "labelled",
				(json_int_t)labelled, "framing", a.framing, "rate", a.rate, "dashboard",
				base);
	if (sum) {
		char *line = json_dumps(sum, JSON_COMPACT | JSON_REAL_PRECISION(6));
		if (line)
			printf("%s\n", line);
		free(line);
		json_decref(sum);
	}
	fflush(stdout);
	if (!a.dir && dir)
		nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(export);
	json_decref(v.summary);
	json_decref(v.report);
	clf_labels_free(&lb);
	if (c)
		curl_easy_cleanup(c);
	return rc ? rc : (v.api_up && v.api_ok ? 0 : 1);
}
