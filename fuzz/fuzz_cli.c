/*
 * fuzz_cli.c — fuzz the command line and environment half of the config
 * (cfg_from_cli(): BOTWATCH_* variables, then `--set key=value` and `--set`
 * `key value`; fuzz_config covers the file half). The input is split at NUL
 * bytes: pieces up to the first empty one are environment entries
 * (`NAME=VALUE`; only BOTWATCH_* names are set, BOTWATCH_CONFIG never: no
 * file is read), the rest are argv words after "botwatch". Invariants,
 * checked with abort():
 *   - a config that loads gives, for every key of the table, a text value
 *     (cfg_get_text) that sets again (cfg_set) on a fresh config to the same
 *     text: what was accepted round-trips through the same parser;
 *   - an error leaves a message.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_WORDS 64

/* Unset every BOTWATCH_* variable the previous input set. */
static char *set_names[MAX_WORDS];
static size_t n_set;

static void env_clear(void)
{
	for (size_t i = 0; i < n_set; i++) {
		unsetenv(set_names[i]);
		free(set_names[i]);
	}
	n_set = 0;
}

static void env_put(const char *entry)
{
	const char *eq = strchr(entry, '=');
	char *name;

	if (!eq || strncmp(entry, "BOTWATCH_", 9) || n_set == MAX_WORDS)
		return;
	if (!(name = strndup(entry, (size_t)(eq - entry))))
		return;
	if (strcmp(name, "BOTWATCH_CONFIG") == 0 || setenv(name, eq + 1, 1)) {
		free(name);
		return;
	}
	set_names[n_set++] = name;
}

/* Every key's text in `cfg` sets to the same text on a fresh config. */
static void check_round_trip(const struct bw_config *cfg)
{
	size_t n;
	const struct cfg_entry *t = cfg_table(&n);
	struct bw_config *fresh = cfg_new();
	char a[8192], b[8192], err[512];

	if (!fresh)
		return;
	for (size_t i = 0; i < n; i++) {
		const char *key = t[i].name;
		if (cfg_get_text(cfg, key, a, sizeof(a)) || strlen(a) >= sizeof(a) - 1)
			continue; /* unknown to the getter, or cut */
		if (cfg_set(fresh, key, a, "fuzz", err, sizeof(err))) {
			fprintf(stderr, "%s = '%s' was accepted but does not set again: %s\n", key, a, err);
			abort();
		}
		if (cfg_get_text(fresh, key, b, sizeof(b)) || strcmp(a, b) != 0) {
			fprintf(stderr, "%s: '%s' set again reads '%s'\n", key, a, b);
			abort();
		}
	}
	cfg_free(fresh);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1), *argv[MAX_WORDS + 2], err[512];
	int argc = 1;
	size_t i = 0;
	struct bw_config *cfg = NULL;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	env_clear();
	unsetenv("BOTWATCH_CONFIG");
	/* environment entries up to the first empty piece */
	while (i < size && buf[i]) {
		env_put(buf + i);
		i += strlen(buf + i) + 1;
	}
	i++;
	argv[0] = "botwatch";
	while (i < size && argc < MAX_WORDS + 1) {
		/* no config file: --config / -c become plain words the parser refuses */
		if (strcmp(buf + i, "--config") && strcmp(buf + i, "-c") &&
		    strncmp(buf + i, "--config=", 9))
			argv[argc++] = buf + i;
		i += strlen(buf + i) + 1;
	}
	argv[argc] = NULL;
	err[0] = '\0';
	if (cfg_from_cli(&cfg, &argc, argv, err, sizeof(err)) == 0) {
		if (!cfg)
			abort();
		check_round_trip(cfg);
	} else if (!err[0] || cfg) {
		abort();
	}
	cfg_free(cfg);
	free(buf);
	return 0;
}
