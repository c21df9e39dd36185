/*
 * cfg.h — botwatch configuration: one struct, one table.
 *
 * Every setting is declared once in the table in cfg.c (name, type, field
 * offset, min, max, default, doc). The table drives the `key = value` file
 * parser, BOTWATCH_* environment overrides, `--set key=value` flags,
 * validation, `botwatch config --dump` and the generated docs/CONFIG.md.
 *
 * Precedence: command-line flag > environment > file > default.
 * Keys starting with "kafka." that are not in the table pass through to
 * librdkafka unchanged; they are validated by librdkafka at load time and its
 * error text is reported with the file and line.
 *
 * Ownership: the config owns every string in it; callers borrow them for the
 * config's lifetime. Not thread-safe while being modified; read-only sharing
 * across threads afterwards is fine.
 */
#ifndef BW_CFG_H
#define BW_CFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct bw_config {
	/* general */
	char *log_level;              /* log.level */

	/* ingest */
	char *ingest_source;          /* ingest.source */
	char *ingest_format;          /* ingest.format */
	char *ingest_topic;           /* ingest.topic */
	char *ingest_dlq_topic;       /* ingest.dlq_topic */
	int64_t ingest_max_line_bytes;/* ingest.max_line_bytes */
	int64_t ingest_max_depth;     /* ingest.max_depth */
	char *ingest_bearer_token;    /* ingest.bearer_token (secret) */
	char *ingest_oauth_consumer_key;    /* ingest.oauth.consumer_key (secret) */
	char *ingest_oauth_consumer_secret; /* ingest.oauth.consumer_secret (secret) */
	char *ingest_oauth_token;           /* ingest.oauth.token (secret) */
	char *ingest_oauth_token_secret;    /* ingest.oauth.token_secret (secret) */
	char *ingest_track;           /* ingest.track */
	char *ingest_follow;          /* ingest.follow */
	char *ingest_locations;       /* ingest.locations */
	int64_t ingest_idle_v1_ms;    /* ingest.idle_timeout_v1_ms */
	int64_t ingest_idle_v2_ms;    /* ingest.idle_timeout_v2_ms */
	int64_t ingest_idle_sse_ms;   /* ingest.idle_timeout_sse_ms */
	int64_t ingest_connect_timeout_ms; /* ingest.connect_timeout_ms */
	int64_t ingest_idle_ws_ms;    /* ingest.idle_timeout_ws_ms */
	char *js_collections;         /* ingest.jetstream.wanted_collections */
	char *js_dids;                /* ingest.jetstream.wanted_dids */
	char *js_cursor_file;         /* ingest.jetstream.cursor_file */
	int64_t js_overlap_ms;        /* ingest.jetstream.cursor_overlap_ms */
	int64_t js_cursor_every_ms;   /* ingest.jetstream.cursor_every_ms */
	bool js_compress;             /* ingest.jetstream.compress */
	char *js_zstd_dict;           /* ingest.jetstream.zstd_dictionary */
	char *bsky_appview;           /* ingest.bluesky.appview */
	int64_t bsky_enrich_rate;     /* ingest.bluesky.enrich_rate */
	int64_t bsky_enrich_ttl_s;    /* ingest.bluesky.enrich_ttl_s */
	int64_t bsky_enrich_queue;    /* ingest.bluesky.enrich_queue */
	int64_t backoff_tcp_step_ms;  /* ingest.backoff.tcp_step_ms */
	int64_t backoff_tcp_max_ms;   /* ingest.backoff.tcp_max_ms */
	int64_t backoff_http_initial_ms; /* ingest.backoff.http_initial_ms */
	int64_t backoff_http_max_ms;  /* ingest.backoff.http_max_ms */
	int64_t backoff_rate_initial_ms; /* ingest.backoff.ratelimit_initial_ms */
	int64_t backoff_rate_max_ms;  /* ingest.backoff.ratelimit_max_ms */
	int64_t ingest_max_lag;       /* ingest.max_consumer_lag */
	char *ingest_lag_groups;      /* ingest.lag_groups */
	bool ingest_lag_retention_cap;/* ingest.lag_retention_cap */
	char *ingest_rules_url;       /* ingest.rules_url */

	/* kafka / embedded broker */
	char *kafka_bootstrap;        /* kafka.bootstrap.servers ("" = embedded broker) */
	int64_t broker_partitions;    /* broker.partitions */
	int64_t broker_count;         /* broker.count */

	/* features */
	char *features_group;         /* features.group_id */
	char *features_instance;      /* features.instance_id ("" = no transactions) */
	char *features_state;         /* features.state_dir */
	char *features_topic;         /* features.topic */
	int64_t features_lateness_ms; /* features.lateness_ms */
	int64_t features_batch;       /* features.batch */
	int64_t features_batch_ms;    /* features.batch_ms */
	int64_t features_commit_ms;   /* features.commit_ms */
	int64_t features_catchup_ms;  /* features.catchup_ms */
	int64_t features_cache_accounts; /* features.cache_accounts */
	int64_t features_map_size_mb; /* features.map_size_mb */
	char *features_lag_groups;    /* features.lag_groups */
	int64_t features_max_update_lag; /* features.max_update_lag */

	/* scoring */
	char *score_model;            /* score.model */
	char *score_topic;            /* score.topic */
	int64_t score_debounce_ms;    /* score.debounce_ms */
	int64_t score_max_staleness_ms; /* score.max_staleness_ms */
	int64_t score_coalesce_ms;    /* score.coalesce_ms */
	int64_t score_batch;          /* score.batch */
	double score_cap_prior;       /* score.cap_prior */
	char *score_group;            /* score.group_id */
	char *score_instance;         /* score.instance_id ("" = no transactions) */
	int64_t score_batch_ms;       /* score.batch_ms */
	int64_t score_idle_flush_ms;  /* score.idle_flush_ms */
	int64_t score_max_pending;    /* score.max_pending */
	int64_t score_max_holdback;   /* score.max_holdback */
	bool score_create_topic;      /* score.create_topic */

	/* store and API */
	char *store_path;             /* store.path */
	int64_t store_map_size_mb;    /* store.map_size_mb */
	char *api_listen;             /* api.listen */
	char *api_token;              /* api.token (secret) */
	int64_t api_threads;          /* api.threads */
	int64_t api_max_body_bytes;   /* api.max_body_bytes */
	int64_t api_conn_limit;       /* api.connection_limit */
	int64_t api_timeout_s;        /* api.timeout_s */
	int64_t api_request_timeout_s;/* api.request_timeout_s */
	int64_t api_max_batch;        /* api.max_batch */
	bool serve_follow;            /* serve.follow */
	char *serve_follow_group;     /* serve.follow_group */

	/* librdkafka pass-through: kafka.* keys not in the table */
	size_t n_kafka;               /* number of pairs */
	char **kafka_keys;            /* librdkafka property names (without "kafka.") */
	char **kafka_values;          /* their values */
};

enum cfg_type { CFG_STR, CFG_INT, CFG_DBL, CFG_BOOL, CFG_ENUM };

#define CFG_SECRET 0x1u /* never printed in dumps or logs */

struct cfg_entry {
	const char *name;    /* dotted key, e.g. "api.listen" */
	enum cfg_type type;  /* value type */
	size_t offset;       /* offsetof(struct bw_config, field) */
	double min, max;     /* inclusive bounds for CFG_INT / CFG_DBL */
	const char *def;     /* default as text */
	const char *choices; /* CFG_ENUM: "a|b|c" */
	unsigned flags;      /* CFG_SECRET */
	const char *doc;     /* one-line description */
};

/* The table, `*n` entries. Static, never freed. */
const struct cfg_entry *cfg_table(size_t *n);

/* New config holding every default; NULL on allocation failure. Free with cfg_free(). */
struct bw_config *cfg_new(void);
void cfg_free(struct bw_config *cfg);

/*
 * Set one key from text. `origin` (e.g. "botwatch.conf:12", "env BOTWATCH_X",
 * "--set") prefixes the message in errstr. Returns 0, BW_EINVAL (unknown key,
 * bad value, out of range) or BW_EKAFKA (librdkafka rejected a kafka.* key).
 */
int cfg_set(struct bw_config *cfg, const char *key, const char *value, const char *origin,
	    char *errstr, size_t errlen);

/* Load a `key = value` file; '#' or ';' start comments. Errors read "file:line: message". */
int cfg_load_file(struct bw_config *cfg, const char *path, char *errstr, size_t errlen);

/* Same as cfg_load_file() for an open stream; `name` labels errors. */
int cfg_load_stream(struct bw_config *cfg, FILE *f, const char *name, char *errstr,
		    size_t errlen);

/* Apply BOTWATCH_<KEY> variables (dots become underscores, upper case). */
int cfg_load_env(struct bw_config *cfg, char *errstr, size_t errlen);

/*
 * The common start of every subcommand: defaults, then the file named by
 * --config/-c (or $BOTWATCH_CONFIG), then the environment, then every
 * `--set key=value` in argv. Consumes those flags from argv (argc updated),
 * leaving the rest for the subcommand. Returns 0 or an error with errstr set.
 */
int cfg_from_cli(struct bw_config **out, int *argc, char **argv, char *errstr, size_t errlen);

/* A command's own flag that sets one config key, e.g. { "--store", "store.path" }. */
struct cfg_flag {
	const char *flag; /* "--store" */
	const char *key;  /* "store.path" */
};

/*
 * If argv[*i] is one of the `n` flags, set its key from the next argument,
 * advance *i past the value and return 1. Return 0 when argv[*i] is none of
 * them. Return BW_EUSAGE (missing value) or cfg_set()'s error (bad value),
 * with errstr set, otherwise.
 */
int cfg_flag_apply(struct bw_config *cfg, const struct cfg_flag *flags, size_t n, int argc,
		   char **argv, int *i, char *errstr, size_t errlen);

/*
 * The start every subcommand shares. With --help or -h anywhere in argv it
 * prints `usage` to stdout and returns 0. Otherwise it runs cfg_from_cli();
 * on an error it prints "botwatch <name>: <message>" to stderr and returns 2.
 * Returns -1 when the command should go on, with *cfg set (caller frees with
 * cfg_free()) and argv compacted as by cfg_from_cli().
 */
int cfg_cli_begin(const char *name, void (*usage)(FILE *out), int *argc, char **argv,
		  struct bw_config **cfg);

/*
 * Make score.model a path that exists wherever botwatch runs from. `model`
 * (a command's --model value, borrowed) replaces score.model first unless
 * NULL. A relative value missing from the working directory is looked up
 * beside the executable's build tree and under its install prefix (bw_fs.h,
 * bw_fs_find_data()) and replaced by the path found. Returns 0, or
 * BW_ENOENT with errstr naming every place looked in.
 */
int cfg_resolve_model(struct bw_config *cfg, const char *model, char *errstr, size_t errlen);

/* Write the effective config as `key = value` lines (secrets masked). */
void cfg_dump(const struct bw_config *cfg, FILE *out);

/* Write docs/CONFIG.md (generated from the table). */
void cfg_write_markdown(FILE *out);

/* Write config/botwatch.conf: every key with its doc and default, commented out. */
void cfg_write_template(FILE *out);

/* The text value of a key in this config (for dumps and tests); NULL if unknown. */
int cfg_get_text(const struct bw_config *cfg, const char *key, char *buf, size_t len);

#endif
