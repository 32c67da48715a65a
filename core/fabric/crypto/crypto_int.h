/*
 * Internals of core/fabric/crypto: the layout model (what to render, from
 * a spec or from resource attrs), X.509 building, CAs, identities.
 * Not installed; included by the crypto sources and their unit tests.
 */
#ifndef LF_FABRIC_CRYPTO_INT_H
#define LF_FABRIC_CRYPTO_INT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>
#include <sys/stat.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "core/fabric/crypto/crypto.h"

/* ---- layout model -------------------------------------------------- */

struct lfc_org {
	char *name;          /* spec org name: bank */
	char *domain;        /* bank.example.com */
	char *dir;           /* peerOrganizations/bank.example.com */
	char *ca_cn;         /* ca.bank.example.com */
	char *tlsca_cn;      /* tlsca.bank.example.com */
	char *ext_cert;      /* imported signing CA (absolute paths) or NULL */
	char *ext_key;
	char *ext_tls_cert;  /* imported TLS CA or NULL */
	char *ext_tls_key;
	char ext_sha[65];    /* sha256 of the imported cert (DER), "" if none */
	char ext_tls_sha[65];
};

enum lfc_role { LFC_ROLE_PEER, LFC_ROLE_ORDERER, LFC_ROLE_ADMIN,
		LFC_ROLE_CLIENT, LFC_ROLE_LAST };

struct lfc_ident {
	char *name;          /* resource suffix: peer0, admin, user1 */
	size_t org;          /* index into layout orgs */
	enum lfc_role role;
	char *dir;           /* rel: <org dir>/peers/peer0.bank.example.com */
	char *cn;            /* peer0.bank.example.com, Admin@bank.example.com */
	char **sans;         /* TLS SANs, in order (nodes only) */
	size_t nsans;
	/* the admin of an `admin: offline` org (offline.c): its request or
	 * certificate file (absolute; one of them), the file's sha256 and
	 * the request's public key's (SubjectPublicKeyInfo) or the
	 * certificate's (DER) sha256. No key and no TLS pair are made. */
	char *off_csr, *off_cert;
	char off_file_sha[65];
	char off_sha[65];
	char *host;          /* the host resource whose address outputs are
				SANs too (a provider's machine), or NULL */
};

struct lfc_layout {
	struct lfc_org *orgs;
	size_t norgs;
	struct lfc_ident *ids;
	size_t nids;
};

/* spec -> layout; validates imported CAs (nothing is written) */
int lfc_layout_from_spec(struct lfc_layout **out, const struct lf_spec *spec,
			 struct lf_err *err);
void lfc_layout_free(struct lfc_layout *l);
void lfc_org_clear(struct lfc_org *o);
void lfc_ident_clear(struct lfc_ident *id);
const char *lfc_role_ou(enum lfc_role r);     /* peer orderer admin client */
bool lfc_role_is_server(enum lfc_role r);     /* server.* vs client.* TLS */

/* attrs <-> model (resource callbacks) */
json_t *lfc_org_attrs(const struct lfc_org *o, const char *kind);
json_t *lfc_ident_attrs(const struct lfc_org *o, const struct lfc_ident *id);
int lfc_org_from_attrs(struct lfc_org *o, const json_t *attrs,
		       struct lf_err *err);
int lfc_ident_from_attrs(struct lfc_ident *id, const json_t *attrs,
			 struct lf_err *err);
/* an identity's "host_sans" attr from its host's outputs (a new array),
 * NULL when they hold no address the spec's SANs do not name */
json_t *lfc_host_sans(const json_t *attrs, const json_t *host_outputs);

/* ---- per-thread worker and statistics ---------------------------- */

struct lfc_worker {
	EVP_PKEY_CTX *kctx;          /* P-256 keygen context, reused */
	struct lf_crypto_stats st;
	time_t now;                  /* issue time base (per run) */
	const char *reqdir;          /* certificate requests of orgs that
					keep their CA keys (certreq.c);
					NULL: none can be made (render) */
};

int lfc_worker_init(struct lfc_worker *w, struct lf_err *err);
void lfc_worker_fini(struct lfc_worker *w);

/* ---- X.509 ----------------------------------------------------------- */

enum lfc_profile { LFC_PROFILE_CA, LFC_PROFILE_SIGN, LFC_PROFILE_TLS };

struct lfc_certspec {
	enum lfc_profile profile;
	const char *cn;
	const char *o;               /* CAs only */
	const char *ou;              /* signing leaves (NodeOU) */
	char *const *sans;           /* TLS leaves */
	size_t nsans;
};

/* A loaded CA: read-only once built, shared by worker threads;
 * reference-counted (lfc_ca_free drops one reference). */
struct lfc_ca {
	atomic_int refs;
	EVP_PKEY *key;
	X509 *cert;
	char *pem;                   /* the cert as written into cacerts/ */
	size_t pem_len;
	unsigned char ski[64];
	size_t ski_len;              /* 0: the CA cert has no SKI */
	char sha256[65];             /* of the cert DER */
	char not_after[32];          /* 2036-11-22T07:41:00Z */
	time_t not_before;           /* leaves start no earlier */
	unsigned char *name_der;     /* subject Name DER: issuer of leaves */
	size_t name_len;
};

/* a certificate as issued: DER plus what outputs report */
struct lfc_issued {
	unsigned char *der;
	size_t len;
	char sha256[65];
	char not_after[32];
};

/* issue a certificate for pub (P-256) as DER (der.c); issuer NULL =
 * self-signed with pub's own key (which must then be private) */
int lfc_cert_issue_der(struct lfc_issued *out, const struct lfc_certspec *cs,
		       EVP_PKEY *pub, const struct lfc_ca *issuer,
		       struct lfc_worker *w, struct lf_err *err);
void lfc_issued_clear(struct lfc_issued *c);
/* Fast check of an existing leaf (PEM) against cs and issuer at the DER
 * level: 1 current (point = its public key, info = sha256/not_after),
 * 0 stale, -1 cannot tell here (use lfc_cert_current) */
int lfc_cert_check_der(const char *pem, size_t len, const struct lfc_certspec *cs,
		       const struct lfc_ca *issuer, unsigned char point[65],
		       struct lfc_issued *info);
/* does key PEM (our P-256 PKCS#8) hold this public point? -1: not ours */
int lfc_key_has_point(const char *pem, size_t len, const unsigned char point[65]);
char *lfc_pem_encode(const char *type, const unsigned char *der, size_t len,
		     size_t *outlen);

void lfc_ca_free(struct lfc_ca *ca);

int lfc_keygen(struct lfc_worker *w, EVP_PKEY **out, struct lf_err *err);
/* PKCS#8 PEM ("PRIVATE KEY"); caller frees with lf_free_secret(p, len) */
int lfc_key_pem(EVP_PKEY *k, char **out, size_t *len, struct lf_err *err);
/* parse a PEM private key; NULL on failure (no message: caller words it) */
EVP_PKEY *lfc_key_parse(const char *pem, size_t len);
/* cheap check that key PEM holds the public key of cert */
bool lfc_key_matches_cert(const char *pem, size_t len, X509 *cert);
X509 *lfc_cert_parse(const char *pem, size_t len);
char *lfc_cert_pem(X509 *x, size_t *len);
void lfc_cert_sha256(X509 *x, char out[65]);
void lfc_cert_not_after(X509 *x, char out[32]);
/* subject/issuer/extensions a leaf must have, built with OpenSSL objects
 * (no key, serial, time): the reference an existing cert is compared to */
X509 *lfc_cert_template(const struct lfc_certspec *cs,
			const struct lfc_ca *issuer);
/* template -> signed cert for pub; issuer NULL = self-signed with pub */
int lfc_cert_issue(X509 **out, const struct lfc_certspec *cs, EVP_PKEY *pub,
		   const struct lfc_ca *issuer, struct lfc_worker *w,
		   struct lf_err *err);
/* does an existing cert still satisfy cs under issuer (and not expired)? */
bool lfc_cert_current(X509 *have, const struct lfc_certspec *cs,
		      const struct lfc_ca *issuer);
/* build the lfc_ca fields from a cert and key (takes both) */
int lfc_ca_from(struct lfc_ca **out, X509 *cert, EVP_PKEY *key,
		struct lf_err *err);

/* ---- CAs ------------------------------------------------------------- */

/* Validate an imported CA pair (files) without writing anything. */
int lfc_ca_check_import(const char *org, const char *cert_path,
			const char *key_path, char sha_out[65],
			struct lf_err *err);
/* Load an imported CA (key_path NULL: its certificate alone). */
int lfc_ca_import(struct lfc_ca **out, const char *org, const char *cert_path,
		  const char *key_path, struct lf_err *err);
/* Load (create when allowed and absent) the signing (tls=false) or TLS CA
 * of org under root. An existing key is never replaced. */
int lfc_ca_ensure(struct lfc_ca **out, const char *root,
		  const struct lfc_org *org, bool tls, bool create,
		  struct lfc_worker *w, struct lf_err *err);

/* process-wide cache of loaded CAs (cache.c); sig = the files' identity
 * taken before loading */
struct lfc_ca_sig {
	struct stat c, k;
	bool ok;
};
struct lfc_ca *lfc_ca_cache_get(const char *cert, const char *key,
				struct lfc_ca_sig *sig);
void lfc_ca_cache_put(const char *cert, const char *key,
		      const struct lfc_ca_sig *sig, struct lfc_ca *ca);

/* ---- files and identities ---------------------------------------- */

/* write data to dir/name unless identical; temp + rename; 1 = written */
int lfc_file_put(const char *path, const void *data, size_t len,
		 mode_t mode, struct lfc_worker *w, struct lf_err *err);
char *lfc_config_yaml(const char *ca_cn, size_t *len);
int lfc_msp_ensure(const char *root, const struct lfc_org *org,
		   const struct lfc_ca *ca, const struct lfc_ca *tlsca,
		   struct lfc_worker *w, struct lf_err *err);
/* outputs (may be NULL): {"dir","cert_sha256","tls_cert_sha256","not_after"} */
int lfc_ident_ensure(const char *root, const struct lfc_org *org,
		     const struct lfc_ident *id, const struct lfc_ca *ca,
		     const struct lfc_ca *tlsca, struct lfc_worker *w,
		     json_t **outputs, struct lf_err *err);
/* ---- offline admins (offline.c) ------------------------------------ */

/* what an offline admin's file gives */
struct lfc_offline {
	EVP_PKEY *pub;       /* the request's or the certificate's public key */
	X509 *cert;          /* admin_cert: the certificate; NULL for a request */
	char *pem;           /* admin_cert: the file as given */
	size_t len;
	char file_sha[65];   /* sha256 of the file */
	char sha[65];        /* request: public key sha256; cert: DER sha256 */
};

/* read and check the request (csr) or the certificate (cert; one of them
 * is NULL): a verified P-256 request, or a certificate with OU=admin;
 * errors name the org and the file */
int lfc_offline_load(struct lfc_offline *m, const char *org, const char *csr,
		     const char *cert, struct lf_err *err);
void lfc_offline_clear(struct lfc_offline *m);
/* a certificate (admin_cert) issued by ca and not expired; 0 for a request */
int lfc_offline_chains(const struct lfc_offline *m, X509 *ca, const char *org,
		       const char *path, struct lf_err *err);
/* plan: check the spec's file (and the chain to an imported CA) and set
 * id's off_* fields */
int lfc_offline_from_spec(struct lfc_ident *id, const struct lfc_org *o,
			  const char *csr, const char *cert, struct lf_err *err);
static inline bool lfc_ident_offline(const struct lfc_ident *id)
{
	return id->off_csr || id->off_cert;
}

/* ---- orgs that keep their CA keys (certreq.c) ----------------------- */

/* an org imported its CAs without their keys: it issues its certificates */
static inline bool lfc_org_keyless(const struct lfc_org *o)
{
	return o->ext_cert && !o->ext_key;
}

/* one certificate of an identity of such an org */
struct lfc_req {
	const char *kind;                 /* "sign" or "tls" */
	const struct lfc_certspec *cs;
	const struct lfc_ca *issuer;      /* the org's CA cert (no key) */
	EVP_PKEY *key;                    /* the node's key (its public half
					     goes into the request) */
	bool need;                        /* no current certificate on disk */
	char *pem;                        /* out: the issued one, checked */
	size_t len;
};

/* reqdir/certs.ORG.json (caller frees) */
char *lfc_req_file(const char *reqdir, const char *org);
/* for each h that needs a certificate: take the org's issued one from the
 * request file, checked (h->pem), or write a request for it. 0 when all
 * have one, LF_EPENDING (err says who issues what, and how) when some
 * wait, LF_EINVALID naming the identity for a bad certificate */
int lfc_req_round(const char *reqdir, const struct lfc_org *o, const char *ident,
		  struct lfc_req *h, size_t n, struct lf_err *err);
/* the identity's files are written: its entries go (the file with the
 * last one) */
int lfc_req_done(const char *reqdir, const struct lfc_org *o, const char *ident,
		 struct lf_err *err);

/* sha256 of a public key's SubjectPublicKeyInfo DER ("" on failure) */
void lfc_pub_sha256(EVP_PKEY *pub, char out[65]);

/* sync the file system holding path */
int lfc_sync(const char *path, struct lf_err *err);

#endif
