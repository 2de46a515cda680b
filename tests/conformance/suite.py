#!/usr/bin/env python3
"""The conformance suite: each scenario against real RQ 2.12 and in simrq, compared.

    tests/conformance/.venv/bin/python tests/conformance/suite.py [NAME ...]
        [--seeds 1,2,3,4,5] [--simrq target/release/simrq] [--reuse-real]

For each scenarios/NAME.toml:
1. the real run: harness.py writes runs/NAME/real/ (skipped with --reuse-real when that
   directory already holds a jobs.csv);
2. the simulated runs: `simrq run NAME.toml --seed N --out runs/NAME/sim-N --force` per seed;
3. `simrq compare runs/NAME/real runs/NAME/sim-N --json` per seed.

Per seed, not pooled. The count metrics (executions per job, outcomes, duplicates) are exact
for every job, so every simulated seed must reproduce them on its own; pooling would hide a
seed that does not. For the time metrics the real run is one sample of a nondeterministic
system, and each seed is one plausible simulated history: a metric passes when every seed is
within tolerance of the real run, which says the real run lies inside the simulated spread.

Writes runs/fidelity.md (the Markdown table the README's Fidelity section shows) and
runs/fidelity.json, prints a text table, and exits 1 when any metric of any seed is outside
its tolerance (2 when a run could not happen at all).
"""

import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
RUNS = os.path.join(HERE, "runs")
PYTHON = os.path.join(HERE, ".venv", "bin", "python")

# Where RQ itself is nondeterministic, the takeover tolerance is widened, with the reason.
TAKEOVER_TOLERANCE_S = {
    "sigterm-midjob": (
        5.0,
        "RQ races two maintenance phases here: the stopping holder takes the lock back at its "
        "job's end if its maintenance is due by then, else the standby takes it at its next "
        "run; the phases come from each worker's Python start-up time (~1-1.5 s, varies), and "
        "real runs showed both orders (FINDINGS.md 1). Tolerance: one maintenance period (5 s)",
    ),
}


def scenario_names(requested):
    if requested:
        return requested
    folder = os.path.join(HERE, "scenarios")
    return sorted(name[:-5] for name in os.listdir(folder) if name.endswith(".toml"))


def run_real(name, scenario, reuse):
    out = os.path.join(RUNS, name, "real")
    if reuse and os.path.exists(os.path.join(out, "jobs.csv")):
        return True, 0.0
    started = time.monotonic()
    done = subprocess.run([PYTHON, os.path.join(HERE, "harness.py"), scenario, "--out", out],
                          check=False)
    return done.returncode == 0, time.monotonic() - started


def run_sim(simrq, name, scenario, seed):
    """One simulated run; its own verdict (checks) does not matter here, only its files."""
    out = os.path.join(RUNS, name, "sim-%d" % seed)
    done = subprocess.run([simrq, "run", scenario, "--seed", str(seed), "--out", out,
                           "--force", "--no-charts"],
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                          check=False)
    if done.returncode not in (0, 1):
        print("suite: simrq run %s --seed %d failed:\n%s" % (name, seed, done.stderr),
              file=sys.stderr)
        return None
    return out


# Scenarios whose retry delays are set by host timing, not RQ's logic: immediate retries wait
# the host's per-job cost of the fork-per-job worker (0.03 s idle, 0.3-1.2 s loaded), and
# short interval retries land anywhere in RQ's I-1 ... I+1 s window (floored due seconds, 1 s
# ticks at a phase set by start-up), which that cost shifts run to run (real medians 3.04 s
# and 3.79 s for the same retry-interval file). Compared by median only, within
# max(2 s, 10 %), without the KS test.
HOST_TIMED_DELAYS = {"retry-simple", "retry-interval"}


def compare(simrq, name, real_dir, sim_dir):
    argv = [simrq, "compare", real_dir, sim_dir, "--json"]
    if name in TAKEOVER_TOLERANCE_S:
        argv += ["--takeover-tolerance", str(TAKEOVER_TOLERANCE_S[name][0])]
    if name in HOST_TIMED_DELAYS:
        argv += ["--host-timed-delays"]
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode not in (0, 1):
        print("suite: simrq compare failed:\n%s" % done.stderr, file=sys.stderr)
        return None
    return json.loads(done.stdout)


def merge_seeds(reports):
    """One row per metric: the real value, the simulated values by seed, seeds passed."""
    rows = []
    for index, first in enumerate(reports[0][1]["metrics"]):
        by_value = {}
        passed = 0
        notes = []
        for seed, report in reports:
            metric = report["metrics"][index]
            by_value.setdefault(metric["sim"], []).append(seed)
            passed += bool(metric["passed"])
            if not metric["passed"] and metric["note"]:
                notes.append("seed %d: %s" % (seed, metric["note"]))
        if len(by_value) == 1:
            sim = next(iter(by_value))
        else:
            sim = "; ".join("%s (seed %s)" % (value, ",".join(map(str, seeds)))
                            for value, seeds in by_value.items())
        rows.append({"metric": first["name"], "real": first["real"], "sim": sim,
                     "tolerance": first["tolerance"], "seeds": len(reports),
                     "seeds_passed": passed, "notes": notes})
    return rows


def verdict(row):
    word = "ok" if row["seeds_passed"] == row["seeds"] else "DIFFERS"
    widened = " (tolerance widened, see below)" if row.get("widened") else ""
    return "%s (%d/%d seeds)%s" % (word, row["seeds_passed"], row["seeds"], widened)


def markdown(results, seeds, wall_s):
    lines = ["| scenario | metric | real | simulated | verdict |",
             "|---|---|---|---|---|"]
    for name, rows in results:
        for row in rows:
            cells = [name, row["metric"], row["real"], row["sim"], verdict(row)]
            lines.append("| " + " | ".join(cell.replace("|", "/") for cell in cells) + " |")
    lines.append("")
    lines.append("Seeds %s; suite wall time %.0f s." % (",".join(map(str, seeds)), wall_s))
    for name, (seconds, reason) in sorted(TAKEOVER_TOLERANCE_S.items()):
        lines.append("")
        lines.append("Widened: %s, takeover within %g s. %s." % (name, seconds, reason))
    for name in sorted(HOST_TIMED_DELAYS):
        lines.append("")
        lines.append("Widened: %s, retry delays compared by median only within 2 s (no KS "
                     "test): they are set by host timing (the fork-per-job cost, 0.03 s idle "
                     "to 1.2 s loaded, and the phase of RQ's 1 s ticks in its I-1...I+1 s "
                     "window), not RQ's logic." % name)
    return "\n".join(lines) + "\n"


def text_table(results):
    out = []
    for name, rows in results:
        out.append("== %s" % name)
        for row in rows:
            out.append("  %-27s %-13s real %s | sim %s" % (row["metric"], verdict(row),
                                                          row["real"], row["sim"]))
            out.extend("      %s" % note for note in row["notes"])
    return "\n".join(out) + "\n"


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="scenario names (default: all)")
    parser.add_argument("--seeds", default="1,2,3,4,5")
    parser.add_argument("--simrq", default=os.path.join(ROOT, "target", "release", "simrq"))
    parser.add_argument("--reuse-real", action="store_true",
                        help="keep an existing runs/NAME/real instead of running RQ again")
    return parser.parse_args(argv)


def run_one(args, seeds, name):
    """The merged rows of one scenario, or None when a run could not happen."""
    scenario = os.path.join(HERE, "scenarios", "%s.toml" % name)
    ok, real_s = run_real(name, scenario, args.reuse_real)
    if not ok:
        print("suite: real run of %s failed" % name, file=sys.stderr)
        return None
    reports = []
    for seed in seeds:
        sim_dir = run_sim(args.simrq, name, scenario, seed)
        report = sim_dir and compare(args.simrq, name, os.path.join(RUNS, name, "real"),
                                     sim_dir)
        if report is None:
            return None
        reports.append((seed, report))
    print("suite: %s done (real run %.1f s)" % (name, real_s), flush=True)
    rows = merge_seeds(reports)
    for row in rows:
        row["widened"] = ((name in TAKEOVER_TOLERANCE_S
                           and row["metric"] == "time to scheduler takeover")
                          or (name in HOST_TIMED_DELAYS
                              and row["metric"] == "retry delay distribution"))
    return rows


def main(argv):
    args = parse_args(argv)
    seeds = [int(seed) for seed in args.seeds.split(",")]
    started = time.monotonic()
    results, broken = [], []
    for name in scenario_names(args.names):
        rows = run_one(args, seeds, name)
        if rows is None:
            broken.append(name)
        else:
            results.append((name, rows))
    wall_s = time.monotonic() - started
    os.makedirs(RUNS, exist_ok=True)
    with open(os.path.join(RUNS, "fidelity.md"), "w", encoding="utf-8") as handle:
        handle.write(markdown(results, seeds, wall_s))
    with open(os.path.join(RUNS, "fidelity.json"), "w", encoding="utf-8") as handle:
        json.dump({"seeds": seeds, "wall_time_s": round(wall_s, 1),
                   "scenarios": dict(results), "broken": broken}, handle, indent=2)
    sys.stdout.write(text_table(results))
    failing = sum(1 for _, rows in results for row in rows
                  if row["seeds_passed"] < row["seeds"])
    print("suite: %d scenarios, %d metrics outside tolerance, %d runs broken, %.0f s"
          % (len(results), failing, len(broken), wall_s))
    if broken:
        return 2
    return 1 if failing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
