/* Option parsing shared by the commands. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "core/cli/cli.h"
#include "core/util/util.h"

void lf_cli_error(const char *fmt, ...)
{
	char msg[LF_ERR_MSG_MAX + 256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "ledgerform: error: %s\n", msg);
	if (lf_ui_streaming()) /* apply --json: also an error diagnostic */
		lf_ui_diagnostic("error", msg, NULL);
}

/* "30", "30s", "2m", "500ms" -> seconds; -1 when malformed */
static double parse_duration(const char *s)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || v < 0)
		return -1;
	if (*end == '\0' || strcmp(end, "s") == 0)
		return v;
	if (strcmp(end, "ms") == 0)
		return v / 1000.0;
	if (strcmp(end, "m") == 0)
		return v * 60.0;
	return -1;
}

static int parse_uint(const char *s, unsigned int *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v == 0 || v > 10000 || s[0] == '-')
		return -1;
	*out = (unsigned int)v;
	return 0;
}

enum { O_AUTO = 256, O_PAR, O_JSON, O_TARGET, O_OUT, O_DETAILED, O_LOCKTO,
       O_NOCOLOR, O_STATE, O_REFRESH, O_DESTROY, O_REPLACE, O_KEEP_CRYPTO };

static const struct option longopts[] = {
	{ "file", required_argument, NULL, 'f' },
	{ "help", no_argument, NULL, 'h' },
	{ "auto-approve", no_argument, NULL, O_AUTO },
	{ "parallelism", required_argument, NULL, O_PAR },
	{ "json", no_argument, NULL, O_JSON },
	{ "target", required_argument, NULL, O_TARGET },
	{ "out", required_argument, NULL, O_OUT },
	{ "detailed-exitcode", no_argument, NULL, O_DETAILED },
	{ "lock-timeout", required_argument, NULL, O_LOCKTO },
	{ "no-color", no_argument, NULL, O_NOCOLOR },
	{ "state", required_argument, NULL, O_STATE },
	{ "refresh", optional_argument, NULL, O_REFRESH },
	{ "keep-crypto", no_argument, NULL, O_KEEP_CRYPTO },
	{ "destroy", no_argument, NULL, O_DESTROY },
	{ "replace", required_argument, NULL, O_REPLACE },
	{ NULL, 0, NULL, 0 }
};

static void push_addr(const char ***v, size_t *n, const char *addr)
{
	*v = lf_xrealloc(*v, (*n + 2) * sizeof(char *));
	(*v)[(*n)++] = addr;
	(*v)[*n] = NULL;
}

/* the long option named by s (up to '=' or its end), or NULL */
static const struct option *long_named(const char *s)
{
	size_t n = strcspn(s, "=");
	const struct option *lo;

	for (lo = longopts; lo->name; lo++)
		if (strlen(lo->name) == n && strncmp(lo->name, s, n) == 0)
			return lo;
	return NULL;
}

/* Terraform's single-dash spellings (-out=FILE, -json, -auto-approve...)
 * are aliases of the double-dash ones: argv is rewritten before getopt
 * sees it. -fSPEC stays getopt's; any other -word is refused with the
 * double-dash hint (getopt would read it as a cluster of letters). */
static int alias_single_dash(struct lf_cli_opts *o, int argc, char **argv,
			     const char *cmd)
{
	int i;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--") == 0)
			break;
		if (a[0] != '-' || a[1] == '-' || a[1] == '\0' || a[2] == '\0')
			continue;
		if (long_named(a + 1)) {
			o->aliased = lf_xrealloc(o->aliased, (o->naliased + 1) * sizeof(char *));
			argv[i] = o->aliased[o->naliased++] = lf_xasprintf("-%s", a);
			continue;
		}
		if (a[1] == 'f')
			continue; /* -fSPEC */
		lf_cli_error("%s: unknown option '%s'; long options take two dashes "
			     "(did you mean '-%s'?)", cmd, a, a);
		fprintf(stderr, "Try 'ledgerform %s --help'.\n", cmd);
		return 2;
	}
	return 0;
}

static int parse_one(struct lf_cli_opts *o, int c, const char *usage,
		     const char *cmd)
{
	switch (c) {
	case 'f': o->file = optarg; return 0;
	case 'h': fputs(usage, stdout); return 1;
	case O_AUTO: o->auto_approve = true; return 0;
	case O_JSON: o->json = true; return 0;
	case O_OUT: o->out = optarg; return 0;
	case O_DETAILED: o->detailed_exitcode = true; return 0;
	case O_NOCOLOR: o->no_color = true; return 0;
	case O_STATE: o->state_path = optarg; return 0;
	case O_KEEP_CRYPTO: o->keep_crypto = true; return 0;
	case O_REFRESH:
		if (!optarg || strcmp(optarg, "true") == 0) {
			o->refresh = LF_REFRESH_ALL;
		} else if (strcmp(optarg, "false") == 0) {
			o->refresh = LF_REFRESH_NONE;
		} else {
			lf_cli_error("%s: --refresh takes true or false, not '%s'", cmd, optarg);
			return 2;
		}
		return 0;
	case O_DESTROY: o->destroy = true; return 0;
	case O_TARGET:
		push_addr(&o->targets, &o->ntargets, optarg);
		return 0;
	case O_REPLACE:
		push_addr(&o->replace, &o->nreplace, optarg);
		return 0;
	case O_PAR:
		if (parse_uint(optarg, &o->parallelism) != 0) {
			lf_cli_error("--parallelism '%s': expected an integer from 1 to 10000", optarg);
			return 2;
		}
		return 0;
	case O_LOCKTO:
		o->lock_timeout = parse_duration(optarg);
		if (o->lock_timeout < 0) {
			lf_cli_error("--lock-timeout '%s': expected a duration such as 30s, 2m or 500ms",
				     optarg);
			return 2;
		}
		return 0;
	default:
		fprintf(stderr, "Try 'ledgerform %s --help'.\n", cmd);
		return 2;
	}
}

int lf_cli_parse(struct lf_cli_opts *o, int argc, char **argv,
		 const char *usage, const char *cmd)
{
	int c, rc;

	memset(o, 0, sizeof(*o));
	o->parallelism = 10;
	optind = 1;
	opterr = 1;
	rc = alias_single_dash(o, argc, argv, cmd);
	while (rc == 0 && (c = getopt_long(argc, argv, "f:h", longopts, NULL)) != -1)
		rc = parse_one(o, c, usage, cmd);
	if (rc != 0) {
		lf_cli_opts_free(o); /* the caller returns at once */
		return rc == 1 ? 1 : 2; /* help: exit 0; else exit 1 */
	}
	o->nargs = argc - optind;
	o->args = argv + optind;
	return 0;
}

void lf_cli_opts_free(struct lf_cli_opts *o)
{
	size_t i;

	free(o->targets);
	o->targets = NULL;
	free(o->replace);
	o->replace = NULL;
	for (i = 0; i < o->naliased; i++)
		free(o->aliased[i]);
	free(o->aliased);
	o->aliased = NULL;
	o->naliased = 0;
}
