/*
 * `ledgerform status -f SPEC [--json]`: how each node the state records
 * lives on its machine, asked through its host's transport (so it works
 * for every transport): running or not, health (its operations endpoint's
 * /healthz), version (/version), pid, CPU and memory of its process, its ports, and per
 * channel the ledger height (a hook the gRPC clients fill).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cli/cli.h"
#include "core/net/join.h"
#include "core/util/util.h"
#include "plans/node_config.h"

static const char USAGE_STATUS[] =
	"Usage: ledgerform status -f SPEC [options]\n\n"
	"Show how each node the state records lives: running or not, health\n"
	"(/healthz of its operations endpoint), pid, CPU and memory of its\n"
	"process, and its ports. Exit status 0 when every node runs and is\n"
	"healthy, 2 when one does not, 1 on an error.\n\n"
	"Options:\n"
	"  -f, --file SPEC         the chain spec\n"
	"  --json                  print JSON ({\"nodes\": [...]})\n"
	"  --state FILE            use this state file instead of the spec's\n";

/* the node's ledger height per channel it joined ({"mychannel": 12}), as
 * its org's admin asks it; a channel that cannot be asked says why */
static int status_channel_heights(const struct lf_apply_env *env,
				  const struct lf_resource *node, json_t *channels,
				  struct lf_err *err)
{
	(void)err;
	for (size_t i = 0; env->current && i < env->current->n; i++) {
		const struct lf_resource *j = &env->current->v[i];
		const char *ch = json_string_value(json_object_get(j->attrs, "channel"));
		struct lf_err e = LF_ERR_INIT;
		uint64_t h = 0;

		if (strcmp(j->type, "join") != 0 || !ch ||
		    !lf_streq(json_string_value(json_object_get(j->attrs, "node")), node->addr) ||
		    !json_is_true(json_object_get(j->outputs, "joined")))
			continue;
		if (lf_join_height(env, j, &h, &e) == 0)
			json_object_set_new(channels, ch, json_integer((json_int_t)h));
		else
			json_object_set_new(channels, ch, json_pack("{ss}", "error", e.msg));
	}
	return 0;
}

static json_t *node_ports(const json_t *attrs)
{
	struct lf_node_net n = lf_node_net(attrs);
	bool orderer = lf_streq(json_string_value(json_object_get(attrs, "kind")), "orderer");
	json_t *p = json_pack("{sI sI}", "listen", (json_int_t)n.port, "operations",
			      (json_int_t)n.operations);

	if (orderer)
		json_object_set_new(p, "admin", json_integer(n.admin));
	else if (!lf_streq(json_string_value(json_object_get(attrs, "kind")), "ca"))
		json_object_set_new(p, "chaincode", json_integer(n.chaincode));
	return p;
}

/* one node's record for the report; *healthy: running and OK */
static json_t *node_status(struct lf_ws *ws, const struct lf_resource *r, bool *healthy)
{
	struct lf_err err = LF_ERR_INIT;
	json_t *o = NULL, *ch = json_object();

	if (lf_node_probe(&ws->env, r, &o, &err) != 0) {
		o = json_pack("{sb ss ss}", "running", 0, "health", "unknown", "error", err.msg);
		lf_err_clear(&err);
	}
	if (status_channel_heights(&ws->env, r, ch, &err) != 0) {
		json_object_set_new(o, "channels_error", json_string(err.msg));
		lf_err_clear(&err);
	}
	json_object_set_new(o, "address", json_string(r->addr));
	json_object_set_new(o, "kind", json_deep_copy(json_object_get(r->attrs, "kind")));
	json_object_set_new(o, "hostname", json_deep_copy(json_object_get(r->attrs, "hostname")));
	json_object_set_new(o, "host", json_deep_copy(json_object_get(r->attrs, "host")));
	json_object_set_new(o, "ports", node_ports(r->attrs));
	json_object_set_new(o, "channels", ch);
	*healthy = json_is_true(json_object_get(o, "running")) &&
		   lf_streq(json_string_value(json_object_get(o, "health")), "OK");
	return o;
}

static void print_text(const json_t *nodes)
{
	size_t i;
	json_t *n;

	printf("%-26s %-8s %-8s %-12s %-8s %8s %6s %9s  %s\n", "NODE", "KIND", "RUNNING",
	       "HEALTH", "VERSION", "PID", "CPU%", "RSS(MiB)", "PORTS");
	json_array_foreach(nodes, i, n) {
		const json_t *p = json_object_get(n, "ports");
		const char *key;
		json_t *v;
		struct lf_buf ports = LF_BUF_INIT;
		const char *ver = json_string_value(json_object_get(n, "version"));

		json_object_foreach((json_t *)p, key, v)
			lf_buf_printf(&ports, "%s%s %lld", ports.len ? ", " : "", key,
				      (long long)json_integer_value(v));
		printf("%-26s %-8s %-8s %-12s %-8s %8lld %6.1f %9.1f  %s\n",
		       json_string_value(json_object_get(n, "address")),
		       json_string_value(json_object_get(n, "kind")),
		       json_is_true(json_object_get(n, "running")) ? "yes" : "no",
		       json_string_value(json_object_get(n, "health")), ver ? ver : "-",
		       (long long)json_integer_value(json_object_get(n, "pid")),
		       json_number_value(json_object_get(n, "cpu_percent")),
		       (double)json_integer_value(json_object_get(n, "rss_kb")) / 1024.0,
		       ports.data ? ports.data : "");
		if (json_object_get(n, "error"))
			printf("  error: %s\n", json_string_value(json_object_get(n, "error")));
		json_object_foreach(json_object_get(n, "channels"), key, v) {
			if (json_is_integer(v))
				printf("  channel %s: height %lld\n", key,
				       (long long)json_integer_value(v));
			else
				printf("  channel %s: %s\n", key,
				       json_string_value(json_object_get(v, "error")));
		}
		lf_buf_free(&ports);
	}
}

static int do_status(struct lf_ws *ws, bool as_json)
{
	json_t *nodes = json_array(), *doc;
	bool all = true, healthy;
	int rc;

	for (size_t i = 0; ws->current && i < ws->current->n; i++) {
		const struct lf_resource *r = &ws->current->v[i];

		if (!lf_streq(r->type, "node") || !lf_node_config_name(r->attrs))
			continue;
		json_array_append_new(nodes, node_status(ws, r, &healthy));
		all = all && healthy;
	}
	doc = json_pack("{so}", "nodes", nodes);
	if (as_json) {
		char *s = json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS);

		puts(s);
		free(s);
	} else if (json_array_size(nodes) == 0) {
		printf("No nodes in the state.\n");
	} else {
		print_text(nodes);
	}
	rc = all ? 0 : 2;
	json_decref(doc);
	return rc;
}

int lf_cmd_status(int argc, char **argv)
{
	struct lf_cli_opts o;
	struct lf_ws ws;
	int rc;

	rc = lf_cli_parse(&o, argc, argv, USAGE_STATUS, "status");
	if (rc)
		return rc == 1 ? 0 : 1;
	rc = lf_ws_open(&ws, &o, LF_WS_SPEC | LF_WS_DRIVERS | LF_WS_READONLY, "status");
	if (rc == 0)
		rc = do_status(&ws, o.json);
	else
		rc = 1;
	lf_ws_close(&ws);
	lf_cli_opts_free(&o);
	return rc;
}
