#!/usr/bin/env python3
"""Runs the datagram benchmark (DatagramBench) round by round and summarises it.

Sibling of run_rounds.py for UDP. Each round is one JMH run, pinned to one core with taskset,
that measures 64 B datagrams per second sent and received one by one on the JDK's
DatagramSocket, on RustDatagramSocket and on the JDK again (the A/A control), and batched on
RustDatagramSocket (sendmmsg/recvmmsg), after the native floor (native/examples/udp_floor.rs:
the same bursts in plain Rust, no JVM). Ratios are taken within a round and reported as the
median over rounds with their spread. Writes <out>/round-N.json, <out>/floor-N.json,
<out>/summary.json and the "datagram" table of docs/performance.md.
"""
import argparse
import fcntl
import json
import os
import shlex
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import run_rounds  # noqa: E402  (the shared floor runner and JMH command line)
from run_rounds import jmh_command, write_table  # noqa: E402


def wait_for_jmh_lock():
    """Waits while another JMH run holds its lock: two benchmarks on one pinned core would
    measure each other."""
    path = os.path.join(os.environ.get("TMPDIR", "/tmp"), "jmh.lock")
    while True:
        try:
            with open(path, "a") as f:
                fcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                fcntl.lockf(f, fcntl.LOCK_UN)
                return
        except (BlockingIOError, PermissionError):
            print("another JMH run holds the lock; waiting", flush=True)
            time.sleep(5)


def run_jmh(java, classpath, out_file, extra):
    cmd = jmh_command(java, classpath, "DatagramBench", out_file, extra)
    print("+", " ".join(shlex.quote(c) for c in cmd), flush=True)
    while True:
        wait_for_jmh_lock()
        run = subprocess.run(cmd, capture_output=True, text=True)
        print(run.stdout, run.stderr, sep="", flush=True)
        if run.returncode == 0:
            break
        if "Unable to acquire the JMH lock" not in run.stdout + run.stderr:
            raise SystemExit(f"JMH failed with exit code {run.returncode}")
        time.sleep(5)  # another run took the lock between our check and our start
    with open(out_file) as f:
        return json.load(f)


def run_floor(floor, seconds):
    """{scenario: value} of one native floor run."""
    return {f["scenario"]: f["value"] for f in run_rounds.run_floor(floor, seconds)}


def per_round(jmh):
    """{row: (datagrams/s, heap B per datagram)} for one round."""
    rows = {}
    for r in jmh:
        name = r["benchmark"].rsplit(".", 1)[1]
        key = "RUST_BATCHED" if name == "batched" else r["params"]["engine"]
        norm = r.get("secondaryMetrics", {}).get("gc.alloc.rate.norm", {}).get("score")
        rows[key] = (r["primaryMetric"]["score"], norm)
    return rows


def summarise(rounds, java_version):
    """(summary for summary.json, Markdown table) of the per-round rows."""
    labels = {"JDK": "JDK `DatagramSocket`, one by one",
              "JDK_AA": "JDK again (A/A control), one by one",
              "RUST": "`RustDatagramSocket`, one by one",
              "RUST_BATCHED": "`RustDatagramSocket`, batches of 32 (sendmmsg/recvmmsg)",
              "FLOOR_ONE": "native floor (Rust, no JVM), one by one",
              "FLOOR_BATCHED": "native floor (Rust, no JVM), batches of 32"}
    summary = {}
    lines = [f"Median over {len(rounds)} rounds of 64 B datagrams per second (sent and received), "
             f"pinned with `taskset -c 1`, on {java_version}; per-round ratio to the JDK row of "
             "the same round, median (min..max).", "",
             "| row | datagrams/s | ratio to JDK | heap B/datagram |", "|---|---|---|---|"]
    for key in ["JDK", "JDK_AA", "RUST", "RUST_BATCHED", "FLOOR_ONE", "FLOOR_BATCHED"]:
        values = [r[key][0] for r in rounds]
        ratios = [r[key][0] / r["JDK"][0] for r in rounds]
        allocs = [r[key][1] for r in rounds if r[key][1] is not None]
        summary[key] = {"values": values, "ratios": ratios, "alloc": allocs}
        alloc = f"{statistics.median(allocs):.2f}" if allocs else "-"
        lines.append(f"| {labels[key]} | {statistics.median(values):,.0f} | "
                     f"{statistics.median(ratios):.2f} ({min(ratios):.2f}..{max(ratios):.2f}) | {alloc} |")
    return summary, "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--java", default="java")
    ap.add_argument("--classpath", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--floor", required=True)
    ap.add_argument("--floor-seconds", type=float, default=2.0)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--jmh-args", default="")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    extra = shlex.split(args.jmh_args)
    rounds = []
    for n in range(1, args.rounds + 1):
        print(f"== round {n} of {args.rounds}: native floor", flush=True)
        wait_for_jmh_lock()
        floor = run_floor(args.floor, args.floor_seconds)
        with open(os.path.join(args.out, f"floor-{n}.json"), "w") as f:
            json.dump(floor, f, indent=1)
        print(f"== round {n} of {args.rounds}: JMH", flush=True)
        jmh = run_jmh(args.java, args.classpath, os.path.join(args.out, f"round-{n}.json"), extra)
        rows = per_round(jmh)
        rows["FLOOR_ONE"] = (floor["oneByOne"], None)
        rows["FLOOR_BATCHED"] = (floor["batched"], None)
        rounds.append((jmh, rows))
    java_version = (rounds[0][0][0].get("vmName", "") + " " + rounds[0][0][0].get("jdkVersion", "")).strip()
    summary, table = summarise([rows for _, rows in rounds], java_version)
    with open(os.path.join(args.out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)
    print(table)
    write_table("datagram", table)


if __name__ == "__main__":
    main()
