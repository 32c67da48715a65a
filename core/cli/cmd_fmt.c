/*
 * `ledgerform fmt [-check] [-diff] FILE`: the canonical layout of a chain
 * spec. libyaml loads the document and its emitter writes it again with
 * 2-space indents, unlimited width, each scalar and collection in the
 * style it had (quoted stays quoted, `{count: 1}` stays a flow mapping),
 * and the keys of the spec's known mappings in the order of
 * docs/spec.md's tables (unknown keys after them, in their order).
 *
 * libyaml's parser drops comments, so a file with comments is never
 * rewritten (fmt says so); -check still compares it, with its comments
 * taken out. Formatting is idempotent: fmt of fmt's output is unchanged.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <yaml.h>

#include "core/cli/cli.h"
#include "core/util/util.h"

static const char USAGE_FMT[] =
	"Usage: ledgerform fmt [-check] [-diff] FILE\n\n"
	"Rewrite a chain spec in the canonical layout: 2-space indents, keys in\n"
	"the order of docs/spec.md (name, fabric, sizes, providers, defaults,\n"
	"orgs, kafka, channels, state; within an org name, domain, mspid, ca,\n"
	"orderers, peers, users, anchor_peers; ...), unknown keys after the\n"
	"known ones in their order, each value in the style it had.\n"
	"A file with comments is not rewritten: libyaml does not keep comments.\n\n"
	"Options (one or two dashes):\n"
	"  -check   change nothing; exit 3 when FILE is not formatted (comments\n"
	"           aside), 0 when it is\n"
	"  -diff    print what formatting changes, as `diff -u`\n";

/* ---- canonical key orders, by context ---- */

enum ctx { C_NONE, C_TOP, C_FABRIC, C_SIZES, C_SIZE, C_PROVIDERS, C_PROVIDER,
	   C_DEFAULTS, C_ORG, C_CA, C_ROLE, C_HOST, C_KAFKA, C_CHANNEL, C_BATCH,
	   C_STATE };

static const char *const ORDER_TOP[] = { "name", "fabric", "sizes", "providers", "defaults",
					 "orgs", "kafka", "channels", "state", NULL };
static const char *const ORDER_FABRIC[] = { "version", "consensus", NULL };
static const char *const ORDER_SIZE[] = { "vcpus", "memory", "disk", "image", "drivers",
					  NULL };
static const char *const ORDER_PROVIDER[] = { "driver", "config", "credentials",
					      "transport", "parallelism", NULL };
static const char *const ORDER_DEFAULTS[] = { "size", "provider", NULL };
static const char *const ORDER_ORG[] = { "name", "domain", "mspid", "ca", "orderers", "peers",
					 "users", "anchor_peers", NULL };
static const char *const ORDER_CA[] = { "cert", "key", "tls_cert", "tls_key", NULL };
static const char *const ORDER_ROLE[] = { "count", "hosts", "size", "provider", "port",
					  "ports", "sans", NULL };
static const char *const ORDER_HOST[] = { "name", "address", "port", "ports", NULL };
static const char *const ORDER_KAFKA[] = { "brokers", "zookeepers", "size", "provider",
					   NULL };
static const char *const ORDER_CHANNEL[] = { "name", "orgs", "consenters", "batch",
					     "policies", NULL };
static const char *const ORDER_BATCH[] = { "timeout", "max_message_count",
					   "absolute_max_bytes", "preferred_max_bytes", NULL };
static const char *const ORDER_STATE[] = { "backend", "path", "endpoints", "prefix",
					   "lease_ttl", "ca_cert", "cert", "key", "username",
					   "credentials", NULL };

static const char *const *order_of(enum ctx c)
{
	static const char *const *const t[] = {
		[C_TOP] = ORDER_TOP, [C_FABRIC] = ORDER_FABRIC, [C_SIZE] = ORDER_SIZE,
		[C_PROVIDER] = ORDER_PROVIDER, [C_DEFAULTS] = ORDER_DEFAULTS,
		[C_ORG] = ORDER_ORG, [C_CA] = ORDER_CA, [C_ROLE] = ORDER_ROLE,
		[C_HOST] = ORDER_HOST, [C_KAFKA] = ORDER_KAFKA, [C_CHANNEL] = ORDER_CHANNEL,
		[C_BATCH] = ORDER_BATCH, [C_STATE] = ORDER_STATE,
	};

	return c < LF_ARRAY_LEN(t) ? t[c] : NULL;
}

/* the context of the value of key in a mapping of context c (for a
 * sequence value: of its items) */
static enum ctx child_ctx(enum ctx c, const char *key)
{
	static const struct { enum ctx in; const char *key; enum ctx out; } rules[] = {
		{ C_TOP, "fabric", C_FABRIC }, { C_TOP, "sizes", C_SIZES },
		{ C_TOP, "providers", C_PROVIDERS }, { C_TOP, "defaults", C_DEFAULTS },
		{ C_TOP, "orgs", C_ORG }, { C_TOP, "kafka", C_KAFKA },
		{ C_TOP, "channels", C_CHANNEL }, { C_TOP, "state", C_STATE },
		{ C_ORG, "ca", C_CA }, { C_ORG, "orderers", C_ROLE }, { C_ORG, "peers", C_ROLE },
		{ C_ROLE, "hosts", C_HOST }, { C_CHANNEL, "batch", C_BATCH },
	};
	size_t i;

	if (c == C_SIZES)
		return C_SIZE;
	if (c == C_PROVIDERS)
		return C_PROVIDER;
	for (i = 0; i < LF_ARRAY_LEN(rules); i++)
		if (rules[i].in == c && strcmp(rules[i].key, key) == 0)
			return rules[i].out;
	return C_NONE;
}

static size_t rank(const char *const *order, const char *key)
{
	size_t i;

	for (i = 0; order && order[i]; i++)
		if (strcmp(order[i], key) == 0)
			return i;
	return i; /* unknown keys after the known ones */
}

/* ---- emitting the loaded document in canonical order ---- */

struct fmt {
	yaml_document_t *doc;
	yaml_emitter_t em;
	bool failed;
};

static void emit(struct fmt *f, yaml_event_t *e)
{
	if (!f->failed && !yaml_emitter_emit(&f->em, e))
		f->failed = true;
}

/* a node's tag when it is not the default one (written), else NULL */
static yaml_char_t *tag_of(const yaml_node_t *n, const char *dflt)
{
	return n->tag && strcmp((const char *)n->tag, dflt) != 0 ? n->tag : NULL;
}

static void emit_node(struct fmt *f, int id, enum ctx c);

static void emit_mapping(struct fmt *f, yaml_node_t *n, enum ctx c)
{
	yaml_node_pair_t *p = n->data.mapping.pairs.start;
	size_t np = (size_t)(n->data.mapping.pairs.top - p), i, k, *idx;
	const char *const *order = order_of(c);
	yaml_char_t *tag = tag_of(n, YAML_DEFAULT_MAPPING_TAG);
	yaml_event_t e;

	idx = lf_xcalloc(np + 1, sizeof(*idx));
	for (i = 0; i < np; i++) { /* stable insertion sort by rank */
		yaml_node_t *key = yaml_document_get_node(f->doc, p[i].key);
		size_t r = key->type == YAML_SCALAR_NODE
			? rank(order, (const char *)key->data.scalar.value) : (size_t)-1;

		for (k = i; k > 0; k--) {
			yaml_node_t *pk = yaml_document_get_node(f->doc, p[idx[k - 1]].key);
			size_t rk = pk->type == YAML_SCALAR_NODE
				? rank(order, (const char *)pk->data.scalar.value) : (size_t)-1;

			if (rk <= r)
				break;
			idx[k] = idx[k - 1];
		}
		idx[k] = i;
	}
	yaml_mapping_start_event_initialize(&e, NULL, tag, tag == NULL, n->data.mapping.style);
	emit(f, &e);
	for (i = 0; i < np; i++) {
		yaml_node_t *key = yaml_document_get_node(f->doc, p[idx[i]].key);

		emit_node(f, p[idx[i]].key, C_NONE);
		emit_node(f, p[idx[i]].value, key->type == YAML_SCALAR_NODE
			  ? child_ctx(c, (const char *)key->data.scalar.value) : C_NONE);
	}
	yaml_mapping_end_event_initialize(&e);
	emit(f, &e);
	free(idx);
}

static void emit_node(struct fmt *f, int id, enum ctx c)
{
	yaml_node_t *n = yaml_document_get_node(f->doc, id);
	yaml_char_t *tag;
	yaml_node_item_t *it;
	yaml_event_t e;

	switch (n->type) {
	case YAML_SCALAR_NODE:
		tag = tag_of(n, YAML_DEFAULT_SCALAR_TAG);
		yaml_scalar_event_initialize(&e, NULL, tag, n->data.scalar.value,
					     (int)n->data.scalar.length, tag == NULL, tag == NULL,
					     n->data.scalar.style);
		emit(f, &e);
		return;
	case YAML_SEQUENCE_NODE:
		tag = tag_of(n, YAML_DEFAULT_SEQUENCE_TAG);
		yaml_sequence_start_event_initialize(&e, NULL, tag, tag == NULL,
						     n->data.sequence.style);
		emit(f, &e);
		for (it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++)
			emit_node(f, *it, c); /* items share the sequence's context */
		yaml_sequence_end_event_initialize(&e);
		emit(f, &e);
		return;
	case YAML_MAPPING_NODE:
		emit_mapping(f, n, c);
		return;
	default:
		f->failed = true;
	}
}

static int buf_write(void *data, unsigned char *buffer, size_t size)
{
	return lf_buf_append(data, buffer, size) == 0;
}

/* the canonical text of the document in text (NULL and a message on
 * error: a YAML error, or several documents) */
static char *format_text(const char *path, const char *text, size_t len)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	struct fmt f = { &doc, { 0 }, false };
	struct lf_buf out = LF_BUF_INIT;
	yaml_event_t e;

	yaml_parser_initialize(&parser);
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &doc)) {
		lf_cli_error("fmt: %s:%zu:%zu: %s", path, parser.problem_mark.line + 1,
			     parser.problem_mark.column + 1, parser.problem ? parser.problem : "YAML error");
		yaml_parser_delete(&parser);
		return NULL;
	}
	yaml_parser_delete(&parser);
	if (!yaml_document_get_root_node(&doc)) {
		lf_cli_error("fmt: %s: empty document", path);
		yaml_document_delete(&doc);
		return NULL;
	}
	yaml_emitter_initialize(&f.em);
	yaml_emitter_set_output(&f.em, buf_write, &out);
	yaml_emitter_set_indent(&f.em, 2);
	yaml_emitter_set_width(&f.em, -1);
	yaml_emitter_set_unicode(&f.em, 1);
	yaml_stream_start_event_initialize(&e, YAML_UTF8_ENCODING);
	emit(&f, &e);
	yaml_document_start_event_initialize(&e, NULL, NULL, NULL, 1);
	emit(&f, &e);
	emit_node(&f, 1, C_TOP);
	yaml_document_end_event_initialize(&e, 1);
	emit(&f, &e);
	yaml_stream_end_event_initialize(&e);
	emit(&f, &e);
	yaml_emitter_delete(&f.em);
	yaml_document_delete(&doc);
	if (f.failed) {
		lf_cli_error("fmt: %s: cannot write it back", path);
		lf_buf_free(&out);
		return NULL;
	}
	lf_buf_append(&out, "", 1);
	return out.data;
}

/* ---- comments: libyaml drops them, so they are found beside it ---- */

/* mark[i] = 1 where text[i] begins a comment: a '#' outside every scalar
 * token (the scanner's scalar ranges, quotes and block scalars included) */
static unsigned char *comment_marks(const char *text, size_t len, bool *any)
{
	unsigned char *in_scalar = lf_xcalloc(len + 1, 1), *mark = lf_xcalloc(len + 1, 1);
	yaml_parser_t parser;
	yaml_token_t tok;
	size_t i;

	yaml_parser_initialize(&parser);
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	while (yaml_parser_scan(&parser, &tok) && tok.type != YAML_STREAM_END_TOKEN) {
		if (tok.type == YAML_SCALAR_TOKEN)
			for (i = tok.start_mark.index; i < tok.end_mark.index && i < len; i++)
				in_scalar[i] = 1;
		yaml_token_delete(&tok);
	}
	yaml_token_delete(&tok);
	yaml_parser_delete(&parser);
	*any = false;
	for (i = 0; i < len; i++) {
		if (text[i] == '#' && !in_scalar[i] &&
		    (i == 0 || text[i - 1] == ' ' || text[i - 1] == '\t' || text[i - 1] == '\n')) {
			mark[i] = 1;
			*any = true;
		}
	}
	free(in_scalar);
	return mark;
}

/* text without its comments: a comment's line keeps what was before it
 * (trailing blanks cut), a line that held only a comment goes */
static char *strip_comments(const char *text, size_t len, const unsigned char *mark)
{
	struct lf_buf out = LF_BUF_INIT;
	size_t i = 0;

	while (i < len) {
		size_t end = i, cut;
		bool had = false;

		while (end < len && text[end] != '\n')
			end++;
		for (cut = i; cut < end && !mark[cut]; cut++)
			;
		had = cut < end;
		while (had && cut > i && (text[cut - 1] == ' ' || text[cut - 1] == '\t'))
			cut--;
		if (!had || cut > i) {
			lf_buf_append(&out, text + i, cut - i);
			lf_buf_append(&out, "\n", 1);
		}
		i = end + 1;
	}
	lf_buf_append(&out, "", 1);
	return out.data;
}

/* `diff -u FILE formatted` on stdout */
static void show_diff(const char *path, const char *formatted)
{
	char tmp[] = "/tmp/ledgerform-fmt-XXXXXX";
	int fd = mkstemp(tmp);
	struct lf_err err = LF_ERR_INIT;
	char *label = lf_xasprintf("%s (formatted)", path);
	pid_t pid;

	if (fd < 0 || lf_write_file_atomic(tmp, formatted, strlen(formatted), 0600, &err) != 0) {
		lf_cli_error("fmt -diff: cannot write a temporary file");
		goto cleanup;
	}
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		execlp("diff", "diff", "-u", "--label", path, "--label", label, path, tmp,
		       (char *)NULL);
		_exit(127);
	}
	if (pid > 0)
		waitpid(pid, NULL, 0);
cleanup:
	if (fd >= 0) {
		close(fd);
		unlink(tmp);
	}
	free(label);
}

struct fmt_opts {
	bool check, diff;
	const char *file;
};

static int fmt_args(struct fmt_opts *o, int argc, char **argv)
{
	int i;

	memset(o, 0, sizeof(*o));
	for (i = 1; i < argc; i++) {
		const char *a = argv[i] + (strncmp(argv[i], "--", 2) == 0);

		if (strcmp(a, "-check") == 0) {
			o->check = true;
		} else if (strcmp(a, "-diff") == 0) {
			o->diff = true;
		} else if (strcmp(a, "-help") == 0 || strcmp(a, "-h") == 0) {
			fputs(USAGE_FMT, stdout);
			return 1;
		} else if (a[0] == '-' || o->file) {
			lf_cli_error("fmt: unexpected '%s'", argv[i]);
			fputs(USAGE_FMT, stderr);
			return 2;
		} else {
			o->file = argv[i];
		}
	}
	if (!o->file) {
		lf_cli_error("fmt: expected the spec FILE");
		return 2;
	}
	return 0;
}

/* rewrite the file with the canonical text, keeping its mode */
static int fmt_write(const char *path, const char *formatted)
{
	struct lf_err err = LF_ERR_INIT;
	struct stat sb;

	if (stat(path, &sb) != 0 ||
	    lf_write_file_atomic(path, formatted, strlen(formatted), sb.st_mode & 07777,
				 &err) != 0) {
		lf_cli_error("fmt: %s: %s", path, err.msg[0] ? err.msg : "cannot stat it");
		return 1;
	}
	printf("%s\n", path);
	return 0;
}

int lf_cmd_fmt(int argc, char **argv)
{
	struct fmt_opts o;
	struct lf_err err = LF_ERR_INIT;
	char *text = NULL, *formatted = NULL, *bare = NULL;
	unsigned char *marks = NULL;
	size_t len = 0;
	bool comments;
	int rc = fmt_args(&o, argc, argv);

	if (rc)
		return rc == 1 ? 0 : 1;
	rc = 1;
	if (lf_read_file(o.file, &text, &len, &err) != 0) {
		lf_cli_error("fmt: %s", err.msg);
		goto cleanup;
	}
	formatted = format_text(o.file, text, len);
	if (!formatted)
		goto cleanup;
	marks = comment_marks(text, len, &comments);
	bare = comments ? strip_comments(text, len, marks) : lf_xstrndup(text, len);
	if (strcmp(bare, formatted) == 0) {
		rc = 0; /* formatted already */
		goto cleanup;
	}
	if (o.diff)
		show_diff(o.file, formatted);
	if (o.check) {
		printf("%s\n", o.file);
		rc = 3;
	} else if (comments) {
		lf_cli_error("fmt: %s has comments, and libyaml (which fmt formats with) does not "
			     "keep them: the file is left as it is; -check and -diff still work",
			     o.file);
	} else {
		rc = fmt_write(o.file, formatted);
	}
cleanup:
	free(text);
	free(formatted);
	free(bare);
	free(marks);
	return rc;
}
