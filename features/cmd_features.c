/*
 * cmd_features.c — `botwatch features`: the feature registry's reference
 * (--list as TSV, --markdown as docs/FEATURES.md, --hash).
 *
 * The Kafka stage (consume `posts`, keep state in LMDB, emit updates) is not
 * part of this command yet; see docs/STATE.md.
 */
#include <stdio.h>
#include <string.h>

#include "bw_err.h"
#include "cfg.h"
#include "commands.h"
#include "feat.h"

static void features_usage(FILE *out)
{
	fprintf(out, "usage: botwatch features [--config FILE] [--set key=value]... "
		     "(--list | --markdown | --hash)\n\n"
		     "  --list       every feature as TSV: index, name, class, description\n"
		     "  --markdown   the feature reference (docs/FEATURES.md)\n"
		     "  --hash       the feature schema hash models are trained against\n");
}

int cmd_features(int argc, char **argv)
{
	struct bw_config *cfg;
	char err[512];
	const char *mode = NULL;
	int rc;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			features_usage(stdout);
			return 0;
		}
	}
	if (cfg_from_cli(&cfg, &argc, argv, err, sizeof(err))) {
		fprintf(stderr, "botwatch features: %s\n", err);
		return 2;
	}
	cfg_free(cfg);
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--list") == 0 || strcmp(argv[i], "--markdown") == 0 ||
		    strcmp(argv[i], "--hash") == 0) {
			if (mode) {
				fprintf(stderr, "botwatch features: choose one of --list, --markdown, --hash\n");
				return 2;
			}
			mode = argv[i];
		} else {
			fprintf(stderr, "botwatch features: unknown option '%s'\n", argv[i]);
			features_usage(stderr);
			return 2;
		}
	}
	if (!mode) {
		fprintf(stderr, "botwatch features: the Kafka features stage is not available in this "
				"build; use --list, --markdown or --hash (or `botwatch replay "
				"--features-out`)\n");
		return 2;
	}
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
