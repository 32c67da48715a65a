/*
 * Resources: what ledgerform manages. Each has a stable address
 * ("host.bank.peer0"), a type (the address's first part), canonical desired
 * attributes (a JSON object of scalars and arrays; its hash decides
 * "changed"), and the addresses it depends on. A resource set is what the
 * spec expands to (desired) and what the state holds (current, with the
 * outputs the driver or renderer reported back).
 */
#ifndef LF_RESOURCE_H
#define LF_RESOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>
#include "ledgerform/error.h"

struct lf_resource {
	char *addr;          /* "host.bank.peer0" */
	char *type;          /* "host", "node", "crypto", "channel" */
	json_t *attrs;       /* desired/recorded attributes (object, owned) */
	json_t *outputs;     /* reported by driver/renderer (object or NULL) */
	char **deps;         /* addresses this depends on */
	size_t ndeps;
	char hash[65];       /* sha256 of canonical attrs */
	bool partial;        /* a create that did not finish: outputs hold
				what the driver made so far */
	char *drift;         /* refresh: how the live resource differs from
				the record (NULL: not seen to differ) */
};

/* the attribute naming a dependency this resource takes outputs from only
 * (a node identity's TLS SANs: its host's addresses): it orders the
 * actions and fills attributes (lf_rtype.resolve), but a targeted destroy
 * of that dependency does not take this resource along */
#define LF_OUTPUTS_FROM "outputs_from"

struct lf_rset {
	struct lf_resource *v;
	size_t n, cap;
	void *index;         /* address -> position (internal hash map) */
};

int lf_rset_new(struct lf_rset **out);
void lf_rset_free(struct lf_rset *rs);
/* add a resource; takes ownership of attrs (a reference is stolen).
 * Returns the new resource, or NULL if the address already exists. */
struct lf_resource *lf_rset_add(struct lf_rset *rs, const char *addr,
				json_t *attrs);
/* same, trusting a hash recorded earlier (state); NULL: compute it */
struct lf_resource *lf_rset_add_hashed(struct lf_rset *rs, const char *addr,
				       json_t *attrs, const char *hash);
/* a string attr value shared with the set's other resources (a new
 * reference; NULL when s is not valid UTF-8, as json_string): for values
 * many resources repeat, built once instead of once per resource */
json_t *lf_rset_string(struct lf_rset *rs, const char *s);
/* add a dependency address to r */
void lf_resource_add_dep(struct lf_resource *r, const char *dep);
struct lf_resource *lf_rset_get(const struct lf_rset *rs, const char *addr);
/* recompute r->hash from r->attrs (canonical: sorted keys, compact) */
void lf_resource_rehash(struct lf_resource *r);
/* add without computing the hash (left ""): for many resources whose
 * hashes lf_rset_hash_pending computes afterwards, on two threads */
struct lf_resource *lf_rset_add_unhashed(struct lf_rset *rs, const char *addr,
					 json_t *attrs);
/* while on, lf_rset_add adds unhashed too (for expansions that read no
 * hashes until lf_rset_hash_pending) */
void lf_rset_defer_hashes(struct lf_rset *rs, bool on);
/* hash every resource from position from on whose hash is "" */
void lf_rset_hash_pending(struct lf_rset *rs, size_t from);
/* hash [from, n) on a thread of its own while the caller adds up to
 * `more` resources (the array is reserved: it does not move meanwhile);
 * lf_rset_hash_end waits for it */
struct lf_hash_job;
struct lf_hash_job *lf_rset_hash_begin(struct lf_rset *rs, size_t from, size_t more);
void lf_rset_hash_end(struct lf_hash_job *j);
/* type part of an address ("host" of "host.bank.peer0") */
char *lf_addr_type(const char *addr);

/* one state record: {type, attrs, hash, deps, outputs} */
json_t *lf_resource_to_json(const struct lf_resource *r);
/* state document "resources" object <-> rset */
json_t *lf_rset_to_json(const struct lf_rset *rs);
int lf_rset_from_json(struct lf_rset **out, const json_t *resources,
		      struct lf_err *err);
struct lf_state_raw;
/*
 * The current set from records read unparsed (lf_state_read_raw). A record
 * whose stored hash equals its desired resource's (desired may be NULL) and
 * that is not partial shares the desired attributes, and only its outputs
 * (if any) are parsed; every other record is parsed from its text.
 */
int lf_rset_from_raw(struct lf_rset **out, const struct lf_state_raw *raw,
		     const struct lf_rset *desired, struct lf_err *err);
/*
 * Same, in two rounds: first the records whose desired resource is not
 * later(arg, des), then between(arg, set so far), then the others (the set
 * keeps that order). between may change the later resources' attrs
 * (filling in what they take from the first round's outputs), so that
 * their records can share them too.
 */
int lf_rset_from_raw2(struct lf_rset **out, const struct lf_state_raw *raw,
		      const struct lf_rset *desired,
		      bool (*later)(void *arg, const struct lf_resource *des),
		      void (*between)(void *arg, const struct lf_rset *first), void *arg,
		      struct lf_err *err);

/* r's attrs where another job of the apply may swap them (a resolve,
 * plans/resolve.c): read once, atomically */
static inline json_t *lf_resource_attrs(const struct lf_resource *r)
{
	return __atomic_load_n(&r->attrs, __ATOMIC_ACQUIRE);
}

#endif
