#!/bin/sh
# Made at build time from the built binary (cmake/docs.cmake):
#   OUTDIR/ledgerform.1               the man page: the --help text of the
#                                     program and of every command it lists
#   OUTDIR/completion/ledgerform      bash completion (ledgerform completion bash)
#   OUTDIR/completion/_ledgerform     zsh completion
# Usage: gen-docs.sh BINARY VERSION OUTDIR
set -eu
bin=$1 version=$2 out=$3
mkdir -p "$out/completion"

# roff-safe text: backslashes as \e, a leading . or ' neutralised
roff() {
  sed -e 's/\\/\\e/g' -e "s/^\\([.']\\)/\\\\\\&\\1/"
}

commands=$("$bin" --help | awk '/^  [a-z]/ {print $1}')
{
  printf '.TH LEDGERFORM 1 "" "ledgerform %s" "User Commands"\n' "$version"
  printf '.SH NAME\nledgerform \\- declarative provisioner for Hyperledger Fabric networks\n'
  printf '.SH SYNOPSIS\n.B ledgerform\n.I COMMAND\n[options]\n'
  printf '.SH DESCRIPTION\n.nf\n'
  "$bin" --help | roff
  printf '.fi\n.SH COMMANDS\n'
  for c in $commands; do
    printf '.SS %s\n.nf\n' "$c"
    "$bin" "$c" --help 2>&1 | roff
    printf '.fi\n'
  done
  printf '.SH SEE ALSO\nThe chain spec, drivers and state: docs/spec.md, docs/drivers.md and\n'
  printf 'docs/state.md in the ledgerform sources.\n'
} > "$out/ledgerform.1.tmp"
mv "$out/ledgerform.1.tmp" "$out/ledgerform.1"
"$bin" completion bash > "$out/completion/ledgerform"
"$bin" completion zsh > "$out/completion/_ledgerform"
