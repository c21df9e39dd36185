/*
 * cmd_serve.c — `botwatch serve`: the lookup API over a score store
 * (docs/API.md). Opens the store read-only, serves until SIGINT/SIGTERM;
 * with --follow (serve.follow) it keeps the store itself from the compacted
 * scores topic on a thread of its own (stage/stage_follow.h): an API replica.
 * SIGHUP reloads the model (score.model) atomically.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api.h"
#include "bw_err.h"
#include "bw_log.h"
#include "cfg.h"
#include "commands.h"
#include "stage_follow.h"
#include "store.h"

static void serve_usage(FILE *out)
{
	fprintf(out,
		"usage: botwatch serve [--config FILE] [--set key=value]... [--store DIR]\n"
		"                      [--listen HOST:PORT] [--threads N] [--model FILE]\n"
		"                      [--port-file FILE] [--follow [--brokers LIST]]\n\n"
		"Serve score records from the store over HTTP (see docs/API.md).\n\n"
		"  --store DIR        LMDB store directory (store.path)\n"
		"  --follow           keep the store from the compacted scores topic (serve.follow):\n"
		"                     an API replica of every scoring worker's records\n"
		"  --brokers LIST     Kafka bootstrap servers (kafka.bootstrap.servers)\n"
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
		{ "--model", "score.model" }, { "--brokers", "kafka.bootstrap.servers" },
	};
	char err[512];

	for (int i = 1; i < argc; i++) {
		int rc;
		if (strcmp(argv[i], "--port-file") == 0 && i + 1 < argc) {
			*port_file = argv[++i];
			continue;
		}
		if (strcmp(argv[i], "--follow") == 0) {
			if (cfg_set(cfg, "serve.follow", "true", "--follow", err, sizeof(err))) {
				fprintf(stderr, "botwatch serve: %s\n", err);
				return 2;
			}
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

/* The follower thread: its result, and a SIGTERM to the main thread when it
 * ends by itself (an error), so serve stops rather than serve a store that
 * no longer follows. */
struct follow_thread {
	const struct bw_config *cfg;
	struct bw_store *store;
	atomic_int stop;
	int rc;
	char err[512];
};

static void *follow_main(void *arg)
{
	struct follow_thread *t = arg;

	t->rc = follow_run(t->cfg, t->store, 0, &t->stop, NULL, t->err, sizeof(t->err));
	if (!atomic_load(&t->stop)) {
		if (t->rc == 0)
			snprintf(t->err, sizeof(t->err), "stopped");
		t->rc = t->rc ? t->rc : BW_EKAFKA;
		kill(getpid(), SIGTERM);
	}
	return NULL;
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
	struct bw_store *st = store_open(cfg->store_path, cfg->serve_follow,
					 (size_t)cfg->store_map_size_mb, err, sizeof(err));
	struct api_server *srv = NULL;
	struct follow_thread ft = { .cfg = cfg, .store = st };
	pthread_t follower;
	bool following = false;
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
	BW_INFO("serving %s on port %u (%u threads%s%s)", cfg->store_path, api_server_port(srv),
		o.threads, o.token && *o.token ? ", token required" : "",
		cfg->serve_follow ? ", following the scores topic" : "");
	if (port_file && write_port(port_file, api_server_port(srv)))
		goto out_free;
	if (cfg->serve_follow) {
		atomic_init(&ft.stop, 0);
		if (pthread_create(&follower, NULL, follow_main, &ft)) {
			BW_ERROR("botwatch serve: cannot start the follower thread");
			goto out_free;
		}
		following = true;
	}
	sigdelset(&set, SIGPIPE);
	/* SIGHUP: load score.model again and swap it in (the old one stays on failure) */
	while (sigwait(&set, &sig) == 0 && sig == SIGHUP)
		api_server_reload_model(srv, cfg->score_model, err, sizeof(err));
	status = 0;
	if (following) {
		atomic_store(&ft.stop, 1);
		pthread_join(follower, NULL);
		if (ft.rc && ft.rc != BW_ESTOP) {
			BW_ERROR("following %s: %s", cfg->score_topic, ft.err);
			status = 1;
		}
	}
	if (status == 0)
		BW_INFO("signal %d: stopping", sig);
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
