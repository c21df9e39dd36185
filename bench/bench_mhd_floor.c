/*
 * bench_mhd_floor.c — the HTTP ceiling of this machine for the API bench: a
 * bare libmicrohttpd server answering a fixed 16-byte JSON body, with the same
 * daemon flags as `botwatch serve` (internal epoll thread, optional pool) and
 * the two-call handler pattern. wrk against it gives the requests/s no
 * libmicrohttpd server can beat here, so the API's figure can be read as a
 * ratio of it.
 *
 *   bench_mhd_floor PORT_FILE [THREADS]   (port 0 is chosen; written to PORT_FILE)
 * Runs until killed.
 */
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char body[] = "{\"status\":\"ok\"}\n";

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
			      const char *method, const char *version, const char *upload,
			      size_t *upload_size, void **req)
{
	static int seen;
	struct MHD_Response *r;
	enum MHD_Result ret;

	(void)cls, (void)url, (void)method, (void)version, (void)upload, (void)upload_size;
	if (*req != &seen) { /* first call: headers only; answer on the second */
		*req = &seen;
		return MHD_YES;
	}
	r = MHD_create_response_from_buffer(sizeof(body) - 1, (void *)body, MHD_RESPMEM_PERSISTENT);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", "application/json");
	ret = MHD_queue_response(conn, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

int main(int argc, char **argv)
{
	unsigned threads = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 10) : 1;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL;
	struct MHD_Daemon *d;
	const union MHD_DaemonInfo *info;
	FILE *f;

	if (argc < 2) {
		fprintf(stderr, "usage: bench_mhd_floor PORT_FILE [THREADS]\n");
		return 2;
	}
	if (threads > 1)
		d = MHD_start_daemon(flags, 0, NULL, NULL, handle, NULL, MHD_OPTION_THREAD_POOL_SIZE,
				     threads, MHD_OPTION_END);
	else
		d = MHD_start_daemon(flags, 0, NULL, NULL, handle, NULL, MHD_OPTION_END);
	if (!d || !(info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT))) {
		fprintf(stderr, "bench_mhd_floor: cannot start\n");
		return 1;
	}
	if (!(f = fopen(argv[1], "w")) || fprintf(f, "%u\n", info->port) < 0 || fclose(f)) {
		fprintf(stderr, "bench_mhd_floor: cannot write %s\n", argv[1]);
		return 1;
	}
	pause();
	MHD_stop_daemon(d);
	return 0;
}
