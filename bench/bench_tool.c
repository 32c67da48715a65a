/*
 * Benchmark helper (not a test): generates specs and matching state, and
 * times the executor on the sim driver. Driven by bench/plan.sh and
 * bench/apply.sh, which print the figures.
 *
 *   bench_tool gen-spec ORGS PEERS            spec YAML on stdout
 *   bench_tool gen-state SPEC                 write state matching SPEC
 *   bench_tool apply-sim HOSTS LATENCY_MS PARALLELISM
 *                                             create HOSTS sim hosts, print
 *                                             wall seconds
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/plugin/plugin.h"
#include "core/spec/spec.h"
#include "core/util/util.h"
#include "plans/plan.h"
#include "state/state.h"

static int gen_spec(int orgs, int peers)
{
	int i;

	printf("name: bench\nfabric: {version: \"2.5\", consensus: etcdraft}\n"
	       "providers:\n  cloud:\n    driver: sim\n    config: {latency_ms: 0}\n"
	       "orgs:\n  - name: ordering\n    domain: example.com\n"
	       "    orderers: {count: 3, provider: cloud}\n");
	for (i = 0; i < orgs; i++)
		printf("  - name: org%d\n    peers: {count: %d, provider: cloud}\n"
		       "    users: 1\n", i, peers);
	printf("channels:\n  - name: bench\n    orgs: [org0%s]\n", orgs > 1 ? ", org1" : "");
	return 0;
}

static int load(const char *file, struct lf_spec **spec)
{
	struct lf_diags d;
	int rc;

	memset(&d, 0, sizeof(d));
	rc = lf_spec_load(spec, file, &d);
	lf_diags_print(&d, stderr);
	lf_diags_free(&d);
	return rc;
}

static int gen_state(const char *file)
{
	struct lf_spec *spec = NULL;
	struct lf_rset *rs = NULL;
	struct lf_state *st = NULL;
	struct lf_state_doc doc = { "", 0, NULL };
	struct lf_err err = LF_ERR_INIT;
	char *path = NULL, *dir = NULL;
	int rc;

	if (load(file, &spec) != 0)
		return 1;
	rc = lf_expand(spec, &rs, &err);
	if (rc == 0) {
		dir = lf_path_dirname(file);
		path = lf_xasprintf("%.*s.state.json", (int)(strrchr(file, '.') - file), file);
		rc = lf_state_open(&st, "file", NULL, dir, path, &err);
	}
	if (rc == 0)
		rc = lf_state_read(st, &doc, &err);
	if (rc == 0) {
		json_decref(doc.resources);
		doc.resources = lf_rset_to_json(rs);
		rc = lf_state_write(st, &doc, &err);
	}
	if (rc != 0)
		fprintf(stderr, "gen-state: %s\n", err.msg);
	else
		printf("%zu resources\n", rs->n);
	lf_state_doc_clear(&doc);
	lf_state_free(st);
	lf_rset_free(rs);
	lf_spec_free(spec);
	free(path);
	free(dir);
	return rc ? 1 : 0;
}

/* keep only host.* resources (no dependencies among them) */
static struct lf_rset *hosts_only(const struct lf_rset *all)
{
	struct lf_rset *rs;
	size_t i;

	lf_rset_new(&rs);
	for (i = 0; i < all->n; i++)
		if (strcmp(all->v[i].type, "host") == 0)
			lf_rset_add(rs, all->v[i].addr, json_deep_copy(all->v[i].attrs));
	return rs;
}

static int apply_sim(int hosts, int latency, int par)
{
	char yaml[512], tmpl[] = "/tmp/lf-bench-XXXXXX", *statep;
	struct lf_spec *spec = NULL;
	struct lf_diags d;
	struct lf_rset *all = NULL, *des, *cur;
	struct lf_registry *reg = NULL;
	struct lf_driver_pool *pool = NULL;
	struct lf_state *st = NULL;
	struct lf_state_doc doc = { "", 0, NULL };
	struct lf_plan *plan = NULL;
	struct lf_apply_env env;
	struct lf_apply_opts ao = LF_APPLY_OPTS_INIT;
	struct lf_apply_result res;
	struct lf_err err = LF_ERR_INIT;
	double t0, wall;
	int rc;

	snprintf(yaml, sizeof(yaml),
		 "name: bench\nproviders:\n  cloud:\n    driver: sim\n"
		 "    config: {latency_ms: %d}\norgs:\n  - name: ord\n"
		 "    orderers: {count: 1, provider: cloud}\n  - name: org\n"
		 "    peers: {count: %d, provider: cloud}\nchannels:\n"
		 "  - name: c\n    orgs: [org]\n", latency, hosts - 1);
	memset(&d, 0, sizeof(d));
	if (lf_spec_load_buffer(&spec, "bench.yaml", yaml, strlen(yaml), &d) != 0 ||
	    !mkdtemp(tmpl)) {
		lf_diags_print(&d, stderr);
		return 1;
	}
	lf_diags_free(&d);
	lf_expand(spec, &all, &err);
	des = hosts_only(all);
	lf_rset_new(&cur);
	lf_registry_new(&reg);
	lf_driver_pool_new(&pool, reg);
	statep = lf_path_join(tmpl, "state.json");
	lf_state_file_new(&st, statep, &err);
	lf_state_lock(st, 0, "bench", &err);
	lf_state_read(st, &doc, &err);
	memset(&env, 0, sizeof(env));
	env.spec = spec;
	env.workdir = tmpl;
	env.crypto_dir = tmpl;
	env.channels_dir = tmpl;
	env.drivers = pool;
	env.registry = reg;
	env.desired = des;
	env.current = cur;
	lf_plan_make(&plan, &env, des, cur, NULL, &err);
	ao.parallelism = (unsigned int)par;
	t0 = lf_now_s();
	rc = lf_plan_apply(plan, &env, des, st, &doc, &ao, &res, &err);
	wall = lf_now_s() - t0;
	printf("hosts=%d latency_ms=%d parallelism=%d wall_s=%.3f ideal_s=%.3f overhead_pct=%.1f done=%zu failed=%zu rc=%d\n",
	       hosts, latency, par, wall, hosts * latency / 1000.0 / par,
	       100.0 * (wall / (hosts * latency / 1000.0 / par) - 1.0), res.done, res.failed, rc);
	free(res.summary);
	lf_plan_free(plan);
	lf_state_unlock(st, &err);
	lf_state_free(st);
	lf_state_doc_clear(&doc);
	lf_driver_pool_free(pool);
	lf_registry_free(reg);
	lf_rset_free(all);
	lf_rset_free(des);
	lf_rset_free(cur);
	lf_spec_free(spec);
	lf_rmtree(tmpl, &err);
	free(statep);
	return rc ? 1 : 0;
}

static int num(const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (end == s || *end || v < 0 || v > 1000000) {
		fprintf(stderr, "bench_tool: '%s' is not a count\n", s);
		exit(2);
	}
	return (int)v;
}

int main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "gen-spec") == 0)
		return gen_spec(num(argv[2]), num(argv[3]));
	if (argc == 3 && strcmp(argv[1], "gen-state") == 0)
		return gen_state(argv[2]);
	if (argc == 5 && strcmp(argv[1], "apply-sim") == 0)
		return apply_sim(num(argv[2]), num(argv[3]), num(argv[4]));
	fprintf(stderr, "usage: bench_tool gen-spec ORGS PEERS | gen-state SPEC | "
			"apply-sim HOSTS LATENCY_MS PARALLELISM\n");
	return 2;
}
