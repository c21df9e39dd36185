/*
 * bw_arena.c — chunked bump allocator (see bw_arena.h).
 */
#include "bw_arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bw_err.h"

#define ARENA_CHUNK 65536

struct chunk {
	struct chunk *next; /* older chunk, or NULL */
	size_t size;        /* usable bytes in data[] */
	size_t used;        /* bytes handed out from data[] */
	_Alignas(16) unsigned char data[];
};

struct bw_arena {
	struct chunk *head; /* chunk being filled; older ones follow */
	size_t cap;         /* limit on the sum of chunk sizes */
	size_t total;       /* sum of chunk sizes now held */
	size_t used;        /* bytes handed out since reset */
	bool oom;           /* malloc failed since reset (not the cap) */
};

struct bw_arena *bw_arena_new(size_t cap)
{
	struct bw_arena *a = calloc(1, sizeof(*a));
	if (a)
		a->cap = cap;
	return a;
}

void bw_arena_free(struct bw_arena *a)
{
	if (!a)
		return;
	while (a->head) {
		struct chunk *c = a->head;
		a->head = c->next;
		free(c);
	}
	free(a);
}

void bw_arena_reset(struct bw_arena *a)
{
	/* keep the oldest (first, normal-sized) chunk, free the rest */
	while (a->head && a->head->next) {
		struct chunk *c = a->head;
		a->head = c->next;
		a->total -= c->size;
		free(c);
	}
	if (a->head)
		a->head->used = 0;
	a->used = 0;
	a->oom = false;
}

void *bw_arena_alloc(struct bw_arena *a, size_t n)
{
	struct chunk *c = a->head;
	size_t need = (n + 15) & ~(size_t)15;

	if (need < n)
		return NULL;
	if (!c || c->size - c->used < need) {
		size_t size = need > ARENA_CHUNK ? need : ARENA_CHUNK;
		if (a->total + size > a->cap || a->total + size < a->total)
			return NULL;
		c = malloc(sizeof(*c) + size);
		if (!c) {
			a->oom = true;
			return NULL;
		}
		c->size = size;
		c->used = 0;
		c->next = a->head;
		a->head = c;
		a->total += size;
	}
	void *p = c->data + c->used;
	c->used += need;
	a->used += need;
	return p;
}

char *bw_arena_strndup(struct bw_arena *a, const char *s, size_t len)
{
	char *p = bw_arena_alloc(a, len + 1);
	if (p) {
		memcpy(p, s, len);
		p[len] = '\0';
	}
	return p;
}

bool bw_arena_oom(const struct bw_arena *a)
{
	return a->oom;
}

size_t bw_arena_used(const struct bw_arena *a)
{
	return a->used;
}

int bw_array_room(void *pp, size_t n, size_t *cap, size_t elem, size_t first)
{
	void **p = pp;
	size_t c;
	void *np;

	if (n < *cap)
		return 0;
	c = *cap ? *cap * 2 : first;
	if (c < n + 1 || c > SIZE_MAX / elem || !(np = realloc(*p, c * elem)))
		return BW_ENOMEM;
	*p = np;
	*cap = c;
	return 0;
}
