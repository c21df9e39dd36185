/*
 * json_dom.cpp — the C view of simdjson's DOM (see json_dom.h).
 *
 * The only C++ in the decoder: it parses with simdjson::dom::parser and lets
 * C code walk the result. dom::element and the array/object iterators are
 * trivially copyable two-word handles into the parser's tape, so they are
 * stored by value in the opaque C structs.
 */
#include "json_dom.h"

#include <cstring>
#include <new>
#include <type_traits>

#include <simdjson.h>

using simdjson::dom::array;
using simdjson::dom::element;
using simdjson::dom::object;

static_assert(sizeof(element) <= sizeof(jd_val), "dom::element must fit jd_val");
static_assert(std::is_trivially_copyable<element>::value, "dom::element is copied bytewise");
static_assert(sizeof(array::iterator) * 2 <= sizeof(jd_iter), "array iterators must fit jd_iter");
static_assert(sizeof(object::iterator) * 2 <= sizeof(jd_iter), "object iterators must fit jd_iter");
static_assert(std::is_trivially_copyable<array::iterator>::value, "array::iterator copied bytewise");
static_assert(std::is_trivially_copyable<object::iterator>::value, "object::iterator copied bytewise");

struct jd_parser {
	simdjson::dom::parser parser; /* owns the tape and string buffer of the last document */
	jd_parser(size_t max_bytes) : parser(max_bytes) {}
};

static jd_val wrap(element e)
{
	jd_val v;
	std::memset(&v, 0, sizeof(v));
	std::memcpy(&v, &e, sizeof(e));
	return v;
}

static element unwrap(jd_val v)
{
	element e;
	std::memcpy(static_cast<void *>(&e), &v, sizeof(e));
	return e;
}

static jd_val none()
{
	jd_val v;
	std::memset(&v, 0, sizeof(v));
	return v;
}

extern "C" struct jd_parser *jd_parser_new(size_t max_bytes, int max_depth)
{
	jd_parser *p = new (std::nothrow) jd_parser(max_bytes);
	if (!p)
		return nullptr;
	/* start small; simdjson grows the buffers up to max_bytes on demand */
	size_t initial = max_bytes < 65536 ? max_bytes : 65536;
	/* simdjson counts the document itself as one level: `max_depth` nested
	 * arrays/objects need max_depth + 1 */
	if (p->parser.allocate(initial, (size_t)(max_depth > 0 ? max_depth : 1) + 1) != simdjson::SUCCESS) {
		delete p;
		return nullptr;
	}
	return p;
}

extern "C" void jd_parser_free(struct jd_parser *p)
{
	delete p;
}

static enum jd_err map_error(simdjson::error_code e)
{
	switch (e) {
	case simdjson::SUCCESS: return JD_OK;
	case simdjson::DEPTH_ERROR: return JD_E_DEPTH;
	case simdjson::UTF8_ERROR: return JD_E_UTF8;
	case simdjson::NUMBER_ERROR:
	case simdjson::NUMBER_OUT_OF_RANGE: return JD_E_NUMBER;
	case simdjson::CAPACITY: return JD_E_CAPACITY;
	case simdjson::MEMALLOC: return JD_E_NOMEM;
	default: return JD_E_SYNTAX;
	}
}

extern "C" enum jd_err jd_parse(struct jd_parser *p, const char *buf, size_t len, jd_val *root,
				char *detail, size_t detail_len)
{
	element e;
	simdjson::error_code err = p->parser.parse(buf, len, true).get(e);

	*root = none();
	if (err) {
		if (detail && detail_len)
			std::snprintf(detail, detail_len, "%s", simdjson::error_message(err));
		return map_error(err);
	}
	*root = wrap(e);
	return JD_OK;
}

extern "C" enum jd_type jd_type(jd_val v)
{
	if (!jd_exists(v))
		return JD_NONE;
	switch (unwrap(v).type()) {
	case simdjson::dom::element_type::ARRAY: return JD_ARRAY;
	case simdjson::dom::element_type::OBJECT: return JD_OBJECT;
	case simdjson::dom::element_type::INT64: return JD_INT;
	case simdjson::dom::element_type::UINT64: return JD_UINT;
	case simdjson::dom::element_type::DOUBLE: return JD_DOUBLE;
	case simdjson::dom::element_type::STRING: return JD_STRING;
	case simdjson::dom::element_type::BOOL: return JD_BOOL;
	case simdjson::dom::element_type::NULL_VALUE: return JD_NULL;
	}
	return JD_NONE;
}

extern "C" jd_val jd_get(jd_val obj, const char *key)
{
	object o;
	element e;
	if (!jd_exists(obj) || unwrap(obj).get_object().get(o))
		return none();
	if (o.at_key(key).get(e))
		return none();
	return wrap(e);
}

/* Slot of a key in jd_pick()'s per-call hash table (64 slots). */
static inline unsigned key_slot(const char *k, size_t len)
{
	return (unsigned)(len * 7 + (unsigned char)k[0] * 3 + (unsigned char)k[len - 1]) & 63;
}

extern "C" void jd_pick(jd_val obj, const struct jd_key *keys, size_t n, jd_val *out)
{
	unsigned char head[64], next[256]; /* chained hash of the wanted keys */
	object o;
	size_t found = 0;

	for (size_t i = 0; i < n; i++)
		out[i] = none();
	if (n > 255 || !jd_exists(obj) || unwrap(obj).get_object().get(o))
		return;
	std::memset(head, 0xff, sizeof(head));
	for (size_t i = n; i-- > 0;) {
		unsigned h = key_slot(keys[i].name, keys[i].len);
		next[i] = head[h];
		head[h] = (unsigned char)i;
	}
	for (auto field : o) {
		std::string_view k = field.key;
		if (k.empty())
			continue;
		for (unsigned i = head[key_slot(k.data(), k.size())]; i != 0xff; i = next[i]) {
			if (keys[i].len == k.size() && !jd_exists(out[i]) &&
			    std::memcmp(keys[i].name, k.data(), k.size()) == 0) {
				out[i] = wrap(field.value);
				if (++found == n)
					return;
				break;
			}
		}
	}
}

extern "C" bool jd_str(jd_val v, const char **s, size_t *len)
{
	std::string_view sv;
	if (!jd_exists(v) || unwrap(v).get_string().get(sv))
		return false;
	*s = sv.data();
	if (len)
		*len = sv.size();
	return true;
}

extern "C" const char *jd_get_cstr(jd_val obj, const char *key)
{
	const char *s;
	return jd_str(jd_get(obj, key), &s, NULL) ? s : NULL;
}

extern "C" bool jd_int(jd_val v, int64_t *out)
{
	if (!jd_exists(v) || !unwrap(v).is_int64())
		return false;
	return unwrap(v).get_int64().get(*out) == simdjson::SUCCESS;
}

extern "C" bool jd_uint(jd_val v, uint64_t *out)
{
	if (!jd_exists(v))
		return false;
	element e = unwrap(v);
	if (e.type() != simdjson::dom::element_type::INT64 &&
	    e.type() != simdjson::dom::element_type::UINT64)
		return false;
	return e.get_uint64().get(*out) == simdjson::SUCCESS;
}

extern "C" bool jd_double(jd_val v, double *out)
{
	if (!jd_exists(v) || !unwrap(v).is_number())
		return false;
	return unwrap(v).get_double().get(*out) == simdjson::SUCCESS;
}

extern "C" bool jd_bool(jd_val v, bool *out)
{
	if (!jd_exists(v) || !unwrap(v).is_bool())
		return false;
	return unwrap(v).get_bool().get(*out) == simdjson::SUCCESS;
}

extern "C" size_t jd_arr_len(jd_val arr)
{
	array a;
	if (!jd_exists(arr) || unwrap(arr).get_array().get(a))
		return 0;
	return a.size();
}

template <typename It> static void iter_store(jd_iter *it, It cur, It end)
{
	std::memset(it, 0, sizeof(*it));
	std::memcpy(static_cast<void *>(&it->w[0]), &cur, sizeof(cur));
	std::memcpy(static_cast<void *>(&it->w[2]), &end, sizeof(end));
}

template <typename It> static void iter_load(const jd_iter *it, It *cur, It *end)
{
	std::memcpy(static_cast<void *>(cur), &it->w[0], sizeof(*cur));
	std::memcpy(static_cast<void *>(end), &it->w[2], sizeof(*end));
}

extern "C" bool jd_arr_begin(jd_val v, jd_iter *it)
{
	array a;
	std::memset(it, 0, sizeof(*it));
	if (!jd_exists(v) || unwrap(v).get_array().get(a))
		return false;
	iter_store(it, a.begin(), a.end());
	return true;
}

extern "C" bool jd_arr_next(jd_iter *it, jd_val *elem)
{
	array::iterator cur, end;
	if (it->w[0] == 0)
		return false;
	iter_load(it, &cur, &end);
	if (!(cur != end))
		return false;
	*elem = wrap(*cur);
	++cur;
	iter_store(it, cur, end);
	return true;
}

extern "C" bool jd_obj_begin(jd_val v, jd_iter *it)
{
	object o;
	std::memset(it, 0, sizeof(*it));
	if (!jd_exists(v) || unwrap(v).get_object().get(o))
		return false;
	iter_store(it, o.begin(), o.end());
	return true;
}

extern "C" bool jd_obj_next(jd_iter *it, const char **key, size_t *key_len, jd_val *val)
{
	object::iterator cur, end;
	if (it->w[0] == 0)
		return false;
	iter_load(it, &cur, &end);
	if (!(cur != end))
		return false;
	std::string_view k = cur.key();
	*key = k.data();
	if (key_len)
		*key_len = k.size();
	*val = wrap(cur.value());
	++cur;
	iter_store(it, cur, end);
	return true;
}
