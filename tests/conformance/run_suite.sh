#!/usr/bin/env bash
# Run the conformance suite: set up real RQ, build simrq, then for each scenario the real run
# (runs/<scenario>/real/), simulated runs with seeds 1-300 (runs/<scenario>/sim/seed-N/) and their
# comparison; writes runs/fidelity.md. Usage: run_suite.sh [SCENARIO_NAME ...] [--reuse-real]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
# cargo builds into $CARGO_TARGET_DIR when it is set; the suite must run that binary.
simrq="${CARGO_TARGET_DIR:-$root/target}/release/simrq"
bash "$here/setup.sh"
(cd "$root" && cargo build --release --quiet)
exec "$here/.venv/bin/python" "$here/suite.py" --simrq "$simrq" "$@"
