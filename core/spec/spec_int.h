/*
 * Internals of the chain spec parser: the positioned YAML tree built from
 * libyaml events, a small string hash set, scalar parsers and the context
 * the model builders share. Not installed, not for other modules.
 */
#ifndef LF_SPEC_INT_H
#define LF_SPEC_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>
#include "core/spec/spec.h"

/* limits that keep any input bounded */
#define LF_SPEC_MAX_DEPTH 64          /* nesting of mappings/sequences */
#define LF_SPEC_MAX_COUNT 10000       /* nodes of one role per org */
#define LF_SPEC_MAX_DIAGS 1000        /* diagnostics stored (all counted) */
#define LF_SPEC_MAX_NODES 500000      /* YAML values in one spec */
/* what one spec may ask for in all (docs/spec.md "Limits"): checked as
 * counts are read, before anything is expanded */
#define LF_SPEC_MAX_TOTAL_NODES 50000      /* orderers + peers, all orgs */
#define LF_SPEC_MAX_TOTAL_USERS 50000      /* users (identities), all orgs */

/* ---- positioned YAML tree ---- */
enum lf_ytype { LF_Y_SCALAR, LF_Y_SEQ, LF_Y_MAP };

struct lf_ynode {
	enum lf_ytype type;
	bool plain;              /* scalar written without quotes */
	bool reported;           /* stands for a refused alias: already
				    reported, no further type errors */
	bool dup;                /* a mapping key seen before in its
				    mapping (reported; lookups use the
				    first) */
	struct lf_pos pos;       /* 1-based start of the node */
	char *str;               /* scalar text, NUL-terminated */
	size_t len;
	struct lf_ynode **kids;  /* sequence items; mapping: k0 v0 k1 v1 ... */
	size_t n, cap;           /* entries in kids */
};

/* Parse one YAML document. Syntax errors, aliases, more than one document
 * and too deep nesting become diagnostics. *out is NULL for an empty
 * stream. Returns 0, or LF_EINVALID when the tree is unusable. */
int lf_ytree_parse(struct lf_ynode **out, const char *buf, size_t len,
		   struct lf_diags *d);
void lf_ytree_free(struct lf_ynode *n);
/* the document as JSON (plain scalars typed: ints, floats, bools, null) */
json_t *lf_ytree_json(const struct lf_ynode *n);
/* plain null scalar: "", "~", "null" */
bool lf_ynode_is_null(const struct lf_ynode *n);
const char *lf_ytype_name(const struct lf_ynode *n);

/* ---- string hash set (open addressing) ---- */
struct lf_sset_ent {
	const char *key;
	const void *val;
};
struct lf_sset {
	struct lf_sset_ent *v;
	size_t n, cap;
	bool own_keys;           /* keys are copied and freed by the set */
};
/* insert key; returns the existing value when present (not inserted) */
const void *lf_sset_put(struct lf_sset *s, const char *key, const void *val,
			bool *found);
const void *lf_sset_get(const struct lf_sset *s, const char *key);
void lf_sset_free(struct lf_sset *s);

/* ---- the builder context ---- */
struct lf_sctx {
	struct lf_spec *spec;
	struct lf_diags *d;
	const struct lf_ynode *root;
	const char *def_size;        /* defaults.size or "small" */
	const char *def_provider;    /* defaults.provider or "local" */
	const struct lf_ynode *consensus_node; /* for consensus errors */
	struct lf_sset orgs;         /* name -> struct lf_org * */
	struct lf_sset broken;       /* orgs with errors: no follow-on
					errors about them elsewhere */
	struct lf_sset orderers;     /* "ORG.NODE" of every orderer, built
					on first use (own keys) */
	bool check_files;            /* CA files must exist (file loads) */
	unsigned long long nodes;    /* orderers + peers asked for so far */
	unsigned long long users;    /* users asked for so far */
};

/* stable sort of d->v[from..] by position */
void lf_diags__sort(struct lf_diags *d, size_t from);

/* diagnostics helpers */
void lf_sc_err(struct lf_sctx *c, const struct lf_ynode *at, const char *fmt,
	       ...) __attribute__((format(printf, 3, 4)));
/* at a position inside a node (a column within a scalar) */
void lf_sc_err_pos(struct lf_sctx *c, struct lf_pos pos, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void lf_sc_warn(struct lf_sctx *c, const struct lf_ynode *at, const char *fmt,
		...) __attribute__((format(printf, 3, 4)));
/* a scalar shown in a message: escaped, truncated, in buf */
const char *lf_sc_show(const char *s, char *buf, size_t size);
#define LF_SHOW_MAX 72

/* mapping access */
const struct lf_ynode *lf_map_get(const struct lf_ynode *map, const char *key);
const struct lf_ynode *lf_map_key(const struct lf_ynode *map, const char *key);
/* report keys of map not in allowed (NULL-terminated), with a suggestion;
 * returns how many there were */
size_t lf_sc_check_keys(struct lf_sctx *c, const struct lf_ynode *map,
		      const char *const *allowed, const char *what);
/* type expectations: report and return false when n is not of that type */
bool lf_sc_want(struct lf_sctx *c, const struct lf_ynode *n,
		enum lf_ytype t, const char *what);

/* typed getters: missing key leaves *out untouched and returns 0; a bad
 * value is reported and returns -1. lf_sc_str: a missing key is reported
 * (and -1) when required_in names the mapping ("an org"), else optional */
int lf_sc_str(struct lf_sctx *c, const struct lf_ynode *map, const char *key,
	      const char *required_in, char **out);
int lf_sc_uint(struct lf_sctx *c, const struct lf_ynode *map, const char *key,
	       unsigned long long min, unsigned long long max,
	       unsigned long long *out);
/* memory/disk: "4GiB", "512MiB", "1TiB" or a plain number of MB; in MB */
int lf_sc_mbytes(struct lf_sctx *c, const struct lf_ynode *map,
		 const char *key, unsigned long long *out_mb);
/* Fabric byte sizes: "99MB", "512KB" (1024-based), "1GB", or bytes */
int lf_sc_bytes(struct lf_sctx *c, const struct lf_ynode *map,
		const char *key, unsigned long long max,
		unsigned long long *out);
/* durations: "2s", "500ms", "1m", "1h" (also "1m30s"); in ms */
int lf_sc_duration(struct lf_sctx *c, const struct lf_ynode *map,
		   const char *key, unsigned long long max_ms,
		   unsigned long long *out_ms);
/* sequence of strings; *out NULL-free array of copies */
int lf_sc_strlist(struct lf_sctx *c, const struct lf_ynode *map,
		  const char *key, char ***out, size_t *n,
		  const struct lf_ynode **node);

/* scalar checks */
bool lf_spec_is_dns_name(const char *s);       /* a.b.c, each a DNS label */
bool lf_spec_is_channel_name(const char *s);
bool lf_spec_is_ident(const char *s, size_t max); /* [a-z0-9_]+ */
bool lf_spec_is_address(const char *s);        /* DNS name or IP literal */
bool lf_spec_parse_u64(const char *s, unsigned long long *out);
bool lf_spec_parse_mb(const char *s, bool plain_int,
		      unsigned long long *out_mb);
bool lf_spec_parse_bytes(const char *s, unsigned long long *out);
bool lf_spec_parse_duration(const char *s, unsigned long long *out_ms);

/* builders (one per section) */
void lf_spec__fabric(struct lf_sctx *c, const struct lf_ynode *n);
void lf_spec__sizes(struct lf_sctx *c, const struct lf_ynode *n);
void lf_spec__providers(struct lf_sctx *c, const struct lf_ynode *n);
void lf_spec__defaults(struct lf_sctx *c, const struct lf_ynode *n);
void lf_spec__orgs(struct lf_sctx *c, const struct lf_ynode *n);
void lf_spec__kafka(struct lf_sctx *c, const struct lf_ynode *key,
		    const struct lf_ynode *n);
void lf_spec__channels(struct lf_sctx *c, const struct lf_ynode *n);
void lf_spec__state(struct lf_sctx *c, const struct lf_ynode *n);
/* sizes.*.price and currency, after the providers (core/spec/prices.c) */
void lf_spec__prices(struct lf_sctx *c, const struct lf_ynode *sizes,
		     const struct lf_ynode *currency);
void lf_spec__chaincodes(struct lf_sctx *c, const struct lf_ynode *n);
/* principals of a Signature rule name mspids of the spec; the problem is
 * written to why (channels.c) */
bool lf_spec__signature_ok(const struct lf_spec *s, const char *r,
			   char *why, size_t size);
/* references: report (with a suggestion) and return false when v does not
 * name a defined size / provider */
bool lf_spec__size_ref(struct lf_sctx *c, const struct lf_ynode *v);
bool lf_spec__provider_ref(struct lf_sctx *c, const struct lf_ynode *v);
/* {env: VAR} or {file: PATH} as JSON; NULL (reported) when wrong */
json_t *lf_spec__credentials(struct lf_sctx *c, const struct lf_ynode *v);
/* ---- ports (ports.c) ---- */
/* the ports a role or hosts entry gives (port:, ports:) */
struct lf_portset {
	unsigned int port[LF_PORT_KIND_LAST];
	unsigned int given;          /* bits 1 << LF_PORT_* */
	struct lf_pos pos[LF_PORT_KIND_LAST];
};
/* read port: and ports: of map (a role or a hosts entry) for nodes of
 * kind nk over what dst holds; problems are reported */
void lf_spec__ports(struct lf_sctx *c, const struct lf_ynode *map,
		    enum lf_node_kind nk, struct lf_portset *dst);
/* give a new node the ports its role or hosts entry gave */
void lf_spec__node_ports(struct lf_node *n, const struct lf_portset *ps);
/* cross checks after every section is built: each node's machine, and no
 * two given ports on one machine alike */
void lf_spec__check_ports(struct lf_sctx *c);
/* once the spec is valid: every port not given is planned per machine;
 * nodes on the local machine are reached at 127.0.0.1 */
void lf_spec__plan_ports(struct lf_sctx *c);

/* built-in size templates (same as templates/sizes.yaml) */
void lf_spec__default_sizes(struct lf_spec *s);

/* model element destructors */
void lf_node_clear(struct lf_node *n);
void lf_org_clear(struct lf_org *o);
void lf_channel_clear(struct lf_channel *ch);
void lf_chaincode_clear(struct lf_chaincode *cc);

#endif
