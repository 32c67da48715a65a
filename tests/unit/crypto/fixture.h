/*
 * Hand-built spec models for the crypto tests and benchmark (no YAML):
 * the same shape lf_spec_load returns, freed with fx_spec_free.
 */
#ifndef LF_TEST_CRYPTO_FIXTURE_H
#define LF_TEST_CRYPTO_FIXTURE_H

#include "core/spec/spec.h"

struct lf_spec *fx_spec_new(const char *name);
/* returns the org's index; domain NULL = NAME.example.com */
size_t fx_add_org(struct lf_spec *s, const char *name, const char *domain,
		  unsigned int users);
/* returns the node, on a machine given by address (machine = address;
 * NULL for one a provider makes); address NULL = its host name */
struct lf_node *fx_add_node(struct lf_spec *s, size_t org,
			    enum lf_node_kind kind, const char *name,
			    const char *address);
void fx_node_add_san(struct lf_node *n, const char *san);
void fx_org_import_ca(struct lf_spec *s, size_t org, const char *cert,
		      const char *key);
/* orgs x peers x users + one orderer org with `orderers` orderers */
struct lf_spec *fx_spec_grid(unsigned int orgs, unsigned int peers,
			     unsigned int users, unsigned int orderers);
void fx_spec_free(struct lf_spec *s);

#endif
