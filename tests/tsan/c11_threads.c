/*
 * c11_threads.c — C11 <threads.h> on top of pthreads, linked into the
 * ThreadSanitizer build only (make SANITIZE=thread).
 *
 * librdkafka starts its threads and takes its locks through glibc's C11
 * thrd_create/mtx_lock/cnd_wait, which call glibc's pthread internals
 * directly: ThreadSanitizer (gcc 12, clang 14) intercepts pthread_create and
 * pthread_mutex_lock but not these, so a TSan build crashed at start (a thread
 * it never saw) and could not see librdkafka's locks. Defined in the
 * executable, these definitions take precedence over glibc's for every shared
 * library (ELF symbol interposition), and each forwards to the intercepted
 * pthread call. glibc's thrd_t is a pthread_t, and its mtx_t and cnd_t have
 * the size of pthread_mutex_t and pthread_cond_t (static-asserted), as in
 * glibc's own implementation.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <threads.h>

_Static_assert(sizeof(thrd_t) == sizeof(pthread_t), "thrd_t is a pthread_t");
_Static_assert(sizeof(mtx_t) == sizeof(pthread_mutex_t), "mtx_t holds a pthread_mutex_t");
_Static_assert(sizeof(cnd_t) == sizeof(pthread_cond_t), "cnd_t holds a pthread_cond_t");
_Static_assert(sizeof(once_flag) == sizeof(pthread_once_t), "once_flag is a pthread_once_t");

#define MTX(m) ((pthread_mutex_t *)(void *)(m))
#define CND(c) ((pthread_cond_t *)(void *)(c))

static int thrd_result(int rc)
{
	return rc == 0 ? thrd_success : rc == ENOMEM ? thrd_nomem :
	       rc == ETIMEDOUT ? thrd_timedout : rc == EBUSY ? thrd_busy : thrd_error;
}

struct start {
	thrd_start_t func; /* the C11 start function */
	void *arg;         /* its argument */
};

static void *trampoline(void *p)
{
	struct start s = *(struct start *)p;

	free(p);
	return (void *)(intptr_t)s.func(s.arg);
}

int thrd_create(thrd_t *thr, thrd_start_t func, void *arg)
{
	struct start *s = malloc(sizeof(*s));
	int rc;

	if (!s)
		return thrd_nomem;
	s->func = func;
	s->arg = arg;
	if ((rc = pthread_create((pthread_t *)thr, NULL, trampoline, s)))
		free(s);
	return thrd_result(rc);
}

int thrd_join(thrd_t thr, int *res)
{
	void *r;
	int rc = pthread_join((pthread_t)thr, &r);

	if (!rc && res)
		*res = (int)(intptr_t)r;
	return thrd_result(rc);
}

int thrd_detach(thrd_t thr)
{
	return thrd_result(pthread_detach((pthread_t)thr));
}

int mtx_init(mtx_t *m, int type)
{
	pthread_mutexattr_t a;
	int rc;

	pthread_mutexattr_init(&a);
	if (type & mtx_recursive)
		pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
	rc = pthread_mutex_init(MTX(m), &a);
	pthread_mutexattr_destroy(&a);
	return thrd_result(rc);
}

int mtx_lock(mtx_t *m)
{
	return thrd_result(pthread_mutex_lock(MTX(m)));
}

int mtx_trylock(mtx_t *m)
{
	return thrd_result(pthread_mutex_trylock(MTX(m)));
}

int mtx_timedlock(mtx_t *restrict m, const struct timespec *restrict ts)
{
	return thrd_result(pthread_mutex_timedlock(MTX(m), ts));
}

int mtx_unlock(mtx_t *m)
{
	return thrd_result(pthread_mutex_unlock(MTX(m)));
}

void mtx_destroy(mtx_t *m)
{
	pthread_mutex_destroy(MTX(m));
}

int cnd_init(cnd_t *c)
{
	return thrd_result(pthread_cond_init(CND(c), NULL));
}

int cnd_signal(cnd_t *c)
{
	return thrd_result(pthread_cond_signal(CND(c)));
}

int cnd_broadcast(cnd_t *c)
{
	return thrd_result(pthread_cond_broadcast(CND(c)));
}

int cnd_wait(cnd_t *c, mtx_t *m)
{
	return thrd_result(pthread_cond_wait(CND(c), MTX(m)));
}

int cnd_timedwait(cnd_t *restrict c, mtx_t *restrict m, const struct timespec *restrict ts)
{
	return thrd_result(pthread_cond_timedwait(CND(c), MTX(m), ts));
}

void cnd_destroy(cnd_t *c)
{
	pthread_cond_destroy(CND(c));
}

void call_once(once_flag *flag, void (*func)(void))
{
	pthread_once((pthread_once_t *)(void *)flag, func);
}
