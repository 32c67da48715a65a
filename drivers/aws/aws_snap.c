/*
 * The lineage's instances, seen once per connection (one apply): a create
 * asks here whether its address already has an instance (to adopt it)
 * instead of one DescribeInstances each. Creates and deletes of this
 * connection keep it current; the state lock keeps other applies of the
 * lineage away, and a create's ClientToken still finds an instance the
 * snapshot could not see (made by a killed run just before).
 */
#include "aws.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct aws_snap_entry *snap_slot(struct lf_driver_conn *c, const char *resource)
{
	size_t i;

	for (i = 0; i < c->nsnap; i++)
		if (strcmp(c->snap[i].resource, resource) == 0)
			return &c->snap[i];
	return NULL;
}

static int snap_put(struct lf_driver_conn *c, const char *resource, const char *id)
{
	struct aws_snap_entry *e = snap_slot(c, resource), *grown;

	if (!e && c->nsnap == c->capsnap) {
		size_t cap = c->capsnap ? 2 * c->capsnap : 64;

		grown = realloc(c->snap, cap * sizeof(*grown));
		if (!grown)
			return -1;
		c->snap = grown;
		c->capsnap = cap;
	}
	if (!e)
		e = &c->snap[c->nsnap++];
	snprintf(e->resource, sizeof(e->resource), "%s", resource);
	snprintf(e->id, sizeof(e->id), "%s", id);
	return 0;
}

struct load_ctx {
	struct lf_driver_conn *c;
	int oom;
};

static int load_cb(const struct aws_instance *in, void *payload)
{
	struct load_ctx *l = payload;

	if (strcmp(in->state, "terminated") == 0 || strcmp(in->state, "shutting-down") == 0 ||
	    !in->resource[0])
		return 0;
	if (snap_put(l->c, in->resource, in->id) != 0) {
		l->oom = 1;
		return 1;
	}
	return 0;
}

/* under snap_mu: load the lineage's instances unless loaded */
static int snap_load(struct lf_driver_conn *c, struct lf_call *call, const char *lineage,
		     struct lf_err *err)
{
	struct load_ctx l = { c, 0 };
	int rc;

	if (c->snap_lineage && strcmp(c->snap_lineage, lineage) == 0)
		return 0;
	free(c->snap_lineage);
	c->snap_lineage = NULL;
	c->nsnap = 0;
	rc = aws_describe(c, call, NULL, lineage, NULL, load_cb, &l, err);
	if (rc == 0 && !l.oom)
		c->snap_lineage = strdup(lineage);
	if (rc == 0 && !c->snap_lineage)
		rc = aws_host->err_set(err, LF_ERROR, "aws: out of memory");
	return rc;
}

int aws_snap_lookup(struct lf_driver_conn *c, struct lf_call *call, const char *lineage,
		    const char *resource, char id[32], struct lf_err *err)
{
	struct aws_snap_entry *e;
	int rc;

	pthread_mutex_lock(&c->snap_mu);
	rc = snap_load(c, call, lineage, err);
	e = rc == 0 ? snap_slot(c, resource) : NULL;
	if (e && e->id[0])
		snprintf(id, 32, "%s", e->id);
	pthread_mutex_unlock(&c->snap_mu);
	if (rc != 0)
		return rc;
	return e && e->id[0] ? 0 : LF_ENOTFOUND;
}

int aws_snap_live(struct lf_driver_conn *c, struct lf_call *call, const char *lineage,
		  size_t *n, struct lf_err *err)
{
	size_t i;
	int rc;

	*n = 0;
	pthread_mutex_lock(&c->snap_mu);
	rc = snap_load(c, call, lineage, err);
	for (i = 0; rc == 0 && i < c->nsnap; i++)
		*n += c->snap[i].id[0] != '\0';
	pthread_mutex_unlock(&c->snap_mu);
	return rc;
}

void aws_snap_note(struct lf_driver_conn *c, const char *resource, const char *id)
{
	pthread_mutex_lock(&c->snap_mu);
	if (c->snap_lineage && snap_put(c, resource, id ? id : "") != 0) {
		free(c->snap_lineage); /* could not keep it current: reload */
		c->snap_lineage = NULL;
	}
	pthread_mutex_unlock(&c->snap_mu);
}

void aws_snap_free(struct lf_driver_conn *c)
{
	free(c->snap_lineage);
	free(c->snap);
	c->snap_lineage = NULL;
	c->snap = NULL;
	c->nsnap = c->capsnap = 0;
}
