/*
 * clf_sim.c — human and bot timeline simulator (see clf_sim.h and
 * docs/SIMULATOR.md for the behaviour models and their sources).
 *
 * Plan: draw every account's profile and post times (kind-specific models),
 * sort all posts by event time, then render each as a v1.1 status. Text and
 * entities are drawn from a per-post generator seeded by (seed, account,
 * post), so the output is a pure function of the options.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <zlib.h>

#include "bw_err.h"
#include "bw_time.h"
#include "clf.h"
#include "clf_sim.h"

enum sim_kind {
	K_HUMAN = 0, K_SCHEDULED, K_AMPLIFIER, K_SPAMMER, K_FAKE_FOLLOWER, K_COORDINATED, K_SELF_DECLARED
};
#define N_KINDS 7
#define N_CELEB 40            /* popular accounts humans retweet/reply to (unlabelled) */
#define USER_ID_BASE 4100000000ULL
#define DAY_MS 86400000LL

static const char *const kind_names[N_KINDS] = { "human",       "scheduled",    "amplifier",
						 "spammer",     "fake_follower", "coordinated",
						 "self_declared" };

const char *clf_sim_class_name(int cls)
{
	return cls >= 0 && cls < N_KINDS ? kind_names[cls] : "?";
}

void clf_sim_opts_init(struct clf_sim_opts *o)
{
	o->accounts = 1000;
	o->bot_share = 0.5;
	o->seed = 1;
	o->end_ms = 1617235200000LL; /* 2021-04-01T00:00:00Z */
	o->max_posts = 200;
}

/* One simulated account. */
struct acct {
	int kind;              /* enum sim_kind */
	int group;             /* coordinated group, -1 otherwise */
	uint64_t id;           /* user id */
	char screen[24];       /* handle */
	char name[48];         /* display name */
	char desc[160];        /* bio */
	int64_t created_ms;    /* account creation */
	int64_t followers, friends, listed, favourites, statuses0; /* counts */
	int utc_off_h;         /* local time offset (circadian phase) */
	int n_apps;            /* source apps used */
	int apps[3];           /* indices into app tables */
	int default_profile;   /* 0/1 */
	int style;             /* humans: enum human_style; bots: 1 = imitates humans, else 0 */
	int max_posts;         /* timeline cap for this account (low-activity humans: small) */
	int period_h;          /* self-declared bots: hours between posts, as the bio says */
	uint64_t rng;          /* account generator state */
};

/* Kinds of human account (docs/SIMULATOR.md): not every human tweets like a person. */
enum human_style { H_PERSONAL = 0, H_ORG, H_NEWS, H_RETWEETER, H_LOW };

/* One post to render. */
struct spost {
	int64_t t;             /* event time (ms) */
	uint32_t acct;         /* index into accounts (or N_CELEB pool when >= n) */
	uint32_t seq;          /* post number within the account */
	int type;              /* 0 original, 1 retweet, 2 reply */
	uint32_t target;       /* account index retweeted / replied to */
	uint32_t campaign;     /* coordinated: campaign event number */
};

/* Growable post list. */
struct plist {
	struct spost *v;       /* posts */
	size_t n, cap;         /* used, allocated */
};

static double unif(uint64_t *s)
{
	return ((double)(clf_rand_next(s) >> 11) + 0.5) / 9007199254740992.0;
}

static int rint_(uint64_t *s, int lo, int hi) /* inclusive */
{
	return lo + (int)(clf_rand_next(s) % (uint64_t)(hi - lo + 1));
}

static double lognorm(uint64_t *s, double median, double sigma)
{
	double u1 = unif(s), u2 = unif(s);
	double z = sqrt(-2 * log(u1)) * cos(2 * M_PI * u2);
	return median * exp(sigma * z);
}

static int push(struct plist *l, const struct spost *p)
{
	if (l->n == l->cap) {
		size_t nc = l->cap ? l->cap * 2 : 4096;
		struct spost *nv = realloc(l->v, nc * sizeof(*nv));
		if (!nv)
			return BW_ENOMEM;
		l->v = nv;
		l->cap = nc;
	}
	l->v[l->n++] = *p;
	return 0;
}

/* ---- vocabulary ------------------------------------------------------------ */

static const char *const first_names[] = {
	"Anna", "Marco", "Laura", "James", "Sofia", "David", "Emma", "Luca", "Maria", "John",
	"Giulia", "Chris", "Sarah", "Paolo", "Kate", "Tom", "Elena", "Mike", "Julia", "Sam",
	"Nina", "Alex", "Chiara", "Ben", "Rosa", "Dan", "Lucy", "Matteo", "Amy", "Pete",
};
static const char *const last_names[] = {
	"Rossi", "Smith", "Bianchi", "Brown", "Ferrari", "Jones", "Russo", "Miller", "Romano",
	"Davis", "Gallo", "Wilson", "Costa", "Taylor", "Greco", "Clark", "Conti", "Hall",
	"Marino", "Young", "Moore", "Ricci", "King", "Lombardi", "Wright",
};
static const char *const words[] = {
	"the", "a", "to", "and", "of", "in", "is", "it", "you", "that", "for", "on", "my", "this",
	"with", "be", "at", "so", "but", "not", "just", "have", "was", "me", "are", "we", "all",
	"like", "get", "can", "what", "out", "now", "love", "good", "day", "time", "today",
	"new", "know", "really", "think", "people", "great", "night", "work", "going", "back",
	"happy", "still", "home", "game", "best", "thanks", "week", "tonight", "music", "friends",
	"coffee", "morning", "weekend", "watching", "reading", "city", "rain", "finally", "tired",
	"amazing", "sad", "funny", "crazy", "lol", "omg", "yes", "no", "maybe", "wow", "team",
	"school", "book", "movie", "dinner", "train", "late", "early", "beautiful", "awful",
};
static const char *const spam_words[] = {
	"FREE", "win", "deal", "offer", "click", "cheap", "discount", "bonus", "followers",
	"now", "limited", "best", "price", "sale", "gift", "promo", "earn", "money", "fast",
	"job", "hiring", "apply", "app", "download",
};
static const char *const hashtags[] = {
	"news", "music", "love", "football", "tbt", "photo", "travel", "food", "tech",
	"politics", "art", "fitness", "movies", "books", "weekend", "job", "deal", "crypto",
};
static const char *const emoji[] = { " :)", " :(", " \xF0\x9F\x98\x82", " \xE2\x9D\xA4", " ;)",
				     " \xF0\x9F\x98\x8D", " :D" };
static const char *const human_apps[] = { "Twitter for iPhone", "Twitter for Android",
					  "Twitter Web App", "TweetDeck", "Twitter for iPad" };
static const char *const bot_apps[] = { "IFTTT", "dlvr.it", "twittbot.net", "Buffer",
					"Hootsuite", "SocialOomph", "Zapier.com", "autotweet" };
/* Scheduling and newsroom tools that real organisations and media use. */
static const char *const pro_apps[] = { "Hootsuite Inc.", "Sprout Social", "Buffer", "TweetDeck",
					"SocialFlow", "dlvr.it" };
static const char *const domains[] = { "bit.ly", "goo.gl", "ow.ly", "tinyurl.com",
				       "example-news.com", "shop-deals.net", "myblog.org" };
/* Human bios are composed from parts (compose_human_bio), so that, as among
 * real people, two share a bio only by rare chance (0.1-0.3 % of the real
 * labelled humans share one with another account; docs/SIMULATOR.md). */
static const char *const bio_roles[] = {
	"coffee addict", "dad", "mum", "teacher", "nurse", "student", "engineer", "journalist",
	"designer", "runner", "photographer", "writer", "lawyer", "chef", "developer", "musician",
	"researcher", "gardener", "cyclist", "doctor", "farmer", "librarian", "pilot", "painter",
};
static const char *const bio_interests[] = {
	"books", "hiking", "football", "food", "travel", "jazz", "films", "science", "politics",
	"cats", "dogs", "baking", "yoga", "history", "gaming", "poetry", "tennis", "fishing",
	"climbing", "comics", "wine", "coffee", "space", "birds", "sailing", "knitting", "chess",
	"cricket", "theatre", "surfing",
};
static const char *const bio_places[] = {
	"from the north", "in Leeds", "in Austin", "living in Rome", "based in Lyon", "in Toronto",
	"from Cork", "in Melbourne", "in Ohio", "from Porto", "in Berlin", "near the sea",
	"in a small town", "in Glasgow", "from Texas", "in Naples", "in Denver", "from Wales",
	"in Seattle", "on the coast",
};
static const char *const bio_taglines[] = {
	"opinions are mine", "bad jokes", "retweets are not endorsements", "she/her", "he/him",
	"trying my best", "here for the memes", "always learning", "tea over coffee",
	"views my own", "probably outside", "mostly harmless", "", "", "",
};
/* Coordinated groups: one template per group, members differ in numbers only
 * (cresci-2017's social spambots share bios such as "Writer, business
 * oriented, web master and general geek!"). */
static const char *const bios_group[][2] = {
	{ "Love to travel, connect with new friends and grow my ", " businesses!" },
	{ "Writer, blogger, social media addict and web geek since ", "!" },
	{ "Fashion student, ", "% dreamer, want to be a full time designer!" },
	{ "Just the facts - ", " interesting ones every day!" },
	{ "Mom of ", ", lover of life - need I say more!" },
	{ "Sports fan, ", " teams, proud patriot, family first!" },
};
static const char *const bios_bot[] = {
	"Best deals every day! Follow for more", "Daily news updates",
	"Follow me and I follow back #teamfollowback", "Making money online - click the link",
	"Automated updates", "Latest jobs in your area", "", "",
	"coffee addict. runner. opinions are mine", "music lover from the north",
};

/* Self-declared (creative and utility) bots, after the Botwiki catalogue:
 * a handle made of topic words, a bio saying what it posts and who made it. */
static const char *const sd_topics[] = {
	"moon", "clock", "weather", "poem", "haiku", "word", "color", "emoji", "quake", "tide",
	"museum", "map", "space", "train", "bird", "plant", "fact", "quote", "news", "art",
};
/* Bio templates: text, topic, text, period in hours, text, maker, text. */
static const char *const sd_bios[][4] = {
	{ "I am a bot. I post a ", " every ", " hours. Made by @", "" },
	{ "A bot that posts ", " pictures every ", " hours. by @", "" },
	{ "Automated account: a new ", " every ", " hours. Maintained by @", "" },
	{ "Tweets a generated ", " every ", " hours (bot by @", ")" },
	{ "Fresh ", " updates, posted automatically every ", " hours. Code by @", "" },
	{ "A new ", " every ", " hours. Questions to @", "" },
	{ "Posting one ", " every ", " hours since 2016. Run by @", "" },
};
/* Humans who say "bot" in their bio (bot makers, researchers): cresci-2017's
 * genuine accounts do so about as often as its bots. */
static const char *const bios_human_botmaker[] = {
	"I make silly twitter bots and coffee", "bot maker, artist, she/her",
	"researching social bots and misinformation", "engineer. I build chat bots for a living",
};
static const char *const sd_apps[] = { "Cheap Bots, Done Quick!", "botsin.space", "tracery-bot",
				       "my-bot-script", "Twitter API client" };

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define PICK(s, a) ((a)[clf_rand_next(s) % NELEM(a)])

/* ---- profiles ----------------------------------------------------------------- */

/* A person's bio: 8 % empty, else a role, two interests, often a place and a
 * tagline, in one of four layouts. */
static void compose_human_bio(uint64_t *s, char *buf, size_t cap)
{
	const char *r = PICK(s, bio_roles), *i1 = PICK(s, bio_interests), *i2 = PICK(s, bio_interests);
	const char *pl = unif(s) < 0.6 ? PICK(s, bio_places) : "", *t = PICK(s, bio_taglines);
	if (unif(s) < 0.08) {
		buf[0] = 0;
		return;
	}
	switch (clf_rand_next(s) % 4) {
	case 0:
		snprintf(buf, cap, "%s %s | %s | %s. %s", r, pl, i1, i2, t);
		break;
	case 1:
		snprintf(buf, cap, "%s, %s and %s %s. %s", r, i1, i2, pl, t);
		break;
	case 2:
		snprintf(buf, cap, "I tweet about %s and %s. %s %s", i1, i2, r, pl);
		break;
	default:
		snprintf(buf, cap, "%s. %s lover, %s nerd. %s", r, i1, i2, t);
		break;
	}
}

static void make_handle(struct acct *a, bool botlike)
{
	uint64_t *s = &a->rng;
	const char *fn = PICK(s, first_names), *ln = PICK(s, last_names);
	if (botlike) {
		char letters[9];
		int n = rint_(s, 4, 8);
		for (int i = 0; i < n; i++)
			letters[i] = (char)('a' + rint_(s, 0, 25));
		letters[n] = '\0';
		snprintf(a->screen, sizeof(a->screen), "%s%d", letters, rint_(s, 1000, 99999999));
		snprintf(a->name, sizeof(a->name), "%s %c", fn, 'A' + rint_(s, 0, 25));
		return;
	}
	int style = rint_(s, 0, 3);
	if (style == 0)
		snprintf(a->screen, sizeof(a->screen), "%s%s", fn, ln);
	else if (style == 1)
		snprintf(a->screen, sizeof(a->screen), "%s_%s", fn, ln);
	else if (style == 2)
		snprintf(a->screen, sizeof(a->screen), "%s%d", fn, rint_(s, 1, 99));
	else
		snprintf(a->screen, sizeof(a->screen), "%c%s", fn[0], ln);
	snprintf(a->name, sizeof(a->name), "%s %s", fn, ln);
}

/* A self-declared bot's handle, name and bio. Not every one says so
 * everywhere: about half put "bot" in the handle, a third in the name,
 * three quarters declare in the bio (the rest only describe the output). */
static void make_self_declared(struct acct *a)
{
	uint64_t *s = &a->rng;
	const char *t1 = PICK(s, sd_topics), *t2 = PICK(s, sd_topics);
	double u = unif(s);
	char maker[24];
	if (u < 0.25)
		snprintf(a->screen, sizeof(a->screen), "%s%sbot", t1, t2);
	else if (u < 0.4)
		snprintf(a->screen, sizeof(a->screen), "%s_bot", t1);
	else if (u < 0.5)
		snprintf(a->screen, sizeof(a->screen), "%c%s%c%sBot", t1[0] - 32, t1 + 1, t2[0] - 32, t2 + 1);
	else if (u < 0.75)
		snprintf(a->screen, sizeof(a->screen), "%s_%s", t1, t2);
	else
		snprintf(a->screen, sizeof(a->screen), "every%s", t1);
	snprintf(a->name, sizeof(a->name), unif(s) < 0.35 ? "%c%s %s bot" : "%c%s %s", t1[0] - 32, t1 + 1, t2);
	snprintf(maker, sizeof(maker), "%s%s", PICK(s, first_names), PICK(s, last_names));
	a->period_h = 1 << rint_(s, 0, 3);
	const char *const *b = sd_bios[clf_rand_next(s) % NELEM(sd_bios)];
	snprintf(a->desc, sizeof(a->desc), "%s%s%s%d%s%s%s", b[0], t1, b[1], a->period_h, b[2], maker, b[3]);
}

static void finish_profile(struct acct *a, int64_t end_ms, double age_days);

static void make_profile(struct acct *a, int64_t end_ms)
{
	uint64_t *s = &a->rng;
	double age_days;
	bool botlike_name = false;
	const char *bio;
	a->utc_off_h = rint_(s, -8, 3);
	a->default_profile = unif(s) < 0.2;
	switch (a->kind) {
	case K_HUMAN: {
		double u = unif(s);
		a->style = u < 0.45 ? H_PERSONAL : u < 0.6 ? H_ORG : u < 0.7 ? H_NEWS
			 : u < 0.82 ? H_RETWEETER : H_LOW;
		age_days = 365 * (0.5 + 11 * unif(s));
		a->followers = (int64_t)lognorm(s, 250, 1.5);
		a->friends = (int64_t)lognorm(s, 300, 1.0);
		a->favourites = (int64_t)lognorm(s, 1500, 1.8);
		if (a->style == H_ORG || a->style == H_NEWS)
			a->followers = (int64_t)lognorm(s, 5000, 2.0);
		if (unif(s) < 0.01) /* a person who talks about bots, in a bio of their own */
			snprintf(a->desc, sizeof(a->desc), "%s. %s %s", PICK(s, bios_human_botmaker),
				 PICK(s, bio_interests), PICK(s, bio_places));
		else
			compose_human_bio(s, a->desc, sizeof(a->desc));
		make_handle(a, false);
		finish_profile(a, end_ms, age_days);
		return;
	}
	case K_SELF_DECLARED:
		age_days = 365 * (0.3 + 8 * unif(s));
		a->followers = (int64_t)lognorm(s, 300, 1.8);
		a->friends = (int64_t)lognorm(s, 3, 1.5);
		a->favourites = (int64_t)lognorm(s, 2, 1.5);
		make_self_declared(a);
		finish_profile(a, end_ms, age_days);
		return;
	case K_SCHEDULED:
		age_days = 365 * (0.5 + 5 * unif(s));
		a->followers = (int64_t)lognorm(s, 400, 1.6);
		a->friends = (int64_t)lognorm(s, 80, 1.5);
		a->favourites = (int64_t)lognorm(s, 5, 2.0);
		bio = PICK(s, bios_bot);
		break;
	case K_SPAMMER:
		age_days = 365 * (0.1 + 3 * unif(s));
		a->followers = (int64_t)lognorm(s, 60, 1.5);
		a->friends = (int64_t)lognorm(s, 1500, 1.0);
		a->favourites = (int64_t)lognorm(s, 20, 2.0);
		botlike_name = unif(s) < 0.6;
		bio = PICK(s, bios_bot);
		break;
	case K_FAKE_FOLLOWER:
		age_days = 365 * (0.1 + 2 * unif(s));
		a->followers = (int64_t)lognorm(s, 8, 1.5);
		a->friends = (int64_t)lognorm(s, 800, 0.8);
		a->favourites = (int64_t)lognorm(s, 3, 1.5);
		a->default_profile = unif(s) < 0.7;
		botlike_name = unif(s) < 0.6;
		bio = unif(s) < 0.7 ? "" : PICK(s, bios_bot);
		break;
	default: /* amplifier, coordinated: social bots that imitate humans */
		age_days = 365 * (0.2 + 2.5 * unif(s));
		a->followers = (int64_t)lognorm(s, 120, 1.3);
		a->friends = (int64_t)lognorm(s, 400, 1.0);
		a->favourites = (int64_t)lognorm(s, 200, 1.8);
		if (a->kind == K_COORDINATED && a->group >= 0) {
			const char *const *t = bios_group[(size_t)a->group % NELEM(bios_group)];
			snprintf(a->desc, sizeof(a->desc), "%s%d%s", t[0], rint_(s, 2, 99), t[1]);
		} else if (unif(s) < 0.5) {
			compose_human_bio(s, a->desc, sizeof(a->desc)); /* imitates a person */
		} else {
			snprintf(a->desc, sizeof(a->desc), "%s", PICK(s, bios_bot));
		}
		make_handle(a, false);
		finish_profile(a, end_ms, age_days);
		return;
	}
	make_handle(a, botlike_name);
	snprintf(a->desc, sizeof(a->desc), "%s", bio);
	finish_profile(a, end_ms, age_days);
}

/* What every kind shares: creation time, listings, imitation, source apps. */
static void finish_profile(struct acct *a, int64_t end_ms, double age_days)
{
	uint64_t *s = &a->rng;
	a->created_ms = end_ms - (int64_t)(age_days * DAY_MS);
	a->listed = (int64_t)(a->followers * 0.01 * unif(s));
	/* a third of scheduled and spam bots imitate humans (Cresci 2017): human
	 * client names, jittered circadian timing, varied vocabulary */
	if ((a->kind == K_SCHEDULED || a->kind == K_SPAMMER) && unif(s) < 0.3)
		a->style = 1;
	a->max_posts = a->kind == K_HUMAN && a->style == H_LOW ? rint_(s, 3, 25) : 0;
	a->n_apps = a->kind == K_HUMAN ? rint_(s, 1, 3) : 1;
	for (int i = 0; i < a->n_apps; i++)
		a->apps[i] = a->kind == K_HUMAN ? rint_(s, 0, (int)NELEM(human_apps) - 1)
						: rint_(s, 0, (int)NELEM(bot_apps) - 1);
	if (a->kind == K_AMPLIFIER || a->kind == K_COORDINATED || a->kind == K_FAKE_FOLLOWER)
		a->apps[0] = rint_(s, 0, 1); /* mobile apps, like humans (Cresci 2017) */
	if (a->kind != K_HUMAN && a->style)
		a->apps[0] = rint_(s, 0, (int)NELEM(human_apps) - 1);
	if (a->kind == K_SELF_DECLARED)
		a->apps[0] = rint_(s, 0, (int)NELEM(sd_apps) - 1);
}

/* ---- post times ---------------------------------------------------------------- */

/* Relative human activity by local hour (low 2-6 am, evening peak); after
 * Golder & Macy 2011 (Twitter diurnal activity). */
static const double circadian[24] = { 0.45, 0.3, 0.15, 0.08, 0.06, 0.08, 0.2, 0.45,
				      0.65, 0.75, 0.8, 0.85, 0.9, 0.85, 0.8, 0.8,
				      0.85, 0.9, 0.95, 1.0, 1.0, 0.95, 0.8, 0.6 };

static int local_hour(int64_t t, int off)
{
	int64_t h = (t / 3600000 + off) % 24;
	return (int)(h < 0 ? h + 24 : h);
}

static int add_post(struct plist *l, uint32_t ai, int64_t t, int type, uint32_t target,
		    uint32_t campaign)
{
	struct spost p = { t, ai, 0, type, target, campaign };
	return push(l, &p);
}

/* Share of retweets and of replies (the rest are originals) per human style. */
static const double human_rt[] = { 0.25, 0.05, 0.05, 0.75, 0.25 };
static const double human_reply[] = { 0.25, 0.55, 0.05, 0.1, 0.25 };
/* Median minimum gap (s) of the Pareto law per human style. */
static const double human_gap[] = { 90, 600, 300, 60, 3 * 3600 };

/* Is local hour h a working hour (organisations post 8-18 on weekdays)? */
static bool work_time(int64_t t, int off)
{
	int h = local_hour(t, off);
	int64_t day = (t / DAY_MS + 4) % 7; /* 0 = Sunday (1970-01-01 was a Thursday) */
	return h >= 8 && h < 18 && day != 0 && day != 6;
}

/* Humans: Pareto (heavy-tailed) gaps thinned by the circadian curve; the
 * style sets the mix of post types, the gap scale and the schedule. */
static int times_human(struct acct *a, uint32_t ai, int64_t end, int max, struct plist *l,
		       size_t n_acc)
{
	uint64_t *s = &a->rng;
	double tmin = lognorm(s, human_gap[a->style], 1.0), t = (double)end - unif(s) * 3 * DAY_MS;
	int n = 0;
	if (a->max_posts > 0 && a->max_posts < max)
		max = a->max_posts;
	while (n < max && t > (double)a->created_ms) {
		double gap = tmin * pow(unif(s), -1.0 / 1.2);
		t -= 1000 * (gap < 30 * 86400.0 ? gap : 30 * 86400.0);
		double c = circadian[local_hour((int64_t)t, a->utc_off_h)];
		if (a->style == H_NEWS) /* newsrooms post around the clock, flatter curve */
			c = 0.5 + 0.5 * c;
		if (a->style == H_ORG && !work_time((int64_t)t, a->utc_off_h))
			c *= 0.1;
		if (unif(s) > c)
			continue;
		double u = unif(s);
		int type = u < human_rt[a->style] ? 1 : u < human_rt[a->style] + human_reply[a->style] ? 2 : 0;
		uint32_t target = unif(s) < 0.6 ? (uint32_t)(n_acc + clf_rand_next(s) % N_CELEB)
						: (uint32_t)(clf_rand_next(s) % n_acc);
		if (add_post(l, ai, (int64_t)t, type, target, 0))
			return BW_ENOMEM;
		n++;
	}
	return 0;
}

/* Bot kinds other than coordinated (which shares a group schedule). */
static int times_bot(struct acct *a, uint32_t ai, int64_t end, int max, struct plist *l,
		     size_t n_acc)
{
	uint64_t *s = &a->rng;
	double t = (double)end - unif(s) * DAY_MS, period = 60000.0 * (double)(15 << rint_(s, 0, 4));
	double mean_gap = 60000 * lognorm(s, 15, 0.7);
	uint32_t fav_target = (uint32_t)(n_acc + clf_rand_next(s) % N_CELEB);
	int n = 0, burst = 0, nmax = a->kind == K_FAKE_FOLLOWER ? rint_(s, 0, 6) : max;
	while (n < nmax && t > (double)a->created_ms) {
		int type = 0;
		uint32_t target = 0;
		switch (a->kind) {
		case K_SCHEDULED:
			if (a->style) /* imitator: jittered period, quiet at night */
				t -= period * lognorm(s, 1.0, 0.6);
			else
				t -= period + 30000 * (2 * unif(s) - 1);
			if (unif(s) < 0.05)
				continue; /* a skipped slot */
			if (a->style && unif(s) > circadian[local_hour((int64_t)t, a->utc_off_h)])
				continue;
			type = unif(s) < 0.05;
			target = fav_target;
			break;
		case K_SELF_DECLARED: /* on the hour its bio names, a minute or two late */
			t -= 3600000.0 * a->period_h + 60000 * (2 * unif(s) - 1);
			if (unif(s) < 0.03)
				continue; /* a missed run */
			break;
		case K_AMPLIFIER:
			if (burst-- > 0) {
				t -= 1000 * (10 + 80 * unif(s));
			} else {
				burst = rint_(s, 2, 8);
				t -= -log(unif(s)) * 3 * 3600000.0;
			}
			type = unif(s) < 0.9;
			target = unif(s) < 0.7 ? fav_target
					       : (uint32_t)(n_acc + clf_rand_next(s) % N_CELEB);
			break;
		case K_SPAMMER:
			t -= -log(unif(s)) * mean_gap;
			if (a->style && unif(s) > circadian[local_hour((int64_t)t, a->utc_off_h)])
				continue;
			type = unif(s) < 0.1 ? 2 : 0;
			target = (uint32_t)(clf_rand_next(s) % n_acc);
			break;
		default: /* fake follower: a handful of posts over the account's life */
			t = (double)a->created_ms + unif(s) * (double)(end - a->created_ms);
			type = unif(s) < 0.5;
			target = (uint32_t)(n_acc + clf_rand_next(s) % N_CELEB);
			break;
		}
		if (add_post(l, ai, (int64_t)t, type, target, 0))
			return BW_ENOMEM;
		n++;
	}
	return 0;
}

/* Coordinated group: members act on shared campaign events with short,
 * lognormal delays (DeBot's synchronised bots). */
static int times_group(struct acct *acc, const uint32_t *members, size_t nm, uint64_t gseed,
		       int64_t end, int max, struct plist *l, size_t n_acc)
{
	uint64_t gs = gseed;
	double t = (double)end - unif(&gs) * DAY_MS;
	int *count = calloc(nm, sizeof(int));
	if (!count)
		return BW_ENOMEM;
	for (uint32_t ev = 1; ev < 100000; ev++) {
		t -= -log(unif(&gs)) * 2 * 3600000.0;
		int type = unif(&gs) < 0.5;
		uint32_t target = (uint32_t)(n_acc + clf_rand_next(&gs) % N_CELEB);
		bool any = false;
		for (size_t k = 0; k < nm; k++) {
			struct acct *a = &acc[members[k]];
			if (count[k] >= max || t < (double)a->created_ms)
				continue;
			any = true;
			if (unif(&a->rng) > 0.8)
				continue;
			int64_t tt = (int64_t)t + (int64_t)(1000 * lognorm(&a->rng, 30, 1.0));
			if (tt > end)
				continue;
			if (add_post(l, members[k], tt, type, target, ev)) {
				free(count);
				return BW_ENOMEM;
			}
			count[k]++;
		}
		if (!any)
			break;
	}
	free(count);
	return 0;
}

/* ---- rendering ------------------------------------------------------------------ */

#define TWEPOCH 1288834974657LL

/* Text under construction with its entities. */
struct tbuf {
	char s[560];          /* text */
	size_t n;             /* bytes used */
	json_t *tags, *urls, *ments; /* entity arrays */
};

static void tb_add(struct tbuf *b, const char *w)
{
	int k = snprintf(b->s + b->n, sizeof(b->s) - b->n, "%s%s", b->n ? " " : "", w);
	if (k > 0 && b->n + (size_t)k < sizeof(b->s))
		b->n += (size_t)k;
}

static void tb_words(struct tbuf *b, uint64_t *s, int lo, int hi, bool spam)
{
	int n = rint_(s, lo, hi);
	for (int i = 0; i < n; i++)
		tb_add(b, spam ? PICK(s, spam_words) : PICK(s, words));
}

static void tb_tag(struct tbuf *b, const char *tag)
{
	char w[48];
	snprintf(w, sizeof(w), "#%s", tag);
	size_t at = b->n + (b->n ? 1 : 0);
	tb_add(b, w);
	json_array_append_new(b->tags, json_pack("{s:s, s:[i,i]}", "text", tag, "indices", (int)at,
						 (int)(at + strlen(w))));
}

static void tb_url(struct tbuf *b, uint64_t *s)
{
	char shortu[40], longu[96];
	snprintf(shortu, sizeof(shortu), "https://t.co/%08llx",
		 (unsigned long long)(clf_rand_next(s) & 0xffffffffULL));
	snprintf(longu, sizeof(longu), "https://%s/%llu", PICK(s, domains),
		 (unsigned long long)(clf_rand_next(s) % 1000000));
	size_t at = b->n + (b->n ? 1 : 0);
	tb_add(b, shortu);
	json_array_append_new(b->urls, json_pack("{s:s, s:s, s:s, s:[i,i]}", "url", shortu,
						 "expanded_url", longu, "display_url", longu + 8,
						 "indices", (int)at, (int)(at + strlen(shortu))));
}

static void tb_mention(struct tbuf *b, const char *screen, const char *name, uint64_t id)
{
	char w[40], ids[24];
	snprintf(w, sizeof(w), "@%s", screen);
	snprintf(ids, sizeof(ids), "%llu", (unsigned long long)id);
	size_t at = b->n + (b->n ? 1 : 0);
	tb_add(b, w);
	json_array_append_new(b->ments, json_pack("{s:s, s:s, s:I, s:s, s:[i,i]}", "screen_name",
						  screen, "name", name, "id", (json_int_t)id,
						  "id_str", ids, "indices", (int)at,
						  (int)(at + strlen(w))));
}

static json_t *time_str(int64_t ms)
{
	static const char *const wd[] = { "Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed" };
	static const char *const mo[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	char iso[40], out[40];
	int64_t days = ms >= 0 ? ms / DAY_MS : -((-ms + DAY_MS - 1) / DAY_MS);
	bw_time_format(ms - ms % 1000, iso, sizeof(iso)); /* YYYY-MM-DDTHH:MM:SSZ */
	int m = (iso[5] - '0') * 10 + (iso[6] - '0');
	snprintf(out, sizeof(out), "%s %s %.2s %.8s +0000 %.4s", wd[((days % 7) + 7) % 7],
		 mo[(m - 1) % 12], iso + 8, iso + 11, iso);
	return json_string(out);
}

static json_t *user_json(const char *screen, const char *name, const char *desc, uint64_t id,
			 int64_t created, int64_t followers, int64_t friends, int64_t listed,
			 int64_t favs, int64_t statuses, int def)
{
	char ids[24];
	snprintf(ids, sizeof(ids), "%llu", (unsigned long long)id);
	json_t *u = json_pack("{s:I, s:s, s:s, s:s, s:s, s:n, s:b, s:I, s:I, s:I}", "id",
			      (json_int_t)id, "id_str", ids, "name", name, "screen_name", screen,
			      "description", desc, "url", "protected", 0, "followers_count",
			      (json_int_t)followers, "friends_count", (json_int_t)friends,
			      "listed_count", (json_int_t)listed);
	json_object_set_new(u, "created_at", time_str(created));
	json_object_set_new(u, "favourites_count", json_integer(favs));
	json_object_set_new(u, "verified", json_false());
	json_object_set_new(u, "statuses_count", json_integer(statuses));
	json_object_set_new(u, "lang", json_null());
	json_object_set_new(u, "default_profile", json_boolean(def));
	json_object_set_new(u, "default_profile_image", json_false());
	json_object_set_new(u, "geo_enabled", json_false());
	return u;
}

/* Unlabelled popular account c (retweeted and replied to). */
static json_t *celeb_json(uint32_t c, int64_t end)
{
	char screen[24], name[48];
	snprintf(screen, sizeof(screen), "%s%s", first_names[c % NELEM(first_names)],
		 c % 2 ? "News" : "Official");
	snprintf(name, sizeof(name), "%s %s", first_names[c % NELEM(first_names)],
		 last_names[c % NELEM(last_names)]);
	return user_json(screen, name, "Official account", USER_ID_BASE + 900000 + c,
			 end - (int64_t)(3000 + 37 * c) * DAY_MS, 100000 + 7919 * (int64_t)c * 31,
			 500 + 13 * c, 900 + c, 2000, 20000 + 101 * c, 0);
}

/* Everything rendering needs. */
struct sim {
	const struct clf_sim_opts *o; /* options */
	struct acct *acc;             /* accounts */
	size_t n;                     /* account count */
};

/* The text of an original post by account a. */
static void original_text(const struct sim *sm, const struct acct *a, const struct spost *p,
			  uint64_t *s, struct tbuf *b)
{
	if ((a->kind == K_SCHEDULED || a->kind == K_SPAMMER) && a->style) {
		tb_words(b, s, 4, 18, false); /* imitator: human-like text, still a link */
		if (unif(s) < 0.3)
			tb_tag(b, PICK(s, hashtags));
		if (unif(s) < 0.2)
			tb_add(b, PICK(s, emoji) + 1);
		tb_url(b, s);
		return;
	}
	switch (a->kind) {
	case K_SCHEDULED:
		tb_words(b, s, 5, 10, false);
		if (unif(s) < 0.5)
			tb_tag(b, "news");
		tb_url(b, s);
		break;
	case K_SPAMMER:
		tb_words(b, s, 3, 7, true);
		tb_url(b, s);
		for (int k = rint_(s, 1, 3); k > 0; k--)
			tb_tag(b, PICK(s, hashtags));
		if (unif(s) < 0.4) {
			const struct acct *t = &sm->acc[p->target % sm->n];
			tb_mention(b, t->screen, t->name, t->id);
		}
		break;
	case K_SELF_DECLARED: { /* one template per account, slots filled per post */
		uint64_t ts = a->id * 0x9e3779b97f4a7c15ULL;
		tb_words(b, &ts, 2, 4, false);
		tb_words(b, s, 2, 5, false);
		if (unif(&ts) < 0.5) {
			char num[16];
			snprintf(num, sizeof(num), "%d", rint_(s, 0, 100));
			tb_add(b, num);
		}
		if (unif(s) < 0.15)
			tb_url(b, s);
		break;
	}
	case K_COORDINATED: { /* the campaign's shared text */
		uint64_t cs = sm->o->seed * 7919 + (uint64_t)a->group * 104729 + p->campaign;
		tb_words(b, &cs, 6, 12, false);
		tb_tag(b, PICK(&cs, hashtags));
		tb_url(b, &cs);
		break;
	}
	default:
		tb_words(b, s, 4, 18, false);
		if (unif(s) < 0.1)
			tb_tag(b, PICK(s, hashtags));
		if (unif(s) < (a->kind != K_HUMAN ? 0.15 : a->style == H_NEWS ? 0.9
						       : a->style == H_ORG ? 0.6 : 0.15))
			tb_url(b, s);
		if (unif(s) < 0.2)
			tb_add(b, PICK(s, emoji) + 1);
		break;
	}
}

/* The retweeted original (by an unlabelled popular account). */
static json_t *retweeted(const struct sim *sm, const struct spost *p, uint64_t *s, json_t **text)
{
	uint32_t c = p->target >= sm->n ? (uint32_t)(p->target - sm->n) % N_CELEB : p->target % N_CELEB;
	uint64_t os = p->campaign ? sm->o->seed * 31 + p->campaign * 131 + c : clf_rand_next(s);
	int64_t t0 = p->t - (int64_t)(1000 * lognorm(&os, p->campaign ? 60 : 3600, 1.0));
	struct tbuf b = { .tags = json_array(), .urls = json_array(), .ments = json_array() };
	tb_words(&b, &os, 5, 15, false);
	if (unif(&os) < 0.3)
		tb_url(&b, &os);
	char ids[24];
	uint64_t id = ((uint64_t)(t0 - TWEPOCH) << 22) | 0x200000u | c;
	snprintf(ids, sizeof(ids), "%llu", (unsigned long long)id);
	json_t *o = json_pack("{s:o, s:I, s:s, s:s, s:s}", "created_at", time_str(t0), "id",
			      (json_int_t)id, "id_str", ids, "text", b.s, "source",
			      "<a href=\"https://mobile.twitter.com\" rel=\"nofollow\">Twitter Web App</a>");
	json_object_set_new(o, "user", celeb_json(c, sm->o->end_ms));
	json_object_set_new(o, "entities", json_pack("{s:o, s:o, s:o}", "hashtags", b.tags, "urls",
						     b.urls, "user_mentions", b.ments));
	json_object_set_new(o, "retweet_count", json_integer(rint_(&os, 1, 5000)));
	json_object_set_new(o, "favorite_count", json_integer(rint_(&os, 0, 20000)));
	json_object_set_new(o, "lang", json_string("en"));
	*text = json_string(b.s);
	return o;
}

static json_t *render_post(const struct sim *sm, const struct spost *p, size_t gidx)
{
	const struct acct *a = &sm->acc[p->acct];
	uint64_t s = sm->o->seed ^ (a->id * 0x9e3779b97f4a7c15ULL) ^ ((uint64_t)p->seq << 20);
	struct tbuf b = { .tags = json_array(), .urls = json_array(), .ments = json_array() };
	char ids[24], src[160];
	uint64_t id = ((uint64_t)(p->t - TWEPOCH) << 22) | (gidx & 0x1FFFFF);
	json_t *o = json_object(), *rt = NULL, *rttext = NULL;

	snprintf(ids, sizeof(ids), "%llu", (unsigned long long)id);
	json_object_set_new(o, "created_at", time_str(p->t));
	json_object_set_new(o, "id", json_integer((json_int_t)id));
	json_object_set_new(o, "id_str", json_string(ids));
	if (p->type == 1) {
		rt = retweeted(sm, p, &s, &rttext);
		const char *cs = json_string_value(json_object_get(json_object_get(rt, "user"),
								   "screen_name"));
		char head[600];
		snprintf(head, sizeof(head), "RT @%s: %s", cs, json_string_value(rttext));
		json_object_set_new(o, "text", json_string(head));
		json_decref(rttext);
		tb_mention(&b, cs, cs, (uint64_t)json_integer_value(json_object_get(
					       json_object_get(rt, "user"), "id")));
	} else {
		if (p->type == 2) { /* reply: to a labelled account or a popular one */
			bool lab = p->target < sm->n;
			const char *ts = lab ? sm->acc[p->target].screen : "news";
			uint64_t tid = lab ? sm->acc[p->target].id : USER_ID_BASE + 900000 + p->target % N_CELEB;
			tb_mention(&b, ts, ts, tid);
			char pid[24], uid[24];
			snprintf(pid, sizeof(pid), "%llu", (unsigned long long)(id - 4096 * (1 + s % 997)));
			snprintf(uid, sizeof(uid), "%llu", (unsigned long long)tid);
			json_object_set_new(o, "in_reply_to_status_id_str", json_string(pid));
			json_object_set_new(o, "in_reply_to_user_id_str", json_string(uid));
			json_object_set_new(o, "in_reply_to_screen_name", json_string(ts));
		}
		original_text(sm, a, p, &s, &b);
		json_object_set_new(o, "text", json_string(b.s));
	}
	bool pro = a->kind == K_HUMAN && (a->style == H_ORG || a->style == H_NEWS) && p->type == 0;
	const char *app = pro ? pro_apps[(a->id + (uint64_t)(clf_rand_next(&s) % 2)) % NELEM(pro_apps)]
			  : a->kind == K_HUMAN || a->kind == K_AMPLIFIER || a->kind == K_COORDINATED ||
					  a->kind == K_FAKE_FOLLOWER || a->style
				  ? human_apps[a->apps[clf_rand_next(&s) % (uint64_t)a->n_apps]]
			  : a->kind == K_SELF_DECLARED ? sd_apps[a->apps[0]]
						       : bot_apps[a->apps[0]];
	snprintf(src, sizeof(src), "<a href=\"https://example.com/app\" rel=\"nofollow\">%s</a>", app);
	json_object_set_new(o, "source", json_string(src));
	json_object_set_new(o, "truncated", json_false());
	json_object_set_new(o, "user", user_json(a->screen, a->name, a->desc, a->id, a->created_ms,
						 a->followers, a->friends, a->listed, a->favourites,
						 a->statuses0 + p->seq + 1, a->default_profile));
	if (rt)
		json_object_set_new(o, "retweeted_status", rt);
	json_object_set_new(o, "entities", json_pack("{s:o, s:o, s:o}", "hashtags", b.tags, "urls",
						     b.urls, "user_mentions", b.ments));
	json_object_set_new(o, "retweet_count", json_integer(0));
	json_object_set_new(o, "favorite_count", json_integer(rint_(&s, 0, 3)));
	json_object_set_new(o, "lang", json_string("en"));
	return o;
}

static int cmp_post(const void *x, const void *y)
{
	const struct spost *p = x, *q = y;
	if (p->t != q->t)
		return p->t < q->t ? -1 : 1;
	return p->acct < q->acct ? -1 : p->acct > q->acct;
}

/* Assign kinds (shuffled so ids carry no class), profiles and groups. */
static struct acct *make_accounts(const struct clf_sim_opts *o, size_t *n_groups)
{
	size_t n = o->accounts, nb = (size_t)(o->bot_share * (double)n + 0.5);
	struct acct *acc = calloc(n, sizeof(*acc));
	uint64_t s = o->seed;
	if (!acc)
		return NULL;
	for (size_t i = 0; i < n; i++)
		acc[i].kind = i < nb ? 1 + (int)(i % (N_KINDS - 1)) : K_HUMAN;
	for (size_t i = n; i > 1; i--) {
		size_t j = (size_t)(clf_rand_next(&s) % i);
		int t = acc[i - 1].kind;
		acc[i - 1].kind = acc[j].kind;
		acc[j].kind = t;
	}
	size_t in_group = 0, g = 0;
	for (size_t i = 0; i < n; i++) {
		struct acct *a = &acc[i];
		a->id = USER_ID_BASE + 1000 + i * 7 + (clf_rand_next(&s) % 7);
		a->rng = o->seed * 0x2545F4914F6CDD1DULL + a->id;
		a->group = -1;
		if (a->kind == K_COORDINATED) {
			a->group = (int)g;
			if (++in_group == 10) {
				in_group = 0;
				g++;
			}
		}
		make_profile(a, o->end_ms);
		a->statuses0 = (int64_t)lognorm(&a->rng, a->kind == K_FAKE_FOLLOWER ? 5 : 3000, 1.3);
	}
	*n_groups = g + (in_group ? 1 : 0);
	for (size_t i = 0; i < n; i++) /* a group's accounts were created in one burst */
		if (acc[i].group >= 0)
			acc[i].created_ms = o->end_ms - (int64_t)(200 + 20 * acc[i].group) * DAY_MS -
					    (int64_t)(unif(&acc[i].rng) * 3 * DAY_MS);
	return acc;
}

static int gen_posts(const struct sim *sm, size_t n_groups, struct plist *l)
{
	int rc = 0;
	uint32_t *members = malloc((sm->n ? sm->n : 1) * sizeof(uint32_t));
	if (!members)
		return BW_ENOMEM;
	for (size_t i = 0; i < sm->n && !rc; i++) {
		struct acct *a = &sm->acc[i];
		if (a->kind == K_HUMAN)
			rc = times_human(a, (uint32_t)i, sm->o->end_ms, sm->o->max_posts, l, sm->n);
		else if (a->kind != K_COORDINATED)
			rc = times_bot(a, (uint32_t)i, sm->o->end_ms, sm->o->max_posts, l, sm->n);
	}
	for (size_t g = 0; g < n_groups && !rc; g++) {
		size_t nm = 0;
		for (size_t i = 0; i < sm->n; i++)
			if (sm->acc[i].group == (int)g)
				members[nm++] = (uint32_t)i;
		rc = times_group(sm->acc, members, nm, sm->o->seed * 1000 + g, sm->o->end_ms,
				 sm->o->max_posts, l, sm->n);
	}
	free(members);
	return rc;
}

static int write_labels(const struct sim *sm, const char *path, struct clf_sim_stats *st,
			char *errstr, size_t errlen)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return bw_seterr(errstr, errlen, BW_EIO, "cannot write %s", path);
	fprintf(f, "user_id,label,class\n");
	for (size_t i = 0; i < sm->n; i++) {
		const struct acct *a = &sm->acc[i];
		/* label noise: 3 % of the labels are wrong, as annotations of real
		 * datasets are; a mislabelled human gets a bot kind as its class */
		uint64_t ns = sm->o->seed ^ (a->id * 0xbf58476d1ce4e5b9ULL);
		bool flip = unif(&ns) < 0.03;
		bool bot = (a->kind != K_HUMAN) != flip;
		int cls = !bot ? K_HUMAN : a->kind != K_HUMAN ? a->kind : 1 + (int)(clf_rand_next(&ns) % (N_KINDS - 1));
		fprintf(f, "%llu,%d,%s\n", (unsigned long long)a->id, bot, kind_names[cls]);
		bot ? st->bots++ : st->humans++;
		st->by_class[cls]++;
	}
	if (fclose(f))
		return bw_seterr(errstr, errlen, BW_EIO, "writing %s failed", path);
	return 0;
}

static int write_posts(const struct sim *sm, struct plist *l, const char *path,
		       struct clf_sim_stats *st, char *errstr, size_t errlen)
{
	gzFile gz = gzopen(path, "wb6");
	uint32_t *seq = calloc(sm->n ? sm->n : 1, sizeof(uint32_t));
	int rc = 0;
	if (!gz || !seq) {
		free(seq);
		if (gz)
			gzclose(gz);
		return bw_seterr(errstr, errlen, BW_EIO, "cannot write %s", path);
	}
	qsort(l->v, l->n, sizeof(*l->v), cmp_post);
	for (size_t i = 0; i < l->n && !rc; i++) {
		struct spost *p = &l->v[i];
		p->seq = seq[p->acct]++;
		json_t *o = render_post(sm, p, i);
		char *line = o ? json_dumps(o, JSON_COMPACT) : NULL;
		json_decref(o);
		if (!line) {
			rc = bw_seterr(errstr, errlen, BW_ENOMEM, "out of memory");
			break;
		}
		size_t len = strlen(line);
		if (gzwrite(gz, line, (unsigned)len) != (int)len || gzputc(gz, '\n') != '\n')
			rc = bw_seterr(errstr, errlen, BW_EIO, "writing %s failed", path);
		free(line);
		st->posts++;
	}
	for (size_t i = 0; i < sm->n && !rc; i++) { /* accounts without posts: their profile */
		const struct acct *a = &sm->acc[i];
		if (seq[i])
			continue;
		json_t *o = json_pack("{s:o, s:b}", "user",
				      user_json(a->screen, a->name, a->desc, a->id, a->created_ms,
						a->followers, a->friends, a->listed, a->favourites,
						a->statuses0, a->default_profile),
				      "_profile_only", 1);
		char *line = o ? json_dumps(o, JSON_COMPACT) : NULL;
		json_decref(o);
		if (!line || gzputs(gz, line) < 0 || gzputc(gz, '\n') != '\n')
			rc = bw_seterr(errstr, errlen, BW_EIO, "writing %s failed", path);
		free(line);
	}
	if (gzclose(gz) != Z_OK && !rc)
		rc = bw_seterr(errstr, errlen, BW_EIO, "writing %s failed", path);
	free(seq);
	return rc;
}

int clf_sim_run(const struct clf_sim_opts *o, const char *out_path, const char *labels_path,
		struct clf_sim_stats *stats, char *errstr, size_t errlen)
{
	struct plist l = { 0 };
	size_t n_groups = 0;
	int rc;
	memset(stats, 0, sizeof(*stats));
	if (o->accounts < 1 || o->accounts > 10000000 || !(o->bot_share >= 0 && o->bot_share <= 1) ||
	    o->max_posts < 1 || o->max_posts > 4096)
		return bw_seterr(errstr, errlen, BW_EINVAL,
				 "accounts must be 1..10000000, bot share 0..1, posts 1..4096");
	struct sim sm = { o, make_accounts(o, &n_groups), o->accounts };
	if (!sm.acc)
		return bw_seterr(errstr, errlen, BW_ENOMEM, "out of memory");
	if ((rc = gen_posts(&sm, n_groups, &l))) {
		bw_seterr(errstr, errlen, rc, "out of memory generating posts");
		goto out_free;
	}
	/* the decoder reads the labels' accounts from the dump: keep seq by time */
	if ((rc = write_posts(&sm, &l, out_path, stats, errstr, errlen)))
		goto out_free;
	rc = write_labels(&sm, labels_path, stats, errstr, errlen);
out_free:
	free(l.v);
	free(sm.acc);
	return rc;
}
