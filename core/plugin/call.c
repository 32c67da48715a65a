/*
 * Call contexts, blobs and credential resolution (see call.h).
 */
#include "core/plugin/call.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/util/ctx.h"
#include "core/util/util.h"



void lf_call_init(struct lf_call *c, const char *driver, const char *provider,
		  const char *resource)
{
	memset(c, 0, sizeof(*c));
	c->driver = driver ? driver : "?";
	c->provider = provider ? provider : "";
	c->resource = resource ? resource : "";
}

/* ---- blobs ------------------------------------------------------------ */

void lf_blob_init(struct lf_blob *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->max = max;
}

int lf_blob_add(struct lf_blob *b, const void *data, size_t len)
{
	size_t keep;

	if (!b || (!data && len))
		return LF_EINVALID;
	if (b->max && len >= b->max) {
		/* only the tail of this chunk survives */
		b->dropped += b->len + (len - b->max);
		data = (const char *)data + (len - b->max);
		len = b->max;
		b->len = 0;
	} else if (b->max && b->len + len > b->max) {
		keep = b->max - len;
		b->dropped += b->len - keep;
		memmove(b->data, b->data + (b->len - keep), keep);
		b->len = keep;
	}
	b->data = lf_xrealloc(b->data, b->len + len + 1);
	if (len)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
	return 0;
}

void lf_blob_free(struct lf_blob *b)
{
	if (!b)
		return;
	if (b->data)
		lf_free_secret(b->data, b->len); /* file contents may be secret */
	memset(b, 0, sizeof(*b));
}

/* ---- credentials -------------------------------------------------------- */

static int creds_copy(const char *val, size_t vlen, char *buf, size_t cap,
		      size_t *len, struct lf_err *err)
{
	if (vlen + 1 > cap)
		return lf_err_set(err, LF_EINVALID,
				  "credential value is longer than the driver's buffer (%zu bytes)", cap);
	memcpy(buf, val, vlen);
	buf[vlen] = '\0';
	if (len)
		*len = vlen;
	return 0;
}

static void trim(const char **s, const char **e)
{
	while (*s < *e && isspace((unsigned char)**s))
		(*s)++;
	while (*e > *s && isspace((unsigned char)(*e)[-1]))
		(*e)--;
}

/* key in [section] of INI text; LF_ENOTFOUND when absent */
static int ini_get(const char *text, size_t tlen, const char *section,
		   const char *key, char *buf, size_t cap, size_t *len,
		   struct lf_err *err)
{
	const char *p = text, *end = text + tlen;
	bool in = false;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *ls = p, *le = nl ? nl : end;

		p = nl ? nl + 1 : end;
		trim(&ls, &le);
		if (ls == le || *ls == '#' || *ls == ';')
			continue;
		if (*ls == '[' && le[-1] == ']') {
			const char *ss = ls + 1, *se = le - 1;

			trim(&ss, &se);
			in = (size_t)(se - ss) == strlen(section) &&
			     memcmp(ss, section, (size_t)(se - ss)) == 0;
			continue;
		}
		if (in) {
			const char *eq = memchr(ls, '=', (size_t)(le - ls));
			const char *ks = ls, *ke = eq, *vs, *ve = le;

			if (!eq)
				continue;
			trim(&ks, &ke);
			vs = eq + 1;
			trim(&vs, &ve);
			if ((size_t)(ke - ks) == strlen(key) &&
			    memcmp(ks, key, (size_t)(ke - ks)) == 0)
				return creds_copy(vs, (size_t)(ve - vs), buf, cap, len, err);
		}
	}
	return LF_ENOTFOUND;
}

static int creds_from_file(const json_t *ref, const char *path, const char *key,
			   char *buf, size_t cap, size_t *len, struct lf_err *err)
{
	const char *profile = json_string_value(json_object_get(ref, "profile"));
	char *data = NULL;
	size_t dlen = 0;
	struct stat st;
	json_t *obj = NULL;
	int rc;

	if (stat(path, &st) != 0)
		return lf_err_sys(err, LF_EAUTH, "credentials file '%s'", path);
	if (st.st_mode & 077)
		fprintf(stderr, "ledgerform: warning: credentials file '%s' is readable by others (mode %04o); chmod 600 it\n",
			path, (unsigned)(st.st_mode & 07777));
	rc = lf_read_file(path, &data, &dlen, err);
	if (rc != 0)
		return rc == LF_ENOTFOUND ? LF_EAUTH : rc;
	if (!profile)
		obj = json_loadb(data, dlen, 0, NULL);
	if (json_is_object(obj)) {
		const json_t *v = json_object_get(obj, key);

		rc = json_is_string(v) ? creds_copy(json_string_value(v), json_string_length(v),
						    buf, cap, len, err)
				       : LF_ENOTFOUND;
	} else {
		rc = ini_get(data, dlen, profile ? profile : "default", key, buf, cap, len, err);
	}
	json_decref(obj);
	lf_free_secret(data, dlen);
	return rc;
}

int lf_creds_get(const json_t *ref, const char *key, char *buf, size_t cap,
		 size_t *len, struct lf_err *err)
{
	const char *var, *file;

	if (len)
		*len = 0;
	if (!buf || cap == 0 || !key)
		return lf_err_set(err, LF_EINVALID, "credentials: no buffer");
	buf[0] = '\0';
	if (!json_is_object(ref))
		return LF_ENOTFOUND;
	var = json_string_value(json_object_get(ref, "env"));
	file = json_string_value(json_object_get(ref, "file"));
	if (var) {
		const char *v = getenv(var);

		if (strcmp(key, "secret") != 0)
			return LF_ENOTFOUND;
		if (!v)
			return lf_err_set(err, LF_EAUTH, "credentials variable '%s' is not set", var);
		return creds_copy(v, strlen(v), buf, cap, len, err);
	}
	if (file)
		return creds_from_file(ref, file, key, buf, cap, len, err);
	return LF_ENOTFOUND;
}
