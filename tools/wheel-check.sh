#!/usr/bin/env bash
# The Python package end to end, as a user without Rust gets it: builds the wheel with maturin
# (pyproject.toml, `bindings = "bin"`), installs it into a fresh venv, and runs the installed
# `simrq` (--version, validate, a short run). .ci/run calls this.
#
#   tools/wheel-check.sh          the wheel is left in target/wheels/
set -euo pipefail
cd "$(dirname "$0")/.."
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

python3 -m venv "$work/build"
"$work/build/bin/pip" install --quiet --disable-pip-version-check "maturin>=1.5,<2"
# maturin tags the wheel for the oldest glibc the binary accepts (manylinux); a wheel for
# PyPI is built on an old glibc (`maturin build --zig` or its container), which this is not.
"$work/build/bin/maturin" build --release --locked \
    --out target/wheels >"$work/build.log" 2>&1 || { cat "$work/build.log"; exit 1; }
wheel="$(ls -t target/wheels/simrq-*.whl | head -n 1)"
echo "built $wheel ($(du -h "$wheel" | cut -f1))"

python3 -m venv "$work/fresh"
"$work/fresh/bin/pip" install --quiet --disable-pip-version-check "$wheel"
simrq="$work/fresh/bin/simrq"
"$simrq" --version
"$simrq" validate scenarios/retry-simple.toml
"$simrq" run scenarios/retry-simple.toml --out "$work/out" >"$work/run.log"
test -s "$work/out/summary.json" || { cat "$work/run.log"; exit 1; }
echo "the installed simrq ran scenarios/retry-simple.toml: $(grep -c . "$work/out/jobs.csv") lines in jobs.csv"
