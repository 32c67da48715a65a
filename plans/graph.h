/*
 * The network as a picture: a Graphviz DOT document drawn from resources.
 *
 *   provider clusters   one per provider the hosts name ("provider aws (aws)")
 *   host clusters       host.ORG.NODE inside its provider, labelled with
 *                       its size (or its address, for an explicit host)
 *   node boxes          node.ORG.NODE inside its host, filled with its
 *                       org's colour (a legend cluster lists the orgs)
 *   channel ellipses    channel.NAME; an orderer serving it points at it
 *                       ("consenter"), it points at each joined peer
 *                       ("joined")
 * With a plan, fills and edges take the colour of the planned action
 * (create, update, replace, delete, no-op) and the org colour moves to the
 * border; resources the plan deletes (in the state only) are drawn too.
 */
#ifndef LF_GRAPH_H
#define LF_GRAPH_H

#include "core/util/util.h"
#include "plans/plan.h"

/*
 * Append the DOT text of the network named name to out. desired (the
 * expanded spec) may be NULL for a plan that deletes everything; current
 * (the state) is read only with a plan and may be NULL; plan may be NULL
 * (no action colours).
 */
int lf_graph_dot(struct lf_buf *out, const char *name,
		 const struct lf_rset *desired, const struct lf_rset *current,
		 const struct lf_plan *plan, struct lf_err *err);

/* s as the body of a DOT quoted string: quotes and backslashes escaped,
 * newlines as \n, other control characters dropped */
void lf_graph_quote(struct lf_buf *out, const char *s);

/* Run Graphviz `dot -Tsvg` (found on PATH, no shell) on dot; the SVG goes
 * to out_path, or to standard output when out_path is NULL. LF_ENOTFOUND
 * with a message naming the graphviz package when dot is not installed. */
int lf_graph_svg(const struct lf_buf *dot, const char *out_path,
		 struct lf_err *err);

#endif
