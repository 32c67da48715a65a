/* show, state list|show|rm, drivers. */
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "core/cli/cli.h"
#include "core/plugin/plugin.h"
#include "core/util/util.h"

static const char USAGE_SHOW[] =
	"Usage: ledgerform show [-f SPEC | --state FILE] [--json]\n"
	"       ledgerform show PLANFILE [--json]\n\n"
	"Show the resources the state records, one line each, with what drivers\n"
	"and renderers reported (`state show ADDR` prints one in full, --json all).\n"
	"Given a plan saved with `plan --out PLANFILE`: its actions and their\n"
	"diffs (--json: the plan document as `plan --json` prints it).\n";

static const char USAGE_STATE[] =
	"Usage: ledgerform state list [PATTERN] [-f SPEC | --state FILE] [--json]\n"
	"       ledgerform state show ADDR [-f SPEC | --state FILE] [--json]\n"
	"       ledgerform state rm ADDR... [-f SPEC | --state FILE] [--lock-timeout DUR]\n"
	"       ledgerform state mv SRC DST [-f SPEC | --state FILE] [--lock-timeout DUR]\n"
	"       ledgerform state taint ADDR [-f SPEC | --state FILE] [--lock-timeout DUR]\n"
	"       ledgerform state untaint ADDR [-f SPEC | --state FILE] [--lock-timeout DUR]\n"
	"       ledgerform state pull [-f SPEC | --state FILE] > FILE.json\n"
	"       ledgerform state push FILE.json [-f SPEC | --state FILE] [--lock-timeout DUR]\n\n"
	"list: the addresses in the state, those matching the glob PATTERN when\n"
	"given ('host.bank.*'; --json: {\"resources\": [...]});\n"
	"show: one resource as JSON;\n"
	"rm: forget resources without destroying them (they are no longer managed);\n"
	"mv: record SRC under the address DST (same type, DST not in the state);\n"
	"other records' dependencies on SRC follow. The file state keeps the\n"
	"previous version as STATE.backup, the etcd state as the state file\n"
	"state.SERIAL.backup.json in the workspace (.ledgerform/NAME);\n"
	"taint: mark a resource to be replaced by the next apply (plan shows it\n"
	"as -/+ with the reason); untaint: remove the mark;\n"
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

static const char *plan_sym(const char *action)
{
	return lf_streq(action, "create") ? "+" : lf_streq(action, "delete") ? "-"
		: lf_streq(action, "replace") ? "-/+" : "~";
}

static void show_plan_changes(json_t *changes)
{
	json_t *c, *d;
	size_t i, k;

	json_array_foreach(changes, i, c) {
		json_array_foreach(json_object_get(c, "diff"), k, d) {
			char *b = json_dumps(json_object_get(d, "before"), JSON_ENCODE_ANY | JSON_COMPACT);
			char *a = json_dumps(json_object_get(d, "after"), JSON_ENCODE_ANY | JSON_COMPACT);

			printf("        %s: %s -> %s%s\n", json_string_value(json_object_get(d, "path")),
			       b ? b : "?", a ? a : "?",
			       json_is_true(json_object_get(c, "forces_replacement"))
			       ? "   # forces replacement" : "");
			free(b);
			free(a);
		}
	}
}

/* `show PLANFILE`: the saved plan, checked by lf_plan_load first */
static int show_planfile(const char *path, bool as_json)
{
	struct lf_plan *p = NULL;
	struct lf_err err = LF_ERR_INIT;
	json_t *doc, *a;
	size_t i;

	if (lf_plan_load(&p, path, &err) != 0) {
		lf_cli_error("show: %s", err.msg);
		return 1;
	}
	doc = json_load_file(path, 0, NULL);
	if (as_json) {
		lf_cli_print_json(doc);
		lf_plan_free(p);
		return 0;
	}
	printf("Saved plan %s (spec %s, state %s serial %llu%s):\n\n", path, p->spec_file,
	       p->lineage[0] ? p->lineage : "(new)", p->serial, p->destroy ? ", destroy" : "");
	json_array_foreach(json_object_get(doc, "actions"), i, a) {
		const char *act = json_string_value(json_object_get(a, "action"));
		const char *why = json_string_value(json_object_get(a, "reason"));

		printf("  %-3s %s  (%s)\n", plan_sym(act),
		       json_string_value(json_object_get(a, "address")), act);
		show_plan_changes(json_object_get(a, "changes"));
		if (why)
			printf("        # %s\n", why);
	}
	printf("\nPlan: %zu to add, %zu to change, %zu to destroy.\n",
	       (size_t)json_integer_value(json_object_get(json_object_get(doc, "summary"), "add")),
	       (size_t)json_integer_value(json_object_get(json_object_get(doc, "summary"), "change")),
	       (size_t)json_integer_value(json_object_get(json_object_get(doc, "summary"), "destroy")));
	json_decref(doc);
	lf_plan_free(p);
	return 0;
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
	if (o.nargs == 1) {
		rc = show_planfile(o.args[0], o.json);
		lf_cli_opts_free(&o);
		return rc;
	}
	rc = lf_ws_open(&ws, &o, 0, "show");
	if (rc == 0 && o.json) {
		json_t *doc = json_object();

		json_object_set_new(doc, "lineage", json_string(ws.doc.lineage));
		json_object_set_new(doc, "serial", json_integer((json_int_t)ws.doc.serial));
		json_object_set(doc, "resources", ws.doc.resources);
		lf_cli_print_json(doc);
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
static json_t *state_doc_json(const struct lf_ws *ws)
{
	return json_pack("{s:i, s:s, s:I, s:s, s:O}", "format_version",
			 LF_STATE_FORMAT_VERSION, "lineage", ws->doc.lineage,
			 "serial", (json_int_t)ws->doc.serial,
			 "ledgerform_version", LF_VERSION, "resources",
			 ws->doc.resources);
}

static int state_pull(struct lf_ws *ws)
{
	json_t *doc = state_doc_json(ws);
	int rc = json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);

	fputc('\n', stdout);
	json_decref(doc);
	return rc == 0 ? 0 : 1;
}

/* a backend without a backup of its own (etcd): the state as it is,
 * before a state subcommand changes it, kept as a state file document in
 * the workspace; its path (caller frees), or
 * NULL after an error message */
static char *state_backup(const struct lf_ws *ws)
{
	struct lf_err err = LF_ERR_INIT;
	json_t *doc = state_doc_json(ws);
	char *txt = json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS);
	char *name = lf_xasprintf("state.%llu.backup.json", (unsigned long long)ws->doc.serial);
	char *path = lf_path_join(ws->workdir, name);
	int rc = txt ? lf_mkdirs(ws->workdir, 0700, &err) : lf_err_set(&err, LF_ERROR, "cannot encode the state");

	if (rc == 0)
		rc = lf_write_file_atomic(path, txt, strlen(txt), 0600, &err);
	if (rc != 0) {
		lf_cli_error("cannot keep the previous state as '%s': %s; nothing changed", path,
			     err.msg);
		free(path);
		path = NULL;
	}
	free(name);
	free(txt);
	json_decref(doc);
	return path;
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

/* write the state after a state subcommand changed the document */
static int state_save(struct lf_ws *ws)
{
	struct lf_err err = LF_ERR_INIT;

	if (lf_state_write(ws->state, &ws->doc, &err) != 0) {
		lf_cli_error("%s", err.msg);
		return 1;
	}
	return 0;
}

static json_t *state_record(struct lf_ws *ws, const char *sub, const char *addr)
{
	json_t *rec = json_object_get(ws->doc.resources, addr);

	if (!rec)
		lf_cli_error("state %s: no resource '%s' in the state", sub, addr);
	return rec;
}

static int state_taint(struct lf_ws *ws, const char *addr, bool taint)
{
	json_t *rec = state_record(ws, taint ? "taint" : "untaint", addr);

	if (!rec)
		return 1;
	if (!taint && !json_is_true(json_object_get(rec, "tainted"))) {
		lf_cli_error("state untaint: '%s' is not tainted", addr);
		return 1;
	}
	if (taint)
		json_object_set_new(rec, "tainted", json_true());
	else
		json_object_del(rec, "tainted");
	if (state_save(ws) != 0)
		return 1;
	printf(taint ? "Resource %s is tainted: the next apply replaces it.\n"
	       : "Resource %s is no longer tainted.\n", addr);
	return 0;
}

/* other records' dependencies on src now name dst */
static void retarget_deps(json_t *res, const char *src, const char *dst)
{
	const char *addr;
	json_t *rec, *d;
	size_t i;

	json_object_foreach(res, addr, rec) {
		json_array_foreach(json_object_get(rec, "deps"), i, d)
			if (lf_streq(json_string_value(d), src))
				json_array_set_new(json_object_get(rec, "deps"), i, json_string(dst));
	}
}

static int state_mv(struct lf_ws *ws, const char *src, const char *dst)
{
	json_t *rec = state_record(ws, "mv", src);
	char *ts = lf_addr_type(src), *td = lf_addr_type(dst), *backup = NULL;
	int rc = 1;

	if (!rec)
		goto cleanup;
	if (json_object_get(ws->doc.resources, dst)) {
		lf_cli_error("state mv: '%s' is already in the state; `state rm` it first", dst);
		goto cleanup;
	}
	if (!lf_streq(ts, td) || !lf_streq(json_string_value(json_object_get(rec, "type")), td)) {
		lf_cli_error("state mv: '%s' is a %s and '%s' would be a %s: a resource keeps "
			     "its type", src, ts ? ts : "?", dst, td ? td : "?");
		goto cleanup;
	}
	if (strcmp(ws->state->ops->name, "file") != 0 && !(backup = state_backup(ws)))
		goto cleanup;
	json_object_set(ws->doc.resources, dst, rec);
	json_object_del(ws->doc.resources, src);
	retarget_deps(ws->doc.resources, src, dst);
	if (state_save(ws) != 0)
		goto cleanup;
	printf("Moved %s to %s", src, dst);
	if (backup)
		printf(" (the previous state is kept as %s)", backup);
	else
		printf(" (the previous state is kept as %s.backup)", lf_state_describe(ws->state));
	printf(".\n");
	rc = 0;
cleanup:
	free(backup);
	free(ts);
	free(td);
	return rc;
}

/* state list [PATTERN]: addresses, those matching the glob when given */
static void state_list(struct lf_ws *ws, const char *pattern, bool as_json)
{
	size_t i, n;
	const char **addrs = sorted_addrs(ws->doc.resources, &n);
	json_t *v = json_array();

	for (i = 0; i < n; i++)
		if (!pattern || fnmatch(pattern, addrs[i], 0) == 0)
			json_array_append_new(v, json_string(addrs[i]));
	if (as_json) {
		lf_cli_print_json(json_pack("{s:o}", "resources", v));
	} else {
		json_t *a;

		json_array_foreach(v, i, a)
			printf("%s\n", json_string_value(a));
		json_decref(v);
	}
	free(addrs);
}

static bool is_sub(const char *sub)
{
	static const char *const subs[] = { "list", "show", "rm", "pull", "push", "mv", "taint",
					    "untaint", NULL };

	for (size_t i = 0; subs[i]; i++)
		if (strcmp(sub, subs[i]) == 0)
			return true;
	return false;
}

/* the argument count each subcommand takes */
static bool state_args_bad(const char *sub, int nargs)
{
	const char *want = NULL;

	if (strcmp(sub, "list") == 0 && nargs > 2)
		want = "at most one address pattern";
	else if (strcmp(sub, "rm") == 0 && nargs < 2)
		want = "an address";
	else if (strcmp(sub, "mv") == 0 && nargs != 3)
		want = "SRC and DST addresses";
	else if (strcmp(sub, "push") == 0 && nargs != 2)
		want = "one state file";
	else if ((strcmp(sub, "show") == 0 || strstr(sub, "taint")) && nargs != 2)
		want = "one address";
	if (want)
		lf_cli_error("state %s: expected %s", sub, want);
	return want != NULL;
}

int lf_cmd_state(int argc, char **argv)
{
	struct lf_cli_opts o;
	struct lf_ws ws;
	const char *sub;
	char who[32];
	bool write;
	int rc;

	rc = lf_cli_parse(&o, argc, argv, USAGE_STATE, "state");
	if (rc)
		return rc == 1 ? 0 : 1;
	sub = o.nargs > 0 ? o.args[0] : "";
	if (!is_sub(sub)) {
		lf_cli_error("state: expected list, show, rm, mv, taint, untaint, pull or push");
		fputs(USAGE_STATE, stderr);
		lf_cli_opts_free(&o);
		return 1;
	}
	if (state_args_bad(sub, o.nargs)) {
		lf_cli_opts_free(&o);
		return 1;
	}
	write = strcmp(sub, "list") != 0 && strcmp(sub, "show") != 0 && strcmp(sub, "pull") != 0;
	snprintf(who, sizeof(who), "state %s", sub);
	rc = lf_ws_open(&ws, &o, write ? LF_WS_LOCK : 0, who);
	if (rc == 0 && strcmp(sub, "list") == 0) {
		state_list(&ws, o.nargs == 2 ? o.args[1] : NULL, o.json);
	} else if (rc == 0 && strcmp(sub, "show") == 0) {
		json_t *rec = state_record(&ws, "show", o.args[1]);

		if (rec)
			lf_cli_print_json(json_incref(rec));
		rc = rec ? 0 : 1;
	} else if (rc == 0 && strcmp(sub, "pull") == 0) {
		rc = state_pull(&ws);
	} else if (rc == 0 && strcmp(sub, "push") == 0) {
		rc = state_push(&ws, o.args[1]);
	} else if (rc == 0 && strcmp(sub, "mv") == 0) {
		rc = state_mv(&ws, o.args[1], o.args[2]);
	} else if (rc == 0 && strstr(sub, "taint")) {
		rc = state_taint(&ws, o.args[1], strcmp(sub, "taint") == 0);
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
