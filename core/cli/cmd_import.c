/* `ledgerform import ADDR ID`: adopt an existing machine into the state. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cli/cli.h"
#include "core/util/util.h"

static const char USAGE_IMPORT[] =
	"Usage: ledgerform import -f SPEC [options] ADDR ID\n\n"
	"Adopt the existing machine ID (a provider's id, e.g. a sim-... or an\n"
	"instance id) as the spec's host ADDR: the provider tags it with this\n"
	"state's lineage and ADDR and the state records it, as if apply had made\n"
	"it. The next plan shows what differs from the spec (a size, say).\n\n"
	"Options:\n"
	"  -f, --file SPEC         the chain spec (ADDR must be one of its hosts)\n"
	"  --lock-timeout DUR      wait this long for the state lock (default 0)\n"
	"  --state FILE            use this state file instead of the spec's\n"
	"  --json                  print {address, id, lineage, serial} as JSON\n";

static int do_import(struct lf_ws *ws, const char *addr, const char *id, bool as_json)
{
	const struct lf_resource *des = lf_rset_get(ws->desired, addr);
	const struct lf_rtype *rt = des ? lf_rtype_find(des->type) : NULL;
	struct lf_err err = LF_ERR_INIT;
	struct lf_resource rec;
	json_t *outputs = NULL;

	if (!des) {
		lf_cli_error("import: '%s' is not a resource of the spec", addr);
		return 1;
	}
	if (json_object_get(ws->doc.resources, addr)) {
		lf_cli_error("import: '%s' is already in the state; `state rm` it first to import another machine",
			     addr);
		return 1;
	}
	if (!rt || !rt->import) {
		lf_cli_error("import: resources of type '%s' cannot be imported (hosts can)",
			     des->type);
		return 1;
	}
	if (!ws->doc.lineage[0] && lf_uuid4(ws->doc.lineage) != 0) {
		lf_cli_error("import: cannot make a lineage for the new state");
		return 1;
	}
	if (rt->import(&ws->env, des, id, &outputs, &err) != 0) {
		lf_cli_error("import of %s (%s): %s", addr, id, err.msg);
		return 1;
	}
	rec = *des;
	rec.outputs = outputs;
	rec.partial = false;
	json_object_set_new(ws->doc.resources, addr, lf_resource_to_json(&rec));
	json_decref(outputs);
	lf_err_clear(&err);
	if (lf_state_write(ws->state, &ws->doc, &err) != 0) {
		lf_cli_error("%s", err.msg);
		return 1;
	}
	if (as_json)
		lf_cli_print_json(json_pack("{s:s, s:s, s:s, s:I}", "address", addr, "id", id,
					    "lineage", ws->doc.lineage, "serial",
					    (json_int_t)ws->doc.serial));
	else
		printf("Imported %s as %s.\n", id, addr);
	return 0;
}

int lf_cmd_import(int argc, char **argv)
{
	struct lf_cli_opts o;
	struct lf_ws ws;
	int rc;

	rc = lf_cli_parse(&o, argc, argv, USAGE_IMPORT, "import");
	if (rc)
		return rc == 1 ? 0 : 1;
	if (o.nargs != 2) {
		lf_cli_error("import: expected ADDR and ID");
		fputs(USAGE_IMPORT, stderr);
		lf_cli_opts_free(&o);
		return 1;
	}
	rc = lf_ws_open(&ws, &o, LF_WS_SPEC | LF_WS_LOCK | LF_WS_EXPAND | LF_WS_DRIVERS, "import");
	if (rc == 0)
		rc = do_import(&ws, o.args[0], o.args[1], o.json);
	lf_ws_close(&ws);
	lf_cli_opts_free(&o);
	return rc ? 1 : 0;
}
