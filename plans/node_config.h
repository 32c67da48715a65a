/* A node's own Fabric config: core.yaml (peers) or orderer.yaml
 * (orderers) rendered from templates/fabric/, and where the node listens.
 * Paths in the rendered text carry the token LF_NODE_ROOT_TOKEN, which
 * fabric/run.sh replaces with the host root on the machine, so the same
 * bundle works under any transport's root. */
#ifndef LF_NODE_CONFIG_H
#define LF_NODE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>
#include "ledgerform/error.h"

#define LF_NODE_ROOT_TOKEN "@LF_ROOT@"

/* where a node listens and is reached; attributes older than port
 * planning fall back to what was rendered before it */
struct lf_node_net {
	const char *listen;          /* 127.0.0.1 (local machine), 0.0.0.0 */
	const char *addr;            /* how others reach it */
	long long port, chaincode, operations, admin;
};

struct lf_node_net lf_node_net(const json_t *attrs);

/* a node attribute: the string ("" when absent), the integer (dflt) */
const char *lf_node_attr_str(const json_t *attrs, const char *key);
long long lf_node_attr_int(const json_t *attrs, const char *key, long long dflt);

/* one template variable: {{name}} inside double quotes takes the value
 * escaped for a YAML double-quoted string; outside quotes the value must
 * be a decimal integer */
struct lf_tmpl_var {
	const char *name;
	const char *value;
};

int lf_tmpl_render(const char *tmpl, const struct lf_tmpl_var *vars, size_t nvars,
		   char **out, struct lf_err *err);

/* the node's config file name ("core.yaml", "orderer.yaml"; NULL for a
 * kind Fabric has no config for) */
const char *lf_node_config_name(const json_t *attrs);

/* render the node's config (*out malloc'd) */
int lf_node_config_render(const json_t *attrs, char **out, struct lf_err *err);

/* How a node lives on its machine, asked through its host's transport
 * (plans/rtype_host.c): *out gets {running, pid, cpu_percent, rss_kb,
 * uptime_s, health: "OK" | "failing" | "unreachable", health_detail,
 * version (the operations endpoint's /version)}. */
struct lf_apply_env;
struct lf_resource;
int lf_node_probe(const struct lf_apply_env *env, const struct lf_resource *node,
		  json_t **out, struct lf_err *err);

#endif
