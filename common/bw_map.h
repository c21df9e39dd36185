/*
 * bw_map.h — the one hash map of botwatch: NUL-terminated string keys to
 * pointers, open addressing with linear probing (xxHash3), grown at half
 * load, deletion by backward shift (no tombstones, so lookups stay short
 * after evictions).
 *
 * Ownership: the map owns neither keys nor values. A key is borrowed for as
 * long as its entry lives — typically it points into the value (an account's
 * id inside the account). Values are never NULL. Not thread-safe.
 *
 * Leaf module: no application headers.
 */
#ifndef BW_MAP_H
#define BW_MAP_H

#include <stdbool.h>
#include <stddef.h>

struct bw_map;

/* New empty map; NULL when out of memory. Free with bw_map_free(). */
struct bw_map *bw_map_new(void);

/* Free the table (not the keys or values). Accepts NULL. */
void bw_map_free(struct bw_map *m);

/* The value under `key`, or NULL. */
void *bw_map_get(const struct bw_map *m, const char *key);

/* Insert or replace `key` → `value` (both borrowed, value not NULL). 0 or
 * BW_ENOMEM (the map is unchanged then). */
int bw_map_put(struct bw_map *m, const char *key, void *value);

/* Remove `key`; its value, or NULL when absent. */
void *bw_map_del(struct bw_map *m, const char *key);

/* Entries in the map. */
size_t bw_map_count(const struct bw_map *m);

/*
 * Iterate: start with *pos = 0; each call returns the next value (and its
 * key in *key when not NULL), NULL at the end. The map must not change
 * during an iteration (collect first, then delete).
 */
void *bw_map_next(const struct bw_map *m, size_t *pos, const char **key);

/* Remove every entry (values untouched). */
void bw_map_clear(struct bw_map *m);

#endif
