/*
 * feat_pop.c — population features: how many accounts of the input share a
 * run of an account's bio (user.description_shared), the trace of a
 * coordinated group created from one template (docs/FEATURES.md,
 * "Population features").
 *
 * A bio is normalised to words: ASCII letters folded to lower case, every
 * digit run read as one '0', links, @mentions and #hashtags dropped, any
 * other run of punctuation and space read as one word break. A word of at
 * least FEAT_POP_NAME_MIN bytes that is also a word of the account's display
 * name, or part of its screen name, becomes the placeholder "*" (a run of
 * them one "*"): a template filled with each account's own name ("Blogs,
 * articles and more - all on Pets!" on @petsiguide) reads the same for every
 * account made from it. The bio's keys are the hashes of its runs of
 * FEAT_POP_RUN consecutive words that hold at least FEAT_POP_LETTERED words
 * with a letter (so "0 0 0 0 0" is no key); a bio shorter than one run is
 * one key when it has FEAT_POP_MIN_WORDS words besides placeholders and
 * FEAT_POP_MIN_CHARS bytes. Short bios ("student", "love music") coincide
 * by chance and have no key.
 *
 * The table counts accounts per key in an open-addressing map; callers move
 * an account from its old key set to its new one when its profile changes
 * (feat_pop_move), so each account is counted once under each of its keys.
 * The feature is the count of the account's most shared key, less itself.
 */
#define _GNU_SOURCE /* memmem */
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "bw_err.h"
#include "feat_int.h"

#define FEAT_POP_MIN_WORDS 3
#define FEAT_POP_MIN_CHARS 12
#define FEAT_POP_RUN 5
#define FEAT_POP_LETTERED 3
#define FEAT_POP_NAME_MIN 3
#define FEAT_POP_MAX_WORDS (FEAT_MAX_STR / 2 + 1)

struct feat_pop {
	uint64_t *key;  /* cap keys, 0 = empty slot */
	uint32_t *n;    /* accounts per key (an entry whose count fell to 0 stays) */
	size_t cap;     /* slots, a power of two */
	size_t used;    /* slots holding a key */
};

/* Normalised words: text bytes, word w at text[off[w]] of len[w] bytes. */
struct words {
	char text[FEAT_MAX_STR + 2];
	uint16_t off[FEAT_POP_MAX_WORDS], len[FEAT_POP_MAX_WORDS];
	size_t n, used;
};

static bool is_sep(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool is_word(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c >= 0x80 || c == '\'';
}

/* Byte c folded as words are: ASCII upper case to lower, a digit to '0'; 0
 * when it continues a digit run (`prev`: the byte before it, 0 at a start). */
static char fold_byte(unsigned char c, char prev)
{
	if (c >= '0' && c <= '9')
		return prev == '0' ? 0 : '0';
	return (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
}

static void push_byte(struct words *w, unsigned char c, bool *in_word)
{
	if (w->used + 1 >= sizeof(w->text) || (!*in_word && w->n == FEAT_POP_MAX_WORDS))
		return;
	if (!*in_word) {
		w->off[w->n] = (uint16_t)w->used;
		w->len[w->n++] = 0;
		*in_word = true;
	}
	char f = fold_byte(c, w->len[w->n - 1] > 0 ? w->text[w->used - 1] : 0);
	if (f) {
		w->text[w->used++] = f;
		w->len[w->n - 1]++;
	}
}

/* Split `s` into normalised words; `drop_marked` skips links, @ and # tokens. */
static void split_words(const char *s, bool drop_marked, struct words *w)
{
	w->n = w->used = 0;
	while (s && *s) {
		while (*s && is_sep((unsigned char)*s))
			s++;
		const char *b = s;
		while (*s && !is_sep((unsigned char)*s))
			s++;
		size_t len = (size_t)(s - b);
		if (len == 0 || (drop_marked && (*b == '@' || *b == '#' ||
						 strncmp(b, "http", 4) == 0 ||
						 strncmp(b, "www.", 4) == 0)))
			continue;
		bool in_word = false;
		for (size_t i = 0; i < len; i++) {
			if (is_word((unsigned char)b[i]))
				push_byte(w, (unsigned char)b[i], &in_word);
			else
				in_word = false;
		}
	}
}

static bool has_letter(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((s[i] >= 'a' && s[i] <= 'z') || (unsigned char)s[i] >= 0x80)
			return true;
	return false;
}

/* Is bio word (s, n) one of the account's own name words? */
static bool is_name_word(const char *s, size_t n, const struct words *name, const char *handle,
			 size_t handle_len)
{
	if (n < FEAT_POP_NAME_MIN)
		return false;
	for (size_t i = 0; i < name->n; i++)
		if (name->len[i] == n && memcmp(name->text + name->off[i], s, n) == 0)
			return true;
	return memmem(handle, handle_len, s, n) != NULL;
}

static int cmp_key(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

size_t feat_pop_keys_unique(uint64_t *k, size_t n)
{
	if (n > FEAT_POP_KEYS) {
		qsort(k, n, sizeof(*k), cmp_key);
	} else { /* one account's keys: insertion sort, no call per comparison */
		for (size_t i = 1; i < n; i++) {
			uint64_t x = k[i];
			size_t j = i;
			for (; j > 0 && k[j - 1] > x; j--)
				k[j] = k[j - 1];
			k[j] = x;
		}
	}
	size_t u = 0;
	for (size_t i = 0; i < n; i++)
		if (u == 0 || k[u - 1] != k[i])
			k[u++] = k[i];
	return u;
}

static void add_key(struct feat_pop_keys *keys, const char *s, size_t n)
{
	uint64_t h = XXH3_64bits(s, n);
	if (keys->n < FEAT_POP_KEYS)
		keys->k[keys->n++] = h ? h : 1;
}

/* The screen name folded as bio words are (lower case, a digit run as '0');
 * returns its length. */
static size_t fold_handle(const char *screen_name, char *out, size_t cap)
{
	size_t n = 0;
	for (const char *c = screen_name ? screen_name : ""; *c && n + 1 < cap; c++) {
		char f = fold_byte((unsigned char)*c, n ? out[n - 1] : 0);
		if (f)
			out[n++] = f;
	}
	out[n] = 0;
	return n;
}

void feat_pop_text_keys(const char *description, const char *name, const char *screen_name,
			struct feat_pop_keys *keys)
{
	struct words bio, nw;
	char handle[FEAT_MAX_STR + 2];
	const char *tok[FEAT_POP_MAX_WORDS];
	size_t tlen[FEAT_POP_MAX_WORDS], nt = 0, plain = 0;

	keys->n = 0;
	split_words(description, true, &bio);
	split_words(name, false, &nw);
	size_t handle_len = fold_handle(screen_name, handle, sizeof(handle));
	for (size_t i = 0; i < bio.n; i++) {
		const char *s = bio.text + bio.off[i];
		if (is_name_word(s, bio.len[i], &nw, handle, handle_len)) {
			if (nt == 0 || tok[nt - 1][0] != '*') {
				tok[nt] = "*";
				tlen[nt++] = 1;
			}
			continue;
		}
		tok[nt] = s;
		tlen[nt++] = bio.len[i];
		plain++;
	}
	char run[FEAT_MAX_STR + FEAT_POP_MAX_WORDS + 2];
	if (nt < FEAT_POP_RUN) {
		size_t n = 0;
		for (size_t i = 0; i < nt; i++) {
			if (i)
				run[n++] = ' ';
			memcpy(run + n, tok[i], tlen[i]);
			n += tlen[i];
		}
		if (plain >= FEAT_POP_MIN_WORDS && n >= FEAT_POP_MIN_CHARS)
			add_key(keys, run, n);
	} else {
		for (size_t i = 0; i + FEAT_POP_RUN <= nt && keys->n < FEAT_POP_KEYS; i++) {
			size_t n = 0, lettered = 0;
			for (size_t j = i; j < i + FEAT_POP_RUN; j++) {
				if (j > i)
					run[n++] = ' ';
				memcpy(run + n, tok[j], tlen[j]);
				n += tlen[j];
				lettered += tok[j][0] != '*' && has_letter(tok[j], tlen[j]);
			}
			if (lettered >= FEAT_POP_LETTERED)
				add_key(keys, run, n);
		}
	}
	keys->n = feat_pop_keys_unique(keys->k, keys->n);
}

static bool same_str(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

bool feat_pop_same_profile(const struct feat_account *a, const struct bw_profile *p)
{
	return same_str(a->prof.description, p->description) && same_str(a->prof.name, p->name) &&
	       same_str(a->prof.screen_name, p->screen_name);
}

void feat_account_pop_keys(const struct feat_account *acc, struct feat_pop_keys *keys)
{
	feat_pop_text_keys(acc->prof.description, acc->prof.name, acc->prof.screen_name, keys);
	keys->print = feat_account_pop_print(acc);
}

uint64_t feat_account_pop_print(const struct feat_account *acc)
{
	const char *s[3] = { acc->prof.description, acc->prof.name, acc->prof.screen_name };
	uint64_t h = 0;
	for (int i = 0; i < 3; i++) /* each with its NUL; an absent one as a lone 0xFF */
		h = XXH3_64bits_withSeed(s[i] ? s[i] : "\xff", s[i] ? strlen(s[i]) + 1 : 1, h);
	return h ? h : 1;
}

struct feat_pop *feat_pop_new(void)
{
	struct feat_pop *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->cap = 1024;
	p->key = calloc(p->cap, sizeof(*p->key));
	p->n = calloc(p->cap, sizeof(*p->n));
	if (!p->key || !p->n) {
		feat_pop_free(p);
		return NULL;
	}
	return p;
}

void feat_pop_free(struct feat_pop *p)
{
	if (!p)
		return;
	free(p->key);
	free(p->n);
	free(p);
}

static size_t slot_of(const uint64_t *keys, size_t cap, uint64_t key)
{
	size_t i = (size_t)(key ^ (key >> 29)) & (cap - 1);
	while (keys[i] && keys[i] != key)
		i = (i + 1) & (cap - 1);
	return i;
}

static int grow(struct feat_pop *p)
{
	size_t cap = p->cap * 2;
	uint64_t *k = calloc(cap, sizeof(*k));
	uint32_t *n = calloc(cap, sizeof(*n));
	if (!k || !n) {
		free(k);
		free(n);
		return BW_ENOMEM;
	}
	for (size_t i = 0; i < p->cap; i++) {
		if (p->key[i]) {
			size_t j = slot_of(k, cap, p->key[i]);
			k[j] = p->key[i];
			n[j] = p->n[i];
		}
	}
	free(p->key);
	free(p->n);
	p->key = k;
	p->n = n;
	p->cap = cap;
	return 0;
}

int feat_pop_add(struct feat_pop *p, uint64_t key, uint32_t n)
{
	if (!key)
		return 0;
	if ((p->used + 1) * 2 > p->cap && grow(p))
		return BW_ENOMEM;
	size_t i = slot_of(p->key, p->cap, key);
	if (!p->key[i]) {
		p->key[i] = key;
		p->used++;
	}
	p->n[i] = p->n[i] > UINT32_MAX - n ? UINT32_MAX : p->n[i] + n;
	return 0;
}

int feat_pop_keys_diff(const struct feat_pop_keys *from, const struct feat_pop_keys *to,
		       feat_pop_diff_cb cb, void *opaque)
{
	size_t i = 0, j = 0;
	int rc = 0;

	while (!rc && (i < from->n || j < to->n)) {
		if (j == to->n || (i < from->n && from->k[i] < to->k[j]))
			rc = cb(from->k[i++], false, opaque);
		else if (i == from->n || to->k[j] < from->k[i])
			rc = cb(to->k[j++], true, opaque);
		else
			i++, j++;
	}
	return rc;
}

static int move_one(uint64_t key, bool join, void *opaque)
{
	struct feat_pop *p = opaque;
	if (join)
		return feat_pop_add(p, key, 1);
	size_t i = slot_of(p->key, p->cap, key);
	if (p->key[i] && p->n[i] > 0)
		p->n[i]--;
	return 0;
}

int feat_pop_move(struct feat_pop *p, const struct feat_pop_keys *from, const struct feat_pop_keys *to)
{
	return feat_pop_keys_diff(from, to, move_one, p);
}

uint32_t feat_pop_count(const struct feat_pop *p, uint64_t key)
{
	if (!key)
		return 0;
	size_t i = slot_of(p->key, p->cap, key);
	return p->key[i] ? p->n[i] : 0;
}

uint32_t feat_pop_most(const struct feat_pop *p, const struct feat_pop_keys *keys)
{
	uint32_t most = 0;
	for (size_t i = 0; i < keys->n; i++) {
		uint32_t c = feat_pop_count(p, keys->k[i]);
		most = c > most ? c : most;
	}
	return most;
}

void feat_pop_set(double *vec, uint32_t accounts)
{
	uint32_t others = accounts > 1 ? accounts - 1 : 0;
	vec[feat_fam_user_shared_col()] = others < FEAT_POP_CAP ? others : FEAT_POP_CAP;
}

void feat_pop_fill(const struct feat_pop *p, const struct feat_account *acc, double *vec)
{
	struct feat_pop_keys keys;
	if (p)
		feat_account_pop_keys(acc, &keys);
	feat_pop_set(vec, p ? feat_pop_most(p, &keys) : 0);
}
