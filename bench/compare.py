#!/usr/bin/env python3
"""tile32 vs oneDNN GEMM and convolution tables from Google Benchmark JSON (python3 standard library only).

    build/bench/tile32_bench --benchmark_filter='^(gemm|conv)/' --benchmark_format=json > bench.json
    python3 bench/compare.py bench.json           # or: ... --benchmark_format=json | python3 bench/compare.py

GEMM table (gemm/... benchmarks), one row per shape x dtype x threads: tile32 GMAC/s, oneDNN GMAC/s, their
ratio (tile32 / oneDNN), and tile32 as a fraction of the host's peak for that dtype measured in the same run
(peak/... benchmarks, bench/peak_bench.cc, at the same thread count): int8 the best of tdpbusd/tdpbssd (AMX),
vpdpbusd zmm and pmaddubsw+pmaddwd; int16 the best of vpdpwssd zmm and pmaddwd; bf16 vfmadd231ps (one exact
fp32 FMA per MAC is the contract). Without peak/ benchmarks in the input that column is empty.

TMAC table (tmac/simd/... benchmarks, bench/tmac_bench.cc), one row per mode x rows x tiles x threads: the
SIMD machine's TMAC in GMAC/s and as a fraction of the same peak.

Convolution table (conv/... benchmarks), one row per layer x kind x threads: tile32 and its peer in GMAC/s
(GB/s for shuffle), their ratio, and tile32 against a second reference: its own gemm kind for direct, its
own direct-s16 for winograd, memcpy for shuffle; then the 2-thread / 1-thread speed-up of
resnet50.3x3.56 direct, the share of winograd's host time in its transforms (the %transforms counter) and
the path every run took (SIMD target and packing, oneDNN kernel).

The host is named from the JSON context (cpu_model, which the benchmark binary reads from the kernel's CPU description).
With --benchmark_repetitions, the median of the repetitions is used; on a shared host, for the few benchmarks
a ratio needs, add --benchmark_enable_random_interleaving=true so that tile32 and its peer meet the same
stretches of it (bench/README.md).
"""

import argparse
import json
import re
import statistics
import sys

GEMM_NAME = re.compile(
    r"^gemm/(?P<impl>tile32|onednn)/(?P<dtype>\w+)/M:(?P<m>\d+)/N:(?P<n>\d+)/K:(?P<k>\d+)"
    r"/threads:(?P<t>\d+)(?:/.*)?$")
PEAK_NAME = re.compile(r"^peak/(?P<impl>[^/]+)/(?:.*/)?threads:(?P<t>\d+)(?:/.*)?$")
# Per GEMM dtype, the peak benchmarks that count as its exact instruction, best first when measured.
PEAKS = {"u8s8": ["tdpbusd", "vpdpbusd_zmm", "pmaddubsw+pmaddwd"],
         "s8s8": ["tdpbssd", "vpdpbusd_zmm", "pmaddubsw+pmaddwd"],
         "s16": ["vpdpwssd_zmm", "pmaddwd"],
         "bf16": ["vfmadd231ps"]}
TMAC_NAME = re.compile(
    r"^tmac/(?P<impl>simd)/(?P<mode>[\w-]+)/rows:(?P<rows>\d+)/tiles:(?P<tiles>\d+)/threads:(?P<t>\d+)(?:/.*)?$")
CONV_NAME = re.compile(
    r"^conv/(?P<impl>tile32|onednn|memcpy)/(?P<kind>[\w-]+)/(?P<layer>[^/]+)/threads:(?P<t>\d+)(?:/.*)?$")
DTYPES = ["s8s8", "u8s8", "s16", "bf16"]
KINDS = ["direct", "direct-s16", "gemm", "winograd", "depthwise", "shuffle"]
# Per conv kind: the second reference, as (impl, kind) of the same layer and thread count.
VERSUS = {"direct": ("tile32", "gemm"), "winograd": ("tile32", "direct-s16"), "shuffle": ("memcpy", "shuffle")}


def fmt(x, spec):
    return "—" if x is None else format(x, spec)


def rate(x):
    return fmt(x, ".1f" if x is None or x >= 10 else ".2f")


def collect(data, pattern, key_of):
    """{key: {"rate": {impl: median}, "error": {impl: message}, "label": {impl: label}, and for tile32's winograd
    "transforms": median %transforms}} in first-seen order."""
    runs = {}
    for b in data.get("benchmarks", []):
        if b.get("run_type") == "aggregate":
            continue
        m = pattern.match(b.get("run_name", b.get("name", "")))
        if not m:
            continue
        r = runs.setdefault(key_of(m), {"rate": {}, "error": {}, "label": {}})
        impl = m["impl"]
        if b.get("error_occurred"):
            r["error"][impl] = b.get("error_message", "error")
            continue
        for counter in ("GMACs", "GBs"):
            if counter in b:
                r["rate"].setdefault(impl, []).append(float(b[counter]))
        if "%transforms" in b and impl == "tile32":
            r.setdefault("transforms", []).append(float(b["%transforms"]))
        if b.get("label"):
            r["label"][impl] = b["label"]
    for r in runs.values():
        r["rate"] = {impl: statistics.median(v) for impl, v in r["rate"].items() if v}
        if "transforms" in r:
            r["transforms"] = statistics.median(r["transforms"])
    return runs


def cell(r, impl, notes, what):
    """A rate cell; an error becomes "error" and is listed under the table."""
    if impl in r["error"]:
        notes.setdefault((impl, r["error"][impl]), []).append(what)
        return "error"
    return rate(r["rate"].get(impl))


def print_notes(notes):
    for (impl, message), runs in notes.items():
        print(f"- {impl} {', '.join(sorted(set(runs)))} failed in {len(runs)} run(s): {message}")


def host(ctx):
    return (f"{ctx.get('cpu_model', 'CPU model not recorded')}, {ctx.get('num_cpus', '?')} CPUs at "
            f"{ctx.get('mhz_per_cpu', '?')} MHz, host {ctx.get('host_name', '?')}")


def peak_of(peaks, dtype, t):
    """(GMAC/s, instruction) of the best measured peak for a dtype at t threads, or (None, None)."""
    best = (None, None)
    for instr in PEAKS.get(dtype, []):
        r = peaks.get((instr, t))
        v = r["rate"].get(instr) if r else None
        if v and (best[0] is None or v > best[0]):
            best = (v, instr)
    return best


def peak_table(peaks, ctx):
    instrs = list(dict.fromkeys(key[0] for key in peaks))
    print("| peak | threads | GMAC/s | what |")
    print("|---|---:|---:|---|")
    for instr in instrs:
        for t in sorted(key[1] for key in peaks if key[0] == instr):
            r = peaks[(instr, t)]
            if instr in r["error"]:
                print(f"| {instr} | {t} | — | {r['error'][instr]} |")
            else:
                print(f"| {instr} | {t} | {rate(r['rate'].get(instr))} | {r['label'].get(instr, '').split(';')[0]} |")
    print()
    print(f"Host: {host(ctx)}.")


def gemm_table(runs, ctx, peaks):
    shapes = list(dict.fromkeys(key[:3] for key in runs))
    order = sorted(runs, key=lambda k: (shapes.index(k[:3]), DTYPES.index(k[3]) if k[3] in DTYPES else 99, k[4]))
    print("| shape M×N×K | dtype | threads | tile32 GMAC/s | oneDNN GMAC/s | tile32/oneDNN | "
          "tile32 / peak (its instruction) |")
    print("|---|---|---:|---:|---:|---:|---|")
    notes, labels = {}, {}
    for key in order:
        mm, n, k, dtype, t = key
        r = runs[key]
        tile, dnn = r["rate"].get("tile32"), r["rate"].get("onednn")
        ratio = tile / dnn if tile and dnn else None
        peak, instr = peak_of(peaks, dtype, t)
        frac = f"{100 * tile / peak:.1f} % ({instr} {rate(peak)})" if tile and peak else "—"
        print(f"| {mm}×{n}×{k} | {dtype} | {t} | {cell(r, 'tile32', notes, dtype)} | "
              f"{cell(r, 'onednn', notes, dtype)} | {fmt(ratio, '.2f')} | {frac} |")
        for impl, label in r["label"].items():
            labels.setdefault(impl, set()).add(label.split(",")[0])
    print()
    print(f"Host: {host(ctx)}. Peaks: this run's peak/ benchmarks at the same thread count"
          + ("" if peaks else " (none in this input: run them too, e.g. --benchmark_filter='^(gemm|peak)/')")
          + ". — : no benchmark (oneDNN has no s16 matmul) or no result.")
    for impl in ("tile32", "onednn"):
        if impl in labels:
            print(f"{impl} ran on: {', '.join(sorted(labels[impl]))}"
                  + (f" (oneDNN {ctx['onednn_version']})" if impl == "onednn" and "onednn_version" in ctx else ""))
    print_notes(notes)


def tmac_table(runs, ctx, peaks):
    print("| TMAC mode | rows × tiles | threads | GMAC/s | / peak (its instruction) |")
    print("|---|---|---:|---:|---|")
    notes = {}
    for key in runs:
        mode, rows, tiles, t = key
        r = runs[key]
        tile = r["rate"].get("simd")
        # u8s8-w8: the same dtype, weights over the full int8 range.
        peak, instr = peak_of(peaks, {"s16s16": "s16"}.get(mode.split("-")[0], mode.split("-")[0]), t)
        frac = f"{100 * tile / peak:.1f} % ({instr} {rate(peak)})" if tile and peak else "—"
        print(f"| {mode} | {rows} × {tiles} | {t} | {cell(r, 'simd', notes, f'{mode} {rows}x{tiles}/{t}')} | {frac} |")
    print()
    print(f"Host: {host(ctx)}. One TMAC of rows × 32·tiles × 32 MACs on the SIMD machine, repeated (its tiles "
          "loaded once); peaks: this run's peak/ benchmarks at the same thread count.")
    print_notes(notes)


def conv_table(runs, ctx):
    layers = list(dict.fromkeys(key[0] for key in runs))
    order = sorted(runs, key=lambda k: (layers.index(k[0]), KINDS.index(k[1]) if k[1] in KINDS else 99, k[2]))
    print("| layer | kind | threads | unit | tile32 | oneDNN | tile32/oneDNN | versus | tile32/versus "
          "| path: tile32 · oneDNN |")
    print("|---|---|---:|---|---:|---:|---:|---|---:|---|")
    notes = {}
    for key in order:
        layer, kind, t = key
        r = runs[key]
        what = f"{kind} {layer}/{t}"
        tile, dnn = r["rate"].get("tile32"), r["rate"].get("onednn")
        versus, vratio = "—", None
        if kind in VERSUS:
            vimpl, vkind = VERSUS[kind]
            vr = runs.get((layer, vkind, t))
            if vr is not None:  # its failures are listed with its own row
                v = vr["rate"].get(vimpl)
                versus = f"{'tile32 ' + vkind if vimpl == 'tile32' else vimpl} " + \
                         ("error" if vimpl in vr["error"] else rate(v))
                vratio = tile / v if tile and v else None
        paths = " · ".join(r["label"][impl].split("; ")[0] for impl in ("tile32", "onednn") if impl in r["label"])
        print(f"| {layer} | {kind} | {t} | {'GB/s' if kind == 'shuffle' else 'GMAC/s'} | "
              f"{cell(r, 'tile32', notes, what)} | {cell(r, 'onednn', notes, what)} | "
              f"{fmt(tile / dnn if tile and dnn else None, '.2f')} | {versus} | {fmt(vratio, '.2f')} | {paths} |")
        if "memcpy" in r["error"]:
            cell(r, "memcpy", notes, what)
    print()
    one, two = runs.get(("resnet50.3x3.56", "direct", 1)), runs.get(("resnet50.3x3.56", "direct", 2))
    if one and two:
        speedup = {impl: two["rate"][impl] / one["rate"][impl]
                   for impl in ("tile32", "onednn") if impl in one["rate"] and impl in two["rate"]}
        print("resnet50.3x3.56 direct, 2 threads / 1 thread: "
              + (", ".join(f"{impl} {s:.2f}×" for impl, s in speedup.items()) or "no result"))
    shares = [f"{key[0]}/{key[2]} {runs[key]['transforms']:.0f} %" for key in order if "transforms" in runs[key]]
    if shares:
        print("winograd transforms, share of tile32's host time (all but TLD, TMAC and the DMAs; the output's "
              "requantization included): " + ", ".join(shares))
    print(f"Host: {host(ctx)}" + (f"; oneDNN {ctx['onednn_version']}" if "onednn_version" in ctx else "")
          + ". Peer: oneDNN (none for gemm and direct-s16); versus: tile32's gemm kind for direct, its "
          "direct-s16 for winograd, memcpy of the same bytes for shuffle. — : no benchmark or no result.")
    print_notes(notes)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("json", nargs="?", help="tile32_bench --benchmark_format=json output (default: stdin)")
    args = ap.parse_args()
    with (open(args.json) if args.json else sys.stdin) as f:
        data = json.load(f)
    ctx = data.get("context", {})

    gemm = collect(data, GEMM_NAME, lambda m: (int(m["m"]), int(m["n"]), int(m["k"]), m["dtype"], int(m["t"])))
    conv = collect(data, CONV_NAME, lambda m: (m["layer"], m["kind"], int(m["t"])))
    peaks = collect(data, PEAK_NAME, lambda m: (m["impl"], int(m["t"])))
    tmac = collect(data, TMAC_NAME, lambda m: (m["mode"], int(m["rows"]), int(m["tiles"]), int(m["t"])))
    if not gemm and not conv and not peaks and not tmac:
        sys.exit("compare.py: no gemm/<impl>/<dtype>/M:/N:/K:/threads:, conv/<impl>/<kind>/<layer>/threads:, "
                 "tmac/simd/<mode>/rows:/tiles:/threads: or peak/<instruction>/threads: benchmarks in the input")
    tables = [lambda: peak_table(peaks, ctx)] if peaks else []
    if gemm:
        tables.append(lambda: gemm_table(gemm, ctx, peaks))
    if tmac:
        tables.append(lambda: tmac_table(tmac, ctx, peaks))
    if conv:
        tables.append(lambda: conv_table(conv, ctx))
    for i, table in enumerate(tables):
        if i:
            print()
        table()


if __name__ == "__main__":
    main()
