#!/usr/bin/env bash
# The conformance suite as CI runs it (.ci/run calls this): real RQ 2.12 and redis-server on
# one side, simrq on the other, every scenario compared; exits non-zero when a metric is
# outside its tolerance. About 10 minutes of real runs plus the release build.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
# cargo builds into $CARGO_TARGET_DIR when it is set; the suite must run that binary.
simrq="${CARGO_TARGET_DIR:-$root/target}/release/simrq"

echo "== conformance: setup (rq 2.12.0 in a venv, redis-server)"
bash "$here/setup.sh"

echo "== conformance: harness unit tests"
"$here/.venv/bin/python" -m unittest discover -s "$here" -p 'test_*.py' 2>&1 | tail -n 3

echo "== conformance: cargo build --release"
(cd "$root" && cargo build --release --quiet)

echo "== conformance: suite (each scenario real once, simulated with seeds 1-300, the real run against their envelope)"
start=$(date +%s)
status=0
"$here/.venv/bin/python" "$here/suite.py" --simrq "$simrq" || status=$?
echo "conformance suite: $(( $(date +%s) - start )) s; table in $here/runs/fidelity.md"
exit "$status"
