/*
 * output: what clients need to reach the network the state records.
 *
 *   output connection-profile --org ORG   Fabric's common connection
 *       profile (the format the Fabric SDKs and fabric-network's Gateway
 *       load): the org as the client's, every peer org with its peers,
 *       the orderers, the channels the org is a member of, TLS CA
 *       certificates inline (PEM). Public material only: no key is read.
 *   output peer-env --org ORG --peer NODE  the CORE_PEER_* variables of the
 *       peer CLI for that peer, as the org's admin (shell `export` lines,
 *       or a JSON object with --json).
 *
 * Everything comes from the state (where nodes were really put) and the
 * crypto tree; nothing is contacted.
 */
#include <stdlib.h>
#include <string.h>

#include "core/cli/cli.h"
#include "core/net/join.h"
#include "core/util/ctx.h"
#include "core/util/util.h"

static const char USAGE_OUTPUT[] =
	"Usage: ledgerform output connection-profile --org ORG [-f SPEC] [--json]\n"
	"       ledgerform output peer-env --org ORG --peer NODE [-f SPEC] [--json]\n\n"
	"connection-profile: Fabric's common connection profile for ORG's clients\n"
	"(peers, orderers, channels, TLS CA certificates), as JSON.\n"
	"peer-env: the CORE_PEER_* variables for the peer CLI against NODE as ORG's\n"
	"admin, as shell export lines (eval \"$(ledgerform output peer-env ...)\").\n";

struct outnode {
	const char *name, *org, *kind, *hostname, *mspid, *domain;
	char endpoint[300];
};

struct outset {
	struct outnode *v;
	size_t n;
};

static const char *js(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static int cmp_node(const void *a, const void *b)
{
	const struct outnode *x = a, *y = b;
	int c = strcmp(x->org, y->org);

	return c ? c : strcmp(x->name, y->name);
}

/* the peers and orderers the state records, sorted by org and name; each
 * reached where its host's machine is, on its listen port */
static void collect(struct lf_ws *ws, struct outset *s)
{
	json_t *res = ws->doc.resources;
	struct lf_err err = LF_ERR_INIT;
	const char *addr;
	json_t *rec;

	s->v = lf_xcalloc(json_object_size(res) + 1, sizeof(*s->v));
	s->n = 0;
	json_object_foreach(res, addr, rec) {
		const json_t *a = json_object_get(rec, "attrs");
		const char *kind = js(a, "kind"), *dot = strrchr(addr, '.');
		const struct lf_resource *nr;
		struct outnode *o;

		if (strncmp(addr, "node.", 5) != 0 || !dot ||
		    !(lf_streq(kind, "peer") || lf_streq(kind, "orderer") || lf_streq(kind, "ca")))
			continue;
		o = &s->v[s->n++];
		o->name = dot + 1;
		o->org = js(a, "org");
		o->kind = kind;
		o->hostname = js(a, "hostname");
		o->mspid = js(a, "mspid");
		o->domain = js(a, "domain");
		nr = ws->current ? lf_rset_get(ws->current, addr) : NULL;
		if (!o->org || !o->hostname || !o->mspid || !o->domain || !nr ||
		    lf_net_node_endpoint(&ws->env, nr, "port", o->endpoint,
					 sizeof(o->endpoint), &err) != 0) {
			lf_err_clear(&err);
			s->n--;
		}
	}
	qsort(s->v, s->n, sizeof(*s->v), cmp_node);
}

static const struct outnode *find_org(const struct outset *s, const char *org)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->v[i].org, org) == 0)
			return &s->v[i];
	return NULL;
}

static const char *org_dir_kind(const struct outnode *n)
{
	return strcmp(n->kind, "orderer") == 0 ? "ordererOrganizations" : "peerOrganizations";
}

/* the org's TLS CA certificate (public) */
static json_t *tls_ca_pem(const char *crypto_dir, const struct outnode *n)
{
	char *path = lf_xasprintf("%s/%s/%s/tlsca/tlsca.%s-cert.pem", crypto_dir,
				  org_dir_kind(n), n->domain, n->domain);
	struct lf_err err = LF_ERR_INIT;
	char *pem = NULL;
	size_t len;
	json_t *v = NULL;

	int rc = lf_read_file(path, &pem, &len, &err);

	if (rc != 0 && strcmp(n->kind, "ca") == 0) {
		/* a CA server of an org of orderers only */
		lf_err_clear(&err);
		free(path);
		path = lf_xasprintf("%s/ordererOrganizations/%s/tlsca/tlsca.%s-cert.pem",
				    crypto_dir, n->domain, n->domain);
		rc = lf_read_file(path, &pem, &len, &err);
	}
	if (rc == 0)
		v = json_pack("{s:s%}", "pem", pem, len);
	free(pem);
	free(path);
	return v ? v : json_pack("{s:s}", "path", "");
}

static json_t *endpoint_json(const char *crypto_dir, const struct outnode *n)
{
	char *url = lf_xasprintf("grpcs://%s", n->endpoint);
	json_t *o = json_pack("{s:s, s:o, s:{s:s, s:s}}", "url", url, "tlsCACerts",
			      tls_ca_pem(crypto_dir, n), "grpcOptions",
			      "ssl-target-name-override", n->hostname,
			      "hostnameOverride", n->hostname);

	free(url);
	return o;
}

/* a fabric-ca-server node as the SDKs' certificateAuthorities entry: its
 * URL, its CA's name (ca-ORG, as its config names it) and the org's TLS
 * CA, which issued its TLS certificate */
static json_t *ca_json(const char *crypto_dir, const struct outnode *n)
{
	char *url = lf_xasprintf("https://%s", n->endpoint);
	char *name = lf_xasprintf("ca-%s", n->org);
	json_t *o = json_pack("{s:s, s:s, s:o, s:{s:b}}", "url", url, "caName", name,
			      "tlsCACerts", tls_ca_pem(crypto_dir, n), "httpOptions",
			      "verify", 1);

	free(url);
	free(name);
	return o;
}

static bool in_array(const json_t *arr, const char *key, const char *val)
{
	size_t i;
	json_t *x;

	json_array_foreach(arr, i, x)
		if (lf_streq(js(x, key), val))
			return true;
	return false;
}

/* the channels ORG is a member of: their consenters and members' peers */
static json_t *channels_json(json_t *res, const struct outset *s, const char *org)
{
	json_t *chans = json_object(), *rec;
	const char *addr;

	json_object_foreach(res, addr, rec) {
		const json_t *a = json_object_get(rec, "attrs");
		const json_t *orgs = json_object_get(a, "orgs");
		const json_t *cons = json_object_get(a, "consenters");
		json_t *ords, *peers;

		if (strncmp(addr, "channel.", 8) != 0 || !lf_streq(js(a, "kind"), "application") ||
		    !in_array(orgs, "name", org))
			continue;
		ords = json_array();
		peers = json_object();
		for (size_t i = 0; i < s->n; i++) {
			const struct outnode *n = &s->v[i];

			if (strcmp(n->kind, "peer") == 0 && in_array(orgs, "name", n->org))
				json_object_set_new(peers, n->hostname, json_pack(
					"{s:b, s:b, s:b, s:b}", "endorsingPeer", 1,
					"chaincodeQuery", 1, "ledgerQuery", 1, "eventSource", 1));
			else if (strcmp(n->kind, "orderer") == 0 && in_array(cons, "node", n->name) &&
				 in_array(cons, "org", n->org))
				json_array_append_new(ords, json_string(n->hostname));
		}
		json_object_set_new(chans, js(a, "channel"),
				    json_pack("{s:o, s:o}", "orderers", ords, "peers", peers));
	}
	return chans;
}

static json_t *profile(struct lf_ws *ws, const struct outset *s, const char *org)
{
	json_t *orgs = json_object(), *peers = json_object(), *ords = json_object();
	json_t *cas = json_object();
	char *name = lf_xasprintf("%s-%s", ws->spec->name, org);
	json_t *p;

	for (size_t i = 0; i < s->n; i++) {
		const struct outnode *n = &s->v[i];
		json_t *o = json_object_get(orgs, n->org);

		if (!o) {
			o = json_pack("{s:s, s:[]}", "mspid", n->mspid, "peers");
			json_object_set_new(orgs, n->org, o);
		}
		if (strcmp(n->kind, "peer") == 0) {
			json_array_append_new(json_object_get(o, "peers"), json_string(n->hostname));
			json_object_set_new(peers, n->hostname, endpoint_json(ws->crypto_dir, n));
		} else if (strcmp(n->kind, "ca") == 0) {
			if (!json_object_get(o, "certificateAuthorities"))
				json_object_set_new(o, "certificateAuthorities", json_array());
			json_array_append_new(json_object_get(o, "certificateAuthorities"),
					      json_string(n->hostname));
			json_object_set_new(cas, n->hostname, ca_json(ws->crypto_dir, n));
		} else {
			json_object_set_new(ords, n->hostname, endpoint_json(ws->crypto_dir, n));
		}
	}
	p = json_pack("{s:s, s:s, s:{s:s, s:{s:{s:{s:s}}}}, s:o, s:o, s:o, s:o}",
		      "name", name, "version", "1.0.0", "client", "organization", org,
		      "connection", "timeout", "peer", "endorser", "300",
		      "organizations", orgs, "peers", peers, "orderers", ords,
		      "channels", channels_json(ws->doc.resources, s, org));
	if (json_object_size(cas))
		json_object_set_new(p, "certificateAuthorities", cas);
	else
		json_decref(cas);
	free(name);
	return p;
}

static void put_var(json_t *vars, bool json, const char *k, const char *v)
{
	if (json) {
		json_object_set_new(vars, k, json_string(v));
		return;
	}
	printf("export %s='", k);
	for (; *v; v++) /* a ' in a path: close, escape, reopen */
		fputs(*v == '\'' ? "'\\''" : (char[]){ *v, '\0' }, stdout);
	fputs("'\n", stdout);
}

/* an `admin: offline` org's admin msp folder here has no key: the env
 * leaves CORE_PEER_MSPCONFIGPATH out and says where the admin points it
 * (false); true for a local admin */
static bool offline_note(const struct lf_ws *ws, const char *org, const char *msp,
			 bool json)
{
	const struct lf_org *o = ws->spec ? lf_spec_org(ws->spec, org) : NULL;

	if (!o || !o->admin_offline)
		return true;
	fprintf(json ? stderr : stdout, "%sCORE_PEER_MSPCONFIGPATH is not set: org '%s' "
		"has 'admin: offline', so its admin's key is not on this machine; set it "
		"to your own msp folder (your key in keystore/, and in signcerts/ the "
		"certificate from %s/signcerts)\n", json ? "note: " : "# ", org, msp);
	return false;
}

static int peer_env(struct lf_ws *ws, const struct outset *s, const char *org,
		    const char *peer, bool json)
{
	const struct outnode *n = NULL;
	char *root = realpath(ws->crypto_dir, NULL), *dir, *tls, *msp, *cfg = NULL;
	const char *bin = lf_ctx_current()->fabric_bin;
	json_t *vars = json_object();

	for (size_t i = 0; i < s->n && !n; i++)
		if (strcmp(s->v[i].org, org) == 0 && strcmp(s->v[i].name, peer) == 0 &&
		    strcmp(s->v[i].kind, "peer") == 0)
			n = &s->v[i];
	if (!n || !root) {
		lf_cli_error(!n ? "output peer-env: org '%s' has no peer '%s' in the state"
				: "output peer-env: no crypto material for org '%s' (%s)",
			     org, !n ? peer : ws->crypto_dir);
		free(root);
		json_decref(vars);
		return 1;
	}
	dir = lf_xasprintf("%s/peerOrganizations/%s", root, n->domain);
	tls = lf_xasprintf("%s/peers/%s/tls/ca.crt", dir, n->hostname);
	msp = lf_xasprintf("%s/users/Admin@%s/msp", dir, n->domain);
	if (bin)
		cfg = lf_xasprintf("%s/../config", bin);
	put_var(vars, json, "CORE_PEER_TLS_ENABLED", "true");
	put_var(vars, json, "CORE_PEER_LOCALMSPID", n->mspid);
	put_var(vars, json, "CORE_PEER_ADDRESS", n->endpoint);
	put_var(vars, json, "CORE_PEER_TLS_ROOTCERT_FILE", tls);
	put_var(vars, json, "CORE_PEER_TLS_SERVERHOSTOVERRIDE", n->hostname);
	if (offline_note(ws, org, msp, json))
		put_var(vars, json, "CORE_PEER_MSPCONFIGPATH", msp);
	if (cfg)
		put_var(vars, json, "FABRIC_CFG_PATH", cfg);
	if (json) {
		json_dumpf(vars, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
		fputc('\n', stdout);
	}
	json_decref(vars);
	free(dir);
	free(tls);
	free(msp);
	free(cfg);
	free(root);
	return 0;
}

/* take "--NAME VALUE" / "--NAME=VALUE" out of argv (the shared parser
 * does not know this command's own options) */
static const char *take_opt(int *argc, char **argv, const char *name)
{
	size_t len = strlen(name);
	const char *v = NULL;
	int i, k = 1;

	for (i = 1; i < *argc; i++) {
		if (strncmp(argv[i], name, len) == 0 && argv[i][len] == '=') {
			v = argv[i] + len + 1;
		} else if (strcmp(argv[i], name) == 0 && i + 1 < *argc) {
			v = argv[++i];
		} else {
			argv[k++] = argv[i];
		}
	}
	*argc = k;
	argv[k] = NULL;
	return v;
}

int lf_cmd_output(int argc, char **argv)
{
	struct lf_cli_opts o;
	struct outset s = { NULL, 0 };
	struct lf_ws ws;
	const char *org = take_opt(&argc, argv, "--org");
	const char *peer = take_opt(&argc, argv, "--peer");
	const char *what;
	int rc = lf_cli_parse(&o, argc, argv, USAGE_OUTPUT, "output");

	if (rc)
		return rc == 1 ? 0 : 1;
	what = o.nargs == 1 ? o.args[0] : NULL;
	if (!what || (strcmp(what, "connection-profile") != 0 && strcmp(what, "peer-env") != 0) ||
	    !org || (strcmp(what, "peer-env") == 0 && !peer)) {
		lf_cli_error(!what ? "output: expected connection-profile or peer-env"
			     : !org ? "output %s: --org ORG is required"
			     : "output: unknown output '%s' (expected connection-profile or peer-env)",
			     what ? what : "");
		if (what && org && strcmp(what, "peer-env") == 0)
			lf_cli_error("output peer-env: --peer NODE is required");
		fputs(USAGE_OUTPUT, stderr);
		lf_cli_opts_free(&o);
		return 1;
	}
	rc = lf_ws_open(&ws, &o, LF_WS_SPEC, "output");
	if (rc == 0) {
		collect(&ws, &s);
		if (!find_org(&s, org)) {
			lf_cli_error("output %s: org '%s' has no nodes in the state (is it in the "
				     "spec, and applied?)", what, org);
			rc = 1;
		} else if (strcmp(what, "peer-env") == 0) {
			rc = peer_env(&ws, &s, org, peer, o.json);
		} else {
			json_t *p = profile(&ws, &s, org);

			json_dumpf(p, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
			fputc('\n', stdout);
			json_decref(p);
		}
	}
	free(s.v);
	lf_ws_close(&ws);
	lf_cli_opts_free(&o);
	return rc ? 1 : 0;
}
