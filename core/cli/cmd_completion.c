/*
 * completion: shell completion for bash and zsh. The scripts ask the
 * installed binary itself (`ledgerform --help`, `ledgerform CMD --help`)
 * for the commands and their options when completing, so they follow the
 * command table and the usage texts without a second list to keep.
 */
#include <stdio.h>
#include <string.h>

#include "core/cli/cli.h"

static const char USAGE_COMPLETION[] =
	"Usage: ledgerform completion bash|zsh\n\n"
	"Print a shell completion script for bash or zsh: commands, then each\n"
	"command's options (read from the --help texts), then file names.\n\n"
	"  bash:  source <(ledgerform completion bash)   (or install it as\n"
	"         /usr/share/bash-completion/completions/ledgerform)\n"
	"  zsh:   ledgerform completion zsh > \"${fpath[1]}/_ledgerform\"\n"
	"`cmake --install` installs both.\n";

/* the commands: indented words of `ledgerform --help`; a command's
 * options: the --words of its --help */
static const char BASH[] =
	"# bash completion for ledgerform (ledgerform completion bash)\n"
	"_ledgerform() {\n"
	"  local cur=\"${COMP_WORDS[COMP_CWORD]}\" cmd=\"${COMP_WORDS[1]}\" words\n"
	"  if [ \"$COMP_CWORD\" -eq 1 ]; then\n"
	"    words=\"$(ledgerform --help 2>/dev/null | awk '/^  [a-z]/ {print $1}')\"\n"
	"  elif [[ \"$cur\" == -* ]]; then\n"
	"    words=\"$(ledgerform \"$cmd\" --help 2>/dev/null | grep -oE -- '--[a-z][a-z-]*' | sort -u)\"\n"
	"  else\n"
	"    COMPREPLY=($(compgen -f -- \"$cur\"))\n"
	"    return 0\n"
	"  fi\n"
	"  COMPREPLY=($(compgen -W \"$words\" -- \"$cur\"))\n"
	"}\n"
	"complete -o default -F _ledgerform ledgerform\n";

static const char ZSH[] =
	"#compdef ledgerform\n"
	"# zsh completion for ledgerform (ledgerform completion zsh)\n"
	"_ledgerform() {\n"
	"  local -a words_\n"
	"  if (( CURRENT == 2 )); then\n"
	"    words_=(${(f)\"$(ledgerform --help 2>/dev/null | awk '/^  [a-z]/ {print $1}')\"})\n"
	"    compadd -a words_\n"
	"  elif [[ $PREFIX == -* ]]; then\n"
	"    words_=(${(f)\"$(ledgerform $words[2] --help 2>/dev/null | grep -oE -- '--[a-z][a-z-]*' | sort -u)\"})\n"
	"    compadd -a words_\n"
	"  else\n"
	"    _files\n"
	"  fi\n"
	"}\n"
	"_ledgerform \"$@\"\n";

int lf_cmd_completion(int argc, char **argv)
{
	if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		fputs(USAGE_COMPLETION, stdout);
		return 0;
	}
	if (argc == 2 && strcmp(argv[1], "bash") == 0) {
		fputs(BASH, stdout);
		return 0;
	}
	if (argc == 2 && strcmp(argv[1], "zsh") == 0) {
		fputs(ZSH, stdout);
		return 0;
	}
	lf_cli_error("completion: expected bash or zsh");
	fputs(USAGE_COMPLETION, stderr);
	return 1;
}
