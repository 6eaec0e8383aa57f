#!/usr/bin/env bash
# Time the site playbook: the first converge of a fresh Molecule container,
# its idempotent second run (`molecule idempotence`, and a plain second
# `ansible-playbook site.yml` through Molecule's inventory and settings,
# without Molecule's own start-up), and the idempotent run on this machine
# (make site's inventory), each RUNS times, with a baseline measured in the
# same run (one ansible.builtin.ping through the same connection) so that
# results from noisy machines compare as ratios. Prints one TSV line per run and the
# medians. Run from the repository root after `make setup`; needs root, the
# Docker engine and the image (scripts/docker-engine.sh, scripts/molecule-image.sh).
# PROFILE_ROLES=1 adds one more idempotent run on this machine that prints the
# time spent in each role (ansible.posix.profile_roles).
set -euo pipefail

RUNS=${RUNS:-3}
PROFILE_ROLES=${PROFILE_ROLES:-0}
export PATH="$PWD/.venv/bin:$PATH" NO_COLOR=1
# shellcheck source=bench/timing.sh
source "$PWD/bench/timing.sh"


# Molecule's folder of the scenario: the one its last command wrote (other
# checkouts of the project have folders of their own beside it).
molecule_dir() {
    find "$HOME/.ansible/tmp" -maxdepth 1 -name 'molecule.*.default' -printf '%T@ %p\n' | sort -n | tail -n 1 | cut -d ' ' -f 2-
}

# A second ansible-playbook site.yml on the container, its output in $rerun_log.
container_rerun() {
    local dir
    dir=$(molecule_dir)
    ANSIBLE_CONFIG="$dir/ansible.cfg" ANSIBLE_COLLECTIONS_PATH="$PWD/.venv/collections" \
        ansible-playbook -i "$dir/inventory" site.yml >"$rerun_log" 2>&1
}


results=$(mktemp)
rerun_log=$(mktemp)
trap 'rm -f "$results" "$rerun_log"' EXIT
echo "# $(nproc) cores, load average at start: $(cut -d ' ' -f 1-3 /proc/loadavg)"
printf 'run\tcontainer_ping\tconverge\tidempotent\tsite_rerun\tlocal_ping\tlocal_idempotent\n'
for run in $(seq 1 "$RUNS"); do
    molecule destroy -s default >/dev/null 2>&1
    molecule create -s default >/dev/null 2>&1
    dir=$(molecule_dir)
    container_ping=$(ANSIBLE_CONFIG="$dir/ansible.cfg" seconds_of ansible all -i "$dir/inventory" -m ansible.builtin.ping)
    converge=$(seconds_of molecule converge -s default)
    idempotent=$(seconds_of molecule idempotence -s default)
    site_rerun=$(seconds_of container_rerun)
    if ! grep -Eq ' changed=0 .* failed=0 ' "$rerun_log"; then
        echo "The second ansible-playbook site.yml on the container changed something or failed:" >&2
        tail -n 30 "$rerun_log" >&2
        exit 1
    fi
    local_ping=$(seconds_of ansible localhost -i inventory/local.yml -m ansible.builtin.ping)
    local_idempotent=$(seconds_of ansible-playbook -i inventory/local.yml site.yml)
    printf '%s\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\n' "$run" "$container_ping" "$converge" "$idempotent" \
        "$site_rerun" "$local_ping" "$local_idempotent" | tee -a "$results"
done
molecule destroy -s default >/dev/null 2>&1
echo "# load average at end: $(cut -d ' ' -f 1-3 /proc/loadavg)"
for column in 2 3 4 5 6 7; do
    printf '%s ' "$(cut -f "$column" "$results" | median)"
done | awk '{printf "median\t%s\t%s\t%s\t%s\t%s\t%s\n", $1, $2, $3, $4, $5, $6;
             printf "ratio\t1\t%.1f\t%.1f\t%.1f\t1\t%.1f\n", $2 / $1, $3 / $1, $4 / $1, $6 / $5}'
if [[ $PROFILE_ROLES == 1 ]]; then
    echo "# time per role of an idempotent run on this machine (load $(cut -d ' ' -f 1 /proc/loadavg)):"
    ANSIBLE_CALLBACKS_ENABLED=ansible.posix.profile_roles \
        ansible-playbook -i inventory/local.yml site.yml | sed -n '/^PLAY RECAP/,$p' | grep -E ' -+ [0-9.]+s$|^total'
fi
