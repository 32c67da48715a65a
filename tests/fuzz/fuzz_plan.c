/* Saved-plan reader: any bytes as a plan file written by `plan -out`. */
#include "tests/fuzz/fuzz_common.h"
#include "plans/plan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lf_plan *plan = NULL;
	struct lf_err err = LF_ERR_INIT;
	char *path = lf_fuzz_file("fuzz.plan", data, size);

	if (lf_plan_load(&plan, path, &err) == 0)
		lf_plan_free(plan);
	free(path);
	return 0;
}
