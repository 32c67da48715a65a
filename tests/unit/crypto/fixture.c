/* Hand-built spec models for the crypto tests and benchmark. */
#include "fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util/util.h"

struct lf_spec *fx_spec_new(const char *name)
{
	struct lf_spec *s = lf_xcalloc(1, sizeof(*s));

	s->name = lf_xstrdup(name);
	s->dir = lf_xstrdup(".");
	return s;
}

size_t fx_add_org(struct lf_spec *s, const char *name, const char *domain,
		  unsigned int users)
{
	struct lf_org *o;

	s->orgs = lf_xrealloc(s->orgs, (s->norgs + 1) * sizeof(*s->orgs));
	o = &s->orgs[s->norgs];
	memset(o, 0, sizeof(*o));
	o->name = lf_xstrdup(name);
	o->mspid = lf_xasprintf("%c%sMSP", name[0] - 'a' + 'A', name + 1);
	o->domain = domain ? lf_xstrdup(domain) : lf_xasprintf("%s.example.com", name);
	o->users = users;
	return s->norgs++;
}

struct lf_node *fx_add_node(struct lf_spec *s, size_t org,
			    enum lf_node_kind kind, const char *name,
			    const char *address)
{
	struct lf_org *o = &s->orgs[org];
	struct lf_node *n;

	o->nodes = lf_xrealloc(o->nodes, (o->nnodes + 1) * sizeof(*o->nodes));
	n = &o->nodes[o->nnodes++];
	memset(n, 0, sizeof(*n));
	n->name = lf_xstrdup(name);
	n->org = o->name;
	n->kind = kind;
	n->hostname = lf_xasprintf("%s.%s", name, o->domain);
	n->address = lf_xstrdup(address ? address : n->hostname);
	n->machine = n->address; /* a machine given by address */
	n->port = kind == LF_NODE_ORDERER ? 7050 : 7051;
	if (kind == LF_NODE_ORDERER)
		o->norderers++;
	else if (kind == LF_NODE_PEER)
		o->npeers++;
	return n;
}

void fx_node_add_san(struct lf_node *n, const char *san)
{
	n->sans = lf_xrealloc(n->sans, (n->nsans + 1) * sizeof(char *));
	n->sans[n->nsans++] = lf_xstrdup(san);
}

void fx_org_import_ca(struct lf_spec *s, size_t org, const char *cert,
		      const char *key)
{
	struct lf_org *o = &s->orgs[org];

	o->ca = lf_xcalloc(1, sizeof(*o->ca));
	o->ca->cert = lf_xstrdup(cert);
	o->ca->key = lf_xstrdup(key);
}

struct lf_spec *fx_spec_grid(unsigned int orgs, unsigned int peers,
			     unsigned int users, unsigned int orderers)
{
	struct lf_spec *s = fx_spec_new("grid");
	char name[32];
	unsigned int i, j;
	size_t o;

	if (orderers) {
		o = fx_add_org(s, "orderer", "example.com", 0);
		for (j = 0; j < orderers; j++) {
			snprintf(name, sizeof(name), "orderer%u", j);
			fx_add_node(s, o, LF_NODE_ORDERER, name, NULL);
		}
	}
	for (i = 0; i < orgs; i++) {
		snprintf(name, sizeof(name), "org%u", i + 1);
		o = fx_add_org(s, name, NULL, users);
		for (j = 0; j < peers; j++) {
			snprintf(name, sizeof(name), "peer%u", j);
			fx_add_node(s, o, LF_NODE_PEER, name, NULL);
		}
	}
	return s;
}

static void node_free(struct lf_node *n)
{
	size_t i;

	free(n->name);
	free(n->hostname);
	free(n->address);
	for (i = 0; i < n->nsans; i++)
		free(n->sans[i]);
	free(n->sans);
}

void fx_spec_free(struct lf_spec *s)
{
	size_t i, j;

	if (!s)
		return;
	for (i = 0; i < s->norgs; i++) {
		struct lf_org *o = &s->orgs[i];

		for (j = 0; j < o->nnodes; j++)
			node_free(&o->nodes[j]);
		free(o->nodes);
		if (o->ca) {
			free(o->ca->cert);
			free(o->ca->key);
			free(o->ca->tls_cert);
			free(o->ca->tls_key);
			free(o->ca);
		}
		free(o->name);
		free(o->mspid);
		free(o->domain);
	}
	free(s->orgs);
	free(s->name);
	free(s->dir);
	free(s);
}
