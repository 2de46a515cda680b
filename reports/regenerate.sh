#!/bin/sh
# Regenerates the design-review reports in reports/ from the shipped scenarios. Runs are
# deterministic: the same simrq gives the same bytes. About 10 minutes of CPU on 2 cores.
#
#   reports/regenerate.sh            # both reports
#   reports/regenerate.sh capacity   # one of them
set -eu
cd "$(dirname "$0")/.."
cargo build --release --quiet
simrq=target/release/simrq
which="${1:-all}"

if [ "$which" = all ] || [ "$which" = capacity ]; then
    # How many worker pods keep p99 queue wait within 30 s at 2, 3 and 4 jobs/s?
    "$simrq" report scenarios/capacity.toml \
        --set pods.worker.replicas=3..8 \
        --set workload.default.arrival.poisson_per_s=2,3,4 \
        --runs 2 --out reports/capacity --force
fi

if [ "$which" = all ] || [ "$which" = pod-churn ]; then
    # RQ 2.12's scripted scheduler lock against 2.10's unchecked SET NX / EXPIRE / DEL.
    "$simrq" report scenarios/pod-churn.toml \
        --set rq.variant=2.12,2.10 \
        --runs 3 --out reports/pod-churn --force
fi
