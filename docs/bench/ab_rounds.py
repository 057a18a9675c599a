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

BENCHMARKS = "SocketBench\\.(pingPong|bulk|connectAcceptClose)$"
SCENARIOS = [("pingPong", 64, "ns"), ("bulk", 1024, "ops/s"), ("bulk", 65536, "ops/s"),
             ("connectAcceptClose", 0, "ns")]


def run(java, cp, out_file):
    cmd = ["taskset", "-c", "1", java, "--enable-native-access=ALL-UNNAMED", "-cp", cp,
           "org.openjdk.jmh.Main", BENCHMARKS, "-p", "engine=RUST", "-p", "size=64,1024,65536",
           "-f", "1", "-wi", "2", "-w", "1s", "-i", "3", "-r", "1s", "-rf", "json", "-rff", out_file]
    print("+", " ".join(cmd[:6]), "...", out_file, flush=True)
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    with open(out_file) as f:
        results = {}
        for r in json.load(f):
            name = r["benchmark"].rsplit(".", 1)[1]
            size = int(r.get("params", {}).get("size", 0)) if name != "connectAcceptClose" else 0
            results[(name, size)] = r["primaryMetric"]["score"]
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
    lines = ["| scenario | unit | before | after | after / before | A/A: before again / before |",
             "|---|---|---|---|---|---|"]
    for name, size, unit in SCENARIOS:
        key = (name, size)
        if any(key not in r[0] for r in rounds):
            continue
        ab = [r[1][key] / r[0][key] for r in rounds]
        aa = [r[2][key] / r[0][key] for r in rounds]
        label = f"{name} {size} B" if size else name
        lines.append(f"| {label} | {unit} | {statistics.median(r[0][key] for r in rounds):,.0f} | "
                     f"{statistics.median(r[1][key] for r in rounds):,.0f} | "
                     f"{statistics.median(ab):.3f} ({min(ab):.3f}..{max(ab):.3f}) | "
                     f"{statistics.median(aa):.3f} ({min(aa):.3f}..{max(aa):.3f}) |")
    table = "\n".join(lines)
    with open(os.path.join(a.out, "summary.md"), "w") as f:
        f.write(table + "\n")
    print(table)


if __name__ == "__main__":
    main()
