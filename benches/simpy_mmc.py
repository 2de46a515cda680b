# The bare M/M/10 queue of benches/mmc_throughput.rs in SimPy, for comparison: Poisson
# arrivals of 8 jobs/s, exponential service of mean 1 s, 10 servers, one FIFO queue, 6
# simulated hours of arrivals and then a run until the queue is empty, with a fixed seed. Each
# job's queue wait is recorded, as simrq records each job's wait. SimPy models only the queue;
# simrq simulates every Redis command RQ issues for the same queue.
#
# SimPy is not a dependency of simrq. Run it in a throwaway virtual environment:
#
#   python3 -m venv /tmp/simpy-venv && /tmp/simpy-venv/bin/pip install simpy
#   taskset -c 1 /tmp/simpy-venv/bin/python benches/simpy_mmc.py [HOURS]   # default 6
#
# It prints jobs, wall seconds, jobs per wall second, CPU seconds, and the mean wait and share of jobs that
# waited beside Erlang C.

import math
import random
import sys
import time

import simpy

ARRIVAL_PER_S = 8.0
SERVICE_PER_S = 1.0
SERVERS = 10
SEED = 1
WAITED_THRESHOLD_S = 0.010  # simrq's threshold for "waited" (src/sweep/figures.rs)


def job(env, servers, rng, waits):
    """One job: queue for a server, record the wait, hold the server for its service time."""
    arrived = env.now
    with servers.request() as request:
        yield request
        waits.append(env.now - arrived)
        yield env.timeout(rng.expovariate(SERVICE_PER_S))


def arrivals(env, servers, rng, waits, until_s):
    """Poisson arrivals until `until_s`, each starting a job process."""
    while True:
        yield env.timeout(rng.expovariate(ARRIVAL_PER_S))
        if env.now >= until_s:
            return
        env.process(job(env, servers, rng, waits))


def erlang_c(arrival_per_s, service_per_s, servers):
    """P(wait) and mean wait W_q of the M/M/c queue."""
    load = arrival_per_s / service_per_s
    utilisation = load / servers
    below_c = sum(load**k / math.factorial(k) for k in range(servers))
    waiting = load**servers / math.factorial(servers) / (1.0 - utilisation)
    p_wait = waiting / (below_c + waiting)
    return p_wait, p_wait / (servers * service_per_s - arrival_per_s)


def main():
    hours = float(sys.argv[1]) if len(sys.argv) > 1 else 6.0
    print(f"seed {SEED}")
    rng = random.Random(SEED)
    waits = []
    env = simpy.Environment()
    servers = simpy.Resource(env, capacity=SERVERS)
    env.process(arrivals(env, servers, rng, waits, hours * 3600.0))
    started, cpu_started = time.perf_counter(), time.process_time()
    env.run()  # until no event is left: every job served
    wall_s = time.perf_counter() - started
    cpu_s = time.process_time() - cpu_started

    jobs = len(waits)
    p_wait, mean_wait_s = erlang_c(ARRIVAL_PER_S, SERVICE_PER_S, SERVERS)
    p_above = p_wait * math.exp(-(SERVERS * SERVICE_PER_S - ARRIVAL_PER_S) * WAITED_THRESHOLD_S)
    print(f"SimPy {simpy.__version__} M/M/10: {hours:g} h simulated, λ = 8 jobs/s, μ = 1/s")
    print(f"  jobs                  {jobs}")
    print(f"  wall time             {wall_s:.2f} s")
    print(f"  jobs per wall second  {jobs / wall_s:.0f}")
    print(f"  CPU time              {cpu_s:.2f} s ({jobs / cpu_s:.0f} jobs per CPU second)")
    print("Erlang C check")
    print(f"  mean queue wait       {sum(waits) / jobs:.4f} s (Erlang C W_q {mean_wait_s:.4f} s)")
    print(f"  P(wait > 0)           {sum(w > 0 for w in waits) / jobs:.4f} (Erlang C {p_wait:.4f})")
    print(
        f"  P(wait > 10 ms)       {sum(w > WAITED_THRESHOLD_S for w in waits) / jobs:.4f}"
        f" (Erlang C {p_above:.4f})"
    )


if __name__ == "__main__":
    main()
