/* validate, plan, apply, destroy. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/cli/cli.h"
#include "core/util/ctx.h"
#include "core/util/util.h"
#include "plans/cost.h"

/* apply: everything done but config updates waiting for signatures */
#define LF_EXIT_WAITING 3

static const char USAGE_VALIDATE[] =
	"Usage: ledgerform validate [--json] -f SPEC | SPEC\n\n"
	"Check a chain spec: YAML syntax, keys, types, names, references,\n"
	"consensus rules. Every problem is reported as FILE:LINE:COL.\n"
	"--json prints one document: valid, error_count, warning_count and the\n"
	"diagnostics with their ranges (as `terraform validate -json`).\n"
	"Exit status: 0 valid (warnings allowed), 1 invalid.\n";

static const char USAGE_PLAN[] =
	"Usage: ledgerform plan -f SPEC [options]\n"
	"       ledgerform plan SPEC [options]\n\n"
	"Show what apply would change, touching nothing.\n\n"
	"Options (Terraform's single-dash spellings, -out=FILE, -json, ..., work too):\n"
	"  -f, --file SPEC         the chain spec\n"
	"  --out FILE              save the plan; `ledgerform apply FILE` runs exactly it\n"
	"  --json                  print the plan as one JSON document: each action with\n"
	"                          its attributes (before/after) and, for an update, a\n"
	"                          diff per nested key path\n"
	"  --destroy               plan to delete everything the state records\n"
	"  --replace ADDR          replace ADDR although it is unchanged (repeatable)\n"
	"  --target ADDR           limit to ADDR and what it depends on (repeatable)\n"
	"  --detailed-exitcode     exit 0: no changes, 2: changes, 1: error\n"
	"  --lock-timeout DUR      wait this long for the state lock (default 0)\n"
	"  --state FILE            use this state file instead of the spec's\n"
	"  --refresh[=true|false]  ask the drivers how recorded hosts and nodes live\n"
	"                          before planning: by default only where that is\n"
	"                          cheap (local); --refresh asks every driver (clouds\n"
	"                          too), --refresh=false none. Gone ones are planned\n"
	"                          again; drifted ones (resized by hand, a node down)\n"
	"                          are changed back\n"
	"  --no-color              plain output\n";

static const char USAGE_APPLY[] =
	"Usage: ledgerform apply -f SPEC [options]\n"
	"       ledgerform apply PLANFILE [options]\n\n"
	"Make the infrastructure match the spec. State is saved after every\n"
	"finished step; an interrupted apply is resumed by the next one.\n\n"
	"Options:\n"
	"  -f, --file SPEC         the chain spec\n"
	"  --auto-approve          do not ask for confirmation\n"
	"  --parallelism N         run up to N actions at once (default 10)\n"
	"  --target ADDR           limit to ADDR and what it depends on (repeatable)\n"
	"  --lock-timeout DUR      wait this long for the state lock (default 0)\n"
	"  --state FILE            use this state file instead of the spec's\n"
	"  --json                  machine-readable: one JSON event per line on stdout\n"
	"                          (Terraform's -json UI: version, planned_change,\n"
	"                          change_summary, apply_start, apply_progress,\n"
	"                          apply_complete, apply_errored, diagnostic); human\n"
	"                          text on stderr; needs --auto-approve or a plan file\n"
	"  --destroy               as `ledgerform destroy`\n"
	"  --replace ADDR          replace ADDR although it is unchanged (repeatable);\n"
	"                          `state taint ADDR` marks one for the next apply\n"
	"Terraform's single-dash spellings (-auto-approve, -target=ADDR, ...) work too.\n"
	"Given a spec instead of a plan file, apply says to use -f SPEC.\n"
	"  --refresh[=true|false]  as for plan (default: where cheap)\n"
	"  --no-color              plain output\n\n"
	"Exit status: 0 done, 1 error, 3 done except config updates waiting for\n"
	"signatures (listed with who must sign and the next commands).\n";

static const char USAGE_DESTROY[] =
	"Usage: ledgerform destroy -f SPEC [options]\n\n"
	"Delete everything the state records, dependents first.\n\n"
	"Options: --auto-approve, --parallelism N, --target ADDR, --lock-timeout DUR,\n"
	"         --state FILE, --no-color, --json (events as for apply)\n"
	"  --keep-crypto           keep the crypto tree (CA keys included) on disk and\n"
	"                          its records in the state: the next apply reuses them\n";

/* `validate --json`: as `terraform validate -json` */
static json_t *validate_json(const struct lf_diags *d, const char *file, bool valid)
{
	json_t *v = json_array();
	size_t i;

	for (i = 0; i < d->n; i++) {
		json_t *pos = json_pack("{s:i, s:i}", "line", d->v[i].pos.line, "column",
					d->v[i].pos.col);

		json_array_append_new(v, json_pack("{s:s, s:s, s:s, s:{s:s, s:O, s:o}}",
			"severity", d->v[i].severity ? "error" : "warning", "summary",
			d->v[i].msg, "detail", "", "range", "filename", d->file ? d->file : file,
			"start", pos, "end", pos));
	}
	return json_pack("{s:s, s:b, s:I, s:I, s:o}", "format_version", "1.0", "valid", valid,
			 "error_count", (json_int_t)d->nerrors, "warning_count",
			 (json_int_t)(d->n - d->nerrors), "diagnostics", v);
}

int lf_cmd_validate(int argc, char **argv)
{
	struct lf_cli_opts o;
	struct lf_spec *spec = NULL;
	struct lf_diags diags;
	int rc;

	rc = lf_cli_parse(&o, argc, argv, USAGE_VALIDATE, "validate");
	if (rc)
		return rc == 1 ? 0 : 1;
	if (!o.file && o.nargs == 1)
		o.file = o.args[0];
	if (!o.file) {
		lf_cli_error("no spec given: pass -f SPEC.yaml");
		lf_cli_opts_free(&o);
		return 1;
	}
	memset(&diags, 0, sizeof(diags));
	rc = lf_spec_load(&spec, o.file, &diags);
	lf_diags_print(&diags, stderr);
	if (o.json)
		lf_cli_print_json(validate_json(&diags, o.file, rc == 0));
	else if (rc == 0)
		printf("%s: valid (%zu orgs, %zu channels)\n", o.file, spec->norgs,
		       spec->nchannels);
	else if (diags.nerrors)
		fprintf(stderr, "%s: %zu error%s\n", o.file, diags.nerrors,
			diags.nerrors == 1 ? "" : "s");
	lf_diags_free(&diags);
	lf_spec_free(spec);
	lf_cli_opts_free(&o);
	return rc == 0 ? 0 : 1;
}

/* the absolute name of path: its directory resolved, its own name kept */
static char *canon_path(const char *path)
{
	char *dir = lf_path_dirname(path), *real = realpath(dir, NULL), *out;
	const char *base = strrchr(path, '/');

	base = base ? base + 1 : path;
	out = real ? lf_path_join(real, base) : lf_xstrdup(path);
	free(real);
	free(dir);
	return out;
}

/* an existing regular file holding a saved ledgerform plan */
static bool is_plan_file(const char *path, const struct stat *sb)
{
	json_t *o;
	bool yes;

	if (!S_ISREG(sb->st_mode))
		return false;
	o = json_load_file(path, 0, NULL);
	yes = lf_streq(json_string_value(json_object_get(o, "format")), "ledgerform-plan");
	json_decref(o);
	return yes;
}

static bool use_color(const struct lf_cli_opts *o)
{
	return !o->no_color && isatty(STDOUT_FILENO) && !getenv("NO_COLOR");
}

#define TARGETING_SUMMARY "Resource targeting is in effect"
#define TARGETING_DETAIL \
	"The plan covers only the --target addresses and what they depend on, so it " \
	"may not show every change the spec asks for. Targeting is for exceptional " \
	"cases such as recovering from an error, not for routine use."

/* as Terraform warns: on stderr, and in apply's JSON stream */
static void warn_targeting(const struct lf_cli_opts *o, bool applying)
{
	fprintf(stderr, "\nWarning: " TARGETING_SUMMARY "\n\n" TARGETING_DETAIL "\n\n");
	if (o->json && applying)
		lf_ui_diagnostic("warning", TARGETING_SUMMARY, TARGETING_DETAIL);
}

static int make_plan(struct lf_ws *ws, const struct lf_cli_opts *o, bool destroy, bool applying,
		     struct lf_plan **out)
{
	struct lf_plan_opts po = { destroy, o->targets, o->replace,
				   (const char *const *)ws->tainted };
	struct lf_err err = LF_ERR_INIT;
	int rc;

	double t0 = lf_now_s();

	if (ws->spec && ws->reg) {
		struct lf_diags d;
		int bad;

		memset(&d, 0, sizeof(d));
		d.file = lf_xstrdup(o->file);
		bad = lf_providers_check(ws->spec, ws->reg, applying, &d) != 0;
		lf_diags_print(&d, stderr);
		lf_diags_free(&d);
		if (bad)
			return 1;
	}
	/* destroy refreshes only when asked: a host its driver finds gone
	 * must still get its delete (which removes what a crashed delete
	 * left behind) */
	if (o->refresh != LF_REFRESH_NONE && ws->current->n > 0 &&
	    !(destroy && o->refresh == LF_REFRESH_CHEAP)) {
		if (lf_refresh(&ws->env, &ws->current, ws->doc.resources,
			       (enum lf_refresh_mode)o->refresh, o->parallelism,
			       o->json ? stderr : stdout, &err) != 0) {
			lf_cli_error("%s", err.msg);
			return 1;
		}
		ws->env.current = ws->current;
	}
	rc = lf_plan_make(out, &ws->env, ws->desired, ws->current, &po, &err);
	if (rc != 0) {
		lf_cli_error("%s", err.msg);
		return 1;
	}
	memcpy((*out)->lineage, ws->doc.lineage, sizeof((*out)->lineage));
	(*out)->serial = ws->doc.serial;
	memcpy((*out)->spec_sha256, ws->spec_sha256, sizeof((*out)->spec_sha256));
	(*out)->spec_file = lf_xstrdup(o->file);
	(*out)->cost = lf_cost_estimate(*out, ws->spec, ws->current);
	if (o->targets && o->targets[0])
		warn_targeting(o, applying);
	if (lf_ctx_current()->timing)
		fprintf(stderr, "timing: %-12s %.3fs\n", "diff", lf_now_s() - t0);
	return 0;
}

static void print_plan(const struct lf_plan *p, const struct lf_cli_opts *o)
{
	if (o->json) {
		lf_cli_print_json(lf_plan_to_json(p));
	} else {
		lf_plan_print(p, stdout, use_color(o));
	}
	fflush(stdout);
}

/* do a and b name the same file (existing or not)? */
static bool same_file(const char *a, const char *b)
{
	struct stat sa, sb;
	char *ca, *cb;
	bool same;

	if (stat(a, &sa) == 0 && stat(b, &sb) == 0)
		return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
	ca = canon_path(a);
	cb = canon_path(b);
	same = strcmp(ca, cb) == 0;
	free(ca);
	free(cb);
	return same;
}

/* `plan --out FILE`: never the state, its backup or lock, or the spec;
 * never over a file that is not a ledgerform plan */
static int check_out(const struct lf_ws *ws, const char *out)
{
	const char *st = ws->state && strcmp(ws->state->ops->name, "file") == 0
		? ws->state->ops->describe(ws->state) : NULL;
	const char *sfx[] = { "", ".backup", ".lock" };
	struct stat sb;
	size_t i;
	int rc = 0;

	if (ws->spec && same_file(out, ws->spec->file)) {
		lf_cli_error("--out '%s' is the spec; choose another file for the plan", out);
		return 1;
	}
	for (i = 0; st && rc == 0 && i < LF_ARRAY_LEN(sfx); i++) {
		char *p = lf_xasprintf("%s%s", st, sfx[i]);

		if (same_file(out, p)) {
			lf_cli_error("--out '%s' is the state%s '%s'; choose another file for the plan",
				     out, i == 0 ? "" : i == 1 ? "'s backup" : "'s lock", p);
			rc = 1;
		}
		free(p);
	}
	if (rc == 0 && lstat(out, &sb) == 0 && !is_plan_file(out, &sb)) {
		lf_cli_error("--out '%s' exists and is not a ledgerform plan; remove it or "
			     "choose another file", out);
		rc = 1;
	}
	return rc;
}

int lf_cmd_plan(int argc, char **argv)
{
	struct lf_cli_opts o;
	struct lf_ws ws;
	struct lf_plan *p = NULL;
	struct lf_err err = LF_ERR_INIT;
	int rc;

	rc = lf_cli_parse(&o, argc, argv, USAGE_PLAN, "plan");
	if (rc)
		return rc == 1 ? 0 : 1;
	if (o.nargs > 1 || (o.nargs == 1 && o.file)) {
		lf_cli_error("plan: expected one spec (plan SPEC or plan -f SPEC)");
		lf_cli_opts_free(&o);
		return 1;
	}
	if (o.nargs == 1)
		o.file = o.args[0]; /* as validate SPEC */
	rc = lf_ws_open(&ws, &o, LF_WS_SPEC | LF_WS_LOCK | LF_WS_EXPAND | LF_WS_DRIVERS |
			LF_WS_READONLY, "plan");
	if (rc == 0 && o.out)
		rc = check_out(&ws, o.out);
	if (rc == 0)
		rc = make_plan(&ws, &o, o.destroy, false, &p);
	if (rc == 0) {
		print_plan(p, &o);
		if (o.out && lf_plan_save(p, o.out, &err) != 0) {
			lf_cli_error("%s", err.msg);
			rc = 1;
		} else if (o.out && !o.json) {
			printf("\nSaved the plan to %s; run `ledgerform apply %s` to apply exactly it.\n",
			       o.out, o.out);
		}
	}
	if (rc == 0 && o.detailed_exitcode && lf_plan_has_changes(p))
		rc = 2;
	else if (rc != 0)
		rc = 1;
	lf_plan_free(p);
	lf_ws_close(&ws);
	lf_cli_opts_free(&o);
	return rc;
}

static bool confirm(const char *what, const struct lf_cli_opts *o)
{
	char line[64];

	if (o->auto_approve)
		return true;
	if (!isatty(STDIN_FILENO)) {
		lf_cli_error("%s needs confirmation, and standard input is not a terminal; "
			     "pass --auto-approve", what);
		return false;
	}
	printf("\nDo you want to %s? Only 'yes' will be accepted.\n  Enter a value: ", what);
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		return false;
	line[strcspn(line, "\r\n")] = '\0';
	if (strcmp(line, "yes") != 0) {
		printf("%s cancelled.\n", what);
		return false;
	}
	return true;
}

static int prepare_dirs(const struct lf_ws *ws)
{
	struct lf_err err = LF_ERR_INIT;

	if (!ws->workdir)
		return 0;
	if (lf_mkdirs(ws->workdir, 0755, &err) != 0 ||
	    lf_mkdirs(ws->crypto_dir, 0700, &err) != 0 ||
	    lf_mkdirs(ws->channels_dir, 0755, &err) != 0) {
		lf_cli_error("%s", err.msg);
		return 1;
	}
	chmod(ws->crypto_dir, 0700);
	return 0;
}

static void show_progress(void *payload, const char *resource, const char *line)
{
	(void)payload;
	printf("\r\033[K  %s: %s", resource, line);
	fflush(stdout);
}

static int run_plan(struct lf_ws *ws, const struct lf_plan *p,
		    const struct lf_cli_opts *o, bool destroy)
{
	struct lf_apply_opts ao = LF_APPLY_OPTS_INIT;
	struct lf_apply_result res;
	struct lf_err err = LF_ERR_INIT;
	double t0 = lf_now_s();
	int rc;

	if (prepare_dirs(ws) != 0)
		return 1;
	/* machines are tagged with the lineage from their first action on,
	 * so a new state's lineage is on disk before any machine carries it
	 * (an apply killed before its first commit must not leave machines
	 * of a lineage nobody remembers) */
	if (!ws->doc.lineage[0]) {
		struct lf_err werr = LF_ERR_INIT;

		if (lf_uuid4(ws->doc.lineage) != 0) {
			lf_cli_error("cannot make a lineage for the new state");
			return 1;
		}
		if (lf_state_write(ws->state, &ws->doc, &werr) != 0) {
			lf_cli_error("%s", werr.msg);
			return 1;
		}
	}
	ao.parallelism = o->parallelism;
	ao.progress = o->json ? stderr : stdout;
	ao.tty = !o->json && isatty(STDOUT_FILENO);
	/* drivers' progress ("waiting for i-0abc to be running (12 s)") on
	 * the status line of a terminal; logs stay free of it */
	if (ao.tty)
		ws->env.progress = show_progress;
	if (o->json) { /* Terraform's apply_* events on stdout */
		ao.on_action = lf_ui_on_action;
		ws->env.progress = lf_ui_on_progress;
		ws->env.progress_payload = (void *)p;
	}
	lf_exec_install_signals();
	rc = lf_plan_apply(p, &ws->env, ws->desired, ws->state, &ws->doc, &ao, &res, &err);
	if (rc == 0) {
		char *msg = lf_xasprintf("%s complete! Resources: %zu added, %zu changed, %zu destroyed",
					 destroy ? "Destroy" : "Apply", p->nadd, p->nchange,
					 p->ndestroy);

		if (o->json)
			lf_ui_summary(p, destroy ? "destroy" : "apply", msg);
		fprintf(o->json ? stderr : stdout, "\n%s (%.2fs).\n", msg, lf_now_s() - t0);
		free(msg);
	} else if (rc == LF_EPENDING) {
		if (o->json)
			lf_ui_diagnostic("warning", err.msg, res.summary);
		fprintf(o->json ? stderr : stdout, "\nApply waiting for signatures: %zu done; %s:\n%s",
			res.done, err.msg, res.summary ? res.summary : "");
	} else {
		if (o->json)
			lf_ui_diagnostic("error", err.msg, res.summary);
		fprintf(stderr, "\nledgerform: error: %s%s (%zu done, %zu failed, %zu skipped, %zu not started)\n",
			err.msg, res.interrupted ? " (interrupted)" : "", res.done,
			res.failed, res.skipped, res.not_started);
		if (res.summary)
			fputs(res.summary, stderr);
		if (res.commit_failed)
			fprintf(stderr, "The state could not be written: it records the steps up to serial %llu "
				"and not the %zu listed as NOT recorded; fix the state's storage, then run plan "
				"to see what is left.\n", (unsigned long long)ws->doc.serial, res.unrecorded);
		else
			fprintf(stderr, "State records every finished step (serial %llu); run apply again to carry on.\n",
				(unsigned long long)ws->doc.serial);
	}
	free(res.summary);
	return rc == 0 ? 0 : rc == LF_EPENDING ? LF_EXIT_WAITING : 1;
}

/* `apply PLANFILE`: the state and the spec must be as when it was saved */
static int check_saved(const struct lf_ws *ws, const struct lf_plan *saved,
		       const struct lf_plan *fresh, const char *path)
{
	char digest[65];

	if (strcmp(saved->lineage, ws->doc.lineage) != 0 || saved->serial != ws->doc.serial) {
		lf_cli_error("saved plan '%s' is stale: it was made from state %s serial %llu, "
			     "the state is now %s serial %llu; run plan again",
			     path, saved->lineage[0] ? saved->lineage : "(none)", saved->serial,
			     ws->doc.lineage[0] ? ws->doc.lineage : "(none)",
			     (unsigned long long)ws->doc.serial);
		return 1;
	}
	if (strcmp(saved->spec_sha256, ws->spec_sha256) != 0) {
		lf_cli_error("saved plan '%s' is stale: the spec '%s' changed since; run plan again",
			     path, saved->spec_file);
		return 1;
	}
	lf_plan_digest(fresh, digest);
	if (strcmp(digest, saved->actions_sha256) != 0) {
		lf_cli_error("saved plan '%s' no longer matches what the spec and state give "
			     "(actions, destroy flag or targets differ); run plan again", path);
		return 1;
	}
	return 0;
}

/* Before anything is changed: can the state record what apply does? The
 * one place for the state backend's writability check
 * (lf_state_check_writable, from state/). */
static int state_ready(const struct lf_ws *ws)
{
	struct lf_err err = LF_ERR_INIT;

	if (lf_state_check_writable(ws->state, &err) != 0) {
		lf_cli_error("%s; nothing was changed", err.msg);
		return 1;
	}
	return 0;
}

/* `apply FILE`: a saved plan; a spec there gets the -f hint */
static int load_saved(struct lf_cli_opts *o, const char *planfile, struct lf_plan **saved)
{
	struct lf_err err = LF_ERR_INIT;
	json_t *j = json_load_file(planfile, 0, NULL);
	size_t n;

	if (!j && access(planfile, R_OK) == 0) {
		lf_cli_error("'%s' is not a saved plan (it is not JSON; a chain spec?): "
			     "use `ledgerform apply -f %s` to apply a spec", planfile, planfile);
		return 1;
	}
	json_decref(j);
	if (lf_plan_load(saved, planfile, &err) != 0) {
		lf_cli_error("%s", err.msg);
		return 1;
	}
	if (!o->file)
		o->file = (*saved)->spec_file;
	free(o->targets);
	o->targets = NULL;
	if ((*saved)->targets) {
		for (n = 0; (*saved)->targets[n]; n++)
			;
		o->targets = lf_xcalloc(n + 1, sizeof(char *));
		memcpy(o->targets, (*saved)->targets, n * sizeof(char *));
	}
	o->auto_approve = true; /* the plan was reviewed when saved */
	return 0;
}

/* the plan shown before applying: text, or apply's JSON events */
static void show_apply_plan(const struct lf_plan *p, const struct lf_cli_opts *o)
{
	char *msg;

	if (!o->json) {
		print_plan(p, o);
		return;
	}
	lf_ui_planned(p);
	msg = lf_xasprintf("Plan: %zu to add, %zu to change, %zu to destroy", p->nadd,
			   p->nchange, p->ndestroy);
	lf_ui_summary(p, "plan", msg);
	free(msg);
}

static int apply_run(struct lf_cli_opts *o, bool destroy, struct lf_plan *saved,
		     const char *planfile)
{
	struct lf_ws ws;
	struct lf_plan *p = NULL;
	int rc;

	rc = lf_ws_open(&ws, o, LF_WS_SPEC | LF_WS_LOCK | (destroy ? 0 : LF_WS_EXPAND) |
			LF_WS_DRIVERS, destroy ? "destroy" : "apply");
	if (rc == 0)
		rc = make_plan(&ws, o, destroy, true, &p);
	if (rc == 0 && destroy && o->keep_crypto)
		lf_cli_keep_crypto(p, &ws);
	if (rc == 0 && saved)
		rc = check_saved(&ws, saved, p, planfile);
	if (rc == 0 && lf_plan_has_changes(p))
		rc = state_ready(&ws);
	if (rc == 0 && (!saved || o->json))
		show_apply_plan(p, o);
	if (rc == 0 && destroy)
		lf_cli_warn_ca_keys(p, &ws);
	if (rc == 0 && !lf_plan_has_changes(p)) {
		if (saved)
			fprintf(o->json ? stderr : stdout,
				"No changes. The infrastructure matches the spec.\n");
	} else if (rc == 0 && !confirm(destroy ? "destroy" : "apply", o)) {
		rc = 1;
	} else if (rc == 0) {
		rc = run_plan(&ws, p, o, destroy);
	}
	lf_plan_free(p);
	lf_ws_close(&ws);
	return rc;
}

static int apply_common(int argc, char **argv, bool destroy)
{
	struct lf_cli_opts o;
	struct lf_plan *saved = NULL;
	const char *planfile = NULL;
	int rc;

	rc = lf_cli_parse(&o, argc, argv, destroy ? USAGE_DESTROY : USAGE_APPLY,
			  destroy ? "destroy" : "apply");
	if (rc)
		return rc == 1 ? 0 : 1;
	destroy = destroy || o.destroy;
	if (!destroy && o.nargs == 1) {
		planfile = o.args[0];
		rc = load_saved(&o, planfile, &saved);
		if (rc == 0)
			destroy = saved->destroy;
	} else if (o.nargs > 0) {
		lf_cli_error("%s: unexpected argument '%s'%s", destroy ? "destroy" : "apply",
			     o.args[0], destroy ? "; pass the spec with -f SPEC" : "");
		rc = 1;
	}
	if (rc == 0 && o.json && !o.auto_approve) {
		lf_cli_error("%s --json needs --auto-approve (or a saved plan): there is no "
			     "prompt in machine-readable mode", destroy ? "destroy" : "apply");
		rc = 1;
	}
	if (rc == 0 && o.json)
		lf_ui_version();
	if (rc == 0)
		rc = apply_run(&o, destroy, saved, planfile);
	lf_plan_free(saved);
	lf_cli_opts_free(&o);
	return rc == LF_EXIT_WAITING ? rc : rc ? 1 : 0;
}

int lf_cmd_apply(int argc, char **argv)
{
	return apply_common(argc, argv, false);
}

int lf_cmd_destroy(int argc, char **argv)
{
	return apply_common(argc, argv, true);
}
