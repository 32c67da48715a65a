/* Spec loader: any bytes as a YAML chain spec. */
#include "tests/fuzz/fuzz_common.h"
#include "core/spec/spec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lf_spec *spec = NULL;
	struct lf_diags diags;

	memset(&diags, 0, sizeof(diags));
	lf_spec_load_buffer(&spec, "fuzz.yaml", (const char *)data, size, &diags);
	lf_spec_free(spec);
	lf_diags_free(&diags);
	return 0;
}
