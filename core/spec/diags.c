/*
 * Diagnostics of the spec loader: "FILE:LINE:COL: error: MESSAGE".
 * Every problem of a run is collected; at most LF_SPEC_MAX_DIAGS are kept
 * (all are counted), so junk input cannot flood memory or the terminal.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "core/spec/spec_int.h"
#include "core/util/util.h"

/* control characters never reach a terminal */
static void sanitize(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

static void diags_vadd(struct lf_diags *d, int severity, struct lf_pos pos,
		       const char *fmt, va_list ap)
{
	struct lf_diag *g;
	char *msg = NULL;
	va_list aq;
	int n;

	if (severity)
		d->nerrors++;
	if (d->n >= LF_SPEC_MAX_DIAGS)
		return;
	va_copy(aq, ap);
	n = vsnprintf(NULL, 0, fmt, aq);
	va_end(aq);
	if (n < 0)
		return;
	msg = lf_xmalloc((size_t)n + 1);
	vsnprintf(msg, (size_t)n + 1, fmt, ap);
	sanitize(msg);
	if (d->n == d->cap) {
		d->cap = d->cap ? d->cap * 2 : 8;
		d->v = lf_xrealloc(d->v, d->cap * sizeof(*d->v));
	}
	g = &d->v[d->n++];
	g->severity = severity ? 1 : 0;
	g->pos = pos;
	g->msg = msg;
}

void lf_diags_add(struct lf_diags *d, int severity, struct lf_pos pos,
		  const char *fmt, ...)
{
	va_list ap;

	if (!d)
		return;
	va_start(ap, fmt);
	diags_vadd(d, severity, pos, fmt, ap);
	va_end(ap);
}

void lf_diags_print(const struct lf_diags *d, FILE *f)
{
	const char *file;
	size_t i, shown = 0;

	if (!d || !f)
		return;
	file = d->file ? d->file : "<spec>";
	for (i = 0; i < d->n; i++) {
		const struct lf_diag *g = &d->v[i];
		const char *sev = g->severity ? "error" : "warning";

		if (g->pos.line > 0)
			fprintf(f, "%s:%d:%d: %s: %s\n", file, g->pos.line,
				g->pos.col, sev, g->msg);
		else
			fprintf(f, "%s: %s: %s\n", file, sev, g->msg);
		shown += g->severity ? 1 : 0;
	}
	if (d->nerrors > shown)
		fprintf(f, "%s: error: %zu more errors not shown\n", file,
			d->nerrors - shown);
}

void lf_diags_free(struct lf_diags *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n; i++)
		free(d->v[i].msg);
	free(d->v);
	free(d->file);
	memset(d, 0, sizeof(*d));
}

static int cmp_diag(const void *a, const void *b)
{
	const struct lf_diag *x = a, *y = b;

	if (x->pos.line != y->pos.line)
		return x->pos.line < y->pos.line ? -1 : 1;
	if (x->pos.col != y->pos.col)
		return x->pos.col < y->pos.col ? -1 : 1;
	/* same place: keep the order they were found in (msg address is
	 * not an order; severity first is stable enough) */
	return y->severity - x->severity;
}

/* stable sort by position: insertion order is kept for equal positions */
void lf_diags__sort(struct lf_diags *d, size_t from)
{
	size_t i, j;

	if (!d || d->n - from < 2)
		return;
	if (d->n - from > 64) {
		/* qsort is not stable; positions rarely tie in big runs */
		qsort(d->v + from, d->n - from, sizeof(*d->v), cmp_diag);
		return;
	}
	for (i = from + 1; i < d->n; i++) {
		struct lf_diag t = d->v[i];

		for (j = i; j > from && cmp_diag(&d->v[j - 1], &t) > 0; j--)
			d->v[j] = d->v[j - 1];
		d->v[j] = t;
	}
}

/* ---- helpers for the builders ---- */

static struct lf_pos node_pos(const struct lf_ynode *n)
{
	struct lf_pos p = { 0, 0 };

	return n ? n->pos : p;
}

void lf_sc_err(struct lf_sctx *c, const struct lf_ynode *at, const char *fmt,
	       ...)
{
	va_list ap;

	va_start(ap, fmt);
	diags_vadd(c->d, 1, node_pos(at), fmt, ap);
	va_end(ap);
}

void lf_sc_err_pos(struct lf_sctx *c, struct lf_pos pos, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diags_vadd(c->d, 1, pos, fmt, ap);
	va_end(ap);
}

void lf_sc_warn(struct lf_sctx *c, const struct lf_ynode *at, const char *fmt,
		...)
{
	va_list ap;

	va_start(ap, fmt);
	diags_vadd(c->d, 0, node_pos(at), fmt, ap);
	va_end(ap);
}

const char *lf_sc_show(const char *s, char *buf, size_t size)
{
	size_t i, o = 0;

	if (!s)
		s = "";
	for (i = 0; s[i] && o + 4 < size; i++) {
		unsigned char ch = (unsigned char)s[i];

		buf[o++] = (ch < 0x20 || ch == 0x7f) ? '?' : (char)ch;
	}
	if (s[i]) {
		/* do not cut a UTF-8 sequence in half */
		while (o > 0 && ((unsigned char)buf[o - 1] & 0xc0) == 0x80)
			o--;
		if (o > 0 && ((unsigned char)buf[o - 1] & 0xc0) == 0xc0)
			o--;
		buf[o++] = '.';
		buf[o++] = '.';
		buf[o++] = '.';
	}
	buf[o] = '\0';
	return buf;
}
