#!/usr/bin/env bash
# Builds self-contained `skiff` executables for 64-bit ARM (Raspberry Pi 3/4/5 on a 64-bit OS)
# and x86-64 Linux into dist/. `deno compile` downloads the Deno runtime for each target from
# dl.deno.land; without network access that fails, and this script says so in one line.
# The entry is cmd/packaged_entry.ts: main.ts plus literal imports of the control plane's modules,
# which main.ts imports by a specifier `deno compile` cannot follow (cmd/command_modules.ts).
# CI does not run it. Usage: scripts/compile.sh [TARGET...]
set -uo pipefail
cd "$(dirname "$0")/.."
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(aarch64-unknown-linux-gnu x86_64-unknown-linux-gnu)
fi
mkdir -p dist
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for target in "${targets[@]}"; do
  out="dist/skiff-${target}"
  if deno compile -A --unstable-net --target "$target" --output "$out" \
    cmd/packaged_entry.ts >"$log" 2>&1; then
    echo "built $out"
  elif grep -qiE "dns error|failed to lookup|error sending request|connection refused|timed out|network" "$log"; then
    echo "deno compile could not download the Deno runtime for $target (no network access to dl.deno.land); run 'deno task compile' on a machine with internet access, or use 'deno task bundle'" >&2
    exit 1
  else
    echo "deno compile failed for $target: $(grep -m1 -iE 'error' "$log" || tail -n1 "$log")" >&2
    exit 1
  fi
done
