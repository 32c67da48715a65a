/*
 * ports: the ports a node listens on, given in the spec (port:, ports:)
 * or planned per machine.
 *
 * Nodes share a machine when their machine address is the same: an
 * explicit host's address, 127.0.0.1 for every host a local provider
 * makes (and explicit hosts at 127.0.0.1 or localhost); a host another
 * provider makes is a machine of its own. Given ports never collide on a
 * machine (checked, with positions); the others are planned so that they
 * never collide either:
 *   - the first node of a kind on a machine keeps Fabric's defaults
 *     (orderer 7050/admin 7053/operations 8443; peer 7051/chaincode
 *     7052/operations 9443; kafka 9092; zookeeper 2181);
 *   - a later one gets the next free port from BASE + (ORG % 10) * 100 +
 *     RANK, where BASE is per node kind and port kind (table below), ORG
 *     the org's place in the spec and RANK the node's place among the
 *     org's nodes of its kind on that machine, by name (peer2 before
 *     peer10); "free" skips every given port and every port planned
 *     before it.
 * The same spec gives the same ports. Adding a node, or an org after the
 * others, moves no other node's port, unless a block of 100 overflows (a
 * hundred nodes of one kind and org on one machine) or the new node gives
 * a port another one had.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/spec/spec_int.h"
#include "core/util/util.h"

#define LF_LOCAL_MACHINE "127.0.0.1"
#define LF_PORT_MAX 65535u
#define LF_PORT_WRAP 1024u       /* planning wraps to here, never below */

static const char *const port_names[LF_PORT_KIND_LAST] = {
	"listen", "chaincode", "operations", "admin"
};

/* Fabric's default and the base later nodes count from; 0: no such port */
static const struct {
	unsigned int def, base;
} plan_table[LF_NODE_KIND_LAST][LF_PORT_KIND_LAST] = {
	[LF_NODE_PEER] = { { 7051, 14000 }, { 7052, 15000 }, { 9443, 16000 },
			   { 0, 0 } },
	[LF_NODE_ORDERER] = { { 7050, 11000 }, { 0, 0 }, { 8443, 13000 },
			      { 7053, 12000 } },
	/* fabric-ca-server: its operations endpoint's default (9443) is the
	 * peer's, so it has one of its own */
	[LF_NODE_CA] = { { 7054, 19000 }, { 0, 0 }, { 9054, 20000 }, { 0, 0 } },
	[LF_NODE_KAFKA] = { { 9092, 17000 }, { 0, 0 }, { 0, 0 }, { 0, 0 } },
	[LF_NODE_ZOOKEEPER] = { { 2181, 18000 }, { 0, 0 }, { 0, 0 },
				{ 0, 0 } },
};

const char *lf_port_kind_name(enum lf_port_kind k)
{
	return (unsigned)k < LF_PORT_KIND_LAST ? port_names[k] : "?";
}

bool lf_node_has_port(enum lf_node_kind nk, enum lf_port_kind k)
{
	if ((unsigned)nk >= LF_NODE_KIND_LAST || (unsigned)k >= LF_PORT_KIND_LAST)
		return false;
	return plan_table[nk][k].def != 0;
}

static unsigned int *port_slot(struct lf_node *n, enum lf_port_kind k)
{
	switch (k) {
	case LF_PORT_LISTEN:
		return &n->port;
	case LF_PORT_CHAINCODE:
		return &n->chaincode_port;
	case LF_PORT_OPERATIONS:
		return &n->operations_port;
	default:
		return &n->admin_port;
	}
}

unsigned int lf_node_port(const struct lf_node *n, enum lf_port_kind k)
{
	if ((unsigned)k >= LF_PORT_KIND_LAST)
		return 0;
	return *port_slot((struct lf_node *)n, k);
}

/* ---- reading port: and ports: ---- */

static void set_port(struct lf_portset *ps, enum lf_port_kind k,
		     unsigned long long v, struct lf_pos pos)
{
	ps->port[k] = (unsigned)v;
	ps->given |= 1u << k;
	ps->pos[k] = pos;
}

static void read_ports_map(struct lf_sctx *c, const struct lf_ynode *ps,
			   enum lf_node_kind nk, const struct lf_ynode *port,
			   struct lf_portset *dst)
{
	static const char *const keys[] = { "listen", "chaincode",
					     "operations", "admin", NULL };
	unsigned long long v;

	lf_sc_check_keys(c, ps, keys, "ports");
	for (unsigned k = 0; k < LF_PORT_KIND_LAST; k++) {
		const struct lf_ynode *kv = lf_map_get(ps, port_names[k]);

		if (!kv)
			continue;
		if (!lf_node_has_port(nk, (enum lf_port_kind)k))
			lf_sc_err(c, lf_map_key(ps, port_names[k]), "ports.%s: "
				  "%s nodes have no %s port (admin: orderers "
				  "only; chaincode: peers only)", port_names[k],
				  lf_node_kind_name(nk), port_names[k]);
		else if (k == LF_PORT_LISTEN && port)
			lf_sc_err(c, lf_map_key(ps, "listen"), "ports.listen: "
				  "the listen port is already given by 'port' "
				  "(line %d): give it once", port->pos.line);
		else if (lf_sc_uint(c, ps, port_names[k], 1, LF_PORT_MAX,
				    &v) == 0)
			set_port(dst, (enum lf_port_kind)k, v, kv->pos);
	}
}

void lf_spec__ports(struct lf_sctx *c, const struct lf_ynode *map,
		    enum lf_node_kind nk, struct lf_portset *dst)
{
	const struct lf_ynode *pv = lf_map_get(map, "port");
	const struct lf_ynode *ps = lf_map_get(map, "ports");
	unsigned long long v;

	if (pv && lf_sc_uint(c, map, "port", 1, LF_PORT_MAX, &v) == 0)
		set_port(dst, LF_PORT_LISTEN, v, pv->pos);
	if (ps && lf_sc_want(c, ps, LF_Y_MAP, "ports"))
		read_ports_map(c, ps, nk, pv, dst);
}

void lf_spec__node_ports(struct lf_node *n, const struct lf_portset *ps)
{
	for (unsigned k = 0; k < LF_PORT_KIND_LAST; k++) {
		*port_slot(n, (enum lf_port_kind)k) =
			(ps->given & (1u << k)) ? ps->port[k] : 0;
		n->port_pos[k] = ps->pos[k];
	}
	n->ports_given = ps->given;
}

/* ---- machines ---- */

static bool is_loopback(const char *a)
{
	return lf_streq(a, LF_LOCAL_MACHINE) || lf_streq(a, "localhost");
}

static void set_machine(const struct lf_spec *s, struct lf_node *n)
{
	const struct lf_provider *p = lf_spec_provider(s, n->provider);

	if (n->explicit_host)
		n->machine = is_loopback(n->address) ? LF_LOCAL_MACHINE
						     : n->address;
	else if (p && lf_streq(p->driver, "local"))
		n->machine = LF_LOCAL_MACHINE;
	else
		n->machine = NULL;
	n->listen_host = lf_streq(n->machine, LF_LOCAL_MACHINE)
			 ? LF_LOCAL_MACHINE : "0.0.0.0";
}

/* every node of the spec, in spec order, with its org's place */
struct pnode {
	struct lf_node *n;
	size_t org;
};

static struct pnode *all_nodes(struct lf_spec *s, size_t *count)
{
	size_t total = s->kafka ? s->kafka->nnodes : 0, k = 0;
	struct pnode *v;

	for (size_t i = 0; i < s->norgs; i++)
		total += s->orgs[i].nnodes;
	v = lf_xcalloc(total ? total : 1, sizeof(*v));
	for (size_t i = 0; i < s->norgs; i++)
		for (size_t j = 0; j < s->orgs[i].nnodes; j++)
			v[k++] = (struct pnode){ &s->orgs[i].nodes[j], i };
	for (size_t j = 0; s->kafka && j < s->kafka->nnodes; j++)
		v[k++] = (struct pnode){ &s->kafka->nodes[j], s->norgs };
	*count = k;
	return v;
}

/* ---- given ports never collide ---- */

struct claim {
	const struct lf_node *n;
	enum lf_port_kind k;
};

static void report_clash(struct lf_sctx *c, const struct claim *first,
			 const struct lf_node *n, enum lf_port_kind k)
{
	const struct lf_node *f = first->n;
	struct lf_pos at = n->port_pos[k];
	unsigned int port = lf_node_port(n, k);
	const char *fk = port_names[first->k], *nk = port_names[k];

	if (f == n)
		lf_diags_add(c->d, 1, at, "node '%s.%s': %s port %u is also "
			     "its %s port (line %d): each of a node's ports "
			     "must differ", n->org, n->name, nk, port, fk,
			     f->port_pos[first->k].line);
	else if (f->port_pos[first->k].line == at.line &&
		 f->port_pos[first->k].col == at.col)
		lf_diags_add(c->d, 1, at, "%s port %u is given to every node "
			     "of this role, and '%s.%s' and '%s.%s' share "
			     "machine %s: leave it out to have ports planned "
			     "per machine, or give each node its own under "
			     "hosts:", nk, port, f->org, f->name, n->org,
			     n->name, n->machine);
	else
		lf_diags_add(c->d, 1, at, "node '%s.%s' uses %s port %u, "
			     "already taken by '%s.%s' (line %d): its %s port "
			     "would be the other's %s port", n->org, n->name,
			     n->machine ? n->machine : "its host's", port,
			     f->org, f->name, f->port_pos[first->k].line, nk,
			     fk);
}

/* claim n's given port k on its machine; a clash is reported once per
 * position (a role's port is shared by all its nodes) */
static void claim_port(struct lf_sctx *c, struct lf_sset *seen,
		       struct lf_sset *reported, struct claim *cl,
		       struct lf_buf *key)
{
	const struct lf_node *n = cl->n;
	struct lf_pos at = n->port_pos[cl->k];
	const struct claim *first;
	char pk[32];
	bool found;

	key->len = 0;
	if (n->machine)
		lf_buf_printf(key, "%s|%u", n->machine, lf_node_port(n, cl->k));
	else
		lf_buf_printf(key, "=%s.%s|%u", n->org, n->name,
			      lf_node_port(n, cl->k));
	first = lf_sset_put(seen, key->data, cl, &found);
	if (!found)
		return;
	snprintf(pk, sizeof(pk), "%d:%d", at.line, at.col);
	lf_sset_put(reported, pk, cl, &found);
	if (!found)
		report_clash(c, first, n, cl->k);
}

void lf_spec__check_ports(struct lf_sctx *c)
{
	struct lf_sset seen = { NULL, 0, 0, true };
	struct lf_sset reported = { NULL, 0, 0, true };
	struct lf_buf key = LF_BUF_INIT;
	size_t count, nclaims = 0, k = 0;
	struct pnode *v = all_nodes(c->spec, &count);
	struct claim *claims;

	for (size_t i = 0; i < count; i++) {
		set_machine(c->spec, v[i].n);
		nclaims += (size_t)__builtin_popcount(v[i].n->ports_given);
	}
	claims = lf_xcalloc(nclaims ? nclaims : 1, sizeof(*claims));
	for (size_t i = 0; i < count; i++)
		for (unsigned p = 0; p < LF_PORT_KIND_LAST; p++) {
			if (!(v[i].n->ports_given & (1u << p)))
				continue;
			claims[k] = (struct claim){ v[i].n, (enum lf_port_kind)p };
			claim_port(c, &seen, &reported, &claims[k++], &key);
		}
	lf_buf_free(&key);
	lf_sset_free(&seen);
	lf_sset_free(&reported);
	free(claims);
	free(v);
}

/* ---- planning ---- */

static bool port_isdigit(char ch)
{
	return ch >= '0' && ch <= '9';
}

/* names with their numbers compared as numbers: peer2 < peer10 */
static int natural_cmp(const char *a, const char *b)
{
	while (*a && *b) {
		if (port_isdigit(*a) && port_isdigit(*b)) {
			size_t na, nb;
			int r;

			while (*a == '0' && port_isdigit(a[1]))
				a++;
			while (*b == '0' && port_isdigit(b[1]))
				b++;
			na = strspn(a, "0123456789");
			nb = strspn(b, "0123456789");
			if (na != nb)
				return na < nb ? -1 : 1;
			r = strncmp(a, b, na);
			if (r)
				return r;
			a += na;
			b += nb;
			continue;
		}
		if (*a != *b)
			return (unsigned char)*a < (unsigned char)*b ? -1 : 1;
		a++;
		b++;
	}
	return *a ? 1 : *b ? -1 : 0;
}

/* machine, then org (spec order), then node kind, then name */
static int pnode_cmp(const void *pa, const void *pb)
{
	const struct pnode *a = pa, *b = pb;
	int r = strcmp(a->n->machine, b->n->machine);

	if (r)
		return r;
	if (a->org != b->org)
		return a->org < b->org ? -1 : 1;
	if (a->n->kind != b->n->kind)
		return a->n->kind < b->n->kind ? -1 : 1;
	return natural_cmp(a->n->name, b->n->name);
}

/* the ports of one machine: next[p] == p when p is free, else a port
 * above it to look at (union-find with path halving; p = 65536: none) */
struct portmap {
	uint32_t *next;
	uint32_t *used;              /* ports taken, to reset the map */
	size_t nused, cap;
};

static uint32_t pm_find(struct portmap *m, uint32_t p)
{
	while (m->next[p] != p) {
		m->next[p] = m->next[m->next[p]];
		p = m->next[p];
	}
	return p;
}

static void pm_take(struct portmap *m, uint32_t p)
{
	if (m->next[p] != p)
		return;
	m->next[p] = p + 1;
	if (m->nused == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 64;
		m->used = lf_xrealloc(m->used, m->cap * sizeof(*m->used));
	}
	m->used[m->nused++] = p;
}

/* the first free port at or above want, else from LF_PORT_WRAP; 0: none */
static unsigned int pm_free(struct portmap *m, unsigned int want)
{
	uint32_t p = pm_find(m, want);

	if (p > LF_PORT_MAX)
		p = pm_find(m, LF_PORT_WRAP);
	return p > LF_PORT_MAX ? 0 : p;
}

static void pm_reset(struct portmap *m)
{
	if (!m->next) {
		m->next = lf_xmalloc((LF_PORT_MAX + 2) * sizeof(*m->next));
		for (uint32_t p = 0; p <= LF_PORT_MAX + 1; p++)
			m->next[p] = p;
	}
	for (size_t i = 0; i < m->nused; i++)
		m->next[m->used[i]] = m->used[i];
	/* path halving also rewrote links of taken ports only */
	m->nused = 0;
}

struct planner {
	struct lf_sctx *c;
	struct portmap map;
	bool def_out[LF_NODE_KIND_LAST][LF_PORT_KIND_LAST];
};

/* plan the ports v[0..n) (one machine, sorted) did not give */
static void plan_machine(struct planner *pl, struct pnode *v, size_t n)
{
	size_t rank = 0;

	pm_reset(&pl->map);
	memset(pl->def_out, 0, sizeof(pl->def_out));
	for (size_t i = 0; i < n; i++)
		for (unsigned k = 0; k < LF_PORT_KIND_LAST; k++)
			if (v[i].n->ports_given & (1u << k))
				pm_take(&pl->map, lf_node_port(v[i].n,
						(enum lf_port_kind)k));
	for (size_t i = 0; i < n; i++) {
		struct lf_node *nd = v[i].n;

		if (i > 0 && (v[i - 1].org != v[i].org ||
			      v[i - 1].n->kind != nd->kind))
			rank = 0;
		for (unsigned k = 0; k < LF_PORT_KIND_LAST; k++) {
			unsigned int def = plan_table[nd->kind][k].def, p;
			bool *out = &pl->def_out[nd->kind][k];

			if (!def || (nd->ports_given & (1u << k)))
				continue;
			p = plan_table[nd->kind][k].base +
			    (unsigned)(v[i].org % 10) * 100 + (unsigned)rank;
			if (!*out && pm_find(&pl->map, def) == def)
				p = def;
			*out = true;
			p = pm_free(&pl->map, p > LF_PORT_MAX ? LF_PORT_WRAP : p);
			if (!p) {
				lf_diags_add(pl->c->d, 1, nd->pos, "node '%s.%s': "
					     "no free %s port left on machine %s",
					     nd->org, nd->name, port_names[k],
					     nd->machine ? nd->machine : "");
				continue;
			}
			pm_take(&pl->map, p);
			*port_slot(nd, (enum lf_port_kind)k) = p;
		}
		rank++;
	}
}

static void add_san(struct lf_node *n, const char *san)
{
	for (size_t i = 0; i < n->nsans; i++)
		if (strcmp(n->sans[i], san) == 0)
			return;
	n->sans = lf_xrealloc(n->sans, (n->nsans + 1) * sizeof(*n->sans));
	n->sans[n->nsans++] = lf_xstrdup(san);
}

/* a node on the local machine is reached there, under either name */
static void local_reach(struct lf_node *n)
{
	if (!lf_streq(n->machine, LF_LOCAL_MACHINE))
		return;
	if (!n->explicit_host) {
		free(n->address);
		n->address = lf_xstrdup(LF_LOCAL_MACHINE);
		n->machine = LF_LOCAL_MACHINE;
	}
	add_san(n, "localhost");
	add_san(n, LF_LOCAL_MACHINE);
}

void lf_spec__plan_ports(struct lf_sctx *c)
{
	struct planner pl;
	size_t count, shared = 0, i, j;
	struct pnode *v = all_nodes(c->spec, &count);

	memset(&pl, 0, sizeof(pl));
	pl.c = c;
	/* a machine of its own first; shared machines sorted after */
	for (i = 0; i < count; i++) {
		if (v[i].n->machine) {
			v[shared++] = v[i];
			continue;
		}
		plan_machine(&pl, &v[i], 1);
	}
	qsort(v, shared, sizeof(*v), pnode_cmp);
	for (i = 0; i < shared; i = j) {
		for (j = i + 1; j < shared && strcmp(v[j].n->machine,
						     v[i].n->machine) == 0; j++)
			;
		plan_machine(&pl, v + i, j - i);
	}
	for (i = 0; i < shared; i++)
		local_reach(v[i].n);
	free(pl.map.next);
	free(pl.map.used);
	free(v);
}
