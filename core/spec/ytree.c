/*
 * A positioned YAML tree from libyaml's event stream.
 *
 * Only what a chain spec needs: mappings, sequences and scalars with the
 * 1-based line and column of each. Aliases are refused (no expansion, so
 * "billion laughs" cannot blow up), nesting is bounded, a second document
 * is refused, and duplicate mapping keys are reported at the second
 * occurrence. The builder keeps an explicit stack: no recursion on input.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "core/spec/spec_int.h"
#include "core/util/util.h"

struct ybuild {
	struct lf_diags *d;
	const char *buf;
	size_t len;
	struct lf_ynode *root;
	struct lf_ynode *stack[LF_SPEC_MAX_DEPTH];
	size_t depth;
	int ndocs;
	size_t nnodes;
	bool stop;
	bool unusable;          /* cut short: the tree is not the document */
};

static struct lf_pos mark_pos(yaml_mark_t m)
{
	struct lf_pos p = { (int)m.line + 1, (int)m.column + 1 };

	return p;
}

/* position of a byte offset (reader errors carry no mark) */
static struct lf_pos offset_pos(const char *buf, size_t len, size_t off)
{
	struct lf_pos p = { 1, 1 };
	size_t i;

	for (i = 0; i < off && i < len; i++) {
		if (buf[i] == '\n') {
			p.line++;
			p.col = 1;
		} else if (((unsigned char)buf[i] & 0xc0) != 0x80) {
			p.col++;
		}
	}
	return p;
}

static void add_kid(struct lf_ynode *parent, struct lf_ynode *kid)
{
	if (parent->n == parent->cap) {
		parent->cap = parent->cap ? parent->cap * 2 : 4;
		parent->kids = lf_xrealloc(parent->kids,
					   parent->cap * sizeof(*parent->kids));
	}
	parent->kids[parent->n++] = kid;
}

static struct lf_ynode *node_new(enum lf_ytype t, yaml_mark_t m)
{
	struct lf_ynode *n = lf_xcalloc(1, sizeof(*n));

	n->type = t;
	n->pos = mark_pos(m);
	return n;
}

static void attach(struct ybuild *b, struct lf_ynode *n)
{
	if (b->depth > 0)
		add_kid(b->stack[b->depth - 1], n);
	else if (!b->root)
		b->root = n;
	else
		lf_ytree_free(n);
}

static int cmp_key_idx(const void *a, const void *b, void *arg)
{
	const struct lf_ynode *m = arg;
	size_t ia = *(const size_t *)a, ib = *(const size_t *)b;
	const struct lf_ynode *ka = m->kids[ia], *kb = m->kids[ib];
	int r = strcmp(ka->str ? ka->str : "", kb->str ? kb->str : "");

	if (r)
		return r;
	return ia < ib ? -1 : (ia > ib ? 1 : 0);
}

static void report_dup(struct ybuild *b, const struct lf_ynode *first,
		       const struct lf_ynode *second)
{
	char buf[LF_SHOW_MAX];

	lf_diags_add(b->d, 1, second->pos,
		     "duplicate key '%s' (first defined at line %d)",
		     lf_sc_show(second->str, buf, sizeof(buf)), first->pos.line);
}

/* duplicate keys of a finished mapping, O(n log n) */
static void check_dup_keys(struct ybuild *b, struct lf_ynode *m)
{
	size_t np = m->n / 2, i, *idx;

	if (np < 2)
		return;
	idx = lf_xmalloc(np * sizeof(*idx));
	for (i = 0; i < np; i++)
		idx[i] = 2 * i;
	qsort_r(idx, np, sizeof(*idx), cmp_key_idx, m);
	for (i = 1; i < np; i++) {
		const struct lf_ynode *a = m->kids[idx[i - 1]];
		const struct lf_ynode *k = m->kids[idx[i]];

		if (a->type != LF_Y_SCALAR || k->type != LF_Y_SCALAR)
			continue;
		if (strcmp(a->str, k->str) == 0) {
			/* report against the first of the run */
			size_t j = i - 1;

			while (j > 0 && m->kids[idx[j - 1]]->type == LF_Y_SCALAR
			       && strcmp(m->kids[idx[j - 1]]->str, k->str) == 0)
				j--;
			report_dup(b, m->kids[idx[j]], k);
			m->kids[idx[i]]->dup = true;
		}
	}
	free(idx);
}

static void on_scalar(struct ybuild *b, const yaml_event_t *ev)
{
	struct lf_ynode *n = node_new(LF_Y_SCALAR, ev->start_mark);

	n->len = ev->data.scalar.length;
	/* "x\0../../etc" would be cut at the NUL: a different value than
	 * written, so refuse it */
	if (memchr(ev->data.scalar.value, '\0', n->len))
		lf_diags_add(b->d, 1, mark_pos(ev->start_mark), "a scalar with "
			     "a NUL character (\\0) is not allowed: text would "
			     "be cut short at it");
	n->str = lf_xstrndup((const char *)ev->data.scalar.value, n->len);
	n->len = strlen(n->str);
	n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
	attach(b, n);
}

static void on_start(struct ybuild *b, const yaml_event_t *ev,
		     enum lf_ytype t)
{
	struct lf_ynode *n;

	if (b->depth >= LF_SPEC_MAX_DEPTH) {
		lf_diags_add(b->d, 1, mark_pos(ev->start_mark),
			     "nesting deeper than %d levels: a chain spec "
			     "never needs that", LF_SPEC_MAX_DEPTH);
		b->stop = true;
		b->unusable = true;
		return;
	}
	n = node_new(t, ev->start_mark);
	attach(b, n);
	if (b->depth == 0 && b->root != n) {
		/* unreachable: one document only */
		b->stop = true;
		return;
	}
	b->stack[b->depth++] = n;
}

static void on_end(struct ybuild *b)
{
	struct lf_ynode *n;

	if (b->depth == 0)
		return;
	n = b->stack[--b->depth];
	if (n->type != LF_Y_MAP)
		return;
	for (size_t i = 0; i + 1 < n->n; i += 2)
		if (n->kids[i]->type != LF_Y_SCALAR)
			lf_diags_add(b->d, 1, n->kids[i]->pos,
				     "expected a string as mapping key, "
				     "got a %s", lf_ytype_name(n->kids[i]));
	check_dup_keys(b, n);
}

static void on_alias(struct ybuild *b, const yaml_event_t *ev)
{
	char buf[LF_SHOW_MAX];
	yaml_mark_t m = ev->start_mark;
	struct lf_ynode *n = node_new(LF_Y_SCALAR, m);

	lf_diags_add(b->d, 1, mark_pos(m), "YAML alias '*%s' is not supported: "
		     "write the value out",
		     lf_sc_show((const char *)ev->data.alias.anchor, buf,
				sizeof(buf)));
	n->str = lf_xstrdup("");
	n->plain = true;
	n->reported = true;
	attach(b, n);
}

static void on_syntax_error(struct ybuild *b, const yaml_parser_t *p)
{
	struct lf_pos pos;
	const char *problem = p->problem ? p->problem : "invalid YAML";

	if (p->error == YAML_READER_ERROR) {
		pos = offset_pos(b->buf, b->len, p->problem_offset);
		if (p->problem_value != -1)
			lf_diags_add(b->d, 1, pos, "YAML: %s (#%X)", problem,
				     (unsigned)p->problem_value);
		else
			lf_diags_add(b->d, 1, pos, "YAML: %s", problem);
		return;
	}
	pos = mark_pos(p->problem_mark);
	if (p->context)
		lf_diags_add(b->d, 1, pos, "YAML: %s %s (line %d)", problem,
			     p->context, (int)p->context_mark.line + 1);
	else
		lf_diags_add(b->d, 1, pos, "YAML: %s", problem);
}

/* a bounded tree: junk cannot make it take gigabytes */
static bool node_budget(struct ybuild *b, const yaml_event_t *ev)
{
	if (++b->nnodes <= LF_SPEC_MAX_NODES)
		return true;
	lf_diags_add(b->d, 1, mark_pos(ev->start_mark), "more than %d YAML "
		     "values: a chain spec never needs that",
		     LF_SPEC_MAX_NODES);
	b->stop = true;
	b->unusable = true;
	return false;
}

static void on_event(struct ybuild *b, const yaml_event_t *ev)
{
	if ((ev->type == YAML_SCALAR_EVENT || ev->type == YAML_ALIAS_EVENT ||
	     ev->type == YAML_SEQUENCE_START_EVENT ||
	     ev->type == YAML_MAPPING_START_EVENT) && !node_budget(b, ev))
		return;
	switch (ev->type) {
	case YAML_DOCUMENT_START_EVENT:
		if (++b->ndocs > 1) {
			lf_diags_add(b->d, 1, mark_pos(ev->start_mark),
				     "a chain spec is one YAML document; "
				     "found a second one");
			b->stop = true;
		}
		break;
	case YAML_SCALAR_EVENT:
		on_scalar(b, ev);
		break;
	case YAML_SEQUENCE_START_EVENT:
		on_start(b, ev, LF_Y_SEQ);
		break;
	case YAML_MAPPING_START_EVENT:
		on_start(b, ev, LF_Y_MAP);
		break;
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		on_end(b);
		break;
	case YAML_ALIAS_EVENT:
		on_alias(b, ev);
		break;
	case YAML_STREAM_END_EVENT:
		b->stop = true;
		break;
	default:
		break;
	}
}

int lf_ytree_parse(struct lf_ynode **out, const char *buf, size_t len,
		   struct lf_diags *d)
{
	yaml_parser_t p;
	yaml_event_t ev;
	struct ybuild b;
	size_t before = d->nerrors;
	bool syntax = false;

	memset(&b, 0, sizeof(b));
	b.d = d;
	b.buf = buf;
	b.len = len;
	*out = NULL;
	if (!yaml_parser_initialize(&p))
		return LF_ERROR;
	yaml_parser_set_input_string(&p, (const unsigned char *)buf, len);
	while (!b.stop) {
		if (!yaml_parser_parse(&p, &ev)) {
			on_syntax_error(&b, &p);
			syntax = true;
			break;
		}
		on_event(&b, &ev);
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&p);
	*out = b.root;
	if (syntax || b.unusable || b.depth > 0 ||
	    (d->nerrors > before && !b.root)) {
		lf_ytree_free(b.root);
		*out = NULL;
		return LF_EINVALID;
	}
	return 0;
}

void lf_ytree_free(struct lf_ynode *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->n; i++)
		lf_ytree_free(n->kids[i]);
	free(n->kids);
	free(n->str);
	free(n);
}

bool lf_ynode_is_null(const struct lf_ynode *n)
{
	if (!n || n->type != LF_Y_SCALAR || !n->plain)
		return false;
	return n->len == 0 || strcmp(n->str, "~") == 0 ||
	       strcmp(n->str, "null") == 0 || strcmp(n->str, "Null") == 0 ||
	       strcmp(n->str, "NULL") == 0;
}

const char *lf_ytype_name(const struct lf_ynode *n)
{
	if (!n)
		return "nothing";
	if (n->type == LF_Y_MAP)
		return "mapping";
	if (n->type == LF_Y_SEQ)
		return "sequence";
	return lf_ynode_is_null(n) ? "null" : "scalar";
}

static json_t *scalar_json(const struct lf_ynode *n)
{
	unsigned long long u;
	char *end;
	double dv;

	if (!n->plain)
		return json_string(n->str);
	if (lf_ynode_is_null(n))
		return json_null();
	if (strcmp(n->str, "true") == 0 || strcmp(n->str, "True") == 0)
		return json_true();
	if (strcmp(n->str, "false") == 0 || strcmp(n->str, "False") == 0)
		return json_false();
	if (lf_spec_parse_u64(n->str, &u) && u <= (unsigned long long)LLONG_MAX)
		return json_integer((json_int_t)u);
	if (n->str[0] == '-' && lf_spec_parse_u64(n->str + 1, &u) &&
	    u <= (unsigned long long)LLONG_MAX)
		return json_integer(-(json_int_t)u);
	if (strchr("0123456789+-.", n->str[0])) {
		dv = strtod(n->str, &end);
		if (*end == '\0' && end != n->str && dv == dv &&
		    dv < 1e300 && dv > -1e300)
			return json_real(dv);
	}
	return json_string(n->str);
}

json_t *lf_ytree_json(const struct lf_ynode *n)
{
	json_t *j;

	if (!n)
		return json_null();
	if (n->type == LF_Y_SCALAR)
		return scalar_json(n);
	if (n->type == LF_Y_SEQ) {
		j = json_array();
		for (size_t i = 0; i < n->n; i++)
			json_array_append_new(j, lf_ytree_json(n->kids[i]));
		return j;
	}
	j = json_object();
	for (size_t i = 0; i + 1 < n->n; i += 2) {
		const struct lf_ynode *k = n->kids[i];

		/* first occurrence wins, as in every lookup */
		if (k->type != LF_Y_SCALAR || k->dup)
			continue;
		json_object_set_new(j, k->str, lf_ytree_json(n->kids[i + 1]));
	}
	return j;
}
