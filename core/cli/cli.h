/* The ledgerform command line: options shared by the commands, the
 * workspace (spec + state + drivers) they open, and the command handlers. */
#ifndef LF_CLI_H
#define LF_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "core/spec/spec.h"
#include "plans/plan.h"
#include "state/state.h"

struct lf_cli_opts {
	const char *file;             /* -f/--file */
	const char *state_path;       /* --state (overrides the spec's) */
	bool auto_approve;
	bool json;
	bool detailed_exitcode;
	bool no_color;
	bool keep_crypto;             /* destroy --keep-crypto */
	int refresh;                  /* LF_REFRESH_*: which recorded
					 resources plan asks the drivers
					 about first */
	unsigned int parallelism;
	double lock_timeout;          /* seconds */
	const char *out;              /* --out */
	const char **targets;         /* NULL-terminated */
	size_t ntargets;
	const char **replace;         /* --replace ADDR..., NULL-terminated */
	size_t nreplace;
	bool destroy;                 /* plan --destroy */
	char **aliased;               /* -name spellings rewritten as --name */
	size_t naliased;
	int nargs;                    /* positional arguments */
	char **args;
};

struct lf_ws {
	struct lf_spec *spec;
	char *workdir, *crypto_dir, *channels_dir;
	struct lf_state *state;
	struct lf_state_doc doc;
	bool locked;
	struct lf_registry *reg;
	struct lf_driver_pool *pool;
	struct lf_rset *desired, *current;
	struct lf_apply_env env;
	char spec_sha256[65];
	char **tainted;      /* records `state taint` marked, NULL-terminated */
};

enum lf_ws_flags {
	LF_WS_SPEC = 1,      /* load the spec (required) */
	LF_WS_LOCK = 2,      /* take the state lock */
	LF_WS_EXPAND = 4,    /* expand the spec into desired resources */
	LF_WS_DRIVERS = 8,   /* open the driver registry and pool */
	LF_WS_READONLY = 16  /* the state document will not be written */
};

int lf_ws_open(struct lf_ws *ws, const struct lf_cli_opts *o, unsigned int flags,
	       const char *who);
void lf_ws_close(struct lf_ws *ws);

/* parse options common to all commands; returns 0, or an exit code + 1 */
int lf_cli_parse(struct lf_cli_opts *o, int argc, char **argv,
		 const char *usage, const char *cmd);
void lf_cli_opts_free(struct lf_cli_opts *o);
void lf_cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- machine-readable output (jsonui.c) ---- */
/* one JSON document on stdout (takes doc's reference) */
void lf_cli_print_json(json_t *doc);
/* one line of Terraform's machine-readable UI on stdout (takes msg) */
void lf_ui_emit(const char *level, const char *type, json_t *msg, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* the stream's first message; from then on lf_cli_error also emits an
 * error diagnostic */
void lf_ui_version(void);
bool lf_ui_streaming(void);
void lf_ui_diagnostic(const char *severity, const char *summary, const char *detail);
json_t *lf_ui_resource(const char *addr);
void lf_ui_planned(const struct lf_plan *p);
void lf_ui_summary(const struct lf_plan *p, const char *operation, const char *text);
void lf_ui_on_action(void *payload, const struct lf_action *a, enum lf_action_phase ph,
		     double secs, const char *error);
void lf_ui_on_progress(void *payload, const char *resource, const char *line);

int lf_cmd_validate(int argc, char **argv);
int lf_cmd_plan(int argc, char **argv);
int lf_cmd_apply(int argc, char **argv);
int lf_cmd_destroy(int argc, char **argv);
int lf_cmd_show(int argc, char **argv);
int lf_cmd_state(int argc, char **argv);
int lf_cmd_drivers(int argc, char **argv);
int lf_cmd_import(int argc, char **argv);
int lf_cmd_output(int argc, char **argv);
int lf_cmd_force_unlock(int argc, char **argv);
int lf_cmd_status(int argc, char **argv);
int lf_cmd_graph(int argc, char **argv);
int lf_cmd_completion(int argc, char **argv);
/* destroy --keep-crypto: leave the crypto resources out (destroy_crypto.c) */
void lf_cli_keep_crypto(struct lf_plan *p, const struct lf_ws *ws);
/* destroy: warn, naming the orgs, of the CA private keys the plan deletes */
void lf_cli_warn_ca_keys(const struct lf_plan *p, const struct lf_ws *ws);
int lf_cmd_fmt(int argc, char **argv);
int lf_cmd_package(int argc, char **argv);

#endif
