/*
 * firehose.c — a loopback streaming server for ingest tests and benchmarks.
 *
 * Serves synthetic posts in Twitter v1.1 `delimited=length` framing, X API
 * v2 / plain NDJSON lines, or Mastodon SSE, following a connection plan:
 * one plan entry per accepted connection, e.g.
 *
 *   --plan '200,send=100,then=dropmid;503;429,retry-after=1;200,send=50,then=stall;200,send=10,then=hold'
 *
 * Entry fields: an HTTP status first; for 200: send=N posts, bad=K invalid
 * JSON lines, big=K units of --big-bytes bytes, ctrl (control messages /
 * keep-alives), utf8=K posts whose text holds invalid UTF-8, deep=K JSON
 * units nested --deep-levels deep, garbage=K units of random bytes (no line
 * break), then=close|dropmid|reset|stall|hold (default close); for
 * errors: retry-after=S, reset=S (x-rate-limit-reset = now + S). After the
 * plan, every further connection gets the last entry again.
 *
 * The log file (--log) says exactly what each connection got, one line per
 * event, flushed at once:
 *   t=<ms> conn=<n> request <METHOD> <path> auth=<none|Bearer|OAuth> ua=<agent>
 *   t=<ms> conn=<n> status <code>
 *   t=<ms> conn=<n> completed <first>-<last> count=<n>   (ids fully written)
 *   t=<ms> conn=<n> bad <k> / big <k> / utf8 <k> / deep <k> / garbage <k> / ctrl <k>
 *   t=<ms> conn=<n> partial <id>                         (written half, never completed)
 *   t=<ms> conn=<n> end <how>
 *
 * Also answers the filtered-stream rules endpoint (/2/tweets/search/stream/rules:
 * GET lists, POST {"add":[...]} / {"delete":{"ids":[...]}}, ?dry_run=true).
 *
 * Binds 127.0.0.1 only; writes the port to --port-file. Runs until SIGTERM.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum framing { FR_V1, FR_V2, FR_NDJSON, FR_SSE };

struct entry {
	int status;        /* HTTP status */
	long send;         /* posts to send */
	long bad;          /* invalid JSON units */
	long big;          /* over-long units */
	long utf8;         /* posts with invalid UTF-8 in their text */
	long deep;         /* units nested deep_levels deep */
	long garbage;      /* units of random bytes */
	bool ctrl;         /* send control messages / keep-alives too */
	char then[16];     /* close, dropmid, reset, stall, hold */
	long retry_after;  /* Retry-After seconds, -1 none */
	long reset;        /* x-rate-limit-reset = now + reset seconds, -1 none */
};

struct server {
	enum framing framing;   /* body framing */
	struct entry plan[64];  /* connection plan */
	int n_plan;             /* entries */
	long accounts;          /* distinct synthetic accounts */
	long next_id;           /* next post id */
	long big_bytes;         /* size of a `big` unit */
	long deep_levels;       /* nesting of a `deep` unit */
	unsigned rng;           /* state of the garbage generator (fixed seed) */
	long keepalive_ms;      /* keep-alive interval while holding */
	long rate;              /* posts per second (0 = as fast as the peer reads) */
	FILE *log;              /* event log */
	struct timespec t0;     /* start time */
	json_t *rules;          /* filtered-stream rules (array) */
	long next_rule;         /* next rule id */
	int streams;            /* stream connections served (plan position) */
	char out[1 << 16];      /* output buffer */
	size_t out_len;         /* bytes in out */
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static long now_ms(const struct server *s)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - s->t0.tv_sec) * 1000 + (t.tv_nsec - s->t0.tv_nsec) / 1000000;
}

static void logf_(struct server *s, int conn, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void logf_(struct server *s, int conn, const char *fmt, ...)
{
	va_list ap;
	fprintf(s->log, "t=%ld conn=%d ", now_ms(s), conn);
	va_start(ap, fmt);
	vfprintf(s->log, fmt, ap);
	va_end(ap);
	fputc('\n', s->log);
	fflush(s->log);
}

static bool write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		p += w;
		n -= (size_t)w;
	}
	return true;
}

static bool flush_out(struct server *s, int fd)
{
	bool ok = write_all(fd, s->out, s->out_len);
	s->out_len = 0;
	return ok;
}

/* ---- plan ------------------------------------------------------------------- */

static long num(const char *v)
{
	char *end;
	long x;
	errno = 0;
	x = strtol(v, &end, 10);
	if (errno || end == v || *end || x < 0) {
		fprintf(stderr, "firehose: bad number '%s'\n", v);
		exit(2);
	}
	return x;
}

/* Split off the next `sep`-separated token of *p (NULL at the end). */
static char *next_tok(char **p, char sep)
{
	char *t = *p, *e;

	if (!t || !*t)
		return NULL;
	e = strchr(t, sep);
	if (e)
		*e = '\0';
	*p = e ? e + 1 : NULL;
	return t;
}

static void parse_entry(char *text, struct entry *e)
{
	char *rest = text, *tok = next_tok(&rest, ',');

	memset(e, 0, sizeof(*e));
	e->retry_after = e->reset = -1;
	snprintf(e->then, sizeof(e->then), "close");
	e->status = tok ? (int)num(tok) : 200;
	while ((tok = next_tok(&rest, ','))) {
		char *eq = strchr(tok, '=');
		const char *v = eq ? eq + 1 : "";
		if (eq)
			*eq = '\0';
		if (!strcmp(tok, "send")) e->send = num(v);
		else if (!strcmp(tok, "bad")) e->bad = num(v);
		else if (!strcmp(tok, "big")) e->big = num(v);
		else if (!strcmp(tok, "utf8")) e->utf8 = num(v);
		else if (!strcmp(tok, "deep")) e->deep = num(v);
		else if (!strcmp(tok, "garbage")) e->garbage = num(v);
		else if (!strcmp(tok, "ctrl")) e->ctrl = true;
		else if (!strcmp(tok, "then")) snprintf(e->then, sizeof(e->then), "%s", v);
		else if (!strcmp(tok, "retry-after")) e->retry_after = num(v);
		else if (!strcmp(tok, "reset")) e->reset = num(v);
		else {
			fprintf(stderr, "firehose: unknown plan field '%s'\n", tok);
			exit(2);
		}
	}
}

static void parse_plan(struct server *s, const char *plan)
{
	char *copy = strdup(plan), *rest = copy, *tok;

	while ((tok = next_tok(&rest, ';')) && s->n_plan < 64)
		parse_entry(tok, &s->plan[s->n_plan++]);
	free(copy);
	if (!s->n_plan) {
		fprintf(stderr, "firehose: empty plan\n");
		exit(2);
	}
}

/* ---- posts -------------------------------------------------------------------- */

static const char *const wd[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
static const char *const mo[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
				  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

/* The JSON of post `id` in the server's shape; returns its length. */
static int post_json(const struct server *s, long id, char *buf, size_t cap)
{
	long acct = 1000 + id % s->accounts;
	time_t t = 1700000000 + id;
	struct tm tm;
	char v1[96], iso[96];

	gmtime_r(&t, &tm);
	snprintf(v1, sizeof(v1), "%s %s %02d %02d:%02d:%02d +0000 %d", wd[tm.tm_wday], mo[tm.tm_mon],
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, tm.tm_year + 1900);
	snprintf(iso, sizeof(iso), "%d-%02d-%02dT%02d:%02d:%02d.000Z", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
	if (s->framing == FR_V2)
		return snprintf(buf, cap,
			"{\"data\":{\"id\":\"%ld\",\"text\":\"synthetic post %ld #firehose\",\"author_id\":\"%ld\","
			"\"created_at\":\"%s\",\"lang\":\"en\"},\"includes\":{\"users\":[{\"id\":\"%ld\","
			"\"username\":\"acct_%ld\",\"name\":\"Account %ld\",\"created_at\":\"2018-01-01T00:00:00.000Z\","
			"\"public_metrics\":{\"followers_count\":%ld,\"following_count\":%ld,\"tweet_count\":%ld,"
			"\"listed_count\":1}}]},\"matching_rules\":[{\"id\":\"1\",\"tag\":\"test\"}]}",
			id, id, acct, iso, acct, acct, acct, acct % 97, acct % 13, id);
	if (s->framing == FR_SSE)
		return snprintf(buf, cap,
			"{\"id\":\"%ld\",\"created_at\":\"%s\",\"content\":\"<p>synthetic post %ld</p>\","
			"\"language\":\"en\",\"account\":{\"id\":\"%ld\",\"username\":\"acct_%ld\","
			"\"acct\":\"acct_%ld\",\"display_name\":\"Account %ld\",\"created_at\":"
			"\"2018-01-01T00:00:00.000Z\",\"followers_count\":%ld,\"following_count\":%ld,"
			"\"statuses_count\":%ld,\"bot\":false}}",
			id, iso, id, acct, acct, acct, acct, acct % 97, acct % 13, id);
	return snprintf(buf, cap,
		"{\"created_at\":\"%s\",\"id\":%ld,\"id_str\":\"%ld\",\"text\":\"synthetic post %ld "
		"#firehose\",\"source\":\"<a href=\\\"https://example.org\\\">firehose</a>\",\"lang\":\"en\","
		"\"user\":{\"id\":%ld,\"id_str\":\"%ld\",\"screen_name\":\"acct_%ld\",\"name\":\"Account %ld\","
		"\"created_at\":\"Mon Jan 01 00:00:00 +0000 2018\",\"followers_count\":%ld,"
		"\"friends_count\":%ld,\"statuses_count\":%ld,\"favourites_count\":0,\"listed_count\":1,"
		"\"verified\":false},\"entities\":{\"hashtags\":[{\"text\":\"firehose\"}],"
		"\"user_mentions\":[],\"urls\":[]},\"retweet_count\":0,\"favorite_count\":0}",
		v1, id, id, id, acct, acct, acct, acct, acct % 97, acct % 13, id);
}

/* Frame one unit into the output buffer (flushing as needed). */
static bool frame(struct server *s, int fd, const char *unit, size_t n, const char *event)
{
	char head[64];
	int hl = 0;

	if (s->framing == FR_V1)
		hl = snprintf(head, sizeof(head), "%zu\r\n", n + 2);
	else if (s->framing == FR_SSE)
		hl = snprintf(head, sizeof(head), "event: %s\ndata: ", event);
	if (s->out_len + (size_t)hl + n + 4 > sizeof(s->out) && !flush_out(s, fd))
		return false;
	if (s->out_len + (size_t)hl + n + 4 > sizeof(s->out)) /* too big for the buffer */
		return write_all(fd, head, (size_t)hl) && write_all(fd, unit, n) &&
		       write_all(fd, s->framing == FR_SSE ? "\n\n" : "\r\n", 2);
	memcpy(s->out + s->out_len, head, (size_t)hl);
	s->out_len += (size_t)hl;
	memcpy(s->out + s->out_len, unit, n);
	s->out_len += n;
	memcpy(s->out + s->out_len, s->framing == FR_SSE ? "\n\n" : "\r\n", 2);
	s->out_len += 2;
	return true;
}

static bool keepalive(struct server *s, int fd)
{
	const char *ka = s->framing == FR_SSE ? ":thump\n" : "\r\n";
	return write_all(fd, ka, strlen(ka));
}

/* ---- one streaming connection -------------------------------------------------- */

/* With --rate: flush and sleep until post number `done` is due. */
static bool pace(struct server *s, int fd, long done, const struct timespec *t0)
{
	struct timespec now;
	double due = (double)done / (double)s->rate, el;

	clock_gettime(CLOCK_MONOTONIC, &now);
	el = (double)(now.tv_sec - t0->tv_sec) + (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
	if (el >= due)
		return true;
	if (!flush_out(s, fd))
		return false;
	struct timespec ts = { (time_t)(due - el), (long)((due - el - (double)(time_t)(due - el)) * 1e9) };
	nanosleep(&ts, NULL);
	return true;
}

static bool send_posts(struct server *s, int fd, int conn, const struct entry *e)
{
	char buf[4096];
	long first = s->next_id, sent = 0;
	long bad_every = e->bad ? (e->send / (e->bad + 1)) + 1 : 0;
	bool ok = true;
	struct timespec t0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (long i = 0; i < e->send && ok && !stop; i++) {
		int n = post_json(s, s->next_id, buf, sizeof(buf));
		if (s->rate > 0)
			ok = pace(s, fd, i, &t0);
		ok = ok && frame(s, fd, buf, (size_t)n, "update");
		if (ok && bad_every && (i + 1) % bad_every == 0 && i / bad_every < e->bad)
			ok = frame(s, fd, "{\"id\": 12, \"text\": ", 19, "update");
		if (ok)
			s->next_id++, sent++;
	}
	ok = ok && flush_out(s, fd);
	if (sent)
		logf_(s, conn, "completed %ld-%ld count=%ld", first, first + sent - 1, ok ? sent : 0);
	if (e->bad)
		logf_(s, conn, "bad %ld", e->bad);
	return ok;
}

/* The hostile units of `e`: posts (ids past every real one, never logged as
 * completed) whose text carries invalid UTF-8, JSON nested deep_levels deep,
 * and random bytes without a line break (so every framing keeps its units). */
static bool send_hostile(struct server *s, int fd, int conn, const struct entry *e)
{
	char buf[4096];
	bool ok = true;

	for (long i = 0; i < e->utf8 && ok; i++) {
		int n = post_json(s, 900000000000L + conn * 1000L + i, buf, sizeof(buf));
		char *t = strstr(buf, "synthetic post");
		if (t) {
			const unsigned char bytes[] = { 's', 'y', 'n', 't', 'h', 0xff, 0xfe, 0xc0,
							0xaf, 0xed, 0xa0, 0x80, ' ', 'p' };
			memcpy(t, bytes, sizeof(bytes));
		}
		ok = frame(s, fd, buf, (size_t)n, "update");
	}
	if (e->utf8)
		logf_(s, conn, "utf8 %ld", e->utf8);
	if (e->deep) {
		size_t lv = (size_t)s->deep_levels, n = 2 * lv + 6;
		char *d = malloc(n + 1);
		if (!d)
			return false;
		memcpy(d, "{\"a\":", 5);
		memset(d + 5, '[', lv);
		memset(d + 5 + lv, ']', lv);
		d[5 + 2 * lv] = '}';
		for (long i = 0; i < e->deep && ok; i++)
			ok = frame(s, fd, d, 2 * lv + 6, "update");
		free(d);
		logf_(s, conn, "deep %ld", e->deep);
	}
	for (long i = 0; i < e->garbage && ok; i++) {
		size_t n = 200 + (size_t)(s->rng % 1500);
		for (size_t k = 0; k < n; k++) {
			s->rng = s->rng * 1103515245u + 12345u;
			buf[k] = (char)(s->rng >> 16);
			if (buf[k] == '\n' || buf[k] == '\r')
				buf[k] = '#';
		}
		buf[0] = '\x9b'; /* never a JSON start */
		ok = frame(s, fd, buf, n, "update");
	}
	if (e->garbage)
		logf_(s, conn, "garbage %ld", e->garbage);
	return ok;
}

static bool send_extras(struct server *s, int fd, int conn, const struct entry *e)
{
	bool ok = true;

	if (e->big) {
		char *big = malloc((size_t)s->big_bytes + 1);
		memset(big, 'x', (size_t)s->big_bytes);
		memcpy(big, "{\"pad\":\"", 8);
		memcpy(big + s->big_bytes - 2, "\"}", 2);
		for (long i = 0; i < e->big && ok; i++)
			ok = frame(s, fd, big, (size_t)s->big_bytes, "update");
		free(big);
		logf_(s, conn, "big %ld", e->big);
	}
	ok = ok && send_hostile(s, fd, conn, e);
	if (e->ctrl) {
		const char *limit = "{\"limit\":{\"track\":42,\"timestamp_ms\":\"1700000000000\"}}";
		if (s->framing == FR_V1)
			ok = ok && frame(s, fd, limit, strlen(limit), "update");
		ok = ok && flush_out(s, fd) && keepalive(s, fd) && keepalive(s, fd);
		logf_(s, conn, "ctrl %d", s->framing == FR_V1 ? 1 : 0);
	}
	return ok && flush_out(s, fd);
}

/* Wait until the peer closes (or stop), sending keep-alives if asked. */
static void hold(struct server *s, int fd, long keepalive_ms)
{
	char buf[512];

	while (!stop) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int r = poll(&p, 1, keepalive_ms > 0 ? (int)keepalive_ms : 200);
		if (r > 0 && read(fd, buf, sizeof(buf)) <= 0)
			return;
		if (r == 0 && keepalive_ms > 0 && !keepalive(s, fd))
			return;
	}
}

static void stream(struct server *s, int fd, int conn, const struct entry *e)
{
	const char *ctype = s->framing == FR_SSE ? "text/event-stream" : "application/json";
	char head[256], buf[4096];
	int n = snprintf(head, sizeof(head),
			 "HTTP/1.1 200 OK\r\nContent-Type: %s\r\nConnection: close\r\n\r\n", ctype);

	logf_(s, conn, "status 200");
	if (!write_all(fd, head, (size_t)n) || !send_extras(s, fd, conn, e) ||
	    !send_posts(s, fd, conn, e)) {
		logf_(s, conn, "end peer-closed");
		return;
	}
	if (!strcmp(e->then, "dropmid")) {
		int len = post_json(s, s->next_id, buf, sizeof(buf));
		if (s->framing == FR_V1) {
			int hl = snprintf(head, sizeof(head), "%d\r\n", len + 2);
			write_all(fd, head, (size_t)hl);
		}
		write_all(fd, buf, (size_t)len / 2);
		logf_(s, conn, "partial %ld", s->next_id);
		s->next_id++; /* never completed, never re-sent */
		shutdown(fd, SHUT_WR);
		hold(s, fd, 0);
	} else if (!strcmp(e->then, "reset")) {
		struct linger l = { 1, 0 };
		struct timespec ts = { 0, 300 * 1000000L };
		nanosleep(&ts, NULL); /* let the peer read what was sent */
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	} else if (!strcmp(e->then, "stall")) {
		hold(s, fd, 0);
	} else if (!strcmp(e->then, "hold")) {
		hold(s, fd, s->keepalive_ms);
	}
	logf_(s, conn, "end %s", e->then);
}

static void error_reply(struct server *s, int fd, int conn, const struct entry *e)
{
	char head[512];
	const char *body = "{\"title\":\"error\",\"detail\":\"firehose plan\"}";
	int n = snprintf(head, sizeof(head), "HTTP/1.1 %d Plan\r\nContent-Type: application/json\r\n"
			 "Content-Length: %zu\r\nConnection: close\r\n", e->status, strlen(body));
	if (e->retry_after >= 0)
		n += snprintf(head + n, sizeof(head) - (size_t)n, "Retry-After: %ld\r\n", e->retry_after);
	if (e->reset >= 0)
		n += snprintf(head + n, sizeof(head) - (size_t)n, "x-rate-limit-reset: %lld\r\n",
			      (long long)time(NULL) + e->reset);
	n += snprintf(head + n, sizeof(head) - (size_t)n, "\r\n");
	write_all(fd, head, (size_t)n);
	write_all(fd, body, strlen(body));
	logf_(s, conn, "status %d", e->status);
	logf_(s, conn, "end error");
}

/* ---- rules endpoint ---------------------------------------------------------------- */

static void json_reply(int fd, int status, json_t *body)
{
	char *text = json_dumps(body, JSON_COMPACT);
	char head[256];
	int n = snprintf(head, sizeof(head), "HTTP/1.1 %d X\r\nContent-Type: application/json\r\n"
			 "Content-Length: %zu\r\nConnection: close\r\n\r\n", status, strlen(text));
	write_all(fd, head, (size_t)n);
	write_all(fd, text, strlen(text));
	free(text);
	json_decref(body);
}

static void rules_post(struct server *s, json_t *req, bool dry, json_t *out)
{
	json_t *add = json_object_get(req, "add"), *del = json_object_get(req, "delete"), *v;
	size_t i, created = 0, deleted = 0;

	json_array_foreach(add, i, v) {
		char id[32];
		snprintf(id, sizeof(id), "%ld", s->next_rule++);
		json_t *r = json_pack("{s:s,s:O}", "id", id, "value", json_object_get(v, "value"));
		if (json_object_get(v, "tag"))
			json_object_set(r, "tag", json_object_get(v, "tag"));
		json_array_append(json_object_get(out, "data"), r);
		if (!dry)
			json_array_append(s->rules, r);
		json_decref(r);
		created++;
	}
	json_array_foreach(json_object_get(del, "ids"), i, v) {
		size_t j;
		json_t *r;
		json_array_foreach(s->rules, j, r) {
			if (json_equal(json_object_get(r, "id"), v)) {
				if (!dry)
					json_array_remove(s->rules, j);
				deleted++;
				break;
			}
		}
	}
	json_object_set_new(out, "meta", json_pack("{s:{s:I,s:I}}", "summary", "created",
						   (json_int_t)created, "deleted", (json_int_t)deleted));
}

static void rules(struct server *s, int fd, int conn, const char *method, const char *path,
		  const char *body)
{
	bool dry = strstr(path, "dry_run=true") != NULL;

	if (!strcmp(method, "GET")) {
		json_reply(fd, 200, json_pack("{s:O,s:{s:I}}", "data", s->rules, "meta", "result_count",
					      (json_int_t)json_array_size(s->rules)));
	} else {
		json_error_t jerr;
		json_t *req = json_loads(body ? body : "", 0, &jerr);
		if (!req) {
			json_reply(fd, 400, json_pack("{s:s}", "title", "Invalid Request"));
		} else {
			json_t *out = json_pack("{s:[]}", "data");
			rules_post(s, req, dry, out);
			json_reply(fd, 200, out);
			json_decref(req);
		}
	}
	logf_(s, conn, "rules %s dry_run=%d count=%zu", method, dry, json_array_size(s->rules));
}

/* ---- request handling ------------------------------------------------------------------ */

/* Read the request head (and body); returns false on a bad request. */
static bool read_request(int fd, char *buf, size_t cap, char **body)
{
	size_t len = 0;
	char *end = NULL;

	while (!end) {
		ssize_t r = read(fd, buf + len, cap - 1 - len);
		if (r <= 0)
			return false;
		len += (size_t)r;
		buf[len] = '\0';
		end = strstr(buf, "\r\n\r\n");
		if (!end && len + 1 >= cap)
			return false;
	}
	*body = end + 4;
	char *cl = strcasestr(buf, "\r\ncontent-length:");
	long want = 0;
	if (cl && cl < end) { /* a bad or huge Content-Length reads no body */
		char *num_end;
		errno = 0;
		want = strtol(cl + 17, &num_end, 10);
		if (errno || num_end == cl + 17 || want < 0 || (size_t)want >= cap)
			want = 0;
	}
	while ((long)(len - (size_t)(*body - buf)) < want && len + 1 < cap) {
		ssize_t r = read(fd, buf + len, cap - 1 - len);
		if (r <= 0)
			break;
		len += (size_t)r;
		buf[len] = '\0';
	}
	*end = '\0';
	return true;
}

static void header_value(const char *head, const char *name, char *out, size_t cap)
{
	char key[64];
	const char *p;

	snprintf(key, sizeof(key), "\r\n%s:", name);
	out[0] = '\0';
	if ((p = strcasestr(head, key))) {
		p += strlen(key);
		while (*p == ' ')
			p++;
		size_t n = strcspn(p, "\r\n");
		snprintf(out, cap, "%.*s", (int)(n < cap ? n : cap - 1), p);
	}
}

static void handle(struct server *s, int fd, int conn)
{
	static char req[1 << 16];
	char method[16] = "", path[2048] = "", ua[128], auth[64];
	char *body = NULL;

	if (!read_request(fd, req, sizeof(req), &body)) {
		logf_(s, conn, "end bad-request");
		return;
	}
	size_t ml = strcspn(req, " ");
	snprintf(method, sizeof(method), "%.*s", (int)(ml < 15 ? ml : 15), req);
	const char *ps = req + ml + (req[ml] ? 1 : 0);
	size_t pl = strcspn(ps, " ");
	snprintf(path, sizeof(path), "%.*s", (int)(pl < sizeof(path) - 1 ? pl : sizeof(path) - 1), ps);
	header_value(req, "user-agent", ua, sizeof(ua));
	header_value(req, "authorization", auth, sizeof(auth));
	auth[strcspn(auth, " ")] = '\0'; /* the scheme only: never log a secret */
	logf_(s, conn, "request %s %s auth=%s ua=%s body=%s", method, path, auth[0] ? auth : "none",
	      ua, body && *body ? body : "-");
	if (strstr(path, "/stream/rules")) {
		rules(s, fd, conn, method, path, body);
		return;
	}
	/* rules requests do not use up plan entries */
	const struct entry *e = &s->plan[s->streams < s->n_plan ? s->streams : s->n_plan - 1];
	s->streams++;
	if (e->status == 200)
		stream(s, fd, conn, e);
	else
		error_reply(s, fd, conn, e);
}

static int listen_loopback(const char *port_file)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	FILE *f;

	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 16) ||
	    getsockname(fd, (struct sockaddr *)&a, &al)) {
		perror("firehose: listen");
		exit(1);
	}
	if (!(f = fopen(port_file, "w"))) {
		perror(port_file);
		exit(1);
	}
	fprintf(f, "%d\n", ntohs(a.sin_port));
	fclose(f);
	return fd;
}

static void usage(void)
{
	fprintf(stderr, "usage: firehose --framing v1|v2|ndjson|sse --plan PLAN --port-file F --log F\n"
			"                [--accounts N] [--first-id N] [--big-bytes N] [--deep-levels N] [--keepalive-ms N]\n"
			"                [--rate POSTS_PER_SECOND]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static struct server s = { .accounts = 1000, .next_id = 1000000, .big_bytes = 8192, .deep_levels = 5000, .rng = 20,
				   .keepalive_ms = 100, .next_rule = 1 };
	const char *port_file = NULL, *log_path = NULL, *plan = NULL;
	struct sigaction sa = { .sa_handler = on_signal };
	int lfd, conn = 0;

	for (int i = 1; i + 1 < argc; i += 2) {
		const char *k = argv[i], *v = argv[i + 1];
		if (!strcmp(k, "--framing"))
			s.framing = !strcmp(v, "v1") ? FR_V1 : !strcmp(v, "v2") ? FR_V2
				  : !strcmp(v, "sse") ? FR_SSE : FR_NDJSON;
		else if (!strcmp(k, "--plan")) plan = v;
		else if (!strcmp(k, "--port-file")) port_file = v;
		else if (!strcmp(k, "--log")) log_path = v;
		else if (!strcmp(k, "--accounts")) s.accounts = num(v) ? num(v) : 1;
		else if (!strcmp(k, "--first-id")) s.next_id = num(v);
		else if (!strcmp(k, "--big-bytes")) s.big_bytes = num(v) < 16 ? 16 : num(v);
		else if (!strcmp(k, "--deep-levels")) s.deep_levels = num(v) < 1 ? 1 : num(v);
		else if (!strcmp(k, "--keepalive-ms")) s.keepalive_ms = num(v);
		else if (!strcmp(k, "--rate")) s.rate = num(v);
		else usage();
	}
	if (!plan || !port_file || !log_path || !(s.log = fopen(log_path, "w")))
		usage();
	parse_plan(&s, plan);
	s.rules = json_array();
	clock_gettime(CLOCK_MONOTONIC, &s.t0);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	lfd = listen_loopback(port_file);
	while (!stop) {
		struct pollfd p = { .fd = lfd, .events = POLLIN };
		if (poll(&p, 1, 200) <= 0)
			continue;
		int fd = accept(lfd, NULL, NULL);
		if (fd < 0)
			continue;
		handle(&s, fd, ++conn);
		close(fd);
	}
	json_decref(s.rules);
	fclose(s.log);
	close(lfd);
	return 0;
}
