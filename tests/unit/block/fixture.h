/*
 * Test fixtures for core/fabric/block: a hand-built struct lf_spec (one
 * orderer org with N orderers, peer orgs with peer0 each) and its MSP
 * material in cryptogen's layout, made with the openssl CLI (mkorg.sh).
 */
#ifndef LF_TEST_BLOCK_FIXTURE_H
#define LF_TEST_BLOCK_FIXTURE_H

#include <stdbool.h>
#include <jansson.h>
#include "core/spec/spec.h"

#define FX_MAX_ORGS 8

struct fx {
	char dir[256];          /* temp dir */
	char crypto[300];       /* dir/crypto */
	struct lf_spec spec;
	struct lf_org orgs[FX_MAX_ORGS];
	struct lf_node nodes[FX_MAX_ORGS][4];
	char *anchors[FX_MAX_ORGS][1];
	struct lf_channel ch;
	char *chorgs[FX_MAX_ORGS];
	char names[FX_MAX_ORGS][3][64];   /* name, mspid, domain */
	char hosts[FX_MAX_ORGS][4][96];
};

/* orgs[0] = "orderer" (OrdererMSP, example.com, norderers orderers);
 * orgs[1..npeer] from airline, telecom, bank, retail, media; channel
 * "trade" with the first nchan peer orgs (chorgs lists all of them, so
 * raising ch.norgs adds the next). Returns 0 or -1. */
int fx_setup(struct fx *f, int norderers, int npeer, int nchan,
	     enum lf_consensus cons, int major, int minor);
void fx_teardown(struct fx *f);
/* path of a file under an org's crypto dir ("msp/config.yaml") */
char *fx_org_file(const struct fx *f, int org, const char *rel);
/* read a file into a NUL-terminated string (abort on failure) */
char *fx_slurp(const char *path);
/* true when Fabric's npm bindings are installed */
bool fx_have_node(void);
/* run tests/node/decode.js FILE KIND (block|envelope|update); parsed
 * JSON or NULL */
json_t *fx_node_decode(const char *file, const char *kind);
/* the same, under a cmocka test: skip() (saying why) when the bindings
 * are missing, fail when decoding fails */
json_t *fx_decode_or_skip(const char *file, const char *kind);
/* free p (malloc'd) if the next fx_decode_or_skip skips the test; the
 * test frees it itself otherwise */
void fx_free_on_skip(void *p);
/* run a shell command; exit status */
int fx_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* json lookup by "a/b/c" path (object keys, array indexes) */
json_t *fx_get(json_t *j, const char *path);
const char *fx_str(json_t *j, const char *path);

#endif
