#!/usr/bin/env python3
"""SCALE-Sim 3.0 on the layers of a built-in network, beside tile32's array cycles (docs/perf-model.md).

    bench/scalesim_peer.py [--network resnet50] [--layers 4] [--build build]

Installs SCALE-Sim from PyPI (package `scalesim`) into a virtual environment under the build directory the
first time, writes the network's layers as a SCALE-Sim topology (input maps padded by the layer's padding;
a grouped layer as its per-group channels, so a depthwise layer is one channel per filter, as tile32's
closed forms count it) and a configuration of one 32x32 weight-stationary array with SRAM and bandwidth
large enough never to stall, runs it, and prints per layer SCALE-Sim's simulated cycles, its closed form
(what `tile32 report NET --peers` prints) and tile32's array cycles on one 32x32 array. SCALE-Sim takes
seconds to minutes per layer (a Python loop over cycles): --layers says how many to run (0: all).
"""
import argparse
import csv
import json
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def venv_python(build):
    venv = os.path.join(build, "scalesim-venv")
    python = os.path.join(venv, "bin", "python")
    if not os.path.exists(python):
        subprocess.run([sys.executable, "-m", "venv", venv], check=True)
    if subprocess.run([python, "-c", "import scalesim"], capture_output=True).returncode != 0:
        # SCALE-Sim 3.0.0 fails under NumPy 2 (a 1-element array where it wants a scalar).
        subprocess.run([python, "-m", "pip", "install", "-q", "scalesim==3.0.0", "numpy<2", "pandas<2.3"], check=True)
    return python


def layers_of(tile32, network):
    """(name, in_h, in_w, in_c, out_c, kh, kw, stride, pads (t, b, l, r), groups) of every conv and fc layer."""
    out = subprocess.run([tile32, "network", network], capture_output=True, text=True, check=True).stdout
    layers = []
    for line in out.splitlines():
        f = line.split()
        if len(f) != 9 or f[1] not in ("conv", "fc"):
            continue
        in_h, in_w, in_c = map(int, f[2].split("x"))
        out_c = int(f[3].split("x")[2])
        kh, kw = map(int, f[4].split("x"))
        stride = int(f[5].split("x")[0])
        pads = tuple(map(int, f[6].split(",")))
        groups = int(f[7])
        if f[1] == "fc":  # a 1x1 convolution of the flattened input
            in_c, in_h, in_w = in_h * in_w * in_c, 1, 1
        layers.append((f[0], in_h, in_w, in_c, out_c, kh, kw, stride, pads, groups))
    return layers


def tile32_peers(tile32, network, work):
    """Layer name -> (tile32 array cycles, SCALE-Sim closed form) on one 32x32 array."""
    config = os.path.join(work, "one_array.json")
    with open(config, "w") as f:
        json.dump({"preset": "default", "tile_units": 1}, f)
    out = subprocess.run([tile32, "report", network, "--config", config, "--peers"], capture_output=True,
                         text=True, check=True).stdout
    peers = {}
    for line in out.splitlines()[1:]:
        name, rest = line[:28].strip(), line[59:].split()
        if len(rest) >= 3:
            peers[name] = (int(rest[0].replace(",", "")), int(rest[1].replace(",", "")))
    return peers


CONFIG = """[general]
run_name = tile32_peer

[architecture_presets]
ArrayHeight : 32
ArrayWidth : 32
IfmapSramSzkB : 65536
FilterSramSzkB : 65536
OfmapSramSzkB : 65536
IfmapOffset : 0
FilterOffset : 10000000
OfmapOffset : 20000000
Bandwidth : 1024
Dataflow : ws
ReadRequestBuffer : 32
WriteRequestBuffer : 32

[layout]
IfmapCustomLayout : False
IfmapSRAMBankBandwidth : 1024
IfmapSRAMBankNum : 1
IfmapSRAMBankPort : 2
FilterCustomLayout : False
FilterSRAMBankBandwidth : 1024
FilterSRAMBankNum : 1
FilterSRAMBankPort : 2

[sparsity]
SparsitySupport : false
SparseRep : ellpack_block
OptimizedMapping : false
BlockSize : 8
RandomNumberGeneratorSeed : 40

[run_presets]
InterfaceBandwidth : USER
UseRamulatorTrace : False
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--network", default="resnet50")
    ap.add_argument("--layers", type=int, default=4, help="how many layers to simulate (0: all)")
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    args = ap.parse_args()
    tile32 = os.path.join(args.build, "tile32")
    if not os.access(tile32, os.X_OK):
        sys.exit(f"error: {tile32} not found: build first (scripts/run or cmake --build build)")
    python = venv_python(args.build)
    layers = layers_of(tile32, args.network)
    if args.layers > 0:
        layers = layers[:args.layers]
    with tempfile.TemporaryDirectory() as work:
        peers = tile32_peers(tile32, args.network, work)
        topology = os.path.join(work, "topology.csv")
        with open(topology, "w") as f:
            f.write("Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,\n")
            for (name, h, w, c, k, kh, kw, s, (pt, pb, pl, pr), g) in layers:
                f.write(f"{re.sub('[^A-Za-z0-9_]', '_', name)}, {h + pt + pb}, {w + pl + pr}, {kh}, {kw}, {c // g}, {k}, {s},\n")
        config = os.path.join(work, "scale.cfg")
        with open(config, "w") as f:
            f.write(CONFIG)
        results = os.path.join(work, "results")
        run = ("from scalesim.scale_sim import scalesim\n"
               f"s = scalesim(save_disk_space=True, verbose=False, config={config!r}, topology={topology!r}, "
               f"layout={topology!r})\n"
               f"s.run_scale(top_path={results!r})\n")
        print(f"SCALE-Sim 3.0 on {len(layers)} layers of {args.network} (one 32x32 array, weight stationary)...",
              file=sys.stderr)
        subprocess.run([python, "-c", run], check=True, stdout=subprocess.DEVNULL)
        with open(os.path.join(results, "tile32_peer", "COMPUTE_REPORT.csv")) as f:
            rows = [{k.strip(): v.strip() for k, v in r.items() if k} for r in csv.DictReader(f)]
    print(f"{'layer':28} {'SCALE-Sim run':>14} {'its closed form':>16} {'tile32 array':>13} {'tile32/run':>11}")
    for (name, *_), row in zip(layers, rows):
        simulated = int(float(row["Total Cycles"]))
        ours, closed = peers.get(name, (0, 0))
        print(f"{name:28} {simulated:14,d} {closed:16,d} {ours:13,d} {ours / simulated:11.2f}")


if __name__ == "__main__":
    main()
