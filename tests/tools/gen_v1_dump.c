/*
 * gen_v1_dump.c — write a synthetic Twitter v1.1 stream dump for benchmarks.
 *
 *   build/tests/gen_v1_dump LINES [SEED [ACCOUNTS] [zipf] [distinct-bios]] > dump.ndjson
 *
 * Tweet-sized objects (~4 KB a line on average): every status carries a full
 * user object, entities and a source link; ~45% are retweets that nest the
 * retweeted status (with its own user); ~10% carry extended_tweet. Accounts
 * repeat (a pool of ACCOUNTS, default 5,000: authors,
 * retweeted authors and mentioned accounts are drawn from it uniformly, so a
 * large pool makes a dump of many accounts with few posts each). With `zipf`
 * they are drawn heavy-tailed instead (P(rank i) ~ 1/i: a few accounts post a
 * lot, most post once or twice, as in a real stream). Deterministic for a
 * given seed. The text is generated, not taken from any dataset.
 * With "distinct-bios" every 4th word of a bio is a letter code of the
 * account, so no two accounts share a run of bio words (no population
 * feature: docs/FEATURES.md, "Population features").
 */
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N_ACCOUNTS 5000

static unsigned n_accounts = N_ACCOUNTS; /* the account pool (ACCOUNTS) */
static bool zipf;                        /* draw accounts heavy-tailed (zipf) */

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static int distinct_bios; /* code words in every bio */

static uint64_t rnd(void)
{
	/* xorshift64* */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ull;
}

/* An account number in [1000, 1000 + n_accounts): uniform, or with zipf
 * log-uniform over the ranks (P(rank i) ~ 1/i). */
static unsigned pick(void)
{
	if (zipf) {
		double u = (double)(rnd() >> 11) / 9007199254740992.0; /* [0, 1) */
		double r = exp(u * log((double)n_accounts + 1.0)) - 1.0;
		unsigned k = (unsigned)r;
		return (k < n_accounts ? k : n_accounts - 1) + 1000;
	}
	return (unsigned)(rnd() % n_accounts) + 1000;
}

static const char *const words[] = {
	"stream", "bot", "data", "news", "today", "vote", "market", "crypto", "music", "game",
	"follow", "breaking", "update", "world", "city", "team", "win", "love", "read", "watch",
	"people", "report", "live", "video", "photo", "week", "best", "new", "free", "check",
};

static void text(char *buf, size_t cap, int nwords)
{
	size_t o = 0;
	for (int i = 0; i < nwords && o + 16 < cap; i++) {
		const char *w = words[rnd() % (sizeof(words) / sizeof(words[0]))];
		o += (size_t)snprintf(buf + o, cap - o, "%s%s", i ? " " : "", w);
	}
	buf[o] = '\0';
}

static void twitter_time(char *buf, size_t cap, uint64_t t)
{
	static const char *const mon[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	static const char *const wd[] = { "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun" };
	snprintf(buf, cap, "%s %s %02d %02d:%02d:%02d +0000 20%02d", wd[t % 7], mon[(t / 7) % 12],
		 (int)(1 + t % 28), (int)(t / 3 % 24), (int)(t / 5 % 60), (int)(t % 60),
		 (int)(10 + t % 12));
}

static void user(FILE *out, unsigned acct)
{
	char desc[200], name[64], when[40];
	uint64_t save = rng_state;

	rng_state = 0x51ED2701ull + acct * 0x9E3779B97F4A7C15ull; /* same account, same profile */
	text(desc, sizeof(desc), 18);
	if (distinct_bios) { /* "zq" + the account in base 26, every 4th word */
		char code[16], words4[200];
		size_t o = 0, c = 2;
		code[0] = 'z';
		code[1] = 'q';
		for (unsigned v = acct; v && c < sizeof(code) - 1; v /= 26)
			code[c++] = (char)('a' + v % 26);
		code[c] = 0;
		int w = 0;
		for (const char *p = desc; *p && o + 24 < sizeof(words4); w++) {
			const char *sp = strchr(p, ' ');
			size_t n = sp ? (size_t)(sp - p) : strlen(p);
			if (w % 4 == 0)
				o += (size_t)snprintf(words4 + o, sizeof(words4) - o, "%s%s", o ? " " : "", code);
			o += (size_t)snprintf(words4 + o, sizeof(words4) - o, " %.*s", (int)n, p);
			p += n + (sp ? 1 : 0);
		}
		snprintf(desc, sizeof(desc), "%s", words4);
	}
	text(name, sizeof(name), 2);
	twitter_time(when, sizeof(when), acct * 7919u);
	fprintf(out,
		"{\"id\":%u,\"id_str\":\"%u\",\"name\":\"%s\",\"screen_name\":\"user_%u\","
		"\"location\":\"Somewhere, Earth\",\"url\":\"https://example.org/u/%u\","
		"\"description\":\"%s\",\"translator_type\":\"none\",\"protected\":false,"
		"\"verified\":%s,\"followers_count\":%" PRIu64 ",\"friends_count\":%" PRIu64 ","
		"\"listed_count\":%" PRIu64 ",\"favourites_count\":%" PRIu64 ",\"statuses_count\":%" PRIu64 ","
		"\"created_at\":\"%s\",\"utc_offset\":null,\"time_zone\":null,\"geo_enabled\":%s,"
		"\"lang\":null,\"contributors_enabled\":false,\"is_translator\":false,"
		"\"profile_background_color\":\"C0DEED\",\"profile_background_image_url\":\"http://abs.example.com/images/themes/theme1/bg.png\","
		"\"profile_background_image_url_https\":\"https://abs.example.com/images/themes/theme1/bg.png\","
		"\"profile_background_tile\":false,\"profile_link_color\":\"1DA1F2\","
		"\"profile_sidebar_border_color\":\"C0DEED\",\"profile_sidebar_fill_color\":\"DDEEF6\","
		"\"profile_text_color\":\"333333\",\"profile_use_background_image\":true,"
		"\"profile_image_url\":\"http://pbs.example.com/profile_images/%u/avatar_normal.jpg\","
		"\"profile_image_url_https\":\"https://pbs.example.com/profile_images/%u/avatar_normal.jpg\","
		"\"profile_banner_url\":\"https://pbs.example.com/profile_banners/%u/1500000000\","
		"\"default_profile\":%s,\"default_profile_image\":false,\"following\":null,"
		"\"follow_request_sent\":null,\"notifications\":null}",
		acct, acct, name, acct, acct, desc, acct % 97 ? "false" : "true", rnd() % 100000,
		rnd() % 5000, rnd() % 300, rnd() % 20000, rnd() % 200000, when,
		acct % 3 ? "false" : "true", acct, acct, acct, acct % 2 ? "true" : "false");
	rng_state = save;
}

/* One status object (without a trailing newline). */
static void status(FILE *out, uint64_t id, unsigned acct, uint64_t t, int depth)
{
	char txt[400], when[40];
	unsigned mention = pick();
	bool rt = depth == 0 && rnd() % 100 < 45;
	bool ext = !rt && rnd() % 10 == 0;

	text(txt, sizeof(txt), 12 + (int)(rnd() % 30));
	twitter_time(when, sizeof(when), t);
	fprintf(out, "{\"created_at\":\"%s\",\"id\":%" PRIu64 ",\"id_str\":\"%" PRIu64 "\",", when, id, id);
	fprintf(out, "\"text\":\"%s%s #tag%u @user_%u https://t.co/x%" PRIu64 "\",", rt ? "RT @someone: " : "",
		txt, (unsigned)(rnd() % 50), mention, id % 100000);
	fprintf(out, "\"source\":\"<a href=\\\"https://example.com/download/app\\\" rel=\\\"nofollow\\\">Example App %u</a>\","
		"\"truncated\":%s,\"in_reply_to_status_id\":null,\"in_reply_to_status_id_str\":null,"
		"\"in_reply_to_user_id\":null,\"in_reply_to_user_id_str\":null,\"in_reply_to_screen_name\":null,\"user\":",
		acct % 5, ext ? "true" : "false");
	user(out, acct);
	fprintf(out, ",\"geo\":null,\"coordinates\":null,\"place\":null,\"contributors\":null,");
	if (rt) {
		fprintf(out, "\"retweeted_status\":");
		status(out, id - 1000 - rnd() % 100000, pick(), t - 3600, 1);
		fprintf(out, ",");
	}
	if (ext)
		fprintf(out, "\"extended_tweet\":{\"full_text\":\"%s %s\",\"display_text_range\":[0,250],"
			"\"entities\":{\"hashtags\":[],\"urls\":[],\"user_mentions\":[],\"symbols\":[]}},", txt, txt);
	fprintf(out, "\"is_quote_status\":false,\"quote_count\":%" PRIu64 ",\"reply_count\":%" PRIu64 ","
		"\"retweet_count\":%" PRIu64 ",\"favorite_count\":%" PRIu64 ",", rnd() % 10, rnd() % 10,
		rnd() % 1000, rnd() % 1000);
	fprintf(out, "\"entities\":{\"hashtags\":[{\"text\":\"tag%u\",\"indices\":[10,16]}],\"urls\":["
		"{\"url\":\"https://t.co/x%" PRIu64 "\",\"expanded_url\":\"https://example.com/article/%" PRIu64 "\","
		"\"display_url\":\"example.com/article/%" PRIu64 "\",\"indices\":[40,63]}],"
		"\"user_mentions\":[{\"screen_name\":\"user_%u\",\"name\":\"Someone\",\"id\":%u,\"id_str\":\"%u\","
		"\"indices\":[20,30]}],\"symbols\":[]},", (unsigned)(rnd() % 50), id % 100000, id, id,
		mention, mention, mention);
	fprintf(out, "\"favorited\":false,\"retweeted\":false,\"possibly_sensitive\":false,"
		"\"filter_level\":\"low\",\"lang\":\"en\",\"timestamp_ms\":\"%" PRIu64 "\"}",
		(uint64_t)(1500000000000ull + t * 1000));
}

int main(int argc, char **argv)
{
	char *end;
	unsigned long long lines;

	if (argc < 2 || argc > 6) {
		fprintf(stderr, "usage: %s LINES [SEED [ACCOUNTS] [zipf] [distinct-bios]] > dump.ndjson\n",
			argv[0]);
		return 2;
	}
	lines = strtoull(argv[1], &end, 10);
	if (*end || !lines) {
		fprintf(stderr, "%s: LINES must be a positive integer\n", argv[0]);
		return 2;
	}
	for (int i = 3; i < argc; i++) { /* after SEED: the pool size and the modes, any order */
		unsigned long long n;
		if (strcmp(argv[i], "zipf") == 0) {
			zipf = true;
			continue;
		}
		if (strcmp(argv[i], "distinct-bios") == 0) {
			distinct_bios = 1;
			continue;
		}
		n = strtoull(argv[i], &end, 10);
		if (*end || !n || n > 4000000000ull) {
			fprintf(stderr, "%s: ACCOUNTS must be an integer in [1, 4000000000] (or zipf, "
					"distinct-bios): %s\n", argv[0], argv[i]);
			return 2;
		}
		n_accounts = (unsigned)n;
	}
	if (argc >= 3) {
		unsigned long long seed = strtoull(argv[2], &end, 10);
		if (*end) {
			fprintf(stderr, "%s: SEED must be an integer\n", argv[0]);
			return 2;
		}
		rng_state ^= seed * 0x2545F4914F6CDD1Dull;
	}
	for (unsigned long long i = 0; i < lines; i++) {
		status(stdout, 1000000000000000000ull + i * 1000, pick(),
		       i * 7, 0);
		fputc('\n', stdout);
	}
	return fflush(stdout) ? 1 : 0;
}
