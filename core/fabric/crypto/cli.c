/*
 * `ledgerform render crypto -f SPEC -o DIR [--threads N]`: the crypto
 * material alone, like `cryptogen generate --config ... --output DIR`.
 */
#include "core/fabric/crypto/crypto.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/spec/spec.h"
#include "core/util/util.h"

static void usage(FILE *f)
{
	fputs("usage: ledgerform render crypto -f SPEC -o DIR [--threads N]\n"
	      "\n"
	      "Render every Fabric identity of SPEC under DIR in cryptogen's\n"
	      "layout (CAs, TLS CAs, org MSPs, orderers, peers, Admin, UserN).\n"
	      "Incremental: existing CA keys are reused, up-to-date identities\n"
	      "are kept, identities no longer in SPEC are removed.\n"
	      "\n"
	      "  -f, --file SPEC     the chain spec (YAML)\n"
	      "  -o, --output DIR    output directory (created 0700)\n"
	      "  -j, --threads N     worker threads (default: all cores)\n"
	      "  -h, --help          this text\n", f);
}

static int parse_threads(const char *s, unsigned int *out)
{
	char *end = NULL;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || !end || *end || end == s || v > 1024)
		return -1;
	*out = (unsigned int)v;
	return 0;
}

int lf_cmd_render_crypto(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "file", required_argument, NULL, 'f' },
		{ "output", required_argument, NULL, 'o' },
		{ "threads", required_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *file = NULL, *out = NULL;
	unsigned int threads = 0;
	struct lf_spec *spec = NULL;
	struct lf_diags diags;
	struct lf_err err = LF_ERR_INIT;
	int c, rc;

	optind = 0; /* glibc: full re-initialisation for a new argv */
	while ((c = getopt_long(argc, argv, "f:o:j:h", opts, NULL)) != -1) {
		switch (c) {
		case 'f': file = optarg; break;
		case 'o': out = optarg; break;
		case 'j':
			if (parse_threads(optarg, &threads) != 0) {
				fprintf(stderr, "ledgerform render crypto: invalid --threads '%s'\n",
					optarg);
				return 1;
			}
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 1;
		}
	}
	if (!file || !out || optind != argc) {
		usage(stderr);
		return 1;
	}
	memset(&diags, 0, sizeof(diags));
	rc = lf_spec_load(&spec, file, &diags);
	if (rc != 0) {
		lf_diags_print(&diags, stderr);
		lf_diags_free(&diags);
		return 1;
	}
	lf_diags_print(&diags, stderr); /* warnings */
	lf_diags_free(&diags);
	rc = lf_crypto_render(spec, out, threads, &err);
	if (rc != 0)
		fprintf(stderr, "ledgerform render crypto: %s\n", err.msg);
	lf_spec_free(spec);
	return rc == 0 ? 0 : 1;
}
