#!/usr/bin/env python3
"""Runs UnixSocketBench (ping-pong and bulk over a Unix domain socket file) round by round.

Each round is one JMH run over the JDK's SocketChannel (direct buffers), rustsocket and the JDK
again (the A/A control), pinned to one core with taskset, on platform threads or, with
--threads virtual (JDK 21+), with JMH's benchmark thread and the peer both virtual threads.
Ratios are taken within a round; the table gives their median and spread over the rounds.
Writes <out>/round-N.json (JMH), <out>/summary.json and the table "unix-jdkNN-THREADS" of
docs/performance.md (when its markers are there; the table is printed either way).
"""
import argparse
import json
import os
import re
import shlex
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from run_rounds import jmh_command, med, spread, write_table  # noqa: E402

# benchmark -> (label, unit, how to turn a JMH score into the unit)
SCENARIOS = {
    "pingPong": ("ping-pong round trip", "ns", lambda score, size: score),
    "bulk": ("one-way bulk", "MB/s", lambda score, size: score * size / 1e6),
}


def run_round(java, classpath, out_file, threads, extra):
    if threads == "virtual":
        extra = list(extra) + ["-jvmArgsAppend", "-Djmh.executor=VIRTUAL"]
    cmd = jmh_command(java, classpath, "UnixSocketBench", out_file, extra)
    print("+", " ".join(shlex.quote(c) for c in cmd), flush=True)
    subprocess.run(cmd, check=True)
    with open(out_file) as f:
        return json.load(f)


def summarise(rounds):
    rows = {}
    for results in rounds:
        values, alloc, cpu = {}, {}, {}
        for r in results:
            name = r["benchmark"].rsplit(".", 1)[1]
            size, engine = int(r["params"]["size"]), r["params"]["engine"]
            key = (name, size, engine)
            values[key] = SCENARIOS[name][2](r["primaryMetric"]["score"], size)
            secondary = r.get("secondaryMetrics", {})
            if "gc.alloc.rate.norm" in secondary:
                alloc[key] = secondary["gc.alloc.rate.norm"]["score"]
            # the JVM's CPU time over the operations done, both summed over the measurement iterations
            cpu[key] = secondary["cpuNanos"]["score"] / secondary["ops"]["score"]
        for (name, size, engine), v in values.items():
            if engine != "RUST":
                continue
            jdk, aa = values[(name, size, "JDK")], values[(name, size, "JDK_AA")]
            row = rows.setdefault((name, size), {k: [] for k in (
                "rust", "jdk", "jdk_aa", "rust_over_jdk", "aa_over_jdk", "alloc_rust", "alloc_jdk",
                "cpu_rust", "cpu_jdk", "cpu_rust_over_jdk", "cpu_aa_over_jdk")})
            row["cpu_rust"].append(cpu[(name, size, "RUST")])
            row["cpu_jdk"].append(cpu[(name, size, "JDK")])
            row["cpu_rust_over_jdk"].append(cpu[(name, size, "RUST")] / cpu[(name, size, "JDK")])
            row["cpu_aa_over_jdk"].append(cpu[(name, size, "JDK_AA")] / cpu[(name, size, "JDK")])
            row["rust"].append(v)
            row["jdk"].append(jdk)
            row["jdk_aa"].append(aa)
            row["rust_over_jdk"].append(v / jdk)
            row["aa_over_jdk"].append(aa / jdk)
            if (name, size, "RUST") in alloc:
                row["alloc_rust"].append(alloc[(name, size, "RUST")])
                row["alloc_jdk"].append(alloc[(name, size, "JDK")])
    return rows


def markdown(rows, n_rounds, java_version, threads, load):
    lines = [
        f"Median over {n_rounds} rounds (min..max of the per-round ratio in brackets), {threads} "
        f"threads, pinned with `taskset -c 1`, on {java_version}; load average {load}. "
        "Ratio > 1 means rustsocket is better for MB/s, worse for ns. CPU: the JVM's CPU time "
        "(both ends) per operation; ratio > 1 means rustsocket uses more.",
        "",
        "| scenario | unit | rustsocket | JDK | rustsocket / JDK | A/A: JDK / JDK | "
        "CPU ns/op (rust, JDK) | CPU rust / JDK | CPU A/A: JDK / JDK |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for (name, size), row in sorted(rows.items()):
        label, unit, _ = SCENARIOS[name]
        label += f", {size} B" if name == "pingPong" else f", {size} B writes"
        lo, hi = spread(row["rust_over_jdk"])
        alo, ahi = spread(row["aa_over_jdk"])
        clo, chi = spread(row["cpu_rust_over_jdk"])
        calo, cahi = spread(row["cpu_aa_over_jdk"])
        lines.append(
            f"| {label} | {unit} | {med(row['rust']):,.0f} | {med(row['jdk']):,.0f} | "
            f"{med(row['rust_over_jdk']):.3f} ({lo:.3f}..{hi:.3f}) | "
            f"{med(row['aa_over_jdk']):.3f} ({alo:.3f}..{ahi:.3f}) | "
            f"{med(row['cpu_rust']):,.0f}, {med(row['cpu_jdk']):,.0f} | "
            f"{med(row['cpu_rust_over_jdk']):.3f} ({clo:.3f}..{chi:.3f}) | "
            f"{med(row['cpu_aa_over_jdk']):.3f} ({calo:.3f}..{cahi:.3f}) |")
    return "\n".join(lines) + "\n"


def load_average():
    with open("/proc/loadavg") as f:
        return f.read().split()[0]


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--java", default="java")
    ap.add_argument("--classpath", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--threads", choices=["platform", "virtual"], default="platform")
    ap.add_argument("--jmh-args", default="")
    ap.add_argument("--summarise-only", action="store_true",
                    help="write the table again from the round-N.json and loads.json already in --out")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    extra = shlex.split(args.jmh_args)
    rounds, loads = [], []
    loads_file = os.path.join(args.out, "loads.json")
    if args.summarise_only:
        with open(loads_file) as f:
            loads = json.load(f)
        for n in range(1, args.rounds + 1):
            with open(os.path.join(args.out, f"round-{n}.json")) as f:
                rounds.append(json.load(f))
    else:
        for n in range(1, args.rounds + 1):
            loads.append(float(load_average()))
            print(f"== round {n} of {args.rounds} ({args.threads} threads, load {loads[-1]})", flush=True)
            rounds.append(run_round(args.java, args.classpath, os.path.join(args.out, f"round-{n}.json"),
                                    args.threads, extra))
        loads.append(float(load_average()))
        with open(loads_file, "w") as f:
            json.dump(loads, f)
    rows = summarise(rounds)
    first = rounds[0][0]
    java_version = (first.get("vmName", "") + " " + first.get("jdkVersion", "")).strip()
    feature = re.match(r"\d+", first.get("jdkVersion", "0")).group(0)
    load = f"{min(loads):.1f}..{max(loads):.1f}"
    with open(os.path.join(args.out, "summary.json"), "w") as f:
        json.dump({"java": java_version, "threads": args.threads, "load": load,
                   "rows": {f"{k[0]}:{k[1]}": v for k, v in rows.items()}}, f, indent=1)
    table = markdown(rows, args.rounds, java_version, args.threads, load)
    print(table)
    try:
        write_table(f"unix-jdk{feature}-{args.threads}", table)
    except SystemExit as e:
        print(e, file=sys.stderr)


if __name__ == "__main__":
    main()
