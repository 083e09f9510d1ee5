#!/usr/bin/env bash
# Idempotent: make sure a Docker engine answers on this machine and that debootstrap (used to
# build cove's node image) and busybox-static (the e2e tests' tiny image, made locally: no
# registry is reachable) are installed. There is no systemd here: dockerd is started in the
# background with its log in /var/log/dockerd.log. One line of output per action.
# Environment: DOCKERD_WAIT (seconds to wait for the engine, default 30).
set -euo pipefail
# This machine's engine, not the cluster a shell may point at after `eval "$(cove up)"`.
unset DOCKER_HOST DOCKER_CERT_PATH DOCKER_TLS_VERIFY DOCKER_CONTEXT

say() { printf '[docker-engine] %s\n' "$*"; }
log=/var/log/dockerd.log
wait_s=${DOCKERD_WAIT:-30}

engine_answers() { docker info >/dev/null 2>&1; }
# The package, not just /bin/busybox: Debian's dynamically linked `busybox` has that path too,
# and cannot run in an image with nothing else in it.
busybox_static() {
  [ "$(dpkg-query -W -f='${Status}' busybox-static 2>/dev/null)" = "install ok installed" ]
}

apt_updated=0
apt_install() {
  if [ "$apt_updated" = 0 ]; then
    say "apt-get update"
    apt-get update -qq >/dev/null
    apt_updated=1
  fi
  say "installing $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

if engine_answers; then
  say "engine answers ($(docker version --format '{{.Server.Version}}' 2>/dev/null))"
else
  missing=()
  command -v dockerd >/dev/null || missing+=(docker.io)
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  busybox_static || missing+=(busybox-static)
  if [ "${#missing[@]}" -gt 0 ]; then
    apt_install "${missing[@]}"
  fi
  if pgrep -x dockerd >/dev/null; then
    say "dockerd is running but not answering yet; waiting"
  else
    # A dockerd killed uncleanly leaves its pid file behind and refuses to start again.
    if [ -f /var/run/docker.pid ] && ! kill -0 "$(cat /var/run/docker.pid)" 2>/dev/null; then
      rm -f /var/run/docker.pid
    fi
    say "starting dockerd (log $log)"
    nohup dockerd >>"$log" 2>&1 </dev/null &
  fi
  deadline=$((SECONDS + wait_s))
  until engine_answers; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "[docker-engine] dockerd did not answer within ${wait_s}s; last lines of $log:" >&2
      tail -n 20 "$log" >&2 || true
      exit 1
    fi
    sleep 0.2
  done
  say "engine answers ($(docker version --format '{{.Server.Version}}' 2>/dev/null))"
fi

missing=()
command -v debootstrap >/dev/null || missing+=(debootstrap)
busybox_static || missing+=(busybox-static)
if [ "${#missing[@]}" -gt 0 ]; then
  apt_install "${missing[@]}"
fi
say "ready"
