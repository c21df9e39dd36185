/*
 * feat_fam_user.c — the user (profile) family: BotometerLite's 20 profile
 * features and more, from the latest profile snapshot by event time.
 *
 * Absent fields never become a signal of their own: an absent count is 0, an
 * absent flag is false (so null and false look the same — in cresci-2017 the
 * null/false pattern identifies the collection, not the account), an absent
 * string is the empty string, an absent creation time gives age 0. Rates
 * divide by max(age in days, 1). All user features are language-independent.
 */
#include <math.h>
#include <string.h>

#include "bw_time.h"
#include "feat_int.h"

#define USER_FEATURES(X)                                                                         \
	X(U_STATUSES, "statuses_count", "statuses (posts) count", "latest snapshot's statuses_count; 0 if absent") \
	X(U_FOLLOWERS, "followers_count", "followers count", "latest snapshot's followers_count; 0 if absent") \
	X(U_FRIENDS, "friends_count", "friends (followees) count", "latest snapshot's friends_count; 0 if absent") \
	X(U_FAVOURITES, "favourites_count", "likes given", "latest snapshot's favourites_count; 0 if absent") \
	X(U_LISTED, "listed_count", "lists the account is on", "latest snapshot's listed_count; 0 if absent") \
	X(U_DEFAULT_PROFILE, "default_profile", "profile theme never changed", "1 if true, 0 if false or absent") \
	X(U_DEFAULT_IMAGE, "default_profile_image", "default avatar", "1 if true, 0 if false or absent") \
	X(U_USE_BG, "profile_use_background_image", "uses a background image", "1 if true, 0 if false or absent") \
	X(U_VERIFIED, "verified", "platform-verified", "1 if true, 0 if false or absent")          \
	X(U_PROTECTED, "protected", "protected (private) account", "1 if true, 0 if false or absent") \
	X(U_GEO, "geo_enabled", "geotagging enabled", "1 if true, 0 if false or absent")            \
	X(U_BOT_FLAG, "self_declared_bot", "account declares itself a bot (Mastodon `bot`)", "1 if true, 0 if false or absent") \
	X(U_AGE, "account_age_days", "account age in days at probe time", "(probe time - created_at) / 86400000 ms; 0 if created_at absent or later than the probe") \
	X(U_TWEET_FREQ, "tweet_freq", "posts per day of account life", "statuses_count / max(account_age_days, 1)") \
	X(U_FOLLOWERS_GROWTH, "followers_growth_rate", "followers gained per day of account life", "followers_count / max(account_age_days, 1)") \
	X(U_FRIENDS_GROWTH, "friends_growth_rate", "friends added per day of account life", "friends_count / max(account_age_days, 1)") \
	X(U_FAVOURITES_GROWTH, "favourites_growth_rate", "likes per day of account life", "favourites_count / max(account_age_days, 1)") \
	X(U_LISTED_GROWTH, "listed_growth_rate", "listings per day of account life", "listed_count / max(account_age_days, 1)") \
	X(U_FF_RATIO, "followers_friends_ratio", "followers per friend", "followers_count / max(friends_count, 1)") \
	X(U_FRIENDS_FOLLOWERS, "friends_followers_ratio", "friends per follower", "friends_count / max(followers_count, 1)") \
	X(U_LISTED_PER_FOLLOWER, "listed_per_follower", "listings per follower", "listed_count / max(followers_count, 1)") \
	X(U_FAV_PER_STATUS, "favourites_per_status", "likes given per post", "favourites_count / max(statuses_count, 1)") \
	X(U_SN_LEN, "screen_name_length", "characters of the screen name", "code points; 0 if absent. Every screen_name column reads the handle's local part: up to the first '@' or '.' (Mastodon user@server, Bluesky alice.bsky.social; a Twitter screen name has neither)") \
	X(U_SN_DIGITS, "num_digits_in_screen_name", "digits in the screen name", "count of 0-9")     \
	X(U_SN_UNDERSCORES, "screen_name_underscores", "underscores in the screen name", "count of '_'") \
	X(U_SN_UPPER, "screen_name_uppercase", "upper-case letters in the screen name", "count of A-Z") \
	X(U_SN_LIKELIHOOD, "screen_name_likelihood", "how word-like the screen name is", "geometric mean of add-one-smoothed character-bigram probabilities of the lower-cased screen name under the model fitted on /usr/share/dict/words (docs/LEXICONS.md); 0 when it has no bigram") \
	X(U_SN_ENTROPY, "screen_name_entropy", "character entropy of the screen name", "Shannon entropy (bits) of its character frequencies") \
	X(U_NAME_LEN, "name_length", "characters of the display name", "code points; 0 if absent") \
	X(U_NAME_DIGITS, "num_digits_in_name", "digits in the display name", "count of 0-9")      \
	X(U_NAME_WORDS, "name_words", "words in the display name", "whitespace-separated tokens")  \
	X(U_NAME_NONASCII, "name_nonascii_share", "non-ASCII share of the display name", "non-ASCII code points / code points") \
	X(U_NAME_SN_SIM, "name_screen_name_similarity", "display name vs screen name", "Dice coefficient of the lower-cased letter/digit bigram sets of the two") \
	X(U_DESC_LEN, "description_length", "characters of the bio", "code points; 0 if absent") \
	X(U_DESC_WORDS, "description_words", "words in the bio", "whitespace-separated tokens")    \
	X(U_DESC_HASHTAGS, "description_hashtags", "hashtags in the bio", "tokens starting with '#'") \
	X(U_DESC_MENTIONS, "description_mentions", "mentions in the bio", "tokens starting with '@'") \
	X(U_DESC_URLS, "description_urls", "links in the bio", "tokens starting with http or www.") \
	X(U_SN_BOT_WORDS, "screen_name_bot_words", "automation words in the screen name", "words of the handle (split at '_', digits and lower-to-upper case changes) that declare automation (docs/LEXICONS.md), a word ending in 'bot' or 'gpt' counted as one") \
	X(U_NAME_BOT_WORDS, "name_bot_words", "automation words in the display name", "as screen_name_bot_words, over the display name") \
	X(U_DESC_BOT_WORDS, "description_bot_words", "automation words in the bio", "words of the bio that declare automation (bot, automated, generated, gpt, markov, ...; docs/LEXICONS.md)") \
	X(U_DESC_CREDITS, "description_credits_maker", "the bio credits a maker", "1 if the bio has 'by' followed by a @mention (\"a bot by @maker\"), else 0") \
	X(U_DESC_SCHEDULE, "description_schedule", "the bio states an hourly posting schedule", "1 if the bio has 'hourly', or 'every' followed within three words by minute(s)/min(s)/hour(s)/hr(s)/h (\"a new map every 3 hours\"), else 0 (docs/LEXICONS.md)") \
	X(U_DESC_SHARED, "description_shared", "other accounts of the input sharing a run of this bio", "the most other accounts that share one five-word run of the normalised bio (population feature: case folded, digit runs as one 0, links, @mentions and #hashtags dropped, punctuation as space; words of 3+ bytes that are display-name words or part of the screen name read as one placeholder; a run needs 3 words with a letter); a bio shorter than five words is one run when it has 3 words besides placeholders and 12 characters; 0 without such a run and where no population is known (docs/FEATURES.md, \"Population features\")") \
	X(U_HAS_URL, "has_url", "profile has a URL", "1 if the url is non-empty")                 \
	X(U_HAS_LOCATION, "has_location", "profile has a location", "1 if the location is non-empty") \
	X(U_LOCATION_LEN, "location_length", "characters of the location", "code points")          \
	X(U_POSTS_SEEN, "posts_seen", "distinct posts of the account in the input", "own posts folded in (duplicates excluded)") \
	X(U_COVERAGE, "posts_seen_share", "share of lifetime posts observed", "posts_seen / max(statuses_count, 1), at most 1") \
	X(U_NAMES_SEEN, "screen_names_seen", "distinct screen names observed", "case-folded, up to 8") \
	X(U_FOLLOWERS_DELTA, "followers_delta_per_day", "followers change per day between snapshots", "(latest - earliest snapshot followers) / max(days between them, 1); 0 with fewer than 2 snapshot times") \
	X(U_FRIENDS_DELTA, "friends_delta_per_day", "friends change per day between snapshots", "as followers_delta_per_day for friends_count") \
	X(U_STATUSES_DELTA, "statuses_delta_per_day", "statuses change per day between snapshots", "as followers_delta_per_day for statuses_count")

#define U_ENUM(id, n, d, h) id,
enum { USER_FEATURES(U_ENUM) U__N };
#undef U_ENUM

static const struct {
	const char *name; /* after "user." */
	const char *desc; /* description */
	const char *how;  /* computation */
} user_defs[U__N] = {
#define U_DEF(id, n, d, h) { n, d, h },
	USER_FEATURES(U_DEF)
#undef U_DEF
};

static size_t base; /* index of the first user feature */

void feat_fam_user_register(void)
{
	base = feat_reg_scalar(FEAT_USER, true, user_defs[0].name, user_defs[0].desc,
			       user_defs[0].how);
	for (int i = 1; i < U__N; i++)
		feat_reg_scalar(FEAT_USER, true, user_defs[i].name, user_defs[i].desc, user_defs[i].how);
}

size_t feat_fam_user_shared_col(void)
{
	feat_registry_init();
	return base + U_DESC_SHARED;
}

static double cnt(int64_t v)
{
	return v > 0 ? (double)v : 0.0;
}

static double utf8_len(const char *s)
{
	double n = 0;
	for (; s && *s; s++)
		n += ((unsigned char)*s & 0xC0) != 0x80;
	return n;
}

static double count_if(const char *s, int lo, int hi)
{
	double n = 0;
	for (; s && *s; s++)
		n += *s >= lo && *s <= hi;
	return n;
}

/* Tokens of s and how many start with the given prefixes. */
static void tokens(const char *s, double *words, double *tags, double *ments, double *urls)
{
	*words = *tags = *ments = *urls = 0;
	while (s && *s) {
		const char *b;
		while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
			s++;
		if (!*s)
			break;
		b = s;
		while (*s && !(*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r'))
			s++;
		(*words)++;
		*tags += *b == '#';
		*ments += *b == '@';
		*urls += strncmp(b, "http", 4) == 0 || strncmp(b, "www.", 4) == 0;
	}
}

static int alpha_index(char c)
{
	if (c >= 'A' && c <= 'Z')
		c = (char)(c + 32);
	if (c >= 'a' && c <= 'z')
		return c - 'a';
	if (c >= '0' && c <= '9')
		return 26 + (c - '0');
	return c == '_' ? 36 : -1;
}

double feat_screen_name_likelihood(const char *sn)
{
	double sum = 0, denom = (double)feat_bigram_total + FEAT_BIGRAM_N * FEAT_BIGRAM_N;
	size_t pairs = 0;

	for (size_t i = 0; sn && sn[i] && sn[i + 1]; i++) {
		int a = alpha_index(sn[i]), b = alpha_index(sn[i + 1]);
		if (a < 0 || b < 0)
			continue;
		sum += log((feat_bigram_counts[a][b] + 1.0) / denom);
		pairs++;
	}
	return pairs ? exp(sum / (double)pairs) : 0.0;
}

static double char_entropy(const char *s)
{
	unsigned cnts[256] = { 0 };
	size_t n = 0;
	double e = 0;

	for (; s && *s; s++, n++)
		cnts[(unsigned char)*s]++;
	for (int i = 0; i < 256; i++) {
		if (cnts[i]) {
			double p = cnts[i] / (double)n;
			e -= p * log2(p);
		}
	}
	return e > 0 ? e : 0.0;
}

/* Dice coefficient of the sets of lower-cased alnum bigrams. */
static double dice(const char *x, const char *y)
{
	uint16_t bx[64], by[64];
	size_t nx = 0, ny = 0, common = 0;
	char cx[128], cy[128];
	size_t lx = 0, ly = 0;

	for (; x && *x && lx < sizeof(cx); x++)
		if (alpha_index(*x) >= 0 && *x != '_')
			cx[lx++] = (char)alpha_index(*x);
	for (; y && *y && ly < sizeof(cy); y++)
		if (alpha_index(*y) >= 0 && *y != '_')
			cy[ly++] = (char)alpha_index(*y);
	for (size_t i = 0; i + 1 < lx && nx < 64; i++)
		bx[nx++] = (uint16_t)(cx[i] * 64 + cx[i + 1]);
	for (size_t i = 0; i + 1 < ly && ny < 64; i++)
		by[ny++] = (uint16_t)(cy[i] * 64 + cy[i + 1]);
	if (nx + ny == 0)
		return 0;
	for (size_t i = 0; i < nx; i++) {
		for (size_t j = 0; j < ny; j++) {
			if (bx[i] == by[j]) {
				common++;
				by[j] = 0xFFFF; /* use each bigram once */
				break;
			}
		}
	}
	return 2.0 * (double)common / (double)(nx + ny);
}

/* Words that declare automation (docs/LEXICONS.md, "Automation words"). */
static const char *const bot_words[] = {
	"bot", "bots", "automated", "automatic", "automatically", "autogenerated", "generated",
	"generator", "gpt", "markov", "rnn", "lstm", "ebooks",
};
/* Words ending in "bot" that are names or things, not declarations. */
static const char *const not_bot_suffix[] = { "abbot", "talbot", "cabot", "chabot", "sabot", "turbot",
					      "robot" };

static bool is_upper(char c)
{
	return c >= 'A' && c <= 'Z';
}

static bool is_letter(char c)
{
	return is_upper(c) || (c >= 'a' && c <= 'z');
}

static bool ends_with(const char *w, size_t n, const char *suf)
{
	size_t k = strlen(suf);
	return n >= k && memcmp(w + n - k, suf, k) == 0;
}

/* Is the lower-cased word w[0..n) an automation word? In handles and names
 * a longer word ending in "bot" or "gpt" counts ("tinycarebot"). */
static bool is_bot_word(const char *w, size_t n, bool suffixes)
{
	for (size_t i = 0; i < sizeof(bot_words) / sizeof(bot_words[0]); i++)
		if (strlen(bot_words[i]) == n && memcmp(w, bot_words[i], n) == 0)
			return true;
	if (!suffixes || n < 5 || !(ends_with(w, n, "bot") || ends_with(w, n, "gpt")))
		return false;
	for (size_t i = 0; i < sizeof(not_bot_suffix) / sizeof(not_bot_suffix[0]); i++)
		if (ends_with(w, n, not_bot_suffix[i]))
			return false;
	return true;
}

/* Automation words in s. Words are runs of ASCII letters; with camel set a
 * lower-to-upper change also starts a word ("MagicRealismBot"), as does an
 * upper-case letter followed by a lower-case one after an upper-case run
 * ("AIBot" = "AI" "Bot"). Words are compared lower-cased, at most 31 bytes. */
static double bot_words_in(const char *s, bool camel)
{
	double n = 0;
	while (s && *s) {
		char w[32];
		size_t k = 0;
		while (*s && !is_letter(*s))
			s++;
		while (is_letter(*s)) {
			bool up = is_upper(*s);
			if (camel && k > 0 && up && (!is_upper(s[-1]) || (is_letter(s[1]) && !is_upper(s[1]))))
				break;
			if (k < sizeof(w))
				w[k] = (char)(up ? *s + 32 : *s);
			k++;
			s++;
		}
		if (k > 0 && k <= sizeof(w))
			n += is_bot_word(w, k, camel);
	}
	return n;
}

/* 1 if the bio has "by" followed by a @mention ("a bot by @maker"). */
static double credits_maker(const char *s)
{
	const char *p = s;
	while (p && (p = strstr(p, "by ")) != NULL) {
		bool word_start = p == s || !is_letter(p[-1]);
		const char *q = p + 3;
		while (*q == ' ')
			q++;
		if (word_start && *q == '@')
			return 1;
		p += 3;
	}
	return 0;
}

/* Next word of *s: a run of ASCII letters or of digits, lower-cased into
 * w (cap bytes, truncated); its length, 0 at the end. */
static size_t next_word(const char **s, char *w, size_t cap)
{
	const char *p = *s;
	size_t k = 0;

	while (*p && !is_letter(*p) && !(*p >= '0' && *p <= '9'))
		p++;
	bool digits = *p >= '0' && *p <= '9';
	while (*p && (digits ? (*p >= '0' && *p <= '9') : is_letter(*p))) {
		if (k + 1 < cap)
			w[k++] = (char)(is_upper(*p) ? *p + 32 : *p);
		p++;
	}
	w[k] = '\0';
	*s = p;
	return k;
}

static bool word_in(const char *w, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(w, list[i]) == 0)
			return true;
	return false;
}

/* 1 if the bio states a posting schedule at minute or hour granularity:
 * "hourly", or "every" followed within three words by a minute/hour unit
 * ("every 3 hours", "every 30min", "every hour"). Humans describe what they
 * post, rarely how many times an hour (docs/LEXICONS.md). */
static double states_schedule(const char *s)
{
	static const char *const units[] = { "minute", "minutes", "min", "mins", "hour", "hours",
					     "hr", "hrs", "h" };
	char w[16];
	int after_every = 0; /* words left in which a unit counts */

	while (s && next_word(&s, w, sizeof(w)) > 0) {
		if (strcmp(w, "hourly") == 0)
			return 1;
		if (after_every > 0 && word_in(w, units, sizeof(units) / sizeof(units[0])))
			return 1;
		after_every = strcmp(w, "every") == 0 ? 3 : after_every - 1;
	}
	return 0;
}

static double delta_per_day(const struct feat_account *a, int64_t latest, int64_t first)
{
	double days;

	if (a->first_t == BW_TIME_NONE || a->prof.t == BW_TIME_NONE || a->prof.t <= a->first_t ||
	    latest < 0 || first < 0)
		return 0;
	days = feat_ms_diff(a->prof.t, a->first_t) / 86400000.0;
	return feat_ms_diff(latest, first) / (days > 1 ? days : 1);
}

/* The handle's local part, the one the account chose: a Mastodon `acct` is
 * user@server for a remote account and a Bluesky handle is a domain name
 * (alice.bsky.social), where a Twitter screen name is the name alone, so the
 * part before the first '@' or '.' (a leading '@' skipped) carries the same
 * meaning on every platform; a Twitter screen name holds neither and is
 * unchanged. Into out (cap bytes); a handle that would be cut to nothing is
 * copied as it is, truncated to the buffer. Returns out, or NULL for NULL. */
static const char *handle_local(const char *sn, char *out, size_t cap)
{
	size_t n = 0;
	if (!sn)
		return NULL;
	const char *s = *sn == '@' ? sn + 1 : sn;
	while (s[n] && s[n] != '@' && s[n] != '.' && n + 1 < cap)
		n++;
	if (n == 0) {
		s = sn;
		while (s[n] && n + 1 < cap)
			n++;
	}
	memcpy(out, s, n);
	out[n] = 0;
	return out;
}

void feat_fam_user_extract(const struct feat_account *a, int64_t probe_ms, double *out)
{
	const struct feat_prof *p = &a->prof;
	double *o = out + base, age = 0, age1, w, t, m, u;
	char snbuf[256];
	const char *sn = handle_local(p->screen_name, snbuf, sizeof(snbuf));

	if (p->created_at_ms != BW_TIME_NONE && probe_ms != BW_TIME_NONE && probe_ms > p->created_at_ms)
		age = feat_ms_diff(probe_ms, p->created_at_ms) / 86400000.0;
	age1 = age > 1 ? age : 1;
	o[U_STATUSES] = cnt(p->statuses);
	o[U_FOLLOWERS] = cnt(p->followers);
	o[U_FRIENDS] = cnt(p->friends);
	o[U_FAVOURITES] = cnt(p->favourites);
	o[U_LISTED] = cnt(p->listed);
	o[U_DEFAULT_PROFILE] = p->default_profile == BW_TRI_TRUE;
	o[U_DEFAULT_IMAGE] = p->default_profile_image == BW_TRI_TRUE;
	o[U_USE_BG] = p->use_bg == BW_TRI_TRUE;
	o[U_VERIFIED] = p->verified == BW_TRI_TRUE;
	o[U_PROTECTED] = p->protected_ == BW_TRI_TRUE;
	o[U_GEO] = p->geo_enabled == BW_TRI_TRUE;
	o[U_BOT_FLAG] = p->bot == BW_TRI_TRUE;
	o[U_AGE] = age;
	o[U_TWEET_FREQ] = o[U_STATUSES] / age1;
	o[U_FOLLOWERS_GROWTH] = o[U_FOLLOWERS] / age1;
	o[U_FRIENDS_GROWTH] = o[U_FRIENDS] / age1;
	o[U_FAVOURITES_GROWTH] = o[U_FAVOURITES] / age1;
	o[U_LISTED_GROWTH] = o[U_LISTED] / age1;
	o[U_FF_RATIO] = o[U_FOLLOWERS] / (o[U_FRIENDS] > 1 ? o[U_FRIENDS] : 1);
	o[U_FRIENDS_FOLLOWERS] = o[U_FRIENDS] / (o[U_FOLLOWERS] > 1 ? o[U_FOLLOWERS] : 1);
	o[U_LISTED_PER_FOLLOWER] = o[U_LISTED] / (o[U_FOLLOWERS] > 1 ? o[U_FOLLOWERS] : 1);
	o[U_FAV_PER_STATUS] = o[U_FAVOURITES] / (o[U_STATUSES] > 1 ? o[U_STATUSES] : 1);
	o[U_SN_LEN] = utf8_len(sn);
	o[U_SN_DIGITS] = count_if(sn, '0', '9');
	o[U_SN_UNDERSCORES] = count_if(sn, '_', '_');
	o[U_SN_UPPER] = count_if(sn, 'A', 'Z');
	o[U_SN_LIKELIHOOD] = feat_screen_name_likelihood(sn);
	o[U_SN_ENTROPY] = char_entropy(sn);
	o[U_NAME_LEN] = utf8_len(p->name);
	o[U_NAME_DIGITS] = count_if(p->name, '0', '9');
	tokens(p->name, &o[U_NAME_WORDS], &t, &m, &u);
	o[U_NAME_NONASCII] = o[U_NAME_LEN] > 0 ? (o[U_NAME_LEN] - count_if(p->name, 1, 127)) / o[U_NAME_LEN] : 0;
	o[U_NAME_SN_SIM] = dice(p->name, sn);
	o[U_DESC_LEN] = utf8_len(p->description);
	tokens(p->description, &w, &t, &m, &u);
	o[U_DESC_WORDS] = w, o[U_DESC_HASHTAGS] = t, o[U_DESC_MENTIONS] = m, o[U_DESC_URLS] = u;
	o[U_SN_BOT_WORDS] = bot_words_in(sn, true);
	o[U_NAME_BOT_WORDS] = bot_words_in(p->name, true);
	o[U_DESC_BOT_WORDS] = bot_words_in(p->description, false);
	o[U_DESC_CREDITS] = credits_maker(p->description);
	o[U_DESC_SCHEDULE] = states_schedule(p->description);
	o[U_DESC_SHARED] = 0; /* a population feature: feat_pop_fill() */
	o[U_HAS_URL] = p->url && *p->url;
	o[U_HAS_LOCATION] = p->location && *p->location;
	o[U_LOCATION_LEN] = utf8_len(p->location);
	o[U_POSTS_SEEN] = (double)a->posts;
	o[U_COVERAGE] = (double)a->posts / (o[U_STATUSES] > 1 ? o[U_STATUSES] : 1);
	if (o[U_COVERAGE] > 1)
		o[U_COVERAGE] = 1;
	o[U_NAMES_SEEN] = a->n_names;
	o[U_FOLLOWERS_DELTA] = delta_per_day(a, p->followers, a->first_followers);
	o[U_FRIENDS_DELTA] = delta_per_day(a, p->friends, a->first_friends);
	o[U_STATUSES_DELTA] = delta_per_day(a, p->statuses, a->first_statuses);
}
