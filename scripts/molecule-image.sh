#!/usr/bin/env bash
# Make sure a Molecule scenario's Debian image exists in the local engine.
#
# No container registry is reachable from the machines this project is built
# on, so the image is made from Debian's packages: debootstrap (minbase, with
# python3 and sudo for Ansible) into a temporary folder, then `docker import`.
# The mirror is the one the host's own apt sources name.
#
# Usage: molecule-image.sh [plain|systemd] [--print]
#   plain    (default) python3 and sudo: the container's first process is
#            `sleep`, no init system (scenario molecule/default).
#   systemd  also systemd and dbus, for a container that boots systemd
#            (the second container of molecule/default, molecule/ha and
#            molecule/versions).
#   --print  then print the image's name on stdout (`make versions` passes
#            it to Molecule).
#
# MOLECULE_DEBIAN_SUITE picks the Debian release (default bookworm): bullseye
# (tag 11), bookworm (12) or trixie (13); the default image names are
# tmi-postgresql-molecule/debian:N and tmi-postgresql-molecule/debian-systemd:N.
#
# Set MOLECULE_IMAGE (plain) or MOLECULE_SYSTEMD_IMAGE (systemd) to use another
# image (for example one your CI can pull, which must have python3): this
# script then does nothing.
# Needs root and a running engine (scripts/docker-engine.sh).
set -euo pipefail

FLAVOUR=${1:-plain}
PRINT=${2:-}
if [[ -n "$PRINT" && "$PRINT" != --print ]]; then
    echo "molecule-image: unknown argument '$PRINT' (--print or nothing)" >&2
    exit 2
fi
SUITE=${MOLECULE_DEBIAN_SUITE:-bookworm}
case "$SUITE" in
    bullseye) TAG=11 ;;
    bookworm) TAG=12 ;;
    trixie) TAG=13 ;;
    *)
        echo "molecule-image: unknown MOLECULE_DEBIAN_SUITE '$SUITE' (bullseye, bookworm or trixie). Nothing was built." >&2
        exit 2
        ;;
esac
case "$FLAVOUR" in
    plain)
        IMAGE_OVERRIDE=${MOLECULE_IMAGE:-}
        DEFAULT_IMAGE=tmi-postgresql-molecule/debian:$TAG
        PACKAGES=python3,sudo,ca-certificates
        IMAGE_CMD='["sleep", "infinity"]'
        ;;
    systemd)
        IMAGE_OVERRIDE=${MOLECULE_SYSTEMD_IMAGE:-}
        DEFAULT_IMAGE=tmi-postgresql-molecule/debian-systemd:$TAG
        PACKAGES=python3,sudo,ca-certificates,systemd,systemd-sysv,dbus
        IMAGE_CMD='["/lib/systemd/systemd"]'
        ;;
    *)
        echo "molecule-image: unknown flavour '$FLAVOUR' (plain or systemd)" >&2
        exit 2
        ;;
esac
IMAGE=${IMAGE_OVERRIDE:-$DEFAULT_IMAGE}

image_exists() {
    docker image inspect "$IMAGE" >/dev/null 2>&1
}

# Print the first Debian mirror the host's apt sources name (one-line or
# deb822 format), falling back to deb.debian.org.
host_debian_mirror() {
    local files=(/etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources)
    local mirror
    mirror=$(cat "${files[@]}" 2>/dev/null \
        | grep -Eo '(URIs:[[:space:]]*|^deb[[:space:]]+(\[[^]]*\][[:space:]]+)?)https?://[^[:space:]]+' \
        | grep -Eo 'https?://[^[:space:]]+' \
        | grep -E '/debian/?$' | head -n 1 || true)
    echo "${mirror:-http://deb.debian.org/debian}"
}

ensure_debootstrap() {
    if ! command -v debootstrap >/dev/null 2>&1; then
        echo "molecule-image: installing debootstrap" >&2
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
    fi
}

ROOTFS=

remove_rootfs() {
    if [[ -n "$ROOTFS" ]]; then
        rm -rf "$ROOTFS"
    fi
}

build_image() {
    local mirror
    mirror=$(host_debian_mirror)
    ROOTFS=$(mktemp -d /var/tmp/molecule-rootfs.XXXXXX)
    trap remove_rootfs EXIT
    echo "molecule-image: debootstrap $SUITE from $mirror" >&2
    debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$ROOTFS" "$mirror" >/dev/null
    # Keep the image small and without the build host's apt lists.
    rm -rf "$ROOTFS"/var/cache/apt/archives/*.deb "$ROOTFS"/var/lib/apt/lists/*
    echo "molecule-image: importing $IMAGE" >&2
    tar -C "$ROOTFS" -c . | docker import --change "CMD $IMAGE_CMD" - "$IMAGE" >/dev/null
}

ensure_image() {
    if [[ -n "$IMAGE_OVERRIDE" ]] || image_exists; then
        return 0
    fi
    ensure_debootstrap
    build_image
    echo "molecule-image: $IMAGE ready" >&2
}

main() {
    ensure_image
    if [[ -n "$PRINT" ]]; then
        echo "$IMAGE"
    fi
}

# One check-and-build at a time: make test's two lanes may both ask for an image.
exec 9>/run/lock/tmi-postgresql-molecule-image.lock
flock 9
main "$@"
