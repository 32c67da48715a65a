/*
 * Channel membership of running nodes: the `join` resource type
 * (core/net/join_rtype.c) and its expansion from the channel resources.
 */
#ifndef LF_NET_JOIN_H
#define LF_NET_JOIN_H

#include "ledgerform/error.h"
#include "plans/provider.h"
#include "plans/resource.h"

struct lf_spec;

/* join.CHANNEL.ORG.NODE for every consenter of every application channel
 * already in rs (run after the channel expansion) */
int lf_join_expand(const struct lf_spec *spec, struct lf_rset *rs,
		   struct lf_err *err);

extern const struct lf_rtype lf_rtype_join;

#endif
