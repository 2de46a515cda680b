#!/usr/bin/env bash
# The calibration test as CI runs it (.ci/run calls this after the conformance suite): real RQ
# 2.12 workers process a known workload against a real redis-server, `simrq calibrate` reads it
# back as a read-only Redis user, and `simrq run` on the written scenario must reproduce the real
# queue waits (tolerances and their reasons: real_rq.py's docstring). About 3 minutes: 150 s of
# real arrivals, then 40 simulated seeds. Reuses the conformance suite's venv and redis-server
# (tests/conformance/setup.sh) and its release build of simrq.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
simrq="${CARGO_TARGET_DIR:-$root/target}/release/simrq"

bash "$root/tests/conformance/setup.sh"
(cd "$root" && cargo build --release --quiet)
start=$(date +%s)
status=0
"$root/tests/conformance/.venv/bin/python" "$here/real_rq.py" --simrq "$simrq" || status=$?
echo "calibrate vs real RQ: $(( $(date +%s) - start )) s; table in $here/runs/result.md"
exit "$status"
