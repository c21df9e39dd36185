/*
 * api_util.c — helpers shared by the API's route files: body buffers, JSON
 * and error responses, id / screen-name validation, number formatting.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_int.h"
#include "bw_codec.h"
#include "bw_err.h"
#include "post.h"

#define CT_JSON "application/json"

bool api_buf_append(struct api_buf *b, const char *s, size_t n)
{
	if (b->failed)
		return false;
	if (b->len + n + 1 > b->size) {
		size_t size = b->size ? b->size : 256;
		while (size < b->len + n + 1)
			size *= 2;
		char *d = realloc(b->data, size);
		if (!d) {
			b->failed = true;
			return false;
		}
		b->data = d;
		b->size = size;
	}
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
	return true;
}

bool api_buf_puts(struct api_buf *b, const char *s)
{
	return api_buf_append(b, s, strlen(s));
}

static int dump_cb(const char *buffer, size_t size, void *data)
{
	return api_buf_append(data, buffer, size) ? 0 : -1;
}

bool api_buf_json(struct api_buf *b, const json_t *v)
{
	if (json_dump_callback(v, dump_cb, b, JSON_COMPACT | JSON_ENCODE_ANY) != 0)
		b->failed = true;
	return !b->failed;
}

int api_buf_response(struct api_response *resp, unsigned status, struct api_buf *b)
{
	if (b->failed || !b->data) {
		free(b->data);
		*b = (struct api_buf){ 0 };
		resp->status = 500;
		return BW_ENOMEM;
	}
	resp->status = status;
	resp->content_type = CT_JSON;
	resp->body = b->data;
	resp->len = b->len;
	*b = (struct api_buf){ 0 };
	return 0;
}

int api_json_response(struct api_response *resp, unsigned status, json_t *v)
{
	struct api_buf b = { 0 };

	if (!v) {
		resp->status = 500;
		return BW_ENOMEM;
	}
	api_buf_json(&b, v);
	json_decref(v);
	return api_buf_response(resp, status, &b);
}


bool api_utf8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;

	for (size_t i = 0, k; i < n; i += k)
		if (!(k = bw_utf8_seq(p + i, n - i)) || p[i] == 0)
			return false;
	return true;
}

int api_error(struct api_response *resp, unsigned status, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* echoed client text may be cut mid-character or not be UTF-8 at all:
	 * replace each bad byte with '?' so the JSON error can always be built */
	n = strlen(msg);
	for (size_t i = 0, k; i < n; i += k)
		if (!(k = bw_utf8_seq((unsigned char *)msg + i, n - i))) {
			msg[i] = '?';
			k = 1;
		}
	return api_json_response(resp, status,
				 json_pack("{s:s, s:s}", "status", "error", "error", msg));
}

bool api_valid_id(const char *s)
{
	return bw_account_id_valid(s); /* the decoder's rule: what ingest keeps, we look up */
}

bool api_valid_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > API_MAX_NAME)
		return false;
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_' || *p == '.' || *p == '@' || *p == '-'))
			return false;
	return true;
}

void api_fmt_double(char *buf, size_t len, double v)
{
	if (!isfinite(v)) {
		snprintf(buf, len, "%s", isnan(v) ? "NaN" : v > 0 ? "Inf" : "-Inf");
		return;
	}
	snprintf(buf, len, "%.15g", v);
	if (strtod(buf, NULL) != v)
		snprintf(buf, len, "%.17g", v);
}

const char *api_arg(const struct api_request *req, const char *key)
{
	for (size_t i = 0; i < req->n_args; i++)
		if (strcmp(req->arg_keys[i], key) == 0)
			return req->arg_values[i] ? req->arg_values[i] : "";
	return NULL;
}

int api_check_args(const struct api_request *req, const char *const *known, size_t n,
		   struct api_response *resp)
{
	char list[256] = "";
	size_t p = 0;

	for (size_t i = 0; i < req->n_args; i++) {
		size_t k = 0;
		while (k < n && strcmp(req->arg_keys[i], known[k]) != 0)
			k++;
		if (k < n)
			continue;
		for (k = 0; k < n && p < sizeof(list); k++)
			p += (size_t)snprintf(list + p, sizeof(list) - p, "%s%s", k ? ", " : "", known[k]);
		api_error(resp, 400, "unknown parameter '%.64s' (known: %s)", req->arg_keys[i],
			  n ? list : "none");
		return 1;
	}
	return 0;
}

void api_response_release(struct api_response *resp)
{
	if (!resp)
		return;
	free(resp->body);
	resp->body = NULL;
	api_stream_free(resp->stream);
	resp->stream = NULL;
}
