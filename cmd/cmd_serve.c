/*
 * cmd_serve.c — `botwatch serve`: the lookup API over a score store
 * (docs/API.md). Opens the store read-only, serves until SIGINT/SIGTERM;
 * SIGHUP reloads the model (score.model) atomically.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "bw_err.h"
#include "bw_log.h"
#include "cfg.h"
#include "commands.h"
#include "store.h"

static void serve_usage(FILE *out)
{
	fprintf(out,
		"usage: botwatch serve [--config FILE] [--set key=value]... [--store DIR]\n"
		"                      [--listen HOST:PORT] [--threads N] [--model FILE]\n"
		"                      [--port-file FILE]\n\n"
		"Serve score records from the store over HTTP (see docs/API.md).\n\n"
		"  --store DIR        LMDB store directory (store.path)\n"
		"  --listen HOST:PORT address to listen on; port 0 picks a free port (api.listen)\n"
		"  --threads N        worker threads (api.threads)\n"
		"  --model FILE       model for explanations and the Botometer routes (score.model);\n"
		"                     when the file does not exist those routes answer 503\n"
		"  --port-file FILE   write the bound port to FILE once listening\n"
		"The bearer token comes from api.token (e.g. BOTWATCH_API_TOKEN).\n"
		"SIGHUP loads score.model again and swaps it in (the old and new ids are logged;\n"
		"a model that does not load leaves the old one). SIGINT/SIGTERM stop.\n");
}

/* Apply serve's own flags onto the config; 0, or 2 on a usage error. */
static int serve_args(int argc, char **argv, struct bw_config *cfg, const char **port_file)
{
	static const struct cfg_flag map[] = {
		{ "--store", "store.path" }, { "--listen", "api.listen" }, { "--threads", "api.threads" },
		{ "--model", "score.model" },
	};
	char err[512];

	for (int i = 1; i < argc; i++) {
		int rc;
		if (strcmp(argv[i], "--port-file") == 0 && i + 1 < argc) {
			*port_file = argv[++i];
			continue;
		}
		rc = cfg_flag_apply(cfg, map, sizeof(map) / sizeof(map[0]), argc, argv, &i, err,
				    sizeof(err));
		if (rc < 0) {
			fprintf(stderr, "botwatch serve: %s\n", err);
			return 2;
		}
		if (rc == 0) {
			fprintf(stderr, "botwatch serve: unknown option '%s'\n", argv[i]);
			return 2;
		}
	}
	return 0;
}

static int write_port(const char *path, uint16_t port)
{
	FILE *f = fopen(path, "w");

	if (!f || fprintf(f, "%u\n", port) < 0 || fclose(f) != 0) {
		BW_ERROR("botwatch serve: %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* Run the server until a signal; returns the exit status. */
static int serve_run(struct bw_config *cfg, const char *port_file)
{
	struct api_opts o = {
		.listen = cfg->api_listen, .token = cfg->api_token,
		.threads = (unsigned)cfg->api_threads, .max_body = (size_t)cfg->api_max_body_bytes,
		.conn_limit = (unsigned)cfg->api_conn_limit, .timeout_s = (unsigned)cfg->api_timeout_s,
		.request_timeout_s = (unsigned)cfg->api_request_timeout_s,
		.max_batch = (size_t)cfg->api_max_batch,
		.cap_prior = cfg->score_cap_prior,
	};
	char err[512];
	sigset_t set;
	int sig = 0, status = 1;
	struct bw_store *st = store_open(cfg->store_path, false, (size_t)cfg->store_map_size_mb,
					 err, sizeof(err));
	struct api_server *srv = NULL;
	char merr[1024];

	if (cfg_resolve_model(cfg, NULL, merr, sizeof(merr)) == 0)
		o.model_path = cfg->score_model;
	else
		BW_WARN("%s: explain and the Botometer routes answer 503", merr);
	if (!st) {
		BW_ERROR("botwatch serve: store %s: %s", cfg->store_path, err);
		return 1;
	}
	/* block the signals before the daemon's threads exist, so they inherit the mask */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	if (!(srv = api_server_new(st, &o, err, sizeof(err))) ||
	    api_server_start(srv, err, sizeof(err))) {
		BW_ERROR("botwatch serve: %s", err);
		goto out_free;
	}
	BW_INFO("serving %s on port %u (%u threads%s)", cfg->store_path, api_server_port(srv),
		o.threads, o.token && *o.token ? ", token required" : "");
	if (port_file && write_port(port_file, api_server_port(srv)))
		goto out_free;
	sigdelset(&set, SIGPIPE);
	/* SIGHUP: load score.model again and swap it in (the old one stays on failure) */
	while (sigwait(&set, &sig) == 0 && sig == SIGHUP)
		api_server_reload_model(srv, cfg->score_model, err, sizeof(err));
	BW_INFO("signal %d: stopping", sig);
	status = 0;
out_free:
	api_server_free(srv);
	store_close(st);
	return status;
}

int cmd_serve(int argc, char **argv)
{
	struct bw_config *cfg;
	const char *port_file = NULL;
	int rc;

	int begun = cfg_cli_begin("serve", serve_usage, &argc, argv, &cfg);
	if (begun >= 0)
		return begun;
	if ((rc = serve_args(argc, argv, cfg, &port_file))) {
		serve_usage(stderr);
		cfg_free(cfg);
		return rc;
	}
	bw_log_set_level(bw_log_level_parse(cfg->log_level));
	rc = serve_run(cfg, port_file);
	cfg_free(cfg);
	return rc;
}
