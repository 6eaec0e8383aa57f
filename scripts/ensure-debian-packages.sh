#!/usr/bin/env bash
# Install the given Debian packages that are not installed yet.
#
# Idempotent: when every package is already installed, nothing is fetched and
# `apt-get update` is not run. Needs root only when something must be installed.
#
# No service starts: the packages are test tools (PostgreSQL's own `main`
# cluster, the Prometheus server that brings promtool), and the tests start
# what they need themselves. Debian's maintainer scripts start services through
# invoke-rc.d or deb-systemd-invoke, and both ask /usr/sbin/policy-rc.d first;
# while the install runs, a policy that answers 101 ("action forbidden") stands
# there when the machine has none (Debian's container images ship one already,
# which is left alone). On a host that boots systemd the units stay enabled as
# the packages ship them; disable them there if you do not want them at boot.
set -euo pipefail

POLICY_RC_D=/usr/sbin/policy-rc.d

is_installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

forbid_service_starts() {
    if [[ -e "$POLICY_RC_D" ]]; then
        return 0
    fi
    printf '#!/bin/sh\n# ensure-debian-packages.sh: no service starts while it installs.\nexit 101\n' \
        >"$POLICY_RC_D"
    chmod 0755 "$POLICY_RC_D"
    trap 'rm -f "$POLICY_RC_D"' EXIT
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
    forbid_service_starts
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

main "$@"
