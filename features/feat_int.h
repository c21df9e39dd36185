/*
 * feat_int.h — private types shared by the features module's files.
 *
 * Not a public header: only the features module includes it. The public API is feat.h.
 *
 * Layout of the module:
 *   feat_registry.c   the one feature table (built once), lookups, schema hash,
 *                     --list / --markdown writers
 *   feat_sketch.c     bounded summaries: moment sketches with 16-bin histograms,
 *                     exact 8-statistic summaries of arrays, Space-Saving top-K
 *   feat_state.c      struct feat_account: per-post update, dedupe, windows
 *   feat_save.c       serialisation of an account's state
 *   feat_text.c       per-post text analysis (tokens, POS, emoticons, emoji, lexicon)
 *   feat_lexicon.c    closed-class word lists and the hand-built sentiment lexicon
 *   feat_fam_*.c      feature families: each registers its features and extracts them
 */
#ifndef BW_FEAT_INT_H
#define BW_FEAT_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "feat.h"

/* ---- limits (documented in docs/STATE.md) ---------------------------------- */

#define FEAT_WINDOW 10000   /* exact per-post records kept per account (newest) */
#define FEAT_TOPK 32        /* Space-Saving entries per top-K sketch */
#define FEAT_LC_WORDS 16    /* 32-bit words of a linear-counting bitmap (512 bits) */
#define FEAT_NBINS 16       /* histogram bins of a moment sketch */
#define FEAT_MAX_NAMES 8    /* distinct screen names remembered */
#define FEAT_MAX_PAIRS 8    /* items of one post used for co-occurrence edges */
#define FEAT_MAX_STR 1024   /* bytes kept of one profile string */
#define FEAT_MAX_FEATURES 1600

#define FEAT_BIGRAM_N 37
extern const uint32_t feat_bigram_counts[FEAT_BIGRAM_N][FEAT_BIGRAM_N];
extern const uint32_t feat_bigram_total;

/* ---- value scales: how a quantity is binned for median and entropy ---------- */

enum feat_scale {
	SC_COUNT = 0, /* integers: bins 0..14, 15 = 15 and more */
	SC_LOG4,      /* non-negative magnitudes: bin 0 = [0,1), bin k = [4^(k-1), 4^k), 15 = rest */
	SC_UNIT,      /* shares in [0,1]: 16 equal bins */
	SC_SIGNED,    /* scores in [-1,1]: 16 equal bins */
	SC_LIKERT,    /* ratings in [1,9]: 16 equal bins */
	SC_HOUR,      /* hour of day 0..23: 16 bins of 1.5 h */
};

/* The 8 statistics of every distribution, in this order. */
enum { ST_MIN, ST_MAX, ST_MEDIAN, ST_MEAN, ST_STD, ST_SKEW, ST_KURT, ST_ENTROPY, ST__N };
extern const char *const feat_stat_names[ST__N];

int feat_bin(enum feat_scale sc, double v);
/* How a scale bins values, for the docs ("bins ..."); static string. */
const char *feat_scale_doc(enum feat_scale sc);

/* Streaming summary of one quantity: exact n/min/max/mean/std/skew/kurtosis
 * (Pebay's one-pass central moments), histogram for median and entropy. */
struct feat_sketch {
	uint32_t n;                   /* values folded in */
	uint32_t hist[FEAT_NBINS];    /* counts per bin of the quantity's scale */
	double min, max;              /* extremes (0 when n == 0) */
	double mean;                  /* running mean */
	double m2, m3, m4;            /* sums of 2nd..4th powers of deviations */
};

void feat_sketch_add(struct feat_sketch *s, enum feat_scale sc, double v);
/* Write the 8 statistics to out[0..8). */
void feat_sketch_stats(const struct feat_sketch *s, enum feat_scale sc, double *out);
/* Exact 8 statistics of v[0..n) (sorted in place). */
void feat_array_stats(double *v, size_t n, enum feat_scale sc, double *out);

/* Space-Saving top-K of 32-bit keys with a linear-counting distinct estimate. */
struct feat_topk {
	uint16_t n;                       /* entries used */
	uint8_t overflowed;               /* an entry was ever replaced */
	uint8_t pad_;                     /* unused */
	uint32_t lc[FEAT_LC_WORDS];       /* linear-counting bitmap of every key */
	uint64_t total;                   /* total weight added */
	struct {
		uint32_t key;             /* item hash */
		uint32_t count;           /* estimated weight (upper bound once overflowed) */
	} e[FEAT_TOPK];
};

void feat_topk_add(struct feat_topk *t, uint32_t key, uint32_t w);
/* Weight of `key`, or -1 when it is not tracked. */
long feat_topk_find(const struct feat_topk *t, uint32_t key);
/* Distinct keys: exact while never overflowed, else linear counting. */
double feat_topk_distinct(const struct feat_topk *t);
/* Counts of the entries, descending, into out[0..n); returns n. */
size_t feat_topk_counts(const struct feat_topk *t, double *out);
/* Shannon entropy (bits) of the entry weights. */
double feat_topk_entropy(const struct feat_topk *t);

uint32_t feat_hash32(const void *p, size_t len);
uint32_t feat_hash_str(const char *s);            /* 0 for NULL */
uint32_t feat_hash_lower(const char *s);          /* ASCII case-folded hash; 0 for NULL */

/* ---- per-post records ------------------------------------------------------- */

#define RF_KIND_MASK 0x3u      /* 0 original, 1 retweet, 2 reply, 3 quote */
#define RF_MENTION 0x4u
#define RF_HASHTAG 0x8u
#define RF_URL 0x10u
#define RF_MEDIA 0x20u
#define RF_EMBEDDED 0x40u

struct feat_rec {
	int64_t t;        /* event time, ms */
	uint32_t id;      /* hash of the post id */
	uint32_t text;    /* hash of the exact text; 0 = no text */
	uint32_t skel;    /* hash of the normalised text skeleton; 0 = none */
	uint16_t flags;   /* RF_* */
	uint16_t pad_;    /* unused */
};

/* A time-ordered window of records: exact ids for dedupe, newest FEAT_WINDOW. */
struct feat_recwin {
	struct feat_rec *r;  /* sorted by (t, id) */
	uint32_t n;          /* used */
	uint32_t cap;        /* allocated */
	uint64_t evicted;    /* records dropped from the old end */
};

/* ---- friend roles, graphs, per-post quantities ------------------------------ */

/* Accounts this account interacts with, and accounts observed interacting with it. */
enum feat_role_id {
	FR_RETWEETED = 0, /* accounts it retweets (profile known) */
	FR_QUOTED,        /* accounts it quotes */
	FR_RETWEETED_BY,  /* accounts that retweet it */
	FR_QUOTED_BY,     /* accounts that quote it */
	FR_REPLIED_BY,    /* accounts that reply to it */
	FR_MENTIONED_BY,  /* accounts that mention it */
	FR_PROFILED_N,    /* roles above carry the other account's profile */
	FR_MENTIONED = FR_PROFILED_N, /* accounts it mentions (id/handle only) */
	FR_REPLIED_TO,    /* accounts it replies to (id only) */
	FR__N
};

/* Properties of the other account, summarised per profiled role. */
enum feat_fprop {
	FP_AGE_DAYS = 0, FP_FOLLOWERS, FP_FRIENDS, FP_STATUSES, FP_FAVOURITES, FP_LISTED,
	FP_FF_RATIO, FP_SN_LEN, FP_DESC_LEN, FP__N
};

struct feat_role {
	uint64_t interactions;            /* interactions (posts) in this role */
	uint64_t n_profiles;              /* of them with the other's profile */
	uint64_t n_default;               /* other had default_profile true */
	uint64_t n_default_img;           /* other had default_profile_image true */
	uint64_t n_verified;              /* other was verified */
	uint64_t n_same_lang;             /* other's profile lang equals ours */
	struct feat_topk accounts;        /* the other accounts */
	struct feat_topk langs;           /* their profile languages */
	struct feat_sketch props[FP__N];  /* their properties */
};

enum feat_graph_id {
	FG_RETWEET = 0, /* retweeted account + accounts mentioned in retweets */
	FG_MENTION,     /* accounts mentioned */
	FG_REPLY,       /* replied-to account + accounts mentioned in replies */
	FG_QUOTE,       /* quoted account + accounts mentioned in quotes */
	FG_HASHTAG,     /* hashtags */
	FG_INTERACT,    /* every account named by a post */
	FG__N
};

struct feat_graph {
	uint64_t posts;           /* posts contributing at least one node */
	struct feat_topk nodes;   /* node weights (occurrences) */
	struct feat_topk edges;   /* co-occurrence pairs within one post */
	struct feat_topk degree;  /* node -> distinct co-occurring nodes */
};

/* Per-post quantities of the content and sentiment families (X-macro: id, name, scale,
 * class, description). */
#define FEAT_POSTQ(X)                                                                        \
	X(Q_CHARS, "text_chars", SC_LOG4, FEAT_CONTENT, "characters (code points) of the text")  \
	X(Q_WORDS, "words", SC_LOG4, FEAT_CONTENT, "word tokens of the text")                   \
	X(Q_DISTINCT_WORDS, "distinct_word_share", SC_UNIT, FEAT_CONTENT,                       \
	  "distinct words / words (type-token ratio)")                                           \
	X(Q_WORD_ENTROPY, "word_entropy", SC_LOG4, FEAT_CONTENT,                                \
	  "Shannon entropy (bits) of the text's word frequencies")                               \
	X(Q_CHAR_ENTROPY, "char_entropy", SC_LOG4, FEAT_CONTENT,                                \
	  "Shannon entropy (bits) of the text's character frequencies")                          \
	X(Q_WORD_LEN, "mean_word_length", SC_LOG4, FEAT_CONTENT, "mean characters per word")     \
	X(Q_HASHTAGS, "hashtags_per_post", SC_COUNT, FEAT_CONTENT, "hashtags in the post")       \
	X(Q_MENTIONS, "mentions_per_post", SC_COUNT, FEAT_CONTENT, "mentions in the post")       \
	X(Q_URLS, "urls_per_post", SC_COUNT, FEAT_CONTENT, "URLs in the post")                   \
	X(Q_MEDIA, "media_per_post", SC_COUNT, FEAT_CONTENT, "media items in the post")          \
	X(Q_UPPER, "uppercase_share", SC_UNIT, FEAT_CONTENT, "upper-case letters / letters")     \
	X(Q_DIGITS, "digit_share", SC_UNIT, FEAT_CONTENT, "digits / characters")                 \
	X(Q_PUNCT, "punctuation_share", SC_UNIT, FEAT_CONTENT, "ASCII punctuation / characters") \
	X(Q_NONASCII, "nonascii_share", SC_UNIT, FEAT_CONTENT, "non-ASCII characters / characters") \
	X(Q_EXCLAIM, "exclamations", SC_COUNT, FEAT_CONTENT, "'!' characters")                   \
	X(Q_QUESTION, "questions", SC_COUNT, FEAT_CONTENT, "'?' characters")                     \
	X(Q_ELONG, "elongations", SC_COUNT, FEAT_CONTENT,                                        \
	  "runs of 3 or more of the same letter (\"sooo\")")                                     \
	X(Q_STOPWORDS, "stopword_share", SC_UNIT, FEAT_CONTENT,                                 \
	  "closed-class (function) words / words")                                              \
	X(Q_UNBALANCED, "unbalanced_pairs", SC_COUNT, FEAT_CONTENT,                             \
	  "unmatched brackets ( ) [ ] { } and quotes \" \u201c \u201d (emoticon mouths excepted)") \
	X(Q_RT_COUNT, "retweet_count", SC_LOG4, FEAT_CONTENT, "times the post was retweeted, as seen") \
	X(Q_FAV_COUNT, "favorite_count", SC_LOG4, FEAT_CONTENT, "likes of the post, as seen")    \
	X(Q_REPLY_COUNT, "reply_count", SC_LOG4, FEAT_CONTENT, "replies to the post, as seen")   \
	X(Q_QUOTE_COUNT, "quote_count", SC_LOG4, FEAT_CONTENT, "quotes of the post, as seen")    \
	X(Q_POS_NOUN, "pos_noun_share", SC_UNIT, FEAT_CONTENT, "nouns / words (light tagger)")   \
	X(Q_POS_PROPN, "pos_proper_noun_share", SC_UNIT, FEAT_CONTENT,                          \
	  "capitalised non-initial words / words (light tagger)")                                \
	X(Q_POS_VERB, "pos_verb_share", SC_UNIT, FEAT_CONTENT, "verbs / words (light tagger)")   \
	X(Q_POS_ADJ, "pos_adjective_share", SC_UNIT, FEAT_CONTENT, "adjectives / words (light tagger)") \
	X(Q_POS_ADV, "pos_adverb_share", SC_UNIT, FEAT_CONTENT, "adverbs / words (light tagger)") \
	X(Q_POS_PRON, "pos_pronoun_share", SC_UNIT, FEAT_CONTENT, "pronouns / words (light tagger)") \
	X(Q_POS_DET, "pos_determiner_share", SC_UNIT, FEAT_CONTENT,                             \
	  "determiners / words (light tagger)")                                                  \
	X(Q_POS_ADP, "pos_preposition_share", SC_UNIT, FEAT_CONTENT,                            \
	  "prepositions / words (light tagger)")                                                 \
	X(Q_POS_CONJ, "pos_conjunction_share", SC_UNIT, FEAT_CONTENT,                           \
	  "conjunctions / words (light tagger)")                                                 \
	X(Q_POS_INTJ, "pos_interjection_share", SC_UNIT, FEAT_CONTENT,                          \
	  "interjections / words (light tagger)")                                                \
	X(Q_POS_NUM, "pos_numeral_share", SC_UNIT, FEAT_CONTENT, "numerals / words (light tagger)") \
	X(Q_POS_OTHER, "pos_other_share", SC_UNIT, FEAT_CONTENT,                                \
	  "tokens that are not words (hashtags, mentions, URLs, emoji, symbols) / tokens")       \
	X(Q_VALENCE, "valence", SC_LIKERT, FEAT_SENTIMENT,                                      \
	  "mean lexicon valence (1-9) of the post's rated words; 5 when none")                   \
	X(Q_AROUSAL, "arousal", SC_LIKERT, FEAT_SENTIMENT,                                      \
	  "mean lexicon arousal (1-9) of rated words; 5 when none")                              \
	X(Q_DOMINANCE, "dominance", SC_LIKERT, FEAT_SENTIMENT,                                  \
	  "mean lexicon dominance (1-9) of rated words; 5 when none")                            \
	X(Q_HAPPINESS, "happiness", SC_LIKERT, FEAT_SENTIMENT,                                  \
	  "mean lexicon happiness (1-9) of rated words; 5 when none")                            \
	X(Q_POLARITY, "polarity", SC_SIGNED, FEAT_SENTIMENT,                                    \
	  "(positive - negative) / (positive + negative) cues (words, emoticons, emoji); 0 when none") \
	X(Q_POSWORDS, "positive_words", SC_COUNT, FEAT_SENTIMENT, "positive lexicon words")      \
	X(Q_NEGWORDS, "negative_words", SC_COUNT, FEAT_SENTIMENT, "negative lexicon words")      \
	X(Q_COVERAGE, "lexicon_coverage", SC_UNIT, FEAT_SENTIMENT,                              \
	  "rated words / words")                                                                 \
	X(Q_EMO_HAPPY, "emoticon_happy", SC_COUNT, FEAT_SENTIMENT, "happy emoticons :) :-) :D =)") \
	X(Q_EMO_SAD, "emoticon_sad", SC_COUNT, FEAT_SENTIMENT, "sad emoticons :( :-( :'(")       \
	X(Q_EMO_WINK, "emoticon_wink", SC_COUNT, FEAT_SENTIMENT, "winking emoticons ;) ;-)")     \
	X(Q_EMO_TONGUE, "emoticon_tongue", SC_COUNT, FEAT_SENTIMENT, "tongue emoticons :P :p")   \
	X(Q_EMO_SURPRISE, "emoticon_surprise", SC_COUNT, FEAT_SENTIMENT, "surprise emoticons :O :o") \
	X(Q_EMO_HEART, "emoticon_heart", SC_COUNT, FEAT_SENTIMENT, "text hearts <3")             \
	X(Q_EMOJI, "emoji", SC_COUNT, FEAT_SENTIMENT, "emoji of any class")                      \
	X(Q_EJ_FACE_POS, "emoji_face_positive", SC_COUNT, FEAT_SENTIMENT,                        \
	  "smiling/laughing face emoji")                                                         \
	X(Q_EJ_FACE_NEG, "emoji_face_negative", SC_COUNT, FEAT_SENTIMENT,                        \
	  "sad/angry/fearful face emoji")                                                        \
	X(Q_EJ_FACE_NEU, "emoji_face_neutral", SC_COUNT, FEAT_SENTIMENT, "other face emoji")     \
	X(Q_EJ_HEART, "emoji_heart", SC_COUNT, FEAT_SENTIMENT, "heart emoji")                    \
	X(Q_EJ_HAND, "emoji_hand", SC_COUNT, FEAT_SENTIMENT, "hand and gesture emoji")           \
	X(Q_EJ_NATURE, "emoji_nature", SC_COUNT, FEAT_SENTIMENT, "animal, plant and weather emoji") \
	X(Q_EJ_FOOD, "emoji_food", SC_COUNT, FEAT_SENTIMENT, "food and drink emoji")             \
	X(Q_EJ_OBJECT, "emoji_object", SC_COUNT, FEAT_SENTIMENT,                                 \
	  "activity, travel and object emoji")                                                   \
	X(Q_EJ_SYMBOL, "emoji_symbol", SC_COUNT, FEAT_SENTIMENT, "symbol and sign emoji")        \
	X(Q_EJ_FLAG, "emoji_flag", SC_COUNT, FEAT_SENTIMENT, "flag emoji (regional indicator pairs)")

#define FEAT_Q_ENUM(id, name, sc, cls, desc) id,
enum feat_postq { FEAT_POSTQ(FEAT_Q_ENUM) Q__N };
#undef FEAT_Q_ENUM

struct feat_postq_def {
	const char *name;      /* quantity name (after the class prefix) */
	enum feat_scale scale; /* binning */
	enum feat_class cls;   /* content or sentiment */
	const char *desc;      /* one line */
};
extern const struct feat_postq_def feat_postq_defs[Q__N];

/* Text analysis of one post: fills v[Q_CHARS..Q_EJ_FLAG] except the entity and
 * engagement counts (set by the caller). `skel` receives the skeleton hash.
 * 0, or BW_ENOMEM (v then holds an empty text's values, which must not be
 * folded as the post's). */
int feat_text_analyse(const char *text, double *v, uint32_t *skel);

/* A post's text analysis done ahead of its fold (feat_text_analyse() of its
 * text: a pure function of it), e.g. by replay's reader thread, so that the
 * folding thread does not do it again. */
struct feat_text_pre {
	double v[Q__N];   /* per-post quantities as feat_text_analyse() leaves them */
	uint32_t skel;    /* its text-skeleton hash */
};

/* feat_account_update() given the post's text analysis (pre may be NULL:
 * then it is done here). Same result either way (feat_state.c). */
int feat_account_update_pre(struct feat_account *a, const struct bw_post *p,
			    const struct feat_text_pre *pre);

/* Lexicon lookups (feat_lexicon.c). Words are lower-case ASCII/UTF-8. */
enum feat_pos {
	POS_NONE = 0, POS_PRON, POS_DET, POS_ADP, POS_CONJ, POS_INTJ, POS_VERB, POS_ADV, POS_NUM
};
enum feat_pos feat_lex_closed(const char *w, size_t len);
struct feat_vad {
	float v, a, d, h; /* valence, arousal, dominance, happiness (1-9) */
	int8_t pol;       /* +1 positive, -1 negative, 0 neutral */
};
const struct feat_vad *feat_lex_sentiment(const char *w, size_t len);
size_t feat_lex_sentiment_size(void);

/* ---- the account ------------------------------------------------------------ */

/* The latest profile snapshot by event time (strings owned, NULL = absent). */
struct feat_prof {
	int64_t t;             /* event time of the snapshot; BW_TIME_NONE = none */
	int64_t created_at_ms; /* account creation; BW_TIME_NONE if absent */
	int64_t followers, friends, statuses, favourites, listed; /* -1 absent */
	int8_t verified, protected_, default_profile, default_profile_image; /* BW_TRI_* */
	int8_t use_bg, geo_enabled, bot; /* BW_TRI_* */
	char *screen_name, *name, *description, *location, *url, *lang; /* owned */
};

struct feat_account {
	char *user_id;                        /* owned */
	bool broken;                          /* an update failed part-way (out of memory):
					       * the state may be half folded, so every later
					       * update, extract and save refuses it (BW_EINVAL);
					       * the caller drops it and reloads its saved copy */
	bool authored;                        /* any own post or profile record seen */
	struct feat_prof prof;                /* latest snapshot */
	int64_t first_t;                      /* earliest snapshot time, BW_TIME_NONE = none */
	int64_t first_followers, first_friends, first_statuses; /* counts then (-1 absent) */
	uint32_t n_snapshots;                 /* profile snapshots folded in */
	uint8_t n_names;                      /* distinct screen names remembered */
	uint32_t names[FEAT_MAX_NAMES];       /* their case-folded hashes */
	uint64_t posts;                       /* distinct own posts folded in */
	uint64_t late;                        /* posts/observations ignored: older than a full window */
	uint64_t kind[4];                     /* own posts by kind (original..quote) */
	uint64_t n_embedded, n_truncated;     /* own posts flagged so */
	uint64_t with_hashtag, with_mention, with_url, with_media; /* posts with >= 1 */
	uint64_t sum_hashtags, sum_mentions, sum_urls, sum_media;  /* exact totals */
	uint64_t lang_known, lang_match;      /* posts with lang; of them = profile lang */
	uint64_t pos_posts, neg_posts;        /* posts with polarity > 0 / < 0 */
	uint64_t emoji_posts, emoticon_posts; /* posts with >= 1 */
	uint64_t observed;                    /* distinct observing posts folded in */
	struct feat_recwin own;               /* own posts */
	struct feat_recwin obs;               /* observing posts (dedupe only) */
	struct feat_topk sources;             /* source apps */
	struct feat_topk langs;               /* post languages */
	struct feat_topk emoji_classes;       /* emoji classes used (keys = class) */
	struct feat_sketch *postq;            /* [Q__N], NULL until the first post */
	struct feat_role *roles[FR__N];       /* NULL until used */
	struct feat_graph *graphs[FG__N];     /* NULL until used */
};

/* Window helpers (feat_state.c) */
/* Insert `r` unless present (dup) or older than a full window (late); *slot
 * (may be NULL) receives the inserted record. 0 or BW_ENOMEM. */
int feat_recwin_insert(struct feat_recwin *w, const struct feat_rec *r, bool *dup, bool *late,
		       struct feat_rec **slot);
/* Take `p` as a profile snapshot at event time t (feat_state.c). */
int feat_snapshot(struct feat_account *a, const struct bw_profile *p, int64_t t);
/* Fold an inserted own post: counters, text, sketches, graphs (feat_fold.c). */
/* `pre` (may be NULL) is the post's text analysis done ahead. */
int feat_fold_own(struct feat_account *a, const struct bw_post *p, struct feat_rec *slot,
		  const struct feat_text_pre *pre);
int feat_fold_social(struct feat_account *a, const struct bw_post *p);
int feat_fold_hashtags(struct feat_account *a, const struct bw_post *p);

/* ---- registry construction (feat_registry.c) -------------------------------- */

/* Add one scalar feature or one 8-statistic distribution. Called only while the
 * registry is being built; the strings are copied. Return the feature index
 * (the first of the 8 for a distribution). */
size_t feat_reg_scalar(enum feat_class cls, bool universal, const char *name, const char *desc,
		       const char *how);
size_t feat_reg_dist(enum feat_class cls, bool universal, const char *name, const char *desc,
		     const char *how);

/* Families: register (in registry order) and extract into the whole vector
 * `out` (the int ones return 0 or BW_ENOMEM). */
void feat_fam_user_register(void);
void feat_fam_user_extract(const struct feat_account *a, int64_t probe_ms, double *out);
/* Index of user.description_shared (filled by feat_pop_fill()). */
size_t feat_fam_user_shared_col(void);
/* n more accounts under `key` (0: nothing); 0 or BW_ENOMEM (feat_pop.c). */
int feat_pop_add(struct feat_pop *p, uint64_t key, uint32_t n);
/* Does snapshot `p` hold the strings the account's population keys come
 * from (bio, display and screen name) as they are now? (feat_pop.c) */
bool feat_pop_same_profile(const struct feat_account *a, const struct bw_profile *p);
/* Population keys of a bio, its display and screen name (feat_pop.c). */
void feat_pop_text_keys(const char *description, const char *name, const char *screen_name,
			struct feat_pop_keys *keys);
void feat_fam_social_register(void);
void feat_fam_social_extract(const struct feat_account *a, int64_t probe_ms, double *out);
void feat_fam_temporal_register(void);
int feat_fam_temporal_extract(const struct feat_account *a, int64_t probe_ms, double *out);
void feat_fam_content_register(void);
int feat_fam_content_extract(const struct feat_account *a, int64_t probe_ms, double *out);

/* Builds the registry once (thread-safe). */
void feat_registry_init(void);

/* a - b in ms as a double, without integer overflow (exact below 2^53 ms). */
static inline double feat_ms_diff(int64_t a, int64_t b)
{
	return (double)a - (double)b;
}

/* Non-negative remainder of t modulo m (m > 0). */
static inline int64_t feat_ms_mod(int64_t t, int64_t m)
{
	int64_t r = t % m;
	return r < 0 ? r + m : r;
}

/* Finite or 0. */
static inline double feat_finite(double x)
{
	return (x == x && x < 1e300 && x > -1e300) ? x : 0.0;
}

#endif
