/*
 * The executor: a worker pool walks the action DAG.
 *
 * Edges: a create/update/replace waits for the actions on the resources it
 * depends on; a delete waits for the deletes of the resources that depend
 * on it (reverse order). A failed action starts none of its dependents
 * (they are "skipped"); independent branches go on. Finished actions are
 * recorded in the state document on the scheduler thread and the document
 * is written after each batch of completions, so an apply cut off at any
 * moment leaves a state that records every finished step.
 * Transient driver errors (LF_ERETRY) are retried with exponential backoff
 * and full jitter, bounded by retry_max attempts.
 * First SIGINT/SIGTERM: start nothing new, let running actions finish.
 * Second: also ask drivers to cancel their waits (host->cancelled()).
 */
#include "plans/plan.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/plugin/plugin.h"
#include "core/spec/spec.h"
#include "core/util/ctx.h"
#include "core/util/util.h"
#include "state/state.h"

enum job_state { J_WAIT, J_READY, J_RUNNING, J_DONE, J_FAILED, J_SKIPPED };

struct job {
	const struct lf_action *act;
	struct lf_resource *des;         /* NULL for delete; its outputs are
					    set when the job is done, for
					    its dependents */
	const struct lf_resource *cur;   /* NULL for create */
	enum job_state st;
	size_t pending;                  /* unfinished prerequisites */
	size_t *next;                    /* dependents (job indexes) */
	size_t nnext, capnext;
	struct lf_err err;
	json_t *outputs;
	bool deleted;                    /* replace: delete part done */
	double secs;
	unsigned int attempts;
	bool recorded;                   /* its result is in a written state */
	char *skip_reason;
	int lane;                        /* provider limit index, -1: none */
	json_t *held;                    /* des's attrs before resolve (the
					    plan's action borrows them) */
};

/* a provider's limit on actions at once (spec providers.X.parallelism) */
struct lane {
	const char *name;                /* borrowed from the spec */
	unsigned int limit, running, max_running;
};

struct sched {
	struct job *jobs;
	size_t n;
	size_t *ready, nready, rhead;    /* FIFO of job indexes */
	size_t *donev, ndone;            /* completions to record */
	size_t *unblocked, nunblocked;   /* ready once the state is written */
	size_t running, finished, total_work, max_running, commits;
	bool commit_failed;
	pthread_mutex_t mu;
	pthread_cond_t work_cv, done_cv;
	bool quit;
	const struct lf_apply_env *env;
	const struct lf_apply_opts *opts;
	unsigned int seed;
	struct lane *lanes;
	size_t nlanes;
	char lock_lost[LF_ERR_MSG_MAX]; /* why the apply stopped, or "" */
	size_t skipped_waiting;    /* skipped behind an update waiting for signatures */
	struct lf_state_batch batch;     /* changes since the last commit */
};

/* the stop level lives in the process's context (core/util/ctx.h), the
 * one place a signal handler can reach */
static inline int stop_level_now(void)
{
	return atomic_load(&lf_ctx_current()->stop);
}

static void on_signal(int sig)
{
	struct lf_ctx *c = lf_ctx_current();
	int v = atomic_load(&c->stop);

	(void)sig;
	if (v < 3)
		atomic_store(&c->stop, v + 1);
}

void lf_exec_install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

void lf_exec_request_stop(int level)
{
	atomic_store(&lf_ctx_current()->stop, level);
}

int lf_exec_stop_level(void)
{
	return stop_level_now();
}

static void job_add_next(struct job *from, size_t to)
{
	if (from->nnext == from->capnext) {
		from->capnext = from->capnext ? from->capnext * 2 : 4;
		from->next = lf_xrealloc(from->next, from->capnext * sizeof(size_t));
	}
	from->next[from->nnext++] = to;
}

/* address -> job index, for the actions that do work */
static json_t *job_index(const struct sched *s)
{
	json_t *ix = json_object();
	size_t i;

	for (i = 0; i < s->n; i++)
		json_object_set_new(ix, s->jobs[i].act->addr, json_integer((json_int_t)i));
	return ix;
}

static void build_edges(struct sched *s)
{
	json_t *ix = job_index(s);
	size_t i, k;

	for (i = 0; i < s->n; i++) {
		struct job *j = &s->jobs[i];
		const struct lf_resource *r = j->act->kind == LF_ACT_DELETE ? j->cur : j->des;

		for (k = 0; r && k < r->ndeps; k++) {
			json_t *d = json_object_get(ix, r->deps[k]);
			struct job *dj;

			if (!d)
				continue;
			dj = &s->jobs[json_integer_value(d)];
			if (j->act->kind == LF_ACT_DELETE) {
				/* the dependency is deleted after us */
				if (dj->act->kind != LF_ACT_DELETE)
					continue;
				job_add_next(j, (size_t)json_integer_value(d));
				dj->pending++;
			} else if (dj->act->kind != LF_ACT_DELETE) {
				job_add_next(dj, i);
				j->pending++;
			}
		}
	}
	json_decref(ix);
}

static void push_ready(struct sched *s, size_t i)
{
	s->jobs[i].st = J_READY;
	s->ready[s->nready++] = i;
	pthread_cond_signal(&s->work_cv);
}

static uint64_t backoff_ms(struct sched *s, unsigned int attempt)
{
	uint64_t ceil = s->opts->retry_base_ms;
	unsigned int k;
	int r;

	for (k = 1; k < attempt && ceil < s->opts->retry_cap_ms; k++)
		ceil *= 2;
	if (ceil > s->opts->retry_cap_ms)
		ceil = s->opts->retry_cap_ms;
	/* "equal jitter": half fixed, half random; the seed is shared by
	 * the workers, so it is stepped under the lock */
	pthread_mutex_lock(&s->mu);
	r = rand_r(&s->seed);
	pthread_mutex_unlock(&s->mu);
	return ceil / 2 + (uint64_t)r % (ceil / 2 + 1);
}

/* the backoff, or longer when the driver said when a retry makes sense (a
 * cloud's Retry-After), at most a minute */
static uint64_t retry_wait_ms(struct sched *s, const struct job *j)
{
	uint64_t ms = backoff_ms(s, j->attempts);

	if (j->err.retry_after_ms > ms)
		ms = j->err.retry_after_ms < 60000 ? j->err.retry_after_ms : 60000;
	return ms;
}

static void sleep_unless_cancelled(uint64_t ms)
{
	while (ms > 0 && stop_level_now() < 2) {
		uint64_t step = ms > 50 ? 50 : ms;

		lf_sleep_ms(step);
		ms -= step;
	}
}

static int run_once(struct sched *s, struct job *j, const struct lf_rtype *rt)
{
	const struct lf_apply_env *env = s->env;
	int rc = 0;

	lf_err_clear(&j->err);
	json_decref(j->outputs);
	j->outputs = NULL;
	switch (j->act->kind) {
	case LF_ACT_CREATE:
		return rt->create(env, j->des, &j->outputs, &j->err);
	case LF_ACT_UPDATE:
		if (!rt->update)
			return lf_err_set(&j->err, LF_EUNSUPPORTED,
					  "type '%s' cannot update in place", rt->type);
		return rt->update(env, j->cur, j->des, &j->outputs, &j->err);
	case LF_ACT_REPLACE:
		if (!j->deleted) {
			rc = rt->delete(env, j->cur, &j->err);
			if (rc != 0)
				return rc;
			j->deleted = true;
		}
		return rt->create(env, j->des, &j->outputs, &j->err);
	case LF_ACT_DELETE:
		return rt->delete(env, j->cur, &j->err);
	default:
		return 0;
	}
}

static int run_job(struct sched *s, struct job *j)
{
	const struct lf_rtype *rt = lf_rtype_find(j->act->type);
	double t0 = lf_now_s();
	int rc;

	if (!rt)
		return lf_err_set(&j->err, LF_EINVALID, "no resource type '%s'", j->act->type);
	/* outputs flow: what the plan knew only after apply (a host's new
	 * address in its node's TLS SANs) from this apply's */
	if (j->des && !j->held)
		lf_plan_resolve(s->env, j->des, NULL, &j->held);
	for (;;) {
		j->attempts++;
		rc = run_once(s, j, rt);
		if (rc != LF_ERETRY || j->attempts >= s->opts->retry_max ||
		    stop_level_now() >= 2)
			break;
		sleep_unless_cancelled(retry_wait_ms(s, j));
	}
	if (rc == LF_ERETRY && j->attempts > 1) {
		size_t n = strlen(j->err.msg);

		snprintf(j->err.msg + n, sizeof(j->err.msg) - n,
			 " (gave up after %u attempts)", j->attempts);
	}
	j->secs = lf_now_s() - t0;
	if (rc != 0 && j->err.msg[0] == '\0')
		lf_err_set(&j->err, rc, "%s failed (%s)", lf_action_name(j->act->kind),
			   lf_errcode_name(rc));
	return rc;
}

/* the first ready job whose provider has room, moved to the queue head;
 * -1 when none can start now */
static long pick(struct sched *s)
{
	size_t k;

	for (k = s->rhead; k < s->nready; k++) {
		size_t i = s->ready[k];
		int l = s->jobs[i].lane;

		if (l >= 0 && s->lanes[l].running >= s->lanes[l].limit)
			continue;
		s->ready[k] = s->ready[s->rhead];
		s->ready[s->rhead] = i;
		return (long)k;
	}
	return -1;
}

static void *worker(void *arg)
{
	struct sched *s = arg;

	pthread_mutex_lock(&s->mu);
	for (;;) {
		size_t i;
		long k = -1;
		int rc, l;

		while (!s->quit) {
			if (stop_level_now() == 0)
				k = pick(s);
			if (k >= 0)
				break;
			pthread_cond_wait(&s->work_cv, &s->mu);
		}
		if (s->quit)
			break;
		i = s->ready[s->rhead++];
		l = s->jobs[i].lane;
		if (l >= 0 && ++s->lanes[l].running > s->lanes[l].max_running)
			s->lanes[l].max_running = s->lanes[l].running;
		s->jobs[i].st = J_RUNNING;
		s->running++;
		if (s->running > s->max_running)
			s->max_running = s->running;
		pthread_mutex_unlock(&s->mu);
		if (s->opts->on_action)
			s->opts->on_action(s->opts->payload, s->jobs[i].act, LF_ACTION_START, 0, NULL);
		rc = run_job(s, &s->jobs[i]);
		pthread_mutex_lock(&s->mu);
		if (l >= 0) {
			s->lanes[l].running--;
			pthread_cond_broadcast(&s->work_cv); /* room on a lane */
		}
		s->jobs[i].st = rc == 0 ? J_DONE : J_FAILED;
		s->running--;
		s->donev[s->ndone++] = i;
		pthread_cond_signal(&s->done_cv);
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

/* ---- scheduler thread ---- */

/* a create (or the create half of a replace) that failed after the
 * driver made something: kept as partial, so the next apply finds it */
static bool failed_with_outputs(const struct job *j)
{
	return j->st == J_FAILED && j->des && json_object_size(j->outputs) > 0 &&
	       (j->act->kind == LF_ACT_CREATE ||
		(j->act->kind == LF_ACT_REPLACE && j->deleted));
}

/* the job's result into the state document and the next commit's batch
 * (the per-resource changes a shared backend writes; the file backend
 * writes the whole document) */
static void record(struct sched *s, struct lf_state_doc *doc, struct job *j)
{
	json_t *res = doc->resources;

	if ((j->st == J_DONE && j->act->kind != LF_ACT_DELETE) || failed_with_outputs(j)) {
		struct lf_resource tmp = *j->des;
		json_t *rec;

		tmp.outputs = j->outputs;
		tmp.partial = j->st != J_DONE;
		rec = lf_resource_to_json(&tmp);
		lf_state_batch_put(&s->batch, j->act->addr, rec);
		json_object_set_new(res, j->act->addr, rec);
		if (j->st == J_DONE) { /* dependents see this apply's outputs */
			json_decref(j->des->outputs);
			j->des->outputs = json_incref(j->outputs);
		}
	} else if (j->st == J_FAILED && j->err.code == LF_EPENDING && j->cur &&
		   j->outputs) {
		/* waiting for signatures: the prior record, outputs saying so */
		struct lf_resource tmp = *j->cur;
		json_t *rec;

		tmp.outputs = j->outputs;
		rec = lf_resource_to_json(&tmp);
		lf_state_batch_put(&s->batch, j->act->addr, rec);
		json_object_set_new(res, j->act->addr, rec);
	} else if (j->st == J_DONE || (j->st == J_FAILED && j->deleted)) {
		/* deleted, or a replace whose delete half finished */
		lf_state_batch_delete(&s->batch, j->act->addr);
		json_object_del(res, j->act->addr);
	}
}

static const char *done_word(enum lf_action_kind k)
{
	switch (k) {
	case LF_ACT_CREATE: return "creation";
	case LF_ACT_UPDATE: return "update";
	case LF_ACT_REPLACE: return "replacement";
	case LF_ACT_DELETE: return "destruction";
	default: return "action";
	}
}

static void progress(struct sched *s, struct job *j)
{
	FILE *f = s->opts->progress;

	if (s->opts->on_action)
		s->opts->on_action(s->opts->payload, j->act, j->st == J_DONE ? LF_ACTION_DONE
				   : LF_ACTION_FAILED, j->secs, j->err.msg);
	if (!f)
		return;
	if (s->opts->tty)
		fputs("\r\033[K", f); /* clear the status line */
	if (j->st == J_DONE)
		fprintf(f, "%s: %s complete after %.2fs [%zu/%zu]\n", j->act->addr,
			done_word(j->act->kind), j->secs, s->finished, s->total_work);
	else if (j->err.code == LF_EPENDING)
		fprintf(f, "%s: %s waiting for signatures [%zu/%zu]\n", j->act->addr,
			lf_action_name(j->act->kind), s->finished, s->total_work);
	else
		fprintf(f, "%s: %s FAILED after %.2fs [%zu/%zu]: %s\n", j->act->addr,
			lf_action_name(j->act->kind), j->secs, s->finished,
			s->total_work, j->err.msg);
	fflush(f);
}

/* on a terminal: a status line under the finished ones, redrawn */
static void status_line(struct sched *s, double t0)
{
	FILE *f = s->opts->progress;

	if (!f || !s->opts->tty)
		return;
	fprintf(f, "\r\033[K  %zu/%zu done, %zu running, %.0fs elapsed%s", s->finished,
		s->total_work, s->running, lf_now_s() - t0,
		stop_level_now() ? " (stopping: waiting for running actions)" : "");
	fflush(f);
}

static void skip_dependents(struct sched *s, size_t i, const char *why)
{
	struct job *j = &s->jobs[i];
	size_t k;

	for (k = 0; k < j->nnext; k++) {
		struct job *d = &s->jobs[j->next[k]];

		if (d->st != J_WAIT)
			continue;
		d->st = J_SKIPPED;
		d->skip_reason = lf_xasprintf("not started: %s %s", why, j->act->addr);
		s->skipped_waiting += strncmp(why, "waiting", 7) == 0;
		skip_dependents(s, j->next[k], strncmp(why, "waiting", 7) == 0 ? why :
				"dependency failed or skipped:");
	}
}

static void finish_job(struct sched *s, struct lf_state_doc *doc, size_t i)
{
	struct job *j = &s->jobs[i];
	size_t k;

	s->finished++;
	record(s, doc, j);
	progress(s, j);
	if (j->st != J_DONE) {
		skip_dependents(s, i, j->err.code == LF_EPENDING ?
				"waiting for signatures on" : "dependency failed:");
		return;
	}
	for (k = 0; k < j->nnext; k++) {
		struct job *d = &s->jobs[j->next[k]];

		if (d->st == J_WAIT && --d->pending == 0)
			s->unblocked[s->nunblocked++] = j->next[k];
	}
}

static int commit(struct sched *s, struct lf_state *state,
		  struct lf_state_doc *doc, struct lf_err *err)
{
	struct lf_state_version v;
	int rc;

	pthread_mutex_unlock(&s->mu);
	/* one compare-and-swap of the batch on (lineage, serial) */
	memcpy(v.lineage, doc->lineage, sizeof(v.lineage));
	v.lineage[sizeof(v.lineage) - 1] = '\0';
	v.serial = doc->serial;
	s->batch.all = doc->resources;
	rc = lf_state_commit(state, &s->batch, &v, err);
	if (rc == 0) {
		memcpy(doc->lineage, v.lineage, sizeof(doc->lineage));
		doc->serial = v.serial;
	}
	lf_state_batch_clear(&s->batch);
	s->commits += rc == 0;
	if (rc == 0 && s->opts->on_commit)
		s->opts->on_commit(s->opts->payload, doc->serial);
	pthread_mutex_lock(&s->mu);
	return rc;
}

/* drain completions until nothing runs and nothing can start */
/* a lost state lock (a lease that expired, a lock file taken away) stops
 * the apply as a first ^C does: nothing more starts, running actions
 * finish and are recorded if the state still accepts them */
static void lock_watch(struct sched *s, struct lf_state *state)
{
	struct lf_err lerr = LF_ERR_INIT;

	if (s->lock_lost[0] || lf_state_lock_lost(state, &lerr) != 1)
		return;
	snprintf(s->lock_lost, sizeof(s->lock_lost), "%s",
		 lerr.msg[0] ? lerr.msg : "the state lock was lost");
	if (s->opts->progress) {
		fprintf(s->opts->progress, "%sledgerform: %s: no more actions start; running ones finish\n",
			s->opts->tty ? "\r\033[K" : "", s->lock_lost);
		fflush(s->opts->progress);
	}
	lf_exec_request_stop(1);
}

static int schedule(struct sched *s, struct lf_state *state,
		    struct lf_state_doc *doc, struct lf_err *err)
{
	int rc = 0;
	double t0 = lf_now_s();

	pthread_mutex_lock(&s->mu);
	for (;;) {
		struct timespec ts;
		size_t k, batch;

		lock_watch(s, state);
		if (s->ndone > 0) {
			batch = s->ndone;
			for (k = 0; k < batch; k++)
				finish_job(s, doc, s->donev[k]);
			rc = commit(s, state, doc, err);
			if (rc != 0) {
				s->commit_failed = true;
				lf_exec_request_stop(1);
				break;
			}
			/* completions that came while writing wait for the next */
			for (k = 0; k < batch; k++)
				s->jobs[s->donev[k]].recorded = true;
			s->ndone -= batch;
			memmove(s->donev, s->donev + batch, s->ndone * sizeof(size_t));
			/* dependents start only once their inputs are on disk */
			for (k = 0; k < s->nunblocked && stop_level_now() == 0; k++)
				push_ready(s, s->unblocked[k]);
			s->nunblocked = 0;
			continue;
		}
		if (s->running == 0 && (s->rhead == s->nready || stop_level_now() >= 1))
			break;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 100 * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&s->done_cv, &s->mu, &ts);
		status_line(s, t0);
		if (stop_level_now() >= 2)
			lf_host_set_cancelled(1);
	}
	s->quit = true;
	pthread_cond_broadcast(&s->work_cv);
	pthread_mutex_unlock(&s->mu);
	if (s->opts->progress && s->opts->tty)
		fputs("\r\033[K", s->opts->progress);
	return rc;
}

/* the lane of a job: its provider, when that provider sets a limit */
static int job_lane(struct sched *s, const struct job *j)
{
	const struct lf_rtype *rt = lf_rtype_find(j->act->type);
	const struct lf_resource *r = j->des ? j->des : j->cur;
	const struct lf_provider *p;
	const char *name;
	size_t l;

	if (!rt || !rt->lane || !r || !s->env->spec)
		return -1;
	name = rt->lane(s->env, r);
	p = name ? lf_spec_provider(s->env->spec, name) : NULL;
	if (!p || p->parallelism == 0)
		return -1;
	for (l = 0; l < s->nlanes; l++)
		if (strcmp(s->lanes[l].name, p->name) == 0)
			return (int)l;
	s->lanes = lf_xrealloc(s->lanes, (s->nlanes + 1) * sizeof(*s->lanes));
	s->lanes[s->nlanes].name = p->name;
	s->lanes[s->nlanes].limit = p->parallelism;
	s->lanes[s->nlanes].running = 0;
	s->lanes[s->nlanes].max_running = 0;
	return (int)s->nlanes++;
}

static void jobs_init(struct sched *s, const struct lf_plan *plan,
		      struct lf_rset *desired, const struct lf_rset *current)
{
	size_t i;

	s->jobs = lf_xcalloc(plan->n + 1, sizeof(*s->jobs));
	for (i = 0; i < plan->n; i++) {
		const struct lf_action *a = &plan->v[i];
		struct job *j;

		if (a->kind == LF_ACT_NOOP)
			continue;
		j = &s->jobs[s->n++];
		j->act = a;
		j->des = a->kind == LF_ACT_DELETE ? NULL : lf_rset_get(desired, a->addr);
		j->cur = a->kind == LF_ACT_CREATE ? NULL : lf_rset_get(current, a->addr);
		j->lane = job_lane(s, j);
	}
	s->total_work = s->n;
	s->ready = lf_xcalloc(s->n + 1, sizeof(size_t));
	s->donev = lf_xcalloc(s->n + 1, sizeof(size_t));
	s->unblocked = lf_xcalloc(s->n + 1, sizeof(size_t));
}

static char *summarize(struct sched *s, struct lf_apply_result *res)
{
	struct lf_buf b = LF_BUF_INIT;
	size_t i;

	for (i = 0; i < s->n; i++) {
		struct job *j = &s->jobs[i];

		if (j->attempts > 1)
			res->retries += j->attempts - 1;
		switch (j->st) {
		case J_DONE:
			res->done++;
			if (!j->recorded) {
				res->unrecorded++;
				lf_buf_printf(&b, "  %s: %s finished but is NOT recorded in the "
					      "state (the state write failed)\n", j->act->addr,
					      lf_action_name(j->act->kind));
			}
			break;
		case J_FAILED:
			if (j->err.code == LF_EPENDING) {
				res->waiting++;
				lf_buf_printf(&b, "  %s: %s\n", j->act->addr, j->err.msg);
				break;
			}
			res->failed++;
			lf_buf_printf(&b, "  %s: %s failed: %s\n", j->act->addr,
				      lf_action_name(j->act->kind), j->err.msg);
			break;
		case J_SKIPPED:
			res->skipped++;
			lf_buf_printf(&b, "  %s: %s\n", j->act->addr, j->skip_reason);
			break;
		default:
			res->not_started++;
			break;
		}
	}
	return b.data;
}

static void jobs_free(struct sched *s)
{
	size_t i;

	for (i = 0; i < s->n; i++) {
		free(s->jobs[i].next);
		free(s->jobs[i].skip_reason);
		json_decref(s->jobs[i].outputs);
		json_decref(s->jobs[i].held);
	}
	lf_state_batch_clear(&s->batch);
	free(s->jobs);
	free(s->ready);
	free(s->donev);
	free(s->unblocked);
	free(s->lanes);
}

unsigned int lf_plan__start_threads(pthread_t *th, unsigned int n,
				    void *(*fn)(void *), void *arg)
{
	unsigned int t;

	for (t = 0; t < n; t++)
		if (pthread_create(&th[t], NULL, fn, arg) != 0)
			break;
	return t;
}

int lf_plan_apply(const struct lf_plan *plan, const struct lf_apply_env *env,
		  struct lf_rset *desired, struct lf_state *state,
		  struct lf_state_doc *doc, const struct lf_apply_opts *opts,
		  struct lf_apply_result *res, struct lf_err *err)
{
	struct sched s;
	pthread_t *th;
	unsigned int nth, t;
	size_t i;
	int rc;

	memset(&s, 0, sizeof(s));
	memset(res, 0, sizeof(*res));
	if (stop_level_now() >= 1) {
		res->interrupted = true;
		return lf_err_set(err, LF_ECANCELED, "interrupted before apply started");
	}
	if (lf_plan_check_records(env->current, err) != 0)
		return err->code;
	lf_host_set_cancelled(0);
	s.env = env;
	s.opts = opts;
	s.seed = (unsigned int)time(NULL) ^ (unsigned int)getpid();
	pthread_mutex_init(&s.mu, NULL);
	pthread_cond_init(&s.work_cv, NULL);
	pthread_cond_init(&s.done_cv, NULL);
	jobs_init(&s, plan, desired, env->current);
	build_edges(&s);
	for (i = 0; i < s.n; i++)
		if (s.jobs[i].pending == 0)
			push_ready(&s, i);
	nth = opts->parallelism ? opts->parallelism : 1;
	if (nth > s.n)
		nth = s.n ? (unsigned int)s.n : 1;
	th = lf_xcalloc(nth, sizeof(*th));
	nth = lf_plan__start_threads(th, nth, worker, &s);
	if (nth == 0)
		rc = lf_err_set(err, LF_ERROR, "cannot start any worker thread; nothing was done");
	else
		rc = schedule(&s, state, doc, err);
	for (t = 0; t < nth; t++)
		pthread_join(th[t], NULL);
	free(th);
	res->interrupted = stop_level_now() >= 1;
	res->max_running = s.max_running;
	for (i = 0; i < s.nlanes; i++)
		if (s.lanes[i].max_running > res->max_lane_running)
			res->max_lane_running = s.lanes[i].max_running;
	res->commits = s.commits;
	res->commit_failed = s.commit_failed;
	res->summary = summarize(&s, res);
	jobs_free(&s);
	pthread_mutex_destroy(&s.mu);
	pthread_cond_destroy(&s.work_cv);
	pthread_cond_destroy(&s.done_cv);
	if (rc == 0 && s.lock_lost[0])
		rc = lf_err_set(err, LF_ECONFLICT, "%s; %zu of %zu actions did not start",
				s.lock_lost, res->failed + res->skipped + res->not_started,
				s.total_work);
	if (rc == 0 && res->waiting && !res->failed && res->skipped == s.skipped_waiting &&
	    !res->not_started)
		rc = lf_err_set(err, LF_EPENDING, "%zu action%s waiting for signatures",
				res->waiting, res->waiting == 1 ? "" : "s");
	if (rc == 0 && (res->failed || res->skipped || res->not_started))
		rc = lf_err_set(err, res->interrupted ? LF_ECANCELED : LF_ERROR,
				"%zu of %zu actions did not complete",
				res->failed + res->skipped + res->not_started, s.total_work);
	return rc;
}
