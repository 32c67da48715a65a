/*
 * The planner: every action kind (create, no-op, update in place, replace,
 * delete), replacement following a dependency, targets, destroy plans,
 * saved plan files, attributes that take a dependency's outputs (a node's
 * TLS SANs: its sim host's address) at plan and within the apply.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/util/util.h"
#include "fixture.h"

static void apply_all(struct fx *f)
{
	struct lf_plan *p = fx_plan(f, NULL);
	struct lf_apply_result res;

	assert_int_equal(fx_apply(f, p, 10, &res, NULL), 0);
	free(res.summary);
	lf_plan_free(p);
}

static void test_plans_create_then_noop(void **state)
{
	struct fx f;
	struct lf_plan *p;

	(void)state;
	fx_open(&f, "seed: 1", 2);
	p = fx_plan(&f, NULL);
	assert_int_equal(fx_action(p, "host.bank.peer1")->kind, LF_ACT_CREATE);
	assert_int_equal(fx_action(p, "node.bank.peer1")->kind, LF_ACT_CREATE);
	assert_int_equal(p->ndestroy, 0);
	assert_true(p->nadd >= 6);
	lf_plan_free(p);
	apply_all(&f);
	p = fx_plan(&f, NULL);
	assert_false(lf_plan_has_changes(p));
	assert_int_equal(fx_action(p, "host.bank.peer0")->kind, LF_ACT_NOOP);
	lf_plan_free(p);
	fx_close(&f);
}

static void test_plans_update_replace_delete(void **state)
{
	struct fx f;
	struct lf_plan *p;
	const struct lf_action *a;
	size_t i;
	bool forced = false;

	(void)state;
	fx_open(&f, "seed: 1", 3);
	apply_all(&f);

	/* vcpus/memory: the sim driver resizes in place */
	fx_respec(&f, "seed: 1", 3, "debian-12");
	json_object_set_new(lf_rset_get(f.desired, "host.bank.peer0")->attrs, "vcpus",
			    json_integer(8));
	lf_resource_rehash(lf_rset_get(f.desired, "host.bank.peer0"));
	p = fx_plan(&f, NULL);
	a = fx_action(p, "host.bank.peer0");
	assert_int_equal(a->kind, LF_ACT_UPDATE);
	assert_int_equal(a->nchanges, 1);
	assert_string_equal(a->changes[0].key, "vcpus");
	assert_int_equal(json_integer_value(a->changes[0].old_val), 2);
	assert_int_equal(json_integer_value(a->changes[0].new_val), 8);
	assert_false(a->changes[0].forces_replace);
	assert_int_equal(p->nchange, 1);
	lf_plan_free(p);

	/* image: not in place on the sim cloud -> replace, and the node on
	 * the replaced host follows (update, with the reason) */
	fx_respec(&f, "seed: 1", 2, "debian-13");
	p = fx_plan(&f, NULL);
	a = fx_action(p, "host.bank.peer0");
	assert_int_equal(a->kind, LF_ACT_REPLACE);
	for (i = 0; i < a->nchanges; i++)
		if (strcmp(a->changes[i].key, "image") == 0)
			forced = a->changes[i].forces_replace;
	assert_true(forced);
	a = fx_action(p, "node.bank.peer0");
	assert_int_equal(a->kind, LF_ACT_UPDATE);
	assert_non_null(a->reason);
	assert_non_null(strstr(a->reason, "host.bank.peer0"));
	/* peer2 left the spec: its node and host are deleted */
	assert_int_equal(fx_action(p, "host.bank.peer2")->kind, LF_ACT_DELETE);
	assert_int_equal(fx_action(p, "node.bank.peer2")->kind, LF_ACT_DELETE);
	lf_plan_free(p);
	fx_close(&f);
}

static void test_plans_target_and_destroy(void **state)
{
	struct fx f;
	struct lf_plan *p;
	const char *targets[] = { "node.bank.peer1", NULL };
	const char *bad[] = { "host.nope.x", NULL };
	struct lf_plan_opts o = { false, targets };
	struct lf_plan_opts ob = { false, bad };
	struct lf_plan_opts od = { true, NULL };
	struct lf_err err = LF_ERR_INIT;
	size_t i;

	(void)state;
	fx_open(&f, "seed: 1", 3);
	p = fx_plan(&f, &o);
	assert_non_null(fx_action(p, "node.bank.peer1"));
	assert_non_null(fx_action(p, "host.bank.peer1"));
	assert_null(fx_action(p, "host.bank.peer0"));
	assert_null(fx_action(p, "node.ordering.orderer0"));
	lf_plan_free(p);
	p = NULL;
	assert_int_equal(lf_plan_make(&p, &f.env, f.desired, f.current, &ob, &err), LF_EINVALID);
	assert_non_null(strstr(err.msg, "host.nope.x"));
	apply_all(&f);
	/* a targeted destroy takes what depends on the target along, and
	 * nothing the target depends on */
	{
		const char *ht[] = { "host.bank.peer1", NULL };
		struct lf_plan_opts odt = { true, ht };

		p = fx_plan(&f, &odt);
		assert_int_equal(fx_action(p, "host.bank.peer1")->kind, LF_ACT_DELETE);
		assert_int_equal(fx_action(p, "node.bank.peer1")->kind, LF_ACT_DELETE);
		assert_null(fx_action(p, "crypto.bank.peer1"));
		assert_null(fx_action(p, "host.bank.peer0"));
		/* the peer's channel membership goes with it */
		assert_int_equal(fx_action(p, "join.trade.bank.peer1")->kind, LF_ACT_DELETE);
		assert_null(fx_action(p, "join.trade.bank.peer0"));
		assert_int_equal(p->ndestroy, 3);
		lf_plan_free(p);
	}
	p = fx_plan(&f, &od);
	assert_int_equal(p->nadd, 0);
	assert_int_equal(p->ndestroy, f.current->n);
	for (i = 0; i < p->n; i++)
		assert_int_equal(p->v[i].kind, LF_ACT_DELETE);
	lf_plan_free(p);
	fx_close(&f);
}

static void test_plans_save_load(void **state)
{
	struct fx f;
	struct lf_plan *p, *q = NULL;
	struct lf_err err = LF_ERR_INIT;
	char *path;

	(void)state;
	fx_open(&f, "seed: 1", 1);
	p = fx_plan(&f, NULL);
	snprintf(p->lineage, sizeof(p->lineage), "11111111-2222-4333-8444-555555555555");
	p->serial = 7;
	p->spec_file = lf_xstrdup("fx.yaml");
	path = lf_path_join(f.dir, "saved.plan");
	assert_int_equal(lf_plan_save(p, path, &err), 0);
	assert_int_equal(lf_plan_load(&q, path, &err), 0);
	assert_string_equal(q->lineage, p->lineage);
	assert_int_equal(q->serial, 7);
	assert_int_equal(q->n, p->nadd);
	assert_string_equal(q->spec_file, "fx.yaml");
	lf_plan_free(q);
	lf_write_file_atomic(path, "{\"format\": \"other\"}", 19, 0600, &err);
	q = NULL;
	assert_int_equal(lf_plan_load(&q, path, &err), LF_EINVALID);
	assert_null(q);
	free(path);
	lf_plan_free(p);
	fx_close(&f);
}

/* a change the type refuses (a live channel's consensus) fails the plan */
static void test_plans_refused_change(void **state)
{
	struct fx f;
	struct lf_plan *p = NULL;
	struct lf_resource *ch;
	struct lf_err err = LF_ERR_INIT;

	(void)state;
	fx_open(&f, "seed: 1", 1);
	apply_all(&f);
	ch = lf_rset_get(f.desired, "channel.trade");
	assert_non_null(ch);
	/* attrs are shared with the recorded state: replace, never edit */
	{
		json_t *copy = json_deep_copy(ch->attrs);

		json_decref(ch->attrs);
		ch->attrs = copy;
	}
	json_object_set_new(ch->attrs, "consensus", json_string("BFT"));
	lf_resource_rehash(ch);
	assert_int_equal(lf_plan_make(&p, &f.env, f.desired, f.current, NULL, &err),
			 LF_EINVALID);
	assert_null(p);
	assert_non_null(strstr(err.msg, "channel.trade"));
	assert_non_null(strstr(err.msg, "etcdraft -> BFT"));
	fx_close(&f);
}

/* the recorded host_sans of peer0's identity, and the recorded address of
 * its host */
static void recorded_sans(struct fx *f, const char **sans, const char **addr)
{
	const struct lf_resource *id = lf_rset_get(f->current, "crypto.bank.peer0");
	const struct lf_resource *h = lf_rset_get(f->current, "host.bank.peer0");

	*sans = json_string_value(json_array_get(json_object_get(id->attrs, "host_sans"), 0));
	*addr = json_string_value(json_object_get(h->outputs, "machine_address"));
	assert_non_null(*addr);
	assert_int_equal(json_array_size(json_object_get(id->attrs, "host_sans")), 1);
}

static void test_plans_host_sans_follow_host(void **state)
{
	struct fx f;
	struct lf_plan *p;
	const struct lf_action *a;
	const char *sans, *addr;
	char *before;

	(void)state;
	fx_open(&f, "seed: 1", 1);
	p = fx_plan(&f, NULL);
	a = fx_action(p, "crypto.bank.peer0");
	assert_int_equal(a->kind, LF_ACT_CREATE);
	assert_string_equal(json_string_value(json_object_get(a->attrs, "host_sans")),
			    LF_KNOWN_AFTER_APPLY);
	lf_plan_free(p);
	/* the create issues the identity from the host made in the same apply */
	apply_all(&f);
	recorded_sans(&f, &sans, &addr);
	assert_string_equal(sans, addr);
	assert_string_equal(json_string_value(json_object_get(
		lf_rset_get(f.current, "node.bank.peer0")->attrs, "crypto")),
		lf_rset_get(f.current, "crypto.bank.peer0")->hash);
	before = lf_xstrdup(addr);
	fx_respec(&f, "seed: 1", 1, "debian-12");
	p = fx_plan(&f, NULL);
	assert_false(lf_plan_has_changes(p));
	lf_plan_free(p);
	/* a new image replaces the host: its address is known after apply */
	fx_respec(&f, "seed: 1", 1, "debian-13");
	p = fx_plan(&f, NULL);
	a = fx_action(p, "crypto.bank.peer0");
	assert_int_equal(a->kind, LF_ACT_UPDATE);
	assert_int_equal(a->nchanges, 1);
	assert_string_equal(a->changes[0].key, "host_sans");
	assert_string_equal(json_string_value(a->changes[0].new_val), LF_KNOWN_AFTER_APPLY);
	assert_int_equal(fx_action(p, "node.bank.peer0")->kind, LF_ACT_UPDATE);
	/* what takes nothing from the host is not touched */
	assert_int_equal(fx_action(p, "crypto.bank.ca")->kind, LF_ACT_NOOP);
	assert_int_equal(fx_action(p, "crypto.bank.admin")->kind, LF_ACT_NOOP);
	lf_plan_free(p);
	apply_all(&f);
	recorded_sans(&f, &sans, &addr);
	assert_string_equal(sans, addr);
	assert_string_not_equal(addr, before);
	fx_respec(&f, "seed: 1", 1, "debian-13");
	p = fx_plan(&f, NULL);
	assert_false(lf_plan_has_changes(p));
	lf_plan_free(p);
	free(before);
	fx_close(&f);
}

/* the plan's read of the state fills in what identities and nodes take
 * from their hosts' recorded outputs first, so that their matching
 * records share the desired attributes (parsing none), as others do */
static void test_plans_read_shares_resolved(void **state)
{
	static const char *const addrs[] = { "crypto.bank.peer0", "node.bank.peer0",
					     "host.bank.peer0", "crypto.bank.ca" };
	struct fx f;
	struct lf_state_doc doc;
	struct lf_rset *cur = NULL;
	struct lf_err err = LF_ERR_INIT;

	(void)state;
	fx_open(&f, "seed: 1", 1);
	apply_all(&f);
	fx_respec(&f, "seed: 1", 1, "debian-12");
	assert_null(json_object_get(lf_rset_get(f.desired, "crypto.bank.peer0")->attrs,
				    "host_sans"));
	assert_int_equal(lf_state_read_raw(f.state, &doc, &err), 0);
	assert_non_null(doc.raw);
	assert_int_equal(lf_plan_read_current(&cur, doc.raw, f.desired, &err), 0);
	assert_int_equal(cur->n, f.current->n);
	assert_non_null(json_object_get(lf_rset_get(f.desired, "crypto.bank.peer0")->attrs,
					"host_sans"));
	for (size_t i = 0; i < LF_ARRAY_LEN(addrs); i++)
		assert_ptr_equal(lf_rset_get(cur, addrs[i])->attrs,
				 lf_rset_get(f.desired, addrs[i])->attrs);
	lf_rset_free(cur);
	lf_state_doc_clear(&doc);
	fx_close(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plans_create_then_noop),
		cmocka_unit_test(test_plans_update_replace_delete),
		cmocka_unit_test(test_plans_target_and_destroy),
		cmocka_unit_test(test_plans_save_load),
		cmocka_unit_test(test_plans_refused_change),
		cmocka_unit_test(test_plans_host_sans_follow_host),
		cmocka_unit_test(test_plans_read_shares_resolved),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
