#!/usr/bin/env bash
# Where a long pod-churn run spends its time, by layer (perf's sampling, so it sees cache misses
# that callgrind's instruction counts do not; the 24 h run's working set is ~100 MiB).
#
#   tools/profile.sh [HOURS] [OUT]     default 24 hours, out/perf.<HOURS>h.data
#
# Builds the pod_churn bench, records it pinned to one core with `perf record -F 499`, prints
# the bench's own figures and the per-layer summary of tools/perf-layers.py.
# PROFILE=checks profiles the build without link-time optimisation (see tools/bench-bin.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
hours=${1:-24}
out=${2:-out/perf.${hours}h.data}
mkdir -p "$(dirname "$out")"
bin=$(tools/bench-bin.sh pod_churn)
# The bench writes its run under $TMPDIR; a directory of its own keeps two measurements at
# once (two worktrees, two helpers) from writing into each other's outputs.
TMPDIR=$(mktemp -d)
export TMPDIR
trap 'rm -rf "$TMPDIR"' EXIT
perf record -q -F 499 -o "$out" taskset -c 1 "$bin" "$hours"
tools/perf-layers.py "$out"
