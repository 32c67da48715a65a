/*
 * The provider role: create (adopt by tags, else RunInstances with a
 * ClientToken derived from lineage, resource address and generation, then
 * wait for running), read (drift: another instance type, stopped,
 * terminated), update (stop, modify the instance type, start), delete and
 * import. Every instance carries the lineage and resource address as tags.
 */
#include "aws.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include "core/util/crashpoint.h"

#define AWS_GEN_MAX 64  /* replaced hosts of one address before giving up */

static int flags_check(unsigned int flags, unsigned int known, const char *fn,
		       struct lf_err *err)
{
	if (flags & ~known)
		return aws_host->err_set(err, LF_EINVALID, "aws: unsupported flags (0x%x) in %s",
					 flags & ~known, fn);
	return 0;
}

static const char *conn_image(const struct lf_driver_conn *c, const char *image)
{
	size_t i;

	for (i = 0; image && i < c->nimages; i++)
		if (strcmp(c->image_names[i], image) == 0)
			return c->image_ids[i];
	return image && strncmp(image, "ami-", 4) == 0 ? image : NULL;
}

/* the size's instance type: the per-provider field as validate sees it
 * (flat), or under the driver's name as hosts get it ({aws: {...}}) */
static const char *want_type(const struct lf_host_spec *spec)
{
	const struct lf_kv *mine = spec->size ? aws_host->kv_get_kv(spec->size, "aws") : NULL;
	const char *t = spec->size ? aws_host->kv_get_str(spec->size, "instance_type") : NULL;

	if ((!t || !t[0]) && mine)
		t = aws_host->kv_get_str(mine, "instance_type");
	return t && t[0] ? t : NULL;
}

/* 64 hex characters (EC2's limit) of SHA-256(lineage/resource/gen) */
static void client_token(const struct lf_host_spec *spec, long gen, char tok[65])
{
	struct aws_buf b = { 0 };

	aws_buf_printf(&b, "%s/%s/%ld", spec->lineage, spec->resource, gen);
	aws_sha256_hex(b.data ? b.data : "", b.len, tok);
	aws_buf_free(&b);
}

/* outputs: what the state keeps of the host */
static void emit(const struct lf_host_spec *spec, const struct aws_instance *in, long gen,
		 struct lf_kv_builder *out)
{
	const char *addr = in->public_ip[0] ? in->public_ip : in->private_ip;
	const char *type = want_type(spec);
	int stopped = strcmp(in->state, "stopped") == 0 || strcmp(in->state, "stopping") == 0;
	long long vcpus = spec->vcpus;

	if (!out)
		return;
	aws_host->kv_set(out, "id", in->id);
	if (addr[0])
		aws_host->kv_set(out, "machine_address", addr);
	aws_host->kv_set(out, "instance_type", in->type);
	aws_host->kv_set(out, "power", stopped ? "stopped" : "running");
	aws_host->kv_set_int(out, "generation", gen);
	/* live vCPUs: the template's while the instance type is ours, the
	 * instance's when it was changed out of band, 0 when stopped */
	if (stopped)
		vcpus = 0;
	else if (type && strcmp(type, in->type) != 0 && in->vcpus)
		vcpus = in->vcpus;
	aws_host->kv_set_int(out, "vcpus", vcpus);
}

static long prior_gen(const struct lf_host_spec *spec)
{
	return spec->prior ? (long)aws_host->kv_get_int(spec->prior, "generation", 0) : 0;
}

static const char *prior_id(const struct lf_host_spec *spec)
{
	const char *id = spec->prior ? aws_host->kv_get_str(spec->prior, "id") : NULL;

	return id && id[0] ? id : NULL;
}

/* cloud-config: host name and the SSH key the transport logs in with */
static char *user_data(const struct lf_driver_conn *c, const struct lf_host_spec *spec)
{
	struct aws_buf b = { 0 };
	unsigned char *enc;

	aws_buf_printf(&b, "#cloud-config\nhostname: %s\nfqdn: %s\n", spec->name,
		       spec->hostname ? spec->hostname : spec->name);
	if (c->ssh_authorized_key)
		aws_buf_printf(&b, "ssh_authorized_keys:\n  - %s\n", c->ssh_authorized_key);
	enc = b.oom ? NULL : malloc(4 * ((b.len + 2) / 3) + 1);
	if (enc)
		EVP_EncodeBlock(enc, (const unsigned char *)b.data, (int)b.len);
	aws_buf_free(&b);
	return (char *)enc;
}

/* ---- create ------------------------------------------------------------------ */

struct run_args {
	struct aws_pair p[40];
	size_t n;
	char group_keys[AWS_MAX_GROUPS + 1][40];
	char token[65];
	char *user_data;
};

static void run_params(struct run_args *a, const struct lf_driver_conn *c,
		       const struct lf_host_spec *spec, const char *image, const char *type)
{
	size_t i;

#define P(k, v) (a->p[a->n++] = (struct aws_pair){ (k), (v) })
	P("ImageId", image);
	P("InstanceType", type);
	P("MinCount", "1");
	P("MaxCount", "1");
	P("ClientToken", a->token);
	if (c->subnet_id)
		P("SubnetId", c->subnet_id);
	if (c->key_name)
		P("KeyName", c->key_name);
	if (a->user_data)
		P("UserData", a->user_data);
	for (i = 0; i < c->ngroups; i++) {
		snprintf(a->group_keys[i], sizeof(a->group_keys[i]), "SecurityGroupId.%u", (unsigned int)(i + 1));
		P(a->group_keys[i], c->groups[i]);
	}
	if (c->sg_manage && c->sg_id[0]) { /* the network's own group */
		snprintf(a->group_keys[i], sizeof(a->group_keys[i]), "SecurityGroupId.%u", (unsigned int)(i + 1));
		P(a->group_keys[i], c->sg_id);
	}
	P("TagSpecification.1.ResourceType", "instance");
	P("TagSpecification.1.Tag.1.Key", "Name");
	P("TagSpecification.1.Tag.1.Value", spec->name);
	P("TagSpecification.1.Tag.2.Key", AWS_TAG_LINEAGE);
	P("TagSpecification.1.Tag.2.Value", spec->lineage);
	P("TagSpecification.1.Tag.3.Key", AWS_TAG_RESOURCE);
	P("TagSpecification.1.Tag.3.Value", spec->resource);
#undef P
}

static int first_inst(const struct aws_instance *in, void *payload)
{
	*(struct aws_instance *)payload = *in;
	return 1;
}

/* RunInstances, idempotent by ClientToken; a token whose instance is gone
 * (this address was replaced before) moves on to the next generation */
static int run_instance(struct lf_driver_conn *c, const struct lf_host_spec *spec,
			struct lf_call *call, long *gen, struct aws_instance *inst,
			struct lf_err *err)
{
	const char *image = conn_image(c, spec->image), *type = want_type(spec);
	struct run_args a;
	struct aws_resp *r = NULL;
	int rc = 0, tries;

	if (!image || !type)
		return aws_host->err_set(err, LF_EINVALID, "aws: %s: no %s for this host's size",
					 spec->resource, image ? "instance_type" : "image (an AMI id or images:)");
	memset(&a, 0, sizeof(a));
	a.user_data = user_data(c, spec);
	for (tries = 0; rc == 0 && tries < AWS_GEN_MAX; tries++, (*gen)++) {
		a.n = 0;
		client_token(spec, *gen, a.token);
		run_params(&a, c, spec, image, type);
		memset(inst, 0, sizeof(*inst));
		rc = aws_request(c, call, "RunInstances", a.p, a.n, &r, err);
		if (rc == 0)
			aws_resp_instances(r, first_inst, inst);
		aws_resp_free(r);
		r = NULL;
		if (rc == 0 && strcmp(inst->state, "terminated") != 0 &&
		    strcmp(inst->state, "shutting-down") != 0)
			break;
	}
	free(a.user_data);
	if (rc == 0 && !inst->id[0])
		rc = aws_host->err_set(err, LF_ERROR, "aws: RunInstances returned no instance");
	else if (rc == 0 && tries == AWS_GEN_MAX)
		rc = aws_host->err_set(err, LF_ERROR, "aws: %s: every client token up to generation %d is used",
				       spec->resource, AWS_GEN_MAX);
	return rc;
}

/* bring inst to running: start a stopped one, wait for a pending one */
static int ensure_running(struct lf_driver_conn *c, struct lf_call *call,
			  struct aws_instance *inst, struct lf_err *err)
{
	int rc = 0;
	char id[32];

	snprintf(id, sizeof(id), "%s", inst->id);
	if (strcmp(inst->state, "stopping") == 0)
		rc = aws_wait_state(c, call, id, "stopped", inst, err);
	if (rc == 0 && strcmp(inst->state, "stopped") == 0)
		rc = aws_instance_action(c, call, "StartInstances", id, err);
	if (rc == 0 && strcmp(inst->state, "running") != 0)
		rc = aws_wait_state(c, call, id, "running", inst, err);
	return rc;
}

/* the instance this address already has (one carrying the lineage and
 * address tags), looked up in the connection's snapshot and described
 * afresh by id; LF_ENOTFOUND when none */
static int existing(struct lf_driver_conn *c, const struct lf_host_spec *spec,
		    struct lf_call *call, struct aws_instance *inst, struct lf_err *err)
{
	char id[32];
	int rc = aws_snap_lookup(c, call, spec->lineage, spec->resource, id, err);

	if (rc == 0)
		rc = aws_find(c, call, id, NULL, NULL, inst, err);
	if (rc == 0 && (strcmp(inst->lineage, spec->lineage) != 0 ||
			strcmp(inst->resource, spec->resource) != 0 ||
			strcmp(inst->state, "shutting-down") == 0))
		rc = LF_ENOTFOUND;
	if (rc == LF_ENOTFOUND)
		aws_err_clear(err);
	return rc;
}

int aws_host_create(struct lf_driver_conn *c, const struct lf_host_spec *spec,
		    struct lf_call *call, struct lf_kv_builder *out,
		    unsigned int flags, struct lf_err *err)
{
	struct aws_instance inst;
	long gen = prior_gen(spec);
	int rc = flags_check(flags, 0, "host_create", err);

	if (rc == 0) /* first: a new instance is launched into the group */
		rc = aws_sg_sync(c, spec, call, err);
	if (rc != 0)
		return rc;
	rc = existing(c, spec, call, &inst, err);
	if (rc == 0) {
		aws_host->call_log(call, 1, "aws: adopting %s (it carries this lineage and address)",
				   inst.id);
		rc = aws_sg_join(c, spec, call, &inst, err);
	} else if (rc == LF_ENOTFOUND) {
		rc = run_instance(c, spec, call, &gen, &inst, err);
		if (rc == 0)
			aws_snap_note(c, spec->resource, inst.id);
		if (rc == 0)
			lf_crash_point("aws.create.after_run");
	}
	if (rc != 0)
		return rc;
	emit(spec, &inst, gen, out); /* recorded even when the wait fails */
	rc = ensure_running(c, call, &inst, err);
	if (rc == 0)
		emit(spec, &inst, gen, out);
	return rc;
}

/* ---- read, update, delete, import ------------------------------------------ */

static int ours(const struct lf_host_spec *spec, const struct aws_instance *in)
{
	return strcmp(in->lineage, spec->lineage) == 0 && strcmp(in->resource, spec->resource) == 0;
}

/* the live instance of spec: by the recorded id, else by tags;
 * LF_ECONFLICT when the id now carries another lineage or address */
static int locate(struct lf_driver_conn *c, const struct lf_host_spec *spec,
		  struct lf_call *call, struct aws_instance *inst, struct lf_err *err)
{
	const char *id = prior_id(spec);
	int rc;

	/* by the recorded id: batched with the other threads' reads and waits */
	rc = id ? aws_observe(c, call, id, inst, err)
		: aws_find(c, call, NULL, spec->lineage, spec->resource, inst, err);
	if (rc == 0 && strcmp(inst->state, "terminated") == 0)
		rc = aws_host->err_set(err, LF_ENOTFOUND, "aws: instance %s is terminated", id);

	if (rc == 0 && id && !ours(spec, inst))
		return aws_host->err_set(err, LF_ECONFLICT,
					 "aws: instance %s does not carry this state's lineage and address '%s'; not touched",
					 id, spec->resource);
	if (rc == 0 && strcmp(inst->state, "shutting-down") == 0)
		return aws_host->err_set(err, LF_ENOTFOUND, "aws: instance %s is shutting down", inst->id);
	return rc;
}

int aws_host_read(struct lf_driver_conn *c, const struct lf_host_spec *spec,
		  struct lf_call *call, struct lf_kv_builder *out,
		  unsigned int flags, struct lf_err *err)
{
	struct aws_instance inst;
	const char *type = want_type(spec);
	int rc = flags_check(flags, 0, "host_read", err);

	if (rc == 0)
		rc = locate(c, spec, call, &inst, err);
	if (rc == LF_ECONFLICT) {
		aws_err_clear(err);
		rc = aws_host->err_set(err, LF_ENOTFOUND, "aws: %s: its instance no longer carries this lineage",
				       spec->resource);
	}
	if (rc != 0)
		return rc;
	if (type && strcmp(type, inst.type) != 0)
		aws_host->call_log(call, 2, "aws: %s is a %s, the size asks for %s", inst.id, inst.type, type);
	emit(spec, &inst, prior_gen(spec), out);
	return aws_sg_check(c, spec, call, out, err);
}

/* a new instance type: stop, modify, start */
static int retype(struct lf_driver_conn *c, struct lf_call *call, struct aws_instance *inst,
		  const char *type, struct lf_err *err)
{
	struct aws_pair p[2] = { { "InstanceId", inst->id }, { "InstanceType.Value", type } };
	struct aws_resp *r = NULL;
	char id[32];
	int rc = 0;

	snprintf(id, sizeof(id), "%s", inst->id);
	if (strcmp(inst->state, "stopped") != 0)
		rc = aws_instance_action(c, call, "StopInstances", id, err);
	if (rc == 0)
		rc = aws_wait_state(c, call, id, "stopped", inst, err);
	if (rc == 0)
		rc = aws_request(c, call, "ModifyInstanceAttribute", p, 2, &r, err);
	aws_resp_free(r);
	if (rc == 0)
		snprintf(inst->type, sizeof(inst->type), "%s", type);
	return rc;
}

int aws_host_update(struct lf_driver_conn *c, const struct lf_host_spec *spec,
		    struct lf_call *call, struct lf_kv_builder *out,
		    unsigned int flags, struct lf_err *err)
{
	struct aws_instance inst;
	const char *type = want_type(spec);
	int rc = flags_check(flags, LF_UPDATE_RESTART, "host_update", err);

	if (rc == 0)
		rc = locate(c, spec, call, &inst, err);
	if (rc == 0)
		rc = aws_sg_sync(c, spec, call, err);
	if (rc != 0)
		return rc;
	if (type && strcmp(type, inst.type) != 0) {
		if (!(flags & LF_UPDATE_RESTART))
			return aws_host->err_set(err, LF_EINVALID,
						 "aws: %s: %s -> %s needs a stop and start, which the plan did not allow",
						 inst.id, inst.type, type);
		aws_host->call_progress(call, "resizing %s: %s -> %s (stop, modify, start)", inst.id,
					inst.type, type);
		rc = retype(c, call, &inst, type, err);
	}
	if (rc == 0)
		rc = ensure_running(c, call, &inst, err);
	if (rc == 0)
		emit(spec, &inst, prior_gen(spec), out);
	return rc;
}

int aws_host_delete(struct lf_driver_conn *c, const struct lf_host_spec *spec,
		    struct lf_call *call, unsigned int flags, struct lf_err *err)
{
	struct aws_instance inst;
	int rc = flags_check(flags, 0, "host_delete", err);

	if (rc == 0)
		rc = locate(c, spec, call, &inst, err);
	if (rc == LF_ENOTFOUND) {
		aws_err_clear(err);
		aws_snap_note(c, spec->resource, NULL);
		return aws_sg_release(c, spec, call, err);
	}
	if (rc == 0)
		rc = aws_instance_action(c, call, "TerminateInstances", inst.id, err);
	if (rc == 0)
		aws_snap_note(c, spec->resource, NULL);
	if (rc == 0)
		rc = aws_wait_state(c, call, inst.id, "terminated", &inst, err);
	if (rc == 0) /* the network's last host gone: its group goes too */
		rc = aws_sg_release(c, spec, call, err);
	return rc;
}

int aws_host_import(struct lf_driver_conn *c, const char *id,
		    const struct lf_host_spec *spec, struct lf_call *call,
		    struct lf_kv_builder *out, unsigned int flags,
		    struct lf_err *err)
{
	struct aws_pair p[5] = {
		{ "ResourceId.1", id }, { "Tag.1.Key", AWS_TAG_LINEAGE }, { "Tag.1.Value", spec->lineage },
		{ "Tag.2.Key", AWS_TAG_RESOURCE }, { "Tag.2.Value", spec->resource },
	};
	struct aws_instance inst;
	struct aws_resp *r = NULL;
	int rc = flags_check(flags, 0, "host_import", err);

	if (rc == 0)
		rc = aws_find(c, call, id, NULL, NULL, &inst, err);
	if (rc == 0 && inst.lineage[0] && !ours(spec, &inst))
		return aws_host->err_set(err, LF_ECONFLICT,
					 "aws: instance %s carries another lineage or address; not imported", id);
	if (rc == 0)
		rc = aws_request(c, call, "CreateTags", p, 5, &r, err);
	aws_resp_free(r);
	if (rc == 0)
		rc = aws_sg_sync(c, spec, call, err);
	if (rc == 0)
		rc = aws_sg_join(c, spec, call, &inst, err);
	if (rc == 0)
		emit(spec, &inst, 0, out);
	return rc;
}
