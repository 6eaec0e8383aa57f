#!/usr/bin/env bash
# Run `ansible-test sanity` offline on a copy of this checkout.
#
# ansible-test only runs from a tree laid out as
# .../ansible_collections/<namespace>/<name>/, and it lists the files to test
# with git. So the checkout's files (tracked, plus untracked ones git does not
# ignore) are copied to $SANITY_TREE/ansible_collections/tmi/postgresql, which
# gets a git repository of its own (no commit needed: ansible-test also lists
# untracked files). community.postgresql from the virtual environment is linked
# beside it so that imports of its module_utils resolve in the import test.
#
# Offline, ansible-test cannot download its pip bootstrap script; a stand-in
# that bootstraps pip with ensurepip and installs the rest from the package
# index is put in its cache first.
#
# Extra arguments go to ansible-test (for example: --test pep8).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${VENV:-$ROOT/.venv}
SANITY_TREE=${SANITY_TREE:-$ROOT/build}
SANITY_PYTHON=${SANITY_PYTHON:-3.11}
COLLECTION_COPY=$SANITY_TREE/ansible_collections/tmi/postgresql
GET_PIP_CACHE=$HOME/.ansible/test/cache/get_pip_24_2.py

list_checkout_files() {
    if git -C "$ROOT" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
        git -C "$ROOT" ls-files -z --cached --others --exclude-standard
    else
        (cd "$ROOT" && find . -path ./.git -prune -o -path ./.venv -prune -o -path ./build -prune \
            -o -path ./tests/output -prune -o \( -type f -o -type l \) -printf '%P\0')
    fi
}

# Keeps the files that exist (a tracked file may be deleted in the work tree)
# and are not the virtual environment or the sanity tree itself.
existing_collection_files() {
    local path
    while IFS= read -r -d '' path; do
        case "$path" in
            .venv/* | build/* | tests/output/*) continue ;;
        esac
        if [[ -e "$ROOT/$path" || -L "$ROOT/$path" ]]; then
            printf '%s\0' "$path"
        fi
    done
}

copy_checkout() {
    rm -rf "$COLLECTION_COPY"
    mkdir -p "$COLLECTION_COPY"
    list_checkout_files | existing_collection_files \
        | tar -C "$ROOT" --null -T - -cf - | tar -C "$COLLECTION_COPY" -xf -
    git -C "$COLLECTION_COPY" init -q
}

link_dependencies() {
    local site_packages
    site_packages=$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
    mkdir -p "$SANITY_TREE/ansible_collections/community"
    ln -sfn "$site_packages/ansible_collections/community/postgresql" \
        "$SANITY_TREE/ansible_collections/community/postgresql"
}

install_get_pip_standin() {
    mkdir -p "$(dirname "$GET_PIP_CACHE")"
    cat >"$GET_PIP_CACHE" <<'PY'
"""Offline stand-in for pip's get-pip.py, written by tmi.postgresql's scripts/sanity.sh.

Bootstraps pip with ensurepip, then installs what ansible-test asked for from
the package index. get-pip.py's --no-setuptools/--no-wheel are not pip options.
"""
import subprocess
import sys

args = [a for a in sys.argv[1:] if a not in ('--no-setuptools', '--no-wheel')]
subprocess.check_call([sys.executable, '-m', 'ensurepip', '--upgrade'])
subprocess.check_call([sys.executable, '-m', 'pip', 'install'] + args)
PY
}

# Two runs at once from one checkout would overwrite each other's copy.
wait_for_other_runs() {
    mkdir -p "$SANITY_TREE"
    exec 9>"$SANITY_TREE/.sanity.lock"
    flock 9
}

main() {
    wait_for_other_runs
    copy_checkout
    link_dependencies
    install_get_pip_standin
    cd "$COLLECTION_COPY"
    "$VENV/bin/ansible-test" sanity --local --python "$SANITY_PYTHON" --color no "$@"
}

main "$@"
