/*
 * orgs: organizations, their node roles expanded into nodes (count or
 * explicit hosts), external CA files, users and anchor peers. Also the
 * kafka section (its nodes are named after the first orderer org's
 * domain) and the address/port cross check.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/spec/spec_int.h"
#include "core/util/util.h"

static const char *const org_keys[] = {
	"name", "domain", "mspid", "ca", "orderers", "peers", "users",
	"anchor_peers", "admin", "admin_csr", "admin_cert", NULL
};
static const char *const role_keys[] = {
	"count", "hosts", "size", "provider", "port", "ports", "sans", NULL
};
static const char *const host_keys[] = { "name", "address", "port", "ports",
					 NULL };
static const char *const ca_keys[] = { "cert", "key", "tls_cert", "tls_key",
				       "server", "port", "ports", NULL };

/* what a role (orderers:, peers:) gives every node it makes */
struct role {
	struct lf_org *org;
	enum lf_node_kind kind;
	const char *prefix;          /* orderer / peer */
	const char *size, *provider; /* borrowed from the tree or defaults */
	struct lf_portset ports;     /* given by the role (none: planned) */
	char **sans;
	size_t nsans;
};

static bool is_reserved(const char *name)
{
	static const char *const words[] = { "ca", "tlsca", "msp", "admin",
					     NULL };
	size_t i;

	for (i = 0; words[i]; i++)
		if (strcmp(name, words[i]) == 0)
			return true;
	if (strncmp(name, "user", 4) != 0 || !name[4])
		return false;
	return strspn(name + 4, "0123456789") == strlen(name + 4);
}

static char *join_host(const char *name, const char *domain)
{
	size_t a = strlen(name), b = strlen(domain);
	char *h = lf_xmalloc(a + b + 2);

	memcpy(h, name, a);
	h[a] = '.';
	memcpy(h + a + 1, domain, b + 1);
	return h;
}

static struct lf_node *node_add(struct lf_node **v, size_t *n,
				const struct role *r, char *name,
				const char *domain, struct lf_pos pos)
{
	struct lf_node *nd = &(*v)[(*n)++];

	memset(nd, 0, sizeof(*nd));
	nd->name = name;
	nd->org = r->org ? r->org->name : (char *)"kafka";
	nd->kind = r->kind;
	nd->size = lf_xstrdup(r->size);
	nd->provider = lf_xstrdup(r->provider);
	nd->hostname = join_host(name, domain);
	lf_spec__node_ports(nd, &r->ports);
	nd->pos = pos;
	if (r->nsans) {
		nd->sans = lf_xmalloc(r->nsans * sizeof(*nd->sans));
		for (size_t i = 0; i < r->nsans; i++)
			nd->sans[i] = lf_xstrdup(r->sans[i]);
		nd->nsans = r->nsans;
	}
	return nd;
}

static void reserve_nodes(struct lf_org *o, size_t more)
{
	o->nodes = lf_xrealloc(o->nodes, (o->nnodes + more + 1) *
			       sizeof(*o->nodes));
}

static void count_nodes(struct role *r, const struct lf_ynode *cnt,
			unsigned long long count)
{
	struct lf_org *o = r->org;
	char name[32];

	reserve_nodes(o, count);
	for (unsigned long long i = 0; i < count; i++) {
		struct lf_node *nd;

		snprintf(name, sizeof(name), "%s%llu", r->prefix, i);
		nd = node_add(&o->nodes, &o->nnodes, r, lf_xstrdup(name),
			      o->domain, cnt->pos);
		nd->address = lf_xstrdup(nd->hostname);
	}
}

static void host_node(struct lf_sctx *c, struct role *r,
		      const struct lf_ynode *h)
{
	char buf[LF_SHOW_MAX], *name = NULL, *addr = NULL;
	struct lf_portset ports = r->ports;
	size_t errs = c->d->nerrors;
	const struct lf_ynode *nv = lf_map_get(h, "name");
	struct lf_node *nd;
	int bad = 0;

	if (!lf_sc_want(c, h, LF_Y_MAP, "hosts entry"))
		return;
	lf_sc_check_keys(c, h, host_keys, "a hosts entry");
	bad |= lf_sc_str(c, h, "name", "a hosts entry", &name);
	bad |= lf_sc_str(c, h, "address", "a hosts entry", &addr);
	lf_spec__ports(c, h, r->kind, &ports);
	if (c->d->nerrors > errs)
		bad = -1;
	if (name && !lf_is_dns_label(name)) {
		lf_sc_err(c, nv, "node name '%s' is not a DNS label: expected "
			  "1 to 63 lower-case letters, digits or '-'",
			  lf_sc_show(name, buf, sizeof(buf)));
		bad = -1;
	} else if (name && is_reserved(name)) {
		lf_sc_err(c, nv, "node name '%s' is reserved (ca, tlsca, msp, "
			  "admin and userN name the org's CAs and identities, "
			  "as in crypto.%s.%s): choose another name", name,
			  r->org->name, name);
		bad = -1;
	}
	if (addr && !lf_spec_is_address(addr)) {
		lf_sc_err(c, lf_map_get(h, "address"), "address '%s': expected "
			  "a host name or an IP address",
			  lf_sc_show(addr, buf, sizeof(buf)));
		bad = -1;
	}
	if (bad) {
		free(name);
		free(addr);
		return;
	}
	nd = node_add(&r->org->nodes, &r->org->nnodes, r, name,
		      r->org->domain, nv->pos);
	nd->address = addr;
	lf_spec__node_ports(nd, &ports);
	nd->explicit_host = true;
}

static void role_hosts(struct lf_sctx *c, struct role *r,
		       const struct lf_ynode *hosts)
{
	if (!lf_sc_want(c, hosts, LF_Y_SEQ, "hosts"))
		return;
	if (hosts->n > LF_SPEC_MAX_COUNT) {
		lf_sc_err(c, hosts, "hosts: more than %d entries",
			  LF_SPEC_MAX_COUNT);
		return;
	}
	reserve_nodes(r->org, hosts->n);
	for (size_t i = 0; i < hosts->n; i++)
		host_node(c, r, hosts->kids[i]);
}

static bool valid_san(const char *s)
{
	if (lf_str_has_prefix(s, "*."))
		return lf_spec_is_dns_name(s + 2);
	return lf_spec_is_address(s);
}

/* size, provider, port, sans of a role; a bad reference is reported and
 * still used, so the nodes exist and cause no follow-on errors */
static void role_common(struct lf_sctx *c, struct role *r,
			const struct lf_ynode *m)
{
	const struct lf_ynode *v, *sl;
	char buf[LF_SHOW_MAX];

	v = lf_map_get(m, "size");
	if (v && lf_sc_want(c, v, LF_Y_SCALAR, "size")) {
		lf_spec__size_ref(c, v);
		r->size = v->str;
	}
	v = lf_map_get(m, "provider");
	if (v && lf_sc_want(c, v, LF_Y_SCALAR, "provider")) {
		lf_spec__provider_ref(c, v);
		r->provider = v->str;
	}
	lf_spec__ports(c, m, r->kind, &r->ports);
	if (lf_sc_strlist(c, m, "sans", &r->sans, &r->nsans, &sl) != 0)
		return;
	for (size_t i = 0; sl && i < r->nsans; i++)
		if (!valid_san(r->sans[i]))
			lf_sc_err(c, sl->kids[i], "sans: '%s' is neither a DNS "
				  "name nor an IP address",
				  lf_sc_show(r->sans[i], buf, sizeof(buf)));
}

static void free_role(struct role *r)
{
	for (size_t i = 0; i < r->nsans; i++)
		free(r->sans[i]);
	free(r->sans);
}

/* does adding n more of `what` to the spec's running total stay within
 * max? reported once, at `at` (the count that pushes it over), when not */
static bool within_total(struct lf_sctx *c, const struct lf_ynode *at,
			 const char *key, unsigned long long *total,
			 unsigned long long n, unsigned long long max,
			 const char *what)
{
	if (*total > max)
		return false;           /* reported once, where it went over */
	if (*total + n > max) {
		lf_sc_err(c, at, "%s: this makes %llu %s in the spec, more than "
			  "the maximum of %llu (see Limits in docs/spec.md)",
			  key, *total + n, what, max);
		*total = max + 1;
		return false;
	}
	*total += n;
	return true;
}

static void build_role(struct lf_sctx *c, struct lf_org *o,
		       const struct lf_ynode *m, enum lf_node_kind kind)
{
	struct role r = { o, kind, kind == LF_NODE_ORDERER ? "orderer" : "peer",
			  c->def_size, c->def_provider, { { 0 }, 0, { { 0, 0 } } },
			  NULL, 0 };
	const char *what = kind == LF_NODE_ORDERER ? "orderers" : "peers";
	const struct lf_ynode *cnt = lf_map_get(m, "count");
	const struct lf_ynode *hosts = lf_map_get(m, "hosts");
	unsigned long long count = 0;
	size_t before = o->nnodes, typos;

	if (!lf_sc_want(c, m, LF_Y_MAP, what))
		return;
	typos = lf_sc_check_keys(c, m, role_keys, what);
	role_common(c, &r, m);
	if (cnt && hosts)
		lf_sc_err(c, lf_map_key(m, "hosts"), "%s: give either 'count' "
			  "or 'hosts', not both", what);
	else if (!cnt && !hosts && !typos)
		lf_sc_err(c, m, "%s: expected 'count' or 'hosts'", what);
	else if (cnt && lf_sc_uint(c, m, "count", 0, LF_SPEC_MAX_COUNT,
				   &count) == 0 &&
		 within_total(c, cnt, "count", &c->nodes, count,
			      LF_SPEC_MAX_TOTAL_NODES, "nodes"))
		count_nodes(&r, cnt, count);
	else if (hosts && !cnt && (hosts->type != LF_Y_SEQ ||
		 within_total(c, hosts, "hosts", &c->nodes, hosts->n,
			      LF_SPEC_MAX_TOTAL_NODES, "nodes")))
		role_hosts(c, &r, hosts);
	if (hosts && !cnt && lf_map_get(m, "size"))
		lf_sc_warn(c, lf_map_key(m, "size"), "%s: size is ignored on "
			   "explicit hosts (those machines exist already)",
			   what);
	if (kind == LF_NODE_ORDERER)
		o->norderers = o->nnodes - before;
	else
		o->npeers = o->nnodes - before;
	free_role(&r);
}

/* ---- external CA ---- */

/* a file path under key of m (pre names the section in messages: "ca."
 * or ""), readable when the spec is a file */
static void spec_file(struct lf_sctx *c, const struct lf_ynode *m,
		      const char *pre, const char *key, char **out)
{
	const struct lf_ynode *v = lf_map_get(m, key);
	char *path;

	if (lf_sc_str(c, m, key, NULL, out) != 0 || !*out)
		return;
	if (!(*out)[0]) {
		lf_sc_err(c, v, "%s%s: expected a file path, got an empty "
			  "string", pre, key);
		return;
	}
	if (!c->check_files)
		return;
	path = (*out)[0] == '/' ? lf_xstrdup(*out)
				: lf_path_join(c->spec->dir, *out);
	if (access(path, R_OK) != 0) {
		char buf[LF_SHOW_MAX];

		lf_sc_err(c, v, "%s%s: cannot read '%s' (paths are relative "
			  "to the spec's directory)", pre, key,
			  lf_sc_show(path, buf, sizeof(buf)));
	}
	free(path);
}

/* ca.server: true asks for a fabric-ca-server node of the org, named
 * LF_CA_SERVER_NODE, on a host of its own (defaults.size/provider), with
 * ca.port / ca.ports {listen, operations} as a role's */
static void ca_server(struct lf_sctx *c, struct lf_org *o,
		      const struct lf_ynode *m)
{
	const struct lf_ynode *v = lf_map_get(m, "server");

	if (!v)
		return;
	if (v->type != LF_Y_SCALAR || !v->str ||
	    (strcmp(v->str, "true") != 0 && strcmp(v->str, "false") != 0)) {
		lf_sc_err(c, v, "ca.server: expected true or false");
		return;
	}
	o->ca_server = strcmp(v->str, "true") == 0;
	if (!o->ca_server && (lf_map_get(m, "port") || lf_map_get(m, "ports")))
		lf_sc_err(c, lf_map_get(m, "port") ? lf_map_key(m, "port")
			  : lf_map_key(m, "ports"), "ca: ports are for a CA "
			  "server: set 'server: true' or leave them out");
	o->ca_pos = v->pos;
}

/* the CA server node, after the org's peers (nothing indexes past them) */
static void ca_server_node(struct lf_sctx *c, struct lf_org *o,
			   const struct lf_ynode *m)
{
	struct role r = { o, LF_NODE_CA, "ca", c->def_size, c->def_provider,
			  { { 0 }, 0, { { 0, 0 } } }, NULL, 0 };
	struct lf_node *nd;

	if (!o->ca_server || m->type != LF_Y_MAP)
		return;
	lf_spec__ports(c, m, LF_NODE_CA, &r.ports);
	reserve_nodes(o, 1);
	nd = node_add(&o->nodes, &o->nnodes, &r, lf_xstrdup(LF_CA_SERVER_NODE),
		      o->domain, o->ca_pos);
	nd->address = lf_xstrdup(nd->hostname);
}

static void build_ca(struct lf_sctx *c, struct lf_org *o,
		     const struct lf_ynode *m)
{
	struct lf_external_ca *ca;

	if (!lf_sc_want(c, m, LF_Y_MAP, "ca"))
		return;
	lf_sc_check_keys(c, m, ca_keys, "ca");
	ca_server(c, o, m);
	/* {server: true} alone runs a CA server on the generated CA */
	if (o->ca_server && !lf_map_get(m, "cert") && !lf_map_get(m, "key") &&
	    !lf_map_get(m, "tls_cert") && !lf_map_get(m, "tls_key"))
		return;
	ca = lf_xcalloc(1, sizeof(*ca));
	ca->pos = m->pos;
	o->ca = ca;
	if (lf_map_get(m, "cert") && !lf_map_get(m, "key")) {
		/* the org keeps its CA keys: certificates only (org_keyless) */
		ca->keyless = true;
		if (!lf_map_get(m, "tls_cert"))
			lf_sc_err(c, m, "ca: a CA imported without its key "
				  "needs 'tls_cert' too (the org's TLS CA "
				  "certificate, also without its key): "
				  "ledgerform cannot make a TLS CA for an org "
				  "that issues its own certificates");
		if (lf_map_get(m, "tls_key"))
			lf_sc_err(c, lf_map_key(m, "tls_key"), "ca: 'tls_key' "
				  "without 'key': give both CA keys, or neither "
				  "(the org then issues its nodes' certificates "
				  "with `ledgerform issue`)");
		if (o->ca_server)
			lf_sc_err(c, lf_map_get(m, "server"), "ca: server: "
				  "true needs the CA's key (a Fabric CA server "
				  "signs with it), and this CA is imported "
				  "without its key");
	} else if (!lf_map_get(m, "cert") || !lf_map_get(m, "key")) {
		lf_sc_err(c, m, "ca: an imported CA needs 'cert' (and "
			  "'key', or neither key: the org then issues its "
			  "nodes' certificates itself)");
	}
	if (!ca->keyless && !lf_map_get(m, "tls_cert") != !lf_map_get(m, "tls_key"))
		lf_sc_err(c, m, "ca: give both 'tls_cert' and 'tls_key', or "
			  "neither (a TLS CA is then generated)");
	spec_file(c, m, "ca.", "cert", &ca->cert);
	spec_file(c, m, "ca.", "key", &ca->key);
	spec_file(c, m, "ca.", "tls_cert", &ca->tls_cert);
	spec_file(c, m, "ca.", "tls_key", &ca->tls_key);
}

/* ---- names, identities, anchors ---- */

static char *default_mspid(const char *name)
{
	char *m = lf_xasprintf("%sMSP", name);

	if (m[0] >= 'a' && m[0] <= 'z')
		m[0] = (char)(m[0] - 'a' + 'A');
	return m;
}

static bool is_mspid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 128 || s[0] == '.' || s[0] == '-')
		return false;
	return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		      "0123456789._-") == n;
}

/* index the org's nodes by name; only explicit names can clash */
static void index_nodes(struct lf_sctx *c, const struct lf_org *o,
			struct lf_sset *names)
{
	for (size_t i = 0; i < o->nnodes; i++) {
		const struct lf_node *n = &o->nodes[i], *first;
		bool found;

		first = lf_sset_put(names, n->name, n, &found);
		if (found)
			lf_diags_add(c->d, 1, n->pos, "duplicate node name "
				     "'%s' in org '%s' (first defined at line "
				     "%d)", n->name, o->name, first->pos.line);
	}
}

static void check_anchors(struct lf_sctx *c, const struct lf_org *o,
			  const struct lf_ynode *list,
			  const struct lf_sset *names)
{
	struct lf_sset seen = { NULL, 0, 0, false };
	char buf[LF_SHOW_MAX];

	for (size_t i = 0; i < o->nanchor_peers; i++) {
		const struct lf_node *n = lf_sset_get(names, o->anchor_peers[i]);
		const struct lf_ynode *at = list->kids[i], *first;
		bool found;

		if (!n || n->kind != LF_NODE_PEER)
			lf_sc_err(c, at, "anchor peer '%s' is not a peer of "
				  "org '%s'%s", lf_sc_show(at->str, buf,
				  sizeof(buf)), o->name, o->npeers ? ""
				  : " (the org has no peers)");
		first = lf_sset_put(&seen, o->anchor_peers[i], at, &found);
		if (found)
			lf_sc_err(c, at, "anchor peer '%s' is listed twice "
				  "(first at line %d)", lf_sc_show(at->str, buf,
				  sizeof(buf)), first->pos.line);
	}
	lf_sset_free(&seen);
}

static void build_anchors(struct lf_sctx *c, struct lf_org *o,
			  const struct lf_ynode *m,
			  const struct lf_sset *names)
{
	const struct lf_ynode *list;

	if (!lf_map_get(m, "anchor_peers")) {
		if (o->npeers == 0)
			return;
		o->anchor_peers = lf_xcalloc(1, sizeof(char *));
		o->anchor_peers[0] = lf_xstrdup(o->nodes[o->norderers].name);
		o->nanchor_peers = 1;
		return;
	}
	if (lf_sc_strlist(c, m, "anchor_peers", &o->anchor_peers,
			  &o->nanchor_peers, &list) == 0)
		check_anchors(c, o, list, names);
}

/* admin: local (default) or offline; an offline admin's identity comes
 * from exactly one of admin_csr (ledgerform issues the certificate over
 * the request's key) and admin_cert (a certificate the org's CA issued).
 * The files' contents are checked at plan (core/fabric/crypto). */
static void org_admin(struct lf_sctx *c, struct lf_org *o,
		      const struct lf_ynode *m)
{
	const struct lf_ynode *v = lf_map_get(m, "admin");
	const struct lf_ynode *kcsr = lf_map_key(m, "admin_csr");
	const struct lf_ynode *kcert = lf_map_key(m, "admin_cert");
	const struct lf_ynode *kf = kcsr ? kcsr : kcert;
	char buf[LF_SHOW_MAX];

	if (v && lf_sc_want(c, v, LF_Y_SCALAR, "admin")) {
		if (strcmp(v->str, "offline") != 0 &&
		    strcmp(v->str, "local") != 0) {
			lf_sc_err(c, v, "org '%s': admin: expected local or "
				  "offline, got '%s'", o->name,
				  lf_sc_show(v->str, buf, sizeof(buf)));
			return;
		}
		o->admin_offline = v->str[0] == 'o';
	} else if (v) {
		return;
	}
	if (!o->admin_offline && o->ca && o->ca->keyless)
		lf_sc_err(c, v ? v : lf_map_key(m, "ca"), "org '%s': a CA "
			  "imported without its key (ca: {cert, tls_cert}) needs "
			  "'admin: offline' with admin_cert: ledgerform cannot "
			  "make a local admin without the CA key", o->name);
	if (!o->admin_offline) {
		if (kf)
			lf_sc_err(c, kf, "org '%s': %s is only for an org with "
				  "'admin: offline' (ledgerform makes a local "
				  "admin's identity)", o->name, kf->str);
		return;
	}
	if (kcsr && kcert) {
		lf_sc_err(c, kcert, "org '%s': give either admin_csr or "
			  "admin_cert, not both", o->name);
		return;
	}
	if (!kf) {
		lf_sc_err(c, v, "org '%s': admin: offline needs admin_csr (a "
			  "certificate request the org's admin made with their "
			  "own key; ledgerform issues the certificate) or "
			  "admin_cert (the admin's certificate, issued by the "
			  "org's CA)", o->name);
		return;
	}
	if (o->norderers > 0)
		lf_sc_err(c, v, "org '%s': admin: offline is not supported for "
			  "an org with orderers (joining orderers to channels "
			  "through their admin service needs the org admin's "
			  "TLS client key here): keep the orderers in an org "
			  "whose admin is local", o->name);
	if (o->ca && o->ca->keyless && kcsr)
		lf_sc_err(c, kcsr, "org '%s': admin_csr needs the org's CA key "
			  "(ledgerform issues the admin's certificate with it), "
			  "and ca is imported without its key: give admin_cert "
			  "(the admin's certificate, issued by the org's CA)",
			  o->name);
	o->admin_file_pos = kf->pos;
	spec_file(c, m, "", "admin_csr", &o->admin_csr);
	spec_file(c, m, "", "admin_cert", &o->admin_cert);
}

/* name, domain, mspid; false when the org cannot be used */
static bool org_identity(struct lf_sctx *c, struct lf_org *o,
			 const struct lf_ynode *m)
{
	const struct lf_ynode *nv = lf_map_get(m, "name");
	char buf[LF_SHOW_MAX];

	if (lf_sc_str(c, m, "name", "an org", &o->name) != 0)
		return false;
	if (!lf_is_dns_label(o->name)) {
		lf_sc_err(c, nv, "org name '%s' is not a DNS label: expected 1 "
			  "to 63 lower-case letters, digits or '-', starting "
			  "and ending with a letter or digit",
			  lf_sc_show(o->name, buf, sizeof(buf)));
		return false;
	}
	if (strcmp(o->name, "kafka") == 0 && lf_map_get(c->root, "kafka"))
		lf_sc_err(c, nv, "org name 'kafka' is taken by the kafka "
			  "section's nodes: choose another name");
	if (lf_sc_str(c, m, "domain", NULL, &o->domain) == 0 && o->domain &&
	    !lf_spec_is_dns_name(o->domain))
		lf_sc_err(c, lf_map_get(m, "domain"), "domain '%s' is not a "
			  "valid DNS name (lower-case labels separated by dots)",
			  lf_sc_show(o->domain, buf, sizeof(buf)));
	if (!o->domain)
		o->domain = lf_xasprintf("%s.example.com", o->name);
	if (lf_sc_str(c, m, "mspid", NULL, &o->mspid) == 0 && o->mspid &&
	    !is_mspid(o->mspid))
		lf_sc_err(c, lf_map_get(m, "mspid"), "mspid '%s': expected "
			  "letters, digits, '.', '_' or '-' (at most 128)",
			  lf_sc_show(o->mspid, buf, sizeof(buf)));
	if (!o->mspid)
		o->mspid = default_mspid(o->name);
	return true;
}

static void build_org(struct lf_sctx *c, struct lf_org *o,
		      const struct lf_ynode *m)
{
	struct lf_sset names = { NULL, 0, 0, false };
	unsigned long long users = 1;
	const struct lf_ynode *v;

	o->pos = m->pos;
	lf_sc_check_keys(c, m, org_keys, "an org");
	o->users = 1;
	if (lf_sc_uint(c, m, "users", 0, LF_SPEC_MAX_COUNT, &users) == 0 &&
	    within_total(c, lf_map_get(m, "users") ? lf_map_get(m, "users") : m,
			 "users", &c->users, users, LF_SPEC_MAX_TOTAL_USERS,
			 "users"))
		o->users = (unsigned)users;
	if ((v = lf_map_get(m, "ca")) != NULL)
		build_ca(c, o, v);
	if ((v = lf_map_get(m, "orderers")) != NULL)
		build_role(c, o, v, LF_NODE_ORDERER);
	if ((v = lf_map_get(m, "peers")) != NULL)
		build_role(c, o, v, LF_NODE_PEER);
	if ((v = lf_map_get(m, "ca")) != NULL)
		ca_server_node(c, o, v);
	org_admin(c, o, m);
	index_nodes(c, o, &names);
	build_anchors(c, o, m, &names);
	lf_sset_free(&names);
}

/* the node to blame for a duplicate: the key's value or the org */
static const struct lf_ynode *blame(const struct lf_ynode *m, const char *key)
{
	const struct lf_ynode *v = lf_map_get(m, key);

	return v ? v : m;
}

struct org_sets {
	struct lf_sset mspids, domains;
};

/* names, mspids and domains are unique; sets map them to their org */
static void check_unique(struct lf_sctx *c, struct org_sets *sets,
			 const struct lf_org *o, const struct lf_ynode *m)
{
	const struct lf_org *first;
	bool found, dup_name = false;

	first = lf_sset_put(&c->orgs, o->name, o, &found);
	if (found) {
		lf_sc_err(c, blame(m, "name"), "duplicate org name '%s' (first "
			  "defined at line %d)", o->name, first->pos.line);
		/* derived mspid and domain clash too: say it once */
		dup_name = true;
	}
	first = lf_sset_put(&sets->mspids, o->mspid, o, &found);
	if (found && !(dup_name && !lf_map_get(m, "mspid")))
		lf_sc_err(c, blame(m, "mspid"), "duplicate mspid '%s' (first "
			  "used by org '%s' at line %d)", o->mspid,
			  first->name, first->pos.line);
	first = lf_sset_put(&sets->domains, o->domain, o, &found);
	if (found && !(dup_name && !lf_map_get(m, "domain")))
		lf_sc_err(c, blame(m, "domain"), "duplicate domain '%s' (first "
			  "used by org '%s' at line %d): crypto material and "
			  "host names would collide", o->domain, first->name,
			  first->pos.line);
}

void lf_spec__orgs(struct lf_sctx *c, const struct lf_ynode *n)
{
	struct org_sets sets = { { NULL, 0, 0, false },
				 { NULL, 0, 0, false } };
	struct lf_spec *s = c->spec;
	size_t i, before;

	if (!n) {
		lf_sc_err(c, c->root, "missing required key 'orgs': expected "
			  "a list of organizations");
		return;
	}
	if (!lf_sc_want(c, n, LF_Y_SEQ, "orgs"))
		return;
	if (n->n == 0)
		lf_sc_err(c, n, "orgs: expected at least one organization");
	s->orgs = lf_xcalloc(n->n ? n->n : 1, sizeof(*s->orgs));
	for (i = 0; i < n->n; i++) {
		const struct lf_ynode *m = n->kids[i];
		struct lf_org *o = &s->orgs[s->norgs];

		if (!lf_sc_want(c, m, LF_Y_MAP, "orgs entry"))
			continue;
		before = c->d->nerrors;
		if (!org_identity(c, o, m)) {
			lf_org_clear(o);
			continue;
		}
		build_org(c, o, m);
		if (c->d->nerrors > before)
			lf_sset_put(&c->broken, o->name, o, NULL);
		check_unique(c, &sets, o, m);
		s->norgs++;
	}
	lf_sset_free(&sets.mspids);
	lf_sset_free(&sets.domains);
}

/* ---- kafka ---- */

static const char *const kafka_keys[] = { "brokers", "zookeepers", "size",
					  "provider", NULL };

static const char *kafka_domain(const struct lf_spec *s)
{
	for (size_t i = 0; i < s->norgs; i++)
		if (s->orgs[i].norderers > 0)
			return s->orgs[i].domain;
	return "example.com";
}

static void kafka_nodes(struct lf_sctx *c, struct lf_kafka *k)
{
	struct role r = { NULL, LF_NODE_KAFKA, "kafka", k->size, k->provider,
			  { { 0 }, 0, { { 0, 0 } } }, NULL, 0 };
	char *domain = lf_xasprintf("kafka.%s", kafka_domain(c->spec));
	char name[32];
	unsigned i;

	k->nodes = lf_xcalloc((size_t)k->brokers + k->zookeepers + 1,
			      sizeof(*k->nodes));
	for (i = 0; i < k->brokers + k->zookeepers; i++) {
		struct lf_node *nd;
		bool zk = i >= k->brokers;

		if (i == k->brokers) {
			r.kind = LF_NODE_ZOOKEEPER;
			r.prefix = "zookeeper";
		}
		snprintf(name, sizeof(name), "%s%u", r.prefix,
			 zk ? i - k->brokers : i);
		nd = node_add(&k->nodes, &k->nnodes, &r, lf_xstrdup(name),
			      domain, k->pos);
		nd->address = lf_xstrdup(nd->hostname);
	}
	free(domain);
}

static void kafka_ref(struct lf_sctx *c, const struct lf_ynode *m,
		      const char *key, bool size, char **out,
		      const char *dflt)
{
	const struct lf_ynode *v = lf_map_get(m, key);
	bool ok;

	*out = lf_xstrdup(dflt);
	if (!v || !lf_sc_want(c, v, LF_Y_SCALAR, key))
		return;
	ok = size ? lf_spec__size_ref(c, v) : lf_spec__provider_ref(c, v);
	if (ok) {
		free(*out);
		*out = lf_xstrdup(v->str);
	}
}

void lf_spec__kafka(struct lf_sctx *c, const struct lf_ynode *key,
		    const struct lf_ynode *n)
{
	struct lf_spec *s = c->spec;
	unsigned long long brokers = 4, zks = 3;
	struct lf_kafka *k;

	if (!n) {
		if (s->consensus == LF_CONSENSUS_KAFKA)
			lf_sc_err(c, c->consensus_node, "fabric.consensus "
				  "kafka needs a kafka: section (brokers, "
				  "zookeepers)");
		return;
	}
	if (s->consensus != LF_CONSENSUS_KAFKA) {
		lf_sc_err(c, key, "kafka: only valid with fabric.consensus "
			  "kafka (consensus is %s)",
			  lf_consensus_name(s->consensus));
		return;
	}
	if (!lf_sc_want(c, n, LF_Y_MAP, "kafka"))
		return;
	lf_sc_check_keys(c, n, kafka_keys, "kafka");
	lf_sc_uint(c, n, "brokers", 1, 100, &brokers);
	lf_sc_uint(c, n, "zookeepers", 1, 100, &zks);
	if (zks % 2 == 0)
		lf_sc_warn(c, lf_map_get(n, "zookeepers"), "zookeepers: an "
			   "even ensemble (%llu) tolerates no more failures "
			   "than %llu nodes", zks, zks - 1);
	k = lf_xcalloc(1, sizeof(*k));
	k->brokers = (unsigned)brokers;
	k->zookeepers = (unsigned)zks;
	k->pos = n->pos;
	kafka_ref(c, n, "size", true, &k->size, c->def_size);
	kafka_ref(c, n, "provider", false, &k->provider, c->def_provider);
	s->kafka = k;
	kafka_nodes(c, k);
}
