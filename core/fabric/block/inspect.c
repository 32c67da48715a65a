/*
 * Decoding blocks, envelopes and config updates into JSON shaped like
 * `configtxlator proto_decode` / `configtxgen -inspectBlock`: field names
 * as in Fabric's protos, every field emitted (defaults too), uint64 as
 * strings, bytes as base64 (null when empty), enums by name, and opaque
 * bytes fields decoded by context (config values by key, policies by
 * type, consensus metadata by consensus type, headers, identities).
 * A generic walker over protobuf-c descriptors does the work; a table of
 * hooks decides which bytes hold which nested message.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/evp.h>

#include "core/fabric/block/blk.h"
#include "core/fabric/block/block.h"
#include "core/util/util.h"

struct ictx {
	const char *key;          /* map key of the ConfigValue being decoded */
	int depth;
};

static json_t *msg_json(const ProtobufCMessage *m, struct ictx *c);

static json_t *b64_json(ProtobufCBinaryData b, bool null_empty)
{
	char *out;
	json_t *j;
	int n;

	if (b.len == 0)
		return null_empty ? json_null() : json_string("");
	out = lf_xmalloc(4 * ((b.len + 2) / 3) + 1);
	n = EVP_EncodeBlock((unsigned char *)out, b.data, (int)b.len);
	j = json_stringn(out, (size_t)n);
	free(out);
	return j;
}

/* decode bytes as message `d`; fall back to base64 */
static json_t *nested(const ProtobufCMessageDescriptor *d,
		      ProtobufCBinaryData b, struct ictx *c)
{
	ProtobufCMessage *m;
	json_t *j;

	if (b.len == 0 && d != &lfpb__mspconfig__descriptor)
		return json_null();
	m = lf_pb_unpack(d, b.len, b.data, NULL);
	if (!m)
		return b64_json(b, true);
	j = msg_json(m, c);
	protobuf_c_message_free_unpacked(m, NULL);
	return j;
}

static const struct {
	const char *key;
	const ProtobufCMessageDescriptor *d;
} value_types[] = {
	{ "HashingAlgorithm", &lfpb__hashing_algorithm__descriptor },
	{ "BlockDataHashingStructure",
	  &lfpb__block_data_hashing_structure__descriptor },
	{ "OrdererAddresses", &lfpb__orderer_addresses__descriptor },
	{ "Endpoints", &lfpb__orderer_addresses__descriptor },
	{ "Consortium", &lfpb__consortium__descriptor },
	{ "Capabilities", &lfpb__capabilities__descriptor },
	{ "Orderers", &lfpb__orderers__descriptor },
	{ "MSP", &lfpb__mspconfig__descriptor },
	{ "AnchorPeers", &lfpb__anchor_peers__descriptor },
	{ "ACLs", &lfpb__acls__descriptor },
	{ "ConsensusType", &lfpb__consensus_type__descriptor },
	{ "BatchSize", &lfpb__batch_size__descriptor },
	{ "BatchTimeout", &lfpb__batch_timeout__descriptor },
	{ "ChannelRestrictions", &lfpb__channel_restrictions__descriptor },
	{ "KafkaBrokers", &lfpb__kafka_brokers__descriptor },
	{ "ChannelCreationPolicy", &lfpb__policy__descriptor },
};

static json_t *value_bytes(ProtobufCBinaryData b, struct ictx *c)
{
	for (size_t i = 0; c->key && i < LF_ARRAY_LEN(value_types); i++)
		if (strcmp(c->key, value_types[i].key) == 0)
			return nested(value_types[i].d, b, c);
	return b64_json(b, true);
}

static int payload_type(const Lfpb__Payload *p)
{
	Lfpb__ChannelHeader *ch;
	int t = -1;

	if (!p->header)
		return -1;
	ch = lf_pb_unpack(&lfpb__channel_header__descriptor,
			  p->header->channel_header.len,
			  p->header->channel_header.data, NULL);
	if (ch)
		t = ch->type;
	if (ch)
		lfpb__channel_header__free_unpacked(ch, NULL);
	return t;
}

/* bytes of transaction-level messages: envelopes, headers, identities */
static json_t *tx_hook(const ProtobufCMessage *m, const char *mn,
		       const char *field, ProtobufCBinaryData b, struct ictx *c)
{
	if (strcmp(mn, "Envelope") == 0 && strcmp(field, "payload") == 0)
		return nested(&lfpb__payload__descriptor, b, c);
	if (strcmp(mn, "Payload") == 0 && strcmp(field, "data") == 0) {
		int t = payload_type((const Lfpb__Payload *)m);

		if (t == LF_HDR_CONFIG)
			return nested(&lfpb__config_envelope__descriptor, b, c);
		if (t == LF_HDR_CONFIG_UPDATE)
			return nested(&lfpb__config_update_envelope__descriptor,
				      b, c);
		return b64_json(b, true);
	}
	if (strcmp(mn, "Header") == 0 && strcmp(field, "channel_header") == 0)
		return nested(&lfpb__channel_header__descriptor, b, c);
	if (strcmp(field, "signature_header") == 0)
		return nested(&lfpb__signature_header__descriptor, b, c);
	if (strcmp(mn, "SignatureHeader") == 0 && strcmp(field, "creator") == 0)
		return nested(&lfpb__serialized_identity__descriptor, b, c);
	if (strcmp(mn, "ConfigUpdateEnvelope") == 0 && strcmp(field, "lf_config") == 0)
		return nested(&lfpb__config__descriptor, b, c); /* the base config */
	if (strcmp(mn, "ConfigUpdateEnvelope") == 0)
		return nested(&lfpb__config_update__descriptor, b, c);
	return NULL;
}

/* bytes field hooks: which message a bytes field holds */
static json_t *bytes_hook(const ProtobufCMessage *m, const char *field,
			  ProtobufCBinaryData b, struct ictx *c)
{
	const char *mn = m->descriptor->short_name;
	json_t *j = tx_hook(m, mn, field, b, c);
	int t;

	if (j)
		return j;
	if (strcmp(mn, "ConfigValue") == 0)
		return value_bytes(b, c);
	if (strcmp(mn, "Policy") == 0) {
		t = ((const Lfpb__Policy *)m)->type;
		if (t == LF_POL_SIGNATURE)
			return nested(&lfpb__signature_policy_envelope__descriptor,
				      b, c);
		if (t == LF_POL_IMPLICIT_META)
			return nested(&lfpb__implicit_meta_policy__descriptor, b, c);
		return b64_json(b, true);
	}
	if (strcmp(mn, "MSPConfig") == 0)
		return ((const Lfpb__MSPConfig *)m)->type == 0
			? nested(&lfpb__fabric_mspconfig__descriptor, b, c)
			: b64_json(b, true);
	if (strcmp(mn, "ConsensusType") == 0) {
		const char *ct = ((const Lfpb__ConsensusType *)m)->type;

		if (lf_streq(ct, "etcdraft"))
			return nested(&lfpb__raft_config_metadata__descriptor, b, c);
		if (lf_streq(ct, "BFT"))
			return nested(&lfpb__bft_options__descriptor, b, c);
		return b64_json(b, true);
	}
	if (strcmp(mn, "MSPPrincipal") == 0) {
		t = ((const Lfpb__MSPPrincipal *)m)->principal_classification;
		if (t == 0)
			return nested(&lfpb__msprole__descriptor, b, c);
		if (t == 2)
			return nested(&lfpb__serialized_identity__descriptor, b, c);
	}
	return NULL;
}

static const char *enum_name(const char *msg, const char *field, int v)
{
	static const char *const state[] = { "STATE_NORMAL", "STATE_MAINTENANCE" };
	static const char *const rule[] = { "ANY", "ALL", "MAJORITY" };
	static const char *const role[] = { "MEMBER", "ADMIN", "CLIENT", "PEER",
					    "ORDERER" };
	static const char *const cls[] = { "ROLE", "ORGANIZATION_UNIT",
		"IDENTITY", "ANONYMITY", "COMBINED" };
	static const char *const rot[] = { "ROTATION_UNSPECIFIED",
		"ROTATION_OFF", "ROTATION_ON" };

	if (strcmp(msg, "ConsensusType") == 0 && strcmp(field, "state") == 0)
		return v >= 0 && v < 2 ? state[v] : NULL;
	if (strcmp(msg, "ImplicitMetaPolicy") == 0 && strcmp(field, "rule") == 0)
		return v >= 0 && v < 3 ? rule[v] : NULL;
	if (strcmp(msg, "MSPRole") == 0 && strcmp(field, "role") == 0)
		return v >= 0 && v < 5 ? role[v] : NULL;
	if (strcmp(msg, "MSPPrincipal") == 0 &&
	    strcmp(field, "principal_classification") == 0)
		return v >= 0 && v < 5 ? cls[v] : NULL;
	if (strcmp(msg, "BftOptions") == 0 && strcmp(field, "leader_rotation") == 0)
		return v >= 0 && v < 3 ? rot[v] : NULL;
	return NULL;
}

static json_t *u64_json(uint64_t v)
{
	char s[32];

	snprintf(s, sizeof(s), "%llu", (unsigned long long)v);
	return json_string(s);
}

static json_t *scalar_json(const ProtobufCMessage *m,
			   const ProtobufCFieldDescriptor *f, const void *p,
			   struct ictx *c)
{
	const char *en;
	char s[32];

	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32: case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32: case PROTOBUF_C_TYPE_ENUM:
		en = enum_name(m->descriptor->short_name, f->name, *(const int32_t *)p);
		return en ? json_string(en) : json_integer(*(const int32_t *)p);
	case PROTOBUF_C_TYPE_UINT32: case PROTOBUF_C_TYPE_FIXED32:
		return json_integer(*(const uint32_t *)p);
	case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		snprintf(s, sizeof(s), "%lld", (long long)*(const int64_t *)p);
		return json_string(s);
	case PROTOBUF_C_TYPE_UINT64: case PROTOBUF_C_TYPE_FIXED64:
		return u64_json(*(const uint64_t *)p);
	case PROTOBUF_C_TYPE_BOOL:
		return json_boolean(*(const protobuf_c_boolean *)p);
	case PROTOBUF_C_TYPE_FLOAT:
		return json_real(*(const float *)p);
	case PROTOBUF_C_TYPE_DOUBLE:
		return json_real(*(const double *)p);
	case PROTOBUF_C_TYPE_STRING:
		return json_string(*(char *const *)p ? *(char *const *)p : "");
	case PROTOBUF_C_TYPE_BYTES:
		return b64_json(*(const ProtobufCBinaryData *)p, false);
	case PROTOBUF_C_TYPE_MESSAGE:
		return *(ProtobufCMessage *const *)p
			? msg_json(*(ProtobufCMessage *const *)p, c) : json_null();
	}
	return json_null();
}

static size_t type_size(ProtobufCType t)
{
	switch (t) {
	case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64: case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64: case PROTOBUF_C_TYPE_DOUBLE:
		return 8;
	case PROTOBUF_C_TYPE_STRING: case PROTOBUF_C_TYPE_MESSAGE:
		return sizeof(void *);
	case PROTOBUF_C_TYPE_BYTES:
		return sizeof(ProtobufCBinaryData);
	case PROTOBUF_C_TYPE_BOOL:
		return sizeof(protobuf_c_boolean);
	default:
		return 4;
	}
}

static bool is_map_entry(const ProtobufCMessageDescriptor *d)
{
	size_t n = strlen(d->name);

	return n > 5 && strcmp(d->name + n - 5, "Entry") == 0 &&
	       d->n_fields == 2 && strcmp(d->fields[0].name, "key") == 0;
}

static json_t *map_json(ProtobufCMessage *const *v, size_t n, struct ictx *c)
{
	json_t *o = json_object();

	for (size_t i = 0; i < n; i++) {
		const ProtobufCFieldDescriptor *vf = &v[i]->descriptor->fields[1];
		const char *key = *(char *const *)((const char *)v[i] +
					      v[i]->descriptor->fields[0].offset);
		const char *saved = c->key;
		json_t *j;

		c->key = key;
		j = scalar_json(v[i], vf, (const char *)v[i] + vf->offset, c);
		c->key = saved;
		json_object_set_new(o, key ? key : "", j);
	}
	return o;
}

static json_t *repeated_json(const ProtobufCMessage *m,
			     const ProtobufCFieldDescriptor *f, struct ictx *c)
{
	size_t n = *(const size_t *)((const char *)m + f->quantifier_offset);
	const char *arr = *(char *const *)((const char *)m + f->offset);
	json_t *a;

	if (f->type == PROTOBUF_C_TYPE_MESSAGE &&
	    is_map_entry((const ProtobufCMessageDescriptor *)f->descriptor))
		return map_json((ProtobufCMessage *const *)arr, n, c);
	a = json_array();
	for (size_t i = 0; i < n; i++) {
		const void *p = arr + i * type_size(f->type);
		json_t *j = NULL;

		if (f->type == PROTOBUF_C_TYPE_BYTES &&
		    strcmp(m->descriptor->short_name, "BlockData") == 0)
			j = nested(&lfpb__envelope__descriptor,
				   *(const ProtobufCBinaryData *)p, c);
		else if (f->type == PROTOBUF_C_TYPE_BYTES)
			j = b64_json(*(const ProtobufCBinaryData *)p, false);
		else
			j = scalar_json(m, f, p, c);
		json_array_append_new(a, j);
	}
	return a;
}

static json_t *timestamp_json(const Lfpb__Timestamp *ts)
{
	char s[64];
	time_t t = (time_t)ts->seconds;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_string(s);
}

static json_t *msg_json(const ProtobufCMessage *m, struct ictx *c)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	json_t *o;

	if (d == &lfpb__timestamp__descriptor)
		return timestamp_json((const Lfpb__Timestamp *)m);
	if (++c->depth > 64) {
		c->depth--;
		return json_null();
	}
	o = json_object();
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		const void *p = (const char *)m + f->offset;
		json_t *j = NULL;

		if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
			if (*(const uint32_t *)((const char *)m +
						f->quantifier_offset) != f->id)
				continue;
		}
		if (f->label == PROTOBUF_C_LABEL_REPEATED)
			j = repeated_json(m, f, c);
		else if (f->type == PROTOBUF_C_TYPE_BYTES)
			j = bytes_hook(m, f->name, *(const ProtobufCBinaryData *)p, c);
		if (!j && f->type == PROTOBUF_C_TYPE_BYTES &&
		    f->label != PROTOBUF_C_LABEL_REPEATED)
			j = b64_json(*(const ProtobufCBinaryData *)p, true);
		if (!j)
			j = scalar_json(m, f, p, c);
		json_object_set_new(o, f->name, j);
	}
	c->depth--;
	return o;
}

/* unpack as d; a refusal for nesting is kept in *deep (the file is none
 * of the types when it nests too deep for any) */
static void *try_unpack(const ProtobufCMessageDescriptor *d,
			const uint8_t *buf, size_t len, struct lf_err *deep)
{
	struct lf_err e = LF_ERR_INIT;
	void *m = lf_pb_unpack(d, len, buf, &e);

	if (!m && strstr(e.msg, "nesting deeper") && !deep->code)
		*deep = e;
	return m;
}

static ProtobufCMessage *detect(const uint8_t *buf, size_t len,
				struct lf_err *deep)
{
	ProtobufCMessage *m;
	Lfpb__Block *b = try_unpack(&lfpb__block__descriptor, buf, len, deep);
	Lfpb__Envelope *e;
	Lfpb__ConfigUpdateEnvelope *u;

	if (b && b->header && b->data)
		return &b->base;
	if (b)
		lfpb__block__free_unpacked(b, NULL);
	e = try_unpack(&lfpb__envelope__descriptor, buf, len, deep);
	if (e && e->payload.len) {
		Lfpb__Payload *p = try_unpack(&lfpb__payload__descriptor,
					      e->payload.data, e->payload.len,
					      deep);
		bool ok = p && p->header;

		if (p)
			lfpb__payload__free_unpacked(p, NULL);
		if (ok)
			return &e->base;
	}
	if (e)
		lfpb__envelope__free_unpacked(e, NULL);
	u = try_unpack(&lfpb__config_update_envelope__descriptor, buf, len, deep);
	if (u && u->config_update.len)
		return &u->base;
	if (u)
		lfpb__config_update_envelope__free_unpacked(u, NULL);
	m = try_unpack(&lfpb__config__descriptor, buf, len, deep);
	if (m && ((Lfpb__Config *)m)->channel_group)
		return m;
	if (m)
		protobuf_c_message_free_unpacked(m, NULL);
	return NULL;
}

int lf_block_inspect_json(const uint8_t *buf, size_t len, json_t **out,
			  struct lf_err *err)
{
	struct ictx c = { NULL, 0 };
	struct lf_err deep = LF_ERR_INIT;
	ProtobufCMessage *m = detect(buf, len, &deep);

	if (!m && deep.code)
		return lf_err_set(err, LF_EINVALID, "%s", deep.msg);
	if (!m)
		return lf_err_set(err, LF_EINVALID, "not a Fabric block, "
				  "envelope, config update or config "
				  "(%zu bytes)", len);
	*out = msg_json(m, &c);
	protobuf_c_message_free_unpacked(m, NULL);
	return 0;
}
