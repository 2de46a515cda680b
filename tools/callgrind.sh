#!/usr/bin/env bash
# Instruction counts of a short pod-churn run, which do not vary with this machine's noise.
#
#   tools/callgrind.sh [DURATION] [OUT]     default 3m, out/callgrind.<DURATION>
#
# Builds the pod_churn bench, runs it under callgrind from the repository root and prints the
# bench's own figures (allocations per job) and the total instruction count. Read the profile
# with `callgrind_annotate --auto=no --threshold=100 OUT`.
# PROFILE=checks profiles the build without link-time optimisation (see tools/bench-bin.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-3m}
out=${2:-out/callgrind.$duration}
mkdir -p "$(dirname "$out")"
bin=$(tools/bench-bin.sh pod_churn)
# The bench writes its run under $TMPDIR; a directory of its own keeps two measurements at
# once (two worktrees, two helpers) from writing into each other's outputs.
TMPDIR=$(mktemp -d)
export TMPDIR
trap 'rm -rf "$TMPDIR"' EXIT
valgrind --tool=callgrind --callgrind-out-file="$out" "$bin" "$duration" 2>"$out.log"
grep -m1 -E "^==[0-9]+== Collected" "$out.log" || true
callgrind_annotate --auto=no --threshold=100 "$out" | sed -n '/PROGRAM TOTALS/,+1p'
