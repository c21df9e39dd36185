/*
 * bw_arena.h — a bump allocator for short-lived records.
 *
 * A decoder allocates every string and list of one decoded line from an
 * arena and resets it before the next line, so a record costs no free()
 * calls. Memory is kept across resets (up to `keep` bytes) and bounded by
 * `cap` bytes in total: an allocation past the cap fails (returns NULL)
 * instead of growing without bound on hostile input. Not thread-safe.
 * Leaf module.
 */
#ifndef BW_ARENA_H
#define BW_ARENA_H

#include <stdbool.h>
#include <stddef.h>

struct bw_arena;

/* New arena that will hold at most `cap` bytes; caller frees with bw_arena_free(). */
struct bw_arena *bw_arena_new(size_t cap);

/* Free the arena and everything allocated from it. Accepts NULL. */
void bw_arena_free(struct bw_arena *a);

/* Forget every allocation; keeps the first chunk for reuse. */
void bw_arena_reset(struct bw_arena *a);

/* `n` bytes aligned to 16; NULL when the cap would be exceeded. */
void *bw_arena_alloc(struct bw_arena *a, size_t n);

/* Copy of s[0..len) with a terminating NUL; NULL on cap. */
char *bw_arena_strndup(struct bw_arena *a, const char *s, size_t len);

/* True when an allocation failed since the last reset because the system
 * allocator did (out of memory), not because of the cap: callers that treat
 * the cap as bad input must treat this as an error of their own. */
bool bw_arena_oom(const struct bw_arena *a);

/* Bytes handed out since the last reset. */
size_t bw_arena_used(const struct bw_arena *a);

/*
 * Growable arrays: make room for one more element in the array *pp (elements
 * of `elem` bytes, *n used, *cap allocated), doubling from `first`. 0, or
 * BW_ENOMEM with the array unchanged. The array is realloc'd: caller frees.
 */
int bw_array_room(void *pp, size_t n, size_t *cap, size_t elem, size_t first);

#endif
