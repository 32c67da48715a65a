/*
 * State backend dispatch: pick a backend by name and check its settings.
 * The backends themselves live in file.c (and, later, etcd.c).
 */
#include "state/state.h"

#include <stdlib.h>
#include <string.h>

#include "core/util/util.h"

/* the file backend knows one setting: "path"; anything else is a typo */
static int file_settings_path(const json_t *settings, const char **out,
			      struct lf_err *err)
{
	const char *k;
	json_t *v;

	*out = NULL;
	if (!settings)
		return 0;
	if (!json_is_object(settings))
		return lf_err_set(err, LF_EINVALID,
				  "state backend 'file': settings must be a mapping");
	json_object_foreach((json_t *)settings, k, v) {
		if (strcmp(k, "path") != 0)
			return lf_err_set(err, LF_EINVALID,
					  "state backend 'file' has no setting '%s' (known: path)", k);
		if (!json_is_string(v) || json_string_length(v) == 0)
			return lf_err_set(err, LF_EINVALID,
					  "state backend 'file': setting 'path' must be a non-empty string");
		*out = json_string_value(v);
	}
	return 0;
}

static int open_file_backend(struct lf_state **out, const json_t *settings,
			     const char *base_dir, const char *default_path,
			     struct lf_err *err)
{
	const char *path = NULL;
	char *full = NULL;
	int rc;

	rc = file_settings_path(settings, &path, err);
	if (rc != 0)
		return rc;
	if (path && base_dir && base_dir[0] && path[0] != '/')
		full = lf_path_join(base_dir, path);
	else if (path)
		full = lf_xstrdup(path);
	else if (default_path && default_path[0])
		full = lf_xstrdup(default_path);
	if (!full)
		return lf_err_set(err, LF_EINVALID,
				  "state backend 'file': no path given and no default");
	rc = lf_state_file_new(out, full, err);
	free(full);
	return rc;
}

int lf_state_open(struct lf_state **out, const char *backend,
		  const json_t *settings, const char *base_dir,
		  const char *default_path, struct lf_err *err)
{
	*out = NULL;
	if (!backend || strcmp(backend, "file") == 0)
		return open_file_backend(out, settings, base_dir, default_path, err);
	if (strcmp(backend, "etcd") == 0)
		return lf_err_set(err, LF_EUNSUPPORTED,
				  "state backend 'etcd' is not built yet");
	return lf_err_set(err, LF_EINVALID,
			  "unknown state backend '%s'; expected 'file' or 'etcd'", backend);
}

int lf_state_check_writable(struct lf_state *st, struct lf_err *err)
{
	if (!st->ops->check_writable)
		return 0;
	return st->ops->check_writable(st, err);
}

void lf_state_free(struct lf_state *st)
{
	if (st && st->ops && st->ops->free)
		st->ops->free(st);
}

void lf_state_doc_clear(struct lf_state_doc *doc)
{
	if (!doc)
		return;
	json_decref(doc->resources);
	memset(doc, 0, sizeof(*doc));
}
