/*
 * Private data collections: Fabric's collections config JSON (the file
 * `peer lifecycle chaincode approveformyorg --collections-config` reads)
 * converted to a serialized CollectionConfigPackage.
 *
 *   [{"name": "c1", "policy": "OR('Org1MSP.member')",
 *     "requiredPeerCount": 0, "maxPeerCount": 3, "blockToLive": 0,
 *     "memberOnlyRead": true, "memberOnlyWrite": true,
 *     "endorsementPolicy": {"signaturePolicy": "..."} or
 *                          {"channelConfigPolicy": "/Channel/..."}}]
 */
#include <stdlib.h>
#include <string.h>

#include "core/fabric/block/blk.h"
#include "core/fabric/cc/collections.h"
#include "core/net/lifecycle.h"
#include "core/util/util.h"
#include "lfpb/collection.pb-c.h"

#define LF_CC_MAX_COLLECTIONS 1000

static const char *const keys[] = {
	"name", "policy", "requiredPeerCount", "maxPeerCount", "blockToLive",
	"memberOnlyRead", "memberOnlyWrite", "endorsementPolicy", NULL
};

static int bad(struct lf_err *err, const char *file, size_t i,
	       const char *what)
{
	return lf_err_set(err, LF_EINVALID, "collections '%s': entry %zu: %s",
			  file, i + 1, what);
}

static int check_keys(const json_t *o, const char *file, size_t i,
		      struct lf_err *err)
{
	const char *k;
	json_t *v;
	char msg[160];

	json_object_foreach((json_t *)o, k, v) {
		size_t j;

		for (j = 0; keys[j] && strcmp(keys[j], k) != 0; j++)
			;
		if (!keys[j]) {
			snprintf(msg, sizeof(msg), "unknown key '%.64s'", k);
			return bad(err, file, i, msg);
		}
	}
	return 0;
}

/* an int field in [0, max] (absent: 0) */
static int num(const json_t *o, const char *k, json_int_t max, json_int_t *out)
{
	const json_t *v = json_object_get(o, k);

	*out = 0;
	if (!v)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    json_integer_value(v) > max)
		return -1;
	*out = json_integer_value(v);
	return 0;
}

static int endorsement(const json_t *o, const char *file, size_t i,
		       ProtobufCBinaryData *out, struct lf_err *err)
{
	const json_t *ep = json_object_get(o, "endorsementPolicy");
	const char *sig = json_string_value(json_object_get(ep, "signaturePolicy"));
	const char *ref = json_string_value(json_object_get(ep, "channelConfigPolicy"));
	struct lf_err e = LF_ERR_INIT;
	int rc;

	if (!ep)
		return 0;
	if (!json_is_object(ep) || (!sig == !ref) || json_object_size(ep) != 1)
		return bad(err, file, i, "endorsementPolicy: expected "
			   "{\"signaturePolicy\": RULE} or {\"channelConfigPolicy\": "
			   "PATH}");
	rc = sig ? lf_lc_policy_signature(sig, &out->data, &out->len, &e)
		 : lf_lc_policy_ref(ref, &out->data, &out->len, &e);
	return rc ? bad(err, file, i, e.msg) : 0;
}

static int one(const json_t *o, const char *file, size_t i,
	       Lfpb__StaticCollectionConfig *sc, Lfpb__CollectionPolicyConfig *pc,
	       struct lf_err *err)
{
	const char *name = json_string_value(json_object_get(o, "name"));
	const char *pol = json_string_value(json_object_get(o, "policy"));
	json_int_t req, max, btl;
	struct lf_err e = LF_ERR_INIT;
	int pt, rc;

	if (!json_is_object(o))
		return bad(err, file, i, "expected an object");
	if ((rc = check_keys(o, file, i, err)) != 0)
		return rc;
	if (!name || !*name || !pol)
		return bad(err, file, i, "\"name\" and \"policy\" (a Signature "
			   "rule) are required");
	if (num(o, "requiredPeerCount", INT32_MAX, &req) ||
	    num(o, "maxPeerCount", INT32_MAX, &max) ||
	    num(o, "blockToLive", INT64_MAX, &btl))
		return bad(err, file, i, "requiredPeerCount, maxPeerCount and "
			   "blockToLive are whole numbers >= 0");
	if (req > max)
		return bad(err, file, i, "requiredPeerCount is larger than "
			   "maxPeerCount");
	sc->name = (char *)name;
	sc->required_peer_count = (int32_t)req;
	sc->maximum_peer_count = (int32_t)max;
	sc->block_to_live = (uint64_t)btl;
	sc->member_only_read = json_is_true(json_object_get(o, "memberOnlyRead"));
	sc->member_only_write = json_is_true(json_object_get(o, "memberOnlyWrite"));
	if (lf_policy_encode("Signature", pol, &pt, &pc->signature_policy, &e))
		return bad(err, file, i, e.msg);
	pc->payload_case = LFPB__COLLECTION_POLICY_CONFIG__PAYLOAD_SIGNATURE_POLICY;
	sc->member_orgs_policy = pc;
	return endorsement(o, file, i, &sc->endorsement_policy, err);
}

struct parts {
	Lfpb__CollectionConfig *cc, **ccp;
	Lfpb__StaticCollectionConfig *sc;
	Lfpb__CollectionPolicyConfig *pc;
	size_t n;
};

static void parts_free(struct parts *p)
{
	for (size_t i = 0; i < p->n; i++) {
		free(p->pc[i].signature_policy.data);
		free(p->sc[i].endorsement_policy.data);
	}
	free(p->cc);
	free(p->ccp);
	free(p->sc);
	free(p->pc);
}

int lf_cc_collections(const char *file, uint8_t **out, size_t *len,
		      struct lf_err *err)
{
	Lfpb__CollectionConfigPackage pkg = LFPB__COLLECTION_CONFIG_PACKAGE__INIT;
	json_error_t je;
	json_t *a = json_load_file(file, JSON_REJECT_DUPLICATES, &je);
	struct parts p = { NULL, NULL, NULL, NULL, 0 };
	size_t n = json_array_size(a);
	int rc = 0;

	*out = NULL;
	*len = 0;
	if (!a)
		return lf_err_set(err, LF_EINVALID, "collections '%s': line %d: %s",
				  file, je.line, je.text);
	if (!json_is_array(a) || n == 0 || n > LF_CC_MAX_COLLECTIONS)
		rc = lf_err_set(err, LF_EINVALID, "collections '%s': expected an "
				"array of 1 to %d collections", file,
				LF_CC_MAX_COLLECTIONS);
	if (rc == 0) {
		p.cc = lf_xcalloc(n, sizeof(*p.cc));
		p.ccp = lf_xcalloc(n, sizeof(*p.ccp));
		p.sc = lf_xcalloc(n, sizeof(*p.sc));
		p.pc = lf_xcalloc(n, sizeof(*p.pc));
	}
	for (size_t i = 0; rc == 0 && i < n; i++, p.n++) {
		lfpb__collection_config__init(&p.cc[i]);
		lfpb__static_collection_config__init(&p.sc[i]);
		lfpb__collection_policy_config__init(&p.pc[i]);
		rc = one(json_array_get(a, i), file, i, &p.sc[i], &p.pc[i], err);
		p.cc[i].payload_case =
			LFPB__COLLECTION_CONFIG__PAYLOAD_STATIC_COLLECTION_CONFIG;
		p.cc[i].static_collection_config = &p.sc[i];
		p.ccp[i] = &p.cc[i];
		for (size_t k = 0; rc == 0 && k < i; k++)
			if (strcmp(p.sc[k].name, p.sc[i].name) == 0)
				rc = bad(err, file, i, "a collection of that name "
					 "comes earlier");
	}
	if (rc == 0) {
		pkg.n_config = n;
		pkg.config = p.ccp;
		*out = lf_pb_pack(&pkg.base, len);
	}
	parts_free(&p);
	json_decref(a);
	return rc;
}
