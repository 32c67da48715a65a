/*
 * Config updates reach the channel: Broadcast to a running consenter,
 * then Deliver until the config block that carries the update arrives
 * (core/net/ab). The submitter is the consenter org's admin, whose
 * signature the channel's Writers policy admits.
 */
#include "core/net/join.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/fabric/block/block.h"
#include "core/net/ab.h"
#include "core/util/util.h"

/* a config update is small; a loaded machine may still take a while to
 * cut its block */
#define SUBMIT_WAIT_MS 120000u
#define SUBMIT_POLL_MS 500u

static const char *js(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* one running consenter, what it takes to reach it, and who submits */
struct consenter {
	const struct lf_resource *node;
	char endpoint[300];
	char *ca_pem, *mspdir;
};

static void consenter_free(struct consenter *c)
{
	free(c->ca_pem);
	free(c->mspdir);
	memset(c, 0, sizeof(*c));
}

static int consenter_open(const struct lf_apply_env *env, const json_t *cons,
			  struct consenter *c, struct lf_err *err)
{
	char *naddr = lf_xasprintf("node.%s.%s", js(cons, "org"), js(cons, "node"));
	const char *domain;
	char *ca;
	size_t n;
	int rc;

	memset(c, 0, sizeof(*c));
	c->node = lf_net_lookup(env, naddr);
	free(naddr);
	if (!c->node || !lf_net_node_started(c->node))
		return LF_ENOTFOUND;
	domain = js(c->node->attrs, "domain");
	rc = lf_net_node_endpoint(env, c->node, "port", c->endpoint, sizeof(c->endpoint), err);
	if (rc != 0)
		return rc;
	ca = lf_xasprintf("%s/ordererOrganizations/%s/tlsca/tlsca.%s-cert.pem", env->crypto_dir,
			  domain, domain);
	rc = lf_read_file(ca, &c->ca_pem, &n, err);
	free(ca);
	c->mspdir = lf_xasprintf("%s/ordererOrganizations/%s/users/Admin@%s/msp", env->crypto_dir,
				 domain, domain);
	return rc;
}

static int submit_to(const struct lf_resource *chan, struct consenter *c,
		     const uint8_t *sig_env, size_t len,
		     uint64_t expected_seq, uint8_t **block, size_t *blen,
		     int *ab_status, struct lf_err *err)
{
	struct lf_grpc_tls tls = { c->ca_pem, NULL, NULL, js(c->node->attrs, "hostname") };
	struct lf_ab_signer signer = { c->mspdir, js(c->node->attrs, "mspid") };
	const char *channel = js(chan->attrs, "channel");
	uint8_t *envb = NULL;
	size_t envlen = 0;
	uint64_t seq = 0;
	lf_ab *ab = NULL;
	int rc = lf_ab_new(&ab, c->endpoint, &tls, err);

	if (rc == 0)
		rc = lf_ab_config_block(ab, channel, &signer, block, blen, &seq, err);
	if (rc == 0 && seq >= expected_seq)
		goto done; /* submitted by an apply that was cut off after it */
	free(*block);
	*block = NULL;
	if (rc == 0)
		rc = lf_update_envelope_signed(sig_env, len, channel, c->mspdir,
					       signer.mspid, &envb, &envlen, err);
	if (rc == 0)
		rc = lf_ab_submit_config_update(ab, channel, &signer, envb, envlen,
						expected_seq, SUBMIT_WAIT_MS, block, blen, err);
done:
	*ab_status = lf_ab_last_status(ab);
	free(envb);
	lf_ab_free(ab);
	return rc;
}

/* one pass over the consenters: the first that answers decides */
static int submit_once(const struct lf_apply_env *env, const struct lf_resource *chan,
		       const uint8_t *sig_env, size_t len, uint64_t expected_seq,
		       uint8_t **block, size_t *blen, bool *submitted,
		       int *ab_status, struct lf_err *err)
{
	const json_t *cons;
	size_t i;
	int rc = LF_ENOTFOUND;

	json_array_foreach(json_object_get(chan->attrs, "consenters"), i, cons) {
		struct consenter c;

		lf_err_clear(err);
		rc = consenter_open(env, cons, &c, err);
		if (rc == 0) {
			*submitted = true;
			rc = submit_to(chan, &c, sig_env, len, expected_seq, block, blen,
				       ab_status, err);
		}
		consenter_free(&c);
		/* one that is down or not started: the next one */
		if (rc != LF_ENOTFOUND && rc != LF_ERETRY)
			break;
	}
	return rc;
}

int lf_net_submit_update(const struct lf_apply_env *env, const struct lf_resource *chan,
			 const uint8_t *sig_env, size_t len, uint64_t expected_seq,
			 uint8_t **block, size_t *blen, bool *submitted,
			 struct lf_err *err)
{
	unsigned int waited = 0;
	int rc, ab_status;

	*block = NULL;
	*blen = 0;
	for (;;) {
		*submitted = false;
		ab_status = -1;
		rc = submit_once(env, chan, sig_env, len, expected_seq, block, blen,
				 submitted, &ab_status, err);
		/* an orderer that answers but cannot take it yet (a raft
		 * channel electing its leader after a restart): poll, bounded;
		 * one that does not answer is the executor's retry */
		if (rc != LF_ERETRY || !*submitted || waited >= SUBMIT_WAIT_MS ||
		    ab_status != LF_AB_SERVICE_UNAVAILABLE ||
		    (env->cancel && atomic_load(env->cancel)))
			break;
		lf_sleep_ms(SUBMIT_POLL_MS);
		waited += SUBMIT_POLL_MS;
	}
	if (!*submitted && rc == LF_ENOTFOUND) {
		lf_err_clear(err);
		rc = 0;
	}
	return rc;
}
