#!/usr/bin/env bash
# The cost of a second run of playbooks/repository.yml (issue 11), against an
# Ansible ping through the same connection, on the Molecule scenario `repo`:
# one converge (a one-host install moved to the repository host), then RUNS
# times a ping of both containers and a plain `ansible-playbook
# tmi.postgresql.repository` with Molecule's inventory and settings, which
# must change nothing. Medians and their ratio. Run from the checkout after
# `make setup`, with no other Molecule scenario running:
#   RUNS=5 bench/repository_rerun.sh
set -euo pipefail

RUNS=${RUNS:-3}
export PATH="$PWD/.venv/bin:$PATH" NO_COLOR=1
# shellcheck source=bench/timing.sh
source "$(dirname "$0")/timing.sh"



log=$(mktemp)
TIMING_LOG=$log
results=$(mktemp)
trap 'rm -f "$log" "$results"; molecule destroy -s repo >/dev/null 2>&1 || true' EXIT
molecule destroy -s repo >/dev/null 2>&1
molecule converge -s repo >"$log" 2>&1 || { tail -n 40 "$log" >&2; exit 1; }
dir=$(find "$HOME/.ansible/tmp" -maxdepth 1 -name 'molecule.*.repo' -printf '%T@ %p\n' | sort -n | tail -n 1 | cut -d ' ' -f 2-)
# The scenario's inventory reads its cipher passphrase from a file in this folder.
export ANSIBLE_CONFIG="$dir/ansible.cfg" ANSIBLE_COLLECTIONS_PATH="$PWD/.venv/collections" MOLECULE_EPHEMERAL_DIRECTORY="$dir"
echo "# $(nproc) cores, commit $(git rev-parse --short HEAD), load average at start: $(cut -d ' ' -f 1-3 /proc/loadavg)"
printf 'run\tping\trerun\tratio\n'
for run in $(seq 1 "$RUNS"); do
    ping=$(seconds_of ansible all -i "$dir/inventory" -m ansible.builtin.ping)
    rerun=$(seconds_of ansible-playbook -i "$dir/inventory" playbooks/repository.yml)
    if ! grep -Eq 'tmi-repo-db .* changed=0 .* failed=0 ' "$log" || ! grep -Eq 'tmi-repo-host .* changed=0 .* failed=0 ' "$log"; then
        echo "The second run of repository.yml changed something or failed:" >&2
        tail -n 30 "$log" >&2
        exit 1
    fi
    printf '%s\t%.1f\t%.1f\t%.1f\n' "$run" "$ping" "$rerun" "$(awk -v a="$rerun" -v b="$ping" 'BEGIN {print a / b}')" | tee -a "$results"
done
grep -E '^tmi-repo-(db|host) ' "$log" | sed 's/^/# last re-run: /'
echo "# load average at end: $(cut -d ' ' -f 1-3 /proc/loadavg)"
ping=$(cut -f 2 "$results" | median)
rerun=$(cut -f 3 "$results" | median)
printf 'median\t%.1f\t%.1f\t%.1f\n' "$ping" "$rerun" "$(awk -v a="$rerun" -v b="$ping" 'BEGIN {print a / b}')"
