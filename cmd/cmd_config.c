/*
 * cmd_config.c — `botwatch config`: print the effective configuration or the
 * generated reference.
 */
#include <stdio.h>
#include <string.h>

#include "bw_err.h"
#include "cfg.h"
#include "commands.h"

static void config_usage(FILE *out)
{
	fprintf(out, "usage: botwatch config [--config FILE] [--set key=value]... [--dump | --markdown | --template]\n\n"
		     "  --dump       print the effective settings as `key = value` (default)\n"
		     "  --markdown   print the configuration reference (docs/CONFIG.md)\n"
		     "  --template   print the commented config file (config/botwatch.conf)\n");
}

int cmd_config(int argc, char **argv)
{
	struct bw_config *cfg;
	bool markdown = false, template = false;

	int begun = cfg_cli_begin("config", config_usage, &argc, argv, &cfg);
	if (begun >= 0)
		return begun;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--markdown") == 0) {
			markdown = true;
		} else if (strcmp(argv[i], "--template") == 0) {
			template = true;
		} else if (strcmp(argv[i], "--dump") != 0) {
			fprintf(stderr, "botwatch config: unknown option '%s'\n", argv[i]);
			config_usage(stderr);
			cfg_free(cfg);
			return 2;
		}
	}
	if (markdown)
		cfg_write_markdown(stdout);
	else if (template)
		cfg_write_template(stdout);
	else
		cfg_dump(cfg, stdout);
	cfg_free(cfg);
	return 0;
}
