/* graph: the network as a picture (DOT, or SVG through Graphviz). */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "core/cli/cli.h"
#include "core/util/util.h"
#include "plans/graph.h"

static const char USAGE_GRAPH[] =
	"Usage: ledgerform graph -f SPEC [--plan] [--format dot|svg] [-o FILE]\n\n"
	"Draw the network: machines grouped by provider, the nodes on them coloured\n"
	"by org, channels with the orderers serving them (consenter) and the peers\n"
	"joined to them.\n\n"
	"Options:\n"
	"  -f, --file SPEC         the chain spec\n"
	"  --plan                  colour by what plan would do (reads the state):\n"
	"                          create, update, replace, delete, no-op\n"
	"  --format dot|svg        DOT (default), or SVG through Graphviz's `dot`\n"
	"                          (package graphviz)\n"
	"  -o, --out FILE          write to FILE instead of standard output\n"
	"  --state FILE            with --plan: use this state file instead of the spec's\n"
	"  --refresh[=true|false]  with --plan: as for plan (default: where cheap)\n";

struct graph_opts {
	struct lf_cli_opts o;
	bool plan, svg;
};

enum { G_PLAN = 300, G_FORMAT, G_STATE, G_REFRESH };

static const struct option graph_longopts[] = {
	{ "file", required_argument, NULL, 'f' },
	{ "help", no_argument, NULL, 'h' },
	{ "out", required_argument, NULL, 'o' },
	{ "plan", no_argument, NULL, G_PLAN },
	{ "format", required_argument, NULL, G_FORMAT },
	{ "state", required_argument, NULL, G_STATE },
	{ "refresh", optional_argument, NULL, G_REFRESH },
	{ NULL, 0, NULL, 0 }
};

/* 0 go on, 1 help shown, 2 bad usage */
static int graph_parse(struct graph_opts *g, int argc, char **argv)
{
	int c;

	memset(g, 0, sizeof(*g));
	g->o.parallelism = 10;
	optind = 1;
	while ((c = getopt_long(argc, argv, "f:ho:", graph_longopts, NULL)) != -1) {
		switch (c) {
		case 'f': g->o.file = optarg; break;
		case 'h': fputs(USAGE_GRAPH, stdout); return 1;
		case 'o': g->o.out = optarg; break;
		case G_PLAN: g->plan = true; break;
		case G_STATE: g->o.state_path = optarg; break;
		case G_REFRESH:
			if (optarg && strcmp(optarg, "true") != 0 && strcmp(optarg, "false") != 0) {
				lf_cli_error("graph: --refresh takes true or false, not '%s'", optarg);
				return 2;
			}
			g->o.refresh = optarg && strcmp(optarg, "false") == 0 ? LF_REFRESH_NONE
									  : LF_REFRESH_ALL;
			break;
		case G_FORMAT:
			if (strcmp(optarg, "dot") != 0 && strcmp(optarg, "svg") != 0) {
				lf_cli_error("graph: --format takes dot or svg, not '%s'", optarg);
				return 2;
			}
			g->svg = strcmp(optarg, "svg") == 0;
			break;
		default:
			fprintf(stderr, "Try 'ledgerform graph --help'.\n");
			return 2;
		}
	}
	if (!g->o.file && optind + 1 == argc)
		g->o.file = argv[optind];
	else if (optind < argc) {
		lf_cli_error("graph: unexpected argument '%s'", argv[optind]);
		return 2;
	}
	if (!g->o.file) {
		lf_cli_error("graph: no spec given: pass -f SPEC.yaml");
		return 2;
	}
	return 0;
}

/* the plan `plan` would make; the refresh report goes to stderr */
static int graph_plan(struct lf_ws *ws, const struct lf_cli_opts *o, struct lf_plan **out)
{
	struct lf_plan_opts po = { false, NULL };
	struct lf_err err = LF_ERR_INIT;

	if (o->refresh != LF_REFRESH_NONE && ws->current->n > 0) {
		if (lf_refresh(&ws->env, &ws->current, ws->doc.resources,
			       (enum lf_refresh_mode)o->refresh, o->parallelism, stderr, &err) != 0)
			goto fail;
		ws->env.current = ws->current;
	}
	if (lf_plan_make(out, &ws->env, ws->desired, ws->current, &po, &err) != 0)
		goto fail;
	return 0;
fail:
	lf_cli_error("%s", err.msg);
	return 1;
}

static int graph_emit(const struct graph_opts *g, const struct lf_buf *dot)
{
	struct lf_err err = LF_ERR_INIT;

	if (g->svg)
		return lf_graph_svg(dot, g->o.out, &err) == 0 ? 0 : (lf_cli_error("%s", err.msg), 1);
	if (!g->o.out) {
		fwrite(dot->data, 1, dot->len, stdout);
		return fflush(stdout) == 0 ? 0 : 1;
	}
	if (lf_write_file_atomic(g->o.out, dot->data, dot->len, 0644, &err) != 0) {
		lf_cli_error("%s", err.msg);
		return 1;
	}
	return 0;
}

int lf_cmd_graph(int argc, char **argv)
{
	struct graph_opts g;
	struct lf_ws ws;
	struct lf_plan *p = NULL;
	struct lf_buf dot = LF_BUF_INIT;
	struct lf_err err = LF_ERR_INIT;
	int rc;

	rc = graph_parse(&g, argc, argv);
	if (rc)
		return rc == 1 ? 0 : 1;
	rc = lf_ws_open(&ws, &g.o, LF_WS_SPEC | LF_WS_EXPAND | LF_WS_READONLY |
			(g.plan ? LF_WS_LOCK | LF_WS_DRIVERS : 0), "graph");
	if (rc == 0 && g.plan)
		rc = graph_plan(&ws, &g.o, &p);
	if (rc == 0 && lf_graph_dot(&dot, ws.spec->name, ws.desired, ws.current, p, &err) != 0) {
		lf_cli_error("%s", err.msg);
		rc = 1;
	}
	if (rc == 0)
		rc = graph_emit(&g, &dot);
	lf_buf_free(&dot);
	lf_plan_free(p);
	lf_ws_close(&ws);
	return rc ? 1 : 0;
}
