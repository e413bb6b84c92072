#!/usr/bin/env bash
# Make a Docker engine answer and build Gureum's offline base image.
#
# Idempotent; meant for root on Debian 12 with no internet but apt/PyPI:
#   1. if `docker info` fails: install docker.io and busybox-static when
#      missing, start dockerd in the background (log: $DOCKERD_LOG), and wait
#      (bounded) until it answers;
#   2. build gureum/busybox:latest FROM scratch with the host's static busybox,
#      through the Engine API (python -m gureum.runtime.images build-base).
# Exit 0 when the engine answers and the image exists; 1 otherwise (the
# docker tests then skip with their reason, the rest of CI still runs).
set -u

DOCKERD_LOG=${DOCKERD_LOG:-/var/log/gureum-dockerd.log}
WAIT_SECONDS=${DOCKERD_WAIT_SECONDS:-60}
PYTHON=${PYTHON:-python3}
cd "$(dirname "$0")/.."

say() { echo "setup-docker: $*"; }

need_install=()
command -v dockerd >/dev/null 2>&1 || need_install+=(docker.io)
[ -x /bin/busybox ] || command -v busybox >/dev/null 2>&1 || need_install+=(busybox-static)

if ! docker info >/dev/null 2>&1 && ! "$PYTHON" -c 'import docker; docker.from_env().ping()' >/dev/null 2>&1; then
    if [ ${#need_install[@]} -gt 0 ]; then
        say "installing ${need_install[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq >/dev/null && apt-get install -y -qq "${need_install[@]}" >/dev/null \
            || { say "apt-get install ${need_install[*]} failed"; exit 1; }
        need_install=()
    fi
    start_dockerd() {
        say "starting dockerd (log: $DOCKERD_LOG)"
        mkdir -p "$(dirname "$DOCKERD_LOG")"
        nohup dockerd >>"$DOCKERD_LOG" 2>&1 </dev/null &
    }
    pgrep -x dockerd >/dev/null 2>&1 || start_dockerd
    deadline=$((SECONDS + WAIT_SECONDS))
    until "$PYTHON" -c 'import docker; docker.from_env().ping()' >/dev/null 2>&1; do
        if [ $SECONDS -ge $deadline ]; then
            say "dockerd did not answer within ${WAIT_SECONDS}s; last log lines:"
            tail -n 20 "$DOCKERD_LOG" 2>/dev/null
            exit 1
        fi
        # A dockerd that was shutting down when we looked is gone now: start ours.
        pgrep -x dockerd >/dev/null 2>&1 || start_dockerd
        sleep 0.5
    done
    say "engine answers"
fi

if [ ${#need_install[@]} -gt 0 ] && [[ " ${need_install[*]} " == *" busybox-static "* ]]; then
    say "installing busybox-static"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq busybox-static >/dev/null \
        || { say "apt-get install busybox-static failed"; exit 1; }
fi

"$PYTHON" -m gureum.runtime.images build-base || exit 1
