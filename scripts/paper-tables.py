#!/usr/bin/env python3
"""Our side of REPRODUCTION.md's tables, from a results folder of scenarios/paper.toml.

Usage: python3 scripts/paper-tables.py RESULTS_DIR [--criterion target/criterion]

Prints markdown: one table per table of the paper, with our measured numbers (mean over
repetitions with the half-width of its 95 % t-interval where there are several). The numbers
are the report's own: this reads RESULTS_DIR/report/means.csv, which `gilbench report
RESULTS_DIR` writes (scripts/reproduce-paper runs it), and only lays them out the way the
paper's tables are laid out, so that they can be set side by side. Standard library only.
"""
import argparse
import csv
import json
import math
import os
import statistics
import sys
from collections import defaultdict

# The means.csv column that holds each points.csv column this script asks for, where the
# names differ (the mean of tps, the largest P99); the others keep their names.
COLUMN = {"tps": "tps_mean", "lat_p99_ms": "lat_p99_max_ms"}


def num(x):
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


class Point:
    """One (device, runtime, workload, strategy, threads): a row of means.csv."""

    def __init__(self, m):
        self.m = m
        self.reps, self.reps_ok = int(m["reps"]), int(m["reps_ok"])
        self.ok = self.reps_ok > 0
        self.status = sorted(set(m["not_ok"].split("+")) - {""}) if not self.ok else ["ok"]

    def mean(self, col):
        return num(self.m[COLUMN.get(col, col)])

    def ci(self, col):
        lo, hi = num(self.m[f"{col}_ci_low"]), num(self.m[f"{col}_ci_high"])
        return None if lo is None or hi is None else (hi - lo) / 2

    def max(self, col):
        return num(self.m[COLUMN[col]])

    def steady(self):
        """steady_tps where the points have it (elastic pools), else tps; as the report."""
        return num(self.m["steady_tps_mean"])

    def fmt(self, col, digits=0):
        m = self.mean(col)
        if m is None:
            return "/".join(self.status) or "-"
        c = self.ci(col)
        s = f"{m:,.{digits}f}"
        return s + (f" ± {c:,.{digits}f}" if c is not None else "")


def load(path):
    with open(path, newline="") as f:
        return {(m["device"], m["runtime"], m["workload"], m["strategy"], int(m["threads"])): Point(m)
                for m in csv.DictReader(f)}


def curve(pts, device, runtime, workload, strategy="fixed"):
    return {k[4]: p for k, p in pts.items() if k[:4] == (device, runtime, workload, strategy)}


def elastic(pts, device, runtime, workload, strategy):
    c = curve(pts, device, runtime, workload, strategy)
    return c.get(0)


def best(c):
    ok = {n: p for n, p in c.items() if p.mean("tps") is not None}
    if not ok:
        return None, None
    n = max(ok, key=lambda n: ok[n].mean("tps"))
    return n, ok[n]


def cpus(pts, device):
    v = {p.m["cpus"] for (d, *_), p in pts.items() if d == device}
    return "/".join(sorted(v))


def pct(x):
    return "-" if x is None else f"{100 * x:.1f} %"


def cliff_tables(pts):
    print("## Saturation cliff (paper-micro, fixed pool)\n")
    for device in ("paper-1c", "paper-4c"):
        for runtime in ("gil", "free-threaded"):
            c = curve(pts, device, runtime, "paper-micro")
            if not c:
                continue
            n_best, pb = best(c)
            print(f"### {device} ({cpus(pts, device)} cpus), {runtime}\n")
            print("| N | TPS (mean ± 95 % CI) | P99 ms (largest of the repetitions) | reps ok |")
            print("|---:|---:|---:|---:|")
            for n in sorted(c):
                p = c[n]
                p99 = p.max("lat_p99_ms")
                mark = " (peak)" if n == n_best else ""
                print(f"| {n}{mark} | {p.fmt('tps')} | {'-' if p99 is None else f'{p99:.1f}'} | {p.reps_ok}/{p.reps} |")
            last = max(c)
            loss = c[last].mean("tps") / pb.mean("tps") - 1 if pb and c[last].mean("tps") else None
            print(f"\nPeak N = {n_best} ({pb.mean('tps'):,.0f} TPS); at N = {last}: "
                  f"{'-' if loss is None else f'{100 * loss:+.1f} %'} from peak.\n")
    for device in ("paper-1c", "paper-4c"):
        c = curve(pts, device, "gil", "pure-io")
        if c:
            cells = ", ".join(f"N={n}: {c[n].fmt('tps')}" for n in sorted(c) if n in (1, 32, 256, 2048))
            print(f"Pure I/O control, {device}, gil: {cells} TPS.\n")


def strategies_table(pts):
    print("## Strategies, single core (paper-micro-10s, gil)\n")
    c = curve(pts, "paper-1c", "gil", "paper-micro-10s")
    if not c:
        print("(not in this run)\n")
        return
    n_best, pb = best(c)
    rows = [("static naive 256", c.get(256)), (f"static optimal {n_best}", pb)]
    for s in ("adaptive-paper", "adaptive-betapool", "adaptive"):
        rows.append((s, elastic(pts, "paper-1c", "gil", "paper-micro-10s", s)))
    base = pb.mean("tps")
    print("| strategy | TPS (steady for controllers) | efficiency | P99 ms | mean beta | lock wait | run-queue wait | final N (mean N) | vetoes |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, p in rows:
        if p is None or not p.ok:
            print(f"| {name} | {'-' if p is None else '/'.join(p.status)} | | | | | | | |")
            continue
        tps = p.steady()
        eff = tps / base if base else None
        fn, mn = p.mean("final_threads"), p.mean("mean_threads")
        nn = f"{fn:.0f} ({mn:.0f})" if fn else "-"
        vet = p.mean("vetoes")
        print(f"| {name} | {tps:,.0f} | {pct(eff)} | {p.max('lat_p99_ms'):.1f} | {p.mean('beta_mean'):.2f} | "
              f"{p.mean('lock_wait_frac'):.2f} | {p.mean('runq_wait_frac'):.2f} | {nn} | {'-' if vet is None else f'{vet:.0f}'} |")
    print()


def baselines_table(pts):
    print("## Baselines (agent-orchestration: 10 ms JSON holding the lock, 50 ms I/O; paper-1c, gil)\n")
    print("| strategy | N | TPS | P99 ms | memory MB (PSS for processes, RSS for threads) |")
    print("|---|---:|---:|---:|---:|")
    for s in ("fixed", "async", "queue-scaler", "process"):
        c = curve(pts, "paper-1c", "gil", "agent-orchestration", s)
        for n in sorted(c):
            if s == "fixed" and n not in (32, 128, 256):
                continue
            p = c[n]
            if not p.ok:
                print(f"| {s} | {n} | {'/'.join(p.status)} | | |")
                continue
            mem = p.mean("pss_mb") if s == "process" else p.mean("peak_rss_mb")
            nn = f"settled {p.mean('final_threads'):.0f}" if n == 0 else str(n)
            print(f"| {s} | {nn} | {p.fmt('tps')} | {p.max('lat_p99_ms'):.1f} | {'-' if mem is None else f'{mem:.0f}'} |")
    print()


def mix_table(pts):
    print("## Optimal N by CPU/I-O mix (paper-1c, gil)\n")
    print("| mix | best N | TPS at best | N within 5 % of the best |")
    print("|---|---:|---:|---|")
    for w in ("mix-io-heavy", "mix-io-dominant", "mix-balanced", "mix-cpu-leaning", "mix-cpu-heavy"):
        c = curve(pts, "paper-1c", "gil", w)
        if not c:
            continue
        n, p = best(c)
        near = [k for k in sorted(c) if c[k].mean("tps") and c[k].mean("tps") >= 0.95 * p.mean("tps")]
        print(f"| {w} | {n} | {p.fmt('tps')} | {', '.join(map(str, near))} |")
    print()


def threshold_table(pts):
    print("## beta_thresh sensitivity (adaptive-paper, agent-orchestration, paper-1c, gil)\n")
    # The default threshold (0.3) carries no parameter in its label.
    rows = sorted((k[3].replace("adaptive-paper", "adaptive-paper{beta_thresh=0.3}") if k[3] == "adaptive-paper" else k[3], p)
                  for k, p in pts.items()
                  if k[:3] == ("paper-1c", "gil", "agent-orchestration")
                  and (k[3] == "adaptive-paper" or k[3].startswith("adaptive-paper{")))
    if not rows:
        print("(not in this run)\n")
        return
    print("| strategy | steady TPS | final N | vetoes |")
    print("|---|---:|---:|---:|")
    vals = []
    for s, p in rows:
        t = p.steady()
        vals.append(t)
        print(f"| {s} | {t:,.1f} | {p.mean('final_threads'):.0f} | {p.mean('vetoes'):.0f} |")
    lo, hi = min(vals), max(vals)
    print(f"\nSpread: the worst threshold is {100 * (1 - lo / hi):.1f} % below the best.\n")


def seven_table(pts):
    print("## Seven workloads: efficiency against the best fixed pool (gil)\n")
    ws = ["sensor-telemetry", "agent-orchestration", "rag-pipeline", "vision-mobilenetv2",
          "speech-features", "native-compute", "bursty-gateway"]
    ctl = ["adaptive-paper", "adaptive-betapool", "adaptive"]
    print("| device | workload | best fixed N (TPS) | " + " | ".join(f"{s} eff / P99 x / vetoes" for s in ctl) + " |")
    print("|---|---|---:|" + "---:|" * len(ctl))
    effs = defaultdict(list)
    for device in ("paper-1c", "paper-4c"):
        for w in ws:
            c = curve(pts, device, "gil", w)
            if not c:
                continue
            n, pb = best(c)
            if pb is None:
                continue
            cells = []
            for s in ctl:
                p = elastic(pts, device, "gil", w, s)
                if p is None or not p.ok:
                    cells.append("-" if p is None else "/".join(p.status))
                    continue
                eff = p.steady() / pb.mean("tps")
                effs[s].append(eff)
                p99x = p.max("lat_p99_ms") / pb.max("lat_p99_ms")
                cells.append(f"{pct(eff)} / {p99x:.2f}x / {p.mean('vetoes'):.0f}")
            print(f"| {device} | {w} | {n} ({pb.mean('tps'):,.1f}) | " + " | ".join(cells) + " |")
    print()
    for s in ctl:
        v = effs[s]
        if v:
            print(f"- {s}: mean {pct(statistics.fmean(v))}, median {pct(statistics.median(v))}, "
                  f"min {pct(min(v))}, >= 98 % in {sum(e >= 0.98 for e in v)}/{len(v)}")
    print()


def gil_vs_ft(pts):
    print("## GIL against free-threaded (fixed pool)\n")
    print("| device (cpus) | workload | N | gil TPS | free-threaded TPS | ratio |")
    print("|---|---|---:|---:|---:|---:|")
    for device in ("paper-1c", "paper-4c"):
        for w, n in (("agent-orchestration", 32), ("paper-micro", 32), ("paper-micro", 2048)):
            g = curve(pts, device, "gil", w).get(n)
            f = curve(pts, device, "free-threaded", w).get(n)
            if not g or not f or not g.mean("tps") or not f.mean("tps"):
                continue
            print(f"| {device} ({cpus(pts, device)}) | {w} | {n} | {g.fmt('tps', 1)} | {f.fmt('tps', 1)} | "
                  f"{f.mean('tps') / g.mean('tps'):.2f}x |")
    print()


def criterion(folder):
    print("## Instrumentation (criterion, ns: mean / median)\n")
    rows = []
    for root, _, files in os.walk(folder):
        if "estimates.json" in files and os.path.basename(root) == "new":
            name = os.path.relpath(os.path.dirname(root), folder)
            with open(os.path.join(root, "estimates.json")) as f:
                e = json.load(f)
            rows.append((name, e["mean"]["point_estimate"], e["median"]["point_estimate"]))
    if not rows:
        print(f"(no criterion output under {folder})\n")
        return
    print("| benchmark | mean ns | median ns |")
    print("|---|---:|---:|")
    for name, mean, med in sorted(rows):
        print(f"| {name} | {mean:.1f} | {med:.1f} |")
    print()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("results")
    ap.add_argument("--criterion", default=None, help="criterion folder (e.g. target/criterion)")
    a = ap.parse_args()
    means = os.path.join(a.results, "report", "means.csv")
    if not os.path.exists(means):
        sys.exit(f"paper-tables: no {means}: run `gilbench report {a.results}` first "
                 "(scripts/reproduce-paper runs it)")
    pts = load(means)
    for f in (cliff_tables, strategies_table, baselines_table, mix_table, threshold_table,
              seven_table, gil_vs_ft):
        f(pts)
    if a.criterion:
        criterion(a.criterion)


if __name__ == "__main__":
    main()
