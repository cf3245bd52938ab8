#!/usr/bin/env bash
# Builds dist/skiff.js: the whole of skiff in one JavaScript file that runs with a plain
# `deno run -A --unstable-net dist/skiff.js ...` (no deno.json, no network at run time once
# built; --unstable-net is what deno.json sets for the repository: the UDP proxy needs it).
# Native add-ons that some npm dependencies load optionally (`*.node`) stay external; a
# `__dirname`/`__filename` shim goes first because a bundled CommonJS dependency reads them.
# The entry is cmd/packaged_entry.ts: main.ts plus literal imports of the control plane's modules,
# which main.ts imports by a specifier the bundler cannot follow (cmd/command_modules.ts).
# Usage: scripts/bundle.sh [OUTPUT] (default dist/skiff.js)
set -euo pipefail
out="$(realpath -m "${1:-$(dirname "$0")/../dist/skiff.js}")"
cd "$(dirname "$0")/.."
mkdir -p "$(dirname "$out")"
tmp="$out.tmp.js"
deno bundle --quiet --platform deno --external '*.node' -o "$tmp" cmd/packaged_entry.ts
{
  echo '// skiff, bundled by scripts/bundle.sh (deno bundle); run: deno run -A --unstable-net skiff.js --help'
  echo 'const __filename = new URL(import.meta.url).pathname; const __dirname = __filename.slice(0, __filename.lastIndexOf("/"));'
  cat "$tmp"
} >"$out"
rm -f "$tmp"
echo "built $out"
