/*
 * package: write a chaincode's Fabric package and print its package ID.
 *
 *   ledgerform package -f SPEC NAME [-o FILE]
 *
 * The package is built as apply builds it (core/fabric/cc/package.c): the
 * same spec gives the same bytes. A package.file chaincode is checked
 * against the spec's sha256 and refused when it differs. Nothing else is
 * read or contacted: no state, no lock, no driver.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cli/cli.h"
#include "core/fabric/cc/package.h"
#include "core/util/util.h"

static const char USAGE_PACKAGE[] =
	"Usage: ledgerform package -f SPEC NAME [-o FILE]\n\n"
	"Write chaincode NAME's Fabric package (tar.gz with metadata.json and\n"
	"code.tar.gz) to FILE (default: LABEL.tar.gz in the current directory)\n"
	"and print its package ID (LABEL:SHA256), as `peer lifecycle chaincode\n"
	"calculatepackageid` prints it. A ready package (package.file) whose\n"
	"SHA-256 differs from the spec's is refused.\n";

struct pkg_opts {
	const char *file, *out, *name;
};

/* 0 parsed; 1 help shown; 2 usage error */
static int pkg_parse(struct pkg_opts *o, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "file", required_argument, NULL, 'f' },
		{ "out", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int c;

	memset(o, 0, sizeof(*o));
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "f:o:h", longopts, NULL)) != -1) {
		if (c == 'f')
			o->file = optarg;
		else if (c == 'o')
			o->out = optarg;
		else if (c == 'h')
			return fputs(USAGE_PACKAGE, stdout), 1;
		else
			return lf_cli_error("package: unknown or incomplete "
					    "option '%s'", argv[optind - 1]), 2;
	}
	if (optind + 1 != argc || !o->file) {
		lf_cli_error(!o->file ? "package: no spec given: pass -f SPEC.yaml"
			     : "package: expected one chaincode NAME");
		return 2;
	}
	o->name = argv[optind];
	return 0;
}

static int write_package(const struct lf_chaincode *cc, const char *out)
{
	struct lf_err err = LF_ERR_INIT;
	struct lf_cc_package pkg;
	char *path = NULL;
	int rc = lf_cc_package_get(&pkg, cc, &err);

	if (rc == 0) {
		path = out ? lf_xstrdup(out) : lf_xasprintf("%s.tar.gz", pkg.label);
		rc = lf_write_file_atomic(path, pkg.bytes.data, pkg.bytes.len,
					  0644, &err);
	}
	if (rc == 0) {
		printf("%s\n", pkg.id);
		fprintf(stderr, "wrote %s (%zu bytes)\n", path, pkg.bytes.len);
	} else {
		lf_cli_error("package: %s", err.msg);
	}
	free(path);
	lf_cc_package_free(&pkg);
	return rc == 0 ? 0 : 1;
}

int lf_cmd_package(int argc, char **argv)
{
	struct pkg_opts o;
	struct lf_spec *spec = NULL;
	struct lf_diags diags;
	const struct lf_chaincode *cc;
	int rc = pkg_parse(&o, argc, argv);

	if (rc)
		return rc == 1 ? 0 : (fputs(USAGE_PACKAGE, stderr), 1);
	memset(&diags, 0, sizeof(diags));
	rc = lf_spec_load(&spec, o.file, &diags);
	lf_diags_print(&diags, stderr);
	lf_diags_free(&diags);
	if (rc != 0)
		return 1;
	cc = lf_spec_chaincode(spec, o.name);
	if (!cc) {
		lf_cli_error("package: the spec has no chaincode '%s'", o.name);
		rc = 1;
	} else {
		rc = write_package(cc, o.out);
	}
	lf_spec_free(spec);
	return rc;
}
