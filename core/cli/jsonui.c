/*
 * Machine-readable output. One JSON document for the commands that print
 * one (lf_cli_print_json); for apply and destroy, a stream of one JSON
 * object per line in the shape of Terraform's machine-readable UI
 * (`terraform apply -json`, UI version 1.0): every message carries
 * @level, @message, @module, @timestamp and type (version,
 * planned_change, change_summary, apply_start, apply_progress,
 * apply_complete, apply_errored, diagnostic). Human text goes to stderr.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "core/cli/cli.h"
#include "core/util/util.h"

#define UI_VERSION "1.0"

static pthread_mutex_t ui_mu = PTHREAD_MUTEX_INITIALIZER;
static bool streaming; /* the version message went out */

bool lf_ui_streaming(void)
{
	return streaming;
}

void lf_cli_print_json(json_t *doc)
{
	json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
	fputc('\n', stdout);
	fflush(stdout);
	json_decref(doc);
}

/* RFC 3339 UTC with microseconds, as Terraform's @timestamp */
static void timestamp(char *buf, size_t n)
{
	struct timeval tv;
	struct tm tm;
	char base[32];

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, n, "%s.%06ldZ", base, (long)tv.tv_usec);
}

void lf_ui_emit(const char *level, const char *type, json_t *msg, const char *fmt, ...)
{
	char ts[48], text[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	timestamp(ts, sizeof(ts));
	json_object_set_new(msg, "@level", json_string(level));
	json_object_set_new(msg, "@message", json_string(text));
	json_object_set_new(msg, "@module", json_string("ledgerform.ui"));
	json_object_set_new(msg, "@timestamp", json_string(ts));
	json_object_set_new(msg, "type", json_string(type));
	pthread_mutex_lock(&ui_mu);
	json_dumpf(msg, stdout, JSON_COMPACT | JSON_SORT_KEYS);
	fputc('\n', stdout);
	fflush(stdout);
	pthread_mutex_unlock(&ui_mu);
	json_decref(msg);
}

void lf_ui_version(void)
{
	lf_ui_emit("info", "version", json_pack("{s:s, s:s}", "ledgerform", LF_VERSION,
						"ui", UI_VERSION),
		   "ledgerform %s", LF_VERSION);
	streaming = true;
}

void lf_ui_diagnostic(const char *severity, const char *summary, const char *detail)
{
	lf_ui_emit(severity, "diagnostic",
		   json_pack("{s:{s:s, s:s, s:s}}", "diagnostic", "severity", severity,
			     "summary", summary, "detail", detail ? detail : ""),
		   "%s: %s", strcmp(severity, "error") == 0 ? "Error" : "Warning", summary);
}

/* Terraform's resource object for an address TYPE.NAME... */
json_t *lf_ui_resource(const char *addr)
{
	const char *dot = strchr(addr, '.');
	char *type = dot ? lf_xstrndup(addr, (size_t)(dot - addr)) : lf_xstrdup(addr);
	json_t *r = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:n}", "addr", addr,
			      "module", "", "resource", addr, "implied_provider", "ledgerform",
			      "resource_type", type, "resource_name", dot ? dot + 1 : addr,
			      "resource_key");

	free(type);
	return r;
}

static const char *ui_action(enum lf_action_kind k)
{
	switch (k) {
	case LF_ACT_CREATE: return "create";
	case LF_ACT_UPDATE: return "update";
	case LF_ACT_REPLACE: return "replace";
	case LF_ACT_DELETE: return "delete";
	default: return "noop";
	}
}

void lf_ui_planned(const struct lf_plan *p)
{
	size_t i;

	for (i = 0; i < p->n; i++) {
		const struct lf_action *a = &p->v[i];
		json_t *ch;

		if (a->kind == LF_ACT_NOOP)
			continue;
		ch = json_pack("{s:o, s:s}", "resource", lf_ui_resource(a->addr), "action",
			       ui_action(a->kind));
		if (a->reason)
			json_object_set_new(ch, "reason", json_string(a->reason));
		lf_ui_emit("info", "planned_change", json_pack("{s:o}", "change", ch),
			   "%s: Plan to %s", a->addr, ui_action(a->kind));
	}
}

void lf_ui_summary(const struct lf_plan *p, const char *operation, const char *text)
{
	lf_ui_emit("info", "change_summary",
		   json_pack("{s:{s:I, s:I, s:I, s:s}}", "changes", "add", (json_int_t)p->nadd,
			     "change", (json_int_t)p->nchange, "remove", (json_int_t)p->ndestroy,
			     "operation", operation), "%s.", text);
}

static const char *doing(enum lf_action_kind k)
{
	switch (k) {
	case LF_ACT_CREATE: return "Creating...";
	case LF_ACT_UPDATE: return "Modifying...";
	case LF_ACT_REPLACE: return "Replacing...";
	default: return "Destroying...";
	}
}

static const char *done(enum lf_action_kind k)
{
	switch (k) {
	case LF_ACT_CREATE: return "Creation";
	case LF_ACT_UPDATE: return "Modifications";
	case LF_ACT_REPLACE: return "Replacement";
	default: return "Destruction";
	}
}

/* lf_apply_opts.on_action: apply_start, apply_complete, apply_errored */
void lf_ui_on_action(void *payload, const struct lf_action *a, enum lf_action_phase ph,
		     double secs, const char *error)
{
	json_t *hook = json_pack("{s:o, s:s}", "resource", lf_ui_resource(a->addr), "action",
				 ui_action(a->kind));

	(void)payload;
	if (ph == LF_ACTION_START) {
		lf_ui_emit("info", "apply_start", json_pack("{s:o}", "hook", hook), "%s: %s",
			   a->addr, doing(a->kind));
		return;
	}
	json_object_set_new(hook, "elapsed_seconds", json_integer((json_int_t)(secs + 0.5)));
	if (ph == LF_ACTION_DONE) {
		lf_ui_emit("info", "apply_complete", json_pack("{s:o}", "hook", hook),
			   "%s: %s complete after %.0fs", a->addr, done(a->kind), secs);
		return;
	}
	lf_ui_emit("error", "apply_errored", json_pack("{s:o}", "hook", hook),
		   "%s: %s errored after %.0fs", a->addr, done(a->kind), secs);
	lf_ui_diagnostic("error", error && *error ? error : "action failed", a->addr);
}

/* lf_apply_env.progress: a driver's progress line as apply_progress */
void lf_ui_on_progress(void *payload, const char *resource, const char *line)
{
	const struct lf_plan *p = payload;
	const char *act = "noop";
	size_t i;

	for (i = 0; p && i < p->n; i++)
		if (strcmp(p->v[i].addr, resource) == 0)
			act = ui_action(p->v[i].kind);
	lf_ui_emit("info", "apply_progress",
		   json_pack("{s:{s:o, s:s, s:s}}", "hook", "resource", lf_ui_resource(resource),
			     "action", act, "progress", line),
		   "%s: %s", resource, line);
}
