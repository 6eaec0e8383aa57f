#!/usr/bin/env bash
# Make sure a Docker engine answers on this machine, for the Molecule scenario.
#
# When `docker info` already works, nothing is done. Otherwise the engine
# (Debian's docker.io) is installed if missing and started in the background
# without a bridge and without iptables rules: the scenario's containers use
# network_mode host, so no packet leaves loopback through a NAT of ours.
# Needs root. The engine's log goes to $DOCKERD_LOG.
set -euo pipefail

DOCKERD_LOG=${DOCKERD_LOG:-/var/log/dockerd-molecule.log}
WAIT_SECONDS=${DOCKER_WAIT_SECONDS:-60}

engine_answers() {
    docker info >/dev/null 2>&1
}

install_engine() {
    if ! command -v dockerd >/dev/null 2>&1; then
        echo "docker-engine: installing docker.io" >&2
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null
    fi
}

start_engine() {
    echo "docker-engine: starting dockerd (log: $DOCKERD_LOG)" >&2
    # dockerd outlives this script: it must not inherit the caller's other
    # open files (a `flock` lock held by `make`, a pipe a CI log reads), or
    # those stay held until the engine stops.
    (
        for fd in /proc/self/fd/*; do
            fd=${fd##*/}
            if (( fd > 2 )); then
                eval "exec ${fd}>&-" 2>/dev/null || true
            fi
        done
        exec nohup dockerd --bridge=none --iptables=false >>"$DOCKERD_LOG" 2>&1 </dev/null
    ) &
    local waited=0
    until engine_answers; do
        if (( waited >= WAIT_SECONDS )); then
            echo "docker-engine: dockerd did not answer in ${WAIT_SECONDS}s; see $DOCKERD_LOG" >&2
            tail -n 20 "$DOCKERD_LOG" >&2 || true
            exit 1
        fi
        sleep 1
        waited=$((waited + 1))
    done
}

main() {
    if engine_answers; then
        return 0
    fi
    install_engine
    start_engine
    echo "docker-engine: ready" >&2
}

main "$@"
