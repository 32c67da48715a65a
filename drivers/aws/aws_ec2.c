/*
 * EC2 responses and the calls the host callbacks share: instances out of
 * RunInstances/DescribeInstances XML, DescribeInstances with filters and
 * NextToken pagination, state changes, and bounded waits for a state.
 */
#include "aws.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <libxml/tree.h>

xmlNodePtr aws_xml_child(xmlNodePtr n, const char *name)
{
	for (n = n ? n->children : NULL; n; n = n->next)
		if (n->type == XML_ELEMENT_NODE && xmlStrcmp(n->name, (const xmlChar *)name) == 0)
			return n;
	return NULL;
}

void aws_xml_text(xmlNodePtr n, char *buf, size_t cap)
{
	xmlChar *t = n ? xmlNodeGetContent(n) : NULL;

	snprintf(buf, cap, "%s", t ? (const char *)t : "");
	xmlFree(t);
}

static void inst_tags(xmlNodePtr item, struct aws_instance *in)
{
	xmlNodePtr t;
	char key[128];

	for (t = aws_xml_child(aws_xml_child(item, "tagSet"), "item"); t; t = t->next) {
		if (t->type != XML_ELEMENT_NODE)
			continue;
		aws_xml_text(aws_xml_child(t, "key"), key, sizeof(key));
		if (strcmp(key, AWS_TAG_LINEAGE) == 0)
			aws_xml_text(aws_xml_child(t, "value"), in->lineage, sizeof(in->lineage));
		else if (strcmp(key, AWS_TAG_RESOURCE) == 0)
			aws_xml_text(aws_xml_child(t, "value"), in->resource, sizeof(in->resource));
	}
}

static void inst_parse(xmlNodePtr item, struct aws_instance *in)
{
	char cores[16], threads[16];
	xmlNodePtr cpu = aws_xml_child(item, "cpuOptions"), g;

	memset(in, 0, sizeof(*in));
	aws_xml_text(aws_xml_child(item, "instanceId"), in->id, sizeof(in->id));
	aws_xml_text(aws_xml_child(aws_xml_child(item, "instanceState"), "name"), in->state, sizeof(in->state));
	aws_xml_text(aws_xml_child(item, "instanceType"), in->type, sizeof(in->type));
	aws_xml_text(aws_xml_child(item, "imageId"), in->image, sizeof(in->image));
	aws_xml_text(aws_xml_child(item, "privateIpAddress"), in->private_ip, sizeof(in->private_ip));
	aws_xml_text(aws_xml_child(item, "ipAddress"), in->public_ip, sizeof(in->public_ip));
	aws_xml_text(aws_xml_child(cpu, "coreCount"), cores, sizeof(cores));
	aws_xml_text(aws_xml_child(cpu, "threadsPerCore"), threads, sizeof(threads));
	in->vcpus = (unsigned int)(strtoul(cores, NULL, 10) *
				   (threads[0] ? strtoul(threads, NULL, 10) : 1));
	inst_tags(item, in);
	for (g = aws_xml_child(aws_xml_child(item, "groupSet"), "item"); g; g = g->next)
		if (g->type == XML_ELEMENT_NODE && in->ngroups < 16)
			aws_xml_text(aws_xml_child(g, "groupId"), in->groups[in->ngroups++],
				     sizeof(in->groups[0]));
}

/* every instancesSet/item below n, depth first */
static int walk(xmlNodePtr n, aws_inst_fn cb, void *payload)
{
	struct aws_instance in;
	xmlNodePtr it;
	int rc;

	for (; n; n = n->next) {
		if (n->type != XML_ELEMENT_NODE)
			continue;
		if (xmlStrcmp(n->name, (const xmlChar *)"instancesSet") == 0) {
			for (it = aws_xml_child(n, "item"); it; it = it->next) {
				if (it->type != XML_ELEMENT_NODE)
					continue;
				inst_parse(it, &in);
				rc = cb(&in, payload);
				if (rc != 0)
					return rc;
			}
			continue;
		}
		rc = walk(n->children, cb, payload);
		if (rc != 0)
			return rc;
	}
	return 0;
}

int aws_resp_instances(struct aws_resp *r, aws_inst_fn cb, void *payload)
{
	return r && r->doc ? walk(xmlDocGetRootElement(r->doc), cb, payload) : 0;
}

/* ---- DescribeInstances ----------------------------------------------------- */

struct find_ctx {
	const char *lineage, *resource;
	struct aws_instance *out;
	int found;
};

static int find_cb(const struct aws_instance *in, void *payload)
{
	struct find_ctx *f = payload;

	if (strcmp(in->state, "terminated") == 0)
		return 0;
	if (f->lineage && (strcmp(in->lineage, f->lineage) != 0 ||
			   strcmp(in->resource, f->resource) != 0))
		return 0;
	*f->out = *in;
	f->found = 1;
	return 1;
}

/* params of one page: by id, or by the lineage tag (and the resource
 * tag when given); NextToken when paging */
static size_t find_params(struct aws_pair *p, const char *id, const char *lineage,
			  const char *resource, const char *next)
{
	size_t n = 0;

	if (id) {
		p[n++] = (struct aws_pair){ "InstanceId.1", id };
	} else {
		p[n++] = (struct aws_pair){ "Filter.1.Name", "tag:" AWS_TAG_LINEAGE };
		p[n++] = (struct aws_pair){ "Filter.1.Value.1", lineage };
		if (resource) {
			p[n++] = (struct aws_pair){ "Filter.2.Name", "tag:" AWS_TAG_RESOURCE };
			p[n++] = (struct aws_pair){ "Filter.2.Value.1", resource };
		}
		p[n++] = (struct aws_pair){ "MaxResults", "1000" };
	}
	if (next)
		p[n++] = (struct aws_pair){ "NextToken", next };
	return n;
}

/* DescribeInstances with params p[0..n) over every page */
static int describe_pages(struct lf_driver_conn *c, struct lf_call *call,
			  const struct aws_pair *p, size_t n, aws_inst_fn cb, void *payload,
			  struct lf_err *err)
{
	struct aws_pair *all = calloc(n + 1, sizeof(*all));
	struct aws_resp *r = NULL;
	char *next = NULL;
	int rc, stop = 0;

	if (!all)
		return aws_host->err_set(err, LF_ERROR, "aws: out of memory");
	memcpy(all, p, n * sizeof(*all));
	do {
		all[n] = (struct aws_pair){ "NextToken", next };
		rc = aws_request(c, call, "DescribeInstances", all, next ? n + 1 : n, &r, err);
		free(next);
		next = NULL;
		if (rc == 0) {
			stop = aws_resp_instances(r, cb, payload);
			next = stop ? NULL : aws_resp_text(r, "nextToken");
		}
		aws_resp_free(r);
		r = NULL;
	} while (rc == 0 && next && next[0]);
	free(next);
	free(all);
	return rc;
}

int aws_describe(struct lf_driver_conn *c, struct lf_call *call, const char *id,
		 const char *lineage, const char *resource, aws_inst_fn cb, void *payload,
		 struct lf_err *err)
{
	struct aws_pair p[8];

	return describe_pages(c, call, p, find_params(p, id, lineage, resource, NULL), cb,
			      payload, err);
}

int aws_find(struct lf_driver_conn *c, struct lf_call *call, const char *id,
	     const char *lineage, const char *resource, struct aws_instance *out,
	     struct lf_err *err)
{
	struct find_ctx f = { id ? NULL : lineage, resource, out, 0 };
	int rc = aws_describe(c, call, id, lineage, resource, find_cb, &f, err);

	if (rc == LF_ENOTFOUND)
		aws_err_clear(err); /* InvalidInstanceID.NotFound: said below */
	if (rc == LF_ENOTFOUND || (rc == 0 && !f.found))
		return aws_host->err_set(err, LF_ENOTFOUND, "aws: no instance of '%s'",
					 resource ? resource : id);
	return rc;
}

/* ---- state changes and waits ---------------------------------------------- */

int aws_instance_action(struct lf_driver_conn *c, struct lf_call *call,
			const char *action, const char *id, struct lf_err *err)
{
	struct aws_pair p[1] = { { "InstanceId.1", id } };
	struct aws_resp *r = NULL;
	int rc = aws_request(c, call, action, p, 1, &r, err);

	aws_resp_free(r);
	return rc;
}

/* one observation for a wait: 1 when done, 0 to poll again, < 0 error */
static int wait_step(struct lf_driver_conn *c, struct lf_call *call, const char *id,
		     const char *want, struct aws_instance *inst, struct lf_err *err)
{
	int gone, rc = aws_observe(c, call, id, inst, err);

	if (rc == LF_ENOTFOUND) { /* not visible yet after a launch, or gone */
		aws_err_clear(err);
		snprintf(inst->state, sizeof(inst->state), "%s", "not visible");
	} else if (rc != 0) {
		return rc;
	}
	gone = rc == 0 && strcmp(inst->state, "terminated") == 0;
	if (strcmp(want, "terminated") == 0 && (rc == LF_ENOTFOUND || gone))
		return 1;
	if (gone)
		return aws_host->err_set(err, LF_ERROR, "aws: instance %s was terminated while waiting for '%s'",
					 id, want);
	return rc == 0 && strcmp(inst->state, want) == 0;
}

int aws_wait_state(struct lf_driver_conn *c, struct lf_call *call, const char *id,
		   const char *want, struct aws_instance *inst, struct lf_err *err)
{
	uint64_t start = aws_host->now_ms(), dl = aws_host->call_deadline(call);
	uint64_t until = start + (uint64_t)c->wait_timeout_ms;
	int rc;

	if (dl && dl < until)
		until = dl;
	for (;;) {
		rc = wait_step(c, call, id, want, inst, err);
		if (rc != 0)
			return rc < 0 ? rc : 0;
		aws_host->call_progress(call, "waiting for %s to be %s (%s, %llu s)", id, want,
					inst->state,
					(unsigned long long)((aws_host->now_ms() - start) / 1000));
		if (aws_host->now_ms() + (uint64_t)c->poll_ms > until)
			return aws_host->err_set(err, LF_ETIMEOUT, "aws: instance %s is still '%s' after %llu s (waiting for '%s')",
						 id, inst->state,
						 (unsigned long long)((aws_host->now_ms() - start) / 1000), want);
		rc = aws_sleep(call, c->poll_ms, err);
		if (rc != 0)
			return rc;
	}
}

/* ---- batched observation -------------------------------------------------- */

#define AWS_OBS_BATCH 200 /* instance ids in one DescribeInstances */

struct aws_obs {
	const char *id;
	struct aws_instance inst;
	int taken, done, found, rc;
	char msg[LF_ERR_MSG_MAX];
	struct aws_obs *next;
};

struct obs_batch {
	struct aws_obs *v[AWS_OBS_BATCH];
	size_t n;
};

static int obs_cb(const struct aws_instance *in, void *payload)
{
	struct obs_batch *b = payload;
	size_t i;

	for (i = 0; i < b->n; i++)
		if (strcmp(b->v[i]->id, in->id) == 0) {
			b->v[i]->inst = *in;
			b->v[i]->found = 1;
		}
	return 0;
}

/* the leader: one DescribeInstances (filter instance-id) for every
 * waiting request not yet taken; called and returns with obs_mu held */
static void obs_lead(struct lf_driver_conn *c, struct lf_call *call, struct aws_obs *me)
{
	struct obs_batch b = { { 0 }, 0 };
	struct aws_pair p[AWS_OBS_BATCH + 1];
	char keys[AWS_OBS_BATCH][32];
	struct lf_err err = LF_ERR_INIT;
	struct aws_obs *o;
	size_t i;
	int rc;

	c->obs_leading = 1;
	for (o = c->obs; o && b.n < AWS_OBS_BATCH; o = o->next)
		if (!o->taken) {
			o->taken = 1;
			b.v[b.n++] = o;
		}
	pthread_mutex_unlock(&c->obs_mu);
	p[0] = (struct aws_pair){ "Filter.1.Name", "instance-id" };
	for (i = 0; i < b.n; i++) {
		snprintf(keys[i], sizeof(keys[i]), "Filter.1.Value.%u", (unsigned int)(i + 1));
		p[i + 1] = (struct aws_pair){ keys[i], b.v[i]->id };
	}
	rc = describe_pages(c, call, p, b.n + 1, obs_cb, &b, &err);
	pthread_mutex_lock(&c->obs_mu);
	for (i = 0; i < b.n; i++) {
		if (rc == LF_ECANCELED && b.v[i] != me) {
			b.v[i]->taken = 0; /* the leader's cancel is not theirs */
			continue;
		}
		b.v[i]->rc = rc;
		snprintf(b.v[i]->msg, sizeof(b.v[i]->msg), "%s", err.msg);
		b.v[i]->done = 1;
	}
	c->obs_leading = 0;
	pthread_cond_broadcast(&c->obs_cv);
}

static void obs_unlink(struct lf_driver_conn *c, struct aws_obs *me)
{
	struct aws_obs **pp;

	for (pp = &c->obs; *pp; pp = &(*pp)->next)
		if (*pp == me) {
			*pp = me->next;
			break;
		}
}

/* wait for the leader's round (bounded slices, so cancellation is seen) */
static int obs_wait(struct lf_driver_conn *c, struct lf_call *call)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += 100 * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_cond_timedwait(&c->obs_cv, &c->obs_mu, &ts);
	return aws_host->call_cancelled(call);
}

int aws_observe(struct lf_driver_conn *c, struct lf_call *call, const char *id,
		struct aws_instance *inst, struct lf_err *err)
{
	struct aws_obs me;
	int cancelled = 0;

	memset(&me, 0, sizeof(me));
	me.id = id;
	pthread_mutex_lock(&c->obs_mu);
	me.next = c->obs;
	c->obs = &me;
	while (!me.done && !cancelled) {
		if (!c->obs_leading)
			obs_lead(c, call, &me);
		else if (!me.taken || !me.done)
			cancelled = obs_wait(c, call) && !me.taken;
	}
	obs_unlink(c, &me);
	pthread_mutex_unlock(&c->obs_mu);
	if (!me.done)
		return aws_host->err_set(err, LF_ECANCELED, "aws: cancelled");
	if (me.rc != 0)
		return aws_host->err_set(err, me.rc, "%s", me.msg);
	if (!me.found)
		return aws_host->err_set(err, LF_ENOTFOUND, "aws: no instance %s", id);
	*inst = me.inst;
	return 0;
}
