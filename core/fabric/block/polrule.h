/*
 * The policy rule language, for spec validation: the same parser that
 * encodes rules into blocks (policy.c), without building anything.
 * Header-only declarations with no protobuf types so core/spec can use it.
 */
#ifndef LF_POLRULE_H
#define LF_POLRULE_H

#include <stddef.h>

/* deepest nesting of OR/AND/OutOf in a Signature rule */
#define LF_POLICY_MAX_DEPTH 32

/* Check `rule` of policy `type` ("ImplicitMeta" or "Signature"): 0, or
 * LF_EINVALID with a one-line problem in why and its byte offset in rule
 * in *at. Signature rules: principals 'MSPID.role', OR(...), AND(...),
 * OutOf(N, ...) with N from 1 to the number of rules, at least one rule
 * per gate, nesting at most LF_POLICY_MAX_DEPTH, nothing after the rule. */
int lf_policy_rule_check(const char *type, const char *rule, size_t *at,
			 char *why, size_t whysz);

#endif
