/*
 * Tests of `ledgerform sign` for chaincode approval files: the file is
 * recognised, the signature is the admin's ECDSA over the round's bytes
 * (verified with OpenSSL against the certificate), another identity is
 * refused and the file left as it was; base64 round trips.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "core/fabric/cc/offline.h"
#include "core/util/util.h"

static char dir[] = "/tmp/lf-ccsign-XXXXXX";

/* an msp folder NAME with a P-256 key and a self-signed certificate */
static void make_msp(const char *name)
{
	char *cmd = lf_xasprintf(
		"cd %s && mkdir -p %s/signcerts %s/keystore && "
		"openssl ecparam -name prime256v1 -genkey -noout -out %s/keystore/priv_sk 2>/dev/null && "
		"openssl req -new -x509 -key %s/keystore/priv_sk -subj /CN=%s -days 1 "
		"-out %s/signcerts/cert.pem 2>/dev/null", dir, name, name, name, name,
		name, name);

	assert_int_equal(system(cmd), 0);
	free(cmd);
}

static char *readf(const char *rel)
{
	char *p = lf_path_join(dir, rel), *data = NULL;
	size_t len;
	struct lf_err err = LF_ERR_INIT;

	assert_int_equal(lf_read_file(p, &data, &len, &err), 0);
	free(p);
	return data;
}

static int setup(void **state)
{
	(void)state;
	assert_non_null(mkdtemp(dir));
	make_msp("a");
	make_msp("b");
	return 0;
}

static int teardown(void **state)
{
	struct lf_err err = LF_ERR_INIT;

	(void)state;
	lf_rmtree(dir, &err);
	return 0;
}

static bool verify(const char *cert_pem, const void *data, size_t len,
		   const unsigned char *sig, size_t slen)
{
	BIO *b = BIO_new_mem_buf(cert_pem, -1);
	X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
	EVP_PKEY *k = x ? X509_get_pubkey(x) : NULL;
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	bool ok = k && EVP_DigestVerifyInit(m, NULL, EVP_sha256(), NULL, k) == 1 &&
		  EVP_DigestVerify(m, sig, slen, data, len) == 1;

	EVP_MD_CTX_free(m);
	EVP_PKEY_free(k);
	X509_free(x);
	BIO_free(b);
	return ok;
}

static void test_cc_sign_file(void **state)
{
	static const char msg[] = "the proposal bytes";
	char *cert = readf("a/signcerts/cert.pem"), *b = lf_cc_b64(msg, strlen(msg));
	char *file = lf_path_join(dir, "approval.json"), *text, *msp, *after;
	struct lf_err err = LF_ERR_INIT;
	unsigned char *sig = NULL;
	size_t slen = 0;
	json_t *j = json_pack("{s:s, s:s, s:I, s:s, s:s, s:s, s:s, s:I, s:s, s:s, s:s}",
			      "ledgerform", LF_CC_SIGN_KIND, "resource",
			      "cc_approve.cc.ch.org2", "round", (json_int_t)1, "what",
			      "the approval proposal", "mspid", "Org2MSP", "channel",
			      "ch", "chaincode", "cc", "sequence", (json_int_t)1,
			      "version", "1", "creator", cert, "sign", b);

	(void)state;
	text = json_dumps(j, JSON_INDENT(2));
	assert_int_equal(lf_write_file_atomic(file, text, strlen(text), 0644, &err), 0);
	assert_true(lf_cc_sign_handles(text, strlen(text)));
	assert_false(lf_cc_sign_handles("\x0a\x05hello", 7));
	assert_false(lf_cc_sign_handles("{\"ledgerform\": \"other\"}", 23));
	/* another admin: refused, file untouched */
	msp = lf_path_join(dir, "b");
	assert_int_equal(lf_cc_sign_file(file, msp, text, strlen(text), &err), LF_EAUTH);
	assert_non_null(strstr(err.msg, "is not the admin the file was made for"));
	free(msp);
	after = readf("approval.json");
	assert_string_equal(after, text);
	free(after);
	/* the admin: the signature verifies against the certificate */
	msp = lf_path_join(dir, "a");
	assert_int_equal(lf_cc_sign_file(file, msp, text, strlen(text), &err), 0);
	free(msp);
	after = readf("approval.json");
	json_decref(j);
	j = json_loads(after, 0, NULL);
	assert_non_null(j);
	assert_int_equal(lf_cc_unb64(json_string_value(json_object_get(j, "signature")),
				     &sig, &slen), 0);
	assert_true(verify(cert, msg, strlen(msg), sig, slen));
	assert_false(verify(cert, "other", 5, sig, slen));
	free(sig);
	free(after);
	free(text);
	free(file);
	free(b);
	free(cert);
	json_decref(j);
}

static void test_cc_b64(void **state)
{
	static const char *const in[] = { "", "a", "ab", "abc", "abcd", "\x00\xff\x10" };
	unsigned char *out = NULL;
	size_t n = 0;

	(void)state;
	for (size_t i = 1; i < sizeof(in) / sizeof(in[0]); i++) {
		size_t len = i == 5 ? 3 : strlen(in[i]);
		char *b = lf_cc_b64(in[i], len);

		assert_int_equal(lf_cc_unb64(b, &out, &n), 0);
		assert_int_equal(n, len);
		assert_memory_equal(out, in[i], len);
		free(out);
		free(b);
	}
	assert_int_not_equal(lf_cc_unb64("abc", &out, &n), 0);
	assert_int_not_equal(lf_cc_unb64("!!!!", &out, &n), 0);
	assert_int_not_equal(lf_cc_unb64(NULL, &out, &n), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_cc_sign_file, setup, teardown),
		cmocka_unit_test(test_cc_b64),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
