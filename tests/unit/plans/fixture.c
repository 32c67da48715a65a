#include "fixture.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/util/util.h"

static char *spec_text(const char *sim_config, int peers, const char *image)
{
	return lf_xasprintf(
		"name: fx\n"
		"sizes:\n  small: {vcpus: 2, memory: 4GiB, disk: 50GiB, image: %s}\n"
		"providers:\n  cloud:\n    driver: sim\n%s    config: {%s}\n"
		"orgs:\n"
		"  - name: ordering\n    orderers: {count: 1, provider: cloud, size: small}\n"
		"  - name: bank\n    peers: {count: %d, provider: cloud, size: small}\n"
		"channels:\n  - name: trade\n    orgs: [bank]\n",
		image, strstr(sim_config, "limit2") ? "    parallelism: 2\n" : "",
		strstr(sim_config, "limit2") ? "latency_ms: 30" : sim_config, peers);
}

static void load_spec(struct fx *f, const char *sim_config, int peers, const char *image)
{
	char *text = spec_text(sim_config, peers, image);
	struct lf_diags d;
	struct lf_err err = LF_ERR_INIT;

	memset(&d, 0, sizeof(d));
	lf_spec_free(f->spec);
	lf_rset_free(f->desired);
	f->spec = NULL;
	if (lf_spec_load_buffer(&f->spec, "fx.yaml", text, strlen(text), &d) != 0) {
		lf_diags_print(&d, stderr);
		fail_msg("fixture spec does not load");
	}
	lf_diags_free(&d);
	free(text);
	assert_int_equal(lf_expand(f->spec, &f->desired, &err), 0);
	f->env.spec = f->spec;
	f->env.desired = f->desired;
}

void fx_reload_current(struct fx *f)
{
	struct lf_err err = LF_ERR_INIT;

	lf_rset_free(f->current);
	assert_int_equal(lf_rset_from_json(&f->current, f->doc.resources, &err), 0);
	f->env.current = f->current;
}

void fx_open(struct fx *f, const char *sim_config, int peers)
{
	struct lf_err err = LF_ERR_INIT;
	char *statep, *crypto;

	memset(f, 0, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/lf-plans-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	load_spec(f, sim_config, peers, "debian-12");
	assert_int_equal(lf_registry_new(&f->reg), 0);
	assert_int_equal(lf_driver_pool_new(&f->pool, f->reg), 0);
	statep = lf_path_join(f->dir, "state.json");
	assert_int_equal(lf_state_file_new(&f->state, statep, &err), 0);
	free(statep);
	assert_int_equal(lf_state_lock(f->state, 0, "test", &err), 0);
	assert_int_equal(lf_state_read(f->state, &f->doc, &err), 0);
	fx_reload_current(f);
	crypto = lf_path_join(f->dir, "crypto");
	lf_mkdirs(crypto, 0700, &err);
	f->env.workdir = f->dir;
	f->env.crypto_dir = crypto;
	f->env.channels_dir = f->dir;
	f->env.drivers = f->pool;
	f->env.registry = f->reg;
}

void fx_respec(struct fx *f, const char *sim_config, int peers, const char *image)
{
	load_spec(f, sim_config, peers, image);
}

void fx_close(struct fx *f)
{
	struct lf_err err = LF_ERR_INIT;

	lf_state_unlock(f->state, &err);
	lf_state_free(f->state);
	lf_state_doc_clear(&f->doc);
	lf_driver_pool_free(f->pool);
	lf_registry_free(f->reg);
	lf_rset_free(f->desired);
	lf_rset_free(f->current);
	lf_spec_free(f->spec);
	lf_rmtree(f->dir, &err);
	free((char *)f->env.crypto_dir);
}

struct lf_plan *fx_plan(struct fx *f, const struct lf_plan_opts *o)
{
	struct lf_plan *p = NULL;
	struct lf_err err = LF_ERR_INIT;

	assert_int_equal(lf_plan_make(&p, &f->env, f->desired, f->current, o, &err), 0);
	return p;
}

const struct lf_action *fx_action(const struct lf_plan *p, const char *addr)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		if (strcmp(p->v[i].addr, addr) == 0)
			return &p->v[i];
	return NULL;
}

int fx_apply(struct fx *f, struct lf_plan *p, unsigned int par,
	     struct lf_apply_result *res, FILE *progress)
{
	struct lf_apply_opts ao = LF_APPLY_OPTS_INIT;
	struct lf_err err = LF_ERR_INIT;
	int rc;

	ao.parallelism = par;
	ao.retry_base_ms = 10;
	ao.retry_cap_ms = 40;
	ao.progress = progress;
	rc = lf_plan_apply(p, &f->env, f->desired, f->state, &f->doc, &ao, res, &err);
	fx_reload_current(f);
	return rc;
}
