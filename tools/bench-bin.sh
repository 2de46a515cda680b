#!/usr/bin/env bash
# Builds one bench in release and prints the path of its executable (CARGO_TARGET_DIR is
# respected): what tools/callgrind.sh and tools/profile.sh run.
#
#   tools/bench-bin.sh BENCH
set -euo pipefail
cd "$(dirname "$0")/.."
cargo bench --bench "$1" --no-run --message-format=json 2>/dev/null |
    python3 -c 'import json,sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == sys.argv[1] and m.get("executable"):
        print(m["executable"])' "$1"
