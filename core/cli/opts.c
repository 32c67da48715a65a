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
	va_list ap;

	fputs("ledgerform: error: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
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
       O_NOCOLOR, O_STATE, O_REFRESH, O_KEEP_CRYPTO };

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
	{ NULL, 0, NULL, 0 }
};

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
	case O_TARGET:
		o->targets = lf_xrealloc(o->targets, (o->ntargets + 2) * sizeof(char *));
		o->targets[o->ntargets++] = optarg;
		o->targets[o->ntargets] = NULL;
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
	while ((c = getopt_long(argc, argv, "f:h", longopts, NULL)) != -1) {
		rc = parse_one(o, c, usage, cmd);
		if (rc == 1)
			return 1; /* help: exit 0 */
		if (rc != 0)
			return 2; /* exit 1 */
	}
	o->nargs = argc - optind;
	o->args = argv + optind;
	return 0;
}

void lf_cli_opts_free(struct lf_cli_opts *o)
{
	free(o->targets);
	o->targets = NULL;
}
