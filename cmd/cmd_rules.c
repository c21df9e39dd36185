/*
 * cmd_rules.c — `botwatch rules list|add|delete [--dry-run]`: manage the X
 * API v2 filtered-stream rules (GET/POST ingest.rules_url) that decide what
 * `/2/tweets/search/stream` delivers.
 *
 * The Bearer token comes from ingest.bearer_token (or its environment
 * variable) and is never printed. Responses are bounded (1 MiB).
 */
#define _POSIX_C_SOURCE 200809L
#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bw_err.h"
#include "bw_redact.h"
#include "cfg.h"
#include "commands.h"

#define MAX_RESPONSE (1u << 20)

/* A bounded response body. */
struct body {
	char *data;  /* bytes (NUL-terminated) */
	size_t len;  /* bytes held */
	bool over;   /* the response passed MAX_RESPONSE */
};

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
	struct body *b = ud;
	size_t k = size * n;
	char *d;

	if (b->len + k > MAX_RESPONSE) {
		b->over = true;
		return 0;
	}
	if (!(d = realloc(b->data, b->len + k + 1)))
		return 0;
	b->data = d;
	memcpy(b->data + b->len, p, k);
	b->len += k;
	b->data[b->len] = '\0';
	return k;
}

static void rules_usage(FILE *out)
{
	fprintf(out,
		"usage: botwatch rules list\n"
		"       botwatch rules add [--dry-run] VALUE [--tag TAG] [VALUE [--tag TAG]]...\n"
		"       botwatch rules delete [--dry-run] ID...\n\n"
		"Manages X API v2 filtered-stream rules at ingest.rules_url with the Bearer\n"
		"token ingest.bearer_token (env BOTWATCH_INGEST_BEARER_TOKEN). --dry-run asks\n"
		"the API to validate without changing anything. `list` prints id, value and\n"
		"tag per line; add/delete print the API's summary.\n");
}

/* One HTTP exchange; *out gets the parsed JSON body. 0, or 1 with a message. */
static int exchange(const struct bw_config *cfg, const char *url, const char *post, json_t **out)
{
	CURL *e = curl_easy_init();
	struct curl_slist *h = NULL;
	struct body b = { 0 };
	char auth[4096], ua[64], errbuf[CURL_ERROR_SIZE] = "";
	long status = 0;
	json_error_t je;
	int rc = 1;

	snprintf(ua, sizeof(ua), "botwatch/%s", BW_VERSION);
	h = curl_slist_append(h, "Content-Type: application/json");
	if (cfg->ingest_bearer_token[0]) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", cfg->ingest_bearer_token);
		h = curl_slist_append(h, auth);
	}
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_USERAGENT, ua);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 30000L);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)cfg->ingest_connect_timeout_ms);
	if (post)
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, post);
	CURLcode cc = curl_easy_perform(e);
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
	if (cc != CURLE_OK) {
		char shown[2048]; /* the URL without credentials */
		fprintf(stderr, "botwatch rules: %s: %s\n", bw_redact_url(url, shown, sizeof(shown)),
			b.over ? "response over 1 MiB" : errbuf[0] ? errbuf : curl_easy_strerror(cc));
	} else if (!(*out = json_loadb(b.data ? b.data : "", b.len, 0, &je))) {
		fprintf(stderr, "botwatch rules: HTTP %ld with a body that is not JSON: %s\n", status,
			je.text);
	} else if (status >= 300) {
		json_t *t = json_object_get(*out, "title"), *d = json_object_get(*out, "detail");
		fprintf(stderr, "botwatch rules: HTTP %ld: %s%s%s\n", status,
			json_is_string(t) ? json_string_value(t) : "error",
			json_is_string(d) ? ": " : "", json_is_string(d) ? json_string_value(d) : "");
		json_decref(*out);
		*out = NULL;
	} else {
		rc = 0;
	}
	free(b.data);
	curl_slist_free_all(h);
	curl_easy_cleanup(e);
	return rc;
}

static const char *str_or(json_t *v, const char *def)
{
	return json_is_string(v) ? json_string_value(v) : def;
}

static int rules_list(const struct bw_config *cfg)
{
	json_t *r = NULL, *v;
	size_t i;

	if (exchange(cfg, cfg->ingest_rules_url, NULL, &r))
		return 1;
	json_array_foreach(json_object_get(r, "data"), i, v) {
		printf("%s\t%s\t%s\n", str_or(json_object_get(v, "id"), "?"),
		       str_or(json_object_get(v, "value"), ""), str_or(json_object_get(v, "tag"), ""));
	}
	json_decref(r);
	return 0;
}

/* Build {"add":[{value,tag}...]} or {"delete":{"ids":[...]}} from argv. */
static json_t *build_request(bool add, int argc, char **argv)
{
	json_t *list = json_array();

	for (int i = 0; i < argc; i++) {
		if (add && strcmp(argv[i], "--tag") == 0) {
			json_t *last = json_array_get(list, json_array_size(list) - 1);
			if (!last || i + 1 >= argc)
				goto out_usage;
			json_object_set_new(last, "tag", json_string(argv[++i]));
		} else if (argv[i][0] == '-' && argv[i][1] == '-') {
			goto out_usage;
		} else {
			json_array_append_new(list, add ? json_pack("{s:s}", "value", argv[i])
							: json_string(argv[i]));
		}
	}
	if (!json_array_size(list))
		goto out_usage;
	return add ? json_pack("{s:o}", "add", list) : json_pack("{s:{s:o}}", "delete", "ids", list);

out_usage:
	json_decref(list);
	return NULL;
}

static int rules_change(const struct bw_config *cfg, bool add, bool dry, int argc, char **argv)
{
	json_t *req = build_request(add, argc, argv), *resp = NULL;
	char url[8192];
	char *body;
	int rc;

	if (!req) {
		rules_usage(stderr);
		return 2;
	}
	snprintf(url, sizeof(url), "%s%s", cfg->ingest_rules_url,
		 dry ? (strchr(cfg->ingest_rules_url, '?') ? "&dry_run=true" : "?dry_run=true") : "");
	body = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	rc = exchange(cfg, url, body, &resp);
	free(body);
	if (!rc) {
		char *text = json_dumps(resp, JSON_COMPACT);
		printf("%s\n", text ? text : "{}");
		free(text);
		json_t *errs = json_object_get(resp, "errors");
		if (json_array_size(errs))
			rc = 1; /* the API rejected some rules: say so by the status */
	}
	json_decref(resp);
	return rc;
}

int cmd_rules(int argc, char **argv)
{
	struct bw_config *cfg;
	bool dry = false;
	int rc, w = 1;

	int begun = cfg_cli_begin("rules", rules_usage, &argc, argv, &cfg);
	if (begun >= 0)
		return begun;
	for (int i = 1; i < argc; i++) { /* take --dry-run out wherever it is */
		if (strcmp(argv[i], "--dry-run") == 0)
			dry = true;
		else
			argv[w++] = argv[i];
	}
	argc = w;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (argc >= 2 && strcmp(argv[1], "list") == 0 && argc == 2 && !dry) {
		rc = rules_list(cfg);
	} else if (argc >= 3 && strcmp(argv[1], "add") == 0) {
		rc = rules_change(cfg, true, dry, argc - 2, argv + 2);
	} else if (argc >= 3 && strcmp(argv[1], "delete") == 0) {
		rc = rules_change(cfg, false, dry, argc - 2, argv + 2);
	} else {
		rules_usage(stderr);
		rc = 2;
	}
	curl_global_cleanup();
	cfg_free(cfg);
	return rc;
}
