/*
 * The chain spec loader: YAML text -> positioned tree -> validated model.
 *
 * Each section has a builder (sections.c, orgs.c, channels.c) that reads
 * its part of the tree, reports every problem it finds and fills the model
 * as far as it can, so a single run shows all errors. The model is
 * returned only when no error was found.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/spec/spec_int.h"
#include "core/util/util.h"

#define LF_SPEC_MAX_FILE (64u * 1024 * 1024)

static const char *const top_keys[] = {
	"name", "fabric", "sizes", "providers", "defaults", "orgs", "kafka",
	"channels", "chaincodes", "state", "currency", NULL
};

static void build_name(struct lf_sctx *c)
{
	const struct lf_ynode *v = lf_map_get(c->root, "name");
	char buf[LF_SHOW_MAX];

	if (lf_sc_str(c, c->root, "name", "the spec", &c->spec->name) != 0)
		return;
	if (!lf_is_dns_label(c->spec->name))
		lf_sc_err(c, v, "name: '%s' is not a DNS label: expected 1 to "
			  "63 lower-case letters, digits or '-', starting and "
			  "ending with a letter or digit",
			  lf_sc_show(v->str, buf, sizeof(buf)));
}

static void build(struct lf_sctx *c)
{
	const struct lf_ynode *r = c->root;
	size_t before = c->d->nerrors;

	if (r->type != LF_Y_MAP) {
		lf_sc_err(c, r, "the spec must be a mapping with keys such as "
			  "name, orgs and channels; got a %s", lf_ytype_name(r));
		return;
	}
	lf_sc_check_keys(c, r, top_keys, "the spec");
	build_name(c);
	lf_spec__fabric(c, lf_map_get(r, "fabric"));
	lf_spec__sizes(c, lf_map_get(r, "sizes"));
	lf_spec__providers(c, lf_map_get(r, "providers"));
	lf_spec__prices(c, lf_map_get(r, "sizes"), lf_map_get(r, "currency"));
	lf_spec__defaults(c, lf_map_get(r, "defaults"));
	lf_spec__orgs(c, lf_map_get(r, "orgs"));
	lf_spec__kafka(c, lf_map_key(r, "kafka"), lf_map_get(r, "kafka"));
	lf_spec__channels(c, lf_map_get(r, "channels"));
	lf_spec__chaincodes(c, lf_map_get(r, "chaincodes"));
	lf_spec__state(c, lf_map_get(r, "state"));
	lf_spec__check_ports(c);
	if (c->d->nerrors == before)
		lf_spec__plan_ports(c);
}

static void set_file(struct lf_diags *d, const char *name)
{
	free(d->file);
	d->file = lf_xstrdup(name ? name : "<spec>");
}

static int load(struct lf_spec **out, const char *name, const char *buf,
		size_t len, struct lf_diags *d, bool check_files)
{
	struct lf_sctx c;
	struct lf_ynode *root = NULL;
	struct lf_spec *s;
	size_t first = d->n, before = d->nerrors;
	struct lf_pos top = { 1, 1 };

	memset(&c, 0, sizeof(c));
	s = lf_xcalloc(1, sizeof(*s));
	s->file = lf_xstrdup(name ? name : "<spec>");
	s->dir = lf_path_dirname(s->file);
	if (lf_ytree_parse(&root, buf, len, d) == 0 && !root)
		lf_diags_add(d, 1, top, "the spec is empty: expected a mapping "
			     "with at least 'name' and 'orgs'");
	c.spec = s;
	c.d = d;
	c.root = root;
	c.check_files = check_files;
	if (root) {
		build(&c);
		s->raw = lf_ytree_json(root);
	}
	lf_sset_free(&c.orgs);
	lf_sset_free(&c.broken);
	lf_sset_free(&c.orderers);
	lf_ytree_free(root);
	lf_diags__sort(d, first);
	if (d->nerrors > before) {
		lf_spec_free(s);
		return LF_EINVALID;
	}
	*out = s;
	return 0;
}

int lf_spec_load_buffer(struct lf_spec **out, const char *name,
			const char *buf, size_t len, struct lf_diags *diags)
{
	struct lf_diags local;
	int rc;

	memset(&local, 0, sizeof(local));
	*out = NULL;
	if (!diags)
		diags = &local;
	set_file(diags, name);
	rc = load(out, name, buf ? buf : "", buf ? len : 0, diags, false);
	lf_diags_free(&local);
	return rc;
}

/* the whole file, at most max bytes (a pipe or device cannot make the
 * loader read forever); 1 when it is larger */
static int read_bounded(const char *path, size_t max, char **out,
			size_t *len, struct lf_err *err)
{
	struct lf_buf b = { NULL, 0, 0, max + 1 };
	char chunk[65536];
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc = 0;
	ssize_t r;

	*out = NULL;
	if (fd < 0)
		return lf_err_sys(err, errno == ENOENT ? LF_ENOTFOUND : LF_ERROR,
				  "cannot open '%s'", path);
	while (rc == 0) {
		r = read(fd, chunk, sizeof(chunk));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			rc = lf_err_sys(err, LF_ERROR, "cannot read '%s'", path);
		else if (r == 0)
			break;
		else if (b.len + (size_t)r > max)
			rc = 1;
		else
			lf_buf_append(&b, chunk, (size_t)r);
	}
	close(fd);
	if (rc != 0) {
		lf_buf_free(&b);
		return rc;
	}
	*out = b.data ? b.data : lf_xcalloc(1, 1);
	*len = b.len;
	return 0;
}

int lf_spec_load(struct lf_spec **out, const char *file,
		 struct lf_diags *diags)
{
	return lf_spec_load_sha256(out, file, NULL, diags);
}

int lf_spec_load_sha256(struct lf_spec **out, const char *file,
			char sha256[65], struct lf_diags *diags)
{
	struct lf_diags local;
	struct lf_err err = LF_ERR_INIT;
	struct lf_pos none = { 0, 0 };
	char *data = NULL;
	size_t len = 0;
	int rc;

	memset(&local, 0, sizeof(local));
	*out = NULL;
	if (!diags)
		diags = &local;
	set_file(diags, file);
	rc = file ? read_bounded(file, LF_SPEC_MAX_FILE, &data, &len, &err)
		  : LF_EINVALID;
	if (rc == 1) {
		lf_diags_add(diags, 1, none, "the spec is larger than %u MiB",
			     LF_SPEC_MAX_FILE >> 20);
		rc = LF_EINVALID;
	} else if (rc != 0) {
		lf_diags_add(diags, 1, none, "cannot read the spec: %s",
			     file ? err.msg : "no file given");
	} else {
		if (sha256)
			lf_sha256_hex(data, len, sha256);
		rc = load(out, file, data, len, diags, true);
	}
	free(data);
	lf_diags_free(&local);
	return rc;
}

/* ---- freeing ---- */

void lf_node_clear(struct lf_node *n)
{
	if (!n)
		return;
	free(n->name);
	free(n->size);
	free(n->provider);
	free(n->hostname);
	free(n->address);
	for (size_t i = 0; i < n->nsans; i++)
		free(n->sans[i]);
	free(n->sans);
	memset(n, 0, sizeof(*n));
}

static void free_strv(char **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

void lf_org_clear(struct lf_org *o)
{
	if (!o)
		return;
	for (size_t i = 0; i < o->nnodes; i++)
		lf_node_clear(&o->nodes[i]);
	free(o->nodes);
	if (o->ca) {
		free(o->ca->cert);
		free(o->ca->key);
		free(o->ca->tls_cert);
		free(o->ca->tls_key);
		free(o->ca);
	}
	free_strv(o->anchor_peers, o->nanchor_peers);
	free(o->admin_csr);
	free(o->admin_cert);
	free(o->name);
	free(o->mspid);
	free(o->domain);
	memset(o, 0, sizeof(*o));
}

void lf_channel_clear(struct lf_channel *ch)
{
	if (!ch)
		return;
	free(ch->name);
	free_strv(ch->orgs, ch->norgs);
	free_strv(ch->consenters, ch->nconsenters);
	for (size_t i = 0; i < ch->npolicies; i++) {
		free(ch->policies[i].path);
		free(ch->policies[i].type);
		free(ch->policies[i].rule);
	}
	free(ch->policies);
	memset(ch, 0, sizeof(*ch));
}

void lf_chaincode_clear(struct lf_chaincode *cc)
{
	if (!cc)
		return;
	free(cc->name);
	free(cc->version);
	free(cc->label);
	free(cc->path);
	free(cc->path_given);
	free(cc->file);
	free(cc->sha256);
	free_strv(cc->channels, cc->nchannels);
	free_strv(cc->orgs, cc->norgs);
	free(cc->policy);
	free(cc->collections);
	free(cc->address);
	memset(cc, 0, sizeof(*cc));
}

static void free_kafka(struct lf_kafka *k)
{
	if (!k)
		return;
	for (size_t i = 0; i < k->nnodes; i++)
		lf_node_clear(&k->nodes[i]);
	free(k->nodes);
	free(k->size);
	free(k->provider);
	free(k);
}

void lf_spec_free(struct lf_spec *s)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->nsizes; i++) {
		free(s->sizes[i].name);
		free(s->sizes[i].image);
		json_decref(s->sizes[i].extra);
		json_decref(s->sizes[i].price);
	}
	free(s->sizes);
	free(s->currency);
	for (i = 0; i < s->nproviders; i++) {
		free(s->providers[i].name);
		free(s->providers[i].driver);
		json_decref(s->providers[i].config);
		json_decref(s->providers[i].credentials);
		free(s->providers[i].transport);
	}
	free(s->providers);
	json_decref(s->positions);
	for (i = 0; i < s->norgs; i++)
		lf_org_clear(&s->orgs[i]);
	free(s->orgs);
	free_kafka(s->kafka);
	for (i = 0; i < s->nchannels; i++)
		lf_channel_clear(&s->channels[i]);
	free(s->channels);
	for (i = 0; i < s->nchaincodes; i++)
		lf_chaincode_clear(&s->chaincodes[i]);
	free(s->chaincodes);
	free(s->state.backend);
	json_decref(s->state.settings);
	json_decref(s->raw);
	free(s->fabric_version);
	free(s->name);
	free(s->file);
	free(s->dir);
	free(s);
}

/* ---- lookups ---- */

const struct lf_org *lf_spec_org(const struct lf_spec *s, const char *name)
{
	for (size_t i = 0; s && name && i < s->norgs; i++)
		if (lf_streq(s->orgs[i].name, name))
			return &s->orgs[i];
	return NULL;
}

const struct lf_node *lf_spec_node(const struct lf_spec *s, const char *org,
				   const char *node)
{
	const struct lf_org *o;

	if (s && s->kafka && lf_streq(org, "kafka") && !lf_spec_org(s, org)) {
		for (size_t i = 0; node && i < s->kafka->nnodes; i++)
			if (lf_streq(s->kafka->nodes[i].name, node))
				return &s->kafka->nodes[i];
		return NULL;
	}
	o = lf_spec_org(s, org);
	for (size_t i = 0; o && node && i < o->nnodes; i++)
		if (lf_streq(o->nodes[i].name, node))
			return &o->nodes[i];
	return NULL;
}

const struct lf_size *lf_spec_size(const struct lf_spec *s, const char *name)
{
	for (size_t i = 0; s && name && i < s->nsizes; i++)
		if (lf_streq(s->sizes[i].name, name))
			return &s->sizes[i];
	return NULL;
}

const struct lf_provider *lf_spec_provider(const struct lf_spec *s,
					   const char *name)
{
	for (size_t i = 0; s && name && i < s->nproviders; i++)
		if (lf_streq(s->providers[i].name, name))
			return &s->providers[i];
	return NULL;
}

struct lf_pos lf_spec_position(const struct lf_spec *s, const char *path)
{
	struct lf_pos pos = { 0, 0 };
	char *p = lf_xstrdup(path), *dot;

	while (s && s->positions && p[0]) {
		const json_t *v = json_object_get(s->positions, p);

		if (json_is_array(v)) {
			pos.line = (int)json_integer_value(json_array_get(v, 0));
			pos.col = (int)json_integer_value(json_array_get(v, 1));
			break;
		}
		dot = strrchr(p, '.');
		if (!dot)
			break;
		*dot = '\0';
	}
	free(p);
	return pos;
}

const char *lf_consensus_name(enum lf_consensus c)
{
	static const char *const names[] = { "etcdraft", "BFT", "kafka" };

	if ((unsigned)c >= LF_ARRAY_LEN(names))
		return "unknown";
	return names[c];
}

const char *lf_node_kind_name(enum lf_node_kind k)
{
	static const char *const names[] = { "peer", "orderer", "ca", "kafka",
					     "zookeeper" };

	if ((unsigned)k >= LF_ARRAY_LEN(names))
		return "unknown";
	return names[k];
}
