/*
 * bw_fs.h — small filesystem helpers. Leaf module.
 */
#ifndef BW_FS_H
#define BW_FS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * Create directory `path` and any missing parents (like `mkdir -p`); an
 * existing directory is fine. Returns 0, or BW_EIO / BW_ETOOLARGE with
 * errstr set to "path: reason".
 */
int bw_mkdir_p(const char *path, mode_t mode, char *errstr, size_t errlen);

/*
 * Find a data file shipped with botwatch (e.g. "models/default.model")
 * wherever the program is started from. An absolute `path`, or a relative
 * one that exists from the working directory, is used as given. Otherwise
 * `path` is looked up, in this order, against
 *   <dir of the running executable>/..                 (a build tree: build/botwatch)
 *   <dir of the running executable>/../share/botwatch  (an install: PREFIX/bin/botwatch)
 * The executable is /proc/self/exe, so a symlink to the binary also works.
 * On success the path found is written to out[outlen] (canonical when it
 * was looked up) and 0 is returned. Otherwise BW_ENOENT, with errstr naming
 * `what` (e.g. "score.model") and every place looked in, or BW_ETOOLARGE
 * when a path does not fit out. Reads only; thread-safe.
 */
int bw_fs_find_data(const char *what, const char *path, char *out, size_t outlen, char *errstr,
		    size_t errlen);

/*
 * Bytes this process has caused to be written to storage so far (the kernel's
 * write_bytes of /proc/self/io, counted when pages are dirtied); -1 when the
 * kernel does not tell.
 */
int64_t bw_fs_bytes_written(void);

/*
 * The whole file `path` into a malloc'd buffer of *len bytes plus a NUL (the
 * caller frees), or NULL with errstr set ("path: reason") and *err BW_ENOENT
 * (no such file), BW_ETOOLARGE (over `max` bytes), BW_ENOMEM or BW_EIO.
 */
char *bw_fs_read_all(const char *path, size_t max, size_t *len, int *err, char *errstr,
		     size_t errlen);

#endif
