/* `render crypto|block`: the Fabric renderers on their own. */
#include <stdio.h>
#include <string.h>

#include "core/cli/commands.h"
#include "core/fabric/block/block.h"
#include "core/fabric/crypto/crypto.h"

static const char USAGE_RENDER[] =
	"Usage: ledgerform render crypto -f SPEC -o DIR [--threads N]\n"
	"       ledgerform render block -f SPEC --channel NAME -o FILE [--crypto DIR]\n\n"
	"Render Fabric material from a spec without provisioning anything:\n"
	"  crypto   the MSP trees of every org, like `cryptogen generate`\n"
	"  block    a channel's genesis block, like `configtxgen -outputBlock`\n";

int lf_cmd_render(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "crypto") == 0)
		return lf_cmd_render_crypto(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "block") == 0)
		return lf_cmd_render_block(argc - 1, argv + 1);
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		fputs(USAGE_RENDER, stdout);
		return 0;
	}
	fprintf(stderr, "ledgerform: error: render: expected 'crypto' or 'block'\n%s", USAGE_RENDER);
	return 1;
}
