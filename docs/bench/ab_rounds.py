#!/usr/bin/env python3
"""Before/after comparison of two builds of rustsocket with JMH, for a change that must not slow
the hot path (the statistics counters of issue 9).

Each round runs SocketBench's RUST rows three times, pinned to one core like run_rounds.py:
the BEFORE build, the AFTER build, and the BEFORE build again (the A/A control, which shows how
far two runs of identical code differ on this machine). Ratios are taken within a round; the
summary is the median over rounds with the min..max spread.

  python3 docs/bench/ab_rounds.py --before CP --after CP [--rounds 5] [--java java] --out DIR

CP is a class path holding rustsocket's jar, SocketBench's classes and JMH.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run_rounds import jmh_command  # noqa: E402  (the shared JMH command line)

# (benchmark, size): the hot paths the counters touch (a small round trip, bulk writes) and the
# connection set-up and tear-down that registers and retires them
SCENARIOS = [("pingPong", 64, "ns"), ("bulk", 1024, "ops/s"), ("connectAcceptClose", 0, "ns")]


def run(java, cp, out_file):
    """Runs every scenario of one build, each in its own JMH fork; returns {(name, size): (score, B/op)}."""
    results = {}
    for name, size, _ in SCENARIOS:
        part = f"{out_file}.{name}{size}.json"
        cmd = jmh_command(java, cp, f"SocketBench\\.{name}$", part, ["-p", "engine=RUST"])
        if size:
            cmd += ["-p", f"size={size}"]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        with open(part) as f:
            r = json.load(f)[0]
        alloc = r.get("secondaryMetrics", {}).get("gc.alloc.rate.norm", {}).get("score", float("nan"))
        results[(name, size)] = (r["primaryMetric"]["score"], alloc)
    print("+", out_file, {k: round(v[0]) for k, v in results.items()}, flush=True)
    return results


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--before", required=True)
    ap.add_argument("--after", required=True)
    ap.add_argument("--java", default="java")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    rounds = []
    for i in range(a.rounds):
        before = run(a.java, a.before, os.path.join(a.out, f"round{i}-before.json"))
        after = run(a.java, a.after, os.path.join(a.out, f"round{i}-after.json"))
        again = run(a.java, a.before, os.path.join(a.out, f"round{i}-before-again.json"))
        rounds.append((before, after, again))
    lines = ["| scenario | unit | before | after | after / before | A/A: before again / before | heap B/op (before, after) |",
             "|---|---|---|---|---|---|---|"]
    for name, size, unit in SCENARIOS:
        key = (name, size)
        if any(key not in r[0] for r in rounds):
            continue
        ab = [r[1][key][0] / r[0][key][0] for r in rounds]
        aa = [r[2][key][0] / r[0][key][0] for r in rounds]
        label = f"{name} {size} B" if size else name
        lines.append(f"| {label} | {unit} | {statistics.median(r[0][key][0] for r in rounds):,.0f} | "
                     f"{statistics.median(r[1][key][0] for r in rounds):,.0f} | "
                     f"{statistics.median(ab):.3f} ({min(ab):.3f}..{max(ab):.3f}) | "
                     f"{statistics.median(aa):.3f} ({min(aa):.3f}..{max(aa):.3f}) | "
                     f"{statistics.median(r[0][key][1] for r in rounds):.1f}, "
                     f"{statistics.median(r[1][key][1] for r in rounds):.1f} |")
    table = "\n".join(lines)
    with open(os.path.join(a.out, "summary.md"), "w") as f:
        f.write(table + "\n")
    print(table)


if __name__ == "__main__":
    main()
