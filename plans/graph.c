/*
 * The network as a Graphviz picture (see graph.h). Everything is drawn from
 * resource attributes, so a plan's deletes (which the spec no longer names)
 * are drawn like the rest.
 */
#include "plans/graph.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* org fills (ColorBrewer Set3), taken in the order orgs appear */
static const char *const palette[] = {
	"#8dd3c7", "#ffffb3", "#bebada", "#fb8072", "#80b1d3",
	"#fdb462", "#b3de69", "#fccde5", "#d9d9d9", "#bc80bd",
};

static const struct { const char *action, *color; } act_colors[] = {
	{ "create", "#b7e1a1" }, { "update", "#ffe08a" }, { "replace", "#f7b267" },
	{ "delete", "#f4978e" }, { "no-op", "#ffffff" },
};

struct gctx {
	struct lf_buf *out;
	const struct lf_rset *desired, *current;
	const struct lf_resource **all;  /* desired, then current-only */
	size_t nall;
	json_t *acts;                    /* addr -> action name; NULL: no plan */
	json_t *orgs;                    /* org name -> palette index */
	json_t *org_names;               /* in order of appearance */
};

void lf_graph_quote(struct lf_buf *out, const char *s)
{
	for (; s && *s; s++) {
		if (*s == '"' || *s == '\\')
			lf_buf_printf(out, "\\%c", *s);
		else if (*s == '\n')
			lf_buf_append(out, "\\n", 2);
		else if ((unsigned char)*s >= 0x20 && *s != 0x7f)
			lf_buf_append(out, s, 1);
	}
}

static void put_q(struct gctx *g, const char *s)
{
	lf_buf_append(g->out, "\"", 1);
	lf_graph_quote(g->out, s);
	lf_buf_append(g->out, "\"", 1);
}

static const char *attr(const struct lf_resource *r, const char *key)
{
	const char *s = json_string_value(json_object_get(r->attrs, key));

	return s ? s : "";
}

static const struct lf_resource *find(const struct gctx *g, const char *addr)
{
	const struct lf_resource *r = g->desired ? lf_rset_get(g->desired, addr) : NULL;

	return r ? r : g->current ? lf_rset_get(g->current, addr) : NULL;
}

/* the planned action of addr; NULL without a plan */
static const char *action(const struct gctx *g, const char *addr)
{
	const char *a;

	if (!g->acts)
		return NULL;
	a = json_string_value(json_object_get(g->acts, addr));
	return a ? a : "no-op";
}

static const char *action_color(const char *act)
{
	for (size_t i = 0; act && i < LF_ARRAY_LEN(act_colors); i++)
		if (strcmp(act_colors[i].action, act) == 0)
			return act_colors[i].color;
	return "#ffffff";
}

static const char *org_color(struct gctx *g, const char *org)
{
	json_t *ix = json_object_get(g->orgs, org);

	if (!ix) {
		ix = json_integer((json_int_t)json_object_size(g->orgs));
		json_object_set_new(g->orgs, org, ix);
		json_array_append_new(g->org_names, json_string(org));
	}
	return palette[json_integer_value(ix) % LF_ARRAY_LEN(palette)];
}

/* the label suffix that names a change ("\n+ create"); "" for none */
static void put_action_suffix(struct gctx *g, const char *act)
{
	if (act && strcmp(act, "no-op") != 0) {
		lf_buf_append(g->out, "\\n(", 3);
		lf_graph_quote(g->out, act);
		lf_buf_append(g->out, ")", 1);
	}
}

static void emit_node(struct gctx *g, const struct lf_resource *n)
{
	const char *act = action(g, n->addr), *oc = org_color(g, attr(n, "org"));
	json_int_t port = json_integer_value(json_object_get(n->attrs, "port"));

	lf_buf_printf(g->out, "      ");
	put_q(g, n->addr);
	lf_buf_printf(g->out, " [label=\"");
	lf_graph_quote(g->out, n->addr + strlen("node."));
	lf_buf_append(g->out, "\\n", 2);
	lf_graph_quote(g->out, attr(n, "kind"));
	if (port)
		lf_buf_printf(g->out, " :%lld", (long long)port);
	put_action_suffix(g, act);
	if (act)
		lf_buf_printf(g->out, "\", fillcolor=\"%s\", color=\"%s\", penwidth=3];\n",
			      action_color(act), oc);
	else
		lf_buf_printf(g->out, "\", fillcolor=\"%s\"];\n", oc);
}

static void emit_host(struct gctx *g, const struct lf_resource *h)
{
	const char *act = action(g, h->addr), *size = attr(h, "size");
	char *naddr = lf_xasprintf("node.%s", h->addr + strlen("host."));
	const struct lf_resource *n = find(g, naddr);

	lf_buf_printf(g->out, "    subgraph \"cluster_");
	lf_graph_quote(g->out, h->addr);
	lf_buf_printf(g->out, "\" {\n      label=\"");
	lf_graph_quote(g->out, h->addr + strlen("host."));
	lf_buf_append(g->out, "\\n", 2);
	if (*size) {
		lf_buf_printf(g->out, "size ");
		lf_graph_quote(g->out, size);
	} else {
		lf_graph_quote(g->out, attr(h, "address"));
	}
	put_action_suffix(g, act);
	lf_buf_printf(g->out, "\";\n      style=\"rounded\"; color=\"%s\"; penwidth=%d;\n",
		      act ? action_color(act) : "#606060", act && strcmp(act, "no-op") ? 3 : 1);
	if (n)
		emit_node(g, n);
	lf_buf_printf(g->out, "    }\n");
	free(naddr);
}

static bool is_type(const struct lf_resource *r, const char *type)
{
	return strcmp(r->type, type) == 0;
}

/* one cluster per provider, in the order hosts name them */
static void emit_providers(struct gctx *g)
{
	json_t *seen = json_object();

	for (size_t i = 0; i < g->nall; i++) {
		const struct lf_resource *h = g->all[i];
		const char *prov = attr(h, "provider");

		if (!is_type(h, "host") || json_object_get(seen, prov))
			continue;
		json_object_set_new(seen, prov, json_true());
		lf_buf_printf(g->out, "  subgraph \"cluster_provider_");
		lf_graph_quote(g->out, prov);
		lf_buf_printf(g->out, "\" {\n    label=\"provider ");
		lf_graph_quote(g->out, prov);
		lf_buf_printf(g->out, " (");
		lf_graph_quote(g->out, attr(h, "driver"));
		lf_buf_printf(g->out, ")\";\n    style=\"dashed\"; color=\"#404040\";\n");
		for (size_t k = i; k < g->nall; k++)
			if (is_type(g->all[k], "host") &&
			    strcmp(attr(g->all[k], "provider"), prov) == 0)
				emit_host(g, g->all[k]);
		lf_buf_printf(g->out, "  }\n");
	}
	json_decref(seen);
}

static void emit_channel(struct gctx *g, const struct lf_resource *c)
{
	const char *act = action(g, c->addr);

	lf_buf_printf(g->out, "  ");
	put_q(g, c->addr);
	lf_buf_printf(g->out, " [shape=ellipse, style=\"filled\", label=\"channel ");
	lf_graph_quote(g->out, attr(c, "channel"));
	put_action_suffix(g, act);
	lf_buf_printf(g->out, "\", fillcolor=\"%s\"];\n", act ? action_color(act) : "#e8e8ff");
}

/* orderer -> channel ("consenter"), channel -> peer ("joined") */
static void emit_edge(struct gctx *g, const char *node, const char *channel,
		      bool peer, const char *act)
{
	lf_buf_printf(g->out, "  ");
	put_q(g, peer ? channel : node);
	lf_buf_printf(g->out, " -> ");
	put_q(g, peer ? node : channel);
	lf_buf_printf(g->out, " [label=\"%s%s%s\", style=%s", peer ? "joined" : "consenter",
		      act && strcmp(act, "no-op") ? "\\n" : "",
		      act && strcmp(act, "no-op") ? act : "", peer ? "dashed" : "bold");
	if (act && strcmp(act, "no-op"))
		lf_buf_printf(g->out, ", color=\"%s\", penwidth=2", action_color(act));
	lf_buf_printf(g->out, "];\n");
}

/* a channel's consenters that have no join resource (Kafka orderers
 * serve the system channel, which has none) */
static void emit_consenters(struct gctx *g, const struct lf_resource *c)
{
	const json_t *cons = json_object_get(c->attrs, "consenters"), *x;
	size_t i;

	json_array_foreach(cons, i, x) {
		const char *org = json_string_value(json_object_get(x, "org"));
		const char *node = json_string_value(json_object_get(x, "node"));
		char *j = lf_xasprintf("join.%s.%s.%s", attr(c, "channel"), org, node);
		char *n = lf_xasprintf("node.%s.%s", org, node);

		if (org && node && !find(g, j) && find(g, n))
			emit_edge(g, n, c->addr, false, action(g, c->addr));
		free(j);
		free(n);
	}
}

static void emit_channels(struct gctx *g)
{
	for (size_t i = 0; i < g->nall; i++)
		if (is_type(g->all[i], "channel"))
			emit_channel(g, g->all[i]);
	for (size_t i = 0; i < g->nall; i++) {
		const struct lf_resource *r = g->all[i];

		if (is_type(r, "channel")) {
			emit_consenters(g, r);
		} else if (is_type(r, "join")) {
			char *ch = lf_xasprintf("channel.%s", attr(r, "channel"));

			emit_edge(g, attr(r, "node"), ch, strcmp(attr(r, "kind"), "peer") == 0,
				  action(g, r->addr));
			free(ch);
		}
	}
}

/* the orgs (and, with a plan, the actions) with their colours */
static void emit_legend(struct gctx *g)
{
	const json_t *o;
	size_t i;

	lf_buf_printf(g->out, "  subgraph \"cluster_legend\" {\n    label=\"orgs\"; style=\"dotted\";\n");
	json_array_foreach(g->org_names, i, o) {
		lf_buf_printf(g->out, "    \"org.");
		lf_graph_quote(g->out, json_string_value(o));
		lf_buf_printf(g->out, "\" [label=\"");
		lf_graph_quote(g->out, json_string_value(o));
		lf_buf_printf(g->out, "\", fillcolor=\"%s\"];\n",
			      palette[i % LF_ARRAY_LEN(palette)]);
	}
	lf_buf_printf(g->out, "  }\n");
	if (!g->acts)
		return;
	lf_buf_printf(g->out, "  subgraph \"cluster_actions\" {\n    label=\"planned action\"; style=\"dotted\";\n");
	for (i = 0; i < LF_ARRAY_LEN(act_colors); i++)
		lf_buf_printf(g->out, "    \"action.%s\" [label=\"%s\", fillcolor=\"%s\"];\n",
			      act_colors[i].action, act_colors[i].action, act_colors[i].color);
	lf_buf_printf(g->out, "  }\n");
}

/* desired resources, then the current ones the spec no longer has */
static void collect(struct gctx *g)
{
	size_t n = (g->desired ? g->desired->n : 0) + (g->current ? g->current->n : 0);

	g->all = lf_xcalloc(n ? n : 1, sizeof(*g->all));
	for (size_t i = 0; g->desired && i < g->desired->n; i++)
		g->all[g->nall++] = &g->desired->v[i];
	for (size_t i = 0; g->current && i < g->current->n; i++)
		if (!g->desired || !lf_rset_get(g->desired, g->current->v[i].addr))
			g->all[g->nall++] = &g->current->v[i];
}

int lf_graph_dot(struct lf_buf *out, const char *name,
		 const struct lf_rset *desired, const struct lf_rset *current,
		 const struct lf_plan *plan, struct lf_err *err)
{
	struct gctx g = { out, desired, plan ? current : NULL, NULL, 0, NULL,
			  json_object(), json_array() };

	(void)err;
	if (plan) {
		g.acts = json_object();
		for (size_t i = 0; i < plan->n; i++)
			json_object_set_new(g.acts, plan->v[i].addr,
					    json_string(lf_action_name(plan->v[i].kind)));
	}
	collect(&g);
	lf_buf_printf(out, "digraph ");
	put_q(&g, name);
	lf_buf_printf(out, " {\n  graph [rankdir=LR, compound=true, fontname=\"Helvetica\", "
		      "labelloc=t, label=\"");
	lf_graph_quote(out, name);
	lf_buf_printf(out, "%s\"];\n  node [shape=box, style=\"rounded,filled\", "
		      "fontname=\"Helvetica\", fillcolor=\"#ffffff\"];\n"
		      "  edge [fontname=\"Helvetica\", fontsize=10];\n",
		      plan ? (plan->destroy ? " (destroy plan)" : " (plan)") : "");
	emit_providers(&g);
	emit_channels(&g);
	emit_legend(&g);
	lf_buf_printf(out, "}\n");
	free(g.all);
	json_decref(g.acts);
	json_decref(g.orgs);
	json_decref(g.org_names);
	return 0;
}

/* write all of buf to fd; EPIPE (dot gave up) is the exit status's to tell */
static void write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

int lf_graph_svg(const struct lf_buf *dot, const char *out_path,
		 struct lf_err *err)
{
	char *argv[] = { "dot", "-Tsvg", out_path ? "-o" : NULL, (char *)out_path, NULL };
	posix_spawn_file_actions_t fa;
	int fds[2], rc, status;
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC) != 0)
		return lf_err_sys(err, LF_ERROR, "pipe");
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fds[0], STDIN_FILENO);
	rc = posix_spawnp(&pid, "dot", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(fds[0]);
	if (rc != 0) {
		close(fds[1]);
		if (rc == ENOENT)
			return lf_err_set(err, LF_ENOTFOUND, "SVG needs Graphviz's `dot`, which is "
					  "not on PATH: install the graphviz package (Debian: "
					  "apt-get install graphviz), or use --format dot");
		return lf_err_set(err, LF_ERROR, "cannot run dot: %s", strerror(rc));
	}
	write_all(fds[1], dot->data, dot->len);
	close(fds[1]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return lf_err_set(err, LF_ERROR, "dot -Tsvg failed (exit status %d)",
				  WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	return 0;
}
