/*
 * Fabric's binaries, delivered once per machine. The core starts a node
 * with FABRIC_BIN=<folder on this machine> in the command's environment;
 * for a remote machine that folder means nothing, so the driver makes sure
 * a copy of it (and of its sibling config/, Fabric's release layout, where
 * FABRIC_CFG_PATH defaults) is on the machine and rewrites the value.
 *
 * The copy lives in BIN_ROOT/ (config bin_root, default ~/.ledgerform/fabric)/<first 16 hex of the SHA-256 of
 * its manifest>, the manifest being `sha256sum` lines of every file. It is
 * checked on the machine (`sha256sum -c`), so an unchanged folder is never
 * sent again (and the check is skipped for the rest of this process once
 * passed); a changed folder is a new directory. A delivery is written to
 * DIR.lf-tmp and renamed into place after the check, so a cut one is never
 * used.
 */
#include "ssh.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <openssl/evp.h>

#include "core/util/crashpoint.h"


struct manifest {
	char *text;      /* "HEX  bin/peer\n..." */
	size_t len;
	char id[17];     /* first 16 hex of its SHA-256 */
};

static void hex_of(const unsigned char *md, unsigned int n, char *out)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static int file_sha256(const char *path, char hex[65])
{
	unsigned char md[EVP_MAX_MD_SIZE], buf[65536];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	FILE *f = fopen(path, "rb");
	size_t n;
	int rc = -1;

	if (ctx && f && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1) {
		while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
			EVP_DigestUpdate(ctx, buf, n);
		if (!ferror(f) && EVP_DigestFinal_ex(ctx, md, &mdlen) == 1) {
			hex_of(md, mdlen, hex);
			rc = 0;
		}
	}
	if (f)
		fclose(f);
	EVP_MD_CTX_free(ctx);
	return rc;
}

static int name_cmp(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

/* add "HEX  SUB/NAME" for each regular file of dir, sorted */
static int manifest_add_dir(struct manifest *mf, const char *dir, const char *sub)
{
	struct dirent **ents = NULL;
	int i, n = scandir(dir, &ents, NULL, name_cmp), rc = 0;
	char path[4096], hex[65], *p;
	struct stat st;

	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, ents[i]->d_name);
		if (rc == 0 && stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
			rc = file_sha256(path, hex);
			p = rc == 0 ? realloc(mf->text, mf->len + strlen(sub) + strlen(ents[i]->d_name) + 72) : NULL;
			if (p) {
				mf->text = p;
				mf->len += (size_t)snprintf(p + mf->len, strlen(sub) + strlen(ents[i]->d_name) + 72,
							   "%s  %s/%s\n", hex, sub, ents[i]->d_name);
			} else {
				rc = -1;
			}
		}
		free(ents[i]);
	}
	free(ents);
	return n < 0 ? -1 : rc;
}

static int manifest_make(const char *bin, struct manifest *mf)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char cfg[4096], hex[129];
	struct stat st;

	memset(mf, 0, sizeof(*mf));
	if (manifest_add_dir(mf, bin, "bin") != 0)
		return -1;
	snprintf(cfg, sizeof(cfg), "%s/../config", bin);
	if (stat(cfg, &st) == 0 && S_ISDIR(st.st_mode) && manifest_add_dir(mf, cfg, "config") != 0)
		return -1;
	if (!mf->text)
		return -1;
	EVP_Digest(mf->text, mf->len, md, &mdlen, EVP_sha256(), NULL);
	hex_of(md, mdlen, hex);
	memcpy(mf->id, hex, 16);
	mf->id[16] = '\0';
	return 0;
}

/* the manifest of bin, hashed once per process and folder */
static int manifest_get(struct lf_driver_conn *c, const char *bin, char **text, char id[17],
			struct lf_err *err)
{
	struct manifest mf;
	int rc = 0;

	pthread_mutex_lock(&c->mu);
	if (!c->bin_local || strcmp(c->bin_local, bin) != 0) {
		if (manifest_make(bin, &mf) != 0) {
			free(mf.text);
			rc = ssh_host->err_set(err, LF_EINVALID,
					       "ssh: cannot read the Fabric binaries in '%s'", bin);
		} else {
			free(c->bin_local);
			free(c->bin_manifest);
			c->bin_local = strdup(bin);
			c->bin_manifest = mf.text;
			memcpy(c->bin_id, mf.id, sizeof(c->bin_id));
		}
	}
	if (rc == 0) {
		*text = strdup(c->bin_manifest);
		memcpy(id, c->bin_id, 17);
	}
	pthread_mutex_unlock(&c->mu);
	if (rc == 0 && !*text)
		rc = ssh_host->err_set(err, LF_ERROR, "ssh: out of memory");
	return rc;
}

/* is rel among the "REL: OK" lines of have (sha256sum -c's answer for
 * the files a cut delivery left in the temporary folder)? */
static int have_ok(const char *have, const char *rel)
{
	size_t n = strlen(rel);
	const char *p = have;

	while (p && *p) {
		if (strncmp(p, rel, n) == 0 && strncmp(p + n, ": OK\n", 5) == 0)
			return 1;
		p = strchr(p, '\n');
		p = p ? p + 1 : NULL;
	}
	return 0;
}

/* send every file the manifest lists (but those have says are there
 * already, whole), then the manifest, into tmp */
static int bin_send(struct lf_driver_conn *c, struct ssh_machine *m, const char *bin,
		    const char *manifest, const char *have, const char *tmp,
		    struct lf_call *call, struct lf_err *err)
{
	const char *line = manifest, *nl;
	char rel[512], src[4096], dst[4800];
	struct lf_file mf = { "MANIFEST", manifest, strlen(manifest), 0644, NULL };
	unsigned long long bytes = 0;
	int rc = 0;

	for (; rc == 0 && *line; line = nl + 1) {
		nl = strchr(line, '\n');
		if (!nl || nl - line < 67)
			break;
		snprintf(rel, sizeof(rel), "%.*s", (int)(nl - line - 66), line + 66);
		if (strncmp(rel, "bin/", 4) == 0)
			snprintf(src, sizeof(src), "%s/%s", bin, rel + 4);
		else
			snprintf(src, sizeof(src), "%s/../%s", bin, rel);
		snprintf(dst, sizeof(dst), "%s/%s", tmp, rel);
		if (have_ok(have, rel))
			continue;
		rc = ssh_send_file(m, src, dst, strncmp(rel, "bin/", 4) == 0 ? 0755 : 0644,
				   &bytes, err);
	}
	if (rc == 0)
		rc = ssh_put_files(c, m, tmp, &mf, 1, call, err);
	pthread_mutex_lock(&c->mu);
	c->bin_bytes += bytes;
	pthread_mutex_unlock(&c->mu);
	return rc;
}

/* one command: the folder there and whole ("present"), or else
 * ("absent") which of the manifest's files (on stdin) a cut delivery left
 * whole in ID.lf-tmp, as sha256sum -c's "NAME: OK" lines */
#define BIN_CHECK \
	"mkdir -p \"$2\" && cd \"$2\" && pwd && " \
	"if [ -d \"$1\" ] && (cd \"$1\" && sha256sum -c --quiet MANIFEST >/dev/null 2>&1); " \
	"then echo present; else rm -f \"$1.lf-tmp/MANIFEST\" && " \
	"mkdir -p \"$1.lf-tmp/bin\" \"$1.lf-tmp/config\" && cd \"$1.lf-tmp\" && echo absent && " \
	"cat >.lf-want && { sha256sum -c .lf-want 2>/dev/null; rm -f .lf-want; }; fi"
#define BIN_COMMIT \
	"cd \"$2/$1.lf-tmp\" && sha256sum -c --quiet MANIFEST && cd .. && " \
	"rm -rf \"$1\" && mv \"$1.lf-tmp\" \"$1\""

/* run one of the scripts above with the id as $1 and in on stdin; stdout
 * to *out */
static int bin_script(struct lf_driver_conn *c, struct ssh_machine *m, const char *script,
		      const char *id, const char *in, char **out, struct lf_call *call,
		      struct lf_err *err)
{
	const char *argv[] = { script, id, c->cfg.bin_root, NULL };
	struct ssh_run r = { argv, NULL, in, in ? strlen(in) : 0, 0, 256 * 1024, 1, NULL };
	int status = 0;
	int rc = ssh_run_text(c, m, &r, &status, out, NULL, call, err);

	if (rc == 0 && status != 0)
		rc = ssh_host->err_set(err, LF_ERROR,
				       "ssh: checking the Fabric binaries on %s failed (exit status %d)",
				       m->address, status);
	return rc;
}

/* the remote folder (absolute) holding a checked copy of bin */
static int bin_deliver(struct lf_driver_conn *c, struct ssh_machine *m, const char *bin,
		       char **remote, struct lf_call *call, struct lf_err *err)
{
	char id[17], tmp[4200], *manifest = NULL, *out = NULL, *nl;
	int rc = manifest_get(c, bin, &manifest, id, err), fresh = 0;

	if (rc == 0 && m->bin_sent && strncmp(m->bin_sent, id, 16) == 0) {
		free(manifest);
		*remote = strdup(m->bin_sent + 17);
		return *remote ? 0 : ssh_host->err_set(err, LF_ERROR, "ssh: out of memory");
	}
	/* not there, nothing to resume: SFTP says so without a command */
	if (rc == 0 && (fresh = ssh_bin_fresh(m, c->cfg.bin_root, id, &out, err)) < 0)
		rc = fresh;
	if (rc == 0 && fresh) {
		char *o = malloc(strlen(out) + 9);

		if (o)
			snprintf(o, strlen(out) + 9, "%s\nabsent\n", out);
		free(out);
		out = o;
	} else if (rc == 0) {
		rc = bin_script(c, m, BIN_CHECK, id, manifest, &out, call, err);
	}
	nl = out ? strchr(out, '\n') : NULL;
	if (rc == 0 && !nl)
		rc = ssh_host->err_set(err, LF_ERROR, "ssh: unexpected answer from %s", m->address);
	if (rc == 0 && strncmp(nl + 1, "present", 7) != 0) {
		ssh_host->call_progress(call, "sending Fabric binaries to %s", m->address);
		snprintf(tmp, sizeof(tmp), "%s/%s.lf-tmp", c->cfg.bin_root, id);
		rc = bin_send(c, m, bin, manifest, nl + 1, tmp, call, err);
		lf_crash_point("ssh.bin.sent");
		if (rc == 0) {
			char *o2 = NULL;

			rc = bin_script(c, m, BIN_COMMIT, id, NULL, &o2, call, err);
			free(o2);
		}
	}
	if (rc == 0) {
		*nl = '\0';
		*remote = malloc(strlen(out) + 24);
		if (*remote) {
			snprintf(*remote, strlen(out) + 24, "%s/%s/bin", out, id);
			free(m->bin_sent);
			m->bin_sent = malloc(strlen(*remote) + 18);
			if (m->bin_sent)
				snprintf(m->bin_sent, strlen(*remote) + 18, "%s:%s", id, *remote);
		} else
			rc = ssh_host->err_set(err, LF_ERROR, "ssh: out of memory");
	}
	free(manifest);
	free(out);
	return rc;
}

void ssh_envp_free(char **envp)
{
	size_t i;

	for (i = 0; envp && envp[i]; i++)
		free(envp[i]);
	free(envp);
}

int ssh_bin_ensure(struct lf_driver_conn *c, struct ssh_machine *m,
		   const char *const *envp, char ***envp_out,
		   struct lf_call *call, struct lf_err *err)
{
	size_t i, n = 0, at = (size_t)-1;
	char *remote = NULL, **v;
	struct stat st;
	int rc;

	*envp_out = NULL;
	for (n = 0; envp && envp[n]; n++)
		if (strncmp(envp[n], "FABRIC_BIN=", 11) == 0)
			at = n;
	if (at == (size_t)-1 || stat(envp[at] + 11, &st) != 0 || !S_ISDIR(st.st_mode))
		return 0; /* nothing of ours to deliver */
	pthread_mutex_lock(&m->bin_mu); /* parallel execs: one delivery */
	rc = bin_deliver(c, m, envp[at] + 11, &remote, call, err);
	pthread_mutex_unlock(&m->bin_mu);
	if (rc != 0)
		return rc;
	v = calloc(n + 1, sizeof(*v));
	for (i = 0; v && i < n; i++) {
		size_t len = strlen(remote) + 12;

		v[i] = i == at ? malloc(len) : strdup(envp[i]);
		if (v[i] && i == at)
			snprintf(v[i], len, "FABRIC_BIN=%s", remote);
	}
	free(remote);
	*envp_out = v;
	return v ? 0 : ssh_host->err_set(err, LF_ERROR, "ssh: out of memory");
}
