/* Commands provided by the Fabric renderers (render, inspect, sign). */
#ifndef LF_COMMANDS_H
#define LF_COMMANDS_H

#include "ledgerform/driver.h"

int lf_cmd_render(int argc, char **argv);

#define LF_EXTRA_COMMANDS_USAGE \
	"  render     render crypto material alone (like cryptogen)\n"
#define LF_EXTRA_COMMANDS { "render", lf_cmd_render },

#endif
