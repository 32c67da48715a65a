/*
 * State reader: any bytes as the state file (file backend, read only),
 * then its records turned into a resource set as the CLI does: the
 * ordinary read (a JSON tree) and the plan's raw read (state/raw.c) must
 * agree on every input, accepting the same documents with the same
 * records; a disagreement aborts.
 */
#include "tests/fuzz/fuzz_common.h"
#include "plans/resource.h"
#include "state/state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* 0 and *rs, or the read's error code */
static int read_set(const char *path, bool raw, struct lf_rset **rs)
{
	struct lf_state *st = NULL;
	struct lf_state_doc doc;
	struct lf_err err = LF_ERR_INIT;
	int rc;

	*rs = NULL;
	memset(&doc, 0, sizeof(doc));
	rc = lf_state_file_new(&st, path, &err);
	if (rc == 0)
		rc = raw ? lf_state_read_raw(st, &doc, &err) : lf_state_read(st, &doc, &err);
	if (rc == 0 && doc.raw)
		rc = lf_rset_from_raw(rs, doc.raw, NULL, &err);
	else if (rc == 0)
		rc = lf_rset_from_json(rs, doc.resources, &err);
	lf_state_doc_clear(&doc);
	lf_state_free(st);
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lf_rset *a = NULL, *b = NULL;
	char *path = lf_fuzz_file("fuzz.state.json", data, size);
	int ra = read_set(path, false, &a), rb = read_set(path, true, &b);
	size_t i;

	if (ra != rb || (a && b && a->n != b->n))
		abort();
	for (i = 0; a && b && i < a->n; i++) {
		const struct lf_resource *y = lf_rset_get(b, a->v[i].addr);

		if (!y || strcmp(a->v[i].hash, y->hash) != 0 ||
		    !json_equal(a->v[i].attrs, y->attrs) || a->v[i].partial != y->partial ||
		    a->v[i].ndeps != y->ndeps)
			abort();
	}
	lf_rset_free(a);
	lf_rset_free(b);
	free(path);
	return 0;
}
