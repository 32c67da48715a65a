/*
 * Offline approvals: an org whose admin signs elsewhere (orgs[].admin:
 * offline) approves a chaincode definition through a file that
 * `ledgerform sign FILE --msp ADMIN_MSP` signs, in Fabric's two rounds:
 *
 *   round 1  the approval proposal (apply writes it; the admin signs;
 *            the next apply sends it to the org's peer for endorsement)
 *   round 2  the endorsed transaction (apply writes it; the admin signs;
 *            the next apply broadcasts it and waits for the commit)
 *
 * The file is JSON (0644, public material only: the bytes to sign, the
 * admin's certificate, the signature once made):
 *   {"ledgerform": "chaincode-approval", "resource": ADDR, "round": 1|2,
 *    "what": "...", "mspid", "channel", "chaincode", "version",
 *    "sequence", "definition": HASH, "tx_id", "creator": CERT_PEM,
 *    "proposal": B64, "sign": B64 (the bytes to sign),
 *    "signature": B64 (once signed)}
 * A file made for another definition (the spec changed) is replaced.
 * An install (cc_install_offline.c) is one round of the same format with
 * "step": "install", "rounds": 1, "package_id", and "sign" the proposal;
 * a peer join (core/net/join_offline.c) one round with "ledgerform":
 * "peer-join", "step": "join".
 */
#ifndef LF_CC_OFFLINE_H
#define LF_CC_OFFLINE_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "ledgerform/error.h"

#define LF_CC_SIGN_KIND "chaincode-approval"
/* a peer join (core/net/join_offline.c): one round of the same format,
 * "step": "join", "org", "channel", "peers" (host names), "block_sha256" */
#define LF_JOIN_SIGN_KIND "peer-join"

/* does data look like an approval, install or join file (for
 * `ledgerform sign`)? */
bool lf_cc_sign_handles(const char *data, size_t len);
/* sign the approval file FILE (its contents in data) with the identity
 * of mspdir; prints what is signed and what comes next */
int lf_cc_sign_file(const char *file, const char *mspdir, const char *data,
		    size_t len, struct lf_err *err);

/* base64 (OpenSSL); *out malloc'd */
char *lf_cc_b64(const void *data, size_t len);
int lf_cc_unb64(const char *s, unsigned char **out, size_t *len);

#endif
