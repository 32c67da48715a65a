/*
 * Named crash points for crash tests (the way SQLite tests crashes).
 *
 *   LEDGERFORM_CRASH_AT=NAME:N   the N-th time (1-based) this process passes
 *                                lf_crash_point("NAME"), it dies by SIGKILL
 *
 * A no-op unless the variable is set; it is read once per translation unit.
 * Header-only (static inline) so drivers, which never link core internals,
 * can use it too. The counter is per translation unit: give each point a
 * name unique to one file ("local.create.after_marker").
 */
#ifndef LF_CRASHPOINT_H
#define LF_CRASHPOINT_H

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct lf__crash_cfg {
	int active;
	char name[96];
	long at;
	atomic_long passes;
};

static struct lf__crash_cfg lf__crash;
static pthread_once_t lf__crash_once = PTHREAD_ONCE_INIT;

static inline void lf__crash_read(void)
{
	const char *v = getenv("LEDGERFORM_CRASH_AT");
	const char *colon = v ? strrchr(v, ':') : NULL;
	long at = colon ? strtol(colon + 1, NULL, 10) : 0;
	size_t n = colon ? (size_t)(colon - v) : 0;

	if (!colon || at < 1 || n == 0 || n >= sizeof(lf__crash.name))
		return;
	memcpy(lf__crash.name, v, n);
	lf__crash.name[n] = '\0';
	lf__crash.at = at;
	lf__crash.active = 1;
}

static inline void lf_crash_point(const char *name)
{
	pthread_once(&lf__crash_once, lf__crash_read);
	if (!lf__crash.active || strcmp(name, lf__crash.name) != 0)
		return;
	if (atomic_fetch_add(&lf__crash.passes, 1) + 1 == lf__crash.at) {
		raise(SIGKILL);
		_exit(137);
	}
}

#endif
