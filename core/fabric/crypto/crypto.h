/*
 * Fabric crypto material, the way Fabric's cryptogen lays it out.
 *
 * Per org: a signing CA and a TLS CA (self-signed ECDSA P-256 / SHA-256, or
 * an imported signing CA named in the spec), the org's verifying MSP folder,
 * and per orderer, peer, Admin and UserN a signing identity (NodeOU in the
 * subject) plus a TLS key pair. Layout, file names, X.509 profiles and
 * msp/config.yaml match cryptogen v2.5 with EnableNodeOUs: true.
 *
 * Rules:
 *  - a CA key on disk is never regenerated: it is loaded and reused;
 *  - a leaf is re-issued only when its inputs changed (subject, OU, SANs,
 *    issuer, profile) or it is missing, expired or does not match its key;
 *    a re-issue KEEPS the existing private key when it is valid (a SAN
 *    change does not rotate keys); a new key is made only when the key file
 *    is missing or unusable, or when the identity is deleted and re-created;
 *  - private keys are written 0600 in 0700 directories and never leave
 *    the files: no key material in attrs, outputs, logs or messages.
 *  - an imported CA (spec: org ca.cert/ca.key, optional tls_cert/tls_key)
 *    is validated before anything is written (readable, a PEM cert with
 *    basicConstraints CA:TRUE, a PEM key that matches it; EC or RSA); its
 *    key is only read where the spec names it, never copied; its cert is
 *    copied into ca/ (or tlsca/) and the MSP folders under cryptogen's file
 *    names (ca.DOMAIN-cert.pem); leaves get the default subject base;
 *  - the admin of an `admin: offline` org (spec: admin_csr or admin_cert,
 *    offline.c) has no private key and no TLS client pair here: its
 *    certificate is issued over the public key of the admin's request
 *    (or is the given one, checked against the org's CA and OU=admin);
 *    the folder has an empty keystore, and nothing ever makes a key for
 *    it (a key left by an earlier local admin is removed);
 *  - an org that keeps its CA keys (spec: ca.cert and ca.tls_cert without
 *    keys, certreq.c) gets its nodes' keys made here as usual, but their
 *    certificates come from the org: apply writes the requests
 *    (WORKDIR/certs/certs.ORG.json) and waits, `ledgerform issue` issues
 *    them where the keys are, and the next apply checks each one (issuer,
 *    node key, subject, SANs, validity) before it enters the tree; nothing
 *    here issues with, makes or looks for such an org's CA keys;
 *  - loaded CAs are cached process-wide (mutex, reference counts), keyed by
 *    the files' device/inode/size/mtime, so the executor's per-leaf calls
 *    do not re-decode the CA; a changed file is a miss;
 *  - durability: lf_crypto_render writes files with create-exclusive +
 *    rename (a new identity is built in a temp directory and renamed into
 *    place in one step) and ends with one syncfs() of the output file
 *    system, instead of ~8,700 fsyncs; the resource callbacks (one
 *    identity each) syncfs() before they return, so the state never records
 *    an identity whose files are not durable.
 */
#ifndef LF_FABRIC_CRYPTO_H
#define LF_FABRIC_CRYPTO_H

#include <stddef.h>
#include "ledgerform/error.h"
#include "plans/provider.h"
#include "plans/resource.h"

struct lf_spec;

/*
 * Add the crypto resources of SPEC to RS: crypto.ORG.ca, crypto.ORG.tlsca,
 * crypto.ORG.msp (deps ca, tlsca), crypto.ORG.NODE for every orderer and
 * peer, crypto.ORG.admin and crypto.ORG.userN (N from 1), each leaf with
 * deps ca, tlsca. Attrs are the canonical inputs of the certificates
 * (never timestamps, serials or keys). An imported CA is validated here
 * (readable, a CA certificate, key matching) and its certificate's SHA-256
 * goes into the attrs of the CA and of every leaf it issues.
 */
int lf_crypto_expand(const struct lf_spec *spec, struct lf_rset *rs,
		     struct lf_err *err);

/* The "crypto" resource type for the executor (thread-safe callbacks). */
extern const struct lf_rtype lf_rtype_crypto;

/*
 * Render all crypto material of SPEC under OUTDIR, like `cryptogen
 * generate` but incremental: CAs on disk are reused, up-to-date leaves are
 * kept, identities of the spec's orgs that are no longer in the spec are
 * removed (directories of orgs absent from the spec are left alone).
 * threads 0 = number of online CPUs. Nothing is written when an imported
 * CA is invalid.
 */
int lf_crypto_render(const struct lf_spec *spec, const char *outdir,
		     unsigned int threads, struct lf_err *err);

/* Counters and timings of one render (for the benchmark). Seconds are
 * summed over worker threads; wall is elapsed time. */
struct lf_crypto_stats {
	unsigned long identities;   /* signing identities incl. CAs */
	unsigned long certs_issued;
	unsigned long keys_generated;
	unsigned long files_written;
	unsigned long leaves_kept;  /* identities found up to date */
	double t_keygen;            /* EC key generation */
	double t_sign;              /* ECDSA signatures (EVP_DigestSign) */
	double t_build;             /* assembling certificates (DER) */
	double t_encode;            /* DER/PEM encoding */
	double t_io;                /* mkdir, write, rename, read back */
	double t_sync;              /* final syncfs */
	double wall;
	unsigned int threads;
};

/* lf_crypto_render with statistics (stats may be NULL). */
int lf_crypto_render_stats(const struct lf_spec *spec, const char *outdir,
			   unsigned int threads, struct lf_crypto_stats *stats,
			   struct lf_err *err);

/* `ledgerform render crypto -f SPEC -o DIR [--threads N]`;
 * argv[0] = "crypto". Returns the exit code (0 ok, 1 error). */
int lf_cmd_render_crypto(int argc, char **argv);

/* `ledgerform issue FILE --ca-cert --ca-key [--tls-ca-cert --tls-ca-key]`
 * (certreq.c): an org that keeps its CA keys issues the certificates its
 * request file asks for. Returns the exit code (0 ok, 1 error, 2 usage). */
int lf_cmd_issue(int argc, char **argv);

#endif
