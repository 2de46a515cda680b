#!/usr/bin/env bash
# Prepare the real-RQ side of the conformance harness:
#   - a Python venv at tests/conformance/.venv with rq 2.12.0 (and the redis-py it requires);
#   - a Debian redis-server when none is on PATH.
# Idempotent and quiet: it prints nothing when everything is already in place.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv"
rq_version="2.12.0"
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
if ! "$venv/bin/python" -c "import rq, sys; sys.exit(rq.__version__ != '$rq_version')" \
    >/dev/null 2>&1; then
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
        "rq==$rq_version" >"$log" 2>&1 || fail "pip install rq==$rq_version failed"
fi

if ! command -v redis-server >/dev/null 2>&1; then
    if [ "$(id -u)" -ne 0 ]; then
        fail "redis-server is missing and installing it needs root (apt-get install redis-server)"
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update >"$log" 2>&1 || fail "apt-get update failed"
    apt-get install -y --no-install-recommends redis-server >"$log" 2>&1 \
        || fail "apt-get install redis-server failed"
    # The Debian package may start a system instance on port 6379; the harness never uses it,
    # it starts its own servers on free ports.
fi
