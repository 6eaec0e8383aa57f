#!/usr/bin/env bash
# The idempotent re-run of site.yml on this machine (make site's inventory),
# as a ratio to one Ansible ping over the same connection, for one or more
# commits of the collection in the same session: each commit is checked out
# in a temporary folder, converged once, then timed RUNS times (ping, re-run).
# It converges this machine with each commit in turn: run it on a test host.
#
#   bench/site_rerun_ratio.sh e886e50 HEAD        # RUNS=3 by default
#
# Prints one TSV line per run and the median ratio per commit. Needs root and
# `make setup` (its .venv runs every commit).
set -euo pipefail

RUNS=${RUNS:-3}
REPO=$(cd "$(dirname "$0")/.." && pwd)
export PATH="$REPO/.venv/bin:$PATH" NO_COLOR=1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# shellcheck source=bench/timing.sh
source "$REPO/bench/timing.sh"
TIMING_LOG=$work/last.log



echo "# $(nproc) cores, load average at start: $(cut -d ' ' -f 1-3 /proc/loadavg)"
printf 'commit\trun\tping\trerun\tratio\trecap\n'
for rev in "$@"; do
    tree="$work/$rev/ansible_collections/tmi/postgresql"
    mkdir -p "$tree"
    git -C "$REPO" archive "$rev" | tar -x -C "$tree"
    export ANSIBLE_COLLECTIONS_PATH="$work/$rev"
    cd "$tree"
    ansible-playbook -i inventory/local.yml site.yml >"$work/converge.log" 2>&1 \
        || { echo "converge of $rev failed:" >&2; tail -20 "$work/converge.log" >&2; exit 1; }
    : >"$work/ratios"
    for run in $(seq 1 "$RUNS"); do
        ping=$(seconds_of ansible all -i inventory/local.yml -m ansible.builtin.ping)
        rerun=$(seconds_of ansible-playbook -i inventory/local.yml site.yml)
        ratio=$(awk -v r="$rerun" -v p="$ping" 'BEGIN {printf "%.1f", r / p}')
        echo "$ratio" >>"$work/ratios"
        printf '%s\t%s\t%.2f\t%.1f\t%s\t%s\n' "$rev" "$run" "$ping" "$rerun" "$ratio" \
            "$(grep -o 'ok=[0-9]* *changed=[0-9]*' "$work/last.log" | tail -1)"
    done
    echo "# $rev: median ratio $(median <"$work/ratios")"
    cd "$REPO"
done
