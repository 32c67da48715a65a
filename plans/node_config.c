/*
 * A node's own config file, rendered from the templates compiled in from
 * templates/fabric/ (templates/embed.cmake). The substitution is the
 * smallest that is safe: {{name}} between double quotes becomes the value
 * escaped for a YAML double-quoted string, {{name}} elsewhere must be a
 * decimal integer; nothing else in a template is interpreted.
 */
#include "plans/node_config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util/util.h"

extern const char lf_tmpl_core_yaml[];
extern const char lf_tmpl_orderer_yaml[];
extern const char lf_tmpl_ca_yaml[];

const char *lf_node_attr_str(const json_t *a, const char *k)
{
	const char *s = json_string_value(json_object_get(a, k));

	return s ? s : "";
}

long long lf_node_attr_int(const json_t *a, const char *k, long long dflt)
{
	const json_t *v = json_object_get(a, k);

	return json_is_integer(v) ? json_integer_value(v) : dflt;
}

struct lf_node_net lf_node_net(const json_t *a)
{
	bool orderer = strcmp(lf_node_attr_str(a, "kind"), "orderer") == 0;
	struct lf_node_net n;

	n.listen = json_object_get(a, "listen_host") ? lf_node_attr_str(a, "listen_host") : "0.0.0.0";
	n.addr = json_object_get(a, "address") ? lf_node_attr_str(a, "address") : lf_node_attr_str(a, "hostname");
	n.port = lf_node_attr_int(a, "port", orderer ? 7050 : 7051);
	n.chaincode = lf_node_attr_int(a, "chaincode_port", n.port + 1);
	n.operations = lf_node_attr_int(a, "operations_port", n.port + (orderer ? 393 : 1392));
	n.admin = lf_node_attr_int(a, "admin_port", n.port + 3);
	return n;
}

/* the value as the inside of a YAML double-quoted scalar */
static void yaml_dq_append(struct lf_buf *b, const char *v)
{
	for (; *v; v++) {
		unsigned char c = (unsigned char)*v;

		if (c == '"' || c == '\\')
			lf_buf_printf(b, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			lf_buf_printf(b, "\\x%02x", c);
		else
			lf_buf_append(b, v, 1);
	}
}

static bool is_decimal(const char *v)
{
	if (*v == '-')
		v++;
	if (!*v)
		return false;
	for (; *v; v++)
		if (!isdigit((unsigned char)*v))
			return false;
	return true;
}

static const char *var_find(const struct lf_tmpl_var *vars, size_t n, const char *name,
			    size_t len)
{
	for (size_t i = 0; i < n; i++)
		if (strlen(vars[i].name) == len && memcmp(vars[i].name, name, len) == 0)
			return vars[i].value;
	return NULL;
}

/* one {{name}} at p (after the braces' opening); *end: past the closing */
static int tmpl_var(struct lf_buf *b, const char *p, bool quoted,
		    const struct lf_tmpl_var *vars, size_t nvars, const char **end,
		    struct lf_err *err)
{
	const char *close = strstr(p, "}}");
	const char *v;

	if (!close)
		return lf_err_set(err, LF_EINVALID, "template: '{{' without '}}'");
	v = var_find(vars, nvars, p, (size_t)(close - p));
	if (!v)
		return lf_err_set(err, LF_EINVALID, "template: no value for '%.*s'",
				  (int)(close - p), p);
	if (quoted)
		yaml_dq_append(b, v);
	else if (is_decimal(v))
		lf_buf_append(b, v, strlen(v));
	else
		return lf_err_set(err, LF_EINVALID, "template: '%.*s' outside quotes must be "
				  "an integer, not '%s'", (int)(close - p), p, v);
	*end = close + 2;
	return 0;
}

int lf_tmpl_render(const char *tmpl, const struct lf_tmpl_var *vars, size_t nvars,
		   char **out, struct lf_err *err)
{
	struct lf_buf b = LF_BUF_INIT;
	const char *p = tmpl, *open;
	int rc = 0;

	*out = NULL;
	while (rc == 0 && (open = strstr(p, "{{")) != NULL) {
		bool quoted = open > tmpl && open[-1] == '"';

		lf_buf_append(&b, p, (size_t)(open - p));
		rc = tmpl_var(&b, open + 2, quoted, vars, nvars, &p, err);
	}
	if (rc == 0) {
		lf_buf_append(&b, p, strlen(p) + 1);
		*out = b.data;
	} else {
		lf_buf_free(&b);
	}
	return rc;
}

const char *lf_node_config_name(const json_t *attrs)
{
	const char *kind = lf_node_attr_str(attrs, "kind");

	if (strcmp(kind, "peer") == 0)
		return "core.yaml";
	if (strcmp(kind, "orderer") == 0)
		return "orderer.yaml";
	if (strcmp(kind, "ca") == 0)
		return "fabric-ca-server-config.yaml";
	return NULL;
}

#define NODE_VARS_MAX 12

struct node_vars {
	struct lf_tmpl_var v[NODE_VARS_MAX];
	char *owned[NODE_VARS_MAX];
	size_t n;
};

static void vars_add(struct node_vars *nv, const char *name, char *value)
{
	nv->v[nv->n].name = name;
	nv->v[nv->n].value = value;
	nv->owned[nv->n++] = value;
}

static void vars_free(struct node_vars *nv)
{
	for (size_t i = 0; i < nv->n; i++)
		free(nv->owned[i]);
}

static void peer_vars(const json_t *a, struct node_vars *nv)
{
	struct lf_node_net n = lf_node_net(a);

	vars_add(nv, "id", lf_xstrdup(lf_node_attr_str(a, "hostname")));
	vars_add(nv, "network_id", lf_xstrdup("ledgerform"));
	vars_add(nv, "mspid", lf_xstrdup(lf_node_attr_str(a, "mspid")));
	vars_add(nv, "listen_address", lf_xasprintf("%s:%lld", n.listen, n.port));
	vars_add(nv, "address", lf_xasprintf("%s:%lld", n.addr, n.port));
	vars_add(nv, "chaincode_listen_address", lf_xasprintf("%s:%lld", n.listen, n.chaincode));
	vars_add(nv, "chaincode_address", lf_xasprintf("%s:%lld", n.addr, n.chaincode));
	/* the org's other peer (expand.c); itself in attributes older than it */
	vars_add(nv, "gossip_bootstrap", json_object_get(a, "gossip_bootstrap")
		 ? lf_xstrdup(lf_node_attr_str(a, "gossip_bootstrap"))
		 : lf_xasprintf("%s:%lld", n.addr, n.port));
	vars_add(nv, "gossip_endpoint", lf_xasprintf("%s:%lld", n.addr, n.port));
	vars_add(nv, "gossip_external_endpoint", lf_xasprintf("%s:%lld", n.addr, n.port));
	vars_add(nv, "operations_listen_address",
		 lf_xasprintf("%s:%lld", n.listen, n.operations));
}

static void orderer_vars(const json_t *a, struct node_vars *nv)
{
	struct lf_node_net n = lf_node_net(a);

	vars_add(nv, "listen_host", lf_xstrdup(n.listen));
	vars_add(nv, "listen_port", lf_xasprintf("%lld", n.port));
	vars_add(nv, "mspid", lf_xstrdup(lf_node_attr_str(a, "mspid")));
	vars_add(nv, "operations_listen_address",
		 lf_xasprintf("%s:%lld", n.listen, n.operations));
	vars_add(nv, "admin_listen_address", lf_xasprintf("%s:%lld", n.listen, n.admin));
}

/* a fabric-ca-server: where it listens, its CA's name (as the
 * connection profile gives it: ca-ORG), the org's affiliation */
static void ca_vars(const json_t *a, struct node_vars *nv)
{
	struct lf_node_net n = lf_node_net(a);

	vars_add(nv, "listen_host", lf_xstrdup(n.listen));
	vars_add(nv, "listen_port", lf_xasprintf("%lld", n.port));
	vars_add(nv, "ca_name", lf_xasprintf("ca-%s", lf_node_attr_str(a, "org")));
	vars_add(nv, "org", lf_xstrdup(lf_node_attr_str(a, "org")));
	vars_add(nv, "operations_listen_address",
		 lf_xasprintf("%s:%lld", n.listen, n.operations));
}

int lf_node_config_render(const json_t *attrs, char **out, struct lf_err *err)
{
	struct node_vars nv = { 0 };
	const char *tmpl;
	int rc;

	*out = NULL;
	if (strcmp(lf_node_attr_str(attrs, "kind"), "peer") == 0) {
		peer_vars(attrs, &nv);
		tmpl = lf_tmpl_core_yaml;
	} else if (strcmp(lf_node_attr_str(attrs, "kind"), "orderer") == 0) {
		orderer_vars(attrs, &nv);
		tmpl = lf_tmpl_orderer_yaml;
	} else if (strcmp(lf_node_attr_str(attrs, "kind"), "ca") == 0) {
		ca_vars(attrs, &nv);
		tmpl = lf_tmpl_ca_yaml;
	} else {
		return lf_err_set(err, LF_EINVALID, "no Fabric config for '%s' nodes",
				  lf_node_attr_str(attrs, "kind"));
	}
	rc = lf_tmpl_render(tmpl, nv.v, nv.n, out, err);
	vars_free(&nv);
	return rc;
}
