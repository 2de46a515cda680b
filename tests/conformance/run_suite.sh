#!/usr/bin/env bash
# Run the conformance suite: set up real RQ, run every scenario once against it, writing
# tests/conformance/runs/<scenario>/real/, then (once wired) the simulated side and the
# comparison. Usage: run_suite.sh [SCENARIO_NAME ...]   (default: every scenarios/*.toml)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
runs="$here/runs"
python="$here/.venv/bin/python"

bash "$here/setup.sh"

# The simulated side of one scenario. This is the hook where `simrq run` and `simrq compare`
# are called for each scenario once the simulator can run conformance scenarios:
#     simrq run "$scenario" --out "$runs/$name/sim" --seed "$seed" --force
#     simrq compare "$runs/$name/real" "$runs/$name/sim"
# Until then it does nothing and the suite reports only the real runs.
simulate_and_compare() {
    local name="$1" scenario="$2"
    : "$name" "$scenario"
    return 0
}

if [ "$#" -gt 0 ]; then
    names=("$@")
else
    names=()
    for file in "$here"/scenarios/*.toml; do
        names+=("$(basename "$file" .toml)")
    done
fi

failed=0
for name in "${names[@]}"; do
    scenario="$here/scenarios/$name.toml"
    mkdir -p "$runs/$name"
    if ! "$python" "$here/harness.py" "$scenario" --out "$runs/$name/real"; then
        echo "run_suite: real run of $name failed" >&2
        failed=1
        continue
    fi
    if ! simulate_and_compare "$name" "$scenario"; then
        echo "run_suite: $name: simulated run differs from the real one" >&2
        failed=1
    fi
done
exit "$failed"
