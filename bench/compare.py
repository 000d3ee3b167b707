#!/usr/bin/env python3
"""tile32 vs oneDNN GEMM table from Google Benchmark JSON (python3 standard library only).

    build/bench/tile32_bench --benchmark_filter='^gemm/' --benchmark_format=json > gemm.json
    python3 bench/compare.py gemm.json            # or: ... --benchmark_format=json | python3 bench/compare.py

Prints a markdown table, one row per shape x dtype x threads: tile32 GMAC/s, oneDNN GMAC/s, their ratio
(tile32 / oneDNN), and tile32 as a fraction of the int8 VNNI peak, 378 GMAC/s per core times the thread
count: vpdpbusd zmm on the Xeon AVX-512 VNNI machine kind of /work/shared/BRIEF.md section 3. The host
that produced the JSON may be a different CPU (its name is not in the JSON; the SIMD target and the
oneDNN kernel of each run are, in the labels, and are listed under the table). The same peak is used for
every dtype so that columns compare; the int16 and bf16 instruction peaks are lower (BRIEF.md section 3).
With --benchmark_repetitions, the median of the repetitions is used.
"""

import argparse
import json
import re
import statistics
import sys

NAME = re.compile(
    r"^gemm/(?P<impl>tile32|onednn)/(?P<dtype>\w+)/M:(?P<m>\d+)/N:(?P<n>\d+)/K:(?P<k>\d+)"
    r"/threads:(?P<t>\d+)(?:/.*)?$")
DTYPES = ["s8s8", "u8s8", "s16", "bf16"]


def fmt(x, spec):
    return "—" if x is None else format(x, spec)


def rate(x):
    return fmt(x, ".1f" if x is None or x >= 10 else ".2f")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("json", nargs="?", help="tile32_bench --benchmark_format=json output (default: stdin)")
    ap.add_argument("--peak", type=float, default=378.0,
                    help="GMAC/s per core for the fraction-of-peak column (default: 378, AVX-512 VNNI)")
    args = ap.parse_args()
    with (open(args.json) if args.json else sys.stdin) as f:
        data = json.load(f)

    rates = {}   # (M, N, K, dtype, threads) -> {impl: [GMAC/s, ...]}
    errors = {}  # same key -> {impl: message}
    labels = {}  # impl -> set of labels' first field (SIMD target / oneDNN kernel)
    order = []
    for b in data.get("benchmarks", []):
        if b.get("run_type") == "aggregate":
            continue
        m = NAME.match(b.get("run_name", b.get("name", "")))
        if not m:
            continue
        key = (int(m["m"]), int(m["n"]), int(m["k"]), m["dtype"], int(m["t"]))
        if key not in rates:
            order.append(key)
            rates[key], errors[key] = {}, {}
        impl = m["impl"]
        if b.get("error_occurred"):
            errors[key][impl] = b.get("error_message", "error")
            continue
        if "GMACs" in b:
            rates[key].setdefault(impl, []).append(float(b["GMACs"]))
        if b.get("label"):
            labels.setdefault(impl, set()).add(b["label"].split(",")[0])

    if not order:
        sys.exit("compare.py: no gemm/<impl>/<dtype>/M:/N:/K:/threads: benchmarks in the input")

    shapes = []
    for key in order:
        if key[:3] not in shapes:
            shapes.append(key[:3])
    rank = {k: i for i, k in enumerate(shapes)}
    order.sort(key=lambda k: (rank[k[:3]], DTYPES.index(k[3]) if k[3] in DTYPES else 99, k[4]))

    print("| shape M×N×K | dtype | threads | tile32 GMAC/s | oneDNN GMAC/s | tile32/oneDNN | "
          f"tile32 / peak ({args.peak:g}·threads) |")
    print("|---|---|---:|---:|---:|---:|---:|")
    notes = {}  # (impl, error message) -> runs that failed with it
    for key in order:
        mm, n, k, dtype, t = key
        med = {impl: statistics.median(v) for impl, v in rates[key].items() if v}
        tile, dnn = med.get("tile32"), med.get("onednn")
        cells = {}
        for impl, x in (("tile32", tile), ("onednn", dnn)):
            if impl in errors[key]:
                cells[impl] = "error"
                notes.setdefault((impl, errors[key][impl]), []).append(dtype)
            else:
                cells[impl] = rate(x)
        ratio = tile / dnn if tile and dnn else None
        frac = tile / (args.peak * t) if tile else None
        print(f"| {mm}×{n}×{k} | {dtype} | {t} | {cells['tile32']} | {cells['onednn']} | "
              f"{fmt(ratio, '.2f')} | {'—' if frac is None else format(100 * frac, '.1f') + ' %'} |")

    ctx = data.get("context", {})
    print()
    print(f"Peak: {args.peak:g} GMAC/s per core is the vpdpbusd zmm (int8 VNNI) peak of the Xeon AVX-512 VNNI "
          "machine kind of BRIEF.md §3; this run's host may differ "
          f"({ctx.get('num_cpus', '?')} CPUs at {ctx.get('mhz_per_cpu', '?')} MHz, "
          f"host {ctx.get('host_name', '?')}). — : no benchmark (oneDNN has no s16 matmul) or no result.")
    for impl in ("tile32", "onednn"):
        if impl in labels:
            print(f"{impl} ran on: {', '.join(sorted(labels[impl]))}"
                  + (f" (oneDNN {ctx['onednn_version']})" if impl == "onednn" and "onednn_version" in ctx else ""))
    for (impl, message), runs in notes.items():
        print(f"- {impl} {'/'.join(sorted(set(runs)))} failed in {len(runs)} run(s): {message}")


if __name__ == "__main__":
    main()
