/*
 * api_guard.c — keeps the API reachable under slow and idle clients.
 *
 * libmicrohttpd's connection timeout (api.timeout_s) only closes a connection
 * that is idle: a slowloris client sending one header byte a second is never
 * idle and holds its slot forever, and a flood of idle connections fills
 * api.connection_limit for a whole timeout. The guard tracks every connection
 * that is waiting for a request — from accept, or from the end of its previous
 * request on a kept-alive connection, until the request (headers and body) has
 * been received — and drops one:
 *
 *   - past the whole-request deadline (api.request_timeout_s), by a sweeper
 *     thread, however steadily it trickles bytes;
 *   - when its worker thread is at its share of api.connection_limit and a new
 *     connection arrives: the one that has waited longest for a request is
 *     evicted so the newcomer (a health check, say) gets the slot.
 *
 * Connections whose request is being answered (a long export, say) are never
 * dropped by the guard. A connection is dropped with shutdown(2) on its socket:
 * libmicrohttpd sees the end of the stream and closes it in its own thread.
 * Entries are created and removed by libmicrohttpd's connection notifications,
 * which it sends before it closes the socket, so under `lock` a listed socket
 * is always still the connection's own.
 *
 * Thread-safety: every function may be called from any thread.
 */
#define _POSIX_C_SOURCE 200809L
#include <microhttpd.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

#include "api_int.h"
#include "bw_metrics.h"

#define SWEEP_MS 250 /* how often the deadline is checked */

/* One connection known to the guard (libmicrohttpd's socket context). */
struct guard_conn {
	int fd;                     /* its socket (owned by libmicrohttpd) */
	struct guard_worker *w;     /* worker thread that accepted it */
	bool waiting;               /* linked in w's waiting list */
	bool dropped;               /* shut down by the guard: never relinked */
	double since;               /* waiting since (monotonic seconds) */
	struct guard_conn *prev;    /* waiting list neighbours */
	struct guard_conn *next;
};

/* One libmicrohttpd worker thread: its connections and its waiting list. */
struct guard_worker {
	pthread_t thread;           /* the worker */
	unsigned conns;             /* connections it holds */
	struct guard_conn *head;    /* waiting connections, oldest first */
	struct guard_conn *tail;
};

struct api_guard {
	pthread_mutex_t lock;       /* guards everything below */
	pthread_cond_t wake;        /* signals the sweeper to stop */
	pthread_t sweeper;          /* enforces the deadline */
	bool sweeping;              /* sweeper started */
	bool stop;                  /* sweeper should exit */
	double deadline;            /* seconds a request may take to arrive */
	unsigned share;             /* connections a worker holds before evicting */
	unsigned n_workers;         /* workers seen so far */
	unsigned max_workers;       /* size of workers[] */
	struct bw_metric *m_dropped;/* botwatch_api_connections_dropped_total{reason} */
	struct guard_worker workers[]; /* one per libmicrohttpd worker thread */
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void unlink_waiting(struct guard_conn *c)
{
	struct guard_worker *w = c->w;

	if (!c->waiting)
		return;
	if (c->prev)
		c->prev->next = c->next;
	else
		w->head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		w->tail = c->prev;
	c->prev = c->next = NULL;
	c->waiting = false;
}

static void link_waiting(struct guard_conn *c, double since)
{
	struct guard_worker *w = c->w;

	unlink_waiting(c);
	c->since = since;
	c->prev = w->tail;
	if (w->tail)
		w->tail->next = c;
	else
		w->head = c;
	w->tail = c;
	c->waiting = true;
}

/* Drop a waiting connection (lock held): libmicrohttpd closes it shortly. */
static void drop(struct api_guard *g, struct guard_conn *c, const char *reason)
{
	unlink_waiting(c);
	c->dropped = true;
	shutdown(c->fd, SHUT_RDWR);
	bw_counter_add(g->m_dropped, (const char *[]){ reason }, 1);
}

/* The calling thread's worker entry, added on first sight (lock held). */
static struct guard_worker *this_worker(struct api_guard *g)
{
	pthread_t self = pthread_self();

	for (unsigned i = 0; i < g->n_workers; i++)
		if (pthread_equal(g->workers[i].thread, self))
			return &g->workers[i];
	if (g->n_workers == g->max_workers)
		return &g->workers[g->max_workers - 1]; /* cannot happen: one per thread */
	g->workers[g->n_workers].thread = self;
	return &g->workers[g->n_workers++];
}

static void *sweeper_main(void *arg)
{
	struct api_guard *g = arg;
	struct timespec ts;

	pthread_mutex_lock(&g->lock);
	while (!g->stop) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += SWEEP_MS * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&g->wake, &g->lock, &ts);
		double limit = now_s() - g->deadline;
		for (unsigned i = 0; i < g->n_workers; i++)
			while (g->workers[i].head && g->workers[i].head->since <= limit)
				drop(g, g->workers[i].head, "deadline");
	}
	pthread_mutex_unlock(&g->lock);
	return NULL;
}

struct api_guard *api_guard_new(unsigned threads, unsigned conn_limit, unsigned deadline_s)
{
	unsigned n = threads ? threads : 1;
	struct api_guard *g = calloc(1, sizeof(*g) + n * sizeof(g->workers[0]));

	if (!g)
		return NULL;
	g->max_workers = n;
	g->deadline = deadline_s ? deadline_s : API_REQUEST_TIMEOUT_DEFAULT;
	g->share = conn_limit / n ? conn_limit / n : 1;
	g->m_dropped = bw_counter("botwatch_api_connections_dropped_total",
				  "Connections the API dropped before a request arrived: past "
				  "api.request_timeout_s (deadline) or to make room at "
				  "api.connection_limit (evicted).",
				  "reason");
	if (pthread_mutex_init(&g->lock, NULL)) {
		free(g);
		return NULL;
	}
	if (pthread_cond_init(&g->wake, NULL)) {
		pthread_mutex_destroy(&g->lock);
		free(g);
		return NULL;
	}
	return g;
}

unsigned api_guard_mhd_limit(const struct api_guard *g)
{
	return (g->share + 1) * g->max_workers;
}

int api_guard_start(struct api_guard *g)
{
	if (pthread_create(&g->sweeper, NULL, sweeper_main, g))
		return -1;
	g->sweeping = true;
	return 0;
}

void api_guard_free(struct api_guard *g)
{
	if (!g)
		return;
	if (g->sweeping) {
		pthread_mutex_lock(&g->lock);
		g->stop = true;
		pthread_cond_signal(&g->wake);
		pthread_mutex_unlock(&g->lock);
		pthread_join(g->sweeper, NULL);
	}
	/* libmicrohttpd has stopped: every connection was reported closed */
	pthread_cond_destroy(&g->wake);
	pthread_mutex_destroy(&g->lock);
	free(g);
}

void api_guard_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
		      enum MHD_ConnectionNotificationCode code)
{
	struct api_guard *g = cls;
	struct guard_conn *c = *socket_context;
	const union MHD_ConnectionInfo *fd;

	if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
		if (!c)
			return;
		pthread_mutex_lock(&g->lock);
		unlink_waiting(c);
		c->w->conns--;
		pthread_mutex_unlock(&g->lock);
		free(c);
		*socket_context = NULL;
		return;
	}
	fd = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (!fd || !(c = calloc(1, sizeof(*c))))
		return; /* untracked: only the idle timeout applies to it */
	c->fd = fd->connect_fd;
	pthread_mutex_lock(&g->lock);
	c->w = this_worker(g);
	c->w->conns++;
	link_waiting(c, now_s());
	/* over this worker's share: make room by evicting its longest waiter */
	if (c->w->conns > g->share && c->w->head != c)
		drop(g, c->w->head, "evicted");
	pthread_mutex_unlock(&g->lock);
	*socket_context = c;
}

/* The guard's entry for `conn`, or NULL when it is not tracked. */
static struct guard_conn *conn_entry(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *i =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return i ? i->socket_context : NULL;
}

void api_guard_request_received(struct api_guard *g, struct MHD_Connection *conn)
{
	struct guard_conn *c = conn_entry(conn);

	if (!c)
		return;
	pthread_mutex_lock(&g->lock);
	unlink_waiting(c);
	pthread_mutex_unlock(&g->lock);
}

void api_guard_request_done(struct api_guard *g, struct MHD_Connection *conn)
{
	struct guard_conn *c = conn_entry(conn);

	if (!c)
		return;
	pthread_mutex_lock(&g->lock);
	if (!c->dropped)
		link_waiting(c, now_s());
	pthread_mutex_unlock(&g->lock);
}
