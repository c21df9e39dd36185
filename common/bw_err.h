/*
 * bw_err.h — the project's one error convention.
 *
 * Actions return int: 0 on success or a negative BW_E* code. Constructors
 * return a pointer or NULL, predicates return bool. Human detail goes into a
 * caller-supplied `char *errstr, size_t errlen` buffer (as rd_kafka_conf_set()
 * does); there is no global error state.
 *
 * Leaf module: includes no application header.
 */
#ifndef BW_ERR_H
#define BW_ERR_H

#include <stddef.h>

enum bw_err {
	BW_OK = 0,
	BW_EINVAL = -1,     /* invalid argument or malformed input */
	BW_ENOMEM = -2,     /* allocation failed */
	BW_EIO = -3,        /* read/write/OS error */
	BW_ENOENT = -4,     /* no such file, key or record */
	BW_ETOOLARGE = -5,  /* input over a configured cap */
	BW_ERANGE = -6,     /* number out of range */
	BW_EPARSE = -7,     /* syntax error in a file or document */
	BW_EKAFKA = -8,     /* Kafka client error */
	BW_EHTTP = -9,      /* HTTP transport error */
	BW_ESCHEMA = -10,   /* model / feature schema mismatch */
	BW_ESTORE = -11,    /* LMDB store error */
	BW_ESTOP = -12,     /* stopped on request (signal) */
	BW_EAGAIN = -13,    /* try again later (queue full, rate limited) */
	BW_ENOTSUP = -14,   /* not supported */
	BW_EUSAGE = -15,    /* command-line usage error */
};

/* Static description of an error code; never NULL, never freed. */
const char *bw_strerror(int err);

/*
 * Format an error message into errstr (always NUL-terminated when errlen > 0)
 * and return `err` unchanged, so callers can write
 *     return bw_seterr(errstr, errlen, BW_EINVAL, "bad value '%s'", v);
 */
int bw_seterr(char *errstr, size_t errlen, int err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif
