/*
 * CLI handlers for the lead's `ledgerform` dispatcher: render block,
 * inspect, sign. argv[0] is the subcommand; errors go to stderr; the
 * return value is the exit code (0 ok, 1 failure, 2 usage).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fabric/cc/offline.h"
#include "core/fabric/block/blk.h"
#include "core/fabric/block/block.h"
#include "core/spec/spec.h"
#include "core/util/util.h"

static const char render_usage[] =
	"usage: ledgerform render block -f SPEC --channel NAME -o FILE "
	"[--crypto DIR]\n"
	"  Renders the genesis block of application channel NAME (etcdraft, BFT).\n"
	"  Kafka specs: --channel NAME writes the channel creation transaction;\n"
	"  --system writes the orderer system channel genesis block (NAME is the\n"
	"  system channel's name, default system-channel).\n"
	"  --crypto DIR  MSP material in cryptogen layout (default:\n"
	"                <spec dir>/.ledgerform/<spec name>/crypto)\n"
	"  SOURCE_DATE_EPOCH fixes timestamp, nonce and tx id (reproducible).\n";

static const char inspect_usage[] =
	"usage: ledgerform inspect FILE [--json]\n"
	"  Prints a block, envelope, config update or config as JSON (the shape\n"
	"  of configtxlator proto_decode / configtxgen -inspectBlock).\n";

static const char sign_usage[] =
	"usage: ledgerform sign UPDATE_FILE --msp DIR [--mspid ID] [--force]\n"
	"  Shows what the config update changes, the policy it needs, who\n"
	"  signs and how many signatures are still needed, then adds a\n"
	"  signature made with DIR/keystore (the org admin's own key) to\n"
	"  UPDATE_FILE. The file is a Fabric CONFIG_UPDATE envelope carrying\n"
	"  the channel config it applies to: nothing else is needed. The MSP\n"
	"  id is the org whose CA issued DIR's certificate (--mspid overrides).\n"
	"  A second signature by the same identity, or one that does not count\n"
	"  as an admin of its org, is refused unless --force.\n"
	"  The JSON files apply writes for an `admin: offline` org (chaincode\n"
	"  approvals and installs under WORKDIR/chaincodes/, peer joins under\n"
	"  WORKDIR/joins/) are signed the same way: sign says what is signed\n"
	"  (\"You are signing the join of peer ... to channel ...\") and refuses\n"
	"  a DIR whose certificate is not the admin's the file was made for.\n";

static int write_out(const char *path, const uint8_t *b, size_t len)
{
	struct lf_err err = LF_ERR_INIT;
	char hex[65];

	if (lf_write_file_atomic(path, b, len, 0644, &err) != 0) {
		fprintf(stderr, "ledgerform: %s\n", err.msg);
		return 1;
	}
	lf_sha256_hex(b, len, hex);
	printf("wrote %s (%zu bytes, sha256 %s)\n", path, len, hex);
	return 0;
}

struct render_opts {
	const char *spec, *channel, *out, *crypto;
	int system;
};

static int render_parse(int argc, char **argv, struct render_opts *o)
{
	static const struct option lo[] = {
		{ "file", required_argument, NULL, 'f' },
		{ "channel", required_argument, NULL, 'c' },
		{ "output", required_argument, NULL, 'o' },
		{ "crypto", required_argument, NULL, 'C' },
		{ "system", no_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int c;

	optind = 0;
	while ((c = getopt_long(argc, argv, "f:c:o:h", lo, NULL)) != -1) {
		switch (c) {
		case 'f': o->spec = optarg; break;
		case 'c': o->channel = optarg; break;
		case 'o': o->out = optarg; break;
		case 'C': o->crypto = optarg; break;
		case 's': o->system = 1; break;
		case 'h': fputs(render_usage, stdout); return 0;
		default: fputs(render_usage, stderr); return 2;
		}
	}
	if (!o->spec || !o->out || (!o->channel && !o->system)) {
		fprintf(stderr, "ledgerform render block: -f SPEC, --channel NAME "
			"and -o FILE are required\n%s", render_usage);
		return 2;
	}
	return -1;
}

static int render_spec(const struct lf_spec *spec, const struct render_opts *o,
		       const char *crypto)
{
	struct lf_err err = LF_ERR_INIT;
	uint8_t *b = NULL;
	size_t len = 0;
	int rc;

	if (o->system)
		rc = lf_block_system_genesis(spec, o->channel ? o->channel
					     : "system-channel", crypto, &b,
					     &len, &err);
	else if (spec->consensus == LF_CONSENSUS_KAFKA)
		rc = lf_block_channel_tx(spec, o->channel, crypto, &b, &len, &err);
	else
		rc = lf_block_genesis(spec, o->channel, crypto, &b, &len, &err);
	if (rc) {
		fprintf(stderr, "ledgerform: %s\n", err.msg);
		return 1;
	}
	rc = write_out(o->out, b, len);
	free(b);
	return rc;
}

int lf_cmd_render_block(int argc, char **argv)
{
	struct render_opts o = { NULL, NULL, NULL, NULL, 0 };
	struct lf_spec *spec = NULL;
	struct lf_diags diags;
	char *crypto = NULL;
	int rc;

	if (argc > 1 && strcmp(argv[1], "block") == 0) {
		argc--;
		argv++;
	}
	rc = render_parse(argc, argv, &o);
	if (rc >= 0)
		return rc;
	memset(&diags, 0, sizeof(diags));
	if (lf_spec_load(&spec, o.spec, &diags) != 0) {
		lf_diags_print(&diags, stderr);
		lf_diags_free(&diags);
		return 1;
	}
	lf_diags_print(&diags, stderr);     /* warnings */
	lf_diags_free(&diags);
	crypto = o.crypto ? lf_xstrdup(o.crypto)
		 : lf_xasprintf("%s/.ledgerform/%s/crypto",
				spec->dir ? spec->dir : ".", spec->name);
	rc = render_spec(spec, &o, crypto);
	free(crypto);
	lf_spec_free(spec);
	return rc;
}

int lf_cmd_inspect(int argc, char **argv)
{
	struct lf_err err = LF_ERR_INIT;
	char *data = NULL;
	size_t len = 0;
	json_t *j = NULL;

	if (argc == 2 && (strcmp(argv[1], "--help") == 0 ||
			  strcmp(argv[1], "-h") == 0)) {
		fputs(inspect_usage, stdout);
		return 0;
	}
	/* its output is one JSON document already: --json is accepted */
	if (argc == 3 && (strcmp(argv[1], "--json") == 0 || strcmp(argv[1], "-json") == 0)) {
		argv++;
		argc = 2;
	} else if (argc == 3 && (strcmp(argv[2], "--json") == 0 || strcmp(argv[2], "-json") == 0)) {
		argc = 2;
	}
	if (argc != 2) {
		fputs(inspect_usage, stderr);
		return 2;
	}
	if (lf_read_file(argv[1], &data, &len, &err) != 0 ||
	    lf_block_inspect_json((uint8_t *)data, len, &j, &err) != 0) {
		fprintf(stderr, "ledgerform inspect: %s\n", err.msg);
		free(data);
		return 1;
	}
	json_dumpf(j, stdout, JSON_INDENT(2));
	fputc('\n', stdout);
	json_decref(j);
	free(data);
	return 0;
}

struct sign_opts {
	const char *file, *msp, *mspid;
	int force;
};

static int sign_parse(int argc, char **argv, struct sign_opts *o)
{
	static const struct option lo[] = {
		{ "msp", required_argument, NULL, 'm' },
		{ "mspid", required_argument, NULL, 'i' },
		{ "force", no_argument, NULL, 'F' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int c;

	optind = 0;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'm': o->msp = optarg; break;
		case 'i': o->mspid = optarg; break;
		case 'F': o->force = 1; break;
		case 'h': fputs(sign_usage, stdout); return 0;
		default: fputs(sign_usage, stderr); return 2;
		}
	}
	if (optind + 1 != argc || !o->msp) {
		fprintf(stderr, "ledgerform sign: UPDATE_FILE and --msp DIR are "
			"required\n%s", sign_usage);
		return 2;
	}
	o->file = argv[optind];
	return -1;
}

/* the update file, its ConfigUpdateEnvelope and the config it applies to
 * (carried in the file; a NAME.config.pb beside it for older files) */
struct sign_in {
	uint8_t *env, *cfg;
	size_t envlen, cfglen;
};

static char *sidecar_config(const char *file, size_t *len)
{
	size_t n = strlen(file), sl = strlen(".update.pb");
	char *p, *data = NULL;

	if (n <= sl || strcmp(file + n - sl, ".update.pb") != 0)
		return NULL;
	p = lf_xasprintf("%.*s.config.pb", (int)(n - sl), file);
	if (lf_read_file(p, &data, len, NULL) != 0)
		data = NULL;
	free(p);
	return data;
}

static int sign_open(const char *file, struct sign_in *in, struct lf_err *err)
{
	char *data = NULL;
	size_t len = 0;
	int rc = lf_read_file(file, &data, &len, err);

	if (rc == 0)
		rc = lf_update_file_open((uint8_t *)data, len, &in->env, &in->envlen,
					 &in->cfg, &in->cfglen, err);
	if (rc == 0 && !in->cfg)
		in->cfg = (uint8_t *)sidecar_config(file, &in->cfglen);
	free(data);
	return rc;
}

/* the policy and what is still needed, with the signatures in env */
static void sign_status(const struct sign_in *in, const uint8_t *env,
			size_t envlen, bool before)
{
	struct lf_err err = LF_ERR_INIT;
	char *needs = NULL;
	int rc;

	if (!in->cfg) {
		printf("(no channel config in or beside the file: the policy "
		       "cannot be evaluated here)\n");
		return;
	}
	if (before && lf_update_needs(in->cfg, in->cfglen, env, envlen, &needs,
				      NULL) == 0)
		printf("Policy: %s\n", needs);
	free(needs);
	rc = lf_update_check(in->cfg, in->cfglen, env, envlen, &err);
	if (rc == 0)
		printf("the collected signatures satisfy the channel's policies: "
		       "run `ledgerform apply` (or `peer channel update -f FILE`)\n");
	else if (rc == LF_EAUTH)
		printf("still needed: %s\n", err.msg);
	else
		printf("the signatures cannot be evaluated: %s\n", err.msg);
}

/* the new (last) signature must count: refused (nothing written) when
 * it repeats an earlier signer or is no admin of its org, unless force */
static int sign_vet(const struct sign_in *in, const uint8_t *out,
		    size_t olen, int force, struct lf_err *err)
{
	char *why = NULL;
	int bad = lf_blk_last_signature_vet(in->cfg, in->cfglen, out, olen, &why);

	if (bad && !force) {
		lf_err_set(err, LF_ECONFLICT, "refused: %s; nothing was written "
			   "(--force adds it anyway)", why);
		free(why);
		return LF_ECONFLICT;
	}
	printf("%s%s\n", bad ? "warning (--force): " : "", why);
	free(why);
	return 0;
}

static int sign_write(const char *file, const struct sign_in *in,
		      const uint8_t *env, size_t envlen, struct lf_err *err)
{
	uint8_t *f = NULL;
	size_t flen = 0;
	int rc = lf_update_file_wrap(env, envlen, in->cfg, in->cfglen, &f,
				     &flen, err);

	if (rc == 0)
		rc = lf_write_file_atomic(file, f, flen, 0644, err);
	free(f);
	return rc;
}

static int sign_who(const struct sign_opts *o, const struct sign_in *in,
		    char **mspid, char **subject, struct lf_err *err)
{
	int rc = lf_blk_signer_info(o->msp, in->cfg, in->cfglen, mspid, subject,
				    err);

	if (rc == 0 && o->mspid) {
		free(*mspid);
		*mspid = lf_xstrdup(o->mspid);
	}
	if (rc == 0 && !*mspid)
		rc = lf_err_set(err, LF_EINVALID, "cannot tell the MSP id of '%s': "
				"no org of the channel config %s issued its "
				"certificate; pass --mspid", o->msp,
				in->cfg ? "carried by the update" : "(none found)");
	return rc;
}

static int sign_run(const struct sign_opts *o, const struct sign_in *in,
		    struct lf_err *err)
{
	char *summary = NULL, *mspid = NULL, *subject = NULL;
	size_t olen = 0;
	uint8_t *out = NULL;
	int rc = lf_update_describe(in->env, in->envlen, &summary, err);

	if (rc == 0)
		rc = sign_who(o, in, &mspid, &subject, err);
	if (rc == 0) {
		printf("You are signing:\n%s", summary);
		sign_status(in, in->env, in->envlen, true);
		printf("Signer: %s (MSP %s)\n", subject, mspid);
		fflush(stdout);
		rc = lf_update_sign(in->env, in->envlen, o->msp, mspid, &out, &olen,
				    err);
	}
	if (rc == 0)
		rc = sign_vet(in, out, olen, o->force, err);
	if (rc == 0)
		rc = sign_write(o->file, in, out, olen, err);
	if (rc == 0) {
		printf("signature added to %s\n", o->file);
		sign_status(in, out, olen, false);
	}
	free(out);
	free(summary);
	free(mspid);
	free(subject);
	return rc;
}

int lf_cmd_sign(int argc, char **argv)
{
	struct sign_opts o = { NULL, NULL, NULL, 0 };
	struct sign_in in = { NULL, NULL, 0, 0 };
	struct lf_err err = LF_ERR_INIT;
	char *raw = NULL;
	size_t rawlen = 0;
	int rc = sign_parse(argc, argv, &o);

	if (rc >= 0)
		return rc;
	rc = lf_read_file(o.file, &raw, &rawlen, &err);
	/* an org's certificate requests are issued, not signed */
	if (rc == 0 && memmem(raw, rawlen, "\"cert-requests\"", 15))
		rc = lf_err_set(&err, LF_EINVALID, "'%s' holds certificate requests: the "
				"org issues them with `ledgerform issue %s --ca-cert ... "
				"--ca-key ...`", o.file, o.file);
	/* an offline org's chaincode approvals, installs and peer joins */
	else if (rc == 0 && lf_cc_sign_handles(raw, rawlen))
		rc = lf_cc_sign_file(o.file, o.msp, raw, rawlen, &err);
	else if (rc == 0) {
		rc = sign_open(o.file, &in, &err);
		if (rc == 0)
			rc = sign_run(&o, &in, &err);
	}
	free(raw);
	free(in.env);
	free(in.cfg);
	if (rc) {
		fprintf(stderr, "ledgerform sign: %s\n", err.msg);
		return 1;
	}
	return 0;
}
