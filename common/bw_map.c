/*
 * bw_map.c — string-keyed open-addressing hash map (bw_map.h).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "bw_err.h"
#include "bw_map.h"

#define MAP_MIN_CAP 64 /* slots of a new table (a power of two) */

struct slot {
	const char *key; /* borrowed; NULL = free */
	void *val;       /* the value */
	uint64_t hash;   /* XXH3 of the key */
};

struct bw_map {
	struct slot *s;  /* the table */
	size_t cap;      /* slots (a power of two) */
	size_t n;        /* used */
};

static uint64_t hash_of(const char *key)
{
	return XXH3_64bits(key, strlen(key));
}

/* The slot holding `key`, or the free slot where it would go. */
static size_t find(const struct bw_map *m, const char *key, uint64_t h)
{
	size_t i = (size_t)h & (m->cap - 1);

	while (m->s[i].key && (m->s[i].hash != h || strcmp(m->s[i].key, key) != 0))
		i = (i + 1) & (m->cap - 1);
	return i;
}

static int resize(struct bw_map *m, size_t cap)
{
	struct slot *old = m->s, *s = calloc(cap, sizeof(*s));
	size_t ocap = m->cap;

	if (!s)
		return BW_ENOMEM;
	m->s = s;
	m->cap = cap;
	for (size_t i = 0; i < ocap; i++)
		if (old[i].key)
			m->s[find(m, old[i].key, old[i].hash)] = old[i];
	free(old);
	return 0;
}

struct bw_map *bw_map_new(void)
{
	struct bw_map *m = calloc(1, sizeof(*m));

	if (m && !(m->s = calloc(MAP_MIN_CAP, sizeof(*m->s)))) {
		free(m);
		return NULL;
	}
	if (m)
		m->cap = MAP_MIN_CAP;
	return m;
}

void bw_map_free(struct bw_map *m)
{
	if (!m)
		return;
	free(m->s);
	free(m);
}

void *bw_map_get(const struct bw_map *m, const char *key)
{
	size_t i = find(m, key, hash_of(key));
	return m->s[i].key ? m->s[i].val : NULL;
}

int bw_map_put(struct bw_map *m, const char *key, void *value)
{
	uint64_t h = hash_of(key);
	size_t i = find(m, key, h);

	if (m->s[i].key) {
		m->s[i].key = key;
		m->s[i].val = value;
		return 0;
	}
	if ((m->n + 1) * 2 > m->cap) {
		if (resize(m, m->cap * 2))
			return BW_ENOMEM;
		i = find(m, key, h);
	}
	m->s[i] = (struct slot){ key, value, h };
	m->n++;
	return 0;
}

void *bw_map_del(struct bw_map *m, const char *key)
{
	size_t i = find(m, key, hash_of(key)), j;
	void *val = m->s[i].val;

	if (!m->s[i].key)
		return NULL;
	/* backward shift: move up every later entry of the run whose home slot
	 * does not lie between the hole and it */
	for (j = (i + 1) & (m->cap - 1); m->s[j].key; j = (j + 1) & (m->cap - 1)) {
		size_t home = (size_t)m->s[j].hash & (m->cap - 1);
		if (((j - home) & (m->cap - 1)) >= ((j - i) & (m->cap - 1))) {
			m->s[i] = m->s[j];
			i = j;
		}
	}
	m->s[i] = (struct slot){ 0 };
	m->n--;
	return val;
}

size_t bw_map_count(const struct bw_map *m)
{
	return m->n;
}

void *bw_map_next(const struct bw_map *m, size_t *pos, const char **key)
{
	for (; *pos < m->cap; (*pos)++)
		if (m->s[*pos].key) {
			if (key)
				*key = m->s[*pos].key;
			return m->s[(*pos)++].val;
		}
	return NULL;
}

void bw_map_clear(struct bw_map *m)
{
	memset(m->s, 0, m->cap * sizeof(*m->s));
	m->n = 0;
}
