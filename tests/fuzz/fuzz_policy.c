/*
 * Policy rule parser: the first byte's bit 0 picks the type (0: Signature,
 * 1: ImplicitMeta); with bit 1 clear the rest is rule text, encoded and
 * the result described again; with bit 1 set the rest is taken as policy
 * value bytes (as read from a block) and described.
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
	if (data[0] & 2) {
		pol.type = (data[0] & 1) ? LF_POL_IMPLICIT_META : LF_POL_SIGNATURE;
		pol.value.len = size - 1;
		pol.value.data = (uint8_t *)(uintptr_t)(data + 1);
		free(lf_policy_describe(&pol));
		return 0;
	}
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
