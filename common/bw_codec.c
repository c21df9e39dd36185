/*
 * bw_codec.c — LEB128 varints, little-endian words and the sparse double
 * vector (bw_codec.h).
 */
#include <string.h>

#include "bw_codec.h"

size_t bw_uvar_put(unsigned char *p, uint64_t v)
{
	size_t n = 0;

	while (v >= 0x80) {
		p[n++] = (unsigned char)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (unsigned char)v;
	return n;
}

size_t bw_svar_put(unsigned char *p, int64_t v)
{
	return bw_uvar_put(p, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

/* Byte by byte so that any host reads the same bytes; compilers merge both
 * into one move on little-endian hosts. */
void bw_le64_put(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

uint64_t bw_le64_get(const unsigned char *p)
{
	return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24 |
	       (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 | (uint64_t)p[6] << 48 |
	       (uint64_t)p[7] << 56;
}

uint64_t bw_uvar_get(struct bw_cursor *c)
{
	uint64_t v = 0;

	for (int shift = 0; shift < 64 && c->off < c->len; shift += 7) {
		unsigned char b = c->p[c->off++];
		if (shift == 63 && b > 1)
			break; /* more than 64 bits */
		v |= (uint64_t)(b & 0x7F) << shift;
		if (!(b & 0x80))
			return v;
	}
	c->bad = true;
	return 0;
}

int64_t bw_svar_get(struct bw_cursor *c)
{
	uint64_t u = bw_uvar_get(c);
	return (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
}

size_t bw_svec_bound(size_t n)
{
	return BW_UVAR_MAX + n * (BW_UVAR_MAX + 8);
}

size_t bw_svec_put(unsigned char *p, const double *vec, size_t n)
{
	size_t k = 0, prev = 0, o;

	for (size_t i = 0; i < n; i++) {
		uint64_t bits;
		memcpy(&bits, &vec[i], 8);
		k += bits != 0;
	}
	o = bw_uvar_put(p, k);
	for (size_t i = 0; i < n; i++) {
		uint64_t bits;
		memcpy(&bits, &vec[i], 8);
		if (!bits)
			continue;
		o += bw_uvar_put(p + o, i - prev);
		bw_le64_put(p + o, bits);
		o += 8;
		prev = i + 1;
	}
	return o;
}

bool bw_svec_check(struct bw_cursor *c, size_t n, size_t *k, const unsigned char **pairs)
{
	uint64_t next = 0, m = bw_uvar_get(c);

	if (c->bad || m > n) {
		c->bad = true;
		return false;
	}
	*pairs = c->p + c->off;
	for (uint64_t j = 0; j < m; j++) {
		uint64_t gap = bw_uvar_get(c);
		if (c->bad || gap >= n - next || c->len - c->off < 8) {
			c->bad = true;
			return false;
		}
		next += gap + 1;
		c->off += 8;
	}
	if (c->off != c->len) {
		c->bad = true;
		return false;
	}
	*k = (size_t)m;
	return true;
}

void bw_svec_get(const unsigned char *pairs, size_t k, double *out, size_t n)
{
	struct bw_cursor c = { pairs, SIZE_MAX, 0, false };
	size_t at = 0;

	memset(out, 0, n * sizeof(*out)); /* all-zero bits: +0.0 */
	for (size_t j = 0; j < k; j++) {
		at += (size_t)bw_uvar_get(&c);
		uint64_t bits = bw_le64_get(c.p + c.off);
		memcpy(&out[at++], &bits, 8);
		c.off += 8;
	}
}

double bw_svec_value(const unsigned char *pairs, size_t k, size_t i)
{
	struct bw_cursor c = { pairs, SIZE_MAX, 0, false };
	uint64_t bits = 0;
	size_t at = 0;
	double d;

	for (size_t j = 0; j < k; j++) {
		at += (size_t)bw_uvar_get(&c);
		if (at == i) {
			bits = bw_le64_get(c.p + c.off);
			break;
		}
		if (at > i)
			break;
		c.off += 8;
		at++;
	}
	memcpy(&d, &bits, 8);
	return d;
}

size_t bw_utf8_seq(const unsigned char *s, size_t n)
{
	unsigned c = s[0];
	size_t len;
	uint32_t cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		len = 2, cp = c & 0x1F;
	else if (c >= 0xE0 && c <= 0xEF)
		len = 3, cp = c & 0x0F;
	else if (c >= 0xF0 && c <= 0xF4)
		len = 4, cp = c & 0x07;
	else
		return 0;
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3F);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
		return 0;
	return len;
}
