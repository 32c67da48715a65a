/*
 * Fast JSON text for state documents: pretty-printed with an indent of one
 * space and object keys sorted, byte-identical to jansson's
 * json_dumps(v, JSON_INDENT(1) | JSON_SORT_KEYS) but about 3x faster (one
 * pass, bulk copies, keys sorted without re-lookup). Internal to state/.
 */
#ifndef LF_STATE_RENDER_H
#define LF_STATE_RENDER_H

#include <jansson.h>

#include "core/util/util.h"

/* append the text of v to out; 0, or LF_ERROR (nesting too deep) */
int lf_state__render(struct lf_buf *out, const json_t *v);

#endif
