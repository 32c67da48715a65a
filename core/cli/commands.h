/* Commands provided by the Fabric renderers (render, inspect, sign). */
#ifndef LF_COMMANDS_H
#define LF_COMMANDS_H

#include "ledgerform/driver.h"

int lf_cmd_render(int argc, char **argv);
int lf_cmd_inspect(int argc, char **argv);
int lf_cmd_sign(int argc, char **argv);
int lf_cmd_issue(int argc, char **argv);

#define LF_EXTRA_COMMANDS_USAGE \
	"  render     render crypto material or a channel block alone\n" \
	"  inspect    print a block or config update as JSON\n" \
	"  sign       add an org admin's signature to a config update\n" \
	"  issue      issue the certificates an org's request file asks for\n"
#define LF_EXTRA_COMMANDS { "render", lf_cmd_render }, \
	{ "inspect", lf_cmd_inspect }, { "sign", lf_cmd_sign }, \
	{ "issue", lf_cmd_issue },

#endif
