#!/usr/bin/env bash
# Install the given Debian packages that are not installed yet.
#
# Idempotent: when every package is already installed, nothing is fetched and
# `apt-get update` is not run. Needs root only when something must be installed.
set -euo pipefail

is_installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

main() {
    local missing=()
    local package
    for package in "$@"; do
        is_installed "$package" || missing+=("$package")
    done
    if (( ${#missing[@]} == 0 )); then
        return 0
    fi
    echo "ensure-debian-packages: installing ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive NEEDRESTART_SUSPEND=1
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

main "$@"
