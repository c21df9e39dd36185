/*
 * cmd_run.c — `botwatch run`: the main job in one process on its embedded
 * defaults (pipeline.h, docs/PIPELINE.md).
 *
 *   botwatch run [--source SRC] [--brokers LIST] [--listen HOST:PORT] [--exit-when-idle]
 *
 * With no ingest.source the bundled demo sample is ingested; with no
 * kafka.bootstrap.servers the embedded broker runs in-process.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "bw_err.h"
#include "bw_fs.h"
#include "bw_log.h"
#include "cfg.h"
#include "commands.h"
#include "pipeline.h"

#define RUN_DEMO_SOURCE "data/demo/posts.ndjson.gz"
#define RUN_DRAIN_MS 30000

static void run_usage(FILE *out)
{
	fprintf(out,
		"usage: botwatch run [--config FILE] [--set key=value]... [--source SRC]\n"
		"                    [--brokers LIST] [--listen HOST:PORT] [--exit-when-idle]\n\n"
		"Run the whole pipeline in one process: ingest (ingest.source; default the bundled\n"
		"demo sample " RUN_DEMO_SOURCE "), the features stage, the scoring stage\n"
		"(records into store.path and score.topic) and the lookup API on api.listen. With\n"
		"no kafka.bootstrap.servers an embedded broker runs in-process. Stays up until\n"
		"SIGINT/SIGTERM, then stops ingest, lets the stages drain, commits and stops the API.\n\n"
		"  --source SRC       input: stream URL, file or `-` (ingest.source)\n"
		"  --brokers LIST     Kafka bootstrap servers (kafka.bootstrap.servers)\n"
		"  --listen HOST:PORT API address (api.listen)\n"
		"  --store DIR        score store (store.path)\n"
		"  --exit-when-idle   exit once the input is consumed and every account scored\n");
}

/* Options into cfg / *idle; 0 or 2 (usage error, printed). */
static int parse_args(int argc, char **argv, struct bw_config *cfg, bool *idle)
{
	static const struct cfg_flag flags[] = {
		{ "--source", "ingest.source" }, { "--brokers", "kafka.bootstrap.servers" },
		{ "--listen", "api.listen" }, { "--store", "store.path" },
	};
	char err[512];

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		int rc = cfg_flag_apply(cfg, flags, sizeof(flags) / sizeof(flags[0]), argc, argv, &i,
					err, sizeof(err));
		if (rc < 0) {
			fprintf(stderr, "botwatch run: %s\n", err);
			return 2;
		}
		if (rc > 0)
			continue;
		if (strcmp(a, "--exit-when-idle") == 0) {
			*idle = true;
		} else {
			fprintf(stderr, "botwatch run: unknown option or missing value: '%s'\n", a);
			run_usage(stderr);
			return 2;
		}
	}
	return 0;
}

/* No ingest.source: the bundled demo sample, found like the default model
 * (bw_fs_find_data()). 0, or 1 with the places looked in printed. */
static int demo_source(struct bw_config *cfg)
{
	char path[4096], err[1024];

	if (bw_fs_find_data("the demo sample", RUN_DEMO_SOURCE, path, sizeof(path), err,
			    sizeof(err)) ||
	    cfg_set(cfg, "ingest.source", path, "default", err, sizeof(err))) {
		BW_ERROR("botwatch run: no ingest.source, and %s", err);
		return 1;
	}
	BW_INFO("run: no ingest.source: ingesting the demo sample %s", path);
	return 0;
}

int cmd_run(int argc, char **argv)
{
	struct bw_config *cfg;
	struct pipeline_opts o = { .serve_api = true, .drain_timeout_ms = RUN_DRAIN_MS };
	atomic_int stop = 0;
	char err[1024];
	bool idle = false;
	int rc;

	int begun = cfg_cli_begin("run", run_usage, &argc, argv, &cfg);
	if (begun >= 0)
		return begun;
	bw_log_set_level(bw_log_level_parse(cfg->log_level));
	if ((rc = parse_args(argc, argv, cfg, &idle)))
		goto out_cfg;
	o.exit_when_idle = idle;
	if (!cfg->ingest_source[0] && (rc = demo_source(cfg)))
		goto out_cfg;
	if (cfg_resolve_model(cfg, NULL, err, sizeof(err))) {
		BW_ERROR("botwatch run: %s", err);
		rc = 1;
		goto out_cfg;
	}
	if (strstr(cfg->ingest_source, "://") == NULL && strcmp(cfg->ingest_source, "-") != 0 &&
	    access(cfg->ingest_source, R_OK) != 0) {
		BW_ERROR("botwatch run: ingest.source %s: cannot read it", cfg->ingest_source);
		rc = 1;
		goto out_cfg;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = pipeline_run(cfg, &o, &stop, NULL, err, sizeof(err)) ? 1 : 0;
	if (rc)
		BW_ERROR("botwatch run: %s", err);
	curl_global_cleanup();
out_cfg:
	cfg_free(cfg);
	return rc;
}
