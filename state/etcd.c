/*
 * The etcd state backend (etcd v3 through its JSON gateway).
 *
 * Layout under the prefix P (default "/ledgerform/"):
 *   P"header"     {"format_version", "lineage", "serial", "ledgerform_version"}
 *   P"r/" ADDR    one resource record (JSON) per key
 *   P"lock"       the holder record plus "id" (the lease, hex), attached to
 *                 the lease so it disappears when the holder dies
 *
 * A read takes the header and then the resource keys at the header's mod
 * revision, so it sees exactly one committed version. A commit compares the
 * header's mod revision (and, while this handle holds the lock, that the
 * lock key is still on our lease) and puts/deletes the changed resource
 * keys plus the new header in one transaction. A batch larger than one
 * transaction may carry (etcd's default --max-txn-ops is 128, and requests
 * are limited to 1.5 MiB) is written in slices, each under the same
 * compares, with the header last: readers never see a half-written commit
 * because they read at the header's revision. Large slices need the lock.
 * Every commit's first slice also puts P"pending" {"base": the header's
 * mod revision it builds on}. A writer that died between slices leaves
 * resource keys the header never committed, and a pending whose base is
 * still the header's revision: the next writer then puts back, in its
 * own commit, what the header's revision holds for each key changed
 * since (orphan puts deleted or restored, orphan deletes put back).
 */
#include "state/state.h"

#include <inttypes.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util/crashpoint.h"
#include "core/util/util.h"
#include "state/etcd_client.h"

#define ETCD_PREFIX_DEFAULT "/ledgerform/"
#define ETCD_TXN_OPS 100          /* under etcd's default 128 */
#define ETCD_TXN_BYTES (1u << 20) /* under etcd's default 1.5 MiB */
#define ETCD_PAGE 1000            /* keys per range answer */

struct etcd_state {
	struct lf_state base;
	struct lf_etcd_client cl;
	char *prefix;
	char *desc;
	/* the lock: lease, keep-alive thread, loss */
	int64_t lease;             /* 0: not held */
	double ttl;
	pthread_t ka;
	bool ka_running;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool ka_stop;
	atomic_bool lost;
	char lost_msg[LF_ERR_MSG_MAX];
};

static struct etcd_state *es_of(struct lf_state *st)
{
	return (struct etcd_state *)st;
}

static char *key_of(struct etcd_state *es, const char *suffix)
{
	return lf_xasprintf("%s%s", es->prefix, suffix);
}

/* ---- small request builders ---- */

static json_t *i64(int64_t v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%" PRId64, v);
	return json_string(buf);
}

/* an int64 the gateway sent as a string (absent: 0) */
static int64_t get_i64(const json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);

	if (json_is_integer(v))
		return (int64_t)json_integer_value(v);
	return v ? strtoll(json_string_value(v) ? json_string_value(v) : "0", NULL, 10) : 0;
}

static json_t *op_put(const char *key, const char *val, size_t n, int64_t lease)
{
	json_t *put = json_pack("{s:o, s:o}", "key", lf_etcd_b64_str(key), "value",
				lf_etcd_b64(val, n));

	if (lease)
		json_object_set_new(put, "lease", i64(lease));
	return json_pack("{s:o}", "request_put", put);
}

static json_t *op_delete(const char *key)
{
	return json_pack("{s:{s:o}}", "request_delete_range", "key", lf_etcd_b64_str(key));
}

/* compare: key's mod revision (0: the key is absent) */
static json_t *cmp_mod(const char *key, int64_t rev)
{
	if (rev == 0)
		return json_pack("{s:o, s:s, s:s, s:s}", "key", lf_etcd_b64_str(key),
				 "target", "VERSION", "result", "EQUAL", "version", "0");
	return json_pack("{s:o, s:s, s:s, s:o}", "key", lf_etcd_b64_str(key), "target",
			 "MOD", "result", "EQUAL", "mod_revision", i64(rev));
}

static json_t *cmp_lease(const char *key, int64_t lease)
{
	return json_pack("{s:o, s:s, s:s, s:o}", "key", lf_etcd_b64_str(key), "target",
			 "LEASE", "result", "EQUAL", "lease", i64(lease));
}

/* range [key, end) (end NULL: the one key) at rev (0: newest); bkey is
 * the base64 key, taken over */
static int range_b64(struct etcd_state *es, json_t *bkey, const char *end, int64_t rev,
		     int64_t limit, json_t **out, struct lf_err *err)
{
	json_t *req = json_pack("{s:o}", "key", bkey);
	int rc;

	if (end)
		json_object_set_new(req, "range_end", lf_etcd_b64_str(end));
	if (rev)
		json_object_set_new(req, "revision", i64(rev));
	if (limit)
		json_object_set_new(req, "limit", i64(limit));
	rc = lf_etcd_call(&es->cl, "/v3/kv/range", req, out, err);
	json_decref(req);
	return rc;
}

static int range(struct etcd_state *es, const char *key, const char *end, int64_t rev,
		 json_t **out, struct lf_err *err)
{
	return range_b64(es, lf_etcd_b64_str(key), end, rev, 0, out, err);
}

/* the value of one kv (a new NUL-terminated buffer) */
static char *kv_value(const json_t *kv, size_t *n)
{
	const char *v = json_string_value(json_object_get(kv, "value"));

	*n = 0;
	return v ? lf_etcd_unb64(v, n) : lf_xstrdup("");
}

/* ---- the header ---- */

struct header {
	int64_t mod;           /* mod revision; 0: no state yet */
	char lineage[37];
	uint64_t serial;
	char commit[33];       /* random per commit: did our txn apply? */
};

static int parse_header(struct etcd_state *es, const json_t *kv, struct header *h,
			struct lf_err *err)
{
	size_t n;
	char *txt = kv_value(kv, &n);
	json_t *doc = json_loadb(txt ? txt : "", txt ? n : 0, 0, NULL);
	const char *lin = json_string_value(json_object_get(doc, "lineage"));
	json_int_t fv = json_integer_value(json_object_get(doc, "format_version"));
	json_int_t serial = json_integer_value(json_object_get(doc, "serial"));
	int rc = 0;

	if (!lin || strlen(lin) != 36 || serial < 0)
		rc = lf_err_set(err, LF_EINVALID,
				"etcd state %s: the header key is not a ledgerform state header",
				es->desc);
	else if (fv > LF_STATE_FORMAT_VERSION)
		rc = lf_err_set(err, LF_EINVALID,
				"etcd state %s has format version %lld; this ledgerform reads %d",
				es->desc, (long long)fv, LF_STATE_FORMAT_VERSION);
	if (rc == 0) {
		snprintf(h->lineage, sizeof(h->lineage), "%s", lin);
		h->serial = (uint64_t)serial;
		h->mod = get_i64(kv, "mod_revision");
		snprintf(h->commit, sizeof(h->commit), "%s",
			 json_string_value(json_object_get(doc, "commit")) ?
			 json_string_value(json_object_get(doc, "commit")) : "");
	}
	json_decref(doc);
	free(txt);
	return rc;
}

static int read_header(struct etcd_state *es, struct header *h, struct lf_err *err)
{
	char *key = key_of(es, "header");
	json_t *ans = NULL, *kv;
	int rc;

	memset(h, 0, sizeof(*h));
	rc = range(es, key, NULL, 0, &ans, err);
	kv = json_array_get(json_object_get(ans, "kvs"), 0);
	if (rc == 0 && kv)
		rc = parse_header(es, kv, h, err);
	json_decref(ans);
	free(key);
	return rc;
}

static json_t *header_json(const struct lf_state_version *v, const char *commit)
{
	return json_pack("{s:i, s:s, s:I, s:s, s:s}", "format_version",
			 LF_STATE_FORMAT_VERSION, "lineage", v->lineage, "serial",
			 (json_int_t)v->serial, "ledgerform_version", LF_VERSION, "commit",
			 commit);
}

static void commit_id(char out[33])
{
	unsigned char r[16] = { 0 };

	lf_random(r, sizeof(r));
	for (size_t i = 0; i < sizeof(r); i++)
		snprintf(out + 2 * i, 3, "%02x", r[i]);
}

/* after an unclear answer to the last txn (leader changed, timeout): did
 * it apply? Then the header carries our commit ID */
static int recheck_applied(struct etcd_state *es, const char *commit, int rc,
			   struct lf_err *err)
{
	struct lf_err e2 = LF_ERR_INIT;
	struct header h;

	if (rc != LF_ECONFLICT && rc != LF_ERETRY && rc != LF_ERROR)
		return rc;
	if (read_header(es, &h, &e2) == 0 && strcmp(h.commit, commit) == 0) {
		lf_err_clear(err);
		return 0;
	}
	return rc;
}

/* ---- reading the resources ---- */

/* add one page of kvs to res; *last is the last key seen */
static int add_page(struct etcd_state *es, json_t *kvs, json_t *res, char **last,
		    struct lf_err *err)
{
	size_t i, plen = strlen(es->prefix) + 2, kn, vn;
	json_t *kv;

	json_array_foreach(kvs, i, kv) {
		char *k = lf_etcd_unb64(json_string_value(json_object_get(kv, "key")), &kn);
		char *v = kv_value(kv, &vn);
		json_t *rec = v ? json_loadb(v, vn, 0, NULL) : NULL;

		free(v);
		if (!k || kn < plen || !json_is_object(rec)) {
			free(k);
			json_decref(rec);
			return lf_err_set(err, LF_EINVALID,
					  "etcd state %s: resource key %zu of a page is not a JSON record",
					  es->desc, i);
		}
		json_object_set_new(res, k + plen, rec);
		free(*last);
		*last = k;
	}
	return 0;
}

/* every resource key at revision rev, page by page */
static int read_resources(struct etcd_state *es, int64_t rev, json_t *res,
			  struct lf_err *err)
{
	char *from = key_of(es, "r/"), *end = key_of(es, "r0"), *last = NULL;
	json_t *ans = NULL, *bkey = lf_etcd_b64_str(from);
	int rc = 0, more = 1;

	while (rc == 0 && more) {
		rc = range_b64(es, bkey, end, rev, ETCD_PAGE, &ans, err);
		if (rc == 0)
			rc = add_page(es, json_object_get(ans, "kvs"), res, &last, err);
		more = rc == 0 && json_is_true(json_object_get(ans, "more")) && last;
		/* the next page starts right after last: last + "\0" */
		if (more)
			bkey = lf_etcd_b64(last, strlen(last) + 1);
		json_decref(ans);
		ans = NULL;
	}
	free(from);
	free(end);
	free(last);
	return rc;
}

/* the header's revision was compacted away (etcd --auto-compaction):
 * read the newest revision instead, as long as the header stays put */
static int read_newest(struct etcd_state *es, struct header *h, json_t *res,
		       struct lf_err *err)
{
	struct header again;
	int rc = 0, tries;

	for (tries = 0; tries < 3; tries++) {
		lf_err_clear(err);
		json_object_clear(res);
		rc = read_resources(es, 0, res, err);
		if (rc == 0)
			rc = read_header(es, &again, err);
		if (rc != 0 || again.mod == h->mod)
			return rc;
		*h = again;
	}
	return lf_err_set(err, LF_ECONFLICT,
			  "etcd state %s kept changing while it was read; try again", es->desc);
}

static int etcd_read_all(struct lf_state *st, struct lf_state_doc *out,
			 struct lf_err *err)
{
	struct etcd_state *es = es_of(st);
	struct header h;
	int rc;

	memset(out, 0, sizeof(*out));
	out->resources = json_object();
	rc = read_header(es, &h, err);
	if (rc == 0 && h.mod)
		rc = read_resources(es, h.mod, out->resources, err);
	if (rc != 0 && h.mod && strstr(err->msg, "compacted"))
		rc = read_newest(es, &h, out->resources, err);
	if (rc == 0) {
		snprintf(out->lineage, sizeof(out->lineage), "%s", h.lineage);
		out->serial = h.serial;
	}
	return rc;
}

/* ---- commit ---- */

static int check_version(struct etcd_state *es, const struct header *h,
			 const struct lf_state_version *ver, struct lf_err *err)
{
	if (!h->mod)
		return 0;
	if (strcmp(ver->lineage, h->lineage) != 0)
		return lf_err_set(err, LF_ECONFLICT,
				  "etcd state %s has lineage %s but the state being written has lineage %s; not overwriting it",
				  es->desc, h->lineage, ver->lineage[0] ? ver->lineage : "(none)");
	if (ver->serial != h->serial)
		return lf_err_set(err, LF_ECONFLICT,
				  "etcd state %s is at serial %llu but the state being written was read at serial %llu: another writer changed it; not overwriting it",
				  es->desc, (unsigned long long)h->serial,
				  (unsigned long long)ver->serial);
	return 0;
}

/* ADDR -> record (put) or null (delete): what the commit changes */
static int changes_of(struct etcd_state *es, const struct lf_state_batch *b,
		      json_t **out, struct lf_err *err)
{
	json_t *ch = json_object(), *cur = NULL, *v;
	const char *k;
	size_t i;
	int rc = 0;

	if (b->all) {
		cur = json_object();
		rc = read_resources(es, 0, cur, err);
		json_object_foreach(b->all, k, v)
			if (!json_equal(v, json_object_get(cur, k)))
				json_object_set(ch, k, v);
		json_object_foreach(cur, k, v)
			if (!json_object_get(b->all, k))
				json_object_set_new(ch, k, json_null());
	}
	for (i = 0; rc == 0 && i < b->n; i++) {
		if (!b->v[i].addr || !b->v[i].addr[0] ||
		    (b->v[i].kind == LF_STATE_PUT && !json_is_object(b->v[i].record)))
			rc = lf_err_set(err, LF_EINVALID,
					"cannot write etcd state %s: change %zu has no address or no record",
					es->desc, i);
		else if (b->v[i].kind == LF_STATE_PUT)
			json_object_set(ch, b->v[i].addr, b->v[i].record);
		else
			json_object_set_new(ch, b->v[i].addr, json_null());
	}
	json_decref(cur);
	if (rc != 0)
		json_decref(ch);
	else
		*out = ch;
	return rc;
}

/* the base revision of the newest commit's first slice (0: none) */
static int read_pending(struct etcd_state *es, int64_t *base, struct lf_err *err)
{
	char *key = key_of(es, "pending"), *txt;
	json_t *ans = NULL, *kv, *doc;
	size_t n;
	int rc = range(es, key, NULL, 0, &ans, err);

	*base = -1;
	kv = json_array_get(json_object_get(ans, "kvs"), 0);
	if (rc == 0 && kv) {
		txt = kv_value(kv, &n);
		doc = json_loadb(txt, n, 0, NULL);
		*base = json_is_integer(json_object_get(doc, "base"))
			? (int64_t)json_integer_value(json_object_get(doc, "base")) : -1;
		json_decref(doc);
		free(txt);
	}
	json_decref(ans);
	free(key);
	return rc;
}

/* put back, in ch (where the batch has not set the key), what the
 * header's revision holds for every key an unfinished commit changed */
static int undo_orphans(struct etcd_state *es, const struct header *h, json_t *ch,
			struct lf_err *err)
{
	json_t *then = json_object(), *now = json_object(), *v;
	const char *k;
	int rc = h->mod ? read_resources(es, h->mod, then, err) : 0;

	if (rc == 0)
		rc = read_resources(es, 0, now, err);
	json_object_foreach(now, k, v)
		if (rc == 0 && !json_object_get(ch, k) && !json_equal(v, json_object_get(then, k)))
			json_object_set(ch, k, json_object_get(then, k) ? json_object_get(then, k)
								: json_null());
	json_object_foreach(then, k, v)
		if (rc == 0 && !json_object_get(ch, k) && !json_object_get(now, k))
			json_object_set(ch, k, v);
	json_decref(then);
	json_decref(now);
	return rc;
}

/* the batch's changes, plus the undo of a writer that died between the
 * slices of a commit on this same header */
static int changes_and_undo(struct etcd_state *es, const struct lf_state_batch *b,
			    const struct header *h, json_t **out, struct lf_err *err)
{
	int64_t base = -1;
	int rc = changes_of(es, b, out, err);

	if (rc == 0 && !b->all)
		rc = read_pending(es, &base, err);
	if (rc == 0 && base == h->mod)
		rc = undo_orphans(es, h, *out, err);
	if (rc != 0 && *out) {
		json_decref(*out);
		*out = NULL;
	}
	return rc;
}

/* the txn ops of the changes; *bytes: their rough size */
static json_t *ops_of(struct etcd_state *es, json_t *ch)
{
	json_t *ops = json_array(), *v;
	const char *addr;

	json_object_foreach(ch, addr, v) {
		char *key = lf_xasprintf("%sr/%s", es->prefix, addr);

		if (json_is_null(v)) {
			json_array_append_new(ops, op_delete(key));
		} else {
			char *txt = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);

			json_array_append_new(ops, op_put(key, txt, strlen(txt), 0));
			free(txt);
		}
		free(key);
	}
	return ops;
}

static size_t op_size(json_t *op)
{
	json_t *p = json_object_get(op, "request_put");

	if (!p)
		return 64;
	return json_string_length(json_object_get(p, "value")) + 64 +
	       json_string_length(json_object_get(p, "key"));
}

/* one txn: the compares, then ops (taken over); LF_ECONFLICT when a
 * compare fails */
static int txn(struct etcd_state *es, json_t *cmp, json_t *ops, struct lf_err *err)
{
	json_t *req = json_pack("{s:O, s:o}", "compare", cmp, "success", ops), *ans = NULL;
	int rc = lf_etcd_call(&es->cl, "/v3/kv/txn", req, &ans, err);

	if (rc == 0 && !json_is_true(json_object_get(ans, "succeeded")))
		rc = lf_err_set(err, LF_ECONFLICT,
				"etcd state %s changed since it was read (another writer committed, or this process lost its lock); nothing written",
				es->desc);
	json_decref(req);
	json_decref(ans);
	return rc;
}

static json_t *commit_compares(struct etcd_state *es, int64_t mod)
{
	char *hk = key_of(es, "header"), *lk = key_of(es, "lock");
	json_t *cmp = json_array();

	json_array_append_new(cmp, cmp_mod(hk, mod));
	if (es->lease)
		json_array_append_new(cmp, cmp_lease(lk, es->lease));
	free(hk);
	free(lk);
	return cmp;
}

/* write ops in slices that fit a txn, the header put (last op) in the last */
static int write_slices(struct etcd_state *es, json_t *ops, int64_t mod,
			struct lf_err *err)
{
	json_t *cmp = commit_compares(es, mod), *slice = json_array();
	size_t i, n = json_array_size(ops), bytes = 0;
	int rc = 0;

	for (i = 0; rc == 0 && i < n; i++) {
		json_t *op = json_array_get(ops, i);

		json_array_append(slice, op);
		bytes += op_size(op);
		if (i + 1 < n && json_array_size(slice) < ETCD_TXN_OPS - 1 &&
		    bytes + op_size(json_array_get(ops, i + 1)) < ETCD_TXN_BYTES)
			continue;
		if (i + 1 < n && !es->lease) {
			rc = lf_err_set(err, LF_EINVALID,
					"etcd state %s: a commit of %zu changes is written in parts and needs the lock; take it first",
					es->desc, n - 1);
			break;
		}
		rc = txn(es, cmp, slice, err);
		slice = json_array();
		bytes = 0;
		if (i + 1 < n)
			lf_crash_point("etcd.commit.slice");
	}
	json_decref(slice);
	json_decref(cmp);
	return rc;
}

static int lock_kv(struct etcd_state *es, json_t **ans, json_t **kv, struct lf_err *err);
static void set_lost(struct etcd_state *es, const char *why);

/* a refused commit while holding the lock: was the lock taken away? */
static void explain_conflict(struct etcd_state *es, struct lf_err *err)
{
	struct lf_err e2 = LF_ERR_INIT;
	json_t *ans = NULL, *kv = NULL;
	int rc;

	if (!es->lease)
		return;
	rc = lock_kv(es, &ans, &kv, &e2);
	if ((rc == 0 && get_i64(kv, "lease") != es->lease) || rc == LF_ENOTFOUND) {
		set_lost(es, "its lease expired or was revoked (force-unlock?)");
		lf_err_clear(err);
		pthread_mutex_lock(&es->mu);
		lf_err_set(err, LF_ECONFLICT, "%s; nothing written", es->lost_msg);
		pthread_mutex_unlock(&es->mu);
	}
	json_decref(ans);
}

static int etcd_commit(struct lf_state *st, const struct lf_state_batch *batch,
		       struct lf_state_version *ver, struct lf_err *err)
{
	struct etcd_state *es = es_of(st);
	struct lf_state_version next;
	struct header h;
	json_t *ch = NULL, *ops = NULL, *hdr = NULL;
	char *hk = key_of(es, "header"), *pk = key_of(es, "pending"), *txt = NULL, cid[33];
	int rc;

	rc = read_header(es, &h, err);
	if (rc == 0)
		rc = check_version(es, &h, ver, err);
	if (rc == 0)
		rc = changes_and_undo(es, batch, &h, &ch, err);
	if (rc != 0)
		goto cleanup;
	snprintf(next.lineage, sizeof(next.lineage), "%s", h.mod ? h.lineage : ver->lineage);
	if (!next.lineage[0] && lf_uuid4(next.lineage) != 0) {
		rc = lf_err_set(err, LF_ERROR, "cannot create a lineage for %s", es->desc);
		goto cleanup;
	}
	next.serial = (h.mod ? h.serial : ver->serial) + 1;
	ops = ops_of(es, ch);
	txt = lf_xasprintf("{\"base\":%" PRId64 "}", h.mod);
	json_array_insert_new(ops, 0, op_put(pk, txt, strlen(txt), 0));
	free(txt);
	commit_id(cid);
	hdr = header_json(&next, cid);
	txt = json_dumps(hdr, JSON_COMPACT | JSON_SORT_KEYS);
	json_array_append_new(ops, op_put(hk, txt, strlen(txt), 0));
	rc = write_slices(es, ops, h.mod, err);
	rc = recheck_applied(es, cid, rc, err);
	if (rc == LF_ECONFLICT)
		explain_conflict(es, err);
	if (rc == 0)
		*ver = next;
cleanup:
	json_decref(ch);
	json_decref(ops);
	json_decref(hdr);
	free(txt);
	free(hk);
	free(pk);
	return rc;
}

/* ---- the lock: a key on a lease, kept alive by a thread ---- */

static void set_lost(struct etcd_state *es, const char *why)
{
	pthread_mutex_lock(&es->mu);
	if (!atomic_load(&es->lost))
		snprintf(es->lost_msg, sizeof(es->lost_msg),
			 "the lock on etcd state %s was lost: %s", es->desc, why);
	atomic_store(&es->lost, true);
	pthread_mutex_unlock(&es->mu);
}

/* one keep-alive; 0 renewed, 1 the lease is gone, <0 etcd unreachable */
static int keepalive_once(struct etcd_state *es, int64_t lease)
{
	struct lf_err err = LF_ERR_INIT;
	json_t *req = json_pack("{s:o}", "ID", i64(lease)), *ans = NULL;
	int rc = lf_etcd_call(&es->cl, "/v3/lease/keepalive", req, &ans, &err);

	/* only etcd's answer "no such lease" (no TTL) means the lease is
	 * gone; an error means it could not be asked */
	if (rc == 0)
		rc = get_i64(json_object_get(ans, "result"), "TTL") > 0 ? 0 : 1;
	else
		rc = -1;
	json_decref(req);
	json_decref(ans);
	return rc;
}

static void *keepalive_main(void *arg)
{
	struct etcd_state *es = arg;
	double last_ok = lf_now_s(), period = es->ttl / 3.0;
	int64_t lease = es->lease;
	struct timespec ts;
	int rc;

	pthread_mutex_lock(&es->mu);
	while (!es->ka_stop) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += (time_t)period;
		ts.tv_nsec += (long)((period - floor(period)) * 1e9);
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&es->cv, &es->mu, &ts);
		if (es->ka_stop)
			break;
		pthread_mutex_unlock(&es->mu);
		rc = keepalive_once(es, lease);
		if (rc == 0)
			last_ok = lf_now_s();
		if (rc == 1)
			set_lost(es, "its lease expired or was revoked (force-unlock?)");
		else if (rc < 0 && lf_now_s() - last_ok > es->ttl)
			set_lost(es, "etcd could not be reached for longer than the lease");
		pthread_mutex_lock(&es->mu);
		if (atomic_load(&es->lost))
			break;
	}
	pthread_mutex_unlock(&es->mu);
	return NULL;
}

static int lease_grant(struct etcd_state *es, double ttl, int64_t *out,
		       struct lf_err *err)
{
	json_t *req = json_pack("{s:o}", "TTL", i64((int64_t)ceil(ttl))), *ans = NULL;
	int rc = lf_etcd_call(&es->cl, "/v3/lease/grant", req, &ans, err);

	*out = rc == 0 ? get_i64(ans, "ID") : 0;
	if (rc == 0 && *out == 0)
		rc = lf_err_set(err, LF_ERROR, "etcd state %s: no lease granted", es->desc);
	json_decref(req);
	json_decref(ans);
	return rc;
}

static void lease_revoke(struct etcd_state *es, int64_t lease)
{
	struct lf_err err = LF_ERR_INIT;
	json_t *req = json_pack("{s:o}", "ID", i64(lease)), *ans = NULL;

	lf_etcd_call(&es->cl, "/v3/lease/revoke", req, &ans, &err);
	json_decref(req);
	json_decref(ans);
}

/* "pid 12 (...) holding lock ID 694d..." from a lock kv */
static void describe_lock(const json_t *kv, char *out, size_t n, char *id, size_t idn)
{
	struct lf_state_holder h;
	size_t vn;
	char *v = kv_value(kv, &vn), who[512];
	json_t *rec = v ? json_loadb(v, vn, 0, NULL) : NULL;

	if (lf_state_holder_from_json(&h, rec) != 0)
		memset(&h, 0, sizeof(h));
	lf_state_holder_format(&h, who, sizeof(who));
	snprintf(id, idn, "%s", json_string_value(json_object_get(rec, "id")) ?
		 json_string_value(json_object_get(rec, "id")) : "?");
	snprintf(out, n, "%s, lock ID %s", who, id);
	json_decref(rec);
	free(v);
}

/* one attempt: 0 taken, LF_ECONFLICT held by another (err names it) */
static int try_lock(struct etcd_state *es, const struct lf_state_holder *holder,
		    int64_t lease, struct lf_err *err)
{
	char *lk = key_of(es, "lock"), *txt, id[32], who[768], hid[32];
	json_t *rec = lf_state_holder_to_json(holder), *req, *ans = NULL, *kv;
	int rc;

	snprintf(id, sizeof(id), "%" PRIx64, (uint64_t)lease);
	json_object_set_new(rec, "id", json_string(id));
	txt = json_dumps(rec, JSON_COMPACT | JSON_SORT_KEYS);
	req = json_pack("{s:[o], s:[o], s:[{s:{s:o}}]}", "compare", cmp_mod(lk, 0),
			"success", op_put(lk, txt, strlen(txt), lease), "failure",
			"request_range", "key", lf_etcd_b64_str(lk));
	rc = lf_etcd_call(&es->cl, "/v3/kv/txn", req, &ans, err);
	if (rc == 0 && !json_is_true(json_object_get(ans, "succeeded"))) {
		kv = json_array_get(json_object_get(json_object_get(json_array_get(
			json_object_get(ans, "responses"), 0), "response_range"), "kvs"), 0);
		describe_lock(kv, who, sizeof(who), hid, sizeof(hid));
		/* a retried txn whose first try applied finds our own key */
		if (strcmp(hid, id) != 0)
			rc = lf_err_set(err, LF_ECONFLICT,
					"etcd state %s is locked by %s; wait with --lock-timeout, or if that holder is gone for good: ledgerform force-unlock %s",
					es->desc, who, hid);
	}
	json_decref(req);
	json_decref(ans);
	json_decref(rec);
	free(txt);
	free(lk);
	return rc;
}

static int start_keepalive(struct etcd_state *es, int64_t lease, double ttl)
{
	es->lease = lease;
	es->ttl = ttl;
	es->ka_stop = false;
	atomic_store(&es->lost, false);
	es->lost_msg[0] = '\0';
	es->ka_running = pthread_create(&es->ka, NULL, keepalive_main, es) == 0;
	return es->ka_running ? 0 : LF_ERROR;
}

static int etcd_unlock(struct lf_state *st, struct lf_err *err);

static int etcd_lock(struct lf_state *st, const struct lf_state_holder *holder,
		     double lease_ttl_s, double wait_s, struct lf_err *err)
{
	struct etcd_state *es = es_of(st);
	double deadline = lf_now_s() + (wait_s > 0 ? wait_s : 0);
	int64_t lease = 0;
	int rc;

	if (es->lease && !atomic_load(&es->lost))
		return 0;
	if (es->lease)
		etcd_unlock(st, err); /* the lost lock's thread and lease */
	if (es->ttl > 0)
		lease_ttl_s = es->ttl; /* lease_ttl from the settings wins */
	for (;;) {
		lf_err_clear(err);
		rc = lease_grant(es, lease_ttl_s, &lease, err);
		if (rc == 0)
			rc = try_lock(es, holder, lease, err);
		if (rc == 0)
			break;
		if (lease)
			lease_revoke(es, lease);
		if (rc != LF_ECONFLICT || lf_now_s() >= deadline)
			return rc;
		lf_sleep_ms(200);
	}
	if (start_keepalive(es, lease, lease_ttl_s) != 0)
		return lf_err_set(err, LF_ERROR, "etcd state %s: cannot start the keep-alive",
				  es->desc);
	lf_crash_point("etcd.lock.held");
	return 0;
}

static void stop_keepalive(struct etcd_state *es)
{
	if (!es->ka_running)
		return;
	pthread_mutex_lock(&es->mu);
	es->ka_stop = true;
	pthread_cond_broadcast(&es->cv);
	pthread_mutex_unlock(&es->mu);
	pthread_join(es->ka, NULL);
	es->ka_running = false;
}

static int etcd_unlock(struct lf_state *st, struct lf_err *err)
{
	struct etcd_state *es = es_of(st);
	char *lk = key_of(es, "lock");
	json_t *cmp = json_array(), *ops = json_array();
	int rc = 0;

	(void)err;
	stop_keepalive(es);
	if (es->lease) {
		struct lf_err e2 = LF_ERR_INIT;

		/* delete the key only while it is ours; revoking does the rest */
		json_array_append_new(cmp, cmp_lease(lk, es->lease));
		json_array_append_new(ops, op_delete(lk));
		txn(es, cmp, json_incref(ops), &e2);
		lease_revoke(es, es->lease);
	}
	es->lease = 0;
	json_decref(cmp);
	json_decref(ops);
	free(lk);
	return rc;
}

static int etcd_lock_lost(struct lf_state *st, struct lf_err *err)
{
	struct etcd_state *es = es_of(st);

	if (!es->lease) {
		lf_err_set(err, LF_ECONFLICT, "etcd state %s is not locked by this process",
			   es->desc);
		return 1;
	}
	if (!atomic_load(&es->lost))
		return 0;
	pthread_mutex_lock(&es->mu);
	lf_err_set(err, LF_ECONFLICT, "%s", es->lost_msg);
	pthread_mutex_unlock(&es->mu);
	return 1;
}

static int lock_kv(struct etcd_state *es, json_t **ans, json_t **kv, struct lf_err *err)
{
	char *lk = key_of(es, "lock");
	int rc = range(es, lk, NULL, 0, ans, err);

	free(lk);
	*kv = rc == 0 ? json_array_get(json_object_get(*ans, "kvs"), 0) : NULL;
	if (rc == 0 && !*kv)
		rc = LF_ENOTFOUND;
	return rc;
}

static int etcd_holder(struct lf_state *st, struct lf_state_holder *out,
		       struct lf_err *err)
{
	struct etcd_state *es = es_of(st);
	json_t *ans = NULL, *kv, *rec = NULL;
	size_t vn;
	char *v = NULL;
	int rc = lock_kv(es, &ans, &kv, err);

	memset(out, 0, sizeof(*out));
	if (rc == 0) {
		v = kv_value(kv, &vn);
		rec = v ? json_loadb(v, vn, 0, NULL) : NULL;
		if (lf_state_holder_from_json(out, rec) != 0)
			rc = lf_err_set(err, LF_EINVALID,
					"etcd state %s: the lock key is not a holder record", es->desc);
	}
	json_decref(rec);
	json_decref(ans);
	free(v);
	return rc;
}

int lf_state_etcd_force_unlock(struct lf_state *st, const char *id, struct lf_err *err)
{
	struct etcd_state *es = es_of(st);
	json_t *ans = NULL, *kv;
	char who[768], hid[32];
	int rc;

	if (strcmp(st->ops->name, "etcd") != 0)
		return lf_err_set(err, LF_EUNSUPPORTED,
				  "force-unlock: state backend '%s' has no lock IDs", st->ops->name);
	rc = lock_kv(es, &ans, &kv, err);
	if (rc == LF_ENOTFOUND)
		rc = lf_err_set(err, LF_ENOTFOUND, "etcd state %s is not locked", es->desc);
	if (rc == 0) {
		describe_lock(kv, who, sizeof(who), hid, sizeof(hid));
		if (strcmp(hid, id) != 0)
			rc = lf_err_set(err, LF_EINVALID,
					"etcd state %s is locked by %s, not lock ID '%s'; nothing unlocked",
					es->desc, who, id);
	}
	if (rc == 0)
		lease_revoke(es, get_i64(kv, "lease"));
	json_decref(ans);
	return rc;
}

/* ---- the rest of the table ---- */

static const char *etcd_describe(struct lf_state *st)
{
	return es_of(st)->desc;
}

static void etcd_free(struct lf_state *st)
{
	struct etcd_state *es = es_of(st);
	struct lf_err err = LF_ERR_INIT;

	if (!es)
		return;
	etcd_unlock(st, &err);
	lf_etcd_client_free(&es->cl);
	pthread_mutex_destroy(&es->mu);
	pthread_cond_destroy(&es->cv);
	free(es->prefix);
	free(es->desc);
	free(es);
}

static const struct lf_state_ops etcd_ops = {
	.version = LF_STATE_OPS_VERSION,
	.name = "etcd",
	.read_all = etcd_read_all,
	.commit = etcd_commit,
	.lock = etcd_lock,
	.unlock = etcd_unlock,
	.lock_lost = etcd_lock_lost,
	.holder = etcd_holder,
	.describe = etcd_describe,
	.free = etcd_free,
};

static void describe_new(struct etcd_state *es)
{
	es->desc = lf_xasprintf("'%s' at %s%s", es->prefix, es->cl.endpoints[0],
				es->cl.nendpoints > 1 ? " (and others)" : "");
}

int lf_state_etcd_new(struct lf_state **out, const json_t *settings,
		      const char *base_dir, struct lf_err *err)
{
	struct etcd_state *es = lf_xcalloc(1, sizeof(*es));
	const char *prefix = json_string_value(json_object_get(settings, "prefix"));
	json_t *ttl = json_object_get(settings, "lease_ttl");
	int rc;

	*out = NULL;
	es->base.ops = &etcd_ops;
	pthread_mutex_init(&es->mu, NULL);
	pthread_cond_init(&es->cv, NULL);
	es->prefix = lf_xstrdup(prefix && prefix[0] ? prefix : ETCD_PREFIX_DEFAULT);
	if (json_is_number(ttl))
		es->ttl = json_number_value(ttl);
	else if (json_is_string(ttl))
		es->ttl = strtod(json_string_value(ttl), NULL);
	rc = lf_etcd_client_init(&es->cl, settings, base_dir, err);
	if (rc != 0) {
		lf_etcd_client_free(&es->cl);
		free(es->prefix);
		pthread_mutex_destroy(&es->mu);
		pthread_cond_destroy(&es->cv);
		free(es);
		return rc;
	}
	describe_new(es);
	*out = &es->base;
	return 0;
}
