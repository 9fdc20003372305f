#!/usr/bin/env bash
# Regenerates vmlinux/<arch>/vmlinux.h from the running kernel's BTF.
# CO-RE relocations make the result portable across kernels, so this only needs
# re-running to reach types or fields newer than the committed header.
set -euo pipefail
arch=$(uname -m)
btf=${1:-/sys/kernel/btf/vmlinux}
bpftool=$(command -v bpftool || echo /usr/sbin/bpftool)
out="$(dirname "$0")/${arch}/vmlinux.h"
mkdir -p "$(dirname "$out")"
"$bpftool" btf dump file "$btf" format c >"$out.tmp"
mv "$out.tmp" "$out"
echo "wrote $out ($(wc -l <"$out") lines) from $btf"
