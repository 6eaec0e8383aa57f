#!/usr/bin/env bash
# Run groups of make targets ("lanes") at the same time, each lane's targets
# one after the other, and fail when any lane failed.
#
# Why: `make test` is CPU-bound but not evenly. The integration suite keeps
# both cores busy; Molecule leaves about a quarter of them idle (Ansible
# waits on one host's task, dpkg on one container). Running the two side by
# side fills that idle time without running two CPU-heavy suites of the same
# kind at once, which -j2 over every suite would do.
#
# Usage: test-lanes.sh NAME:"TARGET ..." [NAME:"TARGET ..." ...]
#   Each lane runs `make -k TARGET ...` (every target even after one fails,
#   as `make -k test` did) with its output prefixed by "[NAME] ", line by
#   line as it comes. The summary names each lane's exit status.
# Extra make arguments for every lane come from LANE_MAKE_ARGS.
set -euo pipefail

if [[ $# -eq 0 ]]; then
    echo "test-lanes: no lane given (NAME:\"TARGET ...\")" >&2
    exit 2
fi

MAKE=${MAKE:-make}
names=()
pids=()
for lane in "$@"; do
    name=${lane%%:*}
    targets=${lane#*:}
    if [[ -z "$name" || "$name" == "$lane" || -z "$targets" ]]; then
        echo "test-lanes: '$lane' is not NAME:\"TARGET ...\"" >&2
        exit 2
    fi
    # pipefail: the lane's status is make's, not sed's. The targets are split
    # into words on purpose.
    # shellcheck disable=SC2086
    ( set -o pipefail
      "$MAKE" -k --no-print-directory ${LANE_MAKE_ARGS:-} $targets 2>&1 | sed -u "s/^/[$name] /" ) &
    names+=("$name")
    pids+=("$!")
done

status=0
for i in "${!pids[@]}"; do
    if wait "${pids[$i]}"; then
        echo "test-lanes: lane ${names[$i]} passed"
    else
        rc=$?
        echo "test-lanes: lane ${names[$i]} FAILED (exit status $rc)"
        status=1
    fi
done
exit "$status"
