/*
 * Legacy Kafka consensus (Fabric 1.4 .. 2.x): the orderer system channel
 * genesis block, whose Consortiums group holds the consortium of every
 * application org, and the channel creation transaction of each
 * application channel, as configtxgen -outputCreateChannelTx builds it
 * without a signer (DefaultConfigTemplate, compute_update, then the
 * Consortium value added to the read and write sets).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fabric/block/blk.h"
#include "core/fabric/block/block.h"
#include "core/fabric/block/genesis.h"
#include "core/spec/spec.h"
#include "core/util/util.h"

#define LF_CONSORTIUM "SampleConsortium"
#define LF_ORDERER_ADMINS "/Channel/Orderer/Admins"

static int need_kafka(const struct lf_spec *spec, struct lf_err *err)
{
	if (spec->consensus != LF_CONSENSUS_KAFKA)
		return lf_err_set(err, LF_EINVALID, "the spec's consensus is %s: "
				  "system channel and channel creation "
				  "transactions are for Kafka only",
				  lf_consensus_name(spec->consensus));
	if (spec->fabric_major >= 3)
		return lf_err_set(err, LF_EUNSUPPORTED, "Fabric %s has no Kafka "
				  "consensus (removed in 3.0)",
				  spec->fabric_version ? spec->fabric_version : "3");
	return 0;
}

static void put_consortium_value(Lfpb__ConfigGroup *g, const char *mp)
{
	Lfpb__Consortium c = LFPB__CONSORTIUM__INIT;

	c.name = LF_CONSORTIUM;
	lf_cg_put_value(g, "Consortium", lf_pb_bin(&c.base), mp);
}

static void orderer_addresses(Lfpb__ConfigGroup *g, const struct lf_spec *spec)
{
	Lfpb__OrdererAddresses oa = LFPB__ORDERER_ADDRESSES__INIT;
	char **v = NULL;
	size_t k = 0;

	for (size_t o = 0; o < spec->norgs; o++) {
		const struct lf_org *org = &spec->orgs[o];

		for (size_t i = 0; i < org->nnodes; i++) {
			const struct lf_node *n = &org->nodes[i];
			char *h;

			if (n->kind != LF_NODE_ORDERER)
				continue;
			h = lf_gen_node_host(org, n);
			v = lf_xrealloc(v, (k + 1) * sizeof(*v));
			v[k++] = lf_xasprintf("%s:%u", n->address ? n->address : h,
					      n->port);
			free(h);
		}
	}
	oa.addresses = v;
	oa.n_addresses = k;
	lf_cg_put_value(g, "OrdererAddresses", lf_pb_bin(&oa.base),
			LF_ORDERER_ADMINS);
	for (size_t i = 0; i < k; i++)
		free(v[i]);
	free(v);
}

static int consortium_org(const struct lf_org *org, const char *crypto_dir,
			  Lfpb__ConfigGroup *cons, struct lf_err *err)
{
	Lfpb__ConfigGroup *g = lf_cg_new("Admins");
	int rc = lf_gen_org_policies(g, org->mspid, true, err);

	if (rc == 0)
		rc = lf_gen_org_msp(g, org, crypto_dir, err);
	if (rc == 0)
		lf_cg_put_group(cons, org->mspid, g);
	else
		lf_cg_free(g);
	return rc;
}

/* policydsl's AcceptAllPolicy: NOutOf(0, []) with no identities */
static void accept_all(Lfpb__ConfigGroup *g, const char *name)
{
	Lfpb__SignaturePolicyEnvelope env = LFPB__SIGNATURE_POLICY_ENVELOPE__INIT;
	Lfpb__SignaturePolicy rule = LFPB__SIGNATURE_POLICY__INIT;
	Lfpb__SignaturePolicy__NOutOf no = LFPB__SIGNATURE_POLICY__NOUT_OF__INIT;

	rule.type_case = LFPB__SIGNATURE_POLICY__TYPE_N_OUT_OF;
	rule.n_out_of = &no;
	env.rule = &rule;
	lf_cg_put_policy(g, name, LF_POL_SIGNATURE, lf_pb_bin(&env.base),
			 LF_ORDERER_ADMINS);
}

/* Consortiums{Admins: accept all; SampleConsortium{orgs, ANY Admins}} */
static int consortiums(const struct lf_spec *spec, const char *crypto_dir,
		       Lfpb__ConfigGroup **out, struct lf_err *err)
{
	Lfpb__ConfigGroup *top = lf_cg_new(LF_ORDERER_ADMINS);
	Lfpb__ConfigGroup *cons = lf_cg_new(LF_ORDERER_ADMINS);
	Lfpb__Policy ccp = LFPB__POLICY__INIT;
	int type, rc;

	accept_all(top, "Admins");
	lf_cg_put_group(top, LF_CONSORTIUM, cons);
	rc = lf_policy_encode("ImplicitMeta", "ANY Admins", &type, &ccp.value, err);
	if (rc == 0) {
		ccp.type = LF_POL_IMPLICIT_META;
		lf_cg_put_value(cons, "ChannelCreationPolicy", lf_pb_bin(&ccp.base),
				LF_ORDERER_ADMINS);
		free(ccp.value.data);
	}
	for (size_t i = 0; rc == 0 && i < spec->norgs; i++)
		if (spec->orgs[i].npeers > 0)
			rc = consortium_org(&spec->orgs[i], crypto_dir, cons, err);
	if (rc)
		lf_cg_free(top);
	else
		*out = top;
	return rc;
}

int lf_block_system_genesis(const struct lf_spec *spec,
			    const char *system_channel, const char *crypto_dir,
			    uint8_t **out, size_t *len, struct lf_err *err)
{
	struct lf_channel sys;
	const char *cc, *oc, *ac;
	Lfpb__ConfigGroup *root = NULL, *sub = NULL;
	int rc = need_kafka(spec, err);

	if (rc)
		return rc;
	memset(&sys, 0, sizeof(sys));
	sys.name = (char *)system_channel;
	lf_gen_capabilities(spec, &cc, &oc, &ac);
	root = lf_cg_new("Admins");
	rc = lf_gen_std_policies(root, false, false, err);
	if (rc == 0) {
		lf_gen_simple_values(root, cc);
		orderer_addresses(root, spec);
		rc = lf_gen_orderer(spec, &sys, crypto_dir, &sub, err);
	}
	if (rc == 0) {
		lf_cg_put_group(root, "Orderer", sub);
		rc = consortiums(spec, crypto_dir, &sub, err);
	}
	if (rc == 0) {
		lf_cg_put_group(root, "Consortiums", sub);
		lf_cg_sort(root);
		lf_gen_block0(system_channel, root, out, len);
	}
	lf_cg_free(root);
	return rc;
}

/* the channel profile's group: Consortium + Application, no Orderer */
static int channel_profile(const struct lf_spec *spec, const struct lf_channel *ch,
			   const char *crypto_dir, Lfpb__ConfigGroup **out,
			   struct lf_err *err)
{
	const char *cc, *oc, *ac;
	Lfpb__ConfigGroup *root = lf_cg_new("Admins"), *app = NULL;
	int rc = lf_gen_std_policies(root, false, false, err);

	lf_gen_capabilities(spec, &cc, &oc, &ac);
	if (rc == 0) {
		lf_gen_simple_values(root, cc);
		put_consortium_value(root, "Admins");
		rc = lf_gen_application(spec, ch, crypto_dir, &app, err);
	}
	if (rc == 0) {
		lf_cg_put_group(root, "Application", app);
		rc = lf_gen_overrides(root, spec, ch, err);
	}
	if (rc)
		lf_cg_free(root);
	else
		*out = root;
	return rc;
}

static void strip_app(Lfpb__ConfigGroup *t)
{
	Lfpb__ConfigGroup *app = lf_cg_group(t, "Application");

	for (size_t i = 0; app && i < app->n_values; i++)
		protobuf_c_message_free_unpacked(&app->values[i]->base, NULL);
	for (size_t i = 0; app && i < app->n_policies; i++)
		protobuf_c_message_free_unpacked(&app->policies[i]->base, NULL);
	if (!app)
		return;
	app->n_values = 0;
	app->n_policies = 0;
}

static void add_consortium_sets(Lfpb__ConfigGroup *rs, Lfpb__ConfigGroup *ws)
{
	ProtobufCBinaryData none = { 0, NULL };

	lf_cg_put_value(rs, "Consortium", none, NULL);
	put_consortium_value(ws, NULL);
}

int lf_block_channel_tx(const struct lf_spec *spec, const char *channel,
			const char *crypto_dir, uint8_t **out, size_t *len,
			struct lf_err *err)
{
	const struct lf_channel *ch = lf_gen_channel(spec, channel);
	Lfpb__ConfigGroup *next = NULL, *tmpl = NULL, *rs = NULL, *ws = NULL;
	Lfpb__ConfigUpdate cu = LFPB__CONFIG_UPDATE__INIT;
	Lfpb__ConfigUpdateEnvelope ce = LFPB__CONFIG_UPDATE_ENVELOPE__INIT;
	ProtobufCBinaryData data, env;
	int rc = need_kafka(spec, err);

	if (rc == 0 && !ch)
		rc = lf_err_set(err, LF_ENOTFOUND, "channel '%s' is not in the "
				"spec", channel ? channel : "");
	if (rc == 0)
		rc = channel_profile(spec, ch, crypto_dir, &next, err);
	if (rc)
		return rc;
	tmpl = lf_cg_dup(next);
	strip_app(tmpl);
	lf_update__sets(tmpl, next, &rs, &ws);
	add_consortium_sets(rs, ws);
	lf_cg_sort(rs);
	lf_cg_sort(ws);
	cu.channel_id = (char *)channel;
	cu.read_set = rs;
	cu.write_set = ws;
	ce.config_update = lf_pb_bin(&cu.base);
	data = lf_pb_bin(&ce.base);
	lf_gen_envelope(LF_HDR_CONFIG_UPDATE, 0, channel, data, &env);
	*out = env.data;
	*len = env.len;
	free(data.data);
	free(ce.config_update.data);
	lf_cg_free(rs);
	lf_cg_free(ws);
	lf_cg_free(tmpl);
	lf_cg_free(next);
	return 0;
}
