#!/usr/bin/env bash
# Builds one bench in release and prints the path of its executable (CARGO_TARGET_DIR is
# respected): what tools/callgrind.sh and tools/profile.sh run.
#
#   tools/bench-bin.sh BENCH
#
# PROFILE=checks builds it without link-time optimisation: slower, but each function keeps its
# own name in a profile instead of being inlined across layers (the default is the bench
# profile, which is the release build users run).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo bench --profile "${PROFILE:-bench}" --bench "$1" --no-run --message-format=json 2>/dev/null |
    python3 -c 'import json,sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == sys.argv[1] and m.get("executable"):
        print(m["executable"])' "$1"
