/*
 * The network's security group (config manage_security_group: true): one
 * group per lineage, named ledgerform-<lineage>, tagged with the lineage,
 * whose ingress rules are exactly what the nodes' ports need (the host's
 * node_ports view, docs/drivers.md): a port reached from the network opens
 * to the group itself (every instance of the network) and to
 * network_cidrs; one reached from the controller to controller_cidr; the
 * transport's SSH port to controller_cidr. The group is ledgerform's, so a
 * rule it holds that no port needs is revoked.
 *
 * create and update make the group when missing (DescribeSecurityGroups by
 * tag, else CreateSecurityGroup with the tags), authorize missing rules
 * and revoke extra ones (one call each, serialised per connection; a
 * duplicate or missing rule from another process is settled by describing
 * again); read reports drift without changing anything.
 */
#include "aws.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libxml/tree.h>

#define SG_MAX_RULES 256

struct sg_rule {
	char proto[8];
	long from, to;
	char src[64];      /* a CIDR, or a group id (sg-...) */
};

struct sg_set {
	struct sg_rule v[SG_MAX_RULES];
	size_t n;
};

static void set_add(struct sg_set *s, const char *proto, long from, long to, const char *src)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (strcmp(s->v[i].proto, proto) == 0 && s->v[i].from == from &&
		    s->v[i].to == to && strcmp(s->v[i].src, src) == 0)
			return;
	if (s->n == SG_MAX_RULES)
		return;
	snprintf(s->v[s->n].proto, sizeof(s->v[s->n].proto), "%s", proto);
	s->v[s->n].from = from;
	s->v[s->n].to = to;
	snprintf(s->v[s->n].src, sizeof(s->v[s->n].src), "%s", src);
	s->n++;
}

static int set_has(const struct sg_set *s, const struct sg_rule *r)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (strcmp(s->v[i].proto, r->proto) == 0 && s->v[i].from == r->from &&
		    s->v[i].to == r->to && strcmp(s->v[i].src, r->src) == 0)
			return 1;
	return 0;
}

/* what the last successful sync of this connection made: its rules' hash */
static void set_hash(const struct sg_set *s, char hex[65])
{
	struct aws_buf b = { 0 };
	size_t i;

	for (i = 0; i < s->n; i++)
		aws_buf_printf(&b, "%s/%ld/%ld/%s\n", s->v[i].proto, s->v[i].from, s->v[i].to,
			       s->v[i].src);
	aws_sha256_hex(b.data ? b.data : "", b.len, hex);
	aws_buf_free(&b);
}

static int set_same(const struct lf_driver_conn *c, const struct sg_set *s)
{
	char hex[65];

	set_hash(s, hex);
	return strcmp(hex, c->sg_synced_hash) == 0;
}

static void set_remember(struct lf_driver_conn *c, const struct sg_set *s)
{
	set_hash(s, c->sg_synced_hash);
	c->sg_synced = s->n;
}

/* the rules the nodes' ports need */
static void sg_desired(const struct lf_driver_conn *c, const struct lf_host_spec *spec,
		       struct sg_set *want)
{
	const struct lf_kv *ports = spec->attrs ? aws_host->kv_get_kv(spec->attrs, "node_ports")
				    : NULL;
	const struct lf_kv *p;
	char idx[16];
	size_t i, k;

	want->n = 0;
	if (c->controller_cidr)
		set_add(want, "tcp", c->ssh_port, c->ssh_port, c->controller_cidr);
	for (i = 0; ports; i++) {
		const char *from;
		long port;

		snprintf(idx, sizeof(idx), "%zu", i);
		if (!(p = aws_host->kv_get_kv(ports, idx)))
			break;
		from = aws_host->kv_get_str(p, "from");
		port = (long)aws_host->kv_get_int(p, "port", 0);
		if (port < 1 || port > 65535 || !from)
			continue;
		if (strcmp(from, "network") == 0) {
			set_add(want, "tcp", port, port, c->sg_id);
			for (k = 0; k < c->nnet; k++)
				set_add(want, "tcp", port, port, c->network_cidrs[k]);
		} else if (strcmp(from, "controller") == 0 && c->controller_cidr) {
			set_add(want, "tcp", port, port, c->controller_cidr);
		}
	}
}

/* ---- the group's XML ------------------------------------------------------ */

/* one ipPermissions item: a rule per source */
static void perm_parse(xmlNodePtr perm, struct sg_set *s)
{
	char proto[8], from[16], to[16], src[64];
	xmlNodePtr it;

	aws_xml_text(aws_xml_child(perm, "ipProtocol"), proto, sizeof(proto));
	aws_xml_text(aws_xml_child(perm, "fromPort"), from, sizeof(from));
	aws_xml_text(aws_xml_child(perm, "toPort"), to, sizeof(to));
	for (it = aws_xml_child(aws_xml_child(perm, "groups"), "item"); it; it = it->next)
		if (it->type == XML_ELEMENT_NODE) {
			aws_xml_text(aws_xml_child(it, "groupId"), src, sizeof(src));
			set_add(s, proto, strtol(from, NULL, 10), strtol(to, NULL, 10), src);
		}
	for (it = aws_xml_child(aws_xml_child(perm, "ipRanges"), "item"); it; it = it->next)
		if (it->type == XML_ELEMENT_NODE) {
			aws_xml_text(aws_xml_child(it, "cidrIp"), src, sizeof(src));
			set_add(s, proto, strtol(from, NULL, 10), strtol(to, NULL, 10), src);
		}
}

/* the first securityGroupInfo/item: its id, and its ingress rules to s */
static int group_parse(struct aws_resp *r, char id[32], struct sg_set *s)
{
	xmlNodePtr root = xmlDocGetRootElement(r->doc);
	xmlNodePtr g = aws_xml_child(aws_xml_child(root, "securityGroupInfo"), "item"), p;

	while (g && g->type != XML_ELEMENT_NODE)
		g = g->next;
	if (!g)
		return LF_ENOTFOUND;
	aws_xml_text(aws_xml_child(g, "groupId"), id, 32);
	if (s) {
		s->n = 0;
		for (p = aws_xml_child(aws_xml_child(g, "ipPermissions"), "item"); p; p = p->next)
			if (p->type == XML_ELEMENT_NODE)
				perm_parse(p, s);
	}
	return id[0] ? 0 : LF_ENOTFOUND;
}

/* DescribeSecurityGroups: by id, else by the lineage tag */
static int sg_describe(struct lf_driver_conn *c, struct lf_call *call, const char *lineage,
		       char id[32], struct sg_set *s, struct lf_err *err)
{
	char tag[64];
	struct aws_pair by_id[1] = { { "GroupId.1", id } };
	struct aws_pair by_tag[2] = { { "Filter.1.Name", tag }, { "Filter.1.Value.1", lineage } };
	struct aws_resp *r = NULL;
	int rc;

	snprintf(tag, sizeof(tag), "tag:%s", AWS_TAG_LINEAGE);
	rc = id[0] ? aws_request(c, call, "DescribeSecurityGroups", by_id, 1, &r, err)
		   : aws_request(c, call, "DescribeSecurityGroups", by_tag, 2, &r, err);
	if (rc == 0)
		rc = group_parse(r, id, s);
	aws_resp_free(r);
	return rc;
}

static int sg_create(struct lf_driver_conn *c, struct lf_call *call, const char *lineage,
		     char id[32], struct lf_err *err)
{
	char name[128];
	struct aws_pair p[10];
	struct aws_resp *r = NULL;
	size_t n = 0;
	char *gid = NULL;
	int rc;

	snprintf(name, sizeof(name), "ledgerform-%s", lineage);
	p[n++] = (struct aws_pair){ "GroupName", name };
	p[n++] = (struct aws_pair){ "GroupDescription", "ledgerform network (ports of its Fabric nodes)" };
	if (c->vpc_id)
		p[n++] = (struct aws_pair){ "VpcId", c->vpc_id };
	p[n++] = (struct aws_pair){ "TagSpecification.1.ResourceType", "security-group" };
	p[n++] = (struct aws_pair){ "TagSpecification.1.Tag.1.Key", "Name" };
	p[n++] = (struct aws_pair){ "TagSpecification.1.Tag.1.Value", name };
	p[n++] = (struct aws_pair){ "TagSpecification.1.Tag.2.Key", AWS_TAG_LINEAGE };
	p[n++] = (struct aws_pair){ "TagSpecification.1.Tag.2.Value", lineage };
	rc = aws_request(c, call, "CreateSecurityGroup", p, n, &r, err);
	if (rc == 0 && (gid = aws_resp_text(r, "groupId")) != NULL)
		snprintf(id, 32, "%s", gid);
	else if (rc == 0)
		rc = aws_host->err_set(err, LF_ERROR, "aws: CreateSecurityGroup returned no groupId");
	free(gid);
	aws_resp_free(r);
	if (rc == 0)
		aws_host->call_log(call, 1, "aws: made security group %s (%s)", id, name);
	return rc;
}

/* c->sg_id: the network's group, found by its tag or made (sg_mu held) */
static int sg_ensure(struct lf_driver_conn *c, const struct lf_host_spec *spec,
		     struct lf_call *call, struct lf_err *err)
{
	int rc;

	if (c->sg_id[0])
		return 0;
	rc = sg_describe(c, call, spec->lineage, c->sg_id, NULL, err);
	if (rc == LF_ENOTFOUND) {
		aws_err_clear(err);
		c->sg_id[0] = '\0';
		rc = sg_create(c, call, spec->lineage, c->sg_id, err);
	}
	return rc;
}

/* ---- rules ------------------------------------------------------------------ */

/* AuthorizeSecurityGroupIngress / RevokeSecurityGroupIngress of rules */
static int sg_change(struct lf_driver_conn *c, struct lf_call *call, const char *action,
		     const struct sg_rule *const *rules, size_t n, struct lf_err *err)
{
	struct aws_pair *p = calloc(1 + 4 * n, sizeof(*p));
	char (*keys)[48] = calloc(4 * n, sizeof(*keys)), (*vals)[24] = calloc(2 * n, sizeof(*vals));
	struct aws_resp *r = NULL;
	size_t i, k = 0;
	int rc;

	if (!p || !keys || !vals) {
		rc = aws_host->err_set(err, LF_ERROR, "aws: out of memory");
		goto done;
	}
	p[k++] = (struct aws_pair){ "GroupId", c->sg_id };
	for (i = 0; i < n; i++) {
		int grp = strncmp(rules[i]->src, "sg-", 3) == 0;

		snprintf(keys[4 * i], 48, "IpPermissions.%zu.IpProtocol", i + 1);
		snprintf(keys[4 * i + 1], 48, "IpPermissions.%zu.FromPort", i + 1);
		snprintf(keys[4 * i + 2], 48, "IpPermissions.%zu.ToPort", i + 1);
		snprintf(keys[4 * i + 3], 48, grp ? "IpPermissions.%zu.Groups.1.GroupId"
						  : "IpPermissions.%zu.IpRanges.1.CidrIp", i + 1);
		snprintf(vals[2 * i], 24, "%ld", rules[i]->from);
		snprintf(vals[2 * i + 1], 24, "%ld", rules[i]->to);
		p[k++] = (struct aws_pair){ keys[4 * i], rules[i]->proto };
		p[k++] = (struct aws_pair){ keys[4 * i + 1], vals[2 * i] };
		p[k++] = (struct aws_pair){ keys[4 * i + 2], vals[2 * i + 1] };
		p[k++] = (struct aws_pair){ keys[4 * i + 3], rules[i]->src };
	}
	rc = aws_request(c, call, action, p, k, &r, err);
	aws_resp_free(r);
done:
	free(p);
	free(keys);
	free(vals);
	return rc;
}

/* the rules of have missing from want (or, extra: of want missing from
 * have) into out; how many */
static size_t set_diff(const struct sg_set *a, const struct sg_set *b,
		       const struct sg_rule **out)
{
	size_t i, n = 0;

	for (i = 0; i < a->n; i++)
		if (!set_has(b, &a->v[i]))
			out[n++] = &a->v[i];
	return n;
}

/* one pass: describe, authorize what is missing, revoke what is extra */
static int sg_pass(struct lf_driver_conn *c, const struct lf_host_spec *spec,
		   struct lf_call *call, struct sg_set *want, struct sg_set *have,
		   struct lf_err *err)
{
	const struct sg_rule *diff[SG_MAX_RULES];
	size_t n;
	int rc = sg_describe(c, call, spec->lineage, c->sg_id, have, err);

	if (rc == 0 && (n = set_diff(want, have, diff)) > 0)
		rc = sg_change(c, call, "AuthorizeSecurityGroupIngress", diff, n, err);
	if (rc == 0 && (n = set_diff(have, want, diff)) > 0)
		rc = sg_change(c, call, "RevokeSecurityGroupIngress", diff, n, err);
	return rc;
}

int aws_sg_sync(struct lf_driver_conn *c, const struct lf_host_spec *spec,
		struct lf_call *call, struct lf_err *err)
{
	struct sg_set *want, *have;
	int rc, tries;

	if (!c->sg_manage)
		return 0;
	want = malloc(sizeof(*want));
	have = malloc(sizeof(*have));
	if (!want || !have) {
		free(want);
		free(have);
		return aws_host->err_set(err, LF_ERROR, "aws: out of memory");
	}
	pthread_mutex_lock(&c->sg_mu);
	rc = sg_ensure(c, spec, call, err);
	if (rc == 0)
		sg_desired(c, spec, want);
	/* every host of one apply wants the same rules: synced once */
	if (rc == 0 && c->sg_synced == want->n && set_same(c, want))
		tries = 3;
	else
		tries = 0;
	/* another process may change the group between describe and change:
	 * a duplicate or missing rule makes one more pass */
	for (; rc == 0 && tries < 3; tries++) {
		rc = sg_pass(c, spec, call, want, have, err);
		if (rc == 0)
			set_remember(c, want);
		if (rc == LF_ENOTFOUND && strstr(err->msg, "InvalidGroup.NotFound")) {
			/* deleted behind our back: made again */
			aws_err_clear(err);
			c->sg_id[0] = '\0';
			rc = sg_ensure(c, spec, call, err);
			if (rc == 0)
				sg_desired(c, spec, want);
			continue;
		}
		if (rc == 0 || !(strstr(err->msg, "InvalidPermission.Duplicate") ||
				 strstr(err->msg, "InvalidPermission.NotFound")))
			break;
		aws_err_clear(err);
		rc = 0;
	}
	pthread_mutex_unlock(&c->sg_mu);
	free(want);
	free(have);
	return rc;
}

/* the live "drift" text the core turns into an update of the host */
static void sg_note_drift(struct lf_kv_builder *out, const char *id, const char *what)
{
	char text[1024];

	snprintf(text, sizeof(text), "security group%s%s: %s", id ? " " : "", id ? id : "", what);
	aws_host->kv_set(out, "drift", text);
}

int aws_sg_check(struct lf_driver_conn *c, const struct lf_host_spec *spec,
		 struct lf_call *call, struct lf_kv_builder *out, struct lf_err *err)
{
	const struct sg_rule *diff[SG_MAX_RULES];
	struct sg_set *want = malloc(sizeof(*want)), *have = malloc(sizeof(*have));
	struct aws_buf b = { 0 };
	size_t i, miss = 0, extra = 0;
	int rc = want && have ? 0 : aws_host->err_set(err, LF_ERROR, "aws: out of memory");

	if (!c->sg_manage) {
		free(want);
		free(have);
		return 0;
	}
	pthread_mutex_lock(&c->sg_mu);
	if (rc == 0)
		rc = sg_describe(c, call, spec->lineage, c->sg_id, have, err);
	if (rc == LF_ENOTFOUND) {
		aws_err_clear(err);
		c->sg_id[0] = '\0';
		aws_host->kv_set(out, "security_group_drift", "the security group is gone");
		sg_note_drift(out, NULL, "the security group is gone");
		aws_host->call_log(call, 2, "aws: the network's security group is gone");
	} else if (rc == 0) {
		sg_desired(c, spec, want);
		miss = set_diff(want, have, diff);
		for (i = 0; i < miss; i++)
			aws_buf_printf(&b, "%smissing %s/%ld from %s", b.len ? "; " : "",
				       diff[i]->proto, diff[i]->from, diff[i]->src);
		extra = set_diff(have, want, diff);
		for (i = 0; i < extra; i++)
			aws_buf_printf(&b, "%sextra %s/%ld-%ld from %s", b.len ? "; " : "",
				       diff[i]->proto, diff[i]->from, diff[i]->to, diff[i]->src);
		aws_host->kv_set(out, "security_group", c->sg_id);
		aws_host->kv_set(out, "security_group_drift", b.data ? b.data : "");
		if (b.data) /* the core plans an update of the host: it repairs */
			sg_note_drift(out, c->sg_id, b.data);
		if (b.data)
			aws_host->call_log(call, 2, "aws: security group %s drifted: %s", c->sg_id,
					   b.data);
	}
	pthread_mutex_unlock(&c->sg_mu);
	aws_buf_free(&b);
	free(want);
	free(have);
	return rc == LF_ENOTFOUND ? 0 : rc;
}

/* ---- instances joining, the group leaving ------------------------------------ */

int aws_sg_join(struct lf_driver_conn *c, const struct lf_host_spec *spec,
		struct lf_call *call, const struct aws_instance *inst, struct lf_err *err)
{
	struct aws_pair p[1 + 16 + 1];
	char keys[17][24];
	struct aws_resp *r = NULL;
	unsigned int i;
	int rc;

	if (!c->sg_manage)
		return 0;
	pthread_mutex_lock(&c->sg_mu);
	rc = sg_ensure(c, spec, call, err);
	pthread_mutex_unlock(&c->sg_mu);
	for (i = 0; rc == 0 && i < inst->ngroups; i++)
		if (strcmp(inst->groups[i], c->sg_id) == 0)
			return 0; /* already in it */
	if (rc == 0 && inst->ngroups >= 16)
		return aws_host->err_set(err, LF_EINVALID,
					 "aws: instance %s is in 16 security groups; cannot add %s",
					 inst->id, c->sg_id);
	if (rc != 0)
		return rc;
	p[0] = (struct aws_pair){ "InstanceId", inst->id };
	for (i = 0; i <= inst->ngroups; i++) {
		snprintf(keys[i], sizeof(keys[i]), "GroupId.%u", i + 1);
		p[i + 1] = (struct aws_pair){ keys[i], i < inst->ngroups ? inst->groups[i] : c->sg_id };
	}
	rc = aws_request(c, call, "ModifyInstanceAttribute", p, inst->ngroups + 2, &r, err);
	aws_resp_free(r);
	if (rc == 0)
		aws_host->call_log(call, 1, "aws: %s joins the network's security group %s",
				   inst->id, c->sg_id);
	return rc;
}

static int count_live(const struct aws_instance *in, void *payload)
{
	if (strcmp(in->state, "terminated") != 0)
		(*(size_t *)payload)++;
	return 0;
}

/* DeleteSecurityGroup of id: DependencyViolation (an instance still
 * terminating holds it) waited out for at most wait_timeout_s; gone is
 * fine (another process deleted it) */
static int sg_delete(struct lf_driver_conn *c, struct lf_call *call, const char *id,
		     struct lf_err *err)
{
	struct aws_pair p[1] = { { "GroupId", id } };
	struct aws_resp *r = NULL;
	long waited = 0;
	int rc;

	for (;;) {
		rc = aws_request(c, call, "DeleteSecurityGroup", p, 1, &r, err);
		aws_resp_free(r);
		r = NULL;
		if (rc == LF_ENOTFOUND) {
			aws_err_clear(err);
			return 0;
		}
		if (rc == 0 || !strstr(err->msg, "DependencyViolation") ||
		    waited + c->poll_ms > c->wait_timeout_ms)
			return rc;
		aws_err_clear(err);
		aws_host->call_progress(call, "security group %s still in use; waiting", id);
		if ((rc = aws_sleep(call, c->poll_ms, err)) != 0)
			return rc;
		waited += c->poll_ms;
	}
}

int aws_sg_release(struct lf_driver_conn *c, const struct lf_host_spec *spec,
		   struct lf_call *call, struct lf_err *err)
{
	char id[32] = "";
	size_t live = 0;
	int rc;

	if (!c->sg_manage)
		return 0;
	/* the connection's snapshot first (no call while other hosts of the
	 * network live), then EC2 itself (other processes, instances still
	 * shutting down) */
	rc = aws_snap_live(c, call, spec->lineage, &live, err);
	pthread_mutex_lock(&c->sg_mu);
	if (rc == 0 && live == 0)
		rc = aws_describe(c, call, NULL, spec->lineage, NULL, count_live, &live, err);
	if (rc == 0 && live == 0) /* by the lineage tag: never another's group */
		rc = sg_describe(c, call, spec->lineage, id, NULL, err);
	if (rc == 0 && live == 0)
		rc = sg_delete(c, call, id, err);
	if (rc == 0 && live == 0) {
		aws_host->call_log(call, 1, "aws: deleted security group %s (no host of the network left)",
				   id);
		c->sg_id[0] = '\0';
		c->sg_synced = 0;
		c->sg_synced_hash[0] = '\0';
	}
	if (rc == LF_ENOTFOUND) { /* no group (any more): nothing to do */
		aws_err_clear(err);
		rc = 0;
	}
	if (rc != 0 && strstr(err->msg, "DependencyViolation")) {
		aws_host->call_log(call, 2, "aws: security group of %s left in place: %s",
				   spec->lineage, err->msg);
		aws_err_clear(err);
		rc = 0;
	}
	pthread_mutex_unlock(&c->sg_mu);
	return rc;
}
