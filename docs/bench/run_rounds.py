#!/usr/bin/env python3
"""Runs the benchmark suite round by round and summarises it.

Each round runs the native floor (plain Rust sockets, no JVM), then the JMH benchmarks for the
JDK, rustsocket and the JDK again (the A/A control), all pinned to one core with taskset. Ratios
are taken within a round, where both sides met the same machine conditions; the report gives
their median and spread over the rounds. Writes <out>/round-N.json (JMH), <out>/floor-N.json,
<out>/summary.json and the "tcp" table of docs/performance.md; docs/bench/chart.py draws
docs/performance.png.
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
DOCS = os.path.dirname(HERE)

# benchmark -> (label, unit, higher_is_better, how to turn a JMH score into the unit)
SCENARIOS = {
    "pingPong": ("ping-pong round trip", "ns", False, lambda score, size: score),
    "bulk": ("one-way bulk transfer", "MB/s", True, lambda score, size: score * size / 1e6),
    "bulkRead": ("one-way bulk, read side", "MB/s", True, lambda score, size: score * size / 1e6),
    "connectAcceptClose": ("connect + accept + close", "ns", False, lambda score, size: score),
    "available": ("one cheap native call (available())", "ns", False, lambda score, size: score),
}


def write_table(name, table, path=os.path.join(DOCS, "performance.md")):
    """Puts a generated table into docs/performance.md: it replaces what stands between the lines
    '<!-- begin table: NAME ... -->' and '<!-- end table: NAME -->', so the prose around the table,
    written by hand, stays as it is."""
    with open(path) as f:
        text = f.read()
    begin = re.search(r"^<!-- begin table: " + re.escape(name) + r"\b.*-->\n", text, re.M)
    end = re.search(r"^<!-- end table: " + re.escape(name) + r" -->\n", text, re.M)
    if not begin or not end or end.start() < begin.end():
        raise SystemExit(f"{path} has no markers for the {name} table; it was not updated")
    with open(path, "w") as f:
        f.write(text[:begin.end()] + table + text[end.start():])


def run_floor(floor, seconds):
    out = subprocess.run(["taskset", "-c", "1", floor, str(seconds)], check=True,
                         capture_output=True, text=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def jmh_command(java, classpath, benchmark, out_file, extra=()):
    """The JMH command line every benchmark script here runs: pinned to core 1, gc profiler, JSON
    results in out_file, with the default fork and iteration settings."""
    # JMH refuses a repeated option, so extra arguments override these defaults instead of adding to them
    options = {"-f": "1", "-wi": "2", "-w": "1s", "-i": "3", "-r": "1s"}
    rest, i = [], 0
    while i < len(extra):
        if extra[i] in options and i + 1 < len(extra):
            options[extra[i]] = extra[i + 1]
            i += 2
        else:
            rest.append(extra[i])
            i += 1
    cmd = ["taskset", "-c", "1", java, "--enable-native-access=ALL-UNNAMED", "-cp", classpath,
           "org.openjdk.jmh.Main", benchmark, "-prof", "gc", "-rf", "json", "-rff", out_file]
    for k, v in options.items():
        cmd += [k, v]
    return cmd + rest


# JMH takes a regular expression: a bare "SocketBench" would also run UnixSocketBench, whose
# methods have the same names (its own table is written by the jmhUnix task)
TCP_BENCHMARKS = r"^io\.rustsocket\.bench\.SocketBench\."


def run_jmh(java, classpath, out_file, extra):
    cmd = jmh_command(java, classpath, TCP_BENCHMARKS, out_file, extra)
    print("+", " ".join(shlex.quote(c) for c in cmd), flush=True)
    subprocess.run(cmd, check=True)
    with open(out_file) as f:
        return json.load(f)


def key_of(result):
    name = result["benchmark"].rsplit(".", 1)[1]
    params = result.get("params", {})
    return name, int(params.get("size", 0)), params["engine"]


def summarise(rounds, floors):
    """rows[(scenario, size)] = per-round values and ratios."""
    rows = {}
    for jmh, floor in zip(rounds, floors):
        values, alloc = {}, {}
        for r in jmh:
            if not re.match(TCP_BENCHMARKS, r["benchmark"]):
                continue  # results of other classes, in runs made before the pattern was anchored
            name, size, engine = key_of(r)
            convert = SCENARIOS[name][3]
            values[(name, size, engine)] = convert(r["primaryMetric"]["score"], size)
            norm = r.get("secondaryMetrics", {}).get("gc.alloc.rate.norm")
            if norm is not None:
                alloc[(name, size, engine)] = norm["score"]
        floor_values = {(f["scenario"], int(f["param"])): f["value"] for f in floor}
        for (name, size, engine), v in values.items():
            if engine != "RUST":
                continue
            jdk = values[(name, size, "JDK")]
            aa = values[(name, size, "JDK_AA")]
            row = rows.setdefault((name, size), {"rust": [], "jdk": [], "jdk_aa": [], "floor": [],
                                                  "rust_over_jdk": [], "aa_over_jdk": [],
                                                  "alloc_rust": [], "alloc_jdk": []})
            row["rust"].append(v)
            row["jdk"].append(jdk)
            row["jdk_aa"].append(aa)
            row["rust_over_jdk"].append(v / jdk)
            row["aa_over_jdk"].append(aa / jdk)
            if (name, size) in floor_values:
                row["floor"].append(floor_values[(name, size)])
            if (name, size, "RUST") in alloc:
                row["alloc_rust"].append(alloc[(name, size, "RUST")])
                row["alloc_jdk"].append(alloc[(name, size, "JDK")])
    return rows


def med(xs):
    return statistics.median(xs) if xs else None


def spread(xs):
    return (min(xs), max(xs)) if xs else (None, None)


def markdown(rows, n_rounds, java_version):
    lines = [
        f"Median over {n_rounds} rounds (min..max of the per-round ratio in brackets); "
        "each round measures the native floor, the JDK, rustsocket and the JDK again (A/A), "
        f"pinned with `taskset -c 1`, on {java_version}. Ratio > 1 means rustsocket is better "
        "for MB/s, worse for ns.",
        "",
        "| scenario | unit | rustsocket | JDK | native floor | rustsocket / JDK | A/A: JDK / JDK | "
        "rustsocket / floor | JDK / floor | heap B/op (rust, JDK) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for (name, size), row in sorted(rows.items()):
        label, unit, _, _ = SCENARIOS[name]
        if size:
            label += {"bulk": f", {size} B writes", "bulkRead": f", {size} B reads"}.get(name, f", {size} B")
        r, j, f = med(row["rust"]), med(row["jdk"]), med(row["floor"])
        lo, hi = spread(row["rust_over_jdk"])
        alo, ahi = spread(row["aa_over_jdk"])
        alloc = "-"
        if row["alloc_rust"]:
            alloc = f"{med(row['alloc_rust']):.1f}, {med(row['alloc_jdk']):.1f}"
        floor_cells = ("-", "-", "-")
        if f:
            floor_cells = (f"{f:,.0f}", f"{r / f:.3f}", f"{j / f:.3f}")
        lines.append(
            f"| {label} | {unit} | {r:,.0f} | {j:,.0f} | {floor_cells[0]} | "
            f"{med(row['rust_over_jdk']):.3f} ({lo:.3f}..{hi:.3f}) | "
            f"{med(row['aa_over_jdk']):.3f} ({alo:.3f}..{ahi:.3f}) | {floor_cells[1]} | {floor_cells[2]} | {alloc} |")
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--java", default="java")
    ap.add_argument("--classpath", required=True)
    ap.add_argument("--floor", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--floor-seconds", type=float, default=2.0)
    ap.add_argument("--jmh-args", default="")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    extra = shlex.split(args.jmh_args)
    rounds, floors = [], []
    for n in range(1, args.rounds + 1):
        print(f"== round {n} of {args.rounds}: native floor", flush=True)
        floor = run_floor(args.floor, args.floor_seconds)
        with open(os.path.join(args.out, f"floor-{n}.json"), "w") as f:
            json.dump(floor, f, indent=1)
        print(f"== round {n} of {args.rounds}: JMH", flush=True)
        rounds.append(run_jmh(args.java, args.classpath, os.path.join(args.out, f"round-{n}.json"), extra))
        floors.append(floor)
    rows = summarise(rounds, floors)
    java_version = rounds[0][0].get("vmName", "") + " " + rounds[0][0].get("jdkVersion", "")
    with open(os.path.join(args.out, "summary.json"), "w") as f:
        json.dump({f"{k[0]}:{k[1]}": v for k, v in rows.items()}, f, indent=1)
    table = markdown(rows, args.rounds, java_version.strip())
    print(table)
    write_table("tcp", table)
    chart = subprocess.run([sys.executable, os.path.join(HERE, "chart.py"),
                            os.path.join(args.out, "summary.json"), os.path.join(DOCS, "performance.png")])
    if chart.returncode != 0:
        print("chart not drawn (pip install matplotlib, then run docs/bench/chart.py)", file=sys.stderr)


if __name__ == "__main__":
    main()
