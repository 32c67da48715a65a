/*
 * Block / envelope / config update decoders: any bytes as a block, an
 * Envelope or a ConfigUpdateEnvelope, through every reader that takes
 * bytes from outside (inspect, config extraction, describe, needs, check
 * against a config decoded from the same bytes).
 */
#include "tests/fuzz/fuzz_common.h"
#include "core/fabric/block/block.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lf_err err = LF_ERR_INIT;
	json_t *j = NULL;
	uint8_t *cfg = NULL, *wrapped = NULL;
	size_t cfglen = 0, wlen = 0;
	char *s = NULL;

	if (lf_block_inspect_json(data, size, &j, &err) == 0)
		json_decref(j);
	lf_err_clear(&err);
	if (lf_update_describe(data, size, &s, &err) == 0)
		free(s);
	lf_err_clear(&err);
	if (lf_update_envelope(data, size, "fuzz", &wrapped, &wlen, &err) == 0)
		free(wrapped);
	lf_err_clear(&err);
	if (lf_block_config_bytes(data, size, &cfg, &cfglen, &err) == 0) {
		s = NULL;
		lf_err_clear(&err);
		if (lf_update_needs(cfg, cfglen, data, size, &s, &err) == 0)
			free(s);
		lf_err_clear(&err);
		lf_update_check(cfg, cfglen, data, size, &err);
		free(cfg);
	}
	return 0;
}
