/*
 * json_dom.h — a small C view of a parsed JSON document (simdjson DOM).
 *
 * Internal to the ingest module (the decoder is its only user); the rest of
 * the project uses ingest/decode.h. The decoding logic is C11; this header is
 * the whole interface to the one C++17 translation unit (json_dom.cpp) that
 * wraps libsimdjson, chosen for speed (see docs/POST.md, "JSON library").
 *
 * Ownership: a struct jd_parser owns the document it last parsed. Every
 * struct jd_val, iterator and string obtained from it is borrowed and valid
 * only until the next jd_parse() on the same parser or jd_parser_free().
 * Strings are NUL-terminated UTF-8 (simdjson validates UTF-8 while parsing);
 * a string containing "\u0000" is cut at it when read as a C string.
 * Not thread-safe: one parser per thread.
 */
#ifndef BW_JSON_DOM_H
#define BW_JSON_DOM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Result of jd_parse(); mapped to DLQ reasons by the decoder. */
enum jd_err {
	JD_OK = 0,
	JD_E_SYNTAX,   /* not valid JSON (incl. empty input) */
	JD_E_DEPTH,    /* nesting deeper than the parser's max_depth */
	JD_E_UTF8,     /* invalid UTF-8 */
	JD_E_NUMBER,   /* a number that does not fit 64 bits or cannot be represented */
	JD_E_CAPACITY, /* input longer than the parser's capacity */
	JD_E_NOMEM,    /* allocation failed */
};

enum jd_type {
	JD_NONE = 0, /* no value (missing key, end of iteration) */
	JD_NULL,
	JD_BOOL,
	JD_INT,      /* fits int64 */
	JD_UINT,     /* above INT64_MAX, fits uint64 */
	JD_DOUBLE,
	JD_STRING,
	JD_ARRAY,
	JD_OBJECT,
};

/* A value in the parsed document, passed by value (two machine words). */
typedef struct jd_val {
	uintptr_t w[2]; /* opaque simdjson dom::element; all zero = JD_NONE */
} jd_val;

/* Position in an array or object, for jd_arr_next()/jd_obj_next(). */
typedef struct jd_iter {
	uintptr_t w[4]; /* opaque: current and end simdjson iterators */
} jd_iter;

struct jd_parser;

/* New parser accepting documents up to `max_bytes` and nesting up to
 * `max_depth` levels; NULL on allocation failure. Free with jd_parser_free(). */
struct jd_parser *jd_parser_new(size_t max_bytes, int max_depth);
void jd_parser_free(struct jd_parser *p);

/* Parse buf[0..len) (copied; no padding needed). On JD_OK *root is the
 * document root. `detail` (may be NULL) receives simdjson's message. */
enum jd_err jd_parse(struct jd_parser *p, const char *buf, size_t len, jd_val *root,
		     char *detail, size_t detail_len);

enum jd_type jd_type(jd_val v);
static inline bool jd_exists(jd_val v) { return v.w[0] != 0; }

/* obj[key]; a JD_NONE value when obj is not an object or has no such key. */
jd_val jd_get(jd_val obj, const char *key);

/* Typed reads: true and *out set when v has that type. jd_int() accepts
 * JD_INT only; jd_uint() accepts non-negative JD_INT and JD_UINT. */
bool jd_str(jd_val v, const char **s, size_t *len);
bool jd_int(jd_val v, int64_t *out);
bool jd_uint(jd_val v, uint64_t *out);
bool jd_double(jd_val v, double *out);
bool jd_bool(jd_val v, bool *out);

/* The string at key as a C string (NULL unless a string). */
const char *jd_get_cstr(jd_val obj, const char *key);

/* A key for jd_pick(); JD_KEY("name") fills in the length. */
struct jd_key {
	const char *name; /* the key */
	size_t len;       /* strlen(name) */
};
#define JD_KEY(s) { s, sizeof(s) - 1 }

/* Look up n (<= 255) distinct, non-empty keys in one pass over obj: out[i]
 * is the value of keys[i] (the first occurrence), JD_NONE when absent or obj
 * is not an object. Much cheaper than n jd_get() calls (each of which scans
 * the object) when several keys are wanted. */
void jd_pick(jd_val obj, const struct jd_key *keys, size_t n, jd_val *out);

/* Number of elements of an array (0 if not an array). */
size_t jd_arr_len(jd_val arr);

/* Iteration: jd_arr_begin()/jd_obj_begin() return false when v is not an
 * array/object; jd_*_next() return false at the end. */
bool jd_arr_begin(jd_val arr, jd_iter *it);
bool jd_arr_next(jd_iter *it, jd_val *elem);
bool jd_obj_begin(jd_val obj, jd_iter *it);
bool jd_obj_next(jd_iter *it, const char **key, size_t *key_len, jd_val *val);

#ifdef __cplusplus
}
#endif

#endif
