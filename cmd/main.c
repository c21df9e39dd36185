/*
 * main.c — build/botwatch: one binary, one subcommand per pipeline stage.
 *
 * The table below is the list of subcommands; `botwatch help` prints it and
 * `botwatch <cmd> --help` prints each command's own usage.
 */
#include <stdio.h>
#include <string.h>

#include "commands.h"

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

static void usage(FILE *out)
{
	fprintf(out, "botwatch %s — social-bot detection stream processor\n\n"
		     "usage: botwatch <command> [options]\n\n"
		     "commands:\n",
		BW_VERSION);
	for (size_t i = 0; i < N_COMMANDS; i++)
		fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(out, "  %-10s %s\n  %-10s %s\n", "help", "this text", "version", "print the version");
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
	if (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "--version") == 0) {
		printf("botwatch %s\n", BW_VERSION);
		return 0;
	}
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "botwatch: unknown command '%s' (try 'botwatch help')\n", argv[1]);
	return 2;
}
