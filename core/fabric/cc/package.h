/*
 * Fabric chaincode packages (the Fabric 2.x lifecycle's install format).
 *
 * A package is a gzip'd tar holding metadata.json ({"type","label"}, with
 * "path" first for source packages, as Go's encoder writes Fabric's
 * struct) and code.tar.gz: connection.json for chaincode as a service, the
 * source under src/ (META-INF/ at the top) for node, the dir's files as
 * they are for external builders. Packages are built deterministically:
 * fixed modes, owners and times, entries in Go's filepath.Walk order, a
 * gzip header without a time, so one spec gives the same bytes anywhere.
 * The package ID is LABEL:hex(sha256(package bytes)).
 */
#ifndef LF_CC_PACKAGE_H
#define LF_CC_PACKAGE_H

#include <stddef.h>

#include "core/spec/spec.h"
#include "core/util/util.h"
#include "ledgerform/error.h"

/* the largest package (and source tree) ledgerform reads or builds: the
 * peer's default gRPC message limit */
#define LF_CC_MAX_PACKAGE (100u * 1024 * 1024)

/* a package's bytes and identity */
struct lf_cc_package {
	struct lf_buf bytes;
	char *label;
	char *type;          /* metadata.json's type */
	char sha256[65];
	char *id;            /* label:sha256 */
};

/* Build cc's package (not for package.file chaincodes). */
int lf_cc_package_build(struct lf_cc_package *out,
			const struct lf_chaincode *cc, struct lf_err *err);
/* cc's package: built, or read from package.file and refused (LF_EINVALID,
 * both hashes named) when its SHA-256 is not the spec's. */
int lf_cc_package_get(struct lf_cc_package *out,
		      const struct lf_chaincode *cc, struct lf_err *err);
/* label and type from a package's metadata.json; sha256 and id set */
int lf_cc_package_parse(struct lf_cc_package *pkg, struct lf_err *err);
void lf_cc_package_free(struct lf_cc_package *pkg);

#endif
