#!/usr/bin/env python3
"""Where a perf profile of a simrq run spends its time, layer by layer.

    tools/perf-layers.py PERF_DATA [--top N]

Sums perf's self-time samples by the layer a symbol belongs to (its module path, or the
allocator, libc's memory routines, hash tables, the operating system) and prints the layers,
then the top N symbols. `tools/profile.sh` records the data.
"""
import argparse
import re
import subprocess
from collections import defaultdict

# First match wins: the allocator and libc's routines are counted apart from their callers,
# as perf's self time attributes them.
LAYERS = [
    ("allocator", r"\bmi_|_mi_|__rust_alloc|__rust_dealloc|__rust_realloc|simrq::alloc|malloc|\bfree\b"),
    ("memcpy, memset, memcmp", r"memmove|memcpy|memset|memcmp"),
    ("kernel: event queue and processes (src/sim)", r"simrq::sim::|BinaryHeap|binary_heap"),
    ("network and client (src/net)", r"simrq::net::"),
    ("Redis model (src/redis)", r"simrq::redis::"),
    ("RQ processes (src/rq, workload, cluster)", r"simrq::rq::|simrq::workload|simrq::cluster"),
    ("events, checks, reports", r"simrq::event|simrq::check|simrq::report|simrq::jobs"),
    ("hash tables", r"hashbrown|HashMap|hash::"),
    ("charts (fixed cost)", r"plotters|tiny_skia|resvg|usvg|png::|fdeflate|ttf_parser|fontdb"),
    ("operating system", r"\[k\]"),
]
SAMPLE = re.compile(r"\s+([0-9.]+)%\s+(\S+)\s+(\[.\])\s+(.*\S)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    report = subprocess.run(
        ["perf", "report", "-i", args.data, "--no-children", "--sort", "dso,symbol",
         "--stdio", "-g", "none"],
        capture_output=True, text=True, check=True).stdout
    layers = defaultdict(float)
    symbols = []
    for line in report.splitlines():
        sample = SAMPLE.match(line)
        if not sample:
            continue
        share, kind, symbol = float(sample.group(1)), sample.group(3), sample.group(4)
        symbols.append((share, symbol))
        name = next((name for name, rule in LAYERS if re.search(rule, f"{kind} {symbol}")),
                    "other (std, core, dependencies)")
        layers[name] += share
    print("self time by layer")
    for name, share in sorted(layers.items(), key=lambda item: -item[1]):
        print(f"  {share:6.2f} %  {name}")
    print(f"top {args.top} symbols")
    for share, symbol in symbols[:args.top]:
        print(f"  {share:6.2f} %  {symbol[:110]}")


if __name__ == "__main__":
    main()
