#!/bin/sh
# Enforces who may include whom (docs/ARCHITECTURE.md, "Layers"):
#   base/     nothing of agent/ or clients/
#   agent/    base/, schema, bpf/ headers; never clients/
#   clients/  base/ and schema; never agent/
# Prints every offending include and exits 1 if there is one.
cd "$(dirname "$0")/.." || exit 2
status=0
check() {  # folder, forbidden include prefixes (regex)
  if grep -rnE "^#include \"($2)" "$1" --include='*.h' --include='*.cc'; then
    echo "layer violation: $1 may not include $2" >&2
    status=1
  fi
}
check base 'agent/|clients/'
check agent 'clients/'
check clients 'agent/'
exit $status
