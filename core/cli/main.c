/*
 * ledgerform: a declarative provisioner for Hyperledger Fabric networks.
 * The command line is thin over the engine: it parses options, opens the
 * workspace and prints; the work is done in core/, plans/ and state/.
 */
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "core/cli/cli.h"
#include "core/cli/commands.h"
#include "core/util/ctx.h"

static const char USAGE[] =
	"Usage: ledgerform COMMAND [options]\n\n"
	"Commands:\n"
	"  validate   check a chain spec\n"
	"  plan       show what apply would change\n"
	"  apply      make the infrastructure match the spec\n"
	"  destroy    delete everything the state records\n"
	"  show       show the resources in the state\n"
	"  state      list, show, forget, pull or push the state\n"
	"  force-unlock  remove a dead holder's etcd state lock by its ID\n"
	"  drivers    list driver plugins\n"
	"  import     adopt an existing machine as a host of the spec\n"
	"  output     connection profile or peer CLI variables for an org\n"
	"  status     show how each node runs: health, process, ports\n"
	"  graph      draw the network (DOT or SVG), coloured by plan with --plan\n"
	"  completion print a bash or zsh completion script\n"
	"  fmt        rewrite a spec in the canonical layout (-check, -diff)\n"
	"  package    write a chaincode's package and print its package ID\n"
	LF_EXTRA_COMMANDS_USAGE
	"  version    print the version\n\n"
	"Run `ledgerform COMMAND --help` for a command's options.\n";

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
};

static int cmd_version(int argc, char **argv)
{
	if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		printf("Usage: ledgerform version [--json]\n\nPrint the version and the driver ABI it speaks.\n");
		return 0;
	}
	if (argc > 1 && (strcmp(argv[1], "--json") == 0 || strcmp(argv[1], "-json") == 0)) {
		lf_cli_print_json(json_pack("{s:s, s:i}", "ledgerform_version", LF_VERSION,
					    "driver_abi", LF_DRIVER_ABI_VERSION));
		return 0;
	}
	printf("ledgerform %s (driver ABI %u)\n", LF_VERSION, LF_DRIVER_ABI_VERSION);
	return 0;
}

static const struct command commands[] = {
	{ "validate", lf_cmd_validate },
	{ "plan", lf_cmd_plan },
	{ "apply", lf_cmd_apply },
	{ "destroy", lf_cmd_destroy },
	{ "show", lf_cmd_show },
	{ "state", lf_cmd_state },
	{ "drivers", lf_cmd_drivers },
	{ "import", lf_cmd_import },
	{ "output", lf_cmd_output },
	{ "force-unlock", lf_cmd_force_unlock },
	{ "status", lf_cmd_status },
	{ "graph", lf_cmd_graph },
	{ "completion", lf_cmd_completion },
	{ "fmt", lf_cmd_fmt },
	{ "package", lf_cmd_package },
	{ "version", cmd_version },
	LF_EXTRA_COMMANDS
};

/* the process's context: the one place ledgerform's environment is read */
static struct lf_ctx ctx;

static void ctx_done(void)
{
	lf_ctx_clear(&ctx);
}

int main(int argc, char **argv)
{
	struct lf_err err = LF_ERR_INIT;
	size_t i;

	json_object_seed(0); /* before any thread makes JSON objects */
	/* a peer that went away (a daemon, an SSH server, a node) is an error
	 * of the write that found it, never the end of the process */
	signal(SIGPIPE, SIG_IGN);
	if (lf_ctx_from_env(&ctx, &err) != 0) {
		fprintf(stderr, "ledgerform: error: %s\n", err.msg);
		return 1;
	}
	lf_ctx_install(&ctx);
	atexit(ctx_done);
	/* grow heaps in large steps: a plan of 10k nodes makes millions of
	 * small JSON allocations on two threads */
	mallopt(M_TOP_PAD, 16 << 20);
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		fputs(USAGE, argc < 2 ? stderr : stdout);
		return argc < 2 ? 1 : 0;
	}
	if (strcmp(argv[1], "--version") == 0)
		return cmd_version(0, NULL);
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(commands[i].name, argv[1]) == 0)
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "ledgerform: unknown command '%s'\n\n%s", argv[1], USAGE);
	return 1;
}
