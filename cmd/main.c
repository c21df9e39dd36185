/*
 * main.c — build/botwatch: one binary, one subcommand per pipeline stage.
 *
 * The table below is the list of subcommands; `botwatch help` prints it and
 * `botwatch <cmd> --help` prints each command's own usage.
 */
#include <stdio.h>
#include <string.h>

#include "cfg.h"
#include "clf.h"
#include "commands.h"
#include "feat.h"

#ifndef BW_GIT_COMMIT
#define BW_GIT_COMMIT "unknown"
#endif

struct command {
	const char *name;                  /* argv[1] */
	int (*run)(int argc, char **argv); /* gets argv from the subcommand on */
	const char *summary;               /* one line for `botwatch help` */
};

static const struct command commands[] = {
	{ "config", cmd_config, "show the effective configuration (--dump) or its reference (--markdown)" },
	{ "ingest", cmd_ingest, "read a stream, file or stdin into Kafka (posts + dead-letter topic)" },
	{ "rules", cmd_rules, "list, add or delete X API v2 filtered-stream rules (--dry-run)" },
	{ "broker", cmd_broker, "run the embedded Kafka broker standalone; prints its bootstrap address" },
	{ "decode", cmd_decode, "decode posts from files (any supported shape) to normalised NDJSON" },
	{ "features", cmd_features, "list the feature registry (--list, --markdown, --hash)" },
	{ "replay", cmd_replay, "replay archives without a broker: per-account features (and scores)" },
	{ "simulate", cmd_simulate, "write simulated human and bot timelines with ground-truth labels" },
	{ "train", cmd_train, "train a model from labelled posts (libsvm, CV grid search, calibration)" },
	{ "eval", cmd_eval, "evaluate a model on labelled posts (AUC, PR-AUC, F1, Brier; --report DIR)" },
	{ "run", cmd_run, "the whole pipeline in one process (embedded broker, ingest, features, score, API)" },
	{ "score", cmd_score, "the Kafka scoring stage: feature updates in, score records to the store and topic" },
	{ "serve", cmd_serve, "serve score records over HTTP: lookups, batches, export, metrics" },
	{ "models", cmd_models, "the store's model registry: list, show, import, export (by sha256 id)" },
	{ "history", cmd_history, "every score decision kept for an account (audit trail)" },
	{ "rescore", cmd_rescore, "re-perform a stored decision with its archived model and vector" },
	{ "whatif", cmd_whatif, "what-if: a score with features or profile fields changed, and the nearest flip" },
	{ "demo", cmd_demo, "the live demo: simulated stream -> pipeline -> API, live view, JSON summary" },
	{ "report", cmd_report, "the conversation report: bot shares per hashtag/domain/keyword and window" },
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void version_usage(FILE *out)
{
	fprintf(out, "usage: botwatch version [--config FILE] [--set key=value]...\n\n"
		     "Print the version, the source commit it was built from, the feature schema\n"
		     "and the id of the model score.model names (sha256 of the file), as the\n"
		     "scores' model_version shows it.\n");
}

/* `botwatch version`: version, commit, feature schema, the default model's id. */
static int cmd_version(int argc, char **argv)
{
	struct bw_config *cfg;
	struct clf_model *mdl = NULL;
	char err[1024];

	int begun = cfg_cli_begin("version", version_usage, &argc, argv, &cfg);
	if (begun >= 0)
		return begun;
	if (argc > 1) {
		fprintf(stderr, "botwatch version: unexpected argument '%s'\n", argv[1]);
		cfg_free(cfg);
		return 2;
	}
	printf("botwatch %s (commit %s)\n", BW_VERSION, BW_GIT_COMMIT);
	printf("feature schema %s (%zu features)\n", feat_schema_hash(), feat_count());
	if (cfg_resolve_model(cfg, NULL, err, sizeof(err)) == 0 &&
	    (mdl = clf_model_load(cfg->score_model, feat_schema_hash(), feat_count(), err,
				  sizeof(err))))
		printf("default model %s (%s)\n", clf_model_id(mdl), cfg->score_model);
	else
		printf("default model: none loadable: %s\n", err);
	clf_model_free(mdl);
	cfg_free(cfg);
	return 0;
}

static void usage(FILE *out)
{
	fprintf(out, "botwatch %s — social-bot detection stream processor\n\n"
		     "usage: botwatch <command> [options]\n\n"
		     "commands:\n",
		BW_VERSION);
	for (size_t i = 0; i < N_COMMANDS; i++)
		fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(out, "  %-10s %s\n  %-10s %s\n", "help", "this text", "version",
		"print the version, source commit, feature schema and default model id");
	fprintf(out, "\nEvery command takes --config FILE and --set key=value "
		     "(see docs/CONFIG.md) and --help.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		if (argc > 2) {
			for (size_t i = 0; i < N_COMMANDS; i++) {
				if (strcmp(argv[2], commands[i].name) == 0) {
					char *sub[] = { argv[2], "--help", NULL };
					return commands[i].run(2, sub);
				}
			}
		}
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "--version") == 0)
		return cmd_version(argc - 1, argv + 1);
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "botwatch: unknown command '%s' (try 'botwatch help')\n", argv[1]);
	return 2;
}
