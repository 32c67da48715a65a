/*
 * chaincodes: what is deployed on which channels (Fabric 2.x lifecycle).
 *
 * A chaincode has a name, version and sequence, a package (generated from
 * the ccaas address, packaged from a source dir, or a ready file with its
 * SHA-256), the channels it is deployed to, an endorsement policy (a
 * Signature rule or a channel policy path), collections, init_required
 * and, for chaincode as a service, where the server listens.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "core/fabric/block/polrule.h"
#include "core/fabric/cc/collections.h"
#include "core/spec/spec_int.h"
#include "core/util/util.h"

static const char *const cc_keys[] = {
	"name", "version", "sequence", "type", "package", "channels", "orgs",
	"endorsement_policy", "collections", "init_required", "address",
	"dial_timeout", "tls_required", NULL
};
static const char *const package_keys[] = { "path", "file", "sha256", NULL };
static const char *const policy_keys[] = { "signature", "channel", NULL };
static const char *const type_names[] = { "ccaas", "external", "node",
					  "golang", "java" };

#define LF_CC_DEFAULT_DIAL_MS 10000u
#define LF_ALNUM "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" \
	"0123456789"

const char *lf_cc_type_name(enum lf_cc_type t)
{
	if ((unsigned)t >= LF_ARRAY_LEN(type_names))
		return "unknown";
	return type_names[t];
}

/* Fabric's chaincode name: ^[a-zA-Z0-9]+([-_][a-zA-Z0-9]+)*$ */
static bool is_cc_name(const char *s)
{
	bool sep = true;

	if (!*s || strlen(s) > 128)
		return false;
	for (; *s; s++) {
		if (*s == '-' || *s == '_') {
			if (sep)
				return false;
			sep = true;
		} else if (strchr(LF_ALNUM, *s)) {
			sep = false;
		} else {
			return false;
		}
	}
	return !sep;
}

/* Fabric's version (and label tail): ^[A-Za-z0-9_.+-]+$ */
static bool is_cc_version(const char *s)
{
	return *s && strlen(s) <= 128 &&
	       strspn(s, LF_ALNUM "_.+-") == strlen(s);
}

static int sc_bool(struct lf_sctx *c, const struct lf_ynode *m,
		   const char *key, bool *out)
{
	const struct lf_ynode *v = lf_map_get(m, key);
	char buf[LF_SHOW_MAX];

	if (!v)
		return 0;
	if (v->type == LF_Y_SCALAR && v->plain &&
	    (strcmp(v->str, "true") == 0 || strcmp(v->str, "false") == 0)) {
		*out = v->str[0] == 't';
		return 0;
	}
	lf_sc_err(c, v, "%s: expected true or false, got '%s'", key,
		  v->type == LF_Y_SCALAR ? lf_sc_show(v->str, buf, sizeof(buf))
					 : lf_ytype_name(v));
	return -1;
}

/* a path key of m resolved against the spec's dir; when files are
 * checked, it must be readable (a directory when dir) */
static void sc_path(struct lf_sctx *c, const struct lf_ynode *m,
		    const char *key, const char *what, bool dir, char **out,
		    char **given_out)
{
	const struct lf_ynode *v = lf_map_get(m, key);
	char *given = NULL, buf[LF_SHOW_MAX];
	struct stat st;

	if (lf_sc_str(c, m, key, NULL, &given) != 0 || !given)
		return;
	*out = given[0] == '/' ? lf_xstrdup(given)
			       : lf_path_join(c->spec->dir, given);
	if (given_out)
		*given_out = given;
	else
		free(given);
	if (!c->check_files)
		return;
	if (access(*out, R_OK) != 0 || stat(*out, &st) != 0)
		lf_sc_err(c, v, "%s: cannot read '%s' (paths are relative to "
			  "the spec's directory)", what,
			  lf_sc_show(*out, buf, sizeof(buf)));
	else if (dir != S_ISDIR(st.st_mode))
		lf_sc_err(c, v, "%s: '%s' is not a %s", what,
			  lf_sc_show(*out, buf, sizeof(buf)),
			  dir ? "directory" : "regular file");
}

static void cc_type(struct lf_sctx *c, struct lf_chaincode *cc,
		    const struct lf_ynode *m)
{
	const struct lf_ynode *v = lf_map_get(m, "type");
	char buf[LF_SHOW_MAX];
	size_t i;

	if (!v) {
		lf_sc_err(c, m, "chaincode '%s': missing required key 'type' "
			  "(ccaas, external, node, golang or java)", cc->name);
		return;
	}
	if (!lf_sc_want(c, v, LF_Y_SCALAR, "type"))
		return;
	for (i = 0; i < LF_ARRAY_LEN(type_names); i++)
		if (strcmp(v->str, type_names[i]) == 0)
			break;
	if (i < LF_ARRAY_LEN(type_names))
		cc->type = (enum lf_cc_type)i;
	else
		lf_sc_err(c, v, "chaincode '%s': type: expected ccaas, external, "
			  "node, golang or java, got '%s'", cc->name,
			  lf_sc_show(v->str, buf, sizeof(buf)));
}

/* package: {path: DIR} or {file: FILE, sha256: HEX}; ccaas needs neither
 * (connection.json is made from address) */
static void cc_package(struct lf_sctx *c, struct lf_chaincode *cc,
		       const struct lf_ynode *m)
{
	const struct lf_ynode *p = lf_map_get(m, "package"), *v;
	bool ccaas = cc->type == LF_CC_CCAAS;
	char buf[LF_SHOW_MAX];

	if (!p) {
		if (!ccaas)
			lf_sc_err(c, m, "chaincode '%s': missing 'package' (path: "
				  "a source dir, or file: with sha256:)", cc->name);
		return;
	}
	if (!lf_sc_want(c, p, LF_Y_MAP, "package"))
		return;
	lf_sc_check_keys(c, p, package_keys, "package");
	sc_path(c, p, "path", "package.path", true, &cc->path,
		&cc->path_given);
	sc_path(c, p, "file", "package.file", false, &cc->file, NULL);
	lf_sc_str(c, p, "sha256", NULL, &cc->sha256);
	if (lf_map_get(p, "path") && lf_map_get(p, "file"))
		lf_sc_err(c, p, "chaincode '%s': package: give path or file, "
			  "not both", cc->name);
	else if (!lf_map_get(p, "path") && !lf_map_get(p, "file"))
		lf_sc_err(c, p, "chaincode '%s': package: expected path: (a "
			  "source dir) or file: (a ready package)", cc->name);
	if ((v = lf_map_get(p, "path")) && ccaas)
		lf_sc_err(c, v, "chaincode '%s': a ccaas package holds only "
			  "connection.json, made from address: drop "
			  "package.path (or give a ready package.file)", cc->name);
	else if (v && (cc->type == LF_CC_GOLANG || cc->type == LF_CC_JAVA))
		lf_sc_err(c, v, "chaincode '%s': %s source is not packaged by "
			  "ledgerform: package it with `peer lifecycle "
			  "chaincode package` and give package.file and "
			  "package.sha256", cc->name, lf_cc_type_name(cc->type));
	if (lf_map_get(p, "file") && !lf_map_get(p, "sha256"))
		lf_sc_err(c, p, "chaincode '%s': package.file needs sha256: "
			  "(the expected SHA-256 of the file)", cc->name);
	v = lf_map_get(p, "sha256");
	if (v && cc->sha256 && (strlen(cc->sha256) != 64 ||
				strspn(cc->sha256, "0123456789abcdef") != 64))
		lf_sc_err(c, v, "package.sha256: expected 64 lower-case hex "
			  "digits, got '%s'",
			  lf_sc_show(cc->sha256, buf, sizeof(buf)));
	else if (v && !lf_map_get(p, "file"))
		lf_sc_err(c, v, "package.sha256 goes with package.file");
}

static void cc_channels(struct lf_sctx *c, struct lf_chaincode *cc,
			const struct lf_ynode *m)
{
	struct lf_sset seen = { NULL, 0, 0, false };
	const struct lf_ynode *list;
	char buf[LF_SHOW_MAX];

	if (lf_sc_strlist(c, m, "channels", &cc->channels, &cc->nchannels,
			  &list) != 0)
		return;
	if (!list || cc->nchannels == 0) {
		lf_sc_err(c, list ? list : m, "chaincode '%s': expected "
			  "channels: with at least one channel", cc->name);
		return;
	}
	for (size_t i = 0; i < cc->nchannels; i++) {
		const struct lf_ynode *at = list->kids[i];
		bool found = false;
		size_t j;

		for (j = 0; j < c->spec->nchannels; j++)
			if (strcmp(c->spec->channels[j].name, cc->channels[i]) == 0)
				break;
		if (j == c->spec->nchannels)
			lf_sc_err(c, at, "chaincode '%s': channel '%s' is not "
				  "defined under channels:", cc->name,
				  lf_sc_show(at->str, buf, sizeof(buf)));
		lf_sset_put(&seen, cc->channels[i], at, &found);
		if (found)
			lf_sc_err(c, at, "chaincode '%s': channel '%s' is listed "
				  "twice", cc->name, cc->channels[i]);
	}
	lf_sset_free(&seen);
}

/* orgs: restricts which member orgs install and approve; each must be a
 * member of at least one of the chaincode's channels */
static void cc_orgs(struct lf_sctx *c, struct lf_chaincode *cc,
		    const struct lf_ynode *m)
{
	const struct lf_ynode *list;
	char buf[LF_SHOW_MAX];

	if (lf_sc_strlist(c, m, "orgs", &cc->orgs, &cc->norgs, &list) != 0 ||
	    !list)
		return;
	if (cc->norgs == 0)
		lf_sc_err(c, list, "chaincode '%s': orgs: expected at least one "
			  "org (leave orgs: out for every member org)", cc->name);
	for (size_t i = 0; i < cc->norgs; i++) {
		bool member = false;

		for (size_t j = 0; j < c->spec->nchannels; j++) {
			const struct lf_channel *ch = &c->spec->channels[j];
			bool deployed = false;

			for (size_t k = 0; k < cc->nchannels; k++)
				deployed |= strcmp(cc->channels[k], ch->name) == 0;
			for (size_t k = 0; deployed && k < ch->norgs; k++)
				member |= strcmp(ch->orgs[k], cc->orgs[i]) == 0;
		}
		if (!member)
			lf_sc_err(c, list->kids[i], "chaincode '%s': org '%s' is "
				  "not a member of any of its channels", cc->name,
				  lf_sc_show(cc->orgs[i], buf, sizeof(buf)));
	}
}

/* "/Channel/Application/Endorsement": '/'-separated policy names */
static bool is_policy_ref(const char *s)
{
	if (!lf_str_has_prefix(s, "/Channel/") || strlen(s) > 256)
		return false;
	for (s += 9; *s; s++)
		if (!strchr(LF_ALNUM "_/", *s) || (s[0] == '/' &&
						   (s[1] == '/' || !s[1])))
			return false;
	return s[-1] != '/';
}

static void cc_signature(struct lf_sctx *c, struct lf_chaincode *cc,
			 const struct lf_ynode *v)
{
	char buf[LF_SHOW_MAX], why[160];
	size_t at = 0;

	if (!lf_sc_want(c, v, LF_Y_SCALAR, "endorsement_policy"))
		return;
	cc->policy_kind = LF_CC_POLICY_SIGNATURE;
	cc->policy = lf_xstrdup(v->str);
	if (lf_policy_rule_check("Signature", v->str, &at, why,
				 sizeof(why)) == 0 &&
	    lf_spec__signature_ok(c->spec, v->str, why, sizeof(why)))
		return;
	lf_sc_err(c, v, "chaincode '%s': endorsement_policy '%s': %s",
		  cc->name, lf_sc_show(v->str, buf, sizeof(buf)), why);
}

static void cc_policy(struct lf_sctx *c, struct lf_chaincode *cc,
		      const struct lf_ynode *m)
{
	const struct lf_ynode *p = lf_map_get(m, "endorsement_policy"), *v;
	char buf[LF_SHOW_MAX];

	if (!p)
		return;
	if (p->type == LF_Y_SCALAR) {
		cc_signature(c, cc, p);
		return;
	}
	if (!lf_sc_want(c, p, LF_Y_MAP, "endorsement_policy"))
		return;
	lf_sc_check_keys(c, p, policy_keys, "endorsement_policy");
	if ((v = lf_map_get(p, "signature")) && lf_map_get(p, "channel")) {
		lf_sc_err(c, p, "chaincode '%s': endorsement_policy: give "
			  "signature or channel, not both", cc->name);
	} else if (v) {
		cc_signature(c, cc, v);
	} else if ((v = lf_map_get(p, "channel")) &&
		   lf_sc_want(c, v, LF_Y_SCALAR, "endorsement_policy.channel")) {
		cc->policy_kind = LF_CC_POLICY_REFERENCE;
		cc->policy = lf_xstrdup(v->str);
		if (!is_policy_ref(v->str))
			lf_sc_err(c, v, "chaincode '%s': endorsement_policy."
				  "channel '%s': expected a channel policy path "
				  "such as /Channel/Application/Endorsement",
				  cc->name, lf_sc_show(v->str, buf, sizeof(buf)));
	} else if (!v) {
		lf_sc_err(c, p, "chaincode '%s': endorsement_policy: expected "
			  "signature: RULE or channel: /Channel/...", cc->name);
	}
}

/* address, dial_timeout, tls_required: for ccaas only */
static void cc_server(struct lf_sctx *c, struct lf_chaincode *cc,
		      const struct lf_ynode *m)
{
	static const char *const keys[] = { "address", "dial_timeout",
					    "tls_required" };
	const struct lf_ynode *v = lf_map_get(m, "address");
	unsigned long long ms = LF_CC_DEFAULT_DIAL_MS, port;
	char buf[LF_SHOW_MAX], host[256];
	const char *colon;

	if (cc->type != LF_CC_CCAAS) {
		for (size_t i = 0; i < LF_ARRAY_LEN(keys); i++)
			if ((v = lf_map_key(m, keys[i])) != NULL)
				lf_sc_err(c, v, "chaincode '%s': %s applies to "
					  "type ccaas only", cc->name, keys[i]);
		return;
	}
	if (sc_bool(c, m, "tls_required", &cc->tls_required) == 0 &&
	    cc->tls_required && !cc->file)
		lf_sc_err(c, lf_map_get(m, "tls_required"), "chaincode '%s': "
			  "tls_required: true needs TLS material in "
			  "connection.json (the server's CA, a client key), which "
			  "ledgerform does not make yet: give a ready package.file",
			  cc->name);
	if (lf_sc_duration(c, m, "dial_timeout", 3600000, &ms) == 0)
		cc->dial_timeout_ms = (unsigned)ms;
	if (cc->file && !v)
		return;     /* a ready package holds its connection.json */
	if (lf_sc_str(c, m, "address", "a ccaas chaincode", &cc->address) != 0)
		return;
	colon = strrchr(cc->address, ':');
	if (colon && (size_t)(colon - cc->address) < sizeof(host)) {
		memcpy(host, cc->address, (size_t)(colon - cc->address));
		host[colon - cc->address] = '\0';
	}
	if (!colon || (size_t)(colon - cc->address) >= sizeof(host) ||
	    !lf_spec_is_address(host) || !lf_spec_parse_u64(colon + 1, &port) ||
	    port == 0 || port > 65535)
		lf_sc_err(c, v, "chaincode '%s': address: expected HOST:PORT "
			  "where the chaincode server listens, got '%s'",
			  cc->name, lf_sc_show(cc->address, buf, sizeof(buf)));
	else if (cc->file)
		lf_sc_err(c, v, "chaincode '%s': address goes into the package's "
			  "connection.json: give address or package.file, not "
			  "both", cc->name);
}

static bool cc_name(struct lf_sctx *c, struct lf_chaincode *cc,
		    const struct lf_ynode *m, struct lf_sset *names)
{
	const struct lf_ynode *v = lf_map_get(m, "name"), *first;
	char buf[LF_SHOW_MAX];
	bool found;

	if (lf_sc_str(c, m, "name", "a chaincode", &cc->name) != 0)
		return false;
	if (!is_cc_name(cc->name)) {
		lf_sc_err(c, v, "chaincode name '%s': expected letters and "
			  "digits, with single '-' or '_' between them",
			  lf_sc_show(cc->name, buf, sizeof(buf)));
		return false;
	}
	first = lf_sset_put(names, cc->name, v, &found);
	if (found)
		lf_sc_err(c, v, "duplicate chaincode name '%s' (first defined "
			  "at line %d)", cc->name, first->pos.line);
	return true;
}

static void cc_version(struct lf_sctx *c, struct lf_chaincode *cc,
		       const struct lf_ynode *m)
{
	const struct lf_ynode *v = lf_map_get(m, "version");
	char buf[LF_SHOW_MAX];

	if (lf_sc_str(c, m, "version", "a chaincode", &cc->version) == 0 &&
	    !is_cc_version(cc->version))
		lf_sc_err(c, v, "chaincode '%s': version '%s': expected letters, "
			  "digits, '_', '.', '+' or '-'", cc->name,
			  lf_sc_show(cc->version, buf, sizeof(buf)));
	else if (cc->version)
		cc->label = lf_xasprintf("%s_%s", cc->name, cc->version);
	if (!lf_map_get(m, "sequence"))
		lf_sc_err(c, m, "chaincode '%s': missing required key 'sequence' "
			  "(1 for the first definition, one more per upgrade)",
			  cc->name);
	lf_sc_uint(c, m, "sequence", 1, 1ULL << 62, &cc->sequence);
}

/* the collections file converts (checked when files are) */
static void cc_collections(struct lf_sctx *c, struct lf_chaincode *cc,
			   const struct lf_ynode *m)
{
	struct lf_err err = LF_ERR_INIT;
	uint8_t *pkg = NULL;
	size_t len = 0;

	if (!c->check_files || !cc->collections ||
	    access(cc->collections, R_OK) != 0)
		return;
	if (lf_cc_collections(cc->collections, &pkg, &len, &err) != 0)
		lf_sc_err(c, lf_map_get(m, "collections"), "chaincode '%s': %s",
			  cc->name, err.msg);
	free(pkg);
}

static void one_chaincode(struct lf_sctx *c, struct lf_chaincode *cc,
			  const struct lf_ynode *m)
{
	cc->pos = m->pos;
	cc->dial_timeout_ms = LF_CC_DEFAULT_DIAL_MS;
	cc_version(c, cc, m);
	cc_type(c, cc, m);
	cc_package(c, cc, m);
	cc_channels(c, cc, m);
	cc_orgs(c, cc, m);
	cc_policy(c, cc, m);
	sc_path(c, m, "collections", "collections", false, &cc->collections,
		NULL);
	cc_collections(c, cc, m);
	sc_bool(c, m, "init_required", &cc->init_required);
	cc_server(c, cc, m);
}

void lf_spec__chaincodes(struct lf_sctx *c, const struct lf_ynode *n)
{
	struct lf_sset names = { NULL, 0, 0, false };
	struct lf_spec *s = c->spec;

	if (!n || !lf_sc_want(c, n, LF_Y_SEQ, "chaincodes"))
		return;
	s->chaincodes = lf_xcalloc(n->n ? n->n : 1, sizeof(*s->chaincodes));
	for (size_t i = 0; i < n->n; i++) {
		const struct lf_ynode *m = n->kids[i];
		struct lf_chaincode *cc = &s->chaincodes[s->nchaincodes];

		if (!lf_sc_want(c, m, LF_Y_MAP, "chaincodes entry"))
			continue;
		lf_sc_check_keys(c, m, cc_keys, "a chaincode");
		if (!cc_name(c, cc, m, &names)) {
			lf_chaincode_clear(cc);
			continue;
		}
		one_chaincode(c, cc, m);
		s->nchaincodes++;
	}
	lf_sset_free(&names);
}

const struct lf_chaincode *lf_spec_chaincode(const struct lf_spec *s,
					     const char *name)
{
	for (size_t i = 0; s && name && i < s->nchaincodes; i++)
		if (lf_streq(s->chaincodes[i].name, name))
			return &s->chaincodes[i];
	return NULL;
}

bool lf_chaincode_has_org(const struct lf_chaincode *cc,
			  const struct lf_channel *ch, const char *org)
{
	bool listed = cc->norgs == 0, deployed = false, member = false;

	for (size_t i = 0; i < cc->norgs; i++)
		listed |= lf_streq(cc->orgs[i], org);
	for (size_t i = 0; i < cc->nchannels; i++)
		deployed |= lf_streq(cc->channels[i], ch->name);
	for (size_t i = 0; i < ch->norgs; i++)
		member |= lf_streq(ch->orgs[i], org);
	return listed && deployed && member;
}
