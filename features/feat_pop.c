/*
 * feat_pop.c — population features: how many accounts of the input share an
 * account's bio (user.description_shared), the trace of a coordinated group
 * created from one template (docs/FEATURES.md, "Population features").
 *
 * A bio's key is the hash of its normalised form: ASCII letters folded to
 * lower case, every digit run read as one '0', links, @mentions and
 * #hashtags dropped, any other run of punctuation and space read as one
 * space. Bios of fewer than FEAT_POP_MIN_WORDS words or FEAT_POP_MIN_CHARS
 * bytes after normalising have no key: short bios ("student", "love music")
 * coincide by chance. The table counts accounts per key in an open-addressing
 * map; callers move an account from its old key to its new one when its
 * profile changes (feat_pop_move), so each account is counted once.
 */
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "bw_err.h"
#include "feat_int.h"

#define FEAT_POP_MIN_WORDS 3
#define FEAT_POP_MIN_CHARS 12

struct feat_pop {
	uint64_t *key;  /* cap keys, 0 = empty slot */
	uint32_t *n;    /* accounts per key (an entry whose count fell to 0 stays) */
	size_t cap;     /* slots, a power of two */
	size_t used;    /* slots holding a key */
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

uint64_t feat_pop_text_key(const char *s)
{
	char buf[FEAT_MAX_STR + 2];
	size_t n = 0, words = 0;

	while (s && *s) {
		while (*s && is_sep((unsigned char)*s))
			s++;
		const char *b = s;
		while (*s && !is_sep((unsigned char)*s))
			s++;
		size_t len = (size_t)(s - b);
		if (len == 0 || *b == '@' || *b == '#' || strncmp(b, "http", 4) == 0 ||
		    strncmp(b, "www.", 4) == 0)
			continue;
		/* the token's word characters, one space between runs */
		bool in_word = false;
		for (size_t i = 0; i < len && n + 2 < sizeof(buf); i++) {
			unsigned char c = (unsigned char)b[i];
			if (!is_word(c)) {
				in_word = false;
				continue;
			}
			if (!in_word) {
				if (n > 0)
					buf[n++] = ' ';
				words++;
				in_word = true;
			}
			if (c >= '0' && c <= '9') {
				if (n == 0 || buf[n - 1] != '0')
					buf[n++] = '0';
			} else {
				buf[n++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
			}
		}
	}
	if (words < FEAT_POP_MIN_WORDS || n < FEAT_POP_MIN_CHARS)
		return 0;
	uint64_t h = XXH3_64bits(buf, n);
	return h ? h : 1;
}

uint64_t feat_account_bio_key(const struct feat_account *acc)
{
	return feat_pop_text_key(acc->prof.description);
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

int feat_pop_move(struct feat_pop *p, uint64_t from, uint64_t to)
{
	if (from == to)
		return 0;
	if (feat_pop_add(p, to, 1))
		return BW_ENOMEM;
	if (from) {
		size_t i = slot_of(p->key, p->cap, from);
		if (p->key[i] && p->n[i] > 0)
			p->n[i]--;
	}
	return 0;
}

uint32_t feat_pop_count(const struct feat_pop *p, uint64_t key)
{
	if (!key)
		return 0;
	size_t i = slot_of(p->key, p->cap, key);
	return p->key[i] ? p->n[i] : 0;
}

void feat_pop_set(double *vec, uint32_t accounts)
{
	uint32_t others = accounts > 1 ? accounts - 1 : 0;
	vec[feat_fam_user_shared_col()] = others < FEAT_POP_CAP ? others : FEAT_POP_CAP;
}

void feat_pop_fill(const struct feat_pop *p, const struct feat_account *acc, double *vec)
{
	feat_pop_set(vec, p ? feat_pop_count(p, feat_account_bio_key(acc)) : 0);
}
