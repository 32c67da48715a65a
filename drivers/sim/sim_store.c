/*
 * Where the simulated hosts live: in memory for the connection, or in a
 * JSON db file shared by processes:
 *   {"version":1,"hosts":{"<lineage>/<resource>":record},"ids":{id:key}}
 * ("ids" is an index kept in step with "hosts"; rebuilt when absent).
 * The db is read-modify-written under an exclusive flock on DB.lock (a
 * separate file, because the db itself is replaced by rename on save).
 */
#include "sim.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

static atomic_uint sim_tmp_counter;

static char *path_with(const char *a, const char *suffix)
{
	size_t n = strlen(a) + strlen(suffix) + 1;
	char *p = malloc(n);

	if (p)
		snprintf(p, n, "%s%s", a, suffix);
	return p;
}

static int db_lock(const char *db, int *fd, struct lf_err *err)
{
	char *lock = path_with(db, ".lock");

	if (!lock)
		return sim_host->err_set(err, LF_ERROR, "sim: out of memory");
	*fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	free(lock);
	if (*fd < 0)
		return sim_host->err_set(err, LF_ERROR, "sim: cannot open lock of db '%s': %s",
					 db, strerror(errno));
	while (flock(*fd, LOCK_EX) != 0) {
		if (errno != EINTR)
			return sim_host->err_set(err, LF_ERROR, "sim: cannot lock db '%s': %s",
						 db, strerror(errno));
	}
	return 0;
}

static void ids_rebuild(json_t *root)
{
	json_t *ids = json_object(), *rec;
	const char *name, *id;

	json_object_foreach(json_object_get(root, "hosts"), name, rec) {
		id = json_string_value(json_object_get(rec, "id"));
		if (id)
			json_object_set_new(ids, id, json_string(name));
	}
	json_object_set_new(root, "ids", ids);
}

static int db_load(const char *db, json_t **out, struct lf_err *err)
{
	json_error_t jerr;
	json_t *root;

	*out = NULL;
	if (access(db, F_OK) != 0 && errno == ENOENT) {
		*out = json_pack("{s:i,s:{},s:{}}", "version", 1, "hosts", "ids");
		return *out ? 0 : sim_host->err_set(err, LF_ERROR, "sim: out of memory");
	}
	root = json_load_file(db, 0, &jerr);
	if (!root)
		return sim_host->err_set(err, LF_ERROR, "sim: db '%s' is not valid JSON: line %d: %s",
					 db, jerr.line, jerr.text);
	if (!json_is_object(json_object_get(root, "hosts"))) {
		json_decref(root);
		return sim_host->err_set(err, LF_ERROR,
					 "sim: db '%s' has no \"hosts\" object", db);
	}
	if (!json_is_object(json_object_get(root, "ids")))
		ids_rebuild(root);
	*out = root;
	return 0;
}

static int db_save(const char *db, const json_t *root, struct lf_err *err)
{
	char sfx[64];
	char *tmp;
	FILE *f;
	int rc = 0;

	snprintf(sfx, sizeof(sfx), ".tmp.%ld.%u", (long)getpid(),
		 atomic_fetch_add(&sim_tmp_counter, 1u));
	tmp = path_with(db, sfx);
	if (!tmp)
		return sim_host->err_set(err, LF_ERROR, "sim: out of memory");
	f = fopen(tmp, "we");
	/* no fsync: a simulation needs atomic replacement for concurrent
	 * readers, not durability across a machine crash */
	if (!f || json_dumpf(root, f, JSON_COMPACT) != 0 ||
	    fflush(f) != 0)
		rc = sim_host->err_set(err, LF_ERROR, "sim: cannot write db '%s': %s", tmp,
				       strerror(errno));
	if (f && fclose(f) != 0 && rc == 0)
		rc = sim_host->err_set(err, LF_ERROR, "sim: cannot write db '%s'", tmp);
	if (rc == 0 && rename(tmp, db) != 0)
		rc = sim_host->err_set(err, LF_ERROR, "sim: cannot replace db '%s': %s", db,
				       strerror(errno));
	if (rc != 0)
		unlink(tmp);
	free(tmp);
	return rc;
}

static int db_txn(const char *db, int write, sim_txn_fn fn, void *arg,
		  struct lf_err *err)
{
	json_t *root = NULL;
	int fd = -1, rc;

	rc = db_lock(db, &fd, err);
	if (rc == 0)
		rc = db_load(db, &root, err);
	if (rc == 0)
		rc = fn(root, arg, err);
	if (rc == 0 && write)
		rc = db_save(db, root, err);
	json_decref(root);
	if (fd >= 0)
		close(fd); /* releases the lock */
	return rc;
}

int sim_store_txn(struct lf_driver_conn *c, int write, sim_txn_fn fn,
		  void *arg, struct lf_err *err)
{
	int rc;

	if (c->cfg.db)
		return db_txn(c->cfg.db, write, fn, arg, err);
	pthread_mutex_lock(&c->mu);
	rc = fn(c->mem, arg, err);
	pthread_mutex_unlock(&c->mu);
	return rc;
}
