/*
 * Fabric chaincode packages, written and read with libarchive.
 *
 * Layout (checked against `peer lifecycle chaincode package` 2.5.5):
 * outer ustar entries metadata.json then code.tar.gz, mode 0100644, owner
 * 0/0, time 0; inner entries mode 0100644, owner 500/500, time 0, no
 * directory entries, files in Go's filepath.Walk order (each directory's
 * names sorted bytewise), symlinks followed, node_modules left out.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <archive.h>
#include <archive_entry.h>
#include <jansson.h>

#include "core/fabric/cc/package.h"

#define LF_CC_SRC_UID 500       /* Fabric's owner of source entries */
#define LF_CC_MAX_META 65536    /* metadata.json */

/* an archive being written to memory */
struct lf_tarw {
	struct archive *a;
	struct lf_buf *out;
	size_t total;              /* entry bytes so far (bounded) */
	size_t nfiles;
	int owner;                 /* uid and gid of entries */
};

static la_ssize_t tarw_write(struct archive *a, void *data, const void *buf,
			     size_t n)
{
	struct lf_buf *out = data;

	if (lf_buf_append(out, buf, n) != 0) {
		archive_set_error(a, ENOMEM, "package larger than %u MiB",
				  LF_CC_MAX_PACKAGE >> 20);
		return -1;
	}
	return (la_ssize_t)n;
}

static int tar_err(struct archive *a, const char *what, struct lf_err *err)
{
	const char *why = a ? archive_error_string(a) : NULL;

	return lf_err_set(err, LF_ERROR, "%s: %s", what,
			  why ? why : "libarchive failed");
}

static int tarw_open(struct lf_tarw *w, struct lf_buf *out, int owner,
		     struct lf_err *err)
{
	memset(w, 0, sizeof(*w));
	w->out = out;
	w->owner = owner;
	out->max = LF_CC_MAX_PACKAGE;
	w->a = archive_write_new();
	if (!w->a)
		return lf_err_set(err, LF_ERROR, "libarchive: out of memory");
	if (archive_write_set_format_ustar(w->a) != ARCHIVE_OK ||
	    archive_write_add_filter_gzip(w->a) != ARCHIVE_OK ||
	    archive_write_set_filter_option(w->a, "gzip", "timestamp",
					    NULL) != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(w->a, 1) != ARCHIVE_OK ||
	    archive_write_open2(w->a, out, NULL, tarw_write, NULL,
				NULL) != ARCHIVE_OK) {
		tar_err(w->a, "cannot start a package", err);
		archive_write_free(w->a);
		w->a = NULL;
		return LF_ERROR;
	}
	return 0;
}

static int tarw_add(struct lf_tarw *w, const char *name, const void *data,
		    size_t len, struct lf_err *err)
{
	struct archive_entry *e = archive_entry_new();
	int rc = 0;

	if (!e)
		return lf_err_set(err, LF_ERROR, "libarchive: out of memory");
	if ((w->total += len) > LF_CC_MAX_PACKAGE) {
		archive_entry_free(e);
		return lf_err_set(err, LF_EINVALID, "the package's files are "
				  "larger than %u MiB", LF_CC_MAX_PACKAGE >> 20);
	}
	w->nfiles++;
	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, (la_int64_t)len);
	archive_entry_set_uid(e, w->owner);
	archive_entry_set_gid(e, w->owner);
	archive_entry_set_mtime(e, 0, 0);
	if (archive_write_header(w->a, e) != ARCHIVE_OK ||
	    (len && archive_write_data(w->a, data, len) != (la_ssize_t)len))
		rc = tar_err(w->a, name, err);
	archive_entry_free(e);
	return rc;
}

/* finish the archive (on failure too: frees it); 0 when complete */
static int tarw_close(struct lf_tarw *w, int rc, struct lf_err *err)
{
	if (!w->a)
		return rc;
	if (rc == 0 && archive_write_close(w->a) != ARCHIVE_OK)
		rc = tar_err(w->a, "cannot finish the package", err);
	archive_write_free(w->a);
	w->a = NULL;
	return rc;
}

/* ---- source trees ---- */

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static int no_dots(const struct dirent *d)
{
	return strcmp(d->d_name, ".") != 0 && strcmp(d->d_name, "..") != 0;
}

/* a file into the archive as NAME; its size (stat) is checked first */
static int add_file(struct lf_tarw *w, const char *path, const char *name,
		    off_t size, struct lf_err *err)
{
	char *data = NULL;
	size_t len = 0;
	int rc;

	if (size < 0 || (unsigned long long)size > LF_CC_MAX_PACKAGE - w->total)
		return lf_err_set(err, LF_EINVALID, "'%s': the package's files "
				  "are larger than %u MiB", path,
				  LF_CC_MAX_PACKAGE >> 20);
	rc = lf_read_file(path, &data, &len, err);

	if (rc == 0)
		rc = tarw_add(w, name, data, len, err);
	free(data);
	return rc;
}

/* the entry name of REL (a path under the source root) */
static char *entry_name(const struct lf_chaincode *cc, const char *rel)
{
	if (cc->type != LF_CC_NODE || lf_str_has_prefix(rel, "META-INF/"))
		return lf_xstrdup(rel);
	return lf_xasprintf("src/%s", rel);
}

static int add_tree(struct lf_tarw *w, const struct lf_chaincode *cc,
		    const char *dir, const char *rel, int depth,
		    struct lf_err *err)
{
	struct dirent **list = NULL;
	int n = scandir(dir, &list, no_dots, by_name), rc = 0;

	if (n < 0)
		return lf_err_sys(err, LF_ERROR, "cannot list '%s'", dir);
	for (int i = 0; i < n && rc == 0; i++) {
		const char *nm = list[i]->d_name;
		char *path = lf_path_join(dir, nm);
		char *sub = *rel ? lf_xasprintf("%s/%s", rel, nm) : lf_xstrdup(nm);
		struct stat st;

		if (stat(path, &st) != 0)
			rc = lf_err_sys(err, LF_ERROR, "cannot read '%s'", path);
		else if (S_ISDIR(st.st_mode) && strcmp(nm, "node_modules") != 0)
			rc = depth >= 64 ? lf_err_set(err, LF_EINVALID, "'%s': "
				"directories nested too deep", path)
				: add_tree(w, cc, path, sub, depth + 1, err);
		else if (S_ISREG(st.st_mode)) {
			char *name = entry_name(cc, sub);

			rc = add_file(w, path, name, st.st_size, err);
			free(name);
		}
		free(path);
		free(sub);
	}
	for (int i = 0; i < n; i++)
		free(list[i]);
	free(list);
	return rc;
}

/* ---- code.tar.gz and metadata.json ---- */

static char *connection_json(const struct lf_chaincode *cc)
{
	json_t *o = json_object();
	unsigned ms = cc->dial_timeout_ms;
	char dial[32], *s;

	if (ms % 1000 == 0)
		snprintf(dial, sizeof(dial), "%us", ms / 1000);
	else
		snprintf(dial, sizeof(dial), "%ums", ms);
	json_object_set_new(o, "address", json_string(cc->address));
	json_object_set_new(o, "dial_timeout", json_string(dial));
	json_object_set_new(o, "tls_required", json_boolean(cc->tls_required));
	s = json_dumps(o, JSON_PRESERVE_ORDER | JSON_COMPACT);
	json_decref(o);
	return s;
}

static int code_tar(const struct lf_chaincode *cc, struct lf_buf *out,
		    struct lf_err *err)
{
	struct lf_tarw w;
	char *conn;
	int rc;

	if (cc->type != LF_CC_CCAAS && !cc->path)
		return lf_err_set(err, LF_EINVALID, "chaincode '%s': nothing to "
				  "package (no package.path)", cc->name);
	if ((rc = tarw_open(&w, out, LF_CC_SRC_UID, err)) != 0)
		return rc;
	if (cc->type == LF_CC_CCAAS) {
		conn = connection_json(cc);
		rc = tarw_add(&w, "connection.json", conn, strlen(conn), err);
		free(conn);
	} else {
		rc = add_tree(&w, cc, cc->path, "", 0, err);
		if (rc == 0 && w.nfiles == 0)
			rc = lf_err_set(err, LF_EINVALID, "chaincode '%s': no "
					"files under '%s'", cc->name, cc->path);
	}
	return tarw_close(&w, rc, err);
}

/* Fabric's key order: path (source packages), type, label */
static char *metadata_json(const struct lf_chaincode *cc)
{
	json_t *o = json_object();
	char *s;

	if (cc->path_given)
		json_object_set_new(o, "path", json_string(cc->path_given));
	json_object_set_new(o, "type", json_string(lf_cc_type_name(cc->type)));
	json_object_set_new(o, "label", json_string(cc->label));
	s = json_dumps(o, JSON_PRESERVE_ORDER | JSON_COMPACT);
	json_decref(o);
	return s;
}

static void set_identity(struct lf_cc_package *pkg)
{
	lf_sha256_hex(pkg->bytes.data, pkg->bytes.len, pkg->sha256);
	free(pkg->id);
	pkg->id = lf_xasprintf("%s:%s", pkg->label, pkg->sha256);
}

int lf_cc_package_build(struct lf_cc_package *out,
			const struct lf_chaincode *cc, struct lf_err *err)
{
	struct lf_buf code = LF_BUF_INIT;
	struct lf_tarw w;
	char *meta = metadata_json(cc);
	int rc;

	memset(out, 0, sizeof(*out));
	rc = code_tar(cc, &code, err);
	if (rc == 0 && (rc = tarw_open(&w, &out->bytes, 0, err)) == 0) {
		rc = tarw_add(&w, "metadata.json", meta, strlen(meta), err);
		if (rc == 0)
			rc = tarw_add(&w, "code.tar.gz", code.data, code.len, err);
		rc = tarw_close(&w, rc, err);
	}
	if (rc == 0) {
		out->label = lf_xstrdup(cc->label);
		out->type = lf_xstrdup(lf_cc_type_name(cc->type));
		set_identity(out);
	} else {
		lf_cc_package_free(out);
	}
	lf_buf_free(&code);
	free(meta);
	return rc;
}

/* ---- reading ---- */

static int read_meta(struct archive *a, struct lf_cc_package *pkg,
		     struct lf_err *err)
{
	char *buf = lf_xcalloc(1, LF_CC_MAX_META + 1);
	la_ssize_t n = archive_read_data(a, buf, LF_CC_MAX_META);
	json_t *o = n >= 0 ? json_loadb(buf, (size_t)n, 0, NULL) : NULL;
	const char *label = json_string_value(json_object_get(o, "label"));
	const char *type = json_string_value(json_object_get(o, "type"));
	int rc = 0;

	if (n < 0)
		rc = tar_err(a, "cannot read metadata.json", err);
	else if (!label || !*label || !type || !*type)
		rc = lf_err_set(err, LF_EINVALID, "the package's metadata.json "
				"has no label or type");
	else {
		pkg->label = lf_xstrdup(label);
		pkg->type = lf_xstrdup(type);
	}
	json_decref(o);
	free(buf);
	return rc;
}

int lf_cc_package_parse(struct lf_cc_package *pkg, struct lf_err *err)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	bool code = false;
	int rc = 0, r;

	if (!a)
		return lf_err_set(err, LF_ERROR, "libarchive: out of memory");
	archive_read_support_filter_gzip(a);
	archive_read_support_format_tar(a);
	if (archive_read_open_memory(a, pkg->bytes.data, pkg->bytes.len) !=
	    ARCHIVE_OK)
		rc = lf_err_set(err, LF_EINVALID, "not a chaincode package "
				"(a gzip'd tar): %s", archive_error_string(a));
	while (rc == 0 && (r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		const char *name = archive_entry_pathname(e);

		if (lf_streq(name, "metadata.json") && !pkg->label)
			rc = read_meta(a, pkg, err);
		code |= lf_streq(name, "code.tar.gz");
	}
	if (rc == 0 && r != ARCHIVE_EOF)
		rc = lf_err_set(err, LF_EINVALID, "not a chaincode package "
				"(a gzip'd tar): %s", archive_error_string(a));
	else if (rc == 0 && (!pkg->label || !code))
		rc = lf_err_set(err, LF_EINVALID, "not a chaincode package: "
				"it needs metadata.json and code.tar.gz");
	archive_read_free(a);
	if (rc == 0)
		set_identity(pkg);
	return rc;
}

int lf_cc_package_get(struct lf_cc_package *out,
		      const struct lf_chaincode *cc, struct lf_err *err)
{
	char *data = NULL;
	size_t len = 0;
	struct stat st;
	int rc;

	if (!cc->file)
		return lf_cc_package_build(out, cc, err);
	memset(out, 0, sizeof(*out));
	if (stat(cc->file, &st) == 0 && st.st_size > (off_t)LF_CC_MAX_PACKAGE)
		return lf_err_set(err, LF_EINVALID, "chaincode '%s': package '%s' "
				  "is larger than %u MiB", cc->name, cc->file,
				  LF_CC_MAX_PACKAGE >> 20);
	if ((rc = lf_read_file(cc->file, &data, &len, err)) != 0)
		return rc;
	out->bytes.data = data;
	out->bytes.len = out->bytes.cap = len;
	lf_sha256_hex(data, len, out->sha256);
	if (!lf_streq(out->sha256, cc->sha256))
		rc = lf_err_set(err, LF_EINVALID, "chaincode '%s': package '%s' "
				"has SHA-256 %s but the spec expects %s; refusing "
				"it (nothing was installed)", cc->name, cc->file,
				out->sha256, cc->sha256);
	else
		rc = lf_cc_package_parse(out, err);
	if (rc != 0)
		lf_cc_package_free(out);
	return rc;
}

void lf_cc_package_free(struct lf_cc_package *pkg)
{
	if (!pkg)
		return;
	lf_buf_free(&pkg->bytes);
	free(pkg->label);
	free(pkg->type);
	free(pkg->id);
	memset(pkg, 0, sizeof(*pkg));
}
