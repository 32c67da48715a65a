/* State reader: any bytes as the state file (file backend, read only). */
#include "tests/fuzz/fuzz_common.h"
#include "state/state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lf_state *st = NULL;
	struct lf_state_doc doc;
	struct lf_err err = LF_ERR_INIT;
	char *path = lf_fuzz_file("fuzz.state.json", data, size);

	memset(&doc, 0, sizeof(doc));
	if (lf_state_file_new(&st, path, &err) == 0)
		lf_state_read(st, &doc, &err);
	lf_state_doc_clear(&doc);
	lf_state_free(st);
	free(path);
	return 0;
}
