/*
 * Expansion: the validated spec becomes the desired resource set.
 *
 *   host.ORG.NODE   a machine for each node (size template resolved)
 *   node.ORG.NODE   the Fabric (or Kafka/ZooKeeper) process on that host
 *   crypto.*        identities (core/fabric/crypto)
 *   channel.NAME    genesis blocks and config updates (core/fabric/block)
 * Attributes are canonical: only what decides the resource, so that an
 * unchanged spec gives the same hash. Hashes are computed in two rounds:
 * identities and channels on a thread of their own while hosts and nodes
 * are built (a node's attributes carry its identity's hash, filled in
 * after that round), hosts and nodes at the end on two threads
 * (lf_rset_hash_pending); nothing reads a hash before its round.
 */
#include "plans/plan.h"

#include <stdlib.h>
#include <string.h>

#include "core/spec/spec.h"
#include "core/util/util.h"
#include "plans/expand_hooks.h"

/* a value many resources repeat, shared through the set (NULL for NULL) */
static json_t *shared(struct lf_rset *rs, const char *s)
{
	return s ? lf_rset_string(rs, s) : NULL;
}

static json_t *host_attrs(const struct lf_spec *spec, const struct lf_node *n,
			  struct lf_rset *rs)
{
	const struct lf_provider *p = lf_spec_provider(spec, n->provider);
	json_t *a = json_object();
	char *label = lf_xconcat(n->name, "-", n->org, NULL);

	json_object_set_new_nocheck(a, "provider", shared(rs, n->provider ? n->provider : "local"));
	json_object_set_new_nocheck(a, "driver", shared(rs, p && p->driver ? p->driver : "local"));
	if (p && p->transport) /* absent: the provider reaches its own machines */
		json_object_set_new_nocheck(a, "transport", shared(rs, p->transport));
	json_object_set_new_nocheck(a, "name", json_string(label));
	free(label);
	json_object_set_new_nocheck(a, "hostname", json_string(n->hostname));
	if (n->explicit_host) {
		json_object_set_new_nocheck(a, "address", json_string(n->address));
	} else {
		const struct lf_size *sz = lf_spec_size(spec, n->size);

		json_object_set_new_nocheck(a, "size", shared(rs, n->size ? n->size : ""));
		if (sz) {
			json_object_set_new_nocheck(a, "vcpus", json_integer(sz->vcpus));
			json_object_set_new_nocheck(a, "memory_mb", json_integer((json_int_t)sz->memory_mb));
			json_object_set_new_nocheck(a, "disk_gb", json_integer((json_int_t)sz->disk_gb));
			json_object_set_new_nocheck(a, "image", shared(rs, sz->image ? sz->image : ""));
		}
	}
	return a;
}

/* where a peer's gossip starts: the org's first peer (the first peer
 * itself: the others reach it, and membership spreads both ways; so
 * scaling the org up or down never restarts the first peer) */
static void gossip_bootstrap(json_t *a, const struct lf_org *org, const struct lf_node *n)
{
	const struct lf_node *b = n;
	char *v;

	for (size_t i = 0; org && i < org->nnodes; i++)
		if (org->nodes[i].kind == LF_NODE_PEER) {
			b = &org->nodes[i];
			break;
		}
	v = lf_xasprintf("%s:%u", b->address ? b->address : b->hostname, b->port);
	json_object_set_new_nocheck(a, "gossip_bootstrap", json_string(v));
	free(v);
}

static json_t *node_attrs(const struct lf_spec *spec, const struct lf_org *org,
			  const struct lf_node *n, struct lf_rset *rs)
{
	json_t *a = json_object();

	json_object_set_new_nocheck(a, "kind", shared(rs, lf_node_kind_name(n->kind)));
	json_object_set_new_nocheck(a, "org", shared(rs, n->org));
	if (org) {
		json_object_set_new_nocheck(a, "mspid", shared(rs, org->mspid));
		json_object_set_new_nocheck(a, "domain", shared(rs, org->domain));
	}
	json_object_set_new_nocheck(a, "hostname", json_string(n->hostname));
	json_object_set_new_nocheck(a, "address", json_string(n->address ? n->address : n->hostname));
	json_object_set_new_nocheck(a, "port", json_integer(n->port));
	/* planned per machine by the spec (core/spec/ports.c); absent when
	 * the node has no such port */
	if (n->chaincode_port)
		json_object_set_new_nocheck(a, "chaincode_port", json_integer(n->chaincode_port));
	if (n->operations_port)
		json_object_set_new_nocheck(a, "operations_port", json_integer(n->operations_port));
	if (n->admin_port)
		json_object_set_new_nocheck(a, "admin_port", json_integer(n->admin_port));
	json_object_set_new_nocheck(a, "listen_host",
			    shared(rs, n->listen_host ? n->listen_host : "0.0.0.0"));
	json_object_set_new_nocheck(a, "fabric_version", shared(rs, spec->fabric_version));
	if (n->kind == LF_NODE_PEER)
		gossip_bootstrap(a, org, n);
	return a;
}

/* a node whose identity's hash is filled in once it is known */
struct crypto_fill {
	size_t node, crypto; /* positions in the set */
};

/* host.ORG.NODE and node.ORG.NODE. The node follows its identity: it
 * depends on crypto.ORG.NODE and carries its hash, so that a re-issued
 * certificate re-delivers that node's files. Identities are hashed on
 * another thread meanwhile: the node gets a placeholder, in the same key
 * position, and a fill entry (*fill) for fill_crypto. */
static int add_node(const struct lf_spec *spec, const struct lf_org *org,
		    const struct lf_node *n, struct lf_rset *rs,
		    struct crypto_fill *fill, size_t *nfill, struct lf_err *err)
{
	char *haddr = lf_xconcat("host.", n->org, ".", n->name, NULL);
	char *naddr = lf_xconcat("node.", n->org, ".", n->name, NULL);
	char *caddr = lf_xconcat("crypto.", n->org, ".", n->name, NULL);
	const struct lf_resource *c = lf_rset_get(rs, caddr);
	struct lf_resource *h, *r = NULL;
	json_t *na = node_attrs(spec, org, n, rs);
	int rc = 0;

	json_object_set_new_nocheck(na, "host", json_string(haddr));
	if (c)
		json_object_set_new_nocheck(na, "crypto", json_null());
	h = lf_rset_add(rs, haddr, host_attrs(spec, n, rs));
	if (h)
		r = lf_rset_add(rs, naddr, na);
	else
		json_decref(na);
	if (!h || !r) {
		rc = lf_err_set(err, LF_EINVALID, "duplicate resource address '%s'",
				h ? naddr : haddr);
		goto cleanup;
	}
	lf_resource_add_dep(r, haddr);
	if (c) {
		lf_resource_add_dep(r, caddr);
		fill[*nfill].node = (size_t)(r - rs->v);
		fill[(*nfill)++].crypto = (size_t)(c - rs->v);
	}
cleanup:
	free(haddr);
	free(naddr);
	free(caddr);
	return rc;
}

static void fill_crypto(struct lf_rset *rs, const struct crypto_fill *fill, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		json_object_set_new_nocheck(rs->v[fill[i].node].attrs, "crypto",
					    json_string(rs->v[fill[i].crypto].hash));
}

static size_t count_nodes(const struct lf_spec *spec)
{
	size_t i, n = spec->kafka ? spec->kafka->nnodes : 0;

	for (i = 0; i < spec->norgs; i++)
		n += spec->orgs[i].nnodes;
	return n;
}

/* every node's host and node, beside the identities' hashing */
static int add_nodes(const struct lf_spec *spec, struct lf_rset *rs,
		     struct lf_err *err)
{
	size_t i, k, nnodes = count_nodes(spec), nfill = 0;
	struct crypto_fill *fill = lf_xcalloc(nnodes + 1, sizeof(*fill));
	struct lf_hash_job *job = lf_rset_hash_begin(rs, 0, 2 * nnodes);
	int rc = 0;

	for (i = 0; rc == 0 && i < spec->norgs; i++) {
		const struct lf_org *org = &spec->orgs[i];

		for (k = 0; rc == 0 && k < org->nnodes; k++)
			rc = add_node(spec, org, &org->nodes[k], rs, fill, &nfill, err);
	}
	for (k = 0; rc == 0 && spec->kafka && k < spec->kafka->nnodes; k++)
		rc = add_node(spec, NULL, &spec->kafka->nodes[k], rs, fill, &nfill, err);
	lf_rset_hash_end(job);
	fill_crypto(rs, fill, nfill);
	free(fill);
	return rc;
}

int lf_expand(const struct lf_spec *spec, struct lf_rset **out,
	      struct lf_err *err)
{
	struct lf_rset *rs;
	size_t first_node;
	int rc;

	*out = NULL;
	lf_rset_new(&rs);
	/* identities and channels read no hashes: hashed beside the nodes */
	lf_rset_defer_hashes(rs, true);
	rc = lf_expand_hooks(spec, rs, err);
	first_node = rs->n;
	if (rc == 0)
		rc = add_nodes(spec, rs, err);
	lf_rset_defer_hashes(rs, false);
	if (rc != 0) {
		lf_rset_free(rs);
		return rc;
	}
	lf_rset_hash_pending(rs, first_node);
	*out = rs;
	return 0;
}
