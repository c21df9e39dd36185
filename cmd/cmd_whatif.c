/*
 * cmd_whatif.c — `botwatch whatif`: POST /v1/whatif from the command line
 * (api_whatif(), docs/AUDIT.md).
 *
 *   botwatch whatif [--store DIR] [--model FILE] [--threshold T] ID [--set-feature K=V]...
 *   botwatch whatif [--model FILE] --input REQUEST.json
 *
 * Prints the same JSON answer as the route.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "bw_err.h"
#include "cfg.h"
#include "clf.h"
#include "commands.h"
#include "feat.h"
#include "store.h"

static void whatif_usage(FILE *out)
{
	fprintf(out,
		"usage: botwatch whatif [--config FILE] [--set key=value]... [--store DIR]\n"
		"                       [--model FILE] [--threshold T] ID [-o NAME=VALUE]...\n"
		"       botwatch whatif [--model FILE] --input REQUEST.json\n\n"
		"An account's overall score with some inputs changed: which features changed, how\n"
		"each contribution moved, the nearest flips (smallest single-feature changes that\n"
		"cross the threshold) and a rule-style reason, as JSON (POST /v1/whatif).\n\n"
		"  ID                a stored account; -o NAME=VALUE overrides a registry feature\n"
		"  -o NAME=VALUE     an override (repeatable); VALUE is JSON (a number, true, null)\n"
		"  --input FILE      a whole request: {\"user_id\"} or {\"user\", \"timeline\"},\n"
		"                    \"overrides\" (profile fields or feature names), \"threshold\"\n"
		"  --threshold T     decision threshold in (0, 1) (default 0.5)\n"
		"  --store DIR       the LMDB store (store.path)\n"
		"  --model FILE      the model (score.model)\n");
}

/* One -o NAME=VALUE into the overrides object; 0 or 2. */
static int add_override(json_t *ov, const char *kv)
{
	const char *eq = strchr(kv, '=');
	json_t *v;
	char name[256];

	if (!eq || eq == kv || (size_t)(eq - kv) >= sizeof(name)) {
		fprintf(stderr, "botwatch whatif: -o expects NAME=VALUE, got '%s'\n", kv);
		return 2;
	}
	snprintf(name, sizeof(name), "%.*s", (int)(eq - kv), kv);
	if (!(v = json_loads(eq + 1, JSON_DECODE_ANY, NULL)))
		v = json_string(eq + 1); /* a bare word: a string (a profile field) */
	json_object_set_new(ov, name, v);
	return 0;
}

/* The request from the arguments into *body; 0 or 2. */
static int build_request(int argc, char **argv, struct bw_config *cfg, json_t **body)
{
	static const struct cfg_flag flags[] = { { "--store", "store.path" },
						 { "--model", "score.model" } };
	json_t *ov = json_object();
	const char *id = NULL, *input = NULL;
	double threshold = 0;
	char err[512];

	*body = NULL;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		int rc = cfg_flag_apply(cfg, flags, 2, argc, argv, &i, err, sizeof(err));
		if (rc < 0) {
			fprintf(stderr, "botwatch whatif: %s\n", err);
			goto out_usage;
		}
		if (rc > 0)
			continue;
		if (strcmp(a, "-o") == 0 && v) {
			if (add_override(ov, v))
				goto out_usage;
			i++;
		} else if (strcmp(a, "--input") == 0 && v) {
			input = v, i++;
		} else if (strcmp(a, "--threshold") == 0 && v) {
			char *end;
			errno = 0;
			threshold = strtod(v, &end);
			if (*end || errno || !(threshold > 0 && threshold < 1)) {
				fprintf(stderr, "botwatch whatif: --threshold must be in (0, 1)\n");
				goto out_usage;
			}
			i++;
		} else if (a[0] != '-' && !id) {
			id = a;
		} else {
			fprintf(stderr, "botwatch whatif: unexpected argument '%s'\n", a);
			goto out_usage;
		}
	}
	if (!id == !input) {
		fprintf(stderr, "botwatch whatif: give an account ID or --input FILE\n");
		goto out_usage;
	}
	if (input) {
		json_error_t jerr;
		if (!(*body = json_load_file(input, 0, &jerr))) {
			fprintf(stderr, "botwatch whatif: %s:%d: %s\n", input, jerr.line, jerr.text);
			json_decref(ov);
			return 2;
		}
		/* -o adds to (or replaces keys of) the file's "overrides" */
		if (json_object_size(ov) && json_is_object(*body)) {
			if (!json_is_object(json_object_get(*body, "overrides")))
				json_object_set_new(*body, "overrides", json_object());
			json_object_update(json_object_get(*body, "overrides"), ov);
		}
	} else {
		*body = json_pack("{s:s, s:O}", "user_id", id, "overrides", ov);
	}
	if (threshold > 0 && json_is_object(*body))
		json_object_set_new(*body, "threshold", json_real(threshold));
	json_decref(ov);
	return 0;
out_usage:
	json_decref(ov);
	whatif_usage(stderr);
	return 2;
}

int cmd_whatif(int argc, char **argv)
{
	struct bw_config *cfg;
	struct bw_store *st = NULL;
	struct clf_model *mdl = NULL;
	json_t *body = NULL, *out = NULL;
	char err[1024];
	int rc;

	int begun = cfg_cli_begin("whatif", whatif_usage, &argc, argv, &cfg);
	if (begun >= 0)
		return begun;
	if ((rc = build_request(argc, argv, cfg, &body)))
		goto out_free;
	rc = 1;
	if (cfg_resolve_model(cfg, NULL, err, sizeof(err)) ||
	    !(mdl = clf_model_load(cfg->score_model, feat_schema_hash(), feat_count(), err,
				   sizeof(err)))) {
		fprintf(stderr, "botwatch whatif: %s\n", err);
		goto out_free;
	}
	if (json_object_get(body, "user_id") &&
	    !(st = store_open(cfg->store_path, false, (size_t)cfg->store_map_size_mb, err,
			      sizeof(err)))) {
		fprintf(stderr, "botwatch whatif: %s\n", err);
		goto out_free;
	}
	if (api_whatif(st, mdl, cfg->score_cap_prior, (size_t)cfg->api_max_body_bytes, body, &out,
		       err, sizeof(err))) {
		fprintf(stderr, "botwatch whatif: %s\n", err);
		goto out_free;
	}
	json_dumpf(out, stdout, JSON_INDENT(2));
	putchar('\n');
	rc = 0;
out_free:
	json_decref(out);
	json_decref(body);
	store_close(st);
	clf_model_free(mdl);
	cfg_free(cfg);
	return rc;
}
