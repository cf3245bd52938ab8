#!/usr/bin/env bash
# Prerequisites of the test suite and of `skiff up` on this kind of machine: a Docker engine that
# answers (Debian's docker.io, started in the background when we are root and none runs), and
# Debian's busybox-static, from which the tests build their images without any registry, and
# Debian's etcd-server, which the etcd backend tests run against, nftables and conntrack (the proxy's kernel mode),
# docker-registry and apache2-utils (htpasswd) for the private-registry tests, and (on x86-64) qemu-user-static
# with an arm64 sysroot, under which the arm64 self-extracting file is tested. More packages can be asked for
# with SKIFF_SETUP_EXTRAS="wrk haproxy" (the benchmarks). Prints one line saying what is missing when it cannot fix it.
set -u

need_packages=()
command -v dockerd >/dev/null 2>&1 || need_packages+=(docker.io)
[ "${SKIFF_SETUP_SKIP_BUSYBOX:-}" = 1 ] || [ -x /bin/busybox ] || need_packages+=(busybox-static)
command -v etcd >/dev/null 2>&1 || need_packages+=(etcd-server)
command -v curl >/dev/null 2>&1 || need_packages+=(curl)
# The proxy's nftables mode and its tests program the kernel with nft(8).
command -v nft >/dev/null 2>&1 || need_packages+=(nftables)
# ... and deletes the conntrack entries of removed UDP endpoints with conntrack(8).
command -v conntrack >/dev/null 2>&1 || need_packages+=(conntrack)
# Private-registry tests run Debian's CNCF distribution with htpasswd (bcrypt) users.
command -v docker-registry >/dev/null 2>&1 || need_packages+=(docker-registry)
command -v htpasswd >/dev/null 2>&1 || need_packages+=(apache2-utils)
# The dashboard is tested in a real browser (playwright-core drives Debian's Chromium).
[ "${SKIFF_SETUP_SKIP_CHROMIUM:-}" = 1 ] || [ -x /usr/bin/chromium ] || need_packages+=(chromium)
# The arm64 self-extracting file (deno task dist) is tested under qemu-user with an arm64 sysroot.
if [ "$(uname -m)" = x86_64 ] && [ "${SKIFF_SETUP_SKIP_QEMU:-}" != 1 ]; then
  command -v qemu-aarch64-static >/dev/null 2>&1 || need_packages+=(qemu-user-static)
  [ -e /usr/aarch64-linux-gnu/lib/libc.so.6 ] || need_packages+=(libc6-arm64-cross)
  [ -e /usr/aarch64-linux-gnu/lib/libgcc_s.so.1 ] || need_packages+=(libgcc-s1-arm64-cross)
fi
for extra in ${SKIFF_SETUP_EXTRAS:-}; do
  dpkg -s "$extra" >/dev/null 2>&1 || need_packages+=("$extra")
done

if [ ${#need_packages[@]} -gt 0 ]; then
  if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "skiff setup: missing ${need_packages[*]}: install them (Debian: apt-get install ${need_packages[*]}) and start dockerd" >&2
    exit 1
  fi
  echo "skiff setup: installing ${need_packages[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  if ! (apt-get update -qq && apt-get install -y -qq "${need_packages[@]}" >/dev/null); then
    echo "skiff setup: apt-get install ${need_packages[*]} failed" >&2
    exit 1
  fi
  # The package starts a registry on :5000 where init scripts run; the tests start their own.
  case " ${need_packages[*]} " in *" docker-registry "*)
    [ -x /etc/init.d/docker-registry ] && /etc/init.d/docker-registry stop >/dev/null 2>&1 ;;
  esac
fi

# Without systemd-binfmt nothing registers qemu's arm64 handler: do what it would do at boot.
binfmt=/proc/sys/fs/binfmt_misc
if [ "$(id -u)" = 0 ] && [ -f /usr/lib/binfmt.d/qemu-aarch64.conf ] && [ ! -e "$binfmt/qemu-aarch64" ]; then
  [ -e "$binfmt/register" ] || mount -t binfmt_misc binfmt_misc "$binfmt" 2>/dev/null
  [ -e "$binfmt/register" ] && cat /usr/lib/binfmt.d/qemu-aarch64.conf >"$binfmt/register" 2>/dev/null
fi

docker_ok() { docker info >/dev/null 2>&1; }
if docker_ok; then exit 0; fi
if [ "$(id -u)" != "0" ]; then
  echo "skiff setup: no Docker engine answers and we are not root: start dockerd (or join the docker group)" >&2
  exit 1
fi
echo "skiff setup: starting dockerd" >&2
nohup dockerd >/var/log/skiff-dockerd.log 2>&1 &
for _ in $(seq 1 120); do
  if docker_ok; then exit 0; fi
  sleep 0.5
done
echo "skiff setup: dockerd did not answer within 60 s (see /var/log/skiff-dockerd.log)" >&2
exit 1
