#!/usr/bin/env bash
# Run the integration suite (tests/integration, `make integration`) inside a
# throwaway container of one Debian release, against that release's own
# PostgreSQL: 13 on bullseye (Debian 11), 15 on bookworm (12), 17 on trixie
# (13). The build machine has only Debian 12's 15; `make integration-versions`
# runs this script for each of VERSION_SUITES.
#
# Usage: integration-container.sh SUITE
#
# The container is the machine the suite runs on, so the tests that install
# packages or write /etc files do it there:
# - image tmi-postgresql-molecule/debian:N (scripts/molecule-image.sh plain,
#   built from Debian's packages when missing), `--network host` (no registry
#   of images is reachable; the host's network reaches Debian's and PyPI's
#   registries), `--init` (the postmasters the tests detach are reaped), a
#   512 MB /dev/shm for the servers' shared memory, CAP_SYS_ADMIN for the
#   1 MB tmpfs of test_backup.py's full-disk test;
# - the host's pip configuration (/etc/pip.conf, root's pip.conf, the PIP_*
#   variables; local folders they name are mounted read-only at the same
#   paths) and its extra CA certificates (/usr/local/share/ca-certificates);
#   apt uses the image's sources (the host's mirror, the suite's release);
# - the checkout as it is on disk (tracked and untracked files, not the
#   ignored ones such as .venv), copied to /srv/tmi-postgresql;
# - `make setup` with TEST_PG_VERSION set to the release's version (read from
#   PLATFORM_VERSIONS in plugins/module_utils/postgresql_versions.py, the
#   roles' own table), then
#   `make integration`.
# Debian 11's Python is 3.9 and ansible-core 2.19 needs 3.11 on the
# controller: on bullseye, Python comes from bookworm's archive, a partial
# release upgrade as molecule/upgrade makes for postgresql-17. Debian's
# python3.11-venv needs bookworm's python3 (through python3-distutils) and
# glibc 2.36, so bookworm's archive is pinned high for Python's packages
# (python3, python3-*, libpython3*: the modules that run as postgres use that
# /usr/bin/python3 and bookworm's psycopg2) and for glibc's (libc6, libc-bin,
# locales, which postgresql-13 needs at glibc's version), low for the rest:
# the server under test (13), pgBackRest (2.33), postgresql-common and every
# other package stay bullseye's. A real Debian 11 host keeps Python 3.9 for
# the modules: `make versions` (molecule/versions) runs them there.
#
# Output goes to the terminal and to $INTEGRATION_LOG_DIR/SUITE.log; the last
# line (also in SUITE.summary there) gives passed/failed/skipped/errors and
# the durations. The container is removed at the end, on failure and on
# interrupt too. Exit status: 0 when setup and the suite passed.
#
# Environment:
#   INTEGRATION_LOG_DIR    default build/integration-versions (in the checkout)
#   INTEGRATION_CACHE_DIR  default /var/cache/tmi-postgresql-integration: apt's
#                          downloaded packages and pip's cache, one folder per
#                          suite, kept between runs; empty: no cache
#   PYTEST_ARGS            extra pytest arguments for `make integration`
#   INTEGRATION_WORKERS    pytest-xdist workers (the Makefile's default: 2)
# Needs root, a running engine (scripts/docker-engine.sh) and git.
set -euo pipefail

SUITE=${1:-}
case "$SUITE" in
    bullseye | bookworm | trixie) ;;
    *)
        echo "integration-container: unknown suite '${SUITE}' (bullseye, bookworm or trixie). Nothing was started." >&2
        exit 2
        ;;
esac

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LOG_DIR=${INTEGRATION_LOG_DIR:-$REPO/build/integration-versions}
CACHE_DIR=${INTEGRATION_CACHE_DIR-/var/cache/tmi-postgresql-integration}
LOG=$LOG_DIR/$SUITE.log
SUMMARY=$LOG_DIR/$SUITE.summary
NAME=tmi-postgresql-integration-$SUITE-$$
SRC=/srv/tmi-postgresql

mkdir -p "$LOG_DIR"
: >"$LOG"
rm -f "$SUMMARY"

log() {
    echo "integration-container: $*" | tee -a "$LOG" >&2
}

CONTAINER=

remove_container() {
    if [[ -n "$CONTAINER" ]]; then
        docker rm -f "$CONTAINER" >/dev/null 2>&1 || true
        CONTAINER=
    fi
}

trap remove_container EXIT
trap 'log "interrupted"; remove_container; exit 130' INT
trap 'log "terminated"; remove_container; exit 143' TERM

# Run a shell command in the container as root; its output to the terminal and the log.
in_container() {
    docker exec "${EXEC_ENV[@]}" -w "$SRC" "$CONTAINER" bash -euo pipefail -c "$1" 2>&1 | tee -a "$LOG"
}

# The local folders the host's pip configuration names (find-links, file://
# indexes): mounted read-only at the same paths so that the same configuration
# works inside. An index's .../simple pages link to ../../files: its parent.
pip_local_folders() {
    local files=(/etc/pip.conf "$HOME/.config/pip/pip.conf" "$HOME/.pip/pip.conf")
    {
        cat "${files[@]}" 2>/dev/null || true
        env | grep -E '^PIP_' | cut -d= -f2- || true
    } | grep -oE '(file://)?/[^[:space:],]+' | sed -E 's#^file://##; s#/+$##' | sort -u \
        | while read -r path; do
            if [[ "$(basename "$path")" == simple ]]; then
                path=$(dirname "$path")
            fi
            if [[ -d "$path" ]]; then
                echo "$path"
            fi
        done | sort -u
}

start_container() {
    local image
    image=$(MOLECULE_DEBIAN_SUITE=$SUITE MOLECULE_IMAGE='' "$REPO/scripts/molecule-image.sh" plain --print)
    local run=(docker run -d --name "$NAME" --network host --init --shm-size 512m --cap-add SYS_ADMIN
        --label tmi-postgresql-integration="$SUITE")
    local path
    while read -r path; do
        [[ -n "$path" ]] && run+=(-v "$path:$path:ro")
    done < <(pip_local_folders)
    if [[ -n "$CACHE_DIR" ]]; then
        mkdir -p "$CACHE_DIR/$SUITE/apt/partial" "$CACHE_DIR/$SUITE/pip"
        run+=(-v "$CACHE_DIR/$SUITE/apt:/var/cache/apt/archives" -v "$CACHE_DIR/$SUITE/pip:/root/.cache/pip")
    fi
    log "$SUITE: starting $NAME from $image"
    "${run[@]}" "$image" >/dev/null
    CONTAINER=$NAME
}

# The variables the container's commands see: the host's pip and proxy
# settings, by name (docker exec reads the values from this environment).
EXEC_ENV=()
collect_env() {
    local name
    while read -r name; do
        EXEC_ENV+=(-e "$name")
    done < <(env | cut -d= -f1 | grep -E '^(PIP_[A-Z_]+|https?_proxy|HTTPS?_PROXY|no_proxy|NO_PROXY)$' || true)
    EXEC_ENV+=(-e DEBIAN_FRONTEND=noninteractive -e LANG=C.UTF-8)
}

copy_in() {
    local file
    # The host's pip configuration files.
    for file in /etc/pip.conf "$HOME/.config/pip/pip.conf" "$HOME/.pip/pip.conf"; do
        if [[ -f "$file" ]]; then
            docker exec "$CONTAINER" mkdir -p "$(dirname "${file/#$HOME//root}")"
            docker cp "$file" "$CONTAINER:${file/#$HOME//root}"
        fi
    done
    # The host's extra certificate authorities (a TLS-inspecting egress), into the container's bundle.
    if compgen -G '/usr/local/share/ca-certificates/*.crt' >/dev/null; then
        docker cp /usr/local/share/ca-certificates/. "$CONTAINER:/usr/local/share/ca-certificates/"
        docker exec "$CONTAINER" update-ca-certificates >/dev/null 2>&1
    fi
    # The checkout: tracked and untracked files that exist (a deleted tracked file is left out), no ignored ones.
    docker exec "$CONTAINER" mkdir -m 0755 -p "$SRC"
    (cd "$REPO" && git ls-files -z -c -o --exclude-standard --deduplicate \
        | while IFS= read -r -d '' file; do
            if [[ -e "$file" || -L "$file" ]]; then
                printf '%s\0' "$file"
            fi
        done | tar --null -T - -cf -) | docker exec -i "$CONTAINER" tar -xf - -C "$SRC"
}

# bullseye: python3.11 from bookworm for the controller (see the top).
CONTROLLER_PYTHON=python3
ensure_controller_python() {
    if docker exec "$CONTAINER" python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
        return 0
    fi
    log "$SUITE: $(docker exec "$CONTAINER" python3 --version) is older than the controller's 3.11: python3.11 from bookworm"
    # The command runs in the container's shell: its expansions are the container's.
    # shellcheck disable=SC2016
    in_container '
        mirror=$(grep -Eo "^deb[[:space:]]+https?://[^[:space:]]+" /etc/apt/sources.list | head -n 1 | awk "{print \$2}")
        echo "deb ${mirror:-http://deb.debian.org/debian} bookworm main" >/etc/apt/sources.list.d/tmi-controller-python.list
        printf "Package: *\nPin: release n=bookworm\nPin-Priority: 100\n\n" >/etc/apt/preferences.d/tmi-controller-python
        printf "Package: python3 python3-* python3.* libpython3* libc6* libc-bin libc-dev-bin libc-l10n locales\n" \
            >>/etc/apt/preferences.d/tmi-controller-python
        printf "Pin: release n=bookworm\nPin-Priority: 990\n" >>/etc/apt/preferences.d/tmi-controller-python
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends -t bookworm python3.11-venv >/dev/null
        python3.11 --version'
    CONTROLLER_PYTHON=python3.11
}

# "12 passed, 1 failed, 3 skipped, 2 errors" from pytest's closing line in the log.
pytest_counts() {
    local line word counts=
    line=$(grep -E '^=+ .* in [0-9.]+s.* =+$' "$LOG" | tail -n 1 || true)
    for word in passed failed skipped errors; do
        local n
        n=$(grep -oE "[0-9]+ ${word%s}s?\b" <<<"$line" | grep -oE '^[0-9]+' || echo 0)
        counts="${counts:+$counts, }$n $word"
    done
    echo "$counts"
}

main() {
    local started=$SECONDS setup_seconds=0 suite_seconds=0 status=0 result pg_version=unknown
    local release major
    case "$SUITE" in
        bullseye) release=11 ;;
        bookworm) release=12 ;;
        trixie) release=13 ;;
    esac
    # The roles' own table (PLATFORM_VERSIONS), one line a platform: ('Debian', '13'): 17,
    major=$(sed -nE "s/^ *\('Debian', '$release'\): ([0-9]+),.*/\1/p" "$REPO/plugins/module_utils/postgresql_versions.py")
    if [[ -z "$major" ]]; then
        log "$SUITE: Debian $release has no PostgreSQL version in plugins/module_utils/postgresql_versions.py"
        return 1
    fi
    log "$SUITE: Debian $release, PostgreSQL $major"
    collect_env
    start_container
    copy_in

    local step_started=$SECONDS
    if ensure_controller_python && in_container "
        command -v make >/dev/null || { apt-get update -qq; apt-get install -y -qq make >/dev/null; }
        make --no-print-directory setup TEST_PG_VERSION=$major PYTHON=$CONTROLLER_PYTHON"; then
        local make_args="TEST_PG_VERSION=$major PYTHON=$CONTROLLER_PYTHON"
        setup_seconds=$((SECONDS - step_started))
        pg_version=$(docker exec "$CONTAINER" "/usr/lib/postgresql/$major/bin/postgres" --version | awk '{print $3}')
        log "$SUITE: setup done in ${setup_seconds} s; PostgreSQL $pg_version"
        step_started=$SECONDS
        local workers=${INTEGRATION_WORKERS:+INTEGRATION_WORKERS=$INTEGRATION_WORKERS}
        # -rfEs: the closing report names every failure, error and skip with its reason.
        if in_container "make --no-print-directory integration $make_args $workers PYTEST_ARGS='-rfEs ${PYTEST_ARGS:-}'"; then
            result="$(pytest_counts)"
        else
            status=1
            result="FAILED: $(pytest_counts)"
        fi
        suite_seconds=$((SECONDS - step_started))
    else
        status=1
        setup_seconds=$((SECONDS - step_started))
        result="FAILED in make setup"
    fi
    local summary
    summary=$(printf '%s (Debian %s, PostgreSQL %s): %s; setup %d s, suite %d s, total %d s; log %s' \
        "$SUITE" "$release" "$pg_version" "$result" "$setup_seconds" "$suite_seconds" "$((SECONDS - started))" "$LOG")
    echo "$summary" >"$SUMMARY"
    log "$summary"
    return "$status"
}

main
