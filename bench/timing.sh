# shellcheck shell=bash
# Timing helpers of the bench and measure scripts; source it.

# seconds_of COMMAND...: runs it, its output into $TIMING_LOG (default
# /dev/null), and prints how many seconds it took.
seconds_of() {
    local start end
    start=$(date +%s.%N)
    "$@" >"${TIMING_LOG:-/dev/null}" 2>&1
    end=$(date +%s.%N)
    awk -v start="$start" -v end="$end" 'BEGIN {print end - start}'
}

# median: the median of the numbers on standard input, one per line.
median() {
    sort -n | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}
