/*
 * bw_err.c — error code descriptions and the errstr helper.
 */
#include "bw_err.h"

#include <stdarg.h>
#include <stdio.h>

const char *bw_strerror(int err)
{
	switch (err) {
	case BW_OK: return "success";
	case BW_EINVAL: return "invalid argument";
	case BW_ENOMEM: return "out of memory";
	case BW_EIO: return "input/output error";
	case BW_ENOENT: return "not found";
	case BW_ETOOLARGE: return "too large";
	case BW_ERANGE: return "out of range";
	case BW_EPARSE: return "parse error";
	case BW_EKAFKA: return "kafka error";
	case BW_EHTTP: return "http error";
	case BW_ESCHEMA: return "schema mismatch";
	case BW_ESTORE: return "store error";
	case BW_ESTOP: return "stopped";
	case BW_EAGAIN: return "try again";
	case BW_ENOTSUP: return "not supported";
	case BW_EUSAGE: return "usage error";
	}
	return "unknown error";
}

int bw_seterr(char *errstr, size_t errlen, int err, const char *fmt, ...)
{
	va_list ap;

	if (errstr && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(errstr, errlen, fmt, ap);
		va_end(ap);
	}
	return err;
}
