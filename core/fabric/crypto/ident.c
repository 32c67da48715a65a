/*
 * Identity folders (cryptogen's GenerateLocalMSP) and the org's verifying
 * MSP folder (GenerateVerifyingMSP), with NodeOUs enabled.
 *
 * A new identity is built in a temporary sibling directory and renamed
 * into place in one step: readers never see half an identity, and the
 * ~8 files need no rename each. An existing identity is refreshed file by
 * file: a certificate is re-issued only when it no longer matches its
 * inputs (keeping its private key when that key is valid), and only files
 * whose bytes change are replaced (temp file + rename). No fsync here: see
 * lfc_sync() and crypto.h.
 */
#include "core/fabric/crypto/crypto_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/util/crashpoint.h"
#include "core/util/util.h"

static const struct {
	const char *rel;
	mode_t mode;
} ident_dirs[] = {
	{ "msp", 0755 },           { "msp/admincerts", 0755 },
	{ "msp/cacerts", 0755 },   { "msp/keystore", 0700 },
	{ "msp/signcerts", 0755 }, { "msp/tlscacerts", 0755 },
	{ "tls", 0700 },
};

char *lfc_config_yaml(const char *ca_cn, size_t *len)
{
	static const char *const ous[][2] = {
		{ "ClientOUIdentifier", "client" }, { "PeerOUIdentifier", "peer" },
		{ "AdminOUIdentifier", "admin" },   { "OrdererOUIdentifier", "orderer" },
	};
	struct lf_buf b = LF_BUF_INIT;
	size_t i;

	lf_buf_printf(&b, "NodeOUs:\n  Enable: true\n");
	for (i = 0; i < LF_ARRAY_LEN(ous); i++)
		lf_buf_printf(&b, "  %s:\n    Certificate: cacerts/%s-cert.pem\n"
			      "    OrganizationalUnitIdentifier: %s\n",
			      ous[i][0], ca_cn, ous[i][1]);
	*len = b.len;
	return b.data;
}

static int write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * The process umask, read without changing it (umask(2) is process-wide
 * and not thread-safe): from /proc/self/status; 0777 when unknown, which
 * makes every create below follow up with an explicit chmod.
 */
static mode_t current_umask(void)
{
	char *st = NULL, *p;
	size_t len = 0;
	mode_t m = 0777;

	if (lf_read_file("/proc/self/status", &st, &len, NULL) != 0)
		return m;
	p = strstr(st, "\nUmask:");
	if (p)
		m = (mode_t)strtoul(p + 8, NULL, 8) & 0777;
	free(st);
	return m;
}

/* does a create with mode need a chmod to get exactly mode? (ext4 charges
 * an inode update per chmod: ~17,000 of them for a large tree) */
static bool need_chmod(mode_t mode)
{
	static _Atomic int cached = -1;
	int m = atomic_load(&cached);

	if (m < 0) {
		m = (int)current_umask();
		atomic_store(&cached, m);
	}
	return (mode & (mode_t)m) != 0;
}

/* create dfd/rel exclusively with mode (from creation: never wider) */
static int put_new_at(int dfd, const char *rel, const void *data, size_t len,
		      mode_t mode)
{
	int fd = openat(dfd, rel, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	int rc;

	if (fd < 0)
		return -1;
	rc = (!need_chmod(mode) || fchmod(fd, mode) == 0) &&
	     write_all(fd, data, len) == 0 ? 0 : -1;
	if (close(fd) != 0)
		rc = -1;
	return rc;
}

static bool same_content(const char *path, const void *data, size_t len,
			 mode_t mode)
{
	struct stat st;
	char *cur = NULL;
	size_t n = 0;
	bool same;

	if (stat(path, &st) != 0 || (st.st_mode & 07777) != mode ||
	    (size_t)st.st_size != len)
		return false;
	if (lf_read_file(path, &cur, &n, NULL) != 0)
		return false;
	same = n == len && memcmp(cur, data, len) == 0;
	lf_free_secret(cur, n);
	return same;
}

int lfc_file_put(const char *path, const void *data, size_t len,
		 mode_t mode, struct lfc_worker *w, struct lf_err *err)
{
	double t0 = lf_now_s();
	unsigned char rnd[6];
	char *tmp = NULL;
	int rc = 0;

	if (same_content(path, data, len, mode))
		goto cleanup;
	lf_random(rnd, sizeof(rnd));
	tmp = lf_xasprintf("%s.tmp-%02x%02x%02x%02x%02x%02x", path, rnd[0],
			   rnd[1], rnd[2], rnd[3], rnd[4], rnd[5]);
	if (put_new_at(AT_FDCWD, tmp, data, len, mode) != 0) {
		rc = lf_err_sys(err, LF_ERROR, "cannot write '%s'", tmp);
		unlink(tmp);
		goto cleanup;
	}
	if (rename(tmp, path) != 0) {
		rc = lf_err_sys(err, LF_ERROR, "cannot rename '%s' to '%s'", tmp, path);
		unlink(tmp);
		goto cleanup;
	}
	w->st.files_written++;
	rc = 1;
cleanup:
	free(tmp);
	w->st.t_io += lf_now_s() - t0;
	return rc;
}

/* mkdir; an existing directory gets its mode corrected */
static int ensure_dir(const char *path, mode_t mode, struct lf_err *err)
{
	struct stat st;

	if (mkdir(path, mode) == 0)
		return chmod(path, mode) == 0 ? 0
		       : lf_err_sys(err, LF_ERROR, "cannot chmod '%s'", path);
	if (errno != EEXIST || stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
		return lf_err_sys(err, LF_ERROR, "cannot create directory '%s'", path);
	if ((st.st_mode & 07777) != mode && chmod(path, mode) != 0)
		return lf_err_sys(err, LF_ERROR, "cannot chmod '%s'", path);
	return 0;
}

int lfc_sync(const char *path, struct lf_err *err)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc = 0;

	if (fd < 0)
		return lf_err_sys(err, LF_ERROR, "cannot open '%s'", path);
	if (syncfs(fd) != 0)
		rc = lf_err_sys(err, LF_ERROR, "cannot sync '%s'", path);
	close(fd);
	return rc;
}

int lfc_msp_ensure(const char *root, const struct lfc_org *org,
		   const struct lfc_ca *ca, const struct lfc_ca *tlsca,
		   struct lfc_worker *w, struct lf_err *err)
{
	static const char *const dirs[] = { "", "/admincerts", "/cacerts", "/tlscacerts" };
	char *msp = lf_xasprintf("%s/%s/msp", root, org->dir), *p = NULL, *cfg;
	size_t i, cfglen = 0;
	int rc = lf_mkdirs(msp, 0755, err);

	for (i = 0; rc == 0 && i < LF_ARRAY_LEN(dirs); i++) {
		p = lf_xasprintf("%s%s", msp, dirs[i]);
		rc = ensure_dir(p, 0755, err);
		free(p);
	}
	cfg = lfc_config_yaml(org->ca_cn, &cfglen);
	if (rc == 0) {
		p = lf_xasprintf("%s/config.yaml", msp);
		rc = lfc_file_put(p, cfg, cfglen, 0644, w, err);
		free(p);
	}
	if (rc >= 0) {
		p = lf_xasprintf("%s/cacerts/%s-cert.pem", msp, org->ca_cn);
		rc = lfc_file_put(p, ca->pem, ca->pem_len, 0644, w, err);
		free(p);
	}
	if (rc >= 0) {
		p = lf_xasprintf("%s/tlscacerts/%s-cert.pem", msp, org->tlsca_cn);
		rc = lfc_file_put(p, tlsca->pem, tlsca->pem_len, 0644, w, err);
		free(p);
	}
	free(cfg);
	free(msp);
	return rc < 0 ? rc : 0;
}

/* ---- one identity ------------------------------------------------- */

/* one half of an identity: the signing pair or the TLS pair */
struct half {
	char *cert_rel, *key_rel;
	struct lfc_certspec cs;
	const struct lfc_ca *issuer;
	X509 *cert;                  /* parsed existing cert (refresh) */
	char *cert_pem, *key_pem;
	size_t cert_len, key_len;
	char sha256[65], not_after[32];
};

static void half_init(struct half *h, const struct lfc_ident *id, bool tls,
		      const struct lfc_ca *issuer)
{
	const char *pre = lfc_role_is_server(id->role) ? "server" : "client";

	memset(h, 0, sizeof(*h));
	h->issuer = issuer;
	h->cs.cn = id->cn;
	if (tls) {
		h->cert_rel = lf_xasprintf("tls/%s.crt", pre);
		h->key_rel = lf_xasprintf("tls/%s.key", pre);
		h->cs.profile = LFC_PROFILE_TLS;
		h->cs.sans = id->sans;
		h->cs.nsans = id->nsans;
	} else {
		h->cert_rel = lf_xasprintf("msp/signcerts/%s-cert.pem", id->cn);
		h->key_rel = lf_xstrdup("msp/keystore/priv_sk");
		h->cs.profile = LFC_PROFILE_SIGN;
		h->cs.ou = lfc_role_ou(id->role);
	}
}

static void half_fini(struct half *h)
{
	free(h->cert_rel);
	free(h->key_rel);
	X509_free(h->cert);
	free(h->cert_pem);
	lf_free_secret(h->key_pem, h->key_len);
	memset(h, 0, sizeof(*h));
}

/* issue the cert for key (new key when key is NULL) and encode both */
static int half_issue(struct half *h, EVP_PKEY *key, struct lfc_worker *w,
		      struct lf_err *err)
{
	EVP_PKEY *k = key;
	struct lfc_issued c;
	double t0;
	int rc = 0;

	memset(&c, 0, sizeof(c));
	if (!k)
		rc = lfc_keygen(w, &k, err);
	if (rc == 0)
		rc = lfc_cert_issue_der(&c, &h->cs, k, h->issuer, w, err);
	t0 = lf_now_s();
	if (rc == 0 && !key)
		rc = lfc_key_pem(k, &h->key_pem, &h->key_len, err);
	if (rc == 0) {
		free(h->cert_pem);
		h->cert_pem = lfc_pem_encode("CERTIFICATE", c.der, c.len, &h->cert_len);
		memcpy(h->sha256, c.sha256, sizeof(h->sha256));
		memcpy(h->not_after, c.not_after, sizeof(h->not_after));
	}
	w->st.t_encode += lf_now_s() - t0;
	lfc_issued_clear(&c);
	if (k != key)
		EVP_PKEY_free(k);
	return rc;
}

/* is the cert on disk current and made for the key on disk? The DER
 * check answers for our own certs; anything else takes OpenSSL's parse */
static bool half_current(struct half *h)
{
	struct lfc_issued info;
	unsigned char pt[65];
	int rc = lfc_cert_check_der(h->cert_pem, h->cert_len, &h->cs, h->issuer,
				    pt, &info);
	int k = rc == 1 ? lfc_key_has_point(h->key_pem, h->key_len, pt) : -1;
	bool ok;

	if (rc == 0 || k == 0)
		return false;
	if (rc == 1 && k == 1) {
		memcpy(h->sha256, info.sha256, sizeof(h->sha256));
		memcpy(h->not_after, info.not_after, sizeof(h->not_after));
		return true;
	}
	h->cert = lfc_cert_parse(h->cert_pem, h->cert_len);
	ok = h->cert && lfc_key_matches_cert(h->key_pem, h->key_len, h->cert) &&
	     lfc_cert_current(h->cert, &h->cs, h->issuer);
	if (ok) {
		lfc_cert_sha256(h->cert, h->sha256);
		lfc_cert_not_after(h->cert, h->not_after);
	}
	X509_free(h->cert);
	h->cert = NULL;
	return ok;
}

/* existing files: keep, re-issue with the same key, or start afresh */
static int half_refresh(struct half *h, const char *abs, struct lfc_worker *w,
			struct lf_err *err)
{
	char *cp = lf_path_join(abs, h->cert_rel), *kp = lf_path_join(abs, h->key_rel);
	EVP_PKEY *key = NULL;
	int rc;
	double t0 = lf_now_s();

	if (lf_read_file(kp, &h->key_pem, &h->key_len, NULL) != 0 ||
	    lf_read_file(cp, &h->cert_pem, &h->cert_len, NULL) != 0) {
		lf_free_secret(h->key_pem, h->key_len);
		h->key_pem = NULL;
		h->key_len = 0;
	}
	w->st.t_io += lf_now_s() - t0;
	if (h->cert_pem && half_current(h)) {
		rc = 0; /* up to date: every byte stays */
		goto cleanup;
	}
	if (h->key_pem)
		key = lfc_key_parse(h->key_pem, h->key_len);
	if (key && (!EVP_PKEY_is_a(key, "EC") || EVP_PKEY_get_bits(key) != 256)) {
		EVP_PKEY_free(key);
		key = NULL;
	}
	if (!key) { /* missing or unusable key: a new pair */
		lf_free_secret(h->key_pem, h->key_len);
		h->key_pem = NULL;
		h->key_len = 0;
	}
	rc = half_issue(h, key, w, err);
	rc = rc == 0 ? 1 : rc;
cleanup:
	EVP_PKEY_free(key);
	free(cp);
	free(kp);
	return rc;
}

struct ident_files {
	const char *rel[8];
	const char *data[8];
	size_t len[8];
	mode_t mode[8];
	char *owned[4];
	char *cfg;
};

static void files_build(struct ident_files *f, const struct lfc_org *org,
			const struct lfc_ca *ca, const struct lfc_ca *tlsca,
			struct half *s, struct half *t)
{
	size_t cfglen = 0, i;

	memset(f, 0, sizeof(*f));
	f->cfg = lfc_config_yaml(org->ca_cn, &cfglen);
	f->owned[0] = lf_xasprintf("msp/cacerts/%s-cert.pem", org->ca_cn);
	f->owned[1] = lf_xasprintf("msp/tlscacerts/%s-cert.pem", org->tlsca_cn);
	f->rel[0] = "msp/config.yaml";  f->data[0] = f->cfg;       f->len[0] = cfglen;
	f->rel[1] = f->owned[0];        f->data[1] = ca->pem;      f->len[1] = ca->pem_len;
	f->rel[2] = f->owned[1];        f->data[2] = tlsca->pem;   f->len[2] = tlsca->pem_len;
	f->rel[3] = "tls/ca.crt";       f->data[3] = tlsca->pem;   f->len[3] = tlsca->pem_len;
	f->rel[4] = s->cert_rel;        f->data[4] = s->cert_pem;  f->len[4] = s->cert_len;
	f->rel[5] = t->cert_rel;        f->data[5] = t->cert_pem;  f->len[5] = t->cert_len;
	f->rel[6] = s->key_rel;         f->data[6] = s->key_pem;   f->len[6] = s->key_len;
	f->rel[7] = t->key_rel;         f->data[7] = t->key_pem;   f->len[7] = t->key_len;
	for (i = 0; i < 8; i++)
		f->mode[i] = i >= 6 ? 0600 : 0644;
}

static void files_free(struct ident_files *f)
{
	size_t i;

	for (i = 0; i < LF_ARRAY_LEN(f->owned); i++)
		free(f->owned[i]);
	free(f->cfg);
}

/* fresh identity: build in parent/.NAME.tmp-XXXX, then one rename */
static int ident_write_new(const char *abs, const struct ident_files *f,
			   struct lfc_worker *w, struct lf_err *err)
{
	double t0 = lf_now_s();
	char *parent = lf_path_dirname(abs), *tmp;
	const char *base = strrchr(abs, '/') ? strrchr(abs, '/') + 1 : abs;
	unsigned char rnd[6];
	int dfd = -1, rc = 0;
	size_t i;

	lf_random(rnd, sizeof(rnd));
	tmp = lf_xasprintf("%s/.%s.tmp-%02x%02x%02x%02x%02x%02x", parent, base,
			   rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5]);
	if (mkdir(tmp, 0755) != 0 && errno == ENOENT)
		rc = lf_mkdirs(parent, 0755, err) || mkdir(tmp, 0755) != 0;
	if (rc == 0 && (dfd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		rc = -1;
	for (i = 0; rc == 0 && i < LF_ARRAY_LEN(ident_dirs); i++)
		if (mkdirat(dfd, ident_dirs[i].rel, ident_dirs[i].mode) != 0 ||
		    (need_chmod(ident_dirs[i].mode) &&
		     fchmodat(dfd, ident_dirs[i].rel, ident_dirs[i].mode, 0) != 0))
			rc = -1;
	for (i = 0; rc == 0 && i < 8; i++)
		rc = put_new_at(dfd, f->rel[i], f->data[i], f->len[i], f->mode[i]);
	if (rc == 0 && (!need_chmod(0755) || fchmod(dfd, 0755) == 0) &&
	    rename(tmp, abs) == 0)
		w->st.files_written += 8;
	else
		rc = lf_err_sys(err, LF_ERROR, "cannot write identity '%s'", abs);
	if (dfd >= 0)
		close(dfd);
	if (rc != 0)
		lf_rmtree(tmp, NULL);
	free(tmp);
	free(parent);
	w->st.t_io += lf_now_s() - t0;
	return rc;
}

static int ident_write_changed(const char *abs, const struct ident_files *f,
			       struct lfc_worker *w, struct lf_err *err)
{
	size_t i;
	int rc = ensure_dir(abs, 0755, err);
	char *p;

	for (i = 0; rc == 0 && i < LF_ARRAY_LEN(ident_dirs); i++) {
		p = lf_path_join(abs, ident_dirs[i].rel);
		rc = ensure_dir(p, ident_dirs[i].mode, err);
		free(p);
	}
	for (i = 0; rc >= 0 && i < 8; i++) {
		p = lf_path_join(abs, f->rel[i]);
		rc = lfc_file_put(p, f->data[i], f->len[i], f->mode[i], w, err);
		free(p);
	}
	return rc < 0 ? rc : 0;
}

static json_t *ident_outputs(const struct lfc_ident *id, const struct half *s,
			     const struct half *t)
{
	return json_pack("{s:s, s:s, s:s, s:s}", "dir", id->dir, "cert_sha256",
			 s->sha256, "tls_cert_sha256", t->sha256, "not_after",
			 s->not_after);
}

/* ---- an offline admin: a certificate, no key ------------------------ */

/* the offline admin's file, as checked at plan: unchanged since (its
 * sha256 is in the attrs) and, for a certificate, issued by ca */
static int offline_material(struct lfc_offline *m, const struct lfc_org *org,
			    const struct lfc_ident *id, const struct lfc_ca *ca,
			    struct lf_err *err)
{
	const char *path = id->off_csr ? id->off_csr : id->off_cert;
	int rc = lfc_offline_load(m, org->name, id->off_csr, id->off_cert, err);

	if (rc == 0 && strcmp(m->file_sha, id->off_file_sha) != 0)
		rc = lf_err_set(err, LF_ECONFLICT, "org '%s': '%s' changed since the plan "
				"(sha256 %.12s, planned %.12s): plan again", org->name,
				path, m->file_sha, id->off_file_sha);
	if (rc == 0)
		rc = lfc_offline_chains(m, ca->cert, org->name, path, err);
	if (rc != 0)
		lfc_offline_clear(m);
	return rc;
}

/* the signing certificate: the given one, the one on disk when it is
 * still current for the request's key, or a new one over that key */
static int offline_cert(struct half *s, const char *abs, struct lfc_offline *m,
			struct lfc_worker *w, struct lf_err *err)
{
	struct lfc_issued c;
	char *cp;
	X509 *x;
	int rc;

	if (m->cert) {
		s->cert_pem = m->pem;
		s->cert_len = m->len;
		m->pem = NULL;
		lfc_cert_sha256(m->cert, s->sha256);
		lfc_cert_not_after(m->cert, s->not_after);
		return 0;
	}
	cp = lf_path_join(abs, s->cert_rel);
	x = lf_read_file(cp, &s->cert_pem, &s->cert_len, NULL) == 0
	    ? lfc_cert_parse(s->cert_pem, s->cert_len) : NULL;
	free(cp);
	if (x && EVP_PKEY_eq(X509_get0_pubkey(x), m->pub) == 1 &&
	    lfc_cert_current(x, &s->cs, s->issuer)) {
		lfc_cert_sha256(x, s->sha256);
		lfc_cert_not_after(x, s->not_after);
		X509_free(x);
		return 0;
	}
	X509_free(x);
	free(s->cert_pem);
	s->cert_pem = NULL;
	memset(&c, 0, sizeof(c));
	rc = lfc_cert_issue_der(&c, &s->cs, m->pub, s->issuer, w, err);
	if (rc == 0) {
		s->cert_pem = lfc_pem_encode("CERTIFICATE", c.der, c.len, &s->cert_len);
		memcpy(s->sha256, c.sha256, sizeof(s->sha256));
		memcpy(s->not_after, c.not_after, sizeof(s->not_after));
	}
	lfc_issued_clear(&c);
	return rc;
}

/* an identity that was local before holds a key and a TLS client pair:
 * they go (the org's admin keeps their own key) */
static int offline_drop_keys(const char *abs, struct lf_err *err)
{
	static const char *const gone[] = { "msp/keystore/priv_sk", "tls/client.key",
					    "tls/client.crt" };
	size_t i;

	for (i = 0; i < LF_ARRAY_LEN(gone); i++) {
		char *p = lf_path_join(abs, gone[i]);
		int rc = unlink(p) != 0 && errno != ENOENT
			 ? lf_err_sys(err, LF_ERROR, "cannot remove '%s'", p) : 0;

		free(p);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* the msp folder of cryptogen's admin with an empty keystore, and tls/
 * with the TLS CA's certificate only */
static int offline_ensure(const char *root, const struct lfc_org *org,
			  const struct lfc_ident *id, const struct lfc_ca *ca,
			  const struct lfc_ca *tlsca, struct lfc_worker *w,
			  json_t **outputs, struct lf_err *err)
{
	char *abs = lf_path_join(root, id->dir);
	struct lfc_offline m;
	struct ident_files f;
	struct half s, t;
	size_t i;
	int rc;

	half_init(&s, id, false, ca);
	half_init(&t, id, true, tlsca);
	memset(&f, 0, sizeof(f));
	rc = offline_material(&m, org, id, ca, err);
	if (rc == 0)
		rc = offline_cert(&s, abs, &m, w, err);
	if (rc == 0)
		files_build(&f, org, ca, tlsca, &s, &t);
	rc = rc ? rc : lf_mkdirs(abs, 0755, err);
	rc = rc ? rc : ensure_dir(abs, 0755, err);
	for (i = 0; rc == 0 && i < LF_ARRAY_LEN(ident_dirs); i++) {
		char *p = lf_path_join(abs, ident_dirs[i].rel);

		rc = ensure_dir(p, ident_dirs[i].mode, err);
		free(p);
	}
	rc = rc ? rc : offline_drop_keys(abs, err);
	for (i = 0; rc >= 0 && i < 5; i++) { /* not the keys, not the TLS pair */
		char *p = lf_path_join(abs, f.rel[i]);

		rc = lfc_file_put(p, f.data[i], f.len[i], f.mode[i], w, err);
		free(p);
	}
	if (rc >= 0) {
		rc = 0;
		w->st.identities++;
	}
	if (rc == 0 && outputs)
		*outputs = json_pack("{s:s, s:s, s:s, s:b}", "dir", id->dir, "cert_sha256",
				     s.sha256, "not_after", s.not_after, "admin_offline", 1);
	if (m.pub)
		lfc_offline_clear(&m);
	files_free(&f);
	half_fini(&s);
	half_fini(&t);
	free(abs);
	return rc;
}

/* ---- an org that keeps its CA keys: keys here, certificates issued by
 * the org (certreq.c) ----------------------------------------------- */

/* the half's key on disk when usable (EC P-256), else a new one written
 * now (0600): the request carries its public half */
static int keyless_key(struct half *h, const char *abs, EVP_PKEY **key,
		       struct lfc_worker *w, struct lf_err *err)
{
	char *kp = lf_path_join(abs, h->key_rel);
	int rc = 0;

	if (lf_read_file(kp, &h->key_pem, &h->key_len, NULL) == 0)
		*key = lfc_key_parse(h->key_pem, h->key_len);
	if (*key && (!EVP_PKEY_is_a(*key, "EC") || EVP_PKEY_get_bits(*key) != 256)) {
		EVP_PKEY_free(*key);
		*key = NULL;
	}
	if (!*key) {
		lf_free_secret(h->key_pem, h->key_len);
		h->key_pem = NULL;
		h->key_len = 0;
		rc = lfc_keygen(w, key, err);
		if (rc == 0)
			rc = lfc_key_pem(*key, &h->key_pem, &h->key_len, err);
		if (rc == 0)
			rc = lfc_file_put(kp, h->key_pem, h->key_len, 0600, w, err);
		rc = rc < 0 ? rc : 0;
	}
	free(kp);
	return rc;
}

/* the half's certificate on disk, when current for its key */
static bool keyless_current(struct half *h, const char *abs)
{
	char *cp = lf_path_join(abs, h->cert_rel);
	bool ok = lf_read_file(cp, &h->cert_pem, &h->cert_len, NULL) == 0 &&
		  half_current(h);

	free(cp);
	if (!ok) {
		free(h->cert_pem);
		h->cert_pem = NULL;
		h->cert_len = 0;
	}
	return ok;
}

static int keyless_ensure(const char *root, const struct lfc_org *org,
			  const struct lfc_ident *id, const struct lfc_ca *ca,
			  const struct lfc_ca *tlsca, struct lfc_worker *w,
			  json_t **outputs, struct lf_err *err)
{
	char *abs = lf_path_join(root, id->dir);
	struct half hv[2];
	struct lfc_req rq[2];
	struct ident_files f;
	EVP_PKEY *keys[2] = { NULL, NULL };
	size_t i;
	int rc = 0;

	if (!w->reqdir) {
		free(abs);
		return lf_err_set(err, LF_ECONFLICT, "org '%s': its CA is imported without "
				  "its key: %s's certificates are issued by the org (`ledgerform "
				  "apply`, then `ledgerform issue`), not rendered here",
				  org->name, id->name);
	}
	half_init(&hv[0], id, false, ca);
	half_init(&hv[1], id, true, tlsca);
	memset(&f, 0, sizeof(f));
	memset(rq, 0, sizeof(rq));
	rc = lf_mkdirs(abs, 0755, err);
	for (i = 0; rc == 0 && i < LF_ARRAY_LEN(ident_dirs); i++) {
		char *p = lf_path_join(abs, ident_dirs[i].rel);

		rc = ensure_dir(p, ident_dirs[i].mode, err);
		free(p);
	}
	for (i = 0; rc == 0 && i < 2; i++) {
		rc = keyless_key(&hv[i], abs, &keys[i], w, err);
		rq[i].kind = i ? "tls" : "sign";
		rq[i].cs = &hv[i].cs;
		rq[i].issuer = hv[i].issuer;
		rq[i].key = keys[i];
		rq[i].need = rc == 0 && !keyless_current(&hv[i], abs);
	}
	if (rc == 0)
		rc = lfc_req_round(w->reqdir, org, id->name, rq, 2, err);
	for (i = 0; rc == 0 && i < 2; i++) {
		X509 *x;

		if (!rq[i].need)
			continue;
		hv[i].cert_pem = rq[i].pem;
		hv[i].cert_len = rq[i].len;
		rq[i].pem = NULL;
		x = lfc_cert_parse(hv[i].cert_pem, hv[i].cert_len);
		if (!x) {
			rc = lf_err_set(err, LF_ERROR, "%s: cannot parse its certificate", id->name);
			break;
		}
		lfc_cert_sha256(x, hv[i].sha256);
		lfc_cert_not_after(x, hv[i].not_after);
		X509_free(x);
	}
	if (rc == 0) {
		files_build(&f, org, ca, tlsca, &hv[0], &hv[1]);
		rc = ident_write_changed(abs, &f, w, err);
	}
	if (rc == 0)
		rc = lfc_sync(abs, err);
	/* files in place, entries still in the request file: a rerun finds
	 * the certificates current and drops the entries then */
	lf_crash_point("crypto.keyless.placed");
	if (rc == 0)
		rc = lfc_req_done(w->reqdir, org, id->name, err);
	if (rc == 0) {
		w->st.identities++;
		if (outputs)
			*outputs = ident_outputs(id, &hv[0], &hv[1]);
	}
	for (i = 0; i < 2; i++) {
		free(rq[i].pem);
		EVP_PKEY_free(keys[i]);
		half_fini(&hv[i]);
	}
	files_free(&f);
	free(abs);
	return rc;
}

int lfc_ident_ensure(const char *root, const struct lfc_org *org,
		     const struct lfc_ident *id, const struct lfc_ca *ca,
		     const struct lfc_ca *tlsca, struct lfc_worker *w,
		     json_t **outputs, struct lf_err *err)
{
	char *abs;
	struct half s, t;
	struct ident_files f;
	bool fresh;
	int rc, rs, rt;

	if (lfc_ident_offline(id))
		return offline_ensure(root, org, id, ca, tlsca, w, outputs, err);
	if (!ca->key || !tlsca->key)
		return keyless_ensure(root, org, id, ca, tlsca, w, outputs, err);
	abs = lf_path_join(root, id->dir);
	fresh = !lf_path_exists(abs);
	half_init(&s, id, false, ca);
	half_init(&t, id, true, tlsca);
	memset(&f, 0, sizeof(f));
	if (fresh) {
		rc = half_issue(&s, NULL, w, err);
		rc = rc ? rc : half_issue(&t, NULL, w, err);
	} else {
		rs = half_refresh(&s, abs, w, err);
		rt = rs < 0 ? rs : half_refresh(&t, abs, w, err);
		rc = rs < 0 ? rs : rt < 0 ? rt : 0;
		if (rc == 0 && rs == 0 && rt == 0)
			w->st.leaves_kept++;
	}
	if (rc == 0) {
		files_build(&f, org, ca, tlsca, &s, &t);
		rc = fresh ? ident_write_new(abs, &f, w, err)
			   : ident_write_changed(abs, &f, w, err);
	}
	if (rc == 0)
		w->st.identities++;
	if (rc == 0 && outputs)
		*outputs = ident_outputs(id, &s, &t);
	files_free(&f);
	half_fini(&s);
	half_fini(&t);
	free(abs);
	return rc;
}
