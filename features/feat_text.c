/*
 * feat_text.c — per-post text analysis for the content and sentiment families.
 *
 * One pass over the code points (bounded to the first FEAT_TEXT_CAP of them)
 * counts characters by kind and classifies emoji; a second pass over
 * whitespace-separated tokens separates URLs, mentions, hashtags and emoticons
 * from words, tags each word with the light part-of-speech tagger and looks it
 * up in the sentiment lexicon.
 *
 * The tagger (docs/LEXICONS.md): a closed-class word list gives pronouns,
 * determiners, prepositions, conjunctions, interjections, auxiliaries/modals
 * and numerals; otherwise all-digit tokens are numerals, capitalised words
 * that do not start a sentence are proper nouns, and suffix rules give
 * adverbs (-ly), verbs (-ing -ed -ize -ise -ate -en), adjectives (-ous -ful
 * -ive -able -ible -al -ic -less -ish -est -ary) and nouns (everything else).
 * Invalid UTF-8 bytes count as one non-ASCII character each.
 */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "bw_err.h"
#include "feat_int.h"

#define FEAT_TEXT_CAP 4096   /* code points analysed per post */
#define MAX_WORDS 512        /* words analysed per post */

enum emoji_class { EJ_NONE = 0, EJ_FACE_POS, EJ_FACE_NEG, EJ_FACE_NEU, EJ_HEART, EJ_HAND,
		   EJ_NATURE, EJ_FOOD, EJ_OBJECT, EJ_SYMBOL, EJ_FLAG_HALF, EJ_SKIP };

/* Decode one UTF-8 code point at s[*i..n); advances *i; invalid bytes -> 0xFFFD. */
static uint32_t utf8_next(const unsigned char *s, size_t n, size_t *i)
{
	unsigned char c = s[*i];
	uint32_t cp;
	int len;

	if (c < 0x80) {
		(*i)++;
		return c;
	}
	len = c >= 0xF0 && c < 0xF5 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 && c < 0xE0 ? 2 : 0;
	if (c >= 0xF5)
		len = 0;
	if (len == 0 || *i + (size_t)len > n) {
		(*i)++;
		return 0xFFFD;
	}
	cp = c & (0xFFu >> (len + 1));
	for (int k = 1; k < len; k++) {
		if ((s[*i + (size_t)k] & 0xC0) != 0x80) {
			(*i)++;
			return 0xFFFD;
		}
		cp = (cp << 6) | (s[*i + (size_t)k] & 0x3F);
	}
	*i += (size_t)len;
	return cp;
}

static enum emoji_class emoji_face(uint32_t c)
{
	if ((c >= 0x1F600 && c <= 0x1F60D) || (c >= 0x1F617 && c <= 0x1F61D) ||
	    (c >= 0x1F638 && c <= 0x1F63B) || c == 0x1F642 || c == 0x1F643 || c == 0x1F923 ||
	    c == 0x1F929 || c == 0x1F970 || c == 0x1F973)
		return EJ_FACE_POS;
	if ((c >= 0x1F612 && c <= 0x1F616) || (c >= 0x1F61E && c <= 0x1F62D) ||
	    (c >= 0x1F630 && c <= 0x1F631) || (c >= 0x1F63E && c <= 0x1F641) || c == 0x1F92C ||
	    c == 0x1F922 || c == 0x1F92E || c == 0x1F97A)
		return EJ_FACE_NEG;
	return EJ_FACE_NEU;
}

static enum emoji_class emoji_class_of(uint32_t c)
{
	if (c == 0xFE0F || c == 0x200D || (c >= 0x1F3FB && c <= 0x1F3FF))
		return EJ_SKIP; /* variation selector, joiner, skin tone */
	if (c >= 0x1F1E6 && c <= 0x1F1FF)
		return EJ_FLAG_HALF;
	if (c == 0x2764 || c == 0x2763 || (c >= 0x1F493 && c <= 0x1F49F) || c == 0x1F5A4 ||
	    c == 0x1F90D || c == 0x1F90E || c == 0x1F9E1)
		return EJ_HEART;
	if ((c >= 0x1F446 && c <= 0x1F450) || (c >= 0x270A && c <= 0x270D) || c == 0x1F590 ||
	    c == 0x1F595 || c == 0x1F596 || (c >= 0x1F918 && c <= 0x1F91F) || c == 0x1F64C ||
	    c == 0x1F64F || c == 0x1F44F || (c >= 0x1F930 && c <= 0x1F93A))
		return EJ_HAND;
	if ((c >= 0x1F600 && c <= 0x1F64F) || (c >= 0x1F910 && c <= 0x1F92F) ||
	    (c >= 0x1F970 && c <= 0x1F97A))
		return emoji_face(c);
	if ((c >= 0x1F300 && c <= 0x1F343) || (c >= 0x1F400 && c <= 0x1F43F) ||
	    (c >= 0x1F980 && c <= 0x1F9AE) || (c >= 0x2600 && c <= 0x2604) || c == 0x26C4 ||
	    c == 0x26C5 || c == 0x2744)
		return EJ_NATURE;
	if ((c >= 0x1F344 && c <= 0x1F37F) || (c >= 0x1F950 && c <= 0x1F96F) ||
	    (c >= 0x1F9C0 && c <= 0x1F9CB) || c == 0x2615)
		return EJ_FOOD;
	if ((c >= 0x1F380 && c <= 0x1F3FA) || (c >= 0x1F440 && c <= 0x1F4FF) ||
	    (c >= 0x1F500 && c <= 0x1F5FF) || (c >= 0x1F680 && c <= 0x1F6FF) ||
	    (c >= 0x1F940 && c <= 0x1F94F) || (c >= 0x1F9D0 && c <= 0x1F9FF))
		return EJ_OBJECT;
	if ((c >= 0x2600 && c <= 0x27BF) || c == 0x2B50 || c == 0x2B55 || c == 0x3030 ||
	    c == 0x303D || c == 0x3297 || c == 0x3299 || (c >= 0x1F170 && c <= 0x1F251))
		return EJ_SYMBOL;
	return EJ_NONE;
}

/* Emoticon forming the whole token, or ending it when the emoticon starts with a
 * symbol ("great:)"); returns the Q_EMO_* id or -1, *whole says which. */
static int emoticon(const char *t, size_t len, bool *whole)
{
	static const struct {
		const char *s; /* emoticon text */
		int q;         /* Q_EMO_* */
	} tab[] = {
		{ ":-)", Q_EMO_HAPPY }, { ":)", Q_EMO_HAPPY }, { ":D", Q_EMO_HAPPY },
		{ ":-D", Q_EMO_HAPPY }, { "=)", Q_EMO_HAPPY }, { "(:", Q_EMO_HAPPY },
		{ "xD", Q_EMO_HAPPY }, { "XD", Q_EMO_HAPPY }, { ":-(", Q_EMO_SAD },
		{ ":(", Q_EMO_SAD }, { ":'(", Q_EMO_SAD }, { "=(", Q_EMO_SAD }, { "):", Q_EMO_SAD },
		{ ";-)", Q_EMO_WINK }, { ";)", Q_EMO_WINK }, { ";D", Q_EMO_WINK },
		{ ":P", Q_EMO_TONGUE }, { ":p", Q_EMO_TONGUE }, { ":-P", Q_EMO_TONGUE },
		{ ":-p", Q_EMO_TONGUE }, { ";P", Q_EMO_TONGUE }, { ":O", Q_EMO_SURPRISE },
		{ ":o", Q_EMO_SURPRISE }, { ":-O", Q_EMO_SURPRISE }, { "<3", Q_EMO_HEART },
	};
	bool cand = false; /* every emoticon holds one of these: skip plain words fast */

	for (size_t i = 0; i < len && !cand; i++)
		cand = t[i] == ':' || t[i] == ';' || t[i] == '=' || t[i] == '<' || t[i] == '(' ||
		       t[i] == ')' || ((t[i] == 'D' || t[i] == 'd') && len == 2);
	if (!cand || len < 2)
		return -1;
	for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++) {
		size_t l = strlen(tab[i].s);
		bool sym = !((tab[i].s[0] | 32) >= 'a' && (tab[i].s[0] | 32) <= 'z');
		if (len >= l && memcmp(t + len - l, tab[i].s, l) == 0 &&
		    (len == l || (sym && t[len - l - 1] != ':'))) {
			*whole = len == l;
			return tab[i].q;
		}
	}
	return -1;
}

/* Does the word w[0..n) end in suffix (suf, l) with more than one byte before it? */
static bool ends_with(const char *w, size_t n, const char *suf, size_t l)
{
	if (n <= l + 1)
		return false;
	for (size_t i = 0; i < l; i++) /* 2-4 bytes: no library call */
		if (w[n - l + i] != suf[i])
			return false;
	return true;
}

static int tag_open_class(const char *w, size_t n)
{
#define SUF(s) { s, sizeof(s) - 1 }
	static const struct { const char *s; size_t l; } adj[] = {
		SUF("ous"), SUF("ful"), SUF("ive"), SUF("able"), SUF("ible"), SUF("al"), SUF("ic"),
		SUF("less"), SUF("ish"), SUF("est"), SUF("ary") };
	static const struct { const char *s; size_t l; } verb[] = {
		SUF("ing"), SUF("ed"), SUF("ize"), SUF("ise"), SUF("ate"), SUF("en") };
#undef SUF

	if (n < 4) /* every suffix is at least 2 bytes and needs 2 more before it */
		return Q_POS_NOUN;
	if (ends_with(w, n, "ly", 2))
		return Q_POS_ADV;
	for (size_t i = 0; i < sizeof(verb) / sizeof(verb[0]); i++)
		if (ends_with(w, n, verb[i].s, verb[i].l))
			return Q_POS_VERB;
	for (size_t i = 0; i < sizeof(adj) / sizeof(adj[0]); i++)
		if (ends_with(w, n, adj[i].s, adj[i].l))
			return Q_POS_ADJ;
	return Q_POS_NOUN;
}

static int tag_word(const char *lw, size_t n, bool capital, bool sentence_start, bool digits)
{
	switch (feat_lex_closed(lw, n)) {
	case POS_PRON: return Q_POS_PRON;
	case POS_DET: return Q_POS_DET;
	case POS_ADP: return Q_POS_ADP;
	case POS_CONJ: return Q_POS_CONJ;
	case POS_INTJ: return Q_POS_INTJ;
	case POS_VERB: return Q_POS_VERB;
	case POS_ADV: return Q_POS_ADV;
	case POS_NUM: return Q_POS_NUM;
	case POS_NONE: break;
	}
	if (digits)
		return Q_POS_NUM;
	if (capital && !sentence_start)
		return Q_POS_PROPN;
	return tag_open_class(lw, n);
}

/* Entropy (bits) and distinct count of a multiset of 32-bit values, counted
 * in an open-addressing table (n <= FEAT_TEXT_CAP, so at most half full). */
static double multiset_entropy(const uint32_t *h, size_t n, size_t *distinct)
{
	enum { SLOTS = 2 * FEAT_TEXT_CAP };
	static _Thread_local uint32_t key[SLOTS], cnt[SLOTS];
	size_t used[FEAT_TEXT_CAP];
	double e = 0;

	*distinct = 0;
	for (size_t i = 0; i < n; i++) {
		size_t j = (h[i] * 2654435761u) & (SLOTS - 1);
		while (cnt[j] && key[j] != h[i])
			j = (j + 1) & (SLOTS - 1);
		if (!cnt[j]++) {
			key[j] = h[i];
			used[(*distinct)++] = j;
		}
	}
	for (size_t k = 0; k < *distinct; k++) {
		double p = (double)cnt[used[k]] / (double)n;
		e -= p * log2(p);
		cnt[used[k]] = 0; /* leave the table empty for the next call */
	}
	return e > 0 ? e : 0.0;
}

/* Per-text accumulators. */
struct text_acc {
	double v[Q__N];              /* the quantities */
	size_t n_chars;              /* code points analysed */
	size_t n_words;              /* words */
	size_t n_tokens;             /* tokens of any kind */
	size_t word_chars;           /* characters in words */
	double vad[4];               /* sums of v, a, d, h over rated words */
	size_t rated;                /* rated words */
	double pos, neg;             /* polarity cues */
	uint64_t skel;               /* running skeleton hash (FNV-1a) */
	/* scratch below is not zeroed: only [0, n_chars) and [0, n_words) are read */
	uint32_t chars[FEAT_TEXT_CAP]; /* code points, for character entropy */
	uint32_t words[MAX_WORDS];   /* word hashes */
};

/* Bracket and quote balance of one post, fed one code point at a time:
 * unmatched closers are counted as they occur, unclosed openers and an odd
 * straight double quote at the end (pair_balance_end). A bracket right after
 * an emoticon's eyes (: ; = -) is a mouth, not a bracket. Generated text that
 * is cut at a length limit leaves quotes and brackets open. */
struct pair_balance {
	size_t open[3];   /* open ( [ { */
	size_t unmatched; /* closers without an opener */
	size_t dquote;    /* straight double quotes */
	long curly;       /* left minus right curly double quotes */
	uint32_t prev;    /* previous code point */
};

static void pair_balance_add(struct pair_balance *b, uint32_t c)
{
	static const char opens[] = "([{", closes[] = ")]}";
	bool mouth = b->prev == ':' || b->prev == ';' || b->prev == '=' || b->prev == '-';
	for (int k = 0; k < 3 && c < 0x80; k++) {
		if (c == (uint32_t)opens[k] && !mouth)
			b->open[k]++;
		if (c == (uint32_t)closes[k] && !mouth)
			b->open[k] ? b->open[k]-- : b->unmatched++;
	}
	b->dquote += c == '"';
	b->curly += c == 0x201C ? 1 : c == 0x201D ? -1 : 0;
	b->prev = c;
}

static double pair_balance_end(const struct pair_balance *b)
{
	return (double)(b->unmatched + b->open[0] + b->open[1] + b->open[2] + b->dquote % 2 +
			(size_t)(b->curly < 0 ? -b->curly : b->curly));
}

static void char_pass(struct text_acc *x, const unsigned char *s, size_t n)
{
	size_t i = 0, letters = 0, upper = 0, flag_halves = 0;
	uint32_t prev = 0, run = 0;
	struct pair_balance pb = { { 0 }, 0, 0, 0, 0 };

	while (i < n && x->n_chars < FEAT_TEXT_CAP) {
		uint32_t c = utf8_next(s, n, &i);
		enum emoji_class ec;
		x->chars[x->n_chars++] = c;
		pair_balance_add(&pb, c);
		if (c >= 0x80)
			x->v[Q_NONASCII]++;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= 0xC0 && c <= 0x24F && c != 0xD7 && c != 0xF7)) {
			letters++;
			upper += (c >= 'A' && c <= 'Z') || (c >= 0xC0 && c <= 0xDE && c != 0xD7);
			uint32_t lc = (c >= 'A' && c <= 'Z') ? c + 32 : c;
			run = lc == prev ? run + 1 : 1;
			if (run == 3)
				x->v[Q_ELONG]++;
			prev = lc;
		} else {
			prev = 0, run = 0;
		}
		if (c >= '0' && c <= '9')
			x->v[Q_DIGITS]++;
		if (c < 0x80 && c > ' ' && !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
					     (c >= 'A' && c <= 'Z')))
			x->v[Q_PUNCT]++;
		x->v[Q_EXCLAIM] += c == '!';
		x->v[Q_QUESTION] += c == '?';
		ec = c >= 0x2000 ? emoji_class_of(c) : EJ_NONE;
		if (ec == EJ_FLAG_HALF)
			flag_halves++;
		else if (ec != EJ_NONE && ec != EJ_SKIP)
			x->v[Q_EJ_FACE_POS + (ec - EJ_FACE_POS)]++;
	}
	x->v[Q_EJ_FLAG] = (double)(flag_halves / 2);
	x->v[Q_UPPER] = letters ? (double)upper / (double)letters : 0.0;
	x->v[Q_UNBALANCED] = pair_balance_end(&pb);
}

static void word_pass(struct text_acc *x, const char *tok, size_t len, bool *sent_start)
{
	char lw[64];
	size_t b = 0, e = len, n;
	bool capital, digits = true, alpha = false;
	int q;
	const struct feat_vad *vad;

	while (b < e && (unsigned char)tok[b] < 0x80 && !((tok[b] | 32) >= 'a' && (tok[b] | 32) <= 'z') &&
	       !(tok[b] >= '0' && tok[b] <= '9'))
		b++;
	while (e > b && (unsigned char)tok[e - 1] < 0x80 && !((tok[e - 1] | 32) >= 'a' &&
							   (tok[e - 1] | 32) <= 'z') &&
	       !(tok[e - 1] >= '0' && tok[e - 1] <= '9'))
		e--;
	n = e - b;
	if (n == 0 || n >= sizeof(lw)) {
		x->v[Q_POS_OTHER]++;
		return;
	}
	for (size_t i = 0; i < n; i++) {
		char c = tok[b + i];
		lw[i] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
		digits &= (c >= '0' && c <= '9') || c == '.' || c == ',';
		alpha |= ((c | 32) >= 'a' && (c | 32) <= 'z') || (unsigned char)c >= 0x80;
	}
	lw[n] = '\0';
	if (!alpha && !digits) {
		x->v[Q_POS_OTHER]++;
		return;
	}
	capital = tok[b] >= 'A' && tok[b] <= 'Z';
	q = tag_word(lw, n, capital, *sent_start, digits && !alpha);
	x->v[q]++;
	if (q == Q_POS_PRON || q == Q_POS_DET || q == Q_POS_ADP || q == Q_POS_CONJ ||
	    q == Q_POS_INTJ || (q == Q_POS_VERB && feat_lex_closed(lw, n) != POS_NONE) ||
	    (q == Q_POS_ADV && feat_lex_closed(lw, n) != POS_NONE))
		x->v[Q_STOPWORDS]++;
	if (x->n_words < MAX_WORDS)
		x->words[x->n_words++] = feat_hash32(lw, n);
	x->word_chars += n;
	for (size_t i = 0; i < n; i++) {
		if (((unsigned char)lw[i] >= 'a' && (unsigned char)lw[i] <= 'z') ||
		    (unsigned char)lw[i] >= 0x80) {
			x->skel ^= (unsigned char)lw[i];
			x->skel *= 0x100000001b3ull;
		}
	}
	if ((vad = feat_lex_sentiment(lw, n))) {
		x->vad[0] += vad->v, x->vad[1] += vad->a, x->vad[2] += vad->d, x->vad[3] += vad->h;
		x->rated++;
		x->v[Q_POSWORDS] += vad->pol > 0;
		x->v[Q_NEGWORDS] += vad->pol < 0;
	}
	*sent_start = tok[len - 1] == '.' || tok[len - 1] == '!' || tok[len - 1] == '?';
}

static void token_pass(struct text_acc *x, const char *s, size_t n)
{
	size_t i = 0;
	bool sent_start = true;

	while (i < n) {
		size_t b, len;
		int emo;
		bool whole = false;
		while (i < n && (s[i] == ' ' || s[i] == '\n' || s[i] == '\t' || s[i] == '\r'))
			i++;
		b = i;
		while (i < n && !(s[i] == ' ' || s[i] == '\n' || s[i] == '\t' || s[i] == '\r'))
			i++;
		if ((len = i - b) == 0)
			break;
		x->n_tokens++;
		if ((emo = emoticon(s + b, len, &whole)) >= 0) {
			x->v[emo]++;
			if (emo == Q_EMO_SAD)
				x->neg++;
			else if (emo != Q_EMO_SURPRISE)
				x->pos++;
			if (whole) {
				x->v[Q_POS_OTHER]++;
				continue;
			}
		}
		if (s[b] == '@' || s[b] == '#' || (len > 4 && memcmp(s + b, "http", 4) == 0) ||
		    (len > 4 && memcmp(s + b, "www.", 4) == 0)) {
			x->v[Q_POS_OTHER]++;
			continue;
		}
		word_pass(x, s + b, len, &sent_start);
	}
}

int feat_text_analyse(const char *text, double *v, uint32_t *skel)
{
	struct text_acc *x = malloc(sizeof(*x));
	size_t n, distinct;
	double w;

	memset(v, 0, Q__N * sizeof(*v));
	v[Q_VALENCE] = v[Q_AROUSAL] = v[Q_DOMINANCE] = v[Q_HAPPINESS] = 5.0;
	*skel = 0;
	if (!text || !x) {
		free(x);
		return text ? BW_ENOMEM : 0;
	}
	memset(x, 0, offsetof(struct text_acc, chars));
	x->skel = 0xcbf29ce484222325ull;
	n = strnlen(text, FEAT_TEXT_CAP * 4);
	char_pass(x, (const unsigned char *)text, n);
	token_pass(x, text, n);
	x->v[Q_CHARS] = (double)x->n_chars;
	if (x->n_chars) {
		x->v[Q_DIGITS] /= (double)x->n_chars;
		x->v[Q_PUNCT] /= (double)x->n_chars;
		x->v[Q_NONASCII] /= (double)x->n_chars;
	}
	x->v[Q_CHAR_ENTROPY] = multiset_entropy(x->chars, x->n_chars, &distinct);
	w = (double)x->n_words;
	x->v[Q_WORDS] = w;
	x->v[Q_WORD_ENTROPY] = multiset_entropy(x->words, x->n_words, &distinct);
	if (w > 0) {
		x->v[Q_DISTINCT_WORDS] = (double)distinct / w;
		x->v[Q_WORD_LEN] = (double)x->word_chars / w;
		x->v[Q_STOPWORDS] /= w;
		for (int q = Q_POS_NOUN; q <= Q_POS_NUM; q++)
			x->v[q] /= w;
		x->v[Q_COVERAGE] = (double)x->rated / w;
	}
	x->v[Q_POS_OTHER] = x->n_tokens ? x->v[Q_POS_OTHER] / (double)x->n_tokens : 0.0;
	if (x->rated) {
		x->v[Q_VALENCE] = x->vad[0] / (double)x->rated;
		x->v[Q_AROUSAL] = x->vad[1] / (double)x->rated;
		x->v[Q_DOMINANCE] = x->vad[2] / (double)x->rated;
		x->v[Q_HAPPINESS] = x->vad[3] / (double)x->rated;
	} else {
		x->v[Q_VALENCE] = x->v[Q_AROUSAL] = x->v[Q_DOMINANCE] = x->v[Q_HAPPINESS] = 5.0;
	}
	for (int q = Q_EJ_FACE_POS; q <= Q_EJ_FLAG; q++)
		x->v[Q_EMOJI] += x->v[q];
	x->pos += x->v[Q_POSWORDS] + x->v[Q_EJ_FACE_POS] + x->v[Q_EJ_HEART];
	x->neg += x->v[Q_NEGWORDS] + x->v[Q_EJ_FACE_NEG];
	x->v[Q_POLARITY] = x->pos + x->neg > 0 ? (x->pos - x->neg) / (x->pos + x->neg) : 0.0;
	if (x->skel != 0xcbf29ce484222325ull)
		*skel = (uint32_t)(x->skel ^ (x->skel >> 32)) | 1u;
	memcpy(v, x->v, Q__N * sizeof(*v));
	free(x);
	return 0;
}
