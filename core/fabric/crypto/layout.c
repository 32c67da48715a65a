/*
 * What to render: the spec's orgs and identities in cryptogen's layout
 * (directories, common names, TLS SANs), and the same model to and from
 * resource attrs, so that the executor's callbacks need nothing but the
 * resource they are given.
 */
#include "core/fabric/crypto/crypto_int.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/spec/spec.h"
#include "core/util/util.h"

#define LFC_SUBJECT "C=US,ST=California,L=San Francisco"
#define LFC_PROFILE "cryptogen-2.5/nodeous"
#define LFC_KEYALG "ecdsa-p256-sha256"

const char *lfc_role_ou(enum lfc_role r)
{
	static const char *const ou[] = { "peer", "orderer", "admin", "client" };

	return r < LFC_ROLE_LAST ? ou[r] : "client";
}

bool lfc_role_is_server(enum lfc_role r)
{
	return r == LFC_ROLE_PEER || r == LFC_ROLE_ORDERER;
}

static int role_from_ou(const char *ou)
{
	int r;

	for (r = 0; r < LFC_ROLE_LAST; r++)
		if (lf_streq(ou, lfc_role_ou((enum lfc_role)r)))
			return r;
	return -1;
}

void lfc_org_clear(struct lfc_org *o)
{
	if (!o)
		return;
	free(o->name);
	free(o->domain);
	free(o->dir);
	free(o->ca_cn);
	free(o->tlsca_cn);
	free(o->ext_cert);
	free(o->ext_key);
	free(o->ext_tls_cert);
	free(o->ext_tls_key);
	memset(o, 0, sizeof(*o));
}

void lfc_ident_clear(struct lfc_ident *id)
{
	size_t i;

	if (!id)
		return;
	free(id->name);
	free(id->dir);
	free(id->cn);
	free(id->host);
	for (i = 0; i < id->nsans; i++)
		free(id->sans[i]);
	free(id->sans);
	free(id->off_csr);
	free(id->off_cert);
	memset(id, 0, sizeof(*id));
}

void lfc_layout_free(struct lfc_layout *l)
{
	size_t i;

	if (!l)
		return;
	for (i = 0; i < l->norgs; i++)
		lfc_org_clear(&l->orgs[i]);
	for (i = 0; i < l->nids; i++)
		lfc_ident_clear(&l->ids[i]);
	free(l->orgs);
	free(l->ids);
	free(l);
}

/* a path from the spec, relative to the spec's directory, made absolute
 * and canonical (the same file gives the same attrs from any cwd) */
static char *spec_path(const struct lf_spec *spec, const char *p)
{
	char cwd[PATH_MAX], real[PATH_MAX];
	char *rel, *abs;

	if (!p)
		return NULL;
	rel = p[0] == '/' ? lf_xstrdup(p)
	      : lf_path_join(spec->dir && spec->dir[0] ? spec->dir : ".", p);
	if (realpath(rel, real)) {
		free(rel);
		return lf_xstrdup(real);
	}
	if (rel[0] == '/' || !getcwd(cwd, sizeof(cwd)))
		return rel; /* missing: the check that follows names it */
	abs = lf_path_join(cwd, rel);
	free(rel);
	return abs;
}

static int org_from_spec(struct lfc_org *o, const struct lf_spec *spec,
			 const struct lf_org *so, struct lf_err *err)
{
	bool orderer_org = so->norderers > 0 && so->npeers == 0;
	int rc = 0;

	o->name = lf_xstrdup(so->name);
	o->domain = so->domain ? lf_xstrdup(so->domain)
		    : lf_xasprintf("%s.example.com", so->name);
	o->dir = lf_xasprintf("%s/%s", orderer_org ? "ordererOrganizations"
			      : "peerOrganizations", o->domain);
	o->ca_cn = lf_xasprintf("ca.%s", o->domain);
	o->tlsca_cn = lf_xasprintf("tlsca.%s", o->domain);
	if (!so->ca)
		return 0;
	o->ext_cert = spec_path(spec, so->ca->cert);
	o->ext_key = spec_path(spec, so->ca->key);
	if (so->ca->keyless) { /* certificates only: the org keeps the keys */
		o->ext_tls_cert = spec_path(spec, so->ca->tls_cert);
		if (!o->ext_cert || !o->ext_tls_cert)
			return lf_err_set(err, LF_EINVALID, "org '%s': a CA imported "
					  "without its key needs cert and tls_cert",
					  so->name);
		rc = lfc_ca_check_import(so->name, o->ext_cert, NULL, o->ext_sha, err);
		return rc ? rc : lfc_ca_check_import(so->name, o->ext_tls_cert, NULL,
						     o->ext_tls_sha, err);
	}
	if (!o->ext_cert || !o->ext_key)
		return lf_err_set(err, LF_EINVALID,
				  "org '%s': an imported CA needs both cert and key",
				  so->name);
	rc = lfc_ca_check_import(so->name, o->ext_cert, o->ext_key, o->ext_sha, err);
	if (rc != 0 || (!so->ca->tls_cert && !so->ca->tls_key))
		return rc;
	o->ext_tls_cert = spec_path(spec, so->ca->tls_cert);
	o->ext_tls_key = spec_path(spec, so->ca->tls_key);
	if (!o->ext_tls_cert || !o->ext_tls_key)
		return lf_err_set(err, LF_EINVALID,
				  "org '%s': an imported TLS CA needs both tls_cert and tls_key",
				  so->name);
	return lfc_ca_check_import(so->name, o->ext_tls_cert, o->ext_tls_key,
				   o->ext_tls_sha, err);
}

static void add_san(struct lfc_ident *id, const char *s)
{
	size_t i;

	if (!s || !s[0])
		return;
	for (i = 0; i < id->nsans; i++)
		if (strcmp(id->sans[i], s) == 0)
			return;
	id->sans = lf_xrealloc(id->sans, (id->nsans + 1) * sizeof(char *));
	id->sans[id->nsans++] = lf_xstrdup(s);
}

static void node_ident(struct lfc_ident *id, const struct lfc_org *o,
		       size_t org, const struct lf_node *n)
{
	size_t i;
	bool orderer = n->kind == LF_NODE_ORDERER;

	id->name = lf_xstrdup(n->name);
	id->org = org;
	id->role = orderer ? LFC_ROLE_ORDERER : LFC_ROLE_PEER;
	id->cn = n->hostname ? lf_xstrdup(n->hostname)
		 : lf_xasprintf("%s.%s", n->name, o->domain);
	id->dir = lf_xconcat(o->dir, orderer ? "/orderers/" : "/peers/", id->cn, NULL);
	add_san(id, id->cn);
	add_san(id, n->name);
	add_san(id, n->address);
	for (i = 0; i < n->nsans; i++)
		add_san(id, n->sans[i]);
	/* a machine a provider makes: its address is known from the host's
	 * outputs only (attrs "host_sans", see lfc_host_sans) */
	if (!n->machine)
		id->host = lf_xasprintf("host.%s.%s", n->org, n->name);
}

static void user_ident(struct lfc_ident *id, const struct lfc_org *o,
		       size_t org, unsigned int n)
{
	id->org = org;
	id->role = n == 0 ? LFC_ROLE_ADMIN : LFC_ROLE_CLIENT;
	id->name = n == 0 ? lf_xstrdup("admin") : lf_xasprintf("user%u", n);
	id->cn = n == 0 ? lf_xasprintf("Admin@%s", o->domain)
		 : lf_xasprintf("User%u@%s", n, o->domain);
	id->dir = lf_xconcat(o->dir, "/users/", id->cn, NULL);
}

/* the admin of an `admin: offline` org: its request or certificate,
 * checked now (plan), so that a bad file is named before anything runs */
static int admin_offline(struct lfc_ident *id, const struct lf_spec *spec,
			 const struct lf_org *so, const struct lfc_org *o,
			 struct lf_err *err)
{
	char *csr = spec_path(spec, so->admin_csr), *cert = spec_path(spec, so->admin_cert);
	int rc = lfc_offline_from_spec(id, o, csr, cert, err);

	free(csr);
	free(cert);
	return rc;
}

static size_t count_ids(const struct lf_spec *spec)
{
	size_t i, n = 0;

	for (i = 0; i < spec->norgs; i++)
		n += spec->orgs[i].nnodes + 1 + spec->orgs[i].users;
	return n;
}

int lfc_layout_from_spec(struct lfc_layout **out, const struct lf_spec *spec,
			 struct lf_err *err)
{
	struct lfc_layout *l = lf_xcalloc(1, sizeof(*l));
	size_t i, j;
	unsigned int u;
	int rc = 0;

	*out = NULL;
	l->orgs = lf_xcalloc(spec->norgs ? spec->norgs : 1, sizeof(*l->orgs));
	l->ids = lf_xcalloc(count_ids(spec) + 1, sizeof(*l->ids));
	for (i = 0; rc == 0 && i < spec->norgs; i++) {
		const struct lf_org *so = &spec->orgs[i];

		rc = org_from_spec(&l->orgs[i], spec, so, err);
		l->norgs++;
		for (j = 0; rc == 0 && j < so->nnodes; j++) {
			enum lf_node_kind k = so->nodes[j].kind;

			if (k == LF_NODE_PEER || k == LF_NODE_ORDERER || k == LF_NODE_CA)
				node_ident(&l->ids[l->nids++], &l->orgs[i], i, &so->nodes[j]);
		}
		for (u = 0; rc == 0 && u <= so->users; u++)
			user_ident(&l->ids[l->nids++], &l->orgs[i], i, u);
		if (rc == 0 && so->admin_offline)
			rc = admin_offline(&l->ids[l->nids - so->users - 1], spec, so,
					   &l->orgs[i], err);
	}
	if (rc != 0) {
		lfc_layout_free(l);
		return rc;
	}
	*out = l;
	return 0;
}

/* ---- attrs --------------------------------------------------------- */

/* a CA imported without its key has no "key" */
static json_t *import_attrs(const char *cert, const char *key, const char *sha)
{
	json_t *a = json_pack("{s:s, s:s}", "cert", cert, "cert_sha256", sha);

	if (key)
		json_object_set_new(a, "key", json_string(key));
	return a;
}

/* a string attr; keys are literals, values checked as json_string does */
static void put_str(json_t *a, const char *key, const char *v)
{
	json_object_set_new_nocheck(a, key, json_string(v));
}

/* a string value a + b + c */
static json_t *str3(const char *a, const char *b, const char *c)
{
	char *t = lf_xconcat(a, b, c, NULL);
	json_t *j = json_string(t);

	free(t);
	return j;
}

/* the org's attrs but "dir", in their order (no format to parse: built
 * once per identity, 55,000 times at 50,000 nodes) */
static json_t *org_attrs(const struct lfc_org *o, const char *kind)
{
	/* only what decides the files: the MSP id is in no certificate and
	 * no file of the tree (cryptogen's layout), so it is not an input */
	json_t *a = json_object();

	put_str(a, "kind", kind);
	put_str(a, "org", o->name);
	put_str(a, "domain", o->domain);
	put_str(a, "org_dir", o->dir);
	put_str(a, "ca_cn", o->ca_cn);
	put_str(a, "tlsca_cn", o->tlsca_cn);
	put_str(a, "subject", LFC_SUBJECT);
	put_str(a, "key", LFC_KEYALG);
	put_str(a, "profile", LFC_PROFILE);
	if (o->ext_cert)
		json_object_set_new(a, "ca_import", import_attrs(o->ext_cert, o->ext_key,
								 o->ext_sha));
	if (o->ext_tls_cert)
		json_object_set_new(a, "tlsca_import",
				    import_attrs(o->ext_tls_cert, o->ext_tls_key,
						 o->ext_tls_sha));
	return a;
}

json_t *lfc_org_attrs(const struct lfc_org *o, const char *kind)
{
	json_t *a = org_attrs(o, kind);

	json_object_set_new_nocheck(a, "dir", str3(o->dir, "/", kind));
	return a;
}

json_t *lfc_ident_attrs(const struct lfc_org *o, const struct lfc_ident *id)
{
	json_t *a = org_attrs(o, lfc_role_is_server(id->role) ? "node" : "user");
	json_t *sans = json_array();
	size_t i;

	for (i = 0; i < id->nsans; i++)
		json_array_append_new(sans, json_string(id->sans[i]));
	put_str(a, "dir", id->dir);
	put_str(a, "name", id->name);
	put_str(a, "cn", id->cn);
	put_str(a, "ou", lfc_role_ou(id->role));
	put_str(a, "tls", lfc_role_is_server(id->role) ? "server"
		: lfc_ident_offline(id) ? "none" : "client");
	json_object_set_new_nocheck(a, "sans", sans);
	if (id->host)
		put_str(a, LF_OUTPUTS_FROM, id->host);
	json_object_set_new_nocheck(a, "issuer", str3("crypto.", o->name, ".ca"));
	json_object_set_new_nocheck(a, "tls_issuer", str3("crypto.", o->name, ".tlsca"));
	if (lfc_ident_offline(id)) {
		/* a local org's attrs stay as they were, byte for byte */
		json_object_set_new_nocheck(a, "admin_offline", json_true());
		put_str(a, id->off_csr ? "admin_csr" : "admin_cert",
			id->off_csr ? id->off_csr : id->off_cert);
		put_str(a, "admin_file_sha256", id->off_file_sha);
		put_str(a, id->off_csr ? "admin_pub_sha256" : "admin_cert_sha256", id->off_sha);
	}
	return a;
}

static char *attr_str(const json_t *a, const char *key)
{
	const char *s = json_string_value(json_object_get(a, key));

	return s ? lf_xstrdup(s) : NULL;
}

static void import_from(const json_t *imp, char **cert, char **key, char sha[65])
{
	const char *s = json_string_value(json_object_get(imp, "cert_sha256"));

	*cert = attr_str(imp, "cert");
	*key = attr_str(imp, "key");
	snprintf(sha, 65, "%s", s ? s : "");
}

int lfc_org_from_attrs(struct lfc_org *o, const json_t *attrs,
		       struct lf_err *err)
{
	const json_t *imp;

	memset(o, 0, sizeof(*o));
	o->name = attr_str(attrs, "org");
	o->domain = attr_str(attrs, "domain");
	o->dir = attr_str(attrs, "org_dir");
	o->ca_cn = attr_str(attrs, "ca_cn");
	o->tlsca_cn = attr_str(attrs, "tlsca_cn");
	if (!o->name || !o->domain || !o->dir || !o->ca_cn || !o->tlsca_cn) {
		lfc_org_clear(o);
		return lf_err_set(err, LF_EINVALID, "crypto resource attrs lack org fields");
	}
	imp = json_object_get(attrs, "ca_import");
	if (imp)
		import_from(imp, &o->ext_cert, &o->ext_key, o->ext_sha);
	imp = json_object_get(attrs, "tlsca_import");
	if (imp)
		import_from(imp, &o->ext_tls_cert, &o->ext_tls_key, o->ext_tls_sha);
	return 0;
}

int lfc_ident_from_attrs(struct lfc_ident *id, const json_t *attrs,
			 struct lf_err *err)
{
	const json_t *sans = json_object_get(attrs, "sans");
	int role = role_from_ou(json_string_value(json_object_get(attrs, "ou")));
	size_t i;

	memset(id, 0, sizeof(*id));
	id->name = attr_str(attrs, "name");
	id->dir = attr_str(attrs, "dir");
	id->cn = attr_str(attrs, "cn");
	if (!id->name || !id->dir || !id->cn || role < 0) {
		lfc_ident_clear(id);
		return lf_err_set(err, LF_EINVALID, "crypto resource attrs lack identity fields");
	}
	id->role = (enum lfc_role)role;
	if (json_is_true(json_object_get(attrs, "admin_offline"))) {
		const char *f = json_string_value(json_object_get(attrs, "admin_file_sha256"));
		const char *k = json_string_value(json_object_get(attrs, "admin_pub_sha256"));

		id->off_csr = attr_str(attrs, "admin_csr");
		id->off_cert = attr_str(attrs, "admin_cert");
		if (!k)
			k = json_string_value(json_object_get(attrs, "admin_cert_sha256"));
		snprintf(id->off_file_sha, sizeof(id->off_file_sha), "%s", f ? f : "");
		snprintf(id->off_sha, sizeof(id->off_sha), "%s", k ? k : "");
		if (!lfc_ident_offline(id)) {
			lfc_ident_clear(id);
			return lf_err_set(err, LF_EINVALID, "crypto resource attrs: an "
					  "offline admin without admin_csr or admin_cert");
		}
	}
	id->host = attr_str(attrs, LF_OUTPUTS_FROM);
	for (i = 0; i < json_array_size(sans); i++)
		add_san(id, json_string_value(json_array_get(sans, i)));
	sans = json_object_get(attrs, "host_sans");
	if (sans && !json_is_array(sans)) {
		lfc_ident_clear(id);
		return lf_err_set(err, LF_EINVALID, "the SANs from the host's outputs are not "
				  "known yet (its addresses are known after its apply)");
	}
	for (i = 0; i < json_array_size(sans); i++)
		add_san(id, json_string_value(json_array_get(sans, i)));
	return 0;
}

/* the host_sans attr of an identity on the host resource whose outputs
 * are host_outputs: the addresses the provider reported, minus those the
 * spec's SANs name already; NULL when none */
json_t *lfc_host_sans(const json_t *attrs, const json_t *host_outputs)
{
	static const char *const keys[] = LF_ADDRESS_OUTPUTS;
	const json_t *spec_sans = json_object_get(attrs, "sans");
	json_t *v = NULL;
	size_t i, k;

	for (i = 0; i < LF_ARRAY_LEN(keys); i++) {
		const json_t *a = json_object_get(host_outputs, keys[i]);
		bool seen = !json_string_length(a);

		for (k = 0; !seen && k < json_array_size(spec_sans); k++)
			seen = json_equal(json_array_get(spec_sans, k), a);
		for (k = 0; !seen && k < json_array_size(v); k++)
			seen = json_equal(json_array_get(v, k), a);
		if (seen)
			continue;
		if (!v)
			v = json_array();
		json_array_append(v, (json_t *)a);
	}
	return v;
}
