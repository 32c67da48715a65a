/*
 * Policy rule parser: the first byte picks the type (even: Signature,
 * odd: ImplicitMeta), the rest is the rule text; an encoded policy is
 * decoded and described again.
 */
#include "tests/fuzz/fuzz_common.h"
#include "core/fabric/block/blk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lf_err err = LF_ERR_INIT;
	ProtobufCBinaryData out = { 0, NULL };
	Lfpb__Policy pol = LFPB__POLICY__INIT;
	const char *type;
	char *rule, *desc;
	int ptype = 0;

	if (size == 0)
		return 0;
	type = (data[0] & 1) ? "ImplicitMeta" : "Signature";
	rule = lf_fuzz_str(data + 1, size - 1);
	if (lf_policy_encode(type, rule, &ptype, &out, &err) == 0) {
		pol.type = ptype;
		pol.value = out;
		desc = lf_policy_describe(&pol);
		free(desc);
	}
	free(out.data);
	free(rule);
	return 0;
}
