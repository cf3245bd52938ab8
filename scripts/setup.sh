#!/usr/bin/env bash
# Test/cluster prerequisites: makes sure a Docker engine answers, installing Debian's docker.io and
# starting dockerd when we run as root and none is there. Everything else (deno, npm packages) is
# fetched by deno itself. Prints one line saying what is missing when it cannot fix it.
set -u

docker_ok() { docker info >/dev/null 2>&1; }

if docker_ok; then exit 0; fi

if [ "$(id -u)" != "0" ]; then
  echo "skiff setup: no Docker engine answers and we are not root: install docker.io and start dockerd (or add yourself to the docker group)" >&2
  exit 1
fi

if ! command -v dockerd >/dev/null 2>&1; then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "skiff setup: no Docker engine and no apt-get to install one: install Docker and start it" >&2
    exit 1
  fi
  echo "skiff setup: installing Debian's docker.io" >&2
  export DEBIAN_FRONTEND=noninteractive
  (apt-get update -qq && apt-get install -y -qq docker.io >/dev/null) || {
    echo "skiff setup: apt-get install docker.io failed" >&2
    exit 1
  }
fi

# Another package may have started an engine already.
if docker_ok; then exit 0; fi
echo "skiff setup: starting dockerd" >&2
mkdir -p /var/log
nohup dockerd >/var/log/skiff-dockerd.log 2>&1 &
for _ in $(seq 1 60); do
  if docker_ok; then exit 0; fi
  sleep 0.5
done
echo "skiff setup: dockerd did not answer within 30 s (see /var/log/skiff-dockerd.log)" >&2
exit 1
