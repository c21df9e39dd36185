/*
 * bw_fs.c — filesystem helpers (see bw_fs.h).
 */
#include "bw_fs.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "bw_err.h"

/* mkdir that accepts an existing directory. */
static int mkdir_one(const char *path, mode_t mode)
{
	struct stat st;

	if (mkdir(path, mode) == 0)
		return 0;
	if (errno == EEXIST && stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return 0;
	if (errno == EEXIST)
		errno = ENOTDIR;
	return -1;
}

int bw_mkdir_p(const char *path, mode_t mode, char *errstr, size_t errlen)
{
	char buf[4096];
	size_t len = strlen(path);

	if (len == 0 || len >= sizeof(buf))
		return bw_seterr(errstr, errlen, BW_ETOOLARGE, "%s: bad directory path length", path);
	memcpy(buf, path, len + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir_one(buf, mode))
			return bw_seterr(errstr, errlen, BW_EIO, "%s: %s", buf, strerror(errno));
		*p = '/';
	}
	if (mkdir_one(buf, mode))
		return bw_seterr(errstr, errlen, BW_EIO, "%s: %s", path, strerror(errno));
	return 0;
}
