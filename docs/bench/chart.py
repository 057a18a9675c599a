#!/usr/bin/env python3
"""Draws docs/performance.png from build/jmh/summary.json: for every scenario, rustsocket, the
JDK and the native floor as a fraction of the best of the three (1.0 = the best; higher is better
for every bar, so latency is inverted). Usage: chart.py SUMMARY_JSON OUTPUT_PNG"""
import json
import statistics
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

HIGHER_IS_BETTER = {"bulk", "bulkRead"}


def main(summary_path, out_path):
    with open(summary_path) as f:
        rows = json.load(f)
    labels, series = [], {"rustsocket": [], "JDK": [], "native floor": []}
    for key in sorted(rows):
        name, size = key.split(":")
        row = rows[key]
        vals = {"rustsocket": statistics.median(row["rust"]), "JDK": statistics.median(row["jdk"]),
                "native floor": statistics.median(row["floor"]) if row["floor"] else None}
        if name not in HIGHER_IS_BETTER:
            vals = {k: (1.0 / v if v else None) for k, v in vals.items()}
        best = max(v for v in vals.values() if v)
        labels.append(f"{name}\n{size} B" if size != "0" else name)
        for k in series:
            series[k].append(vals[k] / best if vals[k] else 0.0)
    fig, ax = plt.subplots(figsize=(10, 4.5))
    width = 0.27
    for i, (k, vs) in enumerate(series.items()):
        ax.bar([x + (i - 1) * width for x in range(len(labels))], vs, width, label=k)
    ax.set_xticks(range(len(labels)))
    ax.set_xticklabels(labels, fontsize=8)
    ax.set_ylabel("speed relative to the best (1.0)")
    ax.set_ylim(0, 1.1)
    ax.set_title("rustsocket vs JDK sockets vs native floor (loopback, one core, median of rounds)")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(out_path, dpi=110)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
