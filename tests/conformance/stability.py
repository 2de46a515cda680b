#!/usr/bin/env python3
"""How stable is the conformance verdict? Tallies, per scenario and metric, the verdicts of
many real runs compared against the same simulated envelope.

    tests/conformance/.venv/bin/python tests/conformance/stability.py --repeat 10 [NAME ...]
    tests/conformance/.venv/bin/python tests/conformance/stability.py --real-roots R1 R2 ...

--repeat N runs every scenario's real side N times (harness.py into runs/stability/run-K/NAME);
--real-roots compares real runs kept from before (each root holds NAME/events.csv, jobs.csv).
The simulated side is simulated once per scenario (seeds 1..--seeds) and every real run is
compared against it with `simrq compare`, as suite.py does. Prints a Markdown table: for each
metric, how many runs gave each verdict; exits 1 when any metric's verdict was not the same in
every run.
"""

import argparse
import collections
import os
import sys

import suite

HERE = os.path.dirname(os.path.abspath(__file__))


def real_runs(args, name):
    """Every real run directory of `name`, running the harness first with --repeat."""
    if args.repeat:
        for k in range(1, args.repeat + 1):
            out = os.path.join(suite.RUNS, "stability", "run-%d" % k, name)
            if not os.path.exists(os.path.join(out, "jobs.csv")):
                scenario = os.path.join(HERE, "scenarios", "%s.toml" % name)
                suite.subprocess.run([suite.PYTHON, os.path.join(HERE, "harness.py"), scenario,
                                      "--out", out], check=False,
                                     stdout=suite.subprocess.DEVNULL)
        roots = [os.path.join(suite.RUNS, "stability", "run-%d" % k)
                 for k in range(1, args.repeat + 1)]
    else:
        roots = args.real_roots
    return [os.path.join(root, name) for root in roots
            if os.path.exists(os.path.join(root, name, "jobs.csv"))]


def tally(args, name):
    scenario = os.path.join(HERE, "scenarios", "%s.toml" % name)
    sim_dirs = suite.run_sims(args.simrq, name, scenario, args.seeds)
    counts = collections.OrderedDict()
    runs = real_runs(args, name)
    for real in runs:
        report = suite.compare(args.simrq, name, real, sim_dirs)
        for metric in report["metrics"]:
            word = "ok" if metric["passed"] else "DIFFERS"
            counts.setdefault(metric["name"], collections.Counter())[word] += 1
    return len(runs), counts


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="scenario names (default: all)")
    parser.add_argument("--repeat", type=int, default=0, help="real runs per scenario")
    parser.add_argument("--real-roots", nargs="*", default=[],
                        help="folders of kept real runs (each holds NAME/ per scenario)")
    parser.add_argument("--seeds", type=int, default=300)
    parser.add_argument("--simrq", default=os.path.join(suite.ROOT, "target", "release",
                                                        "simrq"))
    args = parser.parse_args(argv)
    if not args.repeat and not args.real_roots:
        parser.error("give --repeat N or --real-roots DIR ...")
    print("| scenario | metric | real runs | verdicts |")
    print("|---|---|---|---|")
    flipping = 0
    for name in suite.scenario_names(args.names):
        runs, counts = tally(args, name)
        for metric, verdicts in counts.items():
            text = ", ".join("%s %d" % (word, n) for word, n in sorted(verdicts.items()))
            flipping += len(verdicts) > 1
            print("| %s | %s | %d | %s |" % (name, metric, runs, text), flush=True)
    print("\n%d metrics gave more than one verdict" % flipping)
    return 1 if flipping else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
