/*
 * bw_fs.h — small filesystem helpers. Leaf module.
 */
#ifndef BW_FS_H
#define BW_FS_H

#include <stddef.h>
#include <sys/types.h>

/*
 * Create directory `path` and any missing parents (like `mkdir -p`); an
 * existing directory is fine. Returns 0, or BW_EIO / BW_ETOOLARGE with
 * errstr set to "path: reason".
 */
int bw_mkdir_p(const char *path, mode_t mode, char *errstr, size_t errlen);

#endif
