#!/usr/bin/env bash
# Prepare the real-RQ side of the conformance harness:
#   - a Python venv at tests/conformance/.venv with rq 2.12.0 and redis-py 8.1.0, the client
#     simrq's model was traced against (redis-py 8.2.0's PubSubWorkerThread.stop() joins the
#     pubsub thread without a timeout, so a worker's teardown waits up to the thread's 60 s
#     sleep_time before exiting: FINDINGS.md §18);
#   - Debian's redis-server and redis-sentinel when either is missing from PATH (the failover
#     scenarios run a primary, a replica and a Sentinel).
# Idempotent and quiet: it prints nothing when everything is already in place.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv"
rq_version="2.12.0"
redis_py_version="8.1.0"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT

fail() {
    echo "setup.sh: $1" >&2
    cat "$log" >&2
    exit 1
}

python_bin="${PYTHON:-python3}"
if ! "$python_bin" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)'; then
    fail "$python_bin is older than 3.11 (the harness needs tomllib)"
fi

if [ ! -x "$venv/bin/python" ]; then
    "$python_bin" -m venv "$venv" >"$log" 2>&1 || fail "could not create $venv"
fi
if ! "$venv/bin/python" -c "import rq, redis, sys; sys.exit(rq.__version__ != '$rq_version'
        or redis.__version__ != '$redis_py_version')" >/dev/null 2>&1; then
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
        "rq==$rq_version" "redis==$redis_py_version" >"$log" 2>&1 \
        || fail "pip install rq==$rq_version redis==$redis_py_version failed"
fi

missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v redis-sentinel >/dev/null 2>&1 || missing+=(redis-sentinel)
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then
        fail "${missing[*]} missing and installing needs root (apt-get install ${missing[*]})"
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update >"$log" 2>&1 || fail "apt-get update failed"
    apt-get install -y --no-install-recommends "${missing[@]}" >"$log" 2>&1 \
        || fail "apt-get install ${missing[*]} failed"
    # The Debian packages may start system instances on ports 6379 and 26379; the harness
    # never uses them, it starts its own servers on free ports.
fi
