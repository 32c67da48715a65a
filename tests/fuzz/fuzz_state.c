/*
 * State reader: any bytes as the state file (file backend, read only),
 * then its records turned into a resource set as the CLI does.
 */
#include "tests/fuzz/fuzz_common.h"
#include "plans/resource.h"
#include "state/state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lf_state *st = NULL;
	struct lf_state_doc doc;
	struct lf_rset *rs = NULL;
	struct lf_err err = LF_ERR_INIT;
	char *path = lf_fuzz_file("fuzz.state.json", data, size);

	memset(&doc, 0, sizeof(doc));
	if (lf_state_file_new(&st, path, &err) == 0 &&
	    lf_state_read(st, &doc, &err) == 0 &&
	    lf_rset_from_json(&rs, doc.resources, &err) == 0)
		lf_rset_free(rs);
	lf_state_doc_clear(&doc);
	lf_state_free(st);
	free(path);
	return 0;
}
