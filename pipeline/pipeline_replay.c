/*
 * pipeline_replay.c — `botwatch replay --via-kafka` (pipeline.h): the replay
 * of archive files through the broker and the streaming stages, writing the
 * same score records `botwatch replay --out` writes.
 *
 * The features state always lives in a fresh temporary directory, the store
 * too unless --store names one; both are removed afterwards (a --store
 * directory is kept). On the embedded broker every topic is new; against a
 * configured cluster the topics and groups get a per-run suffix
 * (".replay-<pid>-<ms>") so earlier data is never mixed in; those topics are
 * left on the cluster.
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>

#include "bw_err.h"
#include "bw_log.h"
#include "bw_time.h"
#include "cfg.h"
#include "pipeline.h"
#include "store.h"

#define REPLAY_DRAIN_MS 60000

/* Remove a directory holding plain files (an LMDB environment); NULL ok. */
static void remove_env_dir(const char *dir)
{
	char path[4096];
	struct dirent *e;
	DIR *d = dir ? opendir(dir) : NULL;

	if (!d)
		return;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") &&
		    snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) < (int)sizeof(path))
			unlink(path);
	closedir(d);
	rmdir(dir);
}

/* Give the topics and groups of this run fresh names on a configured cluster. */
static int unique_names(struct bw_config *cfg, char *errstr, size_t errlen)
{
	static const char *const keys[] = { "ingest.topic", "ingest.dlq_topic", "features.topic",
					     "score.topic", "features.group_id", "score.group_id" };
	char suffix[64], val[512];

	snprintf(suffix, sizeof(suffix), ".replay-%ld-%lld", (long)getpid(),
		 (long long)bw_time_now_ms());
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		char cur[256];
		if (cfg_get_text(cfg, keys[i], cur, sizeof(cur)) ||
		    snprintf(val, sizeof(val), "%s%s", cur, suffix) >= (int)sizeof(val) ||
		    cfg_set(cfg, keys[i], val, "replay --via-kafka", errstr, errlen))
			return bw_seterr(errstr, errlen, BW_EINVAL, "cannot name the replay's topics");
	}
	/* the watches follow the renamed groups: a watch on the unsuffixed group
	 * (which never commits here) paused the features stage for good once
	 * score lagged features.max_update_lag on a partition */
	if (cfg_set(cfg, "ingest.lag_groups", cfg->features_group, "replay --via-kafka", errstr,
		    errlen) ||
	    cfg_set(cfg, "features.lag_groups", cfg->score_group, "replay --via-kafka", errstr, errlen))
		return BW_EINVAL;
	BW_INFO("replay: topics and groups of this run end in %s", suffix);
	return 0;
}

/* Write one stored record as a line. */
static int write_record(const char *user_id, const char *json, size_t len, void *opaque)
{
	(void)user_id;
	return fwrite(json, 1, len, opaque) == len && fputc('\n', opaque) != EOF ? 0 : BW_EIO;
}

/* Every record of the store at `path`, in account-id order, to `out`: a file
 * is written under a temporary name beside it and renamed over it once
 * complete, so a failure leaves a previous `out` as it was (as plain replay). */
static int export_store(const char *path, const char *out, size_t map_mb, uint64_t *n,
			char *errstr, size_t errlen)
{
	struct bw_store *st = store_open(path, false, map_mb, errstr, errlen);
	char tmp[4096];
	FILE *f = NULL;
	int rc, fd = -1;

	if (!st)
		return BW_ESTORE;
	if (strcmp(out, "-") == 0) {
		f = stdout;
	} else if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", out) >= sizeof(tmp) ||
		   (fd = mkstemp(tmp)) < 0 || fchmod(fd, 0644) || !(f = fdopen(fd, "w"))) {
		int e = errno;
		if (fd >= 0) {
			close(fd);
			unlink(tmp);
		}
		store_close(st);
		return bw_seterr(errstr, errlen, BW_EIO, "%s: %s", out, strerror(e));
	}
	rc = store_scan(st, NULL, write_record, f);
	if (rc == 0)
		rc = store_count(st, n);
	if (fflush(f) || ferror(f))
		rc = BW_EIO;
	if (f != stdout && fclose(f))
		rc = BW_EIO;
	if (f != stdout && (rc || rename(tmp, out))) {
		rc = rc ? rc : BW_EIO;
		unlink(tmp);
	}
	store_close(st);
	return rc ? bw_seterr(errstr, errlen, rc, "%s: writing the records failed", out) : 0;
}

/* Point the state (and, without --store, the store) into `tmp`. */
static int set_paths(struct bw_config *cfg, const struct pipeline_replay_args *a,
		     const char *tmp, char *state, char *store, size_t cap, char *errstr,
		     size_t errlen)
{
	snprintf(state, cap, "%s/state", tmp);
	snprintf(store, cap, "%s/store", tmp);
	if (cfg_set(cfg, "features.state_dir", state, "replay --via-kafka", errstr, errlen) ||
	    cfg_set(cfg, "store.path", a->store ? a->store : store, "replay --via-kafka", errstr,
		    errlen) ||
	    cfg_resolve_model(cfg, a->model, errstr, errlen))
		return BW_EINVAL;
	return 0;
}

int pipeline_replay(struct bw_config *cfg, const struct pipeline_replay_args *a)
{
	struct pipeline_opts o = { .exit_when_idle = true, .sources = a->files,
				   .n_sources = a->n_files, .drain_timeout_ms = REPLAY_DRAIN_MS };
	struct pipeline_stats st = { 0 };
	atomic_int stop = 0;
	const char *base = getenv("TMPDIR");
	char tmp[1024], state[1100], store[1100], err[1024];
	uint64_t n = 0;
	int rc;

	bw_log_set_level(bw_log_level_parse(cfg->log_level));
	snprintf(tmp, sizeof(tmp), "%s/botwatch-replay.XXXXXX", base && *base ? base : "/tmp");
	if (!mkdtemp(tmp)) {
		BW_ERROR("botwatch replay: cannot create a temporary directory: %s",
			strerror(errno));
		return 1;
	}
	rc = set_paths(cfg, a, tmp, state, store, sizeof(state), err, sizeof(err));
	if (!rc && cfg->kafka_bootstrap[0])
		rc = unique_names(cfg, err, sizeof(err));
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (!rc)
		rc = pipeline_run(cfg, &o, &stop, &st, err, sizeof(err));
	if (!rc && a->out)
		rc = export_store(cfg->store_path, a->out, (size_t)cfg->store_map_size_mb, &n, err,
				  sizeof(err));
	curl_global_cleanup();
	remove_env_dir(state);
	remove_env_dir(a->store ? NULL : store);
	rmdir(tmp);
	if (rc) {
		BW_ERROR("botwatch replay: %s", err);
		return 1;
	}
	BW_INFO("botwatch replay: via Kafka: %llu posts folded, %llu feature updates, "
			"%llu accounts scored (%llu updates not scored); %llu records written",
		(unsigned long long)st.posts, (unsigned long long)st.updates,
		(unsigned long long)st.scored, (unsigned long long)st.score_errors,
		(unsigned long long)n);
	return st.score_errors ? 1 : 0;
}
