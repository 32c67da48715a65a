/*
 * lf-bench-crypto OUTDIR [ORGS PEERS USERS ORDERERS THREADS]
 * Renders ORGS orgs x PEERS peers x USERS users plus one orderer org with
 * ORDERERS orderers (default 20 50 2 3, all cores) into OUTDIR, which must
 * not exist, and prints identities/s, wall time and where the time went.
 * Counting follows cryptogen: signing identities include the CAs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fabric/crypto/crypto.h"
#include "core/util/util.h"
#include "fixture.h"

static unsigned int arg(int argc, char **argv, int i, unsigned int def)
{
	char *end = NULL;
	unsigned long v;

	if (argc <= i)
		return def;
	v = strtoul(argv[i], &end, 10);
	if (!end || *end) {
		fprintf(stderr, "lf-bench-crypto: bad number '%s'\n", argv[i]);
		exit(2);
	}
	return (unsigned int)v;
}

int main(int argc, char **argv)
{
	struct lf_crypto_stats st;
	struct lf_err err = LF_ERR_INIT;
	struct lf_spec *spec;
	double busy, ec;

	if (argc < 2 || strcmp(argv[1], "--help") == 0) {
		fprintf(stderr, "usage: lf-bench-crypto OUTDIR [ORGS PEERS USERS ORDERERS THREADS]\n");
		return 2;
	}
	spec = fx_spec_grid(arg(argc, argv, 2, 20), arg(argc, argv, 3, 50),
			    arg(argc, argv, 4, 2), arg(argc, argv, 5, 3));
	if (lf_crypto_render_stats(spec, argv[1], arg(argc, argv, 6, 0), &st, &err) != 0) {
		fprintf(stderr, "lf-bench-crypto: %s\n", err.msg);
		fx_spec_free(spec);
		return 1;
	}
	ec = st.t_keygen + st.t_sign;
	busy = ec + st.t_build + st.t_encode + st.t_io;
	printf("identities      %lu (signing identities incl. CAs; each leaf has a TLS pair)\n",
	       st.identities);
	printf("keys generated  %lu\ncerts issued    %lu\nfiles written   %lu\n",
	       st.keys_generated, st.certs_issued, st.files_written);
	printf("threads         %u\n", st.threads);
	printf("wall            %.3f s (of which final syncfs %.3f s)\n", st.wall, st.t_sync);
	printf("identities/s    %.0f\n", st.wall > 0 ? (double)st.identities / st.wall : 0.0);
	printf("thread time     %.3f s: EC keygen %.3f s, ECDSA sign %.3f s, cert DER %.3f s, "
	       "PEM/PKCS#8 %.3f s, file writes %.3f s\n", busy, st.t_keygen, st.t_sign,
	       st.t_build, st.t_encode, st.t_io);
	if (busy > 0)
		printf("share           EC ops %.0f%%, cert assembly+encoding %.0f%%, file writes %.0f%%\n",
		       100.0 * ec / busy, 100.0 * (st.t_build + st.t_encode) / busy,
		       100.0 * st.t_io / busy);
	fx_spec_free(spec);
	return 0;
}
