/*
 * Spec sections other than orgs and channels: fabric, sizes, providers,
 * defaults and state.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "core/spec/spec_int.h"
#include "core/util/util.h"

/* ---- fabric ---- */

static const char *const fabric_keys[] = { "version", "consensus", NULL };
static const char *const versions[] = { "2.2", "2.3", "2.4", "2.5", "3.0",
					"3.1", NULL };
static const char *const consensus_names[] = { "etcdraft", "bft", "kafka",
					       NULL };

static void set_version(struct lf_spec *s, const char *v)
{
	free(s->fabric_version);
	s->fabric_version = lf_xstrdup(v);
	s->fabric_major = v[0] - '0';
	s->fabric_minor = v[2] - '0';
}

static void fabric_version(struct lf_sctx *c, const struct lf_ynode *f)
{
	const struct lf_ynode *v = lf_map_get(f, "version");
	char buf[LF_SHOW_MAX];
	size_t i;

	if (!v || !lf_sc_want(c, v, LF_Y_SCALAR, "fabric.version"))
		return;
	for (i = 0; versions[i] && strcmp(versions[i], v->str) != 0; i++)
		;
	if (versions[i])
		set_version(c->spec, versions[i]);
	else
		lf_sc_err(c, v, "fabric.version: expected one of 2.2, 2.3, 2.4, "
			  "2.5, 3.0, 3.1, got '%s'",
			  lf_sc_show(v->str, buf, sizeof(buf)));
}

static void fabric_consensus(struct lf_sctx *c, const struct lf_ynode *f)
{
	const struct lf_ynode *v = lf_map_get(f, "consensus");
	char buf[LF_SHOW_MAX];
	size_t i;

	if (!v || !lf_sc_want(c, v, LF_Y_SCALAR, "fabric.consensus"))
		return;
	c->consensus_node = v;
	for (i = 0; consensus_names[i]; i++)
		if (strcasecmp(consensus_names[i], v->str) == 0)
			break;
	if (consensus_names[i]) {
		c->spec->consensus = (enum lf_consensus)i;
		return;
	}
	lf_sc_err(c, v, "fabric.consensus: expected etcdraft, bft or kafka, "
		  "got '%s'", lf_sc_show(v->str, buf, sizeof(buf)));
}

void lf_spec__fabric(struct lf_sctx *c, const struct lf_ynode *n)
{
	struct lf_spec *s = c->spec;
	const struct lf_ynode *at;

	set_version(s, "2.5");
	s->consensus = LF_CONSENSUS_ETCDRAFT;
	if (!n || !lf_sc_want(c, n, LF_Y_MAP, "fabric"))
		return;
	lf_sc_check_keys(c, n, fabric_keys, "fabric");
	fabric_version(c, n);
	fabric_consensus(c, n);
	at = c->consensus_node ? c->consensus_node : n;
	if (s->consensus == LF_CONSENSUS_KAFKA && s->fabric_major >= 3)
		lf_sc_err(c, at, "fabric.consensus: kafka was removed in Fabric "
			  "3.0 (version is %s): use etcdraft or bft, or a 2.x "
			  "version", s->fabric_version);
	if (s->consensus == LF_CONSENSUS_BFT && s->fabric_major < 3)
		lf_sc_err(c, at, "fabric.consensus: bft needs Fabric 3.0 or "
			  "later (version is %s)", s->fabric_version);
}

/* ---- sizes ---- */

#define LF_NDEFAULT_SIZES 3

static const char *const size_keys[] = { "vcpus", "memory", "disk", "image",
					  "drivers", "price", NULL };

void lf_spec__default_sizes(struct lf_spec *s)
{
	static const struct {
		const char *name;
		unsigned vcpus;
		unsigned long long mem_mb, disk_gb;
	} d[] = {
		{ "small", 2, 4096, 50 },
		{ "medium", 4, 8192, 100 },
		{ "large", 8, 16384, 200 },
	};

	_Static_assert(LF_ARRAY_LEN(d) == LF_NDEFAULT_SIZES, "built-in sizes");
	s->sizes = lf_xcalloc(LF_ARRAY_LEN(d), sizeof(*s->sizes));
	for (size_t i = 0; i < LF_ARRAY_LEN(d); i++) {
		struct lf_size *z = &s->sizes[s->nsizes++];

		z->name = lf_xstrdup(d[i].name);
		z->vcpus = d[i].vcpus;
		z->memory_mb = d[i].mem_mb;
		z->disk_gb = d[i].disk_gb;
		z->image = lf_xstrdup("debian-12");
	}
}

/* the template NAME: a built-in one, or a new slot (sizes has room: the
 * spec's keys are unique, so only built-in names can come twice) */
static struct lf_size *size_slot(struct lf_spec *s, const char *name,
				 bool *is_new)
{
	struct lf_size *z;

	for (size_t i = 0; i < LF_NDEFAULT_SIZES; i++)
		if (strcmp(s->sizes[i].name, name) == 0) {
			*is_new = false;
			return &s->sizes[i];
		}
	z = &s->sizes[s->nsizes++];
	memset(z, 0, sizeof(*z));
	z->name = lf_xstrdup(name);
	z->image = lf_xstrdup("debian-12");
	*is_new = true;
	return z;
}

static json_t *size_drivers(struct lf_sctx *c, const char *size,
			    const struct lf_ynode *v);

static void one_size(struct lf_sctx *c, const struct lf_ynode *k,
		     const struct lf_ynode *v)
{
	unsigned long long vcpus = 0, mem = 0, disk = 0;
	char buf[LF_SHOW_MAX];
	struct lf_size *z;
	bool is_new;

	if (!lf_is_dns_label(k->str)) {
		lf_sc_err(c, k, "size name '%s' is not a DNS label (lower-case "
			  "letters, digits, '-')",
			  lf_sc_show(k->str, buf, sizeof(buf)));
		return;
	}
	if (!lf_sc_want(c, v, LF_Y_MAP, "size"))
		return;
	lf_sc_check_keys(c, v, size_keys, "a size");
	z = size_slot(c->spec, k->str, &is_new);
	z->pos = k->pos;
	if (lf_sc_uint(c, v, "vcpus", 1, 1024, &vcpus) == 0 && vcpus)
		z->vcpus = (unsigned)vcpus;
	if (lf_sc_mbytes(c, v, "memory", &mem) == 0 && mem)
		z->memory_mb = mem;
	if (lf_sc_mbytes(c, v, "disk", &disk) == 0 && disk)
		z->disk_gb = (disk + 1023) / 1024;
	lf_sc_str(c, v, "image", NULL, &z->image);
	if (lf_map_get(v, "drivers")) {
		json_decref(z->extra);
		z->extra = size_drivers(c, z->name, lf_map_get(v, "drivers"));
	}
	if (z->image && !z->image[0])
		lf_sc_err(c, lf_map_get(v, "image"), "image: expected an "
			  "image name, got an empty string");
	if (!is_new)
		return;
	for (size_t i = 0; i < 3; i++)
		if (!lf_map_get(v, size_keys[i]))
			lf_sc_err(c, k, "size '%s' needs '%s' (only the built-in "
				  "sizes small, medium and large have defaults)",
				  z->name, size_keys[i]);
}

void lf_spec__sizes(struct lf_sctx *c, const struct lf_ynode *n)
{
	struct lf_spec *s = c->spec;

	lf_spec__default_sizes(s);
	if (!n || !lf_sc_want(c, n, LF_Y_MAP, "sizes"))
		return;
	s->sizes = lf_xrealloc(s->sizes, (s->nsizes + n->n / 2) *
			       sizeof(*s->sizes));
	for (size_t i = 0; i + 1 < n->n; i += 2) {
		const struct lf_ynode *k = n->kids[i];

		/* duplicate keys are reported by the tree; use the first */
		if (k->type != LF_Y_SCALAR || k->dup)
			continue;
		one_size(c, k, n->kids[i + 1]);
	}
}

/* ---- providers ---- */

static const char *const provider_keys[] = { "driver", "config",
					      "credentials", "parallelism",
					      "transport", NULL };
static const char *const cred_keys[] = { "env", "file", "profile", NULL };

static bool secret_like(const char *key)
{
	static const char *const words[] = { "password", "passwd", "secret",
					     "token", "private_key",
					     "access_key", NULL };
	char low[65];
	size_t i;

	for (i = 0; key[i] && i + 1 < sizeof(low); i++)
		low[i] = (char)tolower((unsigned char)key[i]);
	low[i] = '\0';
	for (i = 0; words[i]; i++)
		if (strstr(low, words[i]))
			return true;
	return false;
}

/* remember where key path lives, for drivers' diagnostics */
static void position_note(struct lf_spec *s, const char *path, struct lf_pos pos)
{
	if (!s->positions)
		s->positions = json_object();
	json_object_set_new(s->positions, path, json_pack("[ii]", pos.line, pos.col));
}

#define LF_CONFIG_DEPTH_MAX 8

/* a config value: scalars, maps and lists, no secret-like keys; every
 * key's position noted under path */
static json_t *config_value(struct lf_sctx *c, const struct lf_ynode *x,
			    const char *path, int depth)
{
	char buf[LF_SHOW_MAX];
	json_t *j;

	if (x->type == LF_Y_SCALAR)
		return lf_ytree_json(x);
	if (depth >= LF_CONFIG_DEPTH_MAX) {
		lf_sc_err(c, x, "%s: nested deeper than %d levels", path, LF_CONFIG_DEPTH_MAX);
		return json_null();
	}
	if (x->type == LF_Y_SEQ) {
		j = json_array();
		for (size_t i = 0; i < x->n; i++) {
			char *sub = lf_xasprintf("%s.%zu", path, i);

			position_note(c->spec, sub, x->kids[i]->pos);
			json_array_append_new(j, config_value(c, x->kids[i], sub, depth + 1));
			free(sub);
		}
		return j;
	}
	j = json_object();
	for (size_t i = 0; i + 1 < x->n; i += 2) {
		const struct lf_ynode *k = x->kids[i];
		char *sub;

		if (k->type != LF_Y_SCALAR || k->dup)
			continue;
		if (secret_like(k->str)) {
			lf_sc_err(c, k, "config key '%s' looks like a secret: "
				  "secrets never go in the spec; use "
				  "credentials: {env: VAR} or {file: PATH}",
				  lf_sc_show(k->str, buf, sizeof(buf)));
			continue;
		}
		sub = lf_xasprintf("%s.%s", path, k->str);
		position_note(c->spec, sub, k->pos);
		json_object_set_new(j, k->str, config_value(c, x->kids[i + 1], sub, depth + 1));
		free(sub);
	}
	return j;
}

static json_t *provider_config(struct lf_sctx *c, const char *name,
			       const struct lf_ynode *v)
{
	char *path;
	json_t *cfg;

	if (!v || !lf_sc_want(c, v, LF_Y_MAP, "config"))
		return json_object();
	path = lf_xasprintf("providers.%s.config", name);
	position_note(c->spec, path, v->pos);
	cfg = config_value(c, v, path, 0);
	free(path);
	return cfg;
}

/* sizes.NAME.drivers: driver name -> map of that driver's fields */
static json_t *size_drivers(struct lf_sctx *c, const char *size,
			    const struct lf_ynode *v)
{
	char buf[LF_SHOW_MAX], *path;
	json_t *out;

	if (!v || !lf_sc_want(c, v, LF_Y_MAP, "drivers"))
		return NULL;
	out = json_object();
	for (size_t i = 0; i + 1 < v->n; i += 2) {
		const struct lf_ynode *k = v->kids[i], *x = v->kids[i + 1];

		if (k->type != LF_Y_SCALAR || k->dup)
			continue;
		if (!lf_spec_is_ident(k->str, 64)) {
			lf_sc_err(c, k, "drivers: expected a driver name ([a-z0-9_]+), got '%s'",
				  lf_sc_show(k->str, buf, sizeof(buf)));
			continue;
		}
		if (!lf_sc_want(c, x, LF_Y_MAP, "a driver's size fields"))
			continue;
		path = lf_xasprintf("sizes.%s.drivers.%s", size, k->str);
		position_note(c->spec, path, k->pos);
		json_object_set_new(out, k->str, config_value(c, x, path, 1));
		free(path);
	}
	return out;
}

static bool is_env_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 255 || (s[0] >= '0' && s[0] <= '9'))
		return false;
	return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		      "0123456789_") == n;
}

/* {env: VAR} or {file: PATH}; NULL when absent or wrong */
json_t *lf_spec__credentials(struct lf_sctx *c, const struct lf_ynode *v)
{
	char *env = NULL, *file = NULL, *profile = NULL;
	json_t *j = NULL;
	size_t typos;

	if (!v || !lf_sc_want(c, v, LF_Y_MAP, "credentials"))
		return NULL;
	typos = lf_sc_check_keys(c, v, cred_keys, "credentials (a "
				 "reference: {env: VAR} or {file: PATH}, never "
				 "the secret)");
	lf_sc_str(c, v, "env", NULL, &env);
	lf_sc_str(c, v, "file", NULL, &file);
	lf_sc_str(c, v, "profile", NULL, &profile);
	if (profile && !file)
		lf_sc_err(c, lf_map_get(v, "profile"), "credentials.profile: only with 'file' "
			  "(a section of an INI credentials file)");
	else if (profile && !profile[0])
		lf_sc_err(c, lf_map_get(v, "profile"), "credentials.profile: expected a section name");
	if (env && file)
		lf_sc_err(c, v, "credentials: give either 'env' or 'file', "
			  "not both");
	else if (!env && !file && !typos)
		lf_sc_err(c, v, "credentials: expected {env: VAR} or "
			  "{file: PATH}");
	else if (env && !is_env_name(env))
		lf_sc_err(c, lf_map_get(v, "env"), "credentials.env: expected "
			  "an environment variable name ([A-Za-z_][A-Za-z0-9_]*)");
	else if (file && !file[0])
		lf_sc_err(c, lf_map_get(v, "file"), "credentials.file: expected "
			  "a path, got an empty string");
	else
		j = env ? json_pack("{ss}", "env", env)
			: json_pack("{ss}", "file", file);
	if (j && profile && file)
		json_object_set_new(j, "profile", json_string(profile));
	free(env);
	free(file);
	free(profile);
	return j;
}

static void add_provider(struct lf_spec *s, const char *name,
			 const char *driver, json_t *cfg, json_t *cred,
			 struct lf_pos pos)
{
	struct lf_provider *p;

	p = &s->providers[s->nproviders++];
	p->name = lf_xstrdup(name);
	p->driver = lf_xstrdup(driver);
	p->config = cfg;
	p->credentials = cred;
	p->pos = pos;
}

static void one_provider(struct lf_sctx *c, const struct lf_ynode *k,
			 const struct lf_ynode *v)
{
	char buf[LF_SHOW_MAX], *driver = NULL, *tr = NULL;
	struct lf_spec *s = c->spec;
	unsigned long long par = 0;
	json_t *cfg, *cred;

	if (!lf_is_dns_label(k->str)) {
		lf_sc_err(c, k, "provider name '%s' is not a DNS label "
			  "(lower-case letters, digits, '-')",
			  lf_sc_show(k->str, buf, sizeof(buf)));
		return;
	}
	if (!lf_sc_want(c, v, LF_Y_MAP, "provider"))
		return;
	lf_sc_check_keys(c, v, provider_keys, "a provider");
	if (lf_sc_str(c, v, "driver", "a provider", &driver) == 0 &&
	    !lf_spec_is_ident(driver, 64))
		lf_sc_err(c, lf_map_get(v, "driver"), "driver: expected a "
			  "plugin name ([a-z0-9_]+), got '%s'",
			  lf_sc_show(driver, buf, sizeof(buf)));
	if (strcmp(k->str, "local") == 0 && driver &&
	    strcmp(driver, "local") != 0)
		lf_sc_err(c, lf_map_get(v, "driver"), "provider 'local' is "
			  "built in with driver local; name a provider with "
			  "driver '%s' differently",
			  lf_sc_show(driver, buf, sizeof(buf)));
	lf_sc_uint(c, v, "parallelism", 1, 10000, &par);
	cfg = provider_config(c, k->str, lf_map_get(v, "config"));
	cred = lf_spec__credentials(c, lf_map_get(v, "credentials"));
	if (strcmp(k->str, "local") == 0) {
		/* configures the implicit one (always providers[0]) */
		json_decref(s->providers[0].config);
		json_decref(s->providers[0].credentials);
		s->providers[0].config = cfg;
		s->providers[0].credentials = cred;
		s->providers[0].pos = k->pos;
		s->providers[0].parallelism = (unsigned int)par;
	} else {
		add_provider(s, k->str, driver ? driver : "", cfg, cred, k->pos);
		s->providers[s->nproviders - 1].parallelism = (unsigned int)par;
	}
	if (lf_map_get(v, "transport") &&
	    lf_sc_str(c, v, "transport", NULL, &tr) == 0 && tr) {
		struct lf_provider *p = strcmp(k->str, "local") == 0 ? &s->providers[0]
								      : &s->providers[s->nproviders - 1];

		if (strcmp(tr, k->str) == 0) /* itself: the default */
			free(tr);
		else
			p->transport = tr;
	}
	free(driver);
}

void lf_spec__providers(struct lf_sctx *c, const struct lf_ynode *n)
{
	struct lf_pos none = { 0, 0 };

	/* room for the implicit local one and every entry */
	c->spec->providers = lf_xcalloc(1 + (n ? n->n / 2 : 0),
					sizeof(*c->spec->providers));
	add_provider(c->spec, "local", "local", json_object(), NULL, none);
	if (!n || !lf_sc_want(c, n, LF_Y_MAP, "providers"))
		return;
	for (size_t i = 0; i + 1 < n->n; i += 2) {
		const struct lf_ynode *k = n->kids[i];

		if (k->type != LF_Y_SCALAR || k->dup)
			continue;
		one_provider(c, k, n->kids[i + 1]);
	}
	/* transport references, once every provider is known */
	for (size_t i = 0; i + 1 < n->n; i += 2) {
		const struct lf_ynode *v = n->kids[i + 1];
		const struct lf_ynode *t = v->type == LF_Y_MAP ? lf_map_get(v, "transport") : NULL;

		if (t && t->type == LF_Y_SCALAR && !n->kids[i]->dup)
			lf_spec__provider_ref(c, t);
	}
}

/* ---- defaults and references ---- */

static const char *const defaults_keys[] = { "size", "provider", NULL };

/* keep the closest candidate within edit distance 2 */
static void closer(const char *s, const char *cand, const char **best,
		   size_t *bd)
{
	size_t dd = lf_edit_distance(s, cand, 2);

	if (dd < *bd) {
		*bd = dd;
		*best = cand;
	}
}

/* v names a size; report when it is not defined */
bool lf_spec__size_ref(struct lf_sctx *c, const struct lf_ynode *v)
{
	const struct lf_spec *s = c->spec;
	char buf[LF_SHOW_MAX];
	const char *hint = NULL;
	size_t bd = 3;

	if (lf_spec_size(s, v->str))
		return true;
	for (size_t i = 0; strlen(v->str) <= 64 && i < s->nsizes; i++)
		closer(v->str, s->sizes[i].name, &hint, &bd);
	if (hint)
		lf_sc_err(c, v, "size '%s' is not defined; did you mean '%s'?",
			  lf_sc_show(v->str, buf, sizeof(buf)), hint);
	else
		lf_sc_err(c, v, "size '%s' is not defined (define it under "
			  "sizes:, or use small, medium or large)",
			  lf_sc_show(v->str, buf, sizeof(buf)));
	return false;
}

/* v names a provider; report when it is not defined */
bool lf_spec__provider_ref(struct lf_sctx *c, const struct lf_ynode *v)
{
	const struct lf_spec *s = c->spec;
	char buf[LF_SHOW_MAX];
	const char *hint = NULL;
	size_t bd = 3;

	if (lf_spec_provider(s, v->str))
		return true;
	for (size_t i = 0; strlen(v->str) <= 64 && i < s->nproviders; i++)
		closer(v->str, s->providers[i].name, &hint, &bd);
	if (hint)
		lf_sc_err(c, v, "provider '%s' is not defined; did you mean "
			  "'%s'?", lf_sc_show(v->str, buf, sizeof(buf)), hint);
	else
		lf_sc_err(c, v, "provider '%s' is not defined (define it under "
			  "providers:, or use local)",
			  lf_sc_show(v->str, buf, sizeof(buf)));
	return false;
}

void lf_spec__defaults(struct lf_sctx *c, const struct lf_ynode *n)
{
	const struct lf_ynode *v;

	c->def_size = "small";
	c->def_provider = "local";
	if (!n || !lf_sc_want(c, n, LF_Y_MAP, "defaults"))
		return;
	lf_sc_check_keys(c, n, defaults_keys, "defaults");
	v = lf_map_get(n, "size");
	if (v && lf_sc_want(c, v, LF_Y_SCALAR, "defaults.size") &&
	    lf_spec__size_ref(c, v))
		c->def_size = v->str;
	v = lf_map_get(n, "provider");
	if (v && lf_sc_want(c, v, LF_Y_SCALAR, "defaults.provider") &&
	    lf_spec__provider_ref(c, v))
		c->def_provider = v->str;
}

/* ---- state ---- */

static const char *const state_file_keys[] = { "backend", "path", NULL };
static const char *const state_etcd_keys[] = {
	"backend", "endpoints", "prefix", "lease_ttl", "ca_cert", "cert",
	"key", "credentials", "username", NULL
};

static void state_etcd(struct lf_sctx *c, const struct lf_ynode *n)
{
	const struct lf_ynode *eps = lf_map_get(n, "endpoints");
	unsigned long long ttl = 0;
	char buf[LF_SHOW_MAX], *tmp = NULL;
	json_t *cred;

	if (!eps)
		lf_sc_err(c, n, "state: the etcd backend needs 'endpoints' "
			  "(a list such as [\"http://127.0.0.1:2379\"])");
	else if (lf_sc_want(c, eps, LF_Y_SEQ, "state.endpoints")) {
		if (eps->n == 0)
			lf_sc_err(c, eps, "state.endpoints: expected at least "
				  "one endpoint");
		for (size_t i = 0; i < eps->n; i++) {
			const struct lf_ynode *e = eps->kids[i];

			if (!lf_sc_want(c, e, LF_Y_SCALAR, "endpoint"))
				continue;
			if (!lf_str_has_prefix(e->str, "http://") &&
			    !lf_str_has_prefix(e->str, "https://"))
				lf_sc_err(c, e, "endpoint '%s': expected an "
					  "http:// or https:// URL",
					  lf_sc_show(e->str, buf, sizeof(buf)));
		}
	}
	lf_sc_uint(c, n, "lease_ttl", 1, 3600, &ttl);
	for (size_t i = 0; i < 5; i++) {
		static const char *const k[] = { "prefix", "ca_cert", "cert",
						 "key", "username" };

		lf_sc_str(c, n, k[i], NULL, &tmp);
	}
	free(tmp);
	cred = lf_spec__credentials(c, lf_map_get(n, "credentials"));
	json_decref(cred);
}

void lf_spec__state(struct lf_sctx *c, const struct lf_ynode *n)
{
	struct lf_state_cfg *st = &c->spec->state;
	const struct lf_ynode *b;
	char *path = NULL;

	st->backend = lf_xstrdup("file");
	st->settings = json_object();
	if (!n || !lf_sc_want(c, n, LF_Y_MAP, "state"))
		return;
	st->pos = n->pos;
	b = lf_map_get(n, "backend");
	if (b && lf_sc_want(c, b, LF_Y_SCALAR, "state.backend")) {
		free(st->backend);
		st->backend = lf_xstrdup(b->str);
	}
	if (strcmp(st->backend, "etcd") == 0) {
		lf_sc_check_keys(c, n, state_etcd_keys, "state (etcd)");
		state_etcd(c, n);
	} else if (strcmp(st->backend, "file") == 0) {
		lf_sc_check_keys(c, n, state_file_keys, "state (file)");
		if (lf_sc_str(c, n, "path", NULL, &path) == 0 && path &&
		    !path[0])
			lf_sc_err(c, lf_map_get(n, "path"), "state.path: "
				  "expected a file path, got an empty string");
		free(path);
	} else {
		char buf[LF_SHOW_MAX];

		lf_sc_err(c, b, "state.backend: expected file or etcd, got "
			  "'%s'", lf_sc_show(st->backend, buf, sizeof(buf)));
	}
	json_decref(st->settings);
	st->settings = lf_ytree_json(n);
	json_object_del(st->settings, "backend");
}
