#!/usr/bin/env bash
# Builds one self-extracting file per architecture, without Deno's runtime download that
# `deno compile` needs: dist/skiff-linux-arm64.run and dist/skiff-linux-x64.run. Each is a short
# POSIX sh header followed by a gzipped tar of the Deno executable (from the npm packages
# @deno/linux-arm64-glibc and @deno/linux-x64-glibc, at the version of the Deno building it) and
# dist/skiff.js (scripts/bundle.sh). At first run the header unpacks the archive once into a cache
# directory named by the archive's SHA-256 (/var/lib/skiff/runtime as root, else
# ~/.cache/skiff/runtime; SKIFF_RUNTIME_DIR overrides) and then execs Deno on the bundle with the
# flags Skiff needs, so `./skiff-linux-arm64.run agent --server … --token …` runs on a fresh
# 64-bit Pi OS with nothing else installed. Needs only the npm registry (or npm's cache).
# Usage: scripts/dist.sh [arm64|x64 ...] (default: both)
set -euo pipefail
cd "$(dirname "$0")/.."
arches=("$@")
[ ${#arches[@]} -gt 0 ] || arches=(arm64 x64)
deno_version=$(deno --version | sed -n 's/^deno \([0-9.]*\).*/\1/p')
[ -n "$deno_version" ] || { echo "dist: cannot tell the version of the deno running this" >&2; exit 1; }

mkdir -p dist
bash scripts/bundle.sh dist/skiff.js >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

for arch in "${arches[@]}"; do
  case "$arch" in
    arm64) machine="aarch64 arm64" ;;
    x64) machine="x86_64 amd64" ;;
    *) echo "dist: unknown architecture $arch (arm64 or x64)" >&2; exit 1 ;;
  esac
  pkg="@deno/linux-${arch}-glibc@${deno_version}"
  stage="$work/$arch"
  mkdir -p "$stage/npm" "$stage/payload"
  if ! (cd "$stage/npm" && npm pack --silent "$pkg" >/dev/null 2>"$stage/npm.log"); then
    echo "dist: npm pack $pkg failed: $(tail -n1 "$stage/npm.log")" >&2
    exit 1
  fi
  tar -xzf "$stage"/npm/*.tgz -C "$stage/npm"
  [ -f "$stage/npm/package/deno" ] || { echo "dist: $pkg has no deno executable" >&2; exit 1; }
  install -m 0755 "$stage/npm/package/deno" "$stage/payload/deno"
  install -m 0644 dist/skiff.js "$stage/payload/skiff.js"
  # A fixed mtime and owner make the archive, and so its hash, depend on the content only.
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$stage/payload" -cf - . |
    gzip -n -9 >"$stage/payload.tgz"
  hash=$(sha256sum "$stage/payload.tgz" | cut -c1-16)
  out="dist/skiff-linux-${arch}.run"
  # The header's length is fixed (the offset is written zero-padded) so the archive offset can
  # be computed before it is filled in.
  header() {
    cat <<EOF
#!/bin/sh
# Skiff ${deno_version}/${hash} for Linux ${arch}: a self-extracting file (scripts/dist.sh).
# Unpacks Deno and skiff.js once into a cache directory, then runs: skiff "\$@".
set -eu
offset=$1
if [ -n "\${SKIFF_RUNTIME_DIR:-}" ]; then base=\$SKIFF_RUNTIME_DIR
elif [ "\$(id -u)" = 0 ]; then base=/var/lib/skiff/runtime
else base=\${XDG_CACHE_HOME:-\$HOME/.cache}/skiff/runtime; fi
dir=\$base/${hash}
if [ ! -x "\$dir/deno" ] || [ ! -f "\$dir/skiff.js" ]; then
  mkdir -p "\$base"
  tmp=\$(mktemp -d "\$base/.unpack.XXXXXX")
  tail -c +\$offset "\$0" | gzip -dc | tar -xf - -C "\$tmp"
  chmod 0755 "\$tmp"
  mv "\$tmp" "\$dir" 2>/dev/null || rm -rf "\$tmp"
fi
# Another machine type runs the file only under an emulator (binfmt_misc): try before failing.
machine=\$(uname -m)
case " ${machine} " in *" \$machine "*) ;; *)
  "\$dir/deno" --version >/dev/null 2>&1 ||
    { echo "skiff: this file is for ${arch} Linux; this machine is \$machine" >&2; exit 1; } ;;
esac
# Deno's V8 assumes 4 KB pages and crashes at start on the Pi 5's default 16 KB-page kernel.
pagesize=\$(getconf PAGESIZE 2>/dev/null || echo 4096)
if [ "\$pagesize" != 4096 ]; then
  echo "skiff: this kernel uses \$pagesize-byte memory pages and Deno needs 4096; on a Raspberry Pi 5 add kernel=kernel8.img to /boot/firmware/config.txt and reboot" >&2
  exit 1
fi
# The agent runs with a small young generation, as \`deno task agent\` does (node memory budget).
if [ "\${1:-}" = agent ]; then
  set -- --v8-flags=--max-semi-space-size=1 "\$dir/skiff.js" "\$@"
else
  set -- "\$dir/skiff.js" "\$@"
fi
DENO_DIR=\$dir/deno-dir DENO_NO_UPDATE_CHECK=1 DENO_NO_PROMPT=1 \\
  exec "\$dir/deno" run -A --unstable-net --no-config "\$@"
EOF
  }
  placeholder=$(header 0000000000 | wc -c)
  offset=$(printf '%010d' $((placeholder + 1)))
  header "$offset" >"$out.tmp"
  [ "$(wc -c <"$out.tmp")" -eq "$placeholder" ] || { echo "dist: header length changed" >&2; exit 1; }
  cat "$stage/payload.tgz" >>"$out.tmp"
  chmod 0755 "$out.tmp"
  mv "$out.tmp" "$out"
  echo "built $out ($(($(wc -c <"$out") / 1048576)) MiB, Deno $deno_version)"
done
