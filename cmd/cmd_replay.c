/*
 * cmd_replay.c — `botwatch replay`: replay archive files through the decoder,
 * the feature states and the classifier, without a broker.
 *
 *   botwatch replay [--model M] [--probe-time ISO8601] [--store DIR]
 *                   [--out FILE] [--features-out FILE] [--threads N]
 *                   [--mem-budget MB] [--spill-dir DIR] [--report] FILE...
 *
 * After the whole input, for every account in id order (clf_id_cmp, the
 * store's order): --features-out writes
 *   {"user_id": "...", "screen_name": "...", "posts_seen": N,
 *    "features": {"name": value, ...}}   (registry order, every value finite)
 * --out writes the score record (docs/SCORES.md) as one compact line, and
 * --store puts that same record text plus the feature vector into the LMDB
 * store (store/store.h) that `botwatch serve` reads.
 *
 * Decoding goes through the classifier's corpus (classifier/clf_cmd.h), which
 * is the features stage's replay driver plus per-account evidence, so replay,
 * train and eval compute features identically. The driver decodes on a
 * second thread (--threads) and keeps the states in memory under a budget,
 * spilling the rest (--mem-budget, docs/PIPELINE.md); after the input the
 * accounts are extracted and scored by two threads and written by this one
 * in id order (visit_accounts).
 *
 * Options are parsed into struct replay_args by parse_args(); a stage that
 * extends replay adds its fields there, one `else if` per option, and its
 * sink beside write_features() / score_account().
 */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bw_err.h"
#include "bw_log.h"
#include "bw_mem.h"
#include "bw_time.h"
#include "cfg.h"
#include "clf.h"
#include "clf_cmd.h"
#include "cmd_progress.h"
#include "commands.h"
#include "decode.h"
#include "feat.h"
#include "feat_replay.h"
#include "pipeline.h"
#include "stage_drift.h"
#include "store.h"
#include "audit.h"

/* Records per store transaction. */
#define REPLAY_TXN_BATCH 5000
/* --mem-budget default (MB of account states in memory). */
#define REPLAY_MEM_BUDGET_MB 1024

struct replay_args {
	const char *features_out;  /* --features-out FILE ("-" = stdout) */
	const char *out;           /* --out FILE: score records ("-" = stdout) */
	const char *model;         /* --model FILE, else score.model */
	const char *store;         /* --store DIR, else nothing stored */
	int64_t probe_ms;          /* --probe-time, or BW_TIME_NONE */
	bool include_observed;     /* --include-observed */
	bool via_kafka;            /* --via-kafka: through the broker and the stages */
	int threads;               /* --threads: 2 = decode on a reader thread (default), 1 = not */
	uint64_t mem_budget_mb;    /* --mem-budget: MB of feature states in memory (0 = no limit) */
	const char *spill_dir;     /* --spill-dir, else $TMPDIR or /tmp */
	const char *drift_out;     /* --drift-out FILE: the drift monitor's document (docs/DRIFT.md) */
	const char *dlq;           /* --dlq FILE: dead-lettered input as NDJSON */
	bool report;               /* --report: print memory, spill and time figures */
	char **files;              /* input files (array owned, strings borrowed from argv) */
	int n_files;               /* their number */
};

static void replay_usage(FILE *out)
{
	fprintf(out,
		"usage: botwatch replay [--config FILE] [--set key=value]... [--out FILE]\n"
		"                       [--features-out FILE] [--store DIR] [--model FILE]\n"
		"                       [--probe-time ISO8601] [--include-observed] [--via-kafka]\n"
		"                       [--format F] [--threads N] [--mem-budget MB]\n"
		"                       [--spill-dir DIR] [--dlq FILE] [--report] [--drift-out FILE]\n"
		"                       FILE...\n\n"
		"Decode the archive FILEs (NDJSON or one JSON document, plain or gzip, `-` = stdin),\n"
		"fold every post into per-account feature state, and after the whole input write\n"
		"one result per account, in account-id order. At least one of --out,\n"
		"--features-out, --store is required. Output files are written under a temporary\n"
		"name and renamed into place when replay succeeds: a failed replay (a missing\n"
		"input, a bad model) leaves them as they were. Exits 1 when every input unit was\n"
		"dead-lettered.\n\n"
		"  --out FILE           write score records (docs/SCORES.md), one per line (`-` = stdout)\n"
		"  --features-out FILE  write {user_id, screen_name, posts_seen, features} lines (`-` = stdout)\n"
		"  --store DIR          put the score records and feature vectors into the LMDB store\n"
		"                       DIR (created if missing) that `botwatch serve` reads\n"
		"  --model FILE         score with this model (default: config score.model)\n"
		"  --probe-time T       compute account age and rates at T (RFC 3339); default: each\n"
		"                       account's latest event time\n"
		"  --include-observed   also write accounts only seen retweeted/quoted/replied to/mentioned\n"
		"  --format F           auto|v1.1|v2|twarc2|sse|ndjson (ingest.format): accept only\n"
		"                       that shape; others go to the dead letters as wrong_format\n"
		"  --threads N          1: decode and fold on one thread; 2 (default): decompress and\n"
		"                       decode on a second thread while this one folds (same output)\n"
		"  --mem-budget MB      keep at most MB of account states in memory (default 1024;\n"
		"                       0 = no limit); the least recently active go to a spill file\n"
		"                       and come back on their next post (same output)\n"
		"  --spill-dir DIR      directory of the spill file (default $TMPDIR, else /tmp); the\n"
		"                       file is unlinked at once and gone when replay ends\n"
		"  --dlq FILE           write each dead-lettered input unit as an NDJSON line\n"
		"                       {reason, detail, source, line, excerpt} to FILE\n"
		"  --drift-out FILE     write the drift monitor's document (GET /v1/drift's shape:\n"
		"                       windows judged against the model's training baselines,\n"
		"                       docs/DRIFT.md); alarms are also logged (warn)\n"
		"  --report             print peak memory (heap and file-backed), spill figures and\n"
		"                       the seconds of each phase and thread\n"
		"  --via-kafka          replay through Kafka (the embedded broker unless\n"
		"                       kafka.bootstrap.servers is set): ingest, the features stage and\n"
		"                       the scoring stage, until drained; same records (--out, --store)\n");
}

/* 0, or 2 with a message printed (usage error). */
static int parse_args(int argc, char **argv, struct bw_config *cfg, struct replay_args *a)
{
	static const struct cfg_flag flags[] = { { "--format", "ingest.format" } };
	char err[512];
	int rc;

	a->probe_ms = BW_TIME_NONE;
	a->threads = 2;
	a->mem_budget_mb = REPLAY_MEM_BUDGET_MB;
	for (int i = 1; i < argc; i++) {
		if ((rc = cfg_flag_apply(cfg, flags, 1, argc, argv, &i, err, sizeof(err))) < 0) {
			fprintf(stderr, "botwatch replay: %s\n", err);
			return 2;
		}
		if (rc > 0)
			continue;
		const char *arg = argv[i];
		const char *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(arg, "--features-out") == 0 && val) {
			a->features_out = val, i++;
		} else if (strcmp(arg, "--out") == 0 && val) {
			a->out = val, i++;
		} else if (strcmp(arg, "--model") == 0 && val) {
			a->model = val, i++;
		} else if (strcmp(arg, "--store") == 0 && val) {
			a->store = val, i++;
		} else if (strcmp(arg, "--probe-time") == 0 && val) {
			if (bw_time_parse_any(val, strlen(val), &a->probe_ms)) {
				fprintf(stderr, "botwatch replay: --probe-time: '%s' is not an RFC 3339 time\n", val);
				return 2;
			}
			i++;
		} else if (strcmp(arg, "--threads") == 0 && val) {
			if (strcmp(val, "1") && strcmp(val, "2")) {
				fprintf(stderr, "botwatch replay: --threads must be 1 or 2\n");
				return 2;
			}
			a->threads = val[0] - '0';
			i++;
		} else if (strcmp(arg, "--mem-budget") == 0 && val) {
			if (clf_cmd_uint_arg("replay", arg, val, 0, (uint64_t)1 << 40, &a->mem_budget_mb))
				return 2;
			i++;
		} else if (strcmp(arg, "--spill-dir") == 0 && val) {
			a->spill_dir = val, i++;
		} else if (strcmp(arg, "--drift-out") == 0 && val) {
			a->drift_out = val, i++;
		} else if (strcmp(arg, "--dlq") == 0 && val) {
			a->dlq = val, i++;
		} else if (strcmp(arg, "--report") == 0) {
			a->report = true;
		} else if (strcmp(arg, "--include-observed") == 0) {
			a->include_observed = true;
		} else if (strcmp(arg, "--via-kafka") == 0) {
			a->via_kafka = true;
		} else if (strcmp(arg, "--") == 0) {
			while (++i < argc)
				a->files[a->n_files++] = argv[i];
		} else if (arg[0] == '-' && arg[1] != '\0') {
			fprintf(stderr, "botwatch replay: unknown option or missing value: '%s'\n", arg);
			replay_usage(stderr);
			return 2;
		} else {
			a->files[a->n_files++] = argv[i];
		}
	}
	if (!a->features_out && !a->out && !a->store) {
		fprintf(stderr, "botwatch replay: nothing to write: give --out FILE, --features-out FILE "
				"or --store DIR\n");
		replay_usage(stderr);
		return 2;
	}
	if (a->out && a->features_out && strcmp(a->out, "-") == 0 &&
	    strcmp(a->features_out, "-") == 0) {
		fprintf(stderr, "botwatch replay: --out and --features-out cannot both be stdout\n");
		return 2;
	}
	if (a->n_files == 0) {
		fprintf(stderr, "botwatch replay: no input files\n");
		return 2;
	}
	if (a->via_kafka && (a->features_out || a->include_observed || a->probe_ms != BW_TIME_NONE ||
			     a->dlq)) {
		fprintf(stderr, "botwatch replay: --via-kafka writes score records (--out, --store) at "
				"each account's latest event time and dead letters to ingest.dlq_topic; "
				"--features-out, --probe-time, --include-observed and --dlq need the "
				"plain replay\n");
		return 2;
	}
	return 0;
}

static int write_features(const struct feat_account *acc, const double *v, void *opaque)
{
	return feat_write_ndjson(opaque, acc, v);
}

/* An output file written under a temporary name in its directory and
 * renamed over `path` only when the replay succeeded (out_commit), so that a
 * failed replay leaves a previous output as it was; "-" is stdout. */
struct out_file {
	const char *path; /* the final name, "-" for stdout, NULL: not asked for */
	char *tmp;        /* the temporary name (owned) or NULL */
	FILE *f;          /* the stream or NULL */
};

/* Open o for writing; 0 or BW_EIO with errstr set. */
static int out_open(struct out_file *o, const char *path, char *errstr, size_t errlen)
{
	size_t n = strlen(path) + sizeof(".tmp.XXXXXX");
	mode_t mask;
	int fd;

	o->path = path;
	if (strcmp(path, "-") == 0) {
		o->f = stdout;
		return 0;
	}
	if (!(o->tmp = malloc(n)))
		return bw_seterr(errstr, errlen, BW_ENOMEM, "out of memory");
	snprintf(o->tmp, n, "%s.tmp.XXXXXX", path);
	if ((fd = mkstemp(o->tmp)) < 0) {
		int e = errno;
		free(o->tmp);
		o->tmp = NULL;
		return bw_seterr(errstr, errlen, BW_EIO, "%s: %s", path, strerror(e));
	}
	mask = umask(0);
	umask(mask);
	if (fchmod(fd, 0666 & ~mask) || !(o->f = fdopen(fd, "w"))) {
		int e = errno;
		close(fd);
		unlink(o->tmp);
		return bw_seterr(errstr, errlen, BW_EIO, "%s: %s", path, strerror(e));
	}
	return 0;
}

/* Close o: when `keep`, flush it and rename it into place (0 or BW_EIO with
 * errstr set); otherwise remove the temporary file. Accepts an unopened o. */
static int out_close(struct out_file *o, bool keep, char *errstr, size_t errlen)
{
	int bad = 0;

	if (o->f) {
		bad = fflush(o->f) || ferror(o->f);
		if (o->f != stdout && fclose(o->f))
			bad = 1;
	}
	o->f = NULL;
	if (o->tmp) {
		if (keep && !bad && rename(o->tmp, o->path))
			bad = 1;
		if (!keep || bad)
			unlink(o->tmp);
		free(o->tmp);
		o->tmp = NULL;
	}
	return keep && bad ? bw_seterr(errstr, errlen, BW_EIO, "%s: write failed", o->path) : 0;
}

/* What the dead letters go to: the log, --dlq, and a count. */
struct replay_dlq {
	struct out_file file;   /* --dlq or unopened */
	atomic_ullong n;        /* units dead-lettered */
	atomic_int write_error; /* an errno writing file */
};

static void on_dlq(const struct bw_dlq_rec *rec, void *opaque)
{
	struct replay_dlq *d = opaque;
	json_t *j;

	d->n++;
	BW_WARN("dead letter: %s:%llu: %s: %s", rec->source, (unsigned long long)rec->line,
		bw_dlq_reason_name(rec->reason), rec->detail);
	if (!d->file.f || d->write_error)
		return;
	if (!(j = bw_dlq_to_json(rec)) || json_dumpf(j, d->file.f, JSON_COMPACT) ||
	    fputc('\n', d->file.f) == EOF)
		d->write_error = errno ? errno : EIO;
	json_decref(j);
}

/* 0 when every input file can be opened for reading, else 1 with the reason
 * logged: checked before any output is opened. */
static int inputs_readable(char *const *files, int n)
{
	for (int i = 0; i < n; i++) {
		struct stat st;
		int fd;
		if (strcmp(files[i], "-") == 0)
			continue;
		if ((fd = open(files[i], O_RDONLY)) < 0 || fstat(fd, &st) || S_ISDIR(st.st_mode)) {
			int e = fd < 0 ? errno : EISDIR;
			if (fd >= 0)
				close(fd);
			BW_ERROR("input %s: %s; nothing written", files[i], strerror(e));
			return 1;
		}
		close(fd);
	}
	return 0;
}

/* Everything one replay writes to, opened before the accounts are visited. */
struct replay_sinks {
	FILE *features;              /* --features-out stream or NULL */
	FILE *scores;                /* --out stream or NULL */
	struct out_file features_f;  /* --features-out, written atomically */
	struct out_file scores_f;    /* --out, likewise */
	struct clf_model *mdl;       /* model when scoring (--out or --store) */
	struct bw_store *store;      /* --store or NULL */
	struct bw_store_txn *txn;    /* open store transaction or NULL */
	size_t in_txn;               /* records in the open transaction */
	double cap_prior;            /* score.cap_prior */
	uint64_t by_status[4];       /* accounts per enum clf_status */
	struct stage_drift *drift;   /* drift monitor over the scores (when scoring) */
};

static int sinks_open(struct replay_sinks *s, const struct replay_args *a,
		      const struct bw_config *cfg, char *errstr, size_t errlen)
{
	s->cap_prior = cfg->score_cap_prior;
	if (a->out || a->store) {
		const char *path = a->model ? a->model : cfg->score_model;
		if (!(s->mdl = clf_model_load(path, feat_schema_hash(), feat_count(), errstr, errlen)))
			return BW_EINVAL;
		if (!(s->drift = stage_drift_new(cfg, s->mdl, "replay")))
			return bw_seterr(errstr, errlen, BW_ENOMEM, "out of memory");
	}
	if (a->features_out && out_open(&s->features_f, a->features_out, errstr, errlen))
		return BW_EIO;
	s->features = s->features_f.f;
	if (a->out && out_open(&s->scores_f, a->out, errstr, errlen))
		return BW_EIO;
	s->scores = s->scores_f.f;
	if (a->store && !(s->store = store_open(a->store, true, (size_t)cfg->store_map_size_mb,
						errstr, errlen)))
		return BW_ESTORE;
	if (s->store) { /* the audit trail: the model by id, then every decision */
		store_set_history_keep(s->store, cfg->store_history_keep);
		if (audit_model_register(s->store, s->mdl, cfg->score_model, errstr, errlen))
			return BW_ESTORE;
	}
	return 0;
}

/* The drift monitor's document into `path` (--drift-out), written like --out. */
static int write_drift(const char *path, char *errstr, size_t errlen)
{
	struct out_file o = { 0 };
	json_t *doc = stage_drift_document();
	int rc = doc ? out_open(&o, path, errstr, errlen) : BW_ENOMEM;

	if (rc == 0 && (json_dumpf(doc, o.f, JSON_INDENT(1) | JSON_REAL_PRECISION(6)) ||
			fputc('\n', o.f) == EOF))
		rc = BW_EIO;
	json_decref(doc);
	if (o.f || o.tmp) {
		int c = out_close(&o, rc == 0, errstr, errlen);
		rc = rc ? rc : c;
	}
	return rc ? bw_seterr(errstr, errlen, BW_EIO, "%s: cannot write the drift document", path) : 0;
}

/* Commit the open transaction (if any); closes the store and the files,
 * renaming them into place when rc is 0 and `keep`; the drift document last. */
static int sinks_close(struct replay_sinks *s, const struct replay_args *a, int rc, bool keep,
		       char *errstr, size_t errlen)
{
	if (s->txn && rc == 0)
		rc = store_txn_commit(s->txn, errstr, errlen);
	else
		store_txn_abort(s->txn);
	s->txn = NULL;
	store_close(s->store);
	int c1 = out_close(&s->features_f, rc == 0 && keep, errstr, errlen);
	int c2 = out_close(&s->scores_f, rc == 0 && keep, errstr, errlen);
	int c3 = 0;
	if (rc == 0 && keep && s->drift) {
		stage_drift_advance(s->drift, BW_TIME_NONE, true);
		if (a->drift_out)
			c3 = write_drift(a->drift_out, errstr, errlen);
	}
	stage_drift_free(s->drift);
	clf_model_free(s->mdl);
	return rc ? rc : c1 ? c1 : c2 ? c2 : c3;
}

/* Write account i's score record (score sc, state a, vector v) to --out and
 * put it into the store. */
static int write_score(struct replay_sinks *s, const struct clf_corpus *c, size_t i,
		       const struct feat_account *a, const double *v, const struct clf_score *sc,
		       char *errstr, size_t errlen)
{
	struct clf_record_info info = { .user_id = clf_corpus_id(c, i),
					.screen_name = feat_account_screen_name(a),
					.scored_at_ms = clf_corpus_scored_at(c, a),
					.posts_seen = feat_account_posts(a) };
	int rc = 0;

	s->by_status[sc->status]++;
	stage_drift_observe(s->drift, v, feat_count(), clf_corpus_avail(c, i), sc, info.scored_at_ms);
	char *txt = clf_score_record(s->mdl, sc, &info);

	if (!txt)
		return bw_seterr(errstr, errlen, BW_ENOMEM, "out of memory");
	if (s->scores && (fputs(txt, s->scores) < 0 || fputc('\n', s->scores) < 0))
		rc = bw_seterr(errstr, errlen, BW_EIO, "%s: write failed: %s", s->scores_f.path,
			       strerror(errno));
	if (!rc && s->store && !s->txn && !(s->txn = store_txn_begin(s->store, errstr, errlen)))
		rc = BW_ESTORE;
	if (!rc && s->store)
		rc = store_txn_put(s->txn, info.user_id, info.screen_name, txt, strlen(txt), v,
				   feat_count(), errstr, errlen);
	if (!rc && s->store)
		rc = audit_decision_put(s->txn, s->mdl, v, feat_count(), sc->avail, s->cap_prior, sc,
					&info, NULL, txt, errstr, errlen);
	free(txt);
	if (!rc && s->txn && ++s->in_txn == REPLAY_TXN_BATCH) {
		rc = store_txn_commit(s->txn, errstr, errlen);
		s->txn = NULL;
		s->in_txn = 0;
	}
	return rc;
}

/* Accounts in flight in the visit (computed, not yet written). */
#define VISIT_WINDOW 256

/*
 * The visit after the input. Accounts are computed — state peeked
 * (clf_corpus_peek(): a spilled state is read into a private copy, never
 * brought back into memory, so the visit spills nothing), vector extracted,
 * score computed — by whichever thread claims them first: the main thread
 * and, with two threads, a helper. Both only read the corpus and the model.
 * The main thread writes the accounts in id order as they complete and frees
 * the copies; nobody claims an account more than VISIT_WINDOW past the next
 * one to write. No thread waits for the other except the main thread for the
 * one account it must write next, so a helper that is descheduled (a loaded
 * machine) only leaves the main thread more to do.
 */
struct visit {
	const struct replay_sinks *s;            /* model and cap prior (read only) */
	const struct clf_corpus *c;              /* the accounts */
	size_t n;                                /* accounts to visit */
	pthread_mutex_t mu;                      /* guards the four fields below */
	pthread_cond_t cond;                     /* an account completed or was written */
	size_t next;                             /* next account to claim */
	size_t written;                          /* accounts written */
	bool stop;                               /* the main thread gave up (write error) */
	size_t done[VISIT_WINDOW];               /* account + 1 completed in this slot, 0 = none */
	double *v;                               /* VISIT_WINDOW vectors of feat_count() doubles */
	const struct feat_account *a[VISIT_WINDOW]; /* their states (NULL: read error) */
	struct feat_account *copy[VISIT_WINDOW]; /* private copies to free (or NULL) */
	struct clf_score sc[VISIT_WINDOW];       /* their scores (when scoring) */
	int rc[VISIT_WINDOW];                    /* their results: 0 or a BW_E* code */
	char err[VISIT_WINDOW][128];             /* their messages */
};

/* Compute account i into its slot (outside the lock). */
static void visit_compute(struct visit *vs, size_t i)
{
	size_t k = i % VISIT_WINDOW;
	double *v = vs->v + k * feat_count();

	vs->err[k][0] = '\0';
	vs->a[k] = clf_corpus_peek(vs->c, i, &vs->copy[k], vs->err[k], sizeof(vs->err[k]));
	vs->rc[k] = vs->a[k] ? clf_corpus_extract_from(vs->c, vs->a[k], v) : BW_EIO;
	if (!vs->rc[k] && vs->s->mdl)
		clf_score(vs->s->mdl, v, clf_corpus_avail(vs->c, i), vs->s->cap_prior, &vs->sc[k]);
}

/* With the lock held: claim the next account if the window allows; its
 * index into *i. */
static bool visit_claim(struct visit *vs, size_t *i)
{
	if (vs->stop || vs->next >= vs->n || vs->next >= vs->written + VISIT_WINDOW)
		return false;
	*i = vs->next++;
	return true;
}

static void *visit_helper_main(void *arg)
{
	struct visit *vs = arg;
	size_t i;

	pthread_mutex_lock(&vs->mu);
	while (!vs->stop && vs->next < vs->n) {
		if (!visit_claim(vs, &i)) {
			pthread_cond_wait(&vs->cond, &vs->mu); /* the window is full */
			continue;
		}
		pthread_mutex_unlock(&vs->mu);
		visit_compute(vs, i);
		pthread_mutex_lock(&vs->mu);
		vs->done[i % VISIT_WINDOW] = i + 1;
		pthread_cond_broadcast(&vs->cond);
	}
	pthread_mutex_unlock(&vs->mu);
	return NULL;
}

/* Write account i from its slot and free its copy (the main thread). */
static int visit_write(struct replay_sinks *s, struct visit *vs, size_t i, char *errstr,
		       size_t errlen)
{
	size_t k = i % VISIT_WINDOW;
	const double *v = vs->v + k * feat_count();
	int rc = 0;

	if (vs->rc[k])
		rc = bw_seterr(errstr, errlen, vs->rc[k], "account %s: %s", clf_corpus_id(vs->c, i),
			       vs->err[k][0] ? vs->err[k] : "feature extraction failed");
	else if (s->features && write_features(vs->a[k], v, s->features))
		rc = bw_seterr(errstr, errlen, BW_EIO, "%s: write failed: %s", s->features_f.path,
			       strerror(errno));
	else if (s->mdl)
		rc = write_score(s, vs->c, i, vs->a[k], v, &vs->sc[k], errstr, errlen);
	feat_account_free(vs->copy[k]);
	vs->copy[k] = NULL;
	return rc;
}

/* The main thread's loop: write the next account when it is complete, else
 * compute one itself, else wait. */
static int visit_main(struct replay_sinks *s, struct visit *vs, char *errstr, size_t errlen)
{
	size_t i;
	int rc = 0;

	pthread_mutex_lock(&vs->mu);
	while (vs->written < vs->n && !rc) {
		if (vs->done[vs->written % VISIT_WINDOW] == vs->written + 1) {
			i = vs->written;
			pthread_mutex_unlock(&vs->mu);
			rc = visit_write(s, vs, i, errstr, errlen);
			pthread_mutex_lock(&vs->mu);
			vs->done[i % VISIT_WINDOW] = 0;
			vs->written++;
			pthread_cond_broadcast(&vs->cond); /* the window moved */
		} else if (visit_claim(vs, &i)) {
			pthread_mutex_unlock(&vs->mu);
			visit_compute(vs, i);
			pthread_mutex_lock(&vs->mu);
			vs->done[i % VISIT_WINDOW] = i + 1;
		} else {
			pthread_cond_wait(&vs->cond, &vs->mu); /* the helper has the next one */
		}
	}
	vs->stop = true;
	pthread_cond_broadcast(&vs->cond);
	pthread_mutex_unlock(&vs->mu);
	return rc;
}

/* Extract every listed account, write its features and score it, in id
 * order; with `threads` >= 2 a helper thread computes accounts too (same
 * output). */
static int visit_accounts(struct replay_sinks *s, const struct clf_corpus *c, int threads,
			  char *errstr, size_t errlen)
{
	struct visit *vs = calloc(1, sizeof(*vs));
	bool helper = false;
	pthread_t th;
	int rc;

	if (!vs || !(vs->v = malloc(VISIT_WINDOW * (feat_count() ? feat_count() : 1) *
				    sizeof(double)))) {
		free(vs);
		return bw_seterr(errstr, errlen, BW_ENOMEM, "out of memory");
	}
	vs->s = s;
	vs->c = c;
	vs->n = clf_corpus_count(c);
	pthread_mutex_init(&vs->mu, NULL);
	pthread_cond_init(&vs->cond, NULL);
	if (threads >= 2 && vs->n > 1)
		helper = pthread_create(&th, NULL, visit_helper_main, vs) == 0;
	rc = visit_main(s, vs, errstr, errlen);
	if (helper)
		pthread_join(th, NULL);
	for (size_t k = 0; k < VISIT_WINDOW; k++) /* claimed but not written (an error) */
		feat_account_free(vs->copy[k]);
	pthread_cond_destroy(&vs->cond);
	pthread_mutex_destroy(&vs->mu);
	free(vs->v);
	free(vs);
	return rc;
}

static double now_s(clockid_t id)
{
	struct timespec t;
	return clock_gettime(id, &t) ? 0.0 : (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Log the memory figures of a finished replay (--report). */
static void mem_report(struct bw_mem_sampler *m, const struct clf_corpus *c, uint64_t budget_mb,
		       double visit_wall_s, double visit_cpu_s)
{
	const struct feat_replay_mem *rm = clf_corpus_mem(c);
	const struct feat_replay_stats *st = clf_corpus_replay_stats(c);
	uint64_t accounts = st->accounts;
	struct mallinfo2 mi = mallinfo2();
	const double mb = 1024.0 * 1024.0;

	bw_mem_sampler_stop(m);
	BW_INFO("memory: peak RSS %.1f MB: peak anonymous (heap) %.1f MB, "
		"peak file-backed %.1f MB (sampled every 20 ms); %llu accounts tracked, "
		"%.0f bytes of peak anonymous memory per account",
		m->hwm_kb / 1024.0, m->anon_peak_kb / 1024.0, m->file_peak_kb / 1024.0,
		(unsigned long long)accounts,
		accounts ? m->anon_peak_kb * 1024.0 / (double)accounts : 0.0);
	BW_INFO("memory: states in memory at most %.1f MB (budget %llu MB%s), "
		"account index %.1f MB, malloc in use at the end %.1f MB; spilled %llu states "
		"(%.1f MB written), read back %llu, spill file %.1f MB (page cache, not heap)",
		rm->resident_peak / mb, (unsigned long long)budget_mb, budget_mb ? "" : ": no limit",
		rm->index_bytes / mb, (double)(mi.uordblks + mi.hblkhd) / mb,
		(unsigned long long)rm->spills, rm->spill_bytes_written / mb,
		(unsigned long long)rm->loads, rm->spill_file_bytes / mb);
	BW_INFO("time: decoding and folding %.2f s wall (reader thread "
		"%.2f s cpu, folding thread %.2f s cpu), extraction, scoring and output "
		"%.2f s wall (%.2f s cpu); main thread %.2f s cpu in all, process %.2f s cpu",
		st->read_wall_s, st->reader_cpu_s, st->fold_cpu_s, visit_wall_s, visit_cpu_s,
		now_s(CLOCK_THREAD_CPUTIME_ID), now_s(CLOCK_PROCESS_CPUTIME_ID));
}

/* The conversation tallies (docs/REPORT.md) into the store's last transaction. */
static int store_tallies(struct replay_sinks *s, struct feat_tally *t, char *errstr,
			 size_t errlen)
{
	if (!s->txn && !(s->txn = store_txn_begin(s->store, errstr, errlen)))
		return BW_ESTORE;
	return feat_tally_flush(t, s->txn, errstr, errlen);
}

/* Log the one-line summary of a finished replay. */
static void log_summary(const struct clf_corpus *c, const struct replay_sinks *s, bool scored,
			bool all_bad)
{
	char summary[512];

	clf_corpus_summary(c, summary, sizeof(summary));
	if (all_bad)
		BW_ERROR("every input unit was dead-lettered, nothing written: %s", summary);
	else if (scored)
		BW_INFO("%s; scored %llu ok, %llu profile_only, %llu posts_only, %llu insufficient_data",
			summary, (unsigned long long)s->by_status[CLF_STATUS_OK],
			(unsigned long long)s->by_status[CLF_STATUS_PROFILE_ONLY],
			(unsigned long long)s->by_status[CLF_STATUS_POSTS_ONLY],
			(unsigned long long)s->by_status[CLF_STATUS_INSUFFICIENT]);
	else
		BW_INFO("%s", summary);
}

static int run(const struct replay_args *args, const struct bw_config *cfg)
{
	struct bw_mem_sampler ms;
	struct replay_dlq dlq = { 0 };
	struct clf_corpus_opts o = { .probe_ms = args->probe_ms,
				     .include_observed = args->include_observed,
				     .on_dlq = on_dlq,
				     .dlq_opaque = &dlq,
				     .threads = args->threads,
				     .mem_budget = args->mem_budget_mb << 20,
				     .spill_dir = args->spill_dir };
	struct replay_sinks s = { 0 };
	struct clf_corpus *c = NULL;
	struct cmd_progress *pg;
	char err[512], derr[512];
	bool all_bad = false, sampling;
	int rc, drc;

	if (args->dlq && out_open(&dlq.file, args->dlq, err, sizeof(err))) {
		BW_ERROR("%s", err);
		return 1;
	}
	sampling = args->report && bw_mem_sampler_start(&ms, 20) == 0;
	/* open (and load the model) first: a bad --model fails before the decode */
	if ((rc = sinks_open(&s, args, cfg, err, sizeof(err))) == 0 && s.store)
		rc = feat_tally_new_cfg(cfg, &o.tally, err, sizeof(err)); /* docs/REPORT.md */
	if (rc == 0) {
		pg = cmd_progress_start("replay", args->files, (size_t)args->n_files);
		if (!(c = clf_corpus_build(cfg, args->files, (size_t)args->n_files, &o, err,
					   sizeof(err))))
			rc = BW_EINVAL;
		cmd_progress_stop(pg);
	}
	all_bad = c && dlq.n > 0 && clf_corpus_replay_stats(c)->posts == 0;
	double w0 = now_s(CLOCK_MONOTONIC), c0 = now_s(CLOCK_THREAD_CPUTIME_ID);
	if (rc == 0 && !all_bad)
		rc = visit_accounts(&s, c, args->threads, err, sizeof(err));
	if (rc == 0 && o.tally && !all_bad)
		rc = store_tallies(&s, o.tally, err, sizeof(err));
	feat_tally_free(o.tally);
	rc = sinks_close(&s, args, rc, !all_bad, err, sizeof(err));
	/* the dead letters are kept whatever happened: they say what went wrong */
	drc = out_close(&dlq.file, true, derr, sizeof(derr));
	if (!drc && dlq.write_error)
		drc = bw_seterr(derr, sizeof(derr), BW_EIO, "%s: %s", args->dlq,
				strerror(dlq.write_error));
	double visit_wall = now_s(CLOCK_MONOTONIC) - w0, visit_cpu = now_s(CLOCK_THREAD_CPUTIME_ID) - c0;
	if (sampling) {
		bw_mem_sampler_stop(&ms);
		if (rc == 0 && !all_bad)
			mem_report(&ms, c, args->mem_budget_mb, visit_wall, visit_cpu);
	}
	if (rc || drc) {
		BW_ERROR("%s", rc ? err : derr);
		clf_corpus_free(c);
		return 1;
	}
	log_summary(c, &s, args->out || args->store, all_bad);
	clf_corpus_free(c);
	return all_bad ? 1 : 0;
}

int cmd_replay(int argc, char **argv)
{
	struct replay_args args = { 0 };
	struct bw_config *cfg;
	int rc;

	int begun = cfg_cli_begin("replay", replay_usage, &argc, argv, &cfg);
	if (begun >= 0)
		return begun;
	if (!(args.files = calloc((size_t)argc, sizeof(*args.files)))) {
		fprintf(stderr, "botwatch replay: out of memory\n");
		cfg_free(cfg);
		return 1;
	}
	rc = parse_args(argc, argv, cfg, &args);
	if (bw_log_level_parse(cfg->log_level) >= 0)
		bw_log_set_level(bw_log_level_parse(cfg->log_level));
	if (rc == 0 && (args.out || args.store) && !args.via_kafka) {
		char err[1024]; /* (pipeline_replay() resolves its own) */
		if (cfg_resolve_model(cfg, args.model, err, sizeof(err))) {
			BW_ERROR("%s", err);
			rc = 1;
		}
		args.model = NULL; /* score.model holds it now */
	}
	/* a missing input fails before any output is opened, either way */
	if (rc == 0 && inputs_readable(args.files, args.n_files))
		rc = 1;
	if (rc == 0 && args.via_kafka) {
		struct pipeline_replay_args pa = { .files = args.files, .n_files = (size_t)args.n_files,
						   .out = args.out, .store = args.store,
						   .model = args.model };
		rc = pipeline_replay(cfg, &pa);
	} else if (rc == 0) {
		rc = run(&args, cfg);
	}
	free(args.files);
	cfg_free(cfg);
	return rc;
}
