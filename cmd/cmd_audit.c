/*
 * cmd_audit.c — the audit trail's commands (audit/audit.h, docs/AUDIT.md):
 *
 *   botwatch models  [--store DIR] list | show ID | import FILE | export ID [FILE]
 *   botwatch history [--store DIR] ID | --stats
 *   botwatch rescore [--store DIR] ID [--at TIME] [--model MODEL_ID] [--top N]
 *   botwatch rescore [--store DIR] --all
 *
 * `rescore` prints the re-performance as JSON, then one last line beginning
 * `identical` or `different`; it exits 0 when identical, 1 when different and
 * 2 on any error (as diff(1) does).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "bw_err.h"
#include "bw_time.h"
#include "cfg.h"
#include "clf.h"
#include "commands.h"
#include "store.h"

static void models_usage(FILE *out)
{
	fprintf(out,
		"usage: botwatch models [--config FILE] [--set key=value]... [--store DIR]\n"
		"                       list | show ID | import FILE | export ID [FILE]\n\n"
		"The store's model registry: every model that scored into it, kept by id (the\n"
		"sha256 of its bytes) and never overwritten.\n\n"
		"  list           one line per model: id, bytes, registered at\n"
		"  show ID        the model's entry as JSON (schema, params, training)\n"
		"  import FILE    register a model file (e.g. to rescore with it)\n"
		"  export ID      write the model's exact bytes to FILE (default: stdout)\n"
		"  --store DIR    the LMDB store (store.path)\n");
}

static void history_usage(FILE *out)
{
	fprintf(out,
		"usage: botwatch history [--config FILE] [--set key=value]... [--store DIR] ID\n"
		"       botwatch history [--store DIR] --stats\n\n"
		"Every score decision kept for account ID, oldest first, as JSON: model id,\n"
		"feature schema, vector hash, input watermark, scored_at (wall clock), score.\n\n"
		"  --store DIR    the LMDB store (store.path)\n"
		"  --stats        the trail's size: decisions, distinct vectors, models, and\n"
		"                 the bytes (LMDB pages) each takes, per decision\n");
}

static void rescore_usage(FILE *out)
{
	fprintf(out,
		"usage: botwatch rescore [--config FILE] [--set key=value]... [--store DIR] ID\n"
		"                        [--at TIME] [--model MODEL_ID] [--top N]\n"
		"       botwatch rescore [--store DIR] --all\n\n"
		"Re-perform a stored decision of account ID with its archived model and feature\n"
		"vector: the record is rebuilt and compared byte for byte. The last line of\n"
		"stdout begins `identical` (exit 0) or `different` (exit 1); errors exit 2.\n\n"
		"  --store DIR       the LMDB store (store.path)\n"
		"  --at TIME         the decision in force at TIME (ISO 8601; default: the latest)\n"
		"  --model MODEL_ID  rescore with this registered model instead (`botwatch models\n"
		"                    import FILE` registers one): the difference, feature by feature\n"
		"  --top N           feature differences listed (default 20)\n"
		"  --all             re-perform every decision of every account; one line per\n"
		"                    decision that differs, then the summary line\n");
}

/* --store DIR (store.path) and the positional arguments into pos[0..*npos). */
static int split_args(const char *name, void (*usage)(FILE *), int argc, char **argv,
		      struct bw_config *cfg, const char **pos, int *npos, int maxpos)
{
	static const struct cfg_flag flags[] = { { "--store", "store.path" } };
	char err[512];

	*npos = 0;
	for (int i = 1; i < argc; i++) {
		int rc = cfg_flag_apply(cfg, flags, 1, argc, argv, &i, err, sizeof(err));
		if (rc < 0) {
			fprintf(stderr, "botwatch %s: %s\n", name, err);
			return 2;
		}
		if (rc > 0)
			continue;
		if (argv[i][0] == '-' || *npos == maxpos) {
			fprintf(stderr, "botwatch %s: unexpected argument '%s'\n", name, argv[i]);
			usage(stderr);
			return 2;
		}
		pos[(*npos)++] = argv[i];
	}
	return 0;
}

static struct bw_store *open_store(const char *name, const struct bw_config *cfg, bool writable)
{
	char err[512];
	struct bw_store *st = store_open(cfg->store_path, writable, (size_t)cfg->store_map_size_mb,
					 err, sizeof(err));

	if (!st)
		fprintf(stderr, "botwatch %s: %s\n", name, err);
	return st;
}

/* Print v (pretty) and a newline to stdout; takes the reference. */
static int print_json(json_t *v)
{
	int rc = v && json_dumpf(v, stdout, JSON_INDENT(2) | JSON_ENCODE_ANY) == 0 ? 0 : 1;

	putchar('\n');
	json_decref(v);
	return rc;
}

/* ---- models -------------------------------------------------------------------- */

static int list_cb(const char *id, size_t len, int64_t registered_ms, void *opaque)
{
	char ts[40];

	(void)opaque;
	printf("%s\t%zu\t%s\n", id, len, bw_time_format(registered_ms, ts, sizeof(ts)));
	return 0;
}

static int models_show(struct bw_store *st, const char *id)
{
	json_t *all = NULL, *v;
	size_t i;

	if (audit_models_json(st, &all))
		return 1;
	json_array_foreach(all, i, v) {
		if (strcmp(json_string_value(json_object_get(v, "id")), id) == 0) {
			int rc = print_json(json_incref(v));
			json_decref(all);
			return rc;
		}
	}
	json_decref(all);
	fprintf(stderr, "botwatch models: %s is not registered\n", id);
	return 1;
}

static int models_import(struct bw_store *st, const char *path)
{
	char err[512];
	struct clf_model *mdl = clf_model_load(path, NULL, 0, err, sizeof(err));
	int rc = mdl ? audit_model_register(st, mdl, path, err, sizeof(err)) : 1;

	if (rc)
		fprintf(stderr, "botwatch models: %s\n", err);
	else
		printf("%s\n", clf_model_id(mdl));
	clf_model_free(mdl);
	return rc ? 1 : 0;
}

static int models_export(struct bw_store *st, const char *id, const char *path)
{
	size_t len = 0;
	int err = 0;
	char *bytes = store_get_model(st, id, &len, NULL, &err);
	FILE *f;

	if (!bytes) {
		fprintf(stderr, "botwatch models: %s: %s\n", id, bw_strerror(err));
		return 1;
	}
	f = path && strcmp(path, "-") != 0 ? fopen(path, "wb") : stdout;
	bool bad = !f || fwrite(bytes, 1, len, f) != len || fflush(f);
	if (f && f != stdout && fclose(f))
		bad = true;
	if (bad)
		fprintf(stderr, "botwatch models: %s: %s\n", path ? path : "stdout", strerror(errno));
	free(bytes);
	return bad ? 1 : 0;
}

int cmd_models(int argc, char **argv)
{
	const char *pos[3];
	struct bw_config *cfg;
	struct bw_store *st = NULL;
	int npos = 0, rc;

	int begun = cfg_cli_begin("models", models_usage, &argc, argv, &cfg);
	if (begun >= 0)
		return begun;
	rc = split_args("models", models_usage, argc, argv, cfg, pos, &npos, 3);
	const char *verb = npos ? pos[0] : "";
	bool ok = (strcmp(verb, "list") == 0 && npos == 1) ||
		  (strcmp(verb, "show") == 0 && npos == 2) ||
		  (strcmp(verb, "import") == 0 && npos == 2) ||
		  (strcmp(verb, "export") == 0 && (npos == 2 || npos == 3));
	if (!rc && !ok) {
		models_usage(stderr);
		rc = 2;
	}
	if (!rc && !(st = open_store("models", cfg, strcmp(verb, "import") == 0)))
		rc = 1;
	if (!rc && strcmp(verb, "list") == 0)
		rc = store_scan_models(st, list_cb, NULL) ? 1 : 0;
	else if (!rc && strcmp(verb, "show") == 0)
		rc = models_show(st, pos[1]);
	else if (!rc && strcmp(verb, "import") == 0)
		rc = models_import(st, pos[1]);
	else if (!rc)
		rc = models_export(st, pos[1], npos == 3 ? pos[2] : NULL);
	store_close(st);
	cfg_free(cfg);
	return rc;
}

/* ---- history ------------------------------------------------------------------- */

/* --stats: the audit trail's size. */
static int print_stats(struct bw_store *st)
{
	struct store_audit_stats a;
	uint64_t accounts = 0;
	int rc = store_audit_stats(st, &a);

	if (rc || (rc = store_count(st, &accounts))) {
		fprintf(stderr, "botwatch history: %s\n", bw_strerror(rc));
		return 1;
	}
	double d = a.decisions ? (double)a.decisions : 1;
	printf("accounts %llu\ndecisions %llu\nvectors %llu\nmodels %llu\n"
	       "history_bytes %llu\nvector_bytes %llu\nmodel_bytes %llu\n"
	       "history_bytes_per_decision %.1f\nvector_bytes_per_decision %.1f\n"
	       "bytes_per_decision %.1f\n",
	       (unsigned long long)accounts, (unsigned long long)a.decisions,
	       (unsigned long long)a.vectors, (unsigned long long)a.models,
	       (unsigned long long)a.history_bytes, (unsigned long long)a.vector_bytes,
	       (unsigned long long)a.model_bytes, (double)a.history_bytes / d,
	       (double)a.vector_bytes / d, (double)(a.history_bytes + a.vector_bytes) / d);
	return 0;
}

int cmd_history(int argc, char **argv)
{
	const char *pos[1];
	struct bw_config *cfg;
	struct bw_store *st = NULL;
	json_t *out = NULL;
	int npos = 0, rc;

	int begun = cfg_cli_begin("history", history_usage, &argc, argv, &cfg);
	if (begun >= 0)
		return begun;
	bool stats = false;
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--stats") == 0) {
			stats = true;
			memmove(&argv[i], &argv[i + 1], (size_t)(argc - i - 1) * sizeof(*argv));
			argc--;
			break;
		}
	rc = split_args("history", history_usage, argc, argv, cfg, pos, &npos, 1);
	if (!rc && stats && npos == 0) {
		rc = (st = open_store("history", cfg, false)) ? print_stats(st) : 1;
		store_close(st);
		cfg_free(cfg);
		return rc;
	}
	if (!rc && npos != 1) {
		history_usage(stderr);
		rc = 2;
	}
	if (!rc && !(st = open_store("history", cfg, false)))
		rc = 1;
	if (!rc && (rc = audit_history_json(st, pos[0], &out))) {
		fprintf(stderr, "botwatch history: %s: %s\n", pos[0], bw_strerror(rc));
		rc = 1;
	} else if (!rc) {
		rc = print_json(out);
	}
	store_close(st);
	cfg_free(cfg);
	return rc;
}

/* ---- rescore ------------------------------------------------------------------- */

/* The rescore options after the common ones; 0 or 2. */
static int rescore_opts(int argc, char **argv, struct audit_rescore_opts *o, bool *all,
			int *first)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--all") == 0) {
			*all = true;
			continue;
		}
		if (strcmp(a, "--at") == 0 && v) {
			if (bw_time_parse_any(v, strlen(v), &o->at_ms)) {
				fprintf(stderr, "botwatch rescore: --at: '%s' is not a time\n", v);
				return 2;
			}
		} else if (strcmp(a, "--model") == 0 && v) {
			o->model_id = v;
		} else if (strcmp(a, "--top") == 0 && v) {
			char *end;
			errno = 0;
			long n = strtol(v, &end, 10);
			if (!*v || *end || errno || n < 1 || n > 10000) {
				fprintf(stderr, "botwatch rescore: --top: '%s' is not in [1, 10000]\n", v);
				return 2;
			}
			o->top = (size_t)n;
		} else {
			argv[(*first)++] = argv[i]; /* kept for split_args */
			continue;
		}
		i++;
	}
	return 0;
}

static int print_different(const char *user_id, const json_t *result, void *opaque)
{
	const json_t *d = json_object_get(result, "decision");

	(void)opaque;
	if (strcmp(json_string_value(json_object_get(result, "result")), "identical") != 0)
		printf("different %s decision %lld\n", user_id,
		       (long long)json_integer_value(json_object_get(d, "seq")));
	return 0;
}

/* --all: every decision of every account; 0 identical, 1 different, 2 error. */
static int rescore_all(struct bw_store *st, const struct audit_rescore_opts *o)
{
	uint64_t same = 0, diff = 0;
	char err[512];

	if (audit_rescore_all(st, o, &same, &diff, print_different, NULL, err, sizeof(err))) {
		fprintf(stderr, "botwatch rescore: %s\n", err);
		return 2;
	}
	printf("%s: %llu of %llu decisions re-performed identically\n",
	       diff ? "different" : "identical", (unsigned long long)same,
	       (unsigned long long)(same + diff));
	return diff ? 1 : 0;
}

int cmd_rescore(int argc, char **argv)
{
	bool all = false;
	struct audit_rescore_opts o = { .at_ms = INT64_MIN };
	const char *pos[1];
	struct bw_config *cfg;
	struct bw_store *st = NULL;
	json_t *out = NULL;
	char err[512];
	int npos = 0, rest = 1, rc;

	int begun = cfg_cli_begin("rescore", rescore_usage, &argc, argv, &cfg);
	if (begun >= 0)
		return begun == 0 ? 0 : 2;
	rc = rescore_opts(argc, argv, &o, &all, &rest);
	if (!rc)
		rc = split_args("rescore", rescore_usage, rest, argv, cfg, pos, &npos, 1);
	if (!rc && all && npos == 0) {
		rc = (st = open_store("rescore", cfg, false)) ? rescore_all(st, &o) : 2;
		store_close(st);
		cfg_free(cfg);
		return rc;
	}
	if (!rc && (all || npos != 1)) {
		rescore_usage(stderr);
		rc = 2;
	}
	if (!rc && !(st = open_store("rescore", cfg, false)))
		rc = 2;
	if (!rc && audit_rescore(st, pos[0], &o, &out, err, sizeof(err))) {
		fprintf(stderr, "botwatch rescore: %s\n", err);
		rc = 2;
	}
	if (!rc) {
		const char *res = json_string_value(json_object_get(out, "result"));
		const json_t *d = json_object_get(out, "decision");
		bool same = res && strcmp(res, "identical") == 0;
		json_t *r = json_object_get(out, "rescored");
		json_dumpf(out, stdout, JSON_INDENT(2));
		printf("\n%s: account %s decision %lld (scored_at %s) with %s: score %.17g, "
		       "archived %.17g\n", same ? "identical" : "different", pos[0],
		       (long long)json_integer_value(json_object_get(d, "seq")),
		       json_string_value(json_object_get(d, "scored_at")),
		       json_string_value(json_object_get(r, "model_id")),
		       json_number_value(json_object_get(r, "score")),
		       json_number_value(json_object_get(d, "score")));
		json_decref(out);
		rc = same ? 0 : 1;
	}
	store_close(st);
	cfg_free(cfg);
	return rc;
}
