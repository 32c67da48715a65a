/*
 * Canonical JSON hashing: sha256 of the text json_dumps(v, JSON_COMPACT |
 * JSON_SORT_KEYS) gives, computed while the text is written: no
 * intermediate string, no loop-check table, one digest context reused
 * for many values, the digest fetched once per process. Resource hashes
 * in the state are these sums, so the bytes must stay jansson's (checked
 * against json_dumps in tests/unit/util/test_canon.c).
 */
#ifndef LF_CANON_H
#define LF_CANON_H

#include <stddef.h>
#include <jansson.h>
#include <openssl/evp.h>

struct lf_hasher;

/* the provider's SHA-256, fetched once per process (EVP_Q_digest and
 * SHA256() fetch it again on every call) */
const EVP_MD *lf_sha256_md(void);

/* one per thread; never shared between threads at once */
struct lf_hasher *lf_hasher_new(void);
void lf_hasher_free(struct lf_hasher *h);

/* lower-case hex sha256 of v's canonical text (64 chars + NUL); a value
 * jansson refuses to dump hashes as the empty text, as json_dumps's
 * failure did */
void lf_json_canon_sha256_hex(struct lf_hasher *h, const json_t *v, char out[65]);

/* v's canonical text (malloc'd, NUL-terminated), as hashed above; for
 * tests and debugging */
char *lf_json_canon_text(const json_t *v);

#endif
