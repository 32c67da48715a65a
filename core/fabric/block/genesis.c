/*
 * Channel genesis blocks, as configtxgen -outputBlock builds them from a
 * profile with an Orderer and an Application section (channel
 * participation, Fabric 2.3+): the channel config group (values,
 * policies and ACLs of Fabric's sample configtx.yaml, overridable in the
 * spec), wrapped in a CONFIG envelope in block 0 with Fabric's data hash
 * and metadata. Also the legacy Kafka system channel and channel creation
 * transactions.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fabric/block/blk.h"
#include "core/fabric/block/block.h"
#include "core/fabric/block/genesis.h"
#include "core/spec/spec.h"
#include "core/util/util.h"

static const char *const sample_acls[][2] = {
	{ "_lifecycle/CheckCommitReadiness", "/Channel/Application/Writers" },
	{ "_lifecycle/CommitChaincodeDefinition", "/Channel/Application/Writers" },
	{ "_lifecycle/QueryChaincodeDefinition", "/Channel/Application/Writers" },
	{ "_lifecycle/QueryChaincodeDefinitions", "/Channel/Application/Writers" },
	{ "lscc/ChaincodeExists", "/Channel/Application/Readers" },
	{ "lscc/GetDeploymentSpec", "/Channel/Application/Readers" },
	{ "lscc/GetChaincodeData", "/Channel/Application/Readers" },
	{ "lscc/GetInstantiatedChaincodes", "/Channel/Application/Readers" },
	{ "qscc/GetChainInfo", "/Channel/Application/Readers" },
	{ "qscc/GetBlockByNumber", "/Channel/Application/Readers" },
	{ "qscc/GetBlockByHash", "/Channel/Application/Readers" },
	{ "qscc/GetTransactionByID", "/Channel/Application/Readers" },
	{ "qscc/GetBlockByTxID", "/Channel/Application/Readers" },
	{ "cscc/GetConfigBlock", "/Channel/Application/Readers" },
	{ "cscc/GetChannelConfig", "/Channel/Application/Readers" },
	{ "peer/Propose", "/Channel/Application/Writers" },
	{ "peer/ChaincodeToChaincode", "/Channel/Application/Writers" },
	{ "event/Block", "/Channel/Application/Readers" },
	{ "event/FilteredBlock", "/Channel/Application/Readers" },
};

/* lookups of our own: the renderer needs nothing of the spec module but
 * its model */
const struct lf_org *lf_gen_org(const struct lf_spec *spec, const char *name)
{
	for (size_t i = 0; spec && name && i < spec->norgs; i++)
		if (lf_streq(spec->orgs[i].name, name) ||
		    lf_streq(spec->orgs[i].mspid, name))
			return &spec->orgs[i];
	return NULL;
}

static const struct lf_node *gen_node(const struct lf_org *org,
				      const char *name)
{
	for (size_t i = 0; org && i < org->nnodes; i++)
		if (lf_streq(org->nodes[i].name, name))
			return &org->nodes[i];
	return NULL;
}

const struct lf_channel *lf_gen_channel(const struct lf_spec *spec,
					const char *name)
{
	for (size_t i = 0; spec && i < spec->nchannels; i++)
		if (lf_streq(spec->channels[i].name, name))
			return &spec->channels[i];
	return NULL;
}

char *lf_gen_org_dir(const struct lf_org *org, const char *crypto_dir)
{
	const char *kind = (org->norderers > 0 && org->npeers == 0)
		? "ordererOrganizations" : "peerOrganizations";

	return lf_xasprintf("%s/%s/%s", crypto_dir, kind, org->domain);
}

char *lf_gen_node_host(const struct lf_org *org, const struct lf_node *n)
{
	if (n->hostname)
		return lf_xstrdup(n->hostname);
	return lf_xasprintf("%s.%s", n->name, org->domain);
}

static const char *node_addr(const struct lf_node *n, const char *host)
{
	return n->address ? n->address : host;
}

/* consenters of a channel: explicit "ORG.NODE" refs or every orderer */
int lf_gen_consenters(const struct lf_spec *spec, const struct lf_channel *ch,
		      struct lf_gen_cons **out, size_t *n, struct lf_err *err)
{
	struct lf_gen_cons *v = NULL;
	size_t k = 0;

	*out = NULL;
	*n = 0;
	for (size_t i = 0; ch->nconsenters && i < ch->nconsenters; i++) {
		const char *ref = ch->consenters[i], *dot = strchr(ref, '.');
		char *org = dot ? lf_xstrndup(ref, (size_t)(dot - ref)) : NULL;
		const struct lf_org *o = lf_gen_org(spec, org);
		const struct lf_node *node = gen_node(o, dot ? dot + 1 : NULL);

		v = lf_xrealloc(v, (k + 1) * sizeof(*v));
		v[k].org = o;
		v[k].node = node;
		free(org);
		if (!v[k].org || !node || node->kind != LF_NODE_ORDERER) {
			free(v);
			return lf_err_set(err, LF_EINVALID, "channel '%s': "
					  "consenter '%s' is not an orderer "
					  "of the spec", ch->name, ref);
		}
		k++;
	}
	for (size_t o = 0; ch->nconsenters == 0 && o < spec->norgs; o++) {
		const struct lf_org *org = &spec->orgs[o];

		for (size_t j = 0; j < org->nnodes; j++) {
			if (org->nodes[j].kind != LF_NODE_ORDERER)
				continue;
			v = lf_xrealloc(v, (k + 1) * sizeof(*v));
			v[k].org = org;
			v[k++].node = &org->nodes[j];
		}
	}
	if (k == 0)
		return lf_err_set(err, LF_EINVALID, "channel '%s': no orderer "
				  "to act as consenter", ch->name);
	*out = v;
	*n = k;
	return 0;
}

static bool org_in(const struct lf_org *org, const struct lf_gen_cons *c,
		   size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (c[i].org == org)
			return true;
	return false;
}

/* ---- org groups ---- */
int lf_gen_org_policies(Lfpb__ConfigGroup *g, const char *mspid, bool endorse,
			struct lf_err *err)
{
	char *member = lf_xasprintf("OR('%s.member')", mspid);
	char *admin = lf_xasprintf("OR('%s.admin')", mspid);
	int rc = lf_cg_add_policy(g, "Readers", "Signature", member, err);

	if (rc == 0)
		rc = lf_cg_add_policy(g, "Writers", "Signature", member, err);
	if (rc == 0)
		rc = lf_cg_add_policy(g, "Admins", "Signature", admin, err);
	if (rc == 0 && endorse)
		rc = lf_cg_add_policy(g, "Endorsement", "Signature", member, err);
	free(member);
	free(admin);
	return rc;
}

int lf_gen_org_msp(Lfpb__ConfigGroup *g, const struct lf_org *org,
		   const char *crypto_dir, struct lf_err *err)
{
	char *dir = lf_gen_org_dir(org, crypto_dir);
	char *msp = lf_path_join(dir, "msp");
	ProtobufCBinaryData b;
	int rc = lf_msp_value(msp, org->mspid, &b, err);

	if (rc == 0)
		lf_cg_put_value(g, "MSP", b, "Admins");
	free(msp);
	free(dir);
	return rc;
}

static void anchor_peers(Lfpb__ConfigGroup *g, const struct lf_org *org)
{
	Lfpb__AnchorPeers ap = LFPB__ANCHOR_PEERS__INIT;
	Lfpb__AnchorPeer *v = NULL, **pv = NULL;
	char **hosts = NULL;
	size_t k = 0;

	for (size_t i = 0; i < org->nanchor_peers; i++) {
		const struct lf_node *n = NULL;

		for (size_t j = 0; j < org->nnodes && !n; j++)
			if (lf_streq(org->nodes[j].name, org->anchor_peers[i]))
				n = &org->nodes[j];
		if (!n)
			continue;
		v = lf_xrealloc(v, (k + 1) * sizeof(*v));
		hosts = lf_xrealloc(hosts, (k + 1) * sizeof(*hosts));
		hosts[k] = lf_gen_node_host(org, n);
		lfpb__anchor_peer__init(&v[k]);
		v[k].host = (char *)node_addr(n, hosts[k]);
		v[k].port = (int32_t)n->port;
		k++;
	}
	if (k) {
		pv = lf_xmalloc(k * sizeof(*pv));
		for (size_t i = 0; i < k; i++)
			pv[i] = &v[i];
		ap.anchor_peers = pv;
		ap.n_anchor_peers = k;
		lf_cg_put_value(g, "AnchorPeers", lf_pb_bin(&ap.base), "Admins");
	}
	for (size_t i = 0; i < k; i++)
		free(hosts[i]);
	free(hosts);
	free(pv);
	free(v);
}

static int app_org_group(const struct lf_org *org, const char *crypto_dir,
			 Lfpb__ConfigGroup **out, struct lf_err *err)
{
	Lfpb__ConfigGroup *g = lf_cg_new("Admins");
	int rc = lf_gen_org_policies(g, org->mspid, true, err);

	if (rc == 0)
		rc = lf_gen_org_msp(g, org, crypto_dir, err);
	if (rc == 0)
		anchor_peers(g, org);
	if (rc)
		lf_cg_free(g);
	else
		*out = g;
	return rc;
}

static void endpoints(Lfpb__ConfigGroup *g, const struct lf_org *org)
{
	Lfpb__OrdererAddresses oa = LFPB__ORDERER_ADDRESSES__INIT;
	char **v = lf_xcalloc(org->nnodes + 1, sizeof(char *));
	size_t k = 0;

	for (size_t i = 0; i < org->nnodes; i++) {
		const struct lf_node *n = &org->nodes[i];
		char *host;

		if (n->kind != LF_NODE_ORDERER)
			continue;
		host = lf_gen_node_host(org, n);
		v[k++] = lf_xasprintf("%s:%u", node_addr(n, host), n->port);
		free(host);
	}
	oa.addresses = v;
	oa.n_addresses = k;
	if (k)
		lf_cg_put_value(g, "Endpoints", lf_pb_bin(&oa.base), "Admins");
	for (size_t i = 0; i < k; i++)
		free(v[i]);
	free(v);
}

static int orderer_org_group(const struct lf_org *org, const char *crypto_dir,
			     Lfpb__ConfigGroup **out, struct lf_err *err)
{
	Lfpb__ConfigGroup *g = lf_cg_new("Admins");
	int rc = lf_gen_org_policies(g, org->mspid, false, err);

	if (rc == 0)
		rc = lf_gen_org_msp(g, org, crypto_dir, err);
	if (rc == 0)
		endpoints(g, org);
	if (rc)
		lf_cg_free(g);
	else
		*out = g;
	return rc;
}

/* ---- values ---- */
void lf_gen_capability(Lfpb__ConfigGroup *g, const char *name)
{
	Lfpb__Capabilities caps = LFPB__CAPABILITIES__INIT;
	Lfpb__Capabilities__CapabilitiesEntry e =
		LFPB__CAPABILITIES__CAPABILITIES_ENTRY__INIT;
	Lfpb__Capabilities__CapabilitiesEntry *pe = &e;
	Lfpb__Capability cap = LFPB__CAPABILITY__INIT;

	e.key = (char *)name;
	e.value = &cap;
	caps.capabilities = &pe;
	caps.n_capabilities = 1;
	lf_cg_put_value(g, "Capabilities", lf_pb_bin(&caps.base), "Admins");
}

void lf_gen_capabilities(const struct lf_spec *spec, const char **channel,
			 const char **orderer, const char **application)
{
	bool v3 = spec->fabric_major >= 3;
	bool v25 = v3 || (spec->fabric_major == 2 && spec->fabric_minor >= 5);

	*channel = v3 ? "V3_0" : "V2_0";
	*orderer = "V2_0";
	*application = v25 ? "V2_5" : "V2_0";
}

static void put_acls(Lfpb__ConfigGroup *g)
{
	size_t n = LF_ARRAY_LEN(sample_acls);
	Lfpb__ACLs acls = LFPB__ACLS__INIT;
	Lfpb__ACLs__AclsEntry *e = lf_xcalloc(n, sizeof(*e)), **pe;
	Lfpb__APIResource *r = lf_xcalloc(n, sizeof(*r));

	pe = lf_xcalloc(n, sizeof(*pe));
	for (size_t i = 0; i < n; i++) {
		lfpb__acls__acls_entry__init(&e[i]);
		lfpb__apiresource__init(&r[i]);
		r[i].policy_ref = (char *)sample_acls[i][1];
		e[i].key = (char *)sample_acls[i][0];
		e[i].value = &r[i];
		pe[i] = &e[i];
	}
	/* sorted keys: deterministic, as Go's deterministic marshal */
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && strcmp(pe[j - 1]->key, pe[j]->key) > 0; j--) {
			Lfpb__ACLs__AclsEntry *t = pe[j];

			pe[j] = pe[j - 1];
			pe[j - 1] = t;
		}
	acls.acls = pe;
	acls.n_acls = n;
	lf_cg_put_value(g, "ACLs", lf_pb_bin(&acls.base), "Admins");
	free(pe);
	free(r);
	free(e);
}

int lf_gen_std_policies(Lfpb__ConfigGroup *g, bool app, bool orderer,
			struct lf_err *err)
{
	int rc = lf_cg_add_policy(g, "Readers", "ImplicitMeta", "ANY Readers", err);

	if (rc == 0)
		rc = lf_cg_add_policy(g, "Writers", "ImplicitMeta", "ANY Writers", err);
	if (rc == 0)
		rc = lf_cg_add_policy(g, "Admins", "ImplicitMeta", "MAJORITY Admins", err);
	if (rc == 0 && app)
		rc = lf_cg_add_policy(g, "Endorsement", "ImplicitMeta",
				      "MAJORITY Endorsement", err);
	if (rc == 0 && app)
		rc = lf_cg_add_policy(g, "LifecycleEndorsement", "ImplicitMeta",
				      "MAJORITY Endorsement", err);
	if (rc == 0 && orderer)
		rc = lf_cg_add_policy(g, "BlockValidation", "ImplicitMeta",
				      "ANY Writers", err);
	return rc;
}

int lf_gen_application(const struct lf_spec *spec, const struct lf_channel *ch,
		       const char *crypto_dir, Lfpb__ConfigGroup **out,
		       struct lf_err *err)
{
	const char *cc, *oc, *ac;
	Lfpb__ConfigGroup *g = lf_cg_new("Admins"), *og = NULL;
	int rc = lf_gen_std_policies(g, true, false, err);

	lf_gen_capabilities(spec, &cc, &oc, &ac);
	if (rc == 0) {
		put_acls(g);
		lf_gen_capability(g, ac);
	}
	for (size_t i = 0; rc == 0 && i < ch->norgs; i++) {
		const struct lf_org *org = lf_gen_org(spec, ch->orgs[i]);

		if (!org) {
			rc = lf_err_set(err, LF_EINVALID, "channel '%s': unknown "
					"org '%s'", ch->name, ch->orgs[i]);
			break;
		}
		rc = app_org_group(org, crypto_dir, &og, err);
		if (rc == 0)
			lf_cg_put_group(g, org->mspid, og);
	}
	if (rc)
		lf_cg_free(g);
	else
		*out = g;
	return rc;
}

static void put_batch(Lfpb__ConfigGroup *g, const struct lf_batch *b)
{
	Lfpb__BatchSize bs = LFPB__BATCH_SIZE__INIT;
	Lfpb__BatchTimeout bt = LFPB__BATCH_TIMEOUT__INIT;
	Lfpb__ChannelRestrictions cr = LFPB__CHANNEL_RESTRICTIONS__INIT;
	char tmo[32];

	bs.max_message_count = b->max_message_count ? b->max_message_count : 10;
	bs.absolute_max_bytes = b->absolute_max_bytes ? b->absolute_max_bytes
						      : 103809024;
	bs.preferred_max_bytes = b->preferred_max_bytes ? b->preferred_max_bytes
							: 524288;
	lf_go_duration(b->timeout_ms ? b->timeout_ms : 2000, tmo);
	bt.timeout = tmo;
	lf_cg_put_value(g, "BatchSize", lf_pb_bin(&bs.base), "Admins");
	lf_cg_put_value(g, "BatchTimeout", lf_pb_bin(&bt.base), "Admins");
	lf_cg_put_value(g, "ChannelRestrictions", lf_pb_bin(&cr.base), "Admins");
}

static char *cons_file(const struct lf_gen_cons *c, const char *crypto_dir,
		       const char *rel)
{
	char *dir = lf_gen_org_dir(c->org, crypto_dir);
	char *host = lf_gen_node_host(c->org, c->node);
	char *p = lf_xasprintf("%s/orderers/%s/%s", dir, host, rel);

	free(host);
	free(dir);
	return p;
}

static int raft_metadata(const struct lf_gen_cons *c, size_t n,
			 const char *crypto_dir, ProtobufCBinaryData *out,
			 struct lf_err *err)
{
	Lfpb__RaftConfigMetadata md = LFPB__RAFT_CONFIG_METADATA__INIT;
	Lfpb__RaftOptions op = LFPB__RAFT_OPTIONS__INIT;
	Lfpb__RaftConsenter *v = lf_xcalloc(n, sizeof(*v)), **pv;
	char **hosts = lf_xcalloc(n, sizeof(char *));
	int rc = 0;

	pv = lf_xcalloc(n, sizeof(*pv));
	for (size_t i = 0; i < n && rc == 0; i++) {
		char *p = cons_file(&c[i], crypto_dir, "tls/server.crt");

		lfpb__raft_consenter__init(&v[i]);
		hosts[i] = lf_gen_node_host(c[i].org, c[i].node);
		v[i].host = (char *)node_addr(c[i].node, hosts[i]);
		v[i].port = c[i].node->port;
		rc = lf_blk_read_bin(p, &v[i].server_tls_cert, err);
		v[i].client_tls_cert = v[i].server_tls_cert;
		pv[i] = &v[i];
		free(p);
	}
	op.tick_interval = "500ms";
	op.election_tick = 10;
	op.heartbeat_tick = 1;
	op.max_inflight_blocks = 5;
	op.snapshot_interval_size = 16 * 1024 * 1024;
	md.consenters = pv;
	md.n_consenters = n;
	md.options = &op;
	if (rc == 0)
		*out = lf_pb_bin(&md.base);
	for (size_t i = 0; i < n; i++) {
		free(v[i].server_tls_cert.data);
		free(hosts[i]);
	}
	free(hosts);
	free(pv);
	free(v);
	return rc;
}

static void bft_options(ProtobufCBinaryData *out)
{
	Lfpb__BftOptions o = LFPB__BFT_OPTIONS__INIT;

	o.request_batch_max_count = 100;
	o.request_batch_max_bytes = 10 * 1024 * 1024;
	o.request_batch_max_interval = "50ms";
	o.incoming_message_buffer_size = 200;
	o.request_pool_size = 400;
	o.request_forward_timeout = "2s";
	o.request_complain_timeout = "20s";
	o.request_auto_remove_timeout = "3m0s";
	o.view_change_resend_interval = "5s";
	o.view_change_timeout = "20s";
	o.leader_heartbeat_timeout = "1m0s";
	o.leader_heartbeat_count = 10;
	o.collect_timeout = "1s";
	o.leader_rotation = 0;    /* ROTATION_UNSPECIFIED, as configtxgen */
	*out = lf_pb_bin(&o.base);
}

static int bft_consenters(Lfpb__ConfigGroup *g, const struct lf_gen_cons *c,
			  size_t n, const char *crypto_dir, struct lf_err *err)
{
	Lfpb__Orderers ord = LFPB__ORDERERS__INIT;
	Lfpb__Consenter *v = lf_xcalloc(n, sizeof(*v)), **pv;
	char **hosts = lf_xcalloc(n, sizeof(char *));
	int rc = 0;

	pv = lf_xcalloc(n, sizeof(*pv));
	for (size_t i = 0; i < n && rc == 0; i++) {
		char *tls = cons_file(&c[i], crypto_dir, "tls/server.crt");
		char *host = lf_gen_node_host(c[i].org, c[i].node);
		char *rel = lf_xasprintf("msp/signcerts/%s-cert.pem", host);
		char *id = cons_file(&c[i], crypto_dir, rel);

		lfpb__consenter__init(&v[i]);
		hosts[i] = host;
		v[i].id = (uint32_t)(i + 1);
		v[i].host = (char *)node_addr(c[i].node, host);
		v[i].port = c[i].node->port;
		v[i].msp_id = c[i].org->mspid;
		rc = lf_blk_read_bin(tls, &v[i].server_tls_cert, err);
		v[i].client_tls_cert = v[i].server_tls_cert;
		if (rc == 0)
			rc = lf_blk_read_bin(id, &v[i].identity, err);
		pv[i] = &v[i];
		free(tls);
		free(rel);
		free(id);
	}
	ord.consenter_mapping = pv;
	ord.n_consenter_mapping = n;
	if (rc == 0)
		lf_cg_put_value(g, "Orderers", lf_pb_bin(&ord.base), "Admins");
	if (rc == 0)
		lf_gen_bft_policy(g, &ord);
	for (size_t i = 0; i < n; i++) {
		free(v[i].server_tls_cert.data);
		free(v[i].identity.data);
		free(hosts[i]);
	}
	free(hosts);
	free(pv);
	free(v);
	return rc;
}

/* BlockValidation of a BFT channel: quorum of the consenters' identities
 * (Fabric's EncodeBFTBlockVerificationPolicy) */
void lf_gen_bft_policy(Lfpb__ConfigGroup *g, const Lfpb__Orderers *ord)
{
	size_t n = ord->n_consenter_mapping, f = n ? (n - 1) / 3 : 0;
	Lfpb__SignaturePolicyEnvelope env = LFPB__SIGNATURE_POLICY_ENVELOPE__INIT;
	Lfpb__SignaturePolicy root = LFPB__SIGNATURE_POLICY__INIT;
	Lfpb__SignaturePolicy__NOutOf no = LFPB__SIGNATURE_POLICY__NOUT_OF__INIT;
	Lfpb__SignaturePolicy *sp = lf_xcalloc(n, sizeof(*sp)), **psp;
	Lfpb__MSPPrincipal *pr = lf_xcalloc(n, sizeof(*pr)), **ppr;

	psp = lf_xcalloc(n, sizeof(*psp));
	ppr = lf_xcalloc(n, sizeof(*ppr));
	for (size_t i = 0; i < n; i++) {
		Lfpb__SerializedIdentity si = LFPB__SERIALIZED_IDENTITY__INIT;

		lfpb__signature_policy__init(&sp[i]);
		sp[i].type_case = LFPB__SIGNATURE_POLICY__TYPE_SIGNED_BY;
		sp[i].signed_by = (int32_t)i;
		psp[i] = &sp[i];
		si.mspid = ord->consenter_mapping[i]->msp_id;
		si.id_bytes = ord->consenter_mapping[i]->identity;
		lfpb__mspprincipal__init(&pr[i]);
		pr[i].principal_classification = 2;   /* IDENTITY */
		pr[i].principal = lf_pb_bin(&si.base);
		ppr[i] = &pr[i];
	}
	no.n = (int32_t)((n + f + 1 + 1) / 2);    /* ceil((n+f+1)/2) */
	no.rules = psp;
	no.n_rules = n;
	root.type_case = LFPB__SIGNATURE_POLICY__TYPE_N_OUT_OF;
	root.n_out_of = &no;
	env.rule = &root;
	env.identities = ppr;
	env.n_identities = n;
	lf_cg_put_policy(g, "BlockValidation", LF_POL_SIGNATURE,
			 lf_pb_bin(&env.base), "Admins");
	for (size_t i = 0; i < n; i++)
		free(pr[i].principal.data);
	free(ppr);
	free(pr);
	free(psp);
	free(sp);
}

static void put_consensus(Lfpb__ConfigGroup *g, const char *type,
			  ProtobufCBinaryData md)
{
	Lfpb__ConsensusType ct = LFPB__CONSENSUS_TYPE__INIT;

	ct.type = (char *)type;
	ct.metadata = md;
	ct.state = 0;   /* STATE_NORMAL */
	lf_cg_put_value(g, "ConsensusType", lf_pb_bin(&ct.base), "Admins");
}

static void put_kafka(Lfpb__ConfigGroup *g, const struct lf_spec *spec)
{
	Lfpb__KafkaBrokers kb = LFPB__KAFKA_BROKERS__INIT;
	size_t n = spec->kafka ? spec->kafka->nnodes : 0, k = 0;
	char **v = lf_xcalloc(n + 1, sizeof(char *));

	for (size_t i = 0; i < n; i++) {
		const struct lf_node *node = &spec->kafka->nodes[i];

		if (node->kind != LF_NODE_KAFKA)
			continue;
		v[k++] = lf_xasprintf("%s:%u", node->address ? node->address :
				      node->hostname ? node->hostname : node->name,
				      node->port ? node->port : 9092);
	}
	kb.brokers = v;
	kb.n_brokers = k;
	lf_cg_put_value(g, "KafkaBrokers", lf_pb_bin(&kb.base), "Admins");
	for (size_t i = 0; i < k; i++)
		free(v[i]);
	free(v);
}

static int consensus(Lfpb__ConfigGroup *g, const struct lf_spec *spec,
		     const struct lf_gen_cons *c, size_t n,
		     const char *crypto_dir, struct lf_err *err)
{
	ProtobufCBinaryData md = { 0, NULL };
	int rc = 0;

	switch (spec->consensus) {
	case LF_CONSENSUS_ETCDRAFT:
		rc = raft_metadata(c, n, crypto_dir, &md, err);
		if (rc == 0)
			put_consensus(g, "etcdraft", md);
		break;
	case LF_CONSENSUS_BFT:
		rc = bft_consenters(g, c, n, crypto_dir, err);
		if (rc == 0) {
			bft_options(&md);
			put_consensus(g, "BFT", md);
		}
		break;
	case LF_CONSENSUS_KAFKA:
		put_kafka(g, spec);
		put_consensus(g, "kafka", md);
		break;
	default:
		rc = lf_err_set(err, LF_EINVALID, "unknown consensus %d",
				(int)spec->consensus);
	}
	free(md.data);
	return rc;
}

int lf_gen_orderer(const struct lf_spec *spec, const struct lf_channel *ch,
		   const char *crypto_dir, Lfpb__ConfigGroup **out,
		   struct lf_err *err)
{
	static const struct lf_batch nobatch = { 0, 0, 0, 0 };
	const char *cc, *oc, *ac;
	struct lf_gen_cons *c = NULL;
	size_t n = 0;
	Lfpb__ConfigGroup *g = lf_cg_new("Admins"), *og = NULL;
	int rc = lf_gen_std_policies(g, false, true, err);

	lf_gen_capabilities(spec, &cc, &oc, &ac);
	if (rc == 0)
		rc = lf_gen_consenters(spec, ch, &c, &n, err);
	if (rc == 0) {
		put_batch(g, ch ? &ch->batch : &nobatch);
		lf_gen_capability(g, oc);
		rc = consensus(g, spec, c, n, crypto_dir, err);
	}
	for (size_t i = 0; rc == 0 && i < spec->norgs; i++) {
		const struct lf_org *org = &spec->orgs[i];

		if (!org_in(org, c, n))
			continue;
		rc = orderer_org_group(org, crypto_dir, &og, err);
		if (rc == 0)
			lf_cg_put_group(g, org->mspid, og);
	}
	free(c);
	if (rc)
		lf_cg_free(g);
	else
		*out = g;
	return rc;
}

void lf_gen_simple_values(Lfpb__ConfigGroup *g, const char *cap)
{
	Lfpb__HashingAlgorithm ha = LFPB__HASHING_ALGORITHM__INIT;
	Lfpb__BlockDataHashingStructure bd =
		LFPB__BLOCK_DATA_HASHING_STRUCTURE__INIT;

	ha.name = "SHA256";
	bd.width = 4294967295u;
	lf_cg_put_value(g, "HashingAlgorithm", lf_pb_bin(&ha.base), "Admins");
	lf_cg_put_value(g, "BlockDataHashingStructure", lf_pb_bin(&bd.base),
			"Admins");
	if (cap)
		lf_gen_capability(g, cap);
}

/* split "Channel/Application/Org1MSP/Admins" into a group and a name */
static Lfpb__ConfigGroup *override_target(Lfpb__ConfigGroup *root,
					  const struct lf_spec *spec,
					  const char *path, const char **name)
{
	const char *p = path, *slash;
	Lfpb__ConfigGroup *g = root;

	if (*p == '/')
		p++;
	if (lf_str_has_prefix(p, "Channel/"))
		p += 8;
	while ((slash = strchr(p, '/')) != NULL && g) {
		char *key = lf_xstrndup(p, (size_t)(slash - p));
		const struct lf_org *org = lf_gen_org(spec, key);
		Lfpb__ConfigGroup *next = lf_cg_group(g, key);

		if (!next && org)
			next = lf_cg_group(g, org->mspid);
		free(key);
		g = next;
		p = slash + 1;
	}
	*name = p;
	return g;
}

int lf_gen_overrides(Lfpb__ConfigGroup *root, const struct lf_spec *spec,
		     const struct lf_channel *ch, struct lf_err *err)
{
	for (size_t i = 0; ch && i < ch->npolicies; i++) {
		const struct lf_policy *pol = &ch->policies[i];
		const char *name = NULL;
		Lfpb__ConfigGroup *g = override_target(root, spec, pol->path,
						       &name);
		int rc;

		if (!g || !name || !*name)
			return lf_err_set(err, LF_EINVALID, "channel '%s': policy "
					  "path '%s' names no group of the "
					  "channel", ch->name, pol->path);
		rc = lf_cg_add_policy(g, name, pol->type, pol->rule, err);
		if (rc)
			return rc;
	}
	return 0;
}

int lf_gen_channel_group(const struct lf_spec *spec, const char *channel,
			 const char *crypto_dir, Lfpb__ConfigGroup **out,
			 struct lf_err *err)
{
	const struct lf_channel *ch = lf_gen_channel(spec, channel);
	const char *cc, *oc, *ac;
	Lfpb__ConfigGroup *root = NULL, *sub = NULL;
	int rc;

	if (!ch)
		return lf_err_set(err, LF_ENOTFOUND, "channel '%s' is not in "
				  "the spec", channel ? channel : "");
	if (spec->consensus == LF_CONSENSUS_BFT && spec->fabric_major < 3)
		return lf_err_set(err, LF_EINVALID, "channel '%s': BFT consensus "
				  "needs Fabric 3.0 or later (spec has %s)",
				  channel, spec->fabric_version ?
				  spec->fabric_version : "2.x");
	lf_gen_capabilities(spec, &cc, &oc, &ac);
	root = lf_cg_new("Admins");
	rc = lf_gen_std_policies(root, false, false, err);
	if (rc == 0) {
		lf_gen_simple_values(root, cc);
		rc = lf_gen_orderer(spec, ch, crypto_dir, &sub, err);
	}
	if (rc == 0) {
		lf_cg_put_group(root, "Orderer", sub);
		rc = lf_gen_application(spec, ch, crypto_dir, &sub, err);
	}
	if (rc == 0) {
		lf_cg_put_group(root, "Application", sub);
		rc = lf_gen_overrides(root, spec, ch, err);
	}
	if (rc) {
		lf_cg_free(root);
		return rc;
	}
	lf_cg_sort(root);
	*out = root;
	return 0;
}

/* ---- envelopes and blocks ---- */
int lf_gen_envelope(int type, int version, const char *channel,
		    ProtobufCBinaryData data, ProtobufCBinaryData *out)
{
	Lfpb__ChannelHeader ch = LFPB__CHANNEL_HEADER__INIT;
	Lfpb__Timestamp ts = LFPB__TIMESTAMP__INIT;
	Lfpb__SignatureHeader sh = LFPB__SIGNATURE_HEADER__INIT;
	Lfpb__Header hdr = LFPB__HEADER__INIT;
	Lfpb__Payload pl = LFPB__PAYLOAD__INIT;
	Lfpb__Envelope env = LFPB__ENVELOPE__INIT;
	uint8_t nonce[24], h[32];
	char txid[65];
	bool fixed;

	lf_blk_nonce(channel, nonce);
	lf_sha256(nonce, sizeof(nonce), h);     /* creator is empty */
	for (int i = 0; i < 32; i++)
		snprintf(txid + 2 * i, 3, "%02x", h[i]);
	ts.seconds = lf_blk_epoch(&fixed);
	ch.type = type;
	ch.version = version;
	ch.timestamp = &ts;
	ch.channel_id = (char *)channel;
	ch.tx_id = txid;
	sh.nonce.data = nonce;
	sh.nonce.len = sizeof(nonce);
	hdr.channel_header = lf_pb_bin(&ch.base);
	hdr.signature_header = lf_pb_bin(&sh.base);
	pl.header = &hdr;
	pl.data = data;
	env.payload = lf_pb_bin(&pl.base);
	*out = lf_pb_bin(&env.base);
	free(env.payload.data);
	free(hdr.channel_header.data);
	free(hdr.signature_header.data);
	return 0;
}

int lf_gen_block0(const char *channel, Lfpb__ConfigGroup *root,
		  uint8_t **out, size_t *len)
{
	Lfpb__Config cfg = LFPB__CONFIG__INIT;
	Lfpb__ConfigEnvelope ce = LFPB__CONFIG_ENVELOPE__INIT;
	Lfpb__Block blk = LFPB__BLOCK__INIT;
	Lfpb__BlockHeader bh = LFPB__BLOCK_HEADER__INIT;
	Lfpb__BlockData bd = LFPB__BLOCK_DATA__INIT;
	Lfpb__BlockMetadata bm = LFPB__BLOCK_METADATA__INIT;
	Lfpb__Metadata m0 = LFPB__METADATA__INIT;
	Lfpb__OrdererBlockMetadata obm = LFPB__ORDERER_BLOCK_METADATA__INIT;
	Lfpb__LastConfig lc = LFPB__LAST_CONFIG__INIT;
	ProtobufCBinaryData data, env, md[5];
	uint8_t hash[32];

	cfg.sequence = 0;
	cfg.channel_group = root;
	ce.config = &cfg;
	data = lf_pb_bin(&ce.base);
	lf_gen_envelope(LF_HDR_CONFIG, 1, channel, data, &env);
	free(data.data);
	lf_sha256(env.data, env.len, hash);   /* SHA256 of concatenated data */
	bh.number = 0;
	bh.data_hash.data = hash;
	bh.data_hash.len = sizeof(hash);
	bd.data = &env;
	bd.n_data = 1;
	obm.last_config = &lc;
	m0.value = lf_pb_bin(&obm.base);
	memset(md, 0, sizeof(md));
	md[0] = lf_pb_bin(&m0.base);
	/* [1] LAST_CONFIG: Metadata{value: LastConfig{index 0}} = empty */
	bm.metadata = md;
	bm.n_metadata = 5;
	blk.header = &bh;
	blk.data = &bd;
	blk.metadata = &bm;
	*out = lf_pb_pack(&blk.base, len);
	free(md[0].data);
	free(m0.value.data);
	free(env.data);
	return 0;
}

int lf_block_genesis(const struct lf_spec *spec, const char *channel,
		     const char *crypto_dir, uint8_t **out, size_t *len,
		     struct lf_err *err)
{
	Lfpb__ConfigGroup *root = NULL;
	int rc;

	if (spec->consensus == LF_CONSENSUS_KAFKA)
		return lf_err_set(err, LF_EUNSUPPORTED, "channel '%s': Kafka "
				  "channels are created by a channel creation "
				  "transaction on the system channel, not a "
				  "genesis block", channel);
	rc = lf_gen_channel_group(spec, channel, crypto_dir, &root, err);
	if (rc)
		return rc;
	lf_gen_block0(channel, root, out, len);
	lf_cg_free(root);
	return 0;
}

int lf_block_config_for(const struct lf_spec *spec, const char *channel,
			const char *crypto_dir, uint8_t **out, size_t *len,
			struct lf_err *err)
{
	Lfpb__Config cfg = LFPB__CONFIG__INIT;
	Lfpb__ConfigGroup *root = NULL;
	int rc = lf_gen_channel_group(spec, channel, crypto_dir, &root, err);

	if (rc)
		return rc;
	cfg.channel_group = root;
	*out = lf_pb_pack(&cfg.base, len);
	lf_cg_free(root);
	return 0;
}
