/*
 * Private data collections config (collections.c): Fabric's JSON file to
 * a serialized protos.CollectionConfigPackage.
 */
#ifndef LF_CC_COLLECTIONS_H
#define LF_CC_COLLECTIONS_H

#include <stddef.h>
#include <stdint.h>

#include "ledgerform/error.h"

/* *out malloc'd; LF_EINVALID naming the file and entry when it is not a
 * valid collections config (also used by spec validation) */
int lf_cc_collections(const char *file, uint8_t **out, size_t *len,
		      struct lf_err *err);

#endif
