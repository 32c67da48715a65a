/*
 * `ledgerform sign` for chaincode approval, install and peer join files
 * (offline.h): the org admin's key signs the bytes of the current round,
 * on the admin's own machine. The key is read from the msp folder, used
 * once and dropped.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "core/fabric/block/blk.h"
#include "core/fabric/cc/offline.h"
#include "core/net/proposal.h"
#include "core/util/util.h"

char *lf_cc_b64(const void *data, size_t len)
{
	char *out = lf_xcalloc(1, 4 * ((len + 2) / 3) + 1);

	EVP_EncodeBlock((unsigned char *)out, data, (int)len);
	return out;
}

int lf_cc_unb64(const char *s, unsigned char **out, size_t *len)
{
	size_t n = s ? strlen(s) : 0;
	int r;

	*out = NULL;
	*len = 0;
	if (n == 0 || n % 4 != 0 || n > (size_t)1 << 30)
		return LF_EINVALID;
	*out = lf_xcalloc(1, n / 4 * 3 + 1);
	r = EVP_DecodeBlock(*out, (const unsigned char *)s, (int)n);
	if (r < 0) {
		free(*out);
		*out = NULL;
		return LF_EINVALID;
	}
	*len = (size_t)r - (s[n - 1] == '=') - (s[n - 2] == '=');
	return 0;
}

bool lf_cc_sign_handles(const char *data, size_t len)
{
	json_t *j = len && data[0] == '{' ? json_loadb(data, len, 0, NULL) : NULL;
	const char *kind = json_string_value(json_object_get(j, "ledgerform"));
	bool yes = lf_streq(kind, LF_CC_SIGN_KIND) || lf_streq(kind, LF_JOIN_SIGN_KIND);

	json_decref(j);
	return yes;
}

static const char *js(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* for messages: "?" for a missing field */
static const char *shown(const json_t *o, const char *k)
{
	const char *s = js(o, k);

	return s ? s : "?";
}

/* the certificates match, whitespace aside */
static bool same_cert(const char *a, const char *b)
{
	while (a && b && *a && *b) {
		if (strchr(" \t\r\n", *a)) {
			a++;
		} else if (strchr(" \t\r\n", *b)) {
			b++;
		} else if (*a++ != *b++) {
			return false;
		}
	}
	while (a && *a && strchr(" \t\r\n", *a))
		a++;
	while (b && *b && strchr(" \t\r\n", *b))
		b++;
	return a && b && !*a && !*b;
}

static int sign_round(json_t *j, const struct lf_identity *id,
		      struct lf_err *err)
{
	unsigned char *bytes = NULL;
	uint8_t *sig = NULL;
	size_t len = 0, slen = 0;
	int rc = lf_cc_unb64(js(j, "sign"), &bytes, &len);

	if (rc != 0)
		return lf_err_set(err, LF_EINVALID, "the file's bytes to sign are "
				  "not base64");
	rc = lf_blk_sign_pem(id->key_pem, id->key_len, bytes, len, &sig, &slen,
			     err);
	if (rc == 0) {
		char *b = lf_cc_b64(sig, slen);

		json_object_set_new(j, "signature", json_string(b));
		free(b);
	}
	free(sig);
	free(bytes);
	return rc;
}

/* the join's peers, "a, b" */
static void show_join(const json_t *j)
{
	const json_t *p;
	size_t i;

	printf("You are signing the join of peer ");
	json_array_foreach(json_object_get(j, "peers"), i, p)
		printf("%s%s", i ? ", " : "", json_string_value(p));
	printf(" (org %s, %s) to channel %s (one round, the same signed "
	       "proposal for each peer of the org):\n  the channel's block "
	       "sha256 %s (tx %s)\n", shown(j, "org"), shown(j, "mspid"),
	       shown(j, "channel"), shown(j, "block_sha256"), shown(j, "tx_id"));
}

/* what the admin is about to sign */
static void show(const json_t *j)
{
	if (lf_streq(js(j, "step"), "join")) {
		show_join(j);
		return;
	}
	if (lf_streq(js(j, "step"), "install")) {
		printf("You are signing the install proposal (one round, for "
		       "every peer of %s):\n  package %s of chaincode %s (tx %s)\n",
		       shown(j, "mspid"), shown(j, "package_id"),
		       shown(j, "chaincode"), shown(j, "tx_id"));
		return;
	}
	printf("You are signing round %lld of 2 (%s):\n"
	       "  chaincode %s version %s sequence %lld on channel %s,\n"
	       "  approved by %s (tx %s)\n",
	       (long long)json_integer_value(json_object_get(j, "round")),
	       shown(j, "what"), shown(j, "chaincode"), shown(j, "version"),
	       (long long)json_integer_value(json_object_get(j, "sequence")),
	       shown(j, "channel"), shown(j, "mspid"), shown(j, "tx_id"));
}

int lf_cc_sign_file(const char *file, const char *mspdir, const char *data,
		    size_t len, struct lf_err *err)
{
	json_t *j = json_loadb(data, len, 0, NULL);
	struct lf_identity id = { 0 };
	char *out = NULL;
	int rc = j ? lf_identity_load(&id, mspdir, js(j, "mspid"), err)
		   : lf_err_set(err, LF_EINVALID, "'%s' is not JSON", file);

	if (rc == 0 && !same_cert(id.cert_pem, js(j, "creator")))
		rc = lf_err_set(err, LF_EAUTH, "'%s' is not the admin the file "
				"was made for (%s's admin certificate in the "
				"file): sign with that admin's msp folder",
				mspdir, shown(j, "mspid"));
	if (rc == 0) {
		show(j);
		rc = sign_round(j, &id, err);
	}
	if (rc == 0) {
		out = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		rc = lf_write_file_atomic(file, out, strlen(out), 0644, err);
	}
	if (rc == 0)
		printf("signature added to %s: run `ledgerform apply`%s\n", file,
		       json_integer_value(json_object_get(j, "rounds")) != 1 &&
		       json_integer_value(json_object_get(j, "round")) == 1 ?
		       " (it asks for round 2 next)" : "");
	free(out);
	lf_identity_clear(&id);
	json_decref(j);
	return rc;
}
