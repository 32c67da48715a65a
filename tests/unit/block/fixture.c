#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "tests/unit/block/fixture.h"
#include "core/util/util.h"

static const char *const peer_orgs[] = { "airline", "telecom", "bank",
					  "retail", "media", "farm", "port" };

int fx_sh(const char *fmt, ...)
{
	char *cmd = NULL;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	if (vasprintf(&cmd, fmt, ap) < 0)
		abort();
	va_end(ap);
	rc = system(cmd);
	free(cmd);
	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static void copy_str(char dst[64], const char *src)
{
	size_t n = strlen(src);

	if (n > 63)
		n = 63;
	memmove(dst, src, n);
	dst[n] = '\0';
}

static void fx_org(struct fx *f, int i, const char *name, const char *mspid,
		   const char *domain)
{
	struct lf_org *o = &f->orgs[i];

	copy_str(f->names[i][0], name);
	copy_str(f->names[i][1], mspid);
	copy_str(f->names[i][2], domain);
	o->name = f->names[i][0];
	o->mspid = f->names[i][1];
	o->domain = f->names[i][2];
	o->nodes = f->nodes[i];
}

static void fx_node(struct fx *f, int org, int k, const char *name,
		    enum lf_node_kind kind, unsigned port)
{
	struct lf_node *n = &f->nodes[org][k];
	char *h = lf_xasprintf("%s.%s", name, f->names[org][2]);
	size_t hl = strlen(h) < 95 ? strlen(h) : 95;

	memcpy(f->hosts[org][k], h, hl);
	f->hosts[org][k][hl] = '\0';
	free(h);
	n->name = lf_xstrdup(name);
	n->org = f->names[org][0];
	n->kind = kind;
	n->hostname = f->hosts[org][k];
	n->address = NULL;
	n->port = port;
	f->orgs[org].nnodes++;
}

int fx_setup(struct fx *f, int norderers, int npeer, int nchan,
	     enum lf_consensus cons, int major, int minor)
{
	char nodes[128] = "";

	memset(f, 0, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/lfblock.XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->crypto, sizeof(f->crypto), "%s/crypto", f->dir);
	fx_org(f, 0, "orderer", "OrdererMSP", "example.com");
	for (int k = 0; k < norderers; k++) {
		char nm[32];

		snprintf(nm, sizeof(nm), "orderer%d", k);
		fx_node(f, 0, k, nm, LF_NODE_ORDERER, 7050 + (unsigned)k);
		snprintf(nodes + strlen(nodes), sizeof(nodes) - strlen(nodes),
			 " %s", nm);
	}
	f->orgs[0].norderers = (size_t)norderers;
	if (fx_sh("sh %s/tests/unit/block/mkorg.sh %s orderer example.com%s",
		  LF_SOURCE_DIR, f->crypto, nodes) != 0)
		return -1;
	for (int i = 1; i <= npeer; i++) {
		char mspid[64], dom[64];
		const char *nm = peer_orgs[i - 1];

		snprintf(mspid, sizeof(mspid), "%c%sMSP", nm[0] - 32, nm + 1);
		snprintf(dom, sizeof(dom), "%s.example.com", nm);
		fx_org(f, i, nm, mspid, dom);
		fx_node(f, i, 0, "peer0", LF_NODE_PEER, 7051);
		f->orgs[i].npeers = 1;
		f->anchors[i][0] = "peer0";
		f->orgs[i].anchor_peers = f->anchors[i];
		f->orgs[i].nanchor_peers = 1;
		if (fx_sh("sh %s/tests/unit/block/mkorg.sh %s peer %s peer0",
			  LF_SOURCE_DIR, f->crypto, dom) != 0)
			return -1;
		f->chorgs[i - 1] = f->orgs[i].name;
	}
	f->ch.norgs = (size_t)nchan;
	f->ch.name = "trade";
	f->ch.orgs = f->chorgs;
	f->spec.name = "net";
	f->spec.fabric_version = major >= 3 ? "3.0" : "2.5";
	f->spec.fabric_major = major;
	f->spec.fabric_minor = minor;
	f->spec.consensus = cons;
	f->spec.orgs = f->orgs;
	f->spec.norgs = (size_t)npeer + 1;
	f->spec.channels = &f->ch;
	f->spec.nchannels = 1;
	return 0;
}

void fx_teardown(struct fx *f)
{
	for (int i = 0; i < FX_MAX_ORGS; i++)
		for (int k = 0; k < 4; k++)
			free(f->nodes[i][k].name);
	if (f->dir[0])
		fx_sh("rm -rf '%s'", f->dir);
}

char *fx_org_file(const struct fx *f, int org, const char *rel)
{
	const struct lf_org *o = &f->orgs[org];
	const char *kind = org == 0 ? "ordererOrganizations" : "peerOrganizations";

	return lf_xasprintf("%s/%s/%s/%s", f->crypto, kind, o->domain, rel);
}

char *fx_slurp(const char *path)
{
	char *buf = NULL;
	size_t len;

	if (lf_read_file(path, &buf, &len, NULL) != 0)
		abort();
	return buf;
}

bool fx_have_node(void)
{
	return lf_path_exists(LF_SOURCE_DIR
		"/tests/node/node_modules/@hyperledger/fabric-protos/package.json") &&
	       fx_sh("node --version >/dev/null 2>&1") == 0;
}

json_t *fx_node_decode(const char *file, const char *kind)
{
	char *out = lf_xasprintf("%s.json", file);
	json_t *j = NULL;

	if (fx_sh("cd %s/tests/node && node decode.js '%s' %s > '%s'",
		  LF_SOURCE_DIR, file, kind, out) == 0)
		j = json_load_file(out, 0, NULL);
	free(out);
	return j;
}

json_t *fx_get(json_t *j, const char *path)
{
	const char *p = path;

	while (j && *p) {
		size_t n = strcspn(p, "/");
		char *t = lf_xstrndup(p, n);

		if (json_is_array(j))
			j = json_array_get(j, strtoul(t, NULL, 10));
		else
			j = json_object_get(j, t);
		free(t);
		p += n;
		if (*p == '/')
			p++;
	}
	return j;
}

const char *fx_str(json_t *j, const char *path)
{
	json_t *v = fx_get(j, path);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* what the running test still owns when fx_decode_or_skip may skip:
 * skip() leaves the test by longjmp, so its own frees never run */
static void *on_skip[16];
static size_t non_skip;

void fx_free_on_skip(void *p)
{
	if (p && non_skip < LF_ARRAY_LEN(on_skip))
		on_skip[non_skip++] = p;
}

json_t *fx_decode_or_skip(const char *file, const char *kind)
{
	json_t *j;
	bool have = fx_have_node();

	for (size_t i = 0; i < non_skip; i++)
		if (!have)
			free(on_skip[i]);
	non_skip = 0;
	if (!have) {
		printf("skipped: npm bindings not installed\n");
		skip();
	}
	j = fx_node_decode(file, kind);
	assert_non_null(j);
	return j;
}
