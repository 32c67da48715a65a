/*
 * Crypto as plan resources: lf_crypto_expand (spec -> crypto.* resources)
 * and lf_rtype_crypto (the executor's callbacks). Each callback works on
 * one resource, from its attrs alone, loads what it needs from disk (the
 * org's CA), keeps no state between calls and syncs the file system
 * before it returns: safe on several worker threads at once.
 */
#include "core/fabric/crypto/crypto_int.h"

#include <dirent.h>
#include <openssl/err.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/spec/spec.h"
#include "core/util/util.h"

static struct lf_resource *add_res(struct lf_rset *rs, const char *org,
				   const char *name, json_t *attrs,
				   struct lf_err *err)
{
	char *addr = lf_xconcat("crypto.", org, ".", name, NULL);
	struct lf_resource *r = lf_rset_add(rs, addr, attrs);

	if (!r)
		lf_err_set(err, LF_ECONFLICT, "duplicate resource address '%s'", addr);
	free(addr);
	return r;
}

static void add_org_deps(struct lf_resource *r, const char *org)
{
	char *a = lf_xconcat("crypto.", org, ".ca", NULL);
	char *b = lf_xconcat("crypto.", org, ".tlsca", NULL);

	lf_resource_add_dep(r, a);
	lf_resource_add_dep(r, b);
	free(a);
	free(b);
}

/* ids: the org's identities, positions in l->ids in their order */
static int expand_org(struct lf_rset *rs, const struct lfc_layout *l, size_t i,
		      const size_t *ids, size_t nids, struct lf_err *err)
{
	const struct lfc_org *o = &l->orgs[i];
	struct lf_resource *r;
	size_t k;

	if (!add_res(rs, o->name, "ca", lfc_org_attrs(o, "ca"), err) ||
	    !add_res(rs, o->name, "tlsca", lfc_org_attrs(o, "tlsca"), err))
		return LF_ECONFLICT;
	r = add_res(rs, o->name, "msp", lfc_org_attrs(o, "msp"), err);
	if (!r)
		return LF_ECONFLICT;
	add_org_deps(r, o->name);
	for (k = 0; k < nids; k++) {
		const struct lfc_ident *id = &l->ids[ids[k]];

		r = add_res(rs, o->name, id->name, lfc_ident_attrs(o, id), err);
		if (!r)
			return LF_ECONFLICT;
		add_org_deps(r, o->name);
		if (id->host) /* its SANs take the host's address */
			lf_resource_add_dep(r, id->host);
	}
	return 0;
}

int lf_crypto_expand(const struct lf_spec *spec, struct lf_rset *rs,
		     struct lf_err *err)
{
	struct lfc_layout *l = NULL;
	size_t i, *first, *ids;
	int rc = lfc_layout_from_spec(&l, spec, err);

	if (rc != 0)
		return rc;
	/* the identities grouped by org, each org's in layout order (one
	 * pass, not one per org: 1,000 orgs of 50 nodes) */
	first = lf_xcalloc(l->norgs + 2, sizeof(*first));
	ids = lf_xcalloc(l->nids + 1, sizeof(*ids));
	for (i = 0; i < l->nids; i++)
		first[l->ids[i].org + 2]++;
	for (i = 2; i < l->norgs + 2; i++)
		first[i] += first[i - 1];
	for (i = 0; i < l->nids; i++)
		ids[first[l->ids[i].org + 1]++] = i;
	for (i = 0; rc == 0 && i < l->norgs; i++)
		rc = expand_org(rs, l, i, ids + first[i], first[i + 1] - first[i], err);
	free(first);
	free(ids);
	lfc_layout_free(l);
	return rc;
}

/* ---- callbacks ------------------------------------------------------ */

/* where an org's CA key lives: relative to the crypto dir for our own
 * CA, the spec's path for an imported one (caller frees) */
static char *ca_key_where(const struct lfc_org *o, const char *kind)
{
	const char *ext = strcmp(kind, "tlsca") == 0 ? o->ext_tls_key : o->ext_key;

	if (ext)
		return lf_xstrdup(ext);
	if (lfc_org_keyless(o)) /* the org keeps it */
		return NULL;
	return lf_xasprintf("%s/%s/priv_sk", o->dir, kind);
}

/* a CA's outputs record where its key lives and which key it is (the
 * state is shared; the key stays with its org), never the key */
static json_t *ca_outputs(const struct lfc_org *o, const char *kind,
			  const struct lfc_ca *ca)
{
	char *dir = lf_xasprintf("%s/%s", o->dir, kind), *key = ca_key_where(o, kind);
	char pub[65];
	json_t *j;

	/* which key (its public half), never the key */
	lfc_pub_sha256(ca->key ? ca->key : X509_get0_pubkey(ca->cert), pub);
	j = json_pack("{s:s, s:s, s:s, s:s*, s:s}", "dir", dir, "cert_sha256",
		      ca->sha256, "not_after", ca->not_after, "key_path", key,
		      "key_pub_sha256", pub);
	free(dir);
	free(key);
	return j;
}

static int apply_org(const struct lf_apply_env *env, const struct lfc_org *o,
		     const char *kind, struct lfc_worker *w, json_t **outputs,
		     struct lf_err *err)
{
	bool msp = strcmp(kind, "msp") == 0;
	struct lfc_ca *ca = NULL, *tlsca = NULL;
	char *dir;
	int rc;

	if (msp) {
		rc = lfc_ca_ensure(&ca, env->crypto_dir, o, false, false, w, err);
		if (rc == 0)
			rc = lfc_ca_ensure(&tlsca, env->crypto_dir, o, true, false, w, err);
		if (rc == 0)
			rc = lfc_msp_ensure(env->crypto_dir, o, ca, tlsca, w, err);
		dir = lf_xasprintf("%s/msp", o->dir);
		if (rc == 0)
			*outputs = json_pack("{s:s, s:s, s:s}", "dir", dir, "cert_sha256",
					     ca->sha256, "tls_cert_sha256", tlsca->sha256);
		free(dir);
	} else {
		rc = lfc_ca_ensure(&ca, env->crypto_dir, o, strcmp(kind, "tlsca") == 0,
				   true, w, err);
		if (rc == 0)
			*outputs = ca_outputs(o, kind, ca);
	}
	lfc_ca_free(ca);
	lfc_ca_free(tlsca);
	return rc;
}

static int apply_ident(const struct lf_apply_env *env, const struct lfc_org *o,
		       const json_t *attrs, struct lfc_worker *w,
		       json_t **outputs, struct lf_err *err)
{
	struct lfc_ident id;
	struct lfc_ca *ca = NULL, *tlsca = NULL;
	char *reqdir;
	int rc = lfc_ident_from_attrs(&id, attrs, err);

	if (rc != 0)
		return rc;
	rc = lfc_ca_ensure(&ca, env->crypto_dir, o, false, false, w, err);
	if (rc == 0)
		rc = lfc_ca_ensure(&tlsca, env->crypto_dir, o, true, false, w, err);
	reqdir = lf_path_join(env->workdir ? env->workdir : env->crypto_dir, "certs");
	w->reqdir = reqdir;
	if (rc == 0)
		rc = lfc_ident_ensure(env->crypto_dir, o, &id, ca, tlsca, w, outputs, err);
	w->reqdir = NULL;
	free(reqdir);
	lfc_ca_free(ca);
	lfc_ca_free(tlsca);
	lfc_ident_clear(&id);
	return rc;
}

static int crypto_apply(const struct lf_apply_env *env,
			const struct lf_resource *desired, json_t **outputs,
			struct lf_err *err)
{
	const char *kind = json_string_value(json_object_get(desired->attrs, "kind"));
	struct lfc_worker w;
	struct lfc_org o;
	int rc;

	*outputs = NULL;
	if (!env->crypto_dir || !kind)
		return lf_err_set(err, LF_EINVALID, "%s: no crypto dir or kind", desired->addr);
	rc = lfc_org_from_attrs(&o, desired->attrs, err);
	if (rc != 0)
		return rc;
	rc = lfc_worker_init(&w, err);
	if (rc == 0 && lf_mkdirs(env->crypto_dir, 0700, err) != 0)
		rc = LF_ERROR;
	if (rc == 0 && (!strcmp(kind, "ca") || !strcmp(kind, "tlsca") || !strcmp(kind, "msp")))
		rc = apply_org(env, &o, kind, &w, outputs, err);
	else if (rc == 0 && (!strcmp(kind, "node") || !strcmp(kind, "user")))
		rc = apply_ident(env, &o, desired->attrs, &w, outputs, err);
	else if (rc == 0)
		rc = lf_err_set(err, LF_EINVALID, "%s: unknown crypto kind '%s'",
				desired->addr, kind);
	if (rc == 0)
		rc = lfc_sync(env->crypto_dir, err);
	if (rc != 0) {
		json_decref(*outputs);
		*outputs = NULL;
	}
	lfc_worker_fini(&w);
	lfc_org_clear(&o);
	return rc;
}

static int crypto_create(const struct lf_apply_env *env,
			 const struct lf_resource *desired, json_t **outputs,
			 struct lf_err *err)
{
	return crypto_apply(env, desired, outputs, err);
}

/* update = the same convergence as create: only what no longer matches
 * the new attrs is re-issued (keys kept, see crypto.h) */
static int crypto_update(const struct lf_apply_env *env,
			 const struct lf_resource *prior,
			 const struct lf_resource *desired, json_t **outputs,
			 struct lf_err *err)
{
	return crypto_apply(env, desired, outputs, err);
}

static int crypto_delete(const struct lf_apply_env *env,
			 const struct lf_resource *prior, struct lf_err *err)
{
	const char *kind = json_string_value(json_object_get(prior->attrs, "kind"));
	const char *dir = json_string_value(json_object_get(
		prior->attrs, lf_streq(kind, "node") || lf_streq(kind, "user")
		? "dir" : "org_dir"));
	char *abs;
	int rc;

	if (!env->crypto_dir || !dir || !dir[0] || strstr(dir, ".."))
		return lf_err_set(err, LF_EINVALID, "%s: no directory to delete",
				  prior->addr);
	abs = lf_path_join(env->crypto_dir, dir);
	rc = lf_rmtree(abs, err);
	free(abs);
	if (rc == 0 && lf_path_exists(env->crypto_dir))
		rc = lfc_sync(env->crypto_dir, err);
	return rc;
}

/* the first non-empty regular file in dir whose name ends with suffix
 * (or is it, when exact), as a path (caller frees); NULL when none */
static char *find_file(const char *dir, const char *suffix, bool exact)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char *found = NULL;
	size_t ls = strlen(suffix);

	if (!d)
		return NULL;
	while (!found && (e = readdir(d)) != NULL) {
		size_t ln = strlen(e->d_name);
		struct stat st;
		char *p;

		if (exact ? strcmp(e->d_name, suffix) != 0
			  : (ln < ls || strcmp(e->d_name + ln - ls, suffix) != 0))
			continue;
		p = lf_path_join(dir, e->d_name);
		if (lstat(p, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0)
			found = p;
		else
			free(p);
	}
	closedir(d);
	return found;
}

static bool has_file(const char *dir, const char *suffix, bool exact)
{
	char *p = find_file(dir, suffix, exact);

	free(p);
	return p != NULL;
}

/* the CA certificate file under the recorded CA's directory abs: its
 * path (caller frees; NULL when none), the sha256 of its DER and of its
 * public key (empty when it does not parse) */
static char *ca_cert_file(const char *abs, char sha[65], char pub[65])
{
	char *path = find_file(abs, "-cert.pem", false), *pem = NULL;
	struct lf_err e = LF_ERR_INIT;
	unsigned char *der = NULL;
	size_t len = 0;
	X509 *x = NULL;
	int n;

	sha[0] = pub[0] = '\0';
	if (path && lf_read_file(path, &pem, &len, &e) == 0)
		x = lfc_cert_parse(pem, len);
	if (x)
		lfc_cert_sha256(x, sha);
	n = x ? i2d_PUBKEY(X509_get0_pubkey(x), &der) : -1;
	if (n > 0)
		lf_sha256_hex(der, (size_t)n, pub);
	OPENSSL_free(der);
	X509_free(x);
	ERR_clear_error();
	free(pem);
	return path;
}

/* refresh of an org's CA (or of an offline admin: its certificate in
 * msp/signcerts): its certificate file is the one the state records
 * (sha256 of the DER), or the difference is drift the plan shows. The
 * key is never read here, and a changed certificate never makes a new
 * key: the update adopts a certificate for the recorded key, and the
 * plan refuses one for another key (crypto_refuse). */
static json_t *cert_drift(const struct lf_resource *prior, const char *abs,
			  const char *what)
{
	const char *rec = json_string_value(json_object_get(prior->outputs, "cert_sha256"));
	char sha[65], pub[65], *path = rec ? ca_cert_file(abs, sha, pub) : NULL, *why;
	json_t *live;

	if (!path || strcmp(sha, rec) == 0) {
		free(path);
		return NULL;
	}
	why = lf_xasprintf("the %s '%s' changed on disk (sha256 %.12s, recorded "
			   "%.12s)", what, path, sha[0] ? sha : "unreadable", rec);
	live = json_pack("{s:s}", LF_DRIFT_NOTE, why);
	free(why);
	free(path);
	return live;
}

/* plan: a CA certificate changed on disk for a key other than the one
 * the state records is refused (the apply would fail on it; a new CA
 * key is never made behind the org's back) */
static char *ca_cert_refuse(const struct lf_apply_env *env, const struct lf_resource *prior)
{
	const char *kind = json_string_value(json_object_get(prior->attrs, "kind"));
	const char *dir = json_string_value(json_object_get(prior->attrs, "dir"));
	const char *rec = json_string_value(json_object_get(prior->outputs, "key_pub_sha256"));
	char sha[65], pub[65], *abs, *path, *why = NULL;

	if (!prior->drift || !env->crypto_dir || !dir || !rec || !rec[0] ||
	    !(lf_streq(kind, "ca") || lf_streq(kind, "tlsca")))
		return NULL;
	abs = lf_path_join(env->crypto_dir, dir);
	path = ca_cert_file(abs, sha, pub);
	if (path && strcmp(pub, rec) != 0)
		why = lf_xasprintf("%s: the CA certificate '%s' on disk is not for the org's CA key "
				   "(public key sha256 %.12s, recorded %.12s): restore the "
				   "certificate; ledgerform never makes a new CA key for it",
				   prior->addr, path, pub[0] ? pub : "unreadable", rec);
	free(path);
	free(abs);
	return why;
}

/* one required file under the resource's directory */
struct need {
	const char *sub;      /* subdirectory ("" for the directory itself) */
	const char *name;     /* file name, or suffix when !exact */
	bool exact;
};

static const struct need need_ca[] = { { "", "priv_sk", true }, { "", "-cert.pem", false } };
static const struct need need_msp[] = { { "cacerts", ".pem", false },
					{ "tlscacerts", ".pem", false } };
static const struct need need_id[] = { { "msp/keystore", "priv_sk", true },
				       { "msp/signcerts", ".pem", false },
				       { "msp/cacerts", ".pem", false },
				       { "tls", "ca.crt", true } };
/* an offline admin: no key here, ever (a missing one is no reason to
 * make one) */
static const struct need *const need_off = need_id + 1;

/* refresh: the files that make the identity usable are on disk. A tree a
 * killed delete left half removed, or a key removed by hand, is gone: the
 * plan makes it again, and what it issued follows. */
static int crypto_read(const struct lf_apply_env *env, const struct lf_resource *prior,
		       json_t **live, struct lf_err *err)
{
	const char *kind = json_string_value(json_object_get(prior->attrs, "kind"));
	const char *dir = json_string_value(json_object_get(prior->attrs, "dir"));
	const struct need *v = NULL;
	size_t n = 0, i;
	char *abs;

	*live = NULL;
	if (!env->crypto_dir || !dir || !kind)
		return 0;
	if (!strcmp(kind, "ca") || !strcmp(kind, "tlsca")) {
		/* an imported CA's key stays where the spec names it */
		bool imported = json_object_get(prior->attrs,
						!strcmp(kind, "ca") ? "ca_import" : "tlsca_import");

		v = imported ? need_ca + 1 : need_ca;
		n = imported ? 1 : LF_ARRAY_LEN(need_ca);
	} else if (!strcmp(kind, "msp")) {
		v = need_msp;
		n = LF_ARRAY_LEN(need_msp);
	} else if (json_is_true(json_object_get(prior->attrs, "admin_offline"))) {
		v = need_off;
		n = LF_ARRAY_LEN(need_id) - 1;
	} else if (!strcmp(kind, "node") || !strcmp(kind, "user")) {
		v = need_id;
		n = LF_ARRAY_LEN(need_id);
	}
	abs = lf_path_join(env->crypto_dir, dir);
	for (i = 0; i < n; i++) {
		char *sub = v[i].sub[0] ? lf_path_join(abs, v[i].sub) : lf_xstrdup(abs);
		bool ok = has_file(sub, v[i].name, v[i].exact);

		free(sub);
		if (!ok && v == need_ca) {
			/* an org's own CA is never made again behind its back:
			 * its key may simply live elsewhere (an org that keeps
			 * it, a shared state read on another machine). Nothing
			 * is planned for it; what needs the key fails naming
			 * the org. */
			free(abs);
			return 0;
		}
		if (!ok) {
			lf_err_set(err, LF_ENOTFOUND, "%s: %s%s%s%s is missing under %s", prior->addr,
				   v[i].sub, v[i].sub[0] ? "/" : "", v[i].exact ? "" : "*",
				   v[i].name, dir);
			free(abs);
			return LF_ENOTFOUND;
		}
	}
	if (v == need_ca || v == need_ca + 1) {
		*live = cert_drift(prior, abs, "CA certificate");
	} else if (v == need_off) {
		char *sc = lf_path_join(abs, "msp/signcerts");

		*live = cert_drift(prior, sc, "admin's certificate");
		free(sc);
	}
	free(abs);
	return 0;
}

/* where the recorded CA crypto.ORG.KIND keeps its key, absolute; NULL
 * when this plan makes that CA (not recorded, or replaced at a new
 * directory) and so needs no key from elsewhere */
static char *ca_key_path(const struct lf_apply_env *env, const char *org, const char *kind)
{
	char *addr = lf_xasprintf("crypto.%s.%s", org, kind), *rel = NULL, *abs = NULL;
	const struct lf_resource *cur = env->current ? lf_rset_get(env->current, addr) : NULL;
	const struct lf_resource *des = env->desired ? lf_rset_get(env->desired, addr) : NULL;
	const json_t *imp = des ? json_object_get(des->attrs, strcmp(kind, "ca") == 0
					       ? "ca_import" : "tlsca_import") : NULL;
	const char *od = cur ? json_string_value(json_object_get(cur->attrs, "org_dir")) : NULL;
	const char *key = json_string_value(json_object_get(imp, "key"));

	free(addr);
	/* a CA imported without its key: nothing here needs it */
	if (imp && !key)
		return NULL;
	if (!cur || cur->partial || !od || !env->crypto_dir ||
	    (des && !lf_streq(od, json_string_value(json_object_get(des->attrs, "org_dir")))))
		return NULL;
	if (!key)
		key = json_string_value(json_object_get(cur->outputs, "key_path"));
	rel = key ? lf_xstrdup(key) : lf_xasprintf("%s/%s/priv_sk", od, kind);
	abs = rel[0] == '/' ? lf_xstrdup(rel) : lf_path_join(env->crypto_dir, rel);
	free(rel);
	return abs;
}

/* plan: an offline admin's certificate (admin_cert) of an org whose CA
 * ledgerform made must chain to that CA, which must exist already (a CA
 * this apply makes issued nothing yet); an imported CA was checked when
 * the resources were made */
static char *admin_cert_refuse(const struct lf_apply_env *env,
			       const struct lf_resource *desired)
{
	const json_t *a = desired->attrs;
	const char *cert = json_string_value(json_object_get(a, "admin_cert"));
	const char *org = json_string_value(json_object_get(a, "org"));
	const char *od = json_string_value(json_object_get(a, "org_dir"));
	char sha[65], pub[65], *abs, *path = NULL, *pem = NULL, *why = NULL;
	struct lf_err e = LF_ERR_INIT;
	struct lfc_offline m;
	size_t len = 0;
	X509 *ca = NULL;

	if (!cert || !org || !od || json_object_get(a, "ca_import") || !env->crypto_dir)
		return NULL;
	abs = lf_xasprintf("%s/%s/ca", env->crypto_dir, od);
	path = ca_cert_file(abs, sha, pub);
	if (path && lf_read_file(path, &pem, &len, &e) == 0)
		ca = lfc_cert_parse(pem, len);
	if (!ca)
		why = lf_xasprintf("org '%s': admin_cert '%s' cannot have been issued by "
				   "the org's CA: ledgerform makes that CA in this apply (no "
				   "certificate under %s yet); give admin_csr instead (ledgerform "
				   "issues the admin's certificate over it), or import the CA "
				   "that issued it (ca.cert)", org, cert, abs);
	else if (lfc_offline_load(&m, org, NULL, cert, &e) != 0 ||
		 lfc_offline_chains(&m, ca, org, cert, &e) != 0)
		why = lf_xstrdup(e.msg);
	if (ca)
		lfc_offline_clear(&m);
	X509_free(ca);
	ERR_clear_error();
	free(pem);
	free(path);
	free(abs);
	return why;
}

/* plan: a change that needs an org's recorded CA key, when the key is not
 * on this machine (it lives with its org, or the state is shared), is
 * refused naming the org and where the state says the key is */
static char *crypto_refuse(const struct lf_apply_env *env, const struct lf_resource *prior,
			   const struct lf_resource *desired)
{
	static const char *const kinds[] = { "ca", "tlsca" };
	const char *kind = json_string_value(json_object_get(desired->attrs, "kind"));
	const char *org = json_string_value(json_object_get(desired->attrs, "org"));
	char *why = NULL;
	size_t i;

	if (prior && (why = ca_cert_refuse(env, prior)) != NULL)
		return why;
	if ((why = admin_cert_refuse(env, desired)) != NULL)
		return why;
	if (!kind || !org)
		return NULL;
	for (i = 0; !why && i < LF_ARRAY_LEN(kinds); i++) {
		char *path;

		if ((!strcmp(kind, "ca") || !strcmp(kind, "tlsca")) && strcmp(kind, kinds[i]))
			continue;
		path = ca_key_path(env, org, kinds[i]);
		if (path && !lf_path_exists(path))
			why = lf_xasprintf("org '%s': %s needs the org's %s key, which the state "
					   "records at '%s' and is not on this machine (the key "
					   "stays with its org: plan and apply this change where "
					   "it is)", org, desired->addr,
					   i == 0 ? "CA" : "TLS CA", path);
		free(path);
	}
	return why;
}

/* plan: what an offline admin's change does (no key made or kept here) */
static char *crypto_note(const struct lf_apply_env *env, const struct lf_resource *prior,
			 const struct lf_resource *desired)
{
	const json_t *a = desired->attrs;
	bool was = prior && json_is_true(json_object_get(prior->attrs, "admin_offline"));
	bool now = json_is_true(json_object_get(a, "admin_offline"));
	const char *org = json_string_value(json_object_get(a, "org"));
	const char *csr = json_string_value(json_object_get(a, "admin_csr"));
	const char *cert = json_string_value(json_object_get(a, "admin_cert"));

	(void)env;
	if (!now && org && (lf_streq(json_string_value(json_object_get(a, "kind")), "node") ||
			    lf_streq(json_string_value(json_object_get(a, "kind")), "user")) &&
	    json_object_get(a, "ca_import") &&
	    !json_object_get(json_object_get(a, "ca_import"), "key"))
		return lf_xasprintf("org '%s' keeps its CA keys: the keys are made here, "
				    "the certificates the org issues (apply writes the "
				    "requests and waits for `ledgerform issue`)", org);
	if (!now && was)
		return lf_xasprintf("org '%s': the admin becomes local: a new admin "
				    "identity with its key and TLS client pair is made here "
				    "(the offline admin's certificate goes)", org);
	if (!now)
		return NULL;
	return lf_xasprintf("org '%s': %sthe admin is offline: no private key and no "
			    "TLS client pair here; %s '%s'", org,
			    prior && !was ? "the admin becomes offline (the identity made "
			    "here, its key included, is removed): " : "",
			    csr ? "the certificate is issued over the admin's request"
			    : "the admin's certificate is", csr ? csr : cert);
}

/* a node identity on a provider's machine: its TLS SANs take the host's
 * address outputs (attrs "host_sans"), this apply's, else the state's;
 * LF_KNOWN_AFTER_APPLY while the plan remakes the host. Nothing for an
 * identity that takes no host's outputs (local machines, hosts given
 * by address). */
static json_t *crypto_resolve(const struct lf_apply_env *env, const struct lf_resource *r,
			      const json_t *fresh)
{
	const char *host = json_string_value(json_object_get(r->attrs, LF_OUTPUTS_FROM));
	const json_t *have = json_object_get(r->attrs, "host_sans");
	json_t *want, *a;

	if (!host)
		return NULL;
	if (fresh && json_object_get(fresh, host)) {
		want = json_string(LF_KNOWN_AFTER_APPLY);
	} else {
		const struct lf_resource *des = env->desired ? lf_rset_get(env->desired, host) : NULL;
		const struct lf_resource *cur = env->current ? lf_rset_get(env->current, host) : NULL;

		want = lfc_host_sans(r->attrs, des && des->outputs ? des->outputs
					       : cur && !cur->partial ? cur->outputs : NULL);
	}
	if (want ? json_equal(want, have) : !have) {
		json_decref(want);
		return NULL;
	}
	a = json_copy(r->attrs);
	if (want)
		json_object_set_new(a, "host_sans", want);
	else
		json_object_del(a, "host_sans");
	return a;
}

static bool crypto_read_cheap(const struct lf_apply_env *env, const struct lf_resource *r)
{
	(void)env;
	(void)r;
	return true; /* local files */
}

/* a different directory (org domain, host name, kind) is a new identity:
 * replace; anything else (SANs, imported CA, OU...) converges in place */
static bool crypto_in_place(const struct lf_apply_env *env,
			    const struct lf_resource *prior, const char *key)
{
	static const char *const replace[] = { "kind", "dir", "org_dir", "cn",
					       "domain", "org", "name",
					       "admin_offline" };
	size_t i;

	for (i = 0; i < LF_ARRAY_LEN(replace); i++)
		if (strcmp(key, replace[i]) == 0)
			return false;
	return true;
}

const struct lf_rtype lf_rtype_crypto = {
	.type = "crypto",
	.create = crypto_create,
	.update = crypto_update,
	.delete = crypto_delete,
	.in_place = crypto_in_place,
	.note = crypto_note,
	.refuse = crypto_refuse,
	.read = crypto_read,
	.read_cheap = crypto_read_cheap,
	.resolve = crypto_resolve,
};
