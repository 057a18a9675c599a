#!/usr/bin/env python3
"""Before/after comparison of two builds of rustsocket with JMH, for a change that must not slow
the hot paths (first used for the statistics counters, then for the engine's reshaping).
With --after-agent JAR the AFTER side is instead plain java.net.Socket and ServerSocket under
-javaagent:JAR (the JDK rows of SocketBench, which then run on rustsocket), against RustSocket
without the agent: the agent's own cost. The agent does not cover DatagramSocket, so the
datagram scenarios are left out in that mode.

Each round runs the rustsocket rows of SocketBench and DatagramBench three times, pinned to one
core like run_rounds.py: the BEFORE build, the AFTER build, and the BEFORE build again (the A/A
control, which shows how far two runs of identical code differ on this machine). Ratios are
taken within a round; the summary is the median over rounds with the min..max spread.

  python3 docs/bench/ab_rounds.py --before CP --after CP [--rounds 5] [--java java] --out DIR
  python3 docs/bench/ab_rounds.py --before CP --after CP --after-agent JAR [--only LABEL]... --out DIR

CP is a class path holding rustsocket's jar, the JMH benchmark classes and JMH.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run_rounds import jmh_command  # noqa: E402  (the shared JMH command line)

# (label, JMH benchmark regex, JMH parameters, unit): every scenario of docs/performance.md's
# tables, rustsocket's rows only
SCENARIOS = [
    ("pingPong 64 B", r"SocketBench\.pingPong$", {"engine": "RUST", "size": "64"}, "ns"),
    ("pingPong 4096 B", r"SocketBench\.pingPong$", {"engine": "RUST", "size": "4096"}, "ns"),
    ("bulk 1024 B", r"SocketBench\.bulk$", {"engine": "RUST", "size": "1024"}, "ops/s"),
    ("bulk 8192 B", r"SocketBench\.bulk$", {"engine": "RUST", "size": "8192"}, "ops/s"),
    ("bulk 65536 B", r"SocketBench\.bulk$", {"engine": "RUST", "size": "65536"}, "ops/s"),
    ("bulk 1048576 B", r"SocketBench\.bulk$", {"engine": "RUST", "size": "1048576"}, "ops/s"),
    ("bulkRead 65536 B", r"SocketBench\.bulkRead$", {"engine": "RUST", "size": "65536"}, "ops/s"),
    ("bulkRead 1048576 B", r"SocketBench\.bulkRead$", {"engine": "RUST", "size": "1048576"}, "ops/s"),
    ("connectAcceptClose", r"SocketBench\.connectAcceptClose$", {"engine": "RUST"}, "ns"),
    ("available", r"SocketBench\.available$", {"engine": "RUST"}, "ns"),
    ("datagrams one by one", r"DatagramBench\.oneByOne$", {"engine": "RUST"}, "ops/s"),
    ("datagrams batched", r"DatagramBench\.batched$", {}, "ops/s"),
]


def run(java, cp, out_file, only, agent=None):
    """Runs every scenario of one build, each in its own JMH fork; returns {label: (score, B/op)}.
    With agent (the library jar), runs the JDK's classes under -javaagent instead of RustSocket."""
    results = {}
    for label, bench, params, _ in SCENARIOS:
        if (only and label not in only) or (agent and not bench.startswith("SocketBench")):
            continue
        part = f"{out_file}.{label.replace(' ', '_')}.json"
        extra = []
        for k, v in params.items():
            extra += ["-p", f"{k}={'JDK' if agent and k == 'engine' else v}"]
        if agent:
            # SocketBench refuses to run its JDK rows if the agent did not take over
            extra += ["-jvmArgsAppend", f"-javaagent:{agent}=required=true -Dio.rustsocket.bench.underAgent=true"]
        cmd = jmh_command(java, cp, bench, part, extra)
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        with open(part) as f:
            r = json.load(f)[0]
        alloc = r.get("secondaryMetrics", {}).get("gc.alloc.rate.norm", {}).get("score", float("nan"))
        results[label] = (r["primaryMetric"]["score"], alloc)
    print("+", out_file, {k: round(v[0]) for k, v in results.items()}, flush=True)
    return results


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--before", required=True)
    ap.add_argument("--after", required=True)
    ap.add_argument("--java", default="java")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--out", required=True)
    ap.add_argument("--only", action="append", default=[], help="a scenario label to run (repeatable)")
    ap.add_argument("--after-agent", metavar="JAR",
                    help="AFTER runs java.net.Socket under -javaagent:JAR instead of RustSocket")
    a = ap.parse_args()
    if a.after_agent and not a.only:
        # both sides run the same scenarios: the ones the agent covers
        a.only = [label for label, bench, _, _ in SCENARIOS if bench.startswith("SocketBench")]
    os.makedirs(a.out, exist_ok=True)
    rounds = []
    for i in range(a.rounds):
        before = run(a.java, a.before, os.path.join(a.out, f"round{i}-before.json"), a.only)
        after = run(a.java, a.after, os.path.join(a.out, f"round{i}-after.json"), a.only, a.after_agent)
        again = run(a.java, a.before, os.path.join(a.out, f"round{i}-before-again.json"), a.only)
        rounds.append((before, after, again))
    before_name, after_name = ("RustSocket", "Socket under the agent") if a.after_agent else ("before", "after")
    lines = [f"| scenario | unit | {before_name} | {after_name} | {after_name} / {before_name} | "
             f"A/A: {before_name} again / {before_name} | heap B/op ({before_name}, {after_name}) |",
             "|---|---|---|---|---|---|---|"]
    for label, _, _, unit in SCENARIOS:
        if any(label not in r[0] for r in rounds):
            continue
        ab = [r[1][label][0] / r[0][label][0] for r in rounds]
        aa = [r[2][label][0] / r[0][label][0] for r in rounds]
        lines.append(f"| {label} | {unit} | {statistics.median(r[0][label][0] for r in rounds):,.0f} | "
                     f"{statistics.median(r[1][label][0] for r in rounds):,.0f} | "
                     f"{statistics.median(ab):.3f} ({min(ab):.3f}..{max(ab):.3f}) | "
                     f"{statistics.median(aa):.3f} ({min(aa):.3f}..{max(aa):.3f}) | "
                     f"{statistics.median(r[0][label][1] for r in rounds):.1f}, "
                     f"{statistics.median(r[1][label][1] for r in rounds):.1f} |")
    table = "\n".join(lines)
    with open(os.path.join(a.out, "summary.md"), "w") as f:
        f.write(table + "\n")
    print(table)


if __name__ == "__main__":
    main()
