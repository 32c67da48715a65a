/*
 * Node bundles: what is delivered to a node's host.
 *   fabric/msp/..., fabric/tls/...   the node's identity (keys 0600)
 *   fabric/core.yaml.in or           the node's own config (rendered
 *   fabric/orderer.yaml.in           from templates/fabric/), paths below
 *                                    LF_NODE_ROOT_TOKEN
 *   fabric/node.env                  facts for scripts (kind, address)
 *   fabric/run.sh                    puts the host root into the config
 *                                    and starts the node on it alone
 *   fabric/builders/ccaas/bin/...    a peer's external builder for
 *                                    chaincode-as-a-service (0755)
 */
#include "plans/node_files.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/util/util.h"
#include "plans/node_config.h"

static void add_file(struct lf_node_files *f, const char *path, char *data,
		     size_t len, unsigned int mode, bool secret)
{
	struct lf_node_file *x;

	if (f->n == f->cap) {
		f->cap = f->cap ? f->cap * 2 : 16;
		f->v = lf_xrealloc(f->v, f->cap * sizeof(*f->v));
	}
	x = &f->v[f->n++];
	x->path = lf_xstrdup(path);
	x->data = data;
	x->len = len;
	x->mode = secret ? 0600 : mode;
	x->secret = secret;
}

void lf_node_files_free(struct lf_node_files *f)
{
	size_t i;

	for (i = 0; i < f->n; i++) {
		if (f->v[i].secret)
			lf_free_secret(f->v[i].data, f->v[i].len);
		else
			free(f->v[i].data);
		free(f->v[i].path);
	}
	free(f->v);
	f->v = NULL;
	f->n = f->cap = 0;
}

/* A private key, by what it is rather than its mode on disk: a keystore
 * entry, an *_sk or *.key file, or PEM text holding a private key. */
static bool is_secret(const char *dir, const char *name, const char *data, size_t len)
{
	const char *base = strrchr(dir, '/');
	size_t n = strlen(name);

	base = base ? base + 1 : dir;
	if (strcmp(base, "keystore") == 0)
		return true;
	if ((n > 3 && strcmp(name + n - 3, "_sk") == 0) ||
	    (n > 4 && strcmp(name + n - 4, ".key") == 0))
		return true;
	return data && memmem(data, len, "PRIVATE KEY", 11) != NULL;
}

/* read a regular file without following a link at its last component
 * (a swap to a symlink after the checks fails here); *out NUL-terminated */
static int read_regular(const char *path, char **out, size_t *len, struct lf_err *err)
{
	struct lf_buf b = LF_BUF_INIT;
	char chunk[16384];
	struct stat st;
	ssize_t r = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);

	*out = NULL;
	if (fd < 0)
		return lf_err_sys(err, LF_ERROR, "cannot open '%s'", path);
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return lf_err_set(err, LF_EINVALID, "'%s' is not a regular file", path);
	}
	while ((r = read(fd, chunk, sizeof(chunk))) > 0 || (r < 0 && errno == EINTR))
		if (r > 0)
			lf_buf_append(&b, chunk, (size_t)r);
	if (r < 0)
		lf_err_sys(err, LF_ERROR, "cannot read '%s'", path);
	close(fd);
	if (r < 0) {
		lf_free_secret(b.data, b.cap);
		return LF_ERROR;
	}
	*out = b.data ? b.data : lf_xcalloc(1, 1);
	*len = b.len;
	return 0;
}

/* where the entry src really is: itself, or for a symlink its target,
 * which must stay inside the crypto tree root and be a regular file */
static int entry_resolve(const char *root, const char *src, struct stat *st,
			 char **real, struct lf_err *err)
{
	size_t n = strlen(root);

	*real = NULL;
	if (lstat(src, st) != 0)
		return lf_err_sys(err, LF_ERROR, "cannot stat '%s'", src);
	if (!S_ISLNK(st->st_mode)) {
		*real = lf_xstrdup(src);
		return 0;
	}
	*real = realpath(src, NULL);
	if (!*real)
		return lf_err_sys(err, LF_EINVALID, "symlink '%s' does not resolve", src);
	if (strncmp(*real, root, n) != 0 || (*real)[n] != '/')
		return lf_err_set(err, LF_EINVALID, "symlink '%s' points outside the "
				  "crypto tree '%s' (to '%s'); refusing to ship it",
				  src, root, *real);
	if (stat(*real, st) != 0)
		return lf_err_sys(err, LF_ERROR, "cannot stat '%s'", *real);
	if (!S_ISREG(st->st_mode))
		return lf_err_set(err, LF_EINVALID, "symlink '%s' does not point to a "
				  "regular file", src);
	return 0;
}

/* path (resolved) is root or inside it */
static int check_inside(const char *root, const char *path, struct lf_err *err)
{
	char *real = realpath(path, NULL);
	size_t n = strlen(root);
	int rc = 0;

	if (!real)
		return lf_err_sys(err, LF_ERROR, "cannot resolve '%s'", path);
	if (strncmp(real, root, n) != 0 || (real[n] != '/' && real[n] != '\0'))
		rc = lf_err_set(err, LF_EINVALID, "'%s' leads outside the crypto tree "
				"'%s' (to '%s'); refusing to ship it", path, root, real);
	free(real);
	return rc;
}

/* copy a directory tree from disk into the bundle under prefix; root: the
 * crypto tree (resolved) nothing may come from outside of */
static int add_tree(struct lf_node_files *f, const char *root, const char *dir,
		    const char *prefix, struct lf_err *err)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int rc = 0;

	if (!d)
		return lf_err_sys(err, LF_ERROR, "cannot open '%s'", dir);
	while (rc == 0 && (e = readdir(d)) != NULL) {
		char *src, *dst, *real = NULL, *data = NULL;
		struct stat st;
		size_t len = 0;

		if (e->d_name[0] == '.')
			continue;
		src = lf_path_join(dir, e->d_name);
		dst = lf_xasprintf("%s/%s", prefix, e->d_name);
		rc = entry_resolve(root, src, &st, &real, err);
		if (rc == 0 && S_ISDIR(st.st_mode))
			rc = add_tree(f, root, src, dst, err);
		else if (rc == 0 && !S_ISREG(st.st_mode))
			rc = lf_err_set(err, LF_EINVALID, "'%s' is not a regular file", src);
		else if (rc == 0 && (rc = read_regular(real, &data, &len, err)) == 0)
			add_file(f, dst, data, len, st.st_mode & 0777,
				 is_secret(dir, e->d_name, data, len));
		free(real);
		free(src);
		free(dst);
	}
	closedir(d);
	return rc;
}

/* facts about the node for scripts on the machine (not the node's
 * environment: the node gets none of it) */
static char *facts_env(const json_t *a)
{
	return lf_xasprintf("LEDGERFORM_NODE_KIND=%s\nLEDGERFORM_NODE_HOST=%s\n"
			    "LEDGERFORM_NODE_PORT=%lld\n", lf_node_attr_str(a, "kind"),
			    lf_node_attr_str(a, "hostname"), lf_node_attr_int(a, "port", 0));
}

static const char RUN_SH[] =
	"#!/bin/sh\n"
	"# Starts this node from its own config, fabric/config/core.yaml or\n"
	"# orderer.yaml, made from fabric/<file>.in with " LF_NODE_ROOT_TOKEN " replaced by\n"
	"# this host's root, so every path the node reads is absolute below it.\n"
	"# Nothing of the caller's environment reaches the node but PATH and HOME.\n"
	"# Needs the Fabric binaries in $FABRIC_BIN (or on PATH).\n"
	"set -e\ncd \"$(dirname \"$0\")/..\"\nLF_ROOT=$(pwd)\n"
	"case \"$LF_ROOT\" in *[!A-Za-z0-9._/+-]*)\n"
	"  echo \"host root '$LF_ROOT' has characters other than letters, digits and /._-+\" >&2\n"
	"  exit 1 ;;\nesac\n"
	"kind=$(cat fabric/kind)\n"
	"case \"$kind\" in\n"
	"  peer) cfg=core.yaml; set -- peer node start ;;\n"
	"  orderer) cfg=orderer.yaml; set -- orderer ;;\n"
	"  *) echo \"no start command for $kind nodes\" >&2; exit 1 ;;\n"
	"esac\n"
	"mkdir -p data fabric/config\n"
	"sed \"s|" LF_NODE_ROOT_TOKEN "|$LF_ROOT|g\" \"fabric/$cfg.in\" >\"fabric/config/$cfg.tmp\"\n"
	"mv \"fabric/config/$cfg.tmp\" \"fabric/config/$cfg\"\n"
	"cmd=$1; shift\n"
	"exec env -i PATH=\"$PATH\" HOME=\"${HOME:-/}\" FABRIC_CFG_PATH=\"$LF_ROOT/fabric/config\" \\\n"
	"  \"${FABRIC_BIN:+$FABRIC_BIN/}$cmd\" \"$@\"\n";

/* a peer's external builder for ccaas packages (templates/fabric/builders,
 * compiled in): core.yaml points externalBuilders at fabric/builders/ccaas */
extern const char lf_tmpl_ccaas_detect[], lf_tmpl_ccaas_build[],
	lf_tmpl_ccaas_release[];

static void add_builders(struct lf_node_files *out)
{
	static const struct { const char *name; const char *text; } b[] = {
		{ "fabric/builders/ccaas/bin/detect", lf_tmpl_ccaas_detect },
		{ "fabric/builders/ccaas/bin/build", lf_tmpl_ccaas_build },
		{ "fabric/builders/ccaas/bin/release", lf_tmpl_ccaas_release },
	};

	for (size_t i = 0; i < LF_ARRAY_LEN(b); i++)
		add_file(out, b[i].name, lf_xstrdup(b[i].text),
			 strlen(b[i].text), 0755, false);
}

static char *crypto_node_dir(const struct lf_apply_env *env, const json_t *a)
{
	const char *kind = lf_node_attr_str(a, "kind");
	const char *domain = lf_node_attr_str(a, "domain");
	const char *host = lf_node_attr_str(a, "hostname");
	bool orderer = strcmp(kind, "orderer") == 0;
	char *p1, *p2;

	/* an orderer org with peers lives under peerOrganizations */
	p1 = lf_xasprintf("%s/peerOrganizations/%s/%s/%s", env->crypto_dir, domain,
			  orderer ? "orderers" : "peers", host);
	if (lf_path_exists(p1))
		return p1;
	p2 = lf_xasprintf("%s/ordererOrganizations/%s/%s/%s", env->crypto_dir, domain,
			  orderer ? "orderers" : "peers", host);
	free(p1);
	if (lf_path_exists(p2))
		return p2;
	free(p2);
	return NULL;
}

/* the machine facts a provider reported, for scripts and the node */
static char *with_machine(char *env_text, const json_t *host_outputs)
{
	const char *ma = json_string_value(json_object_get(host_outputs, "machine_address"));
	char *out;

	if (!ma || strpbrk(ma, "\n\r'\"$`\\"))
		return env_text;
	out = lf_xasprintf("%sLEDGERFORM_MACHINE_ADDRESS=%s\n", env_text, ma);
	free(env_text);
	return out;
}

int lf_node_files_collect(const struct lf_apply_env *env,
			  const struct lf_resource *node,
			  const json_t *host_outputs,
			  struct lf_node_files *out, struct lf_err *err)
{
	const json_t *a = node->attrs;
	const char *kind = lf_node_attr_str(a, "kind");
	char *env_text, *dir = NULL, *sub, *root = NULL;
	int rc = 0;

	env_text = facts_env(a);
	if (lf_node_config_name(a)) {
		char *cfg = NULL, *name = lf_xasprintf("fabric/%s.in", lf_node_config_name(a));

		rc = lf_node_config_render(a, &cfg, err);
		if (rc == 0)
			add_file(out, name, cfg, strlen(cfg), 0644, false);
		free(name);
		if (rc != 0) {
			free(env_text);
			return rc;
		}
	}
	env_text = with_machine(env_text, host_outputs);
	add_file(out, "fabric/node.env", env_text, strlen(env_text), 0644, false);
	add_file(out, "fabric/kind", lf_xasprintf("%s\n", kind), strlen(kind) + 1, 0644,
		 false);
	add_file(out, "fabric/run.sh", lf_xstrdup(RUN_SH), sizeof(RUN_SH) - 1, 0755, false);
	if (strcmp(kind, "peer") == 0)
		add_builders(out);
	if (json_object_get(a, "crypto"))
		dir = crypto_node_dir(env, a);
	if (json_object_get(a, "crypto") && !dir)
		return lf_err_set(err, LF_ENOTFOUND, "%s: identity files of '%s' not found under '%s'",
				  node->addr, lf_node_attr_str(a, "hostname"), env->crypto_dir);
	if (dir) {
		root = realpath(env->crypto_dir, NULL);
		if (!root)
			rc = lf_err_sys(err, LF_ERROR, "cannot resolve '%s'", env->crypto_dir);
		sub = lf_path_join(dir, "msp");
		if (rc == 0 && (rc = check_inside(root, sub, err)) == 0)
			rc = add_tree(out, root, sub, "fabric/msp", err);
		free(sub);
		sub = lf_path_join(dir, "tls");
		if (rc == 0 && (rc = check_inside(root, sub, err)) == 0)
			rc = add_tree(out, root, sub, "fabric/tls", err);
		free(sub);
		free(root);
		free(dir);
	}
	return rc;
}
