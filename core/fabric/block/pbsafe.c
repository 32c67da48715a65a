/*
 * Unpacking untrusted protobuf bytes. protobuf-c's unpacker recurses once
 * per nested message, so a small file of deeply nested messages overflows
 * the stack; and it accepts map entries that lack their value, which the
 * config tree code then dereferences. lf_pb_unpack walks the wire format
 * iteratively with a depth bound first, unpacks, and then checks every map
 * entry of the decoded tree, so consumers only ever see well-formed trees.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fabric/block/blk.h"
#include "core/util/util.h"

struct pb_frame {
	const ProtobufCMessageDescriptor *d;
	size_t end;
};

static int rd_varint(const uint8_t *b, size_t end, size_t *pos, uint64_t *v)
{
	uint64_t r = 0;

	for (unsigned sh = 0; sh < 64; sh += 7) {
		uint8_t c;

		if (*pos >= end)
			return -1;
		c = b[(*pos)++];
		r |= (uint64_t)(c & 0x7f) << sh;
		if (!(c & 0x80)) {
			*v = r;
			return 0;
		}
	}
	return -1;
}

/* skip one field's payload of wire type (tag & 7); a message field is
 * not skipped but entered: *sub is its descriptor and *sublen its length */
static int skip_field(const struct pb_frame *f, const uint8_t *b, size_t *pos,
		      uint64_t tag, const ProtobufCMessageDescriptor **sub,
		      size_t *sublen)
{
	const ProtobufCFieldDescriptor *fd = NULL;
	uint64_t v;

	*sub = NULL;
	switch (tag & 7) {
	case 0:
		return rd_varint(b, f->end, pos, &v);
	case 1:
	case 5:
		v = (tag & 7) == 1 ? 8 : 4;
		break;
	case 2:
		if (rd_varint(b, f->end, pos, &v) != 0)
			return -1;
		if (tag >> 3 <= UINT32_MAX)
			fd = protobuf_c_message_descriptor_get_field(
				f->d, (unsigned)(tag >> 3));
		break;
	default:
		return -1;      /* groups: Fabric does not use them */
	}
	if (v > f->end - *pos)
		return -1;
	if (fd && fd->type == PROTOBUF_C_TYPE_MESSAGE) {
		*sub = fd->descriptor;
		*sublen = (size_t)v;
		return 0;       /* *pos stays at the submessage's start */
	}
	*pos += (size_t)v;
	return 0;
}

int lf_pb_check_depth(const ProtobufCMessageDescriptor *d, const uint8_t *buf,
		      size_t len, unsigned max, struct lf_err *err)
{
	struct pb_frame *st = lf_xcalloc(max + 1, sizeof(*st));
	size_t top = 0, pos = 0, sublen = 0;
	int rc = 0;

	st[0].d = d;
	st[0].end = len;
	while (rc == 0 && (top > 0 || pos < len)) {
		const ProtobufCMessageDescriptor *sub;
		uint64_t tag;

		if (pos == st[top].end) {
			top--;
			continue;
		}
		if (rd_varint(buf, st[top].end, &pos, &tag) != 0 || tag >> 3 == 0 ||
		    skip_field(&st[top], buf, &pos, tag, &sub, &sublen) != 0) {
			rc = lf_err_set(err, LF_EINVALID, "malformed %s: damaged "
					"wire format at byte %zu of %zu",
					d->short_name, pos, len);
		} else if (sub && top + 1 >= max) {
			rc = lf_err_set(err, LF_EINVALID, "malformed %s: nesting "
					"deeper than %u", d->short_name, max);
		} else if (sub) {
			st[++top].d = sub;
			st[top].end = pos + sublen;
		}
	}
	free(st);
	return rc;
}

static bool is_map_entry(const ProtobufCMessageDescriptor *d)
{
	size_t n = strlen(d->short_name);

	return d->n_fields == 2 && n > 5 &&
	       strcmp(d->short_name + n - 5, "Entry") == 0 &&
	       strcmp(d->fields[0].name, "key") == 0 &&
	       strcmp(d->fields[1].name, "value") == 0;
}

/* every map entry has a key and, when its value is a message, a value */
static int check_entry(const ProtobufCMessage *m, const char *top,
		       struct lf_err *err)
{
	const ProtobufCFieldDescriptor *k = &m->descriptor->fields[0];
	const ProtobufCFieldDescriptor *v = &m->descriptor->fields[1];
	const char *key = k->type == PROTOBUF_C_TYPE_STRING ?
		*(char *const *)((const char *)m + k->offset) : "?";

	if (!key || !*key)
		return lf_err_set(err, LF_EINVALID, "malformed %s: a %s lacks "
				  "its key", top, m->descriptor->short_name);
	if (v->type == PROTOBUF_C_TYPE_MESSAGE &&
	    !*(void *const *)((const char *)m + v->offset))
		return lf_err_set(err, LF_EINVALID, "malformed %s: %s '%.64s' "
				  "lacks its value", top,
				  m->descriptor->short_name, key);
	return 0;
}

/* the decoded tree is as deep as lf_pb_check_depth allowed: recursion is
 * bounded */
static int check_tree(const ProtobufCMessage *m, const char *top,
		      struct lf_err *err)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	int rc = is_map_entry(d) ? check_entry(m, top, err) : 0;

	for (unsigned i = 0; rc == 0 && i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		const char *base = (const char *)m;
		ProtobufCMessage *const *one = (void *)(base + f->offset);
		ProtobufCMessage *const *v = one;
		size_t n = 1;

		if (f->type != PROTOBUF_C_TYPE_MESSAGE)
			continue;
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			n = *(const size_t *)(base + f->quantifier_offset);
			v = *(ProtobufCMessage *const *const *)one;
		} else if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
			   *(const uint32_t *)(base + f->quantifier_offset) !=
			   f->id) {
			continue;
		}
		for (size_t k = 0; rc == 0 && k < n; k++)
			if (v[k])
				rc = check_tree(v[k], top, err);
	}
	return rc;
}

void *lf_pb_unpack(const ProtobufCMessageDescriptor *d, size_t len,
		   const uint8_t *buf, struct lf_err *err)
{
	ProtobufCMessage *m = NULL;

	if (lf_pb_check_depth(d, buf, len, LF_PB_MAX_DEPTH, err) != 0)
		return NULL;
	m = protobuf_c_message_unpack(d, NULL, len, buf);
	if (!m) {
		lf_err_set(err, LF_EINVALID, "malformed %s (%zu bytes)",
			   d->short_name, len);
		return NULL;
	}
	if (check_tree(m, d->short_name, err) != 0) {
		protobuf_c_message_free_unpacked(m, NULL);
		return NULL;
	}
	return m;
}
