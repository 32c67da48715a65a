/* show, state list|show|rm, drivers. */
#include <stdlib.h>
#include <string.h>

#include "core/cli/cli.h"
#include "core/plugin/plugin.h"
#include "core/util/util.h"

static const char USAGE_SHOW[] =
	"Usage: ledgerform show [-f SPEC | --state FILE] [--json]\n\n"
	"Show the resources the state records, one line each, with what drivers\n"
	"and renderers reported (`state show ADDR` prints one in full, --json all).\n";

static const char USAGE_STATE[] =
	"Usage: ledgerform state list [-f SPEC | --state FILE]\n"
	"       ledgerform state show ADDR [-f SPEC | --state FILE]\n"
	"       ledgerform state rm ADDR... [-f SPEC | --state FILE] [--lock-timeout DUR]\n"
	"       ledgerform state pull [-f SPEC | --state FILE] > FILE.json\n"
	"       ledgerform state push FILE.json [-f SPEC | --state FILE] [--lock-timeout DUR]\n\n"
	"list: every address in the state; show: one resource as JSON;\n"
	"rm: forget resources without destroying them (they are no longer managed);\n"
	"pull: the whole state as a state file document; push: replace the state\n"
	"with a pulled document, only when its lineage matches and its serial is\n"
	"newer (or the state is empty), to move a network between backends.\n";

static const char USAGE_FORCE_UNLOCK[] =
	"Usage: ledgerform force-unlock ID [-f SPEC]\n\n"
	"Remove the lock with this ID (from the 'locked by' message) of an etcd\n"
	"state whose holder is gone for good. Another apply may then start: be\n"
	"sure the holder is not running.\n";

static const char USAGE_DRIVERS[] =
	"Usage: ledgerform drivers [--json]\n\n"
	"List the driver plugins found in the search path, and why any is refused.\n";

/* one line per resource: what it is, and where it ended up */
static const char *const SHOW_ATTRS[] = { "driver", "size", "kind", "cn", NULL };
static const char *const SHOW_OUTPUTS[] = { "id", "path", "address", "dir", "block",
					    "config_sequence", NULL };

static void show_one(const char *addr, json_t *rec)
{
	json_t *out = json_object_get(rec, "outputs");
	json_t *attrs = json_object_get(rec, "attrs");
	size_t i;

	printf("%-34s", addr);
	for (i = 0; SHOW_ATTRS[i]; i++) {
		const char *v = json_string_value(json_object_get(attrs, SHOW_ATTRS[i]));

		if (v && *v)
			printf(" %s", v);
	}
	for (i = 0; SHOW_OUTPUTS[i]; i++) {
		json_t *v = json_object_get(out, SHOW_OUTPUTS[i]);
		char *txt;

		if (!v || json_is_object(v) || json_is_array(v))
			continue;
		txt = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
		printf("  %s=%s", SHOW_OUTPUTS[i], txt ? txt : "?");
		free(txt);
	}
	putchar('\n');
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* the sorted addresses of the state */
static const char **sorted_addrs(json_t *res, size_t *n)
{
	const char **v = lf_xcalloc(json_object_size(res) + 1, sizeof(char *));
	const char *k;
	json_t *x;

	*n = 0;
	json_object_foreach(res, k, x)
		v[(*n)++] = k;
	qsort(v, *n, sizeof(char *), cmp_str);
	return v;
}

int lf_cmd_show(int argc, char **argv)
{
	struct lf_cli_opts o;
	struct lf_ws ws;
	const char **addrs;
	size_t i, n;
	int rc;

	rc = lf_cli_parse(&o, argc, argv, USAGE_SHOW, "show");
	if (rc)
		return rc == 1 ? 0 : 1;
	rc = lf_ws_open(&ws, &o, 0, "show");
	if (rc == 0 && o.json) {
		json_t *doc = json_object();

		json_object_set_new(doc, "lineage", json_string(ws.doc.lineage));
		json_object_set_new(doc, "serial", json_integer((json_int_t)ws.doc.serial));
		json_object_set(doc, "resources", ws.doc.resources);
		json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
		fputc('\n', stdout);
		json_decref(doc);
	} else if (rc == 0) {
		addrs = sorted_addrs(ws.doc.resources, &n);
		if (n == 0)
			printf("The state is empty.\n");
		for (i = 0; i < n; i++)
			show_one(addrs[i], json_object_get(ws.doc.resources, addrs[i]));
		if (n)
			printf("\n%zu resources (state %s, serial %llu)\n", n, ws.doc.lineage,
			       (unsigned long long)ws.doc.serial);
		free(addrs);
	}
	lf_ws_close(&ws);
	lf_cli_opts_free(&o);
	return rc ? 1 : 0;
}

static int state_rm(struct lf_ws *ws, const struct lf_cli_opts *o)
{
	struct lf_err err = LF_ERR_INIT;
	int i;

	for (i = 1; i < o->nargs; i++) {
		if (!json_object_get(ws->doc.resources, o->args[i])) {
			lf_cli_error("no resource '%s' in the state; nothing removed", o->args[i]);
			return 1;
		}
	}
	for (i = 1; i < o->nargs; i++)
		json_object_del(ws->doc.resources, o->args[i]);
	if (lf_state_write(ws->state, &ws->doc, &err) != 0) {
		lf_cli_error("%s", err.msg);
		return 1;
	}
	for (i = 1; i < o->nargs; i++)
		printf("Removed %s from the state (the resource itself is untouched).\n",
		       o->args[i]);
	return 0;
}

/* the whole state as a state file document (format version 1) */
static int state_pull(struct lf_ws *ws)
{
	json_t *doc = json_pack("{s:i, s:s, s:I, s:s, s:O}", "format_version",
				LF_STATE_FORMAT_VERSION, "lineage", ws->doc.lineage,
				"serial", (json_int_t)ws->doc.serial,
				"ledgerform_version", LF_VERSION, "resources",
				ws->doc.resources);
	int rc = json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);

	fputc('\n', stdout);
	json_decref(doc);
	return rc == 0 ? 0 : 1;
}

/* why a pushed document may not replace the state, or NULL */
static int push_refused(const struct lf_state_doc *cur, const char *lineage,
			uint64_t serial, const char *file)
{
	if (!cur->lineage[0])
		return 0;
	if (strcmp(cur->lineage, lineage) != 0) {
		lf_cli_error("state push: '%s' has lineage %s but the state has lineage %s: "
			     "it is another network's state; nothing pushed", file, lineage,
			     cur->lineage);
		return 1;
	}
	if (serial <= cur->serial) {
		lf_cli_error("state push: '%s' is at serial %llu, not newer than the state's "
			     "serial %llu; nothing pushed", file, (unsigned long long)serial,
			     (unsigned long long)cur->serial);
		return 1;
	}
	return 0;
}

static int state_push(struct lf_ws *ws, const char *file)
{
	struct lf_state_batch b = LF_STATE_BATCH_INIT;
	struct lf_state_version v;
	struct lf_err err = LF_ERR_INIT;
	json_error_t jerr;
	json_t *doc = json_load_file(file, 0, &jerr), *res = json_object_get(doc, "resources");
	const char *lin = json_string_value(json_object_get(doc, "lineage"));
	json_int_t serial = json_integer_value(json_object_get(doc, "serial"));
	int rc = 1;

	if (!doc || !json_is_object(res) || !lin || strlen(lin) != 36 || serial < 1) {
		lf_cli_error("state push: '%s' is not a state document (%s)", file,
			     doc ? "no lineage, serial or resources" : jerr.text);
		goto cleanup;
	}
	if (push_refused(&ws->doc, lin, (uint64_t)serial, file))
		goto cleanup;
	/* an empty state takes the document's lineage and serial as they are */
	snprintf(v.lineage, sizeof(v.lineage), "%s", lin);
	v.serial = ws->doc.lineage[0] ? ws->doc.serial : (uint64_t)serial - 1;
	b.all = res;
	if (lf_state_commit(ws->state, &b, &v, &err) != 0) {
		lf_cli_error("%s", err.msg);
		goto cleanup;
	}
	printf("Pushed %zu resources to %s (lineage %s, serial %llu).\n",
	       json_object_size(res), lf_state_describe(ws->state), v.lineage,
	       (unsigned long long)v.serial);
	rc = 0;
cleanup:
	json_decref(doc);
	return rc;
}

int lf_cmd_force_unlock(int argc, char **argv)
{
	struct lf_cli_opts o;
	struct lf_ws ws;
	struct lf_err err = LF_ERR_INIT;
	int rc;

	rc = lf_cli_parse(&o, argc, argv, USAGE_FORCE_UNLOCK, "force-unlock");
	if (rc)
		return rc == 1 ? 0 : 1;
	if (o.nargs != 1) {
		lf_cli_error("force-unlock: expected one lock ID");
		lf_cli_opts_free(&o);
		return 1;
	}
	rc = lf_ws_open(&ws, &o, LF_WS_READONLY, "force-unlock");
	if (rc == 0)
		rc = lf_state_etcd_force_unlock(ws.state, o.args[0], &err);
	if (rc == 0)
		printf("Lock %s of %s removed.\n", o.args[0], lf_state_describe(ws.state));
	else if (err.msg[0])
		lf_cli_error("%s", err.msg);
	lf_ws_close(&ws);
	lf_cli_opts_free(&o);
	return rc ? 1 : 0;
}

static bool is_sub(const char *sub)
{
	static const char *const subs[] = { "list", "show", "rm", "pull", "push", NULL };

	for (size_t i = 0; subs[i]; i++)
		if (strcmp(sub, subs[i]) == 0)
			return true;
	return false;
}

int lf_cmd_state(int argc, char **argv)
{
	struct lf_cli_opts o;
	struct lf_ws ws;
	const char *sub;
	bool write;
	int rc;

	rc = lf_cli_parse(&o, argc, argv, USAGE_STATE, "state");
	if (rc)
		return rc == 1 ? 0 : 1;
	sub = o.nargs > 0 ? o.args[0] : "";
	if (!is_sub(sub)) {
		lf_cli_error("state: expected list, show, rm, pull or push");
		fputs(USAGE_STATE, stderr);
		lf_cli_opts_free(&o);
		return 1;
	}
	if ((strcmp(sub, "show") == 0 && o.nargs != 2) || (strcmp(sub, "rm") == 0 && o.nargs < 2) ||
	    (strcmp(sub, "push") == 0 && o.nargs != 2)) {
		lf_cli_error("state %s: expected %s", sub,
			     strcmp(sub, "push") == 0 ? "one state file" : "an address");
		lf_cli_opts_free(&o);
		return 1;
	}
	write = strcmp(sub, "rm") == 0 || strcmp(sub, "push") == 0;
	rc = lf_ws_open(&ws, &o, write ? LF_WS_LOCK : 0, write ? "state rm/push" : "state");
	if (rc == 0 && strcmp(sub, "list") == 0) {
		size_t i, n;
		const char **addrs = sorted_addrs(ws.doc.resources, &n);

		for (i = 0; i < n; i++)
			printf("%s\n", addrs[i]);
		free(addrs);
	} else if (rc == 0 && strcmp(sub, "show") == 0) {
		json_t *rec = json_object_get(ws.doc.resources, o.args[1]);

		if (!rec) {
			lf_cli_error("no resource '%s' in the state", o.args[1]);
			rc = 1;
		} else {
			json_dumpf(rec, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
			fputc('\n', stdout);
		}
	} else if (rc == 0 && strcmp(sub, "pull") == 0) {
		rc = state_pull(&ws);
	} else if (rc == 0 && strcmp(sub, "push") == 0) {
		rc = state_push(&ws, o.args[1]);
	} else if (rc == 0) {
		rc = state_rm(&ws, &o);
	}
	lf_ws_close(&ws);
	lf_cli_opts_free(&o);
	return rc ? 1 : 0;
}

static json_t *drivers_json(struct lf_registry *reg, const struct lf_plugin_info *v,
			    size_t n)
{
	json_t *drv = json_array(), *path = json_array();
	const char *const *p;
	size_t i;

	for (i = 0; i < n; i++) {
		json_t *d = json_pack("{s:s?, s:b, s:s?, s:i, s:s?}", "name", v[i].name, "ok",
				      v[i].ok, "version", v[i].version, "abi_version",
				      (int)v[i].abi_version, "path", v[i].path);

		if (!v[i].ok && v[i].error)
			json_object_set_new(d, "error", json_string(v[i].error));
		json_array_append_new(drv, d);
	}
	for (p = lf_registry_path(reg); p && *p; p++)
		json_array_append_new(path, json_string(*p));
	return json_pack("{s:o, s:o}", "drivers", drv, "search_path", path);
}

int lf_cmd_drivers(int argc, char **argv)
{
	struct lf_cli_opts o;
	struct lf_registry *reg = NULL;
	struct lf_plugin_info *v = NULL;
	const char *const *path;
	size_t i, n = 0;
	int rc;

	rc = lf_cli_parse(&o, argc, argv, USAGE_DRIVERS, "drivers");
	if (rc)
		return rc == 1 ? 0 : 1;
	lf_registry_new(&reg);
	lf_registry_list(reg, &v, &n);
	if (o.json)
		lf_cli_print_json(drivers_json(reg, v, n));
	for (i = 0; i < n && !o.json; i++) {
		if (v[i].ok)
			printf("%-10s %-8s abi %u  %s\n", v[i].name, v[i].version ? v[i].version : "",
			       v[i].abi_version, v[i].path);
		else
			printf("%-10s REFUSED  %s: %s\n", v[i].name ? v[i].name : "?", v[i].path,
			       v[i].error ? v[i].error : "");
	}
	if (n == 0 && !o.json) {
		printf("No drivers found. Searched:\n");
		for (path = lf_registry_path(reg); path && *path; path++)
			printf("  %s\n", *path);
	}
	lf_plugin_info_free_all(v, n);
	lf_registry_free(reg);
	lf_cli_opts_free(&o);
	return n == 0 ? 1 : 0;
}
