/*
 * AWS credentials, resolved anew for every request (so rotated session
 * credentials are picked up):
 *   1. the provider's `credentials:` through the host: {file[, profile]}
 *      gives aws_access_key_id, aws_secret_access_key and optionally
 *      aws_session_token; {env: VAR} gives the secret access key, the key
 *      id and token then come from AWS_ACCESS_KEY_ID / AWS_SESSION_TOKEN;
 *   2. AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (, AWS_SESSION_TOKEN);
 *   3. the shared credentials file (AWS_SHARED_CREDENTIALS_FILE, else
 *      ~/.aws/credentials), profile AWS_PROFILE or default.
 * Values are never logged or put into a message; buffers are wiped.
 */
#include "aws.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <openssl/crypto.h>

void aws_creds_wipe(struct aws_creds *c)
{
	OPENSSL_cleanse(c, sizeof(*c));
}

static int copy_env(const char *var, char *buf, size_t cap)
{
	const char *v = getenv(var);

	if (!v || !v[0] || strlen(v) >= cap)
		return -1;
	memcpy(buf, v, strlen(v) + 1);
	return 0;
}

/* 1: through the spec's reference; LF_ENOTFOUND when it names none */
static int from_spec(struct lf_call *call, struct aws_creds *c, struct lf_err *err)
{
	size_t n;
	int rc;

	rc = aws_host->call_secret(call, "aws_secret_access_key", c->secret,
				   sizeof(c->secret), &n);
	if (rc == LF_ENOTFOUND) {
		rc = aws_host->call_secret(call, "secret", c->secret, sizeof(c->secret), &n);
		if (rc == 0) {
			copy_env("AWS_ACCESS_KEY_ID", c->akid, sizeof(c->akid));
			copy_env("AWS_SESSION_TOKEN", c->token, sizeof(c->token));
			return c->akid[0] ? 0
				: aws_host->err_set(err, LF_EAUTH,
						    "aws: the credentials variable holds the secret access key; AWS_ACCESS_KEY_ID is not set");
		}
	}
	if (rc != 0)
		return rc == LF_ENOTFOUND ? rc
			: aws_host->err_set(err, LF_EAUTH, "aws: the provider's credentials cannot be read");
	rc = aws_host->call_secret(call, "aws_access_key_id", c->akid, sizeof(c->akid), &n);
	if (rc != 0)
		return aws_host->err_set(err, LF_EAUTH,
					 "aws: the provider's credentials have no aws_access_key_id");
	if (aws_host->call_secret(call, "aws_session_token", c->token, sizeof(c->token), &n) != 0)
		c->token[0] = '\0';
	return 0;
}

static void trim(char **s, char **e)
{
	while (*s < *e && isspace((unsigned char)**s))
		(*s)++;
	while (*e > *s && isspace((unsigned char)(*e)[-1]))
		(*e)--;
}

/* one "key = value" line of the wanted section into c */
static void ini_line(char *ls, char *le, struct aws_creds *c)
{
	static const char *const keys[] = { "aws_access_key_id", "aws_secret_access_key",
					    "aws_session_token" };
	char *bufs[] = { c->akid, c->secret, c->token };
	size_t caps[] = { sizeof(c->akid), sizeof(c->secret), sizeof(c->token) };
	char *eq = memchr(ls, '=', (size_t)(le - ls)), *ks = ls, *ke = eq, *vs, *ve = le;
	size_t i;

	if (!eq)
		return;
	vs = eq + 1;
	trim(&ks, &ke);
	trim(&vs, &ve);
	for (i = 0; i < 3; i++)
		if ((size_t)(ke - ks) == strlen(keys[i]) && memcmp(ks, keys[i], (size_t)(ke - ks)) == 0 &&
		    (size_t)(ve - vs) < caps[i]) {
			memcpy(bufs[i], vs, (size_t)(ve - vs));
			bufs[i][ve - vs] = '\0';
		}
}

static void ini_parse(char *text, const char *profile, struct aws_creds *c)
{
	char *p = text;
	int in = 0;

	while (*p) {
		char *nl = strchr(p, '\n'), *ls = p, *le = nl ? nl : p + strlen(p);

		p = nl ? nl + 1 : le;
		trim(&ls, &le);
		if (ls == le || *ls == '#' || *ls == ';')
			continue;
		if (*ls == '[' && le[-1] == ']') {
			char *ss = ls + 1, *se = le - 1;

			trim(&ss, &se);
			in = (size_t)(se - ss) == strlen(profile) &&
			     memcmp(ss, profile, (size_t)(se - ss)) == 0;
		} else if (in) {
			ini_line(ls, le, c);
		}
	}
}

static char *shared_path(void)
{
	const char *f = getenv("AWS_SHARED_CREDENTIALS_FILE"), *home = getenv("HOME");
	struct aws_buf b = { 0 };

	if (f && f[0])
		aws_buf_printf(&b, "%s", f);
	else if (home && home[0])
		aws_buf_printf(&b, "%s/.aws/credentials", home);
	return b.oom ? NULL : b.data;
}

/* 3: the shared credentials file; LF_ENOTFOUND when absent */
static int from_shared_file(struct lf_call *call, struct aws_creds *c)
{
	const char *profile = getenv("AWS_PROFILE");
	char *path = shared_path(), text[16384];
	struct stat st;
	size_t n = 0;
	FILE *f = path ? fopen(path, "r") : NULL;
	int rc = LF_ENOTFOUND;

	if (!f)
		goto cleanup;
	if (fstat(fileno(f), &st) == 0 && (st.st_mode & 077))
		aws_host->call_log(call, 2, "aws: credentials file '%s' is readable by others (mode %04o); chmod 600 it",
				   path, (unsigned)(st.st_mode & 07777));
	n = fread(text, 1, sizeof(text) - 1, f);
	text[n] = '\0';
	ini_parse(text, profile && profile[0] ? profile : "default", c);
	OPENSSL_cleanse(text, sizeof(text));
	if (c->akid[0] && c->secret[0])
		rc = 0;
cleanup:
	if (f)
		fclose(f);
	free(path);
	return rc;
}

int aws_creds_get(struct lf_call *call, struct aws_creds *out, struct lf_err *err)
{
	int rc;

	memset(out, 0, sizeof(*out));
	rc = from_spec(call, out, err);
	if (rc != LF_ENOTFOUND)
		return rc;
	aws_creds_wipe(out);
	if (copy_env("AWS_ACCESS_KEY_ID", out->akid, sizeof(out->akid)) == 0 &&
	    copy_env("AWS_SECRET_ACCESS_KEY", out->secret, sizeof(out->secret)) == 0) {
		copy_env("AWS_SESSION_TOKEN", out->token, sizeof(out->token));
		return 0;
	}
	aws_creds_wipe(out);
	if (from_shared_file(call, out) == 0)
		return 0;
	aws_creds_wipe(out);
	return aws_host->err_set(err, LF_EAUTH,
				 "aws: no credentials: set the provider's credentials:, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or a profile in ~/.aws/credentials");
}
