#!/usr/bin/env bash
# Usage: compare_tables.sh <compare.py>
# bench/compare.py on a fixed Google Benchmark JSON: each table divides by the peak of the same thread count,
# takes the median of repetitions (rates and winograd's transform share) and names a failed
# peer. Exit 77 (skipped) without python3.
set -uo pipefail
script=$1
command -v python3 >/dev/null || { echo "python3 not found: skipped"; exit 77; }
json=$(cat <<'END'
{"context": {"cpu_model": "Test CPU", "num_cpus": 2, "mhz_per_cpu": 1000, "host_name": "h"},
 "benchmarks": [
  {"run_name": "peak/vpdpbusd_zmm/threads:1", "run_type": "iteration", "GMACs": 250.0, "label": "vpdpbusd zmm"},
  {"run_name": "peak/vpdpbusd_zmm/threads:2", "run_type": "iteration", "GMACs": 500.0, "label": "vpdpbusd zmm"},
  {"run_name": "peak/vfmadd231ps/threads:1", "run_type": "iteration", "GMACs": 50.0, "label": "fma"},
  {"run_name": "gemm/tile32/u8s8/M:64/N:64/K:64/threads:1/real_time", "run_type": "iteration", "GMACs": 100.0},
  {"run_name": "gemm/tile32/u8s8/M:64/N:64/K:64/threads:1/real_time", "run_type": "iteration", "GMACs": 200.0},
  {"run_name": "gemm/tile32/u8s8/M:64/N:64/K:64/threads:1/real_time", "run_type": "iteration", "GMACs": 150.0},
  {"run_name": "gemm/onednn/u8s8/M:64/N:64/K:64/threads:1/real_time", "run_type": "iteration", "GMACs": 300.0},
  {"run_name": "gemm/tile32/u8s8/M:64/N:64/K:64/threads:1/real_time", "run_type": "aggregate", "GMACs": 1.0},
  {"run_name": "tmac/simd/u8s8/rows:2048/tiles:16/threads:1/real_time", "run_type": "iteration", "GMACs": 225.0},
  {"run_name": "tmac/simd/s16s16/rows:1/tiles:16/threads:1/real_time", "run_type": "iteration", "GMACs": 40.0},
  {"run_name": "tmac/simd/bf16/rows:256/tiles:16/threads:1/real_time", "run_type": "iteration", "GMACs": 45.0},
  {"run_name": "tmac/simd/u8s8/rows:2048/tiles:16/threads:2/real_time", "run_type": "iteration", "GMACs": 400.0},
  {"run_name": "conv/tile32/direct-s16/w.56/threads:1/real_time", "run_type": "iteration", "GMACs": 80.0},
  {"run_name": "conv/tile32/winograd/w.56/threads:1/real_time", "run_type": "iteration", "GMACs": 100.0,
   "%transforms": 40.0},
  {"run_name": "conv/tile32/winograd/w.56/threads:1/real_time", "run_type": "iteration", "GMACs": 120.0,
   "%transforms": 20.0},
  {"run_name": "conv/tile32/winograd/w.56/threads:1/real_time", "run_type": "iteration", "GMACs": 140.0,
   "%transforms": 35.0},
  {"run_name": "conv/tile32/shuffle/s.7/threads:1/real_time", "run_type": "iteration", "GBs": 10.0},
  {"run_name": "conv/memcpy/shuffle/s.7/threads:1/real_time", "run_type": "iteration", "GBs": 100.0},
  {"run_name": "conv/onednn/shuffle/s.7/threads:1/real_time", "run_type": "iteration", "error_occurred": true,
   "error_message": "no primitive"}
 ]}
END
)
out=$(python3 "$script" <<<"$json") || { echo "compare.py failed:"; echo "$out"; exit 1; }
expect=(
  "| vpdpbusd_zmm | 2 | 500.0 | vpdpbusd zmm |"
  "| 64×64×64 | u8s8 | 1 | 150.0 | 300.0 | 0.50 | 60.0 % (vpdpbusd_zmm 250.0) |"
  "| u8s8 | 2048 × 16 | 1 | 225.0 | 90.0 % (vpdpbusd_zmm 250.0) |"
  "| u8s8 | 2048 × 16 | 2 | 400.0 | 80.0 % (vpdpbusd_zmm 500.0) |"
  "| s16s16 | 1 × 16 | 1 | 40.0 | — |"
  "| bf16 | 256 × 16 | 1 | 45.0 | 90.0 % (vfmadd231ps 50.0) |"
  "| s.7 | shuffle | 1 | GB/s | 10.0 | error | — | memcpy 100.0 | 0.10 |"
  "| w.56 | winograd | 1 | GMAC/s | 120.0 | — | — | tile32 direct-s16 80.0 | 1.50 |"
  "the output's requantization included): w.56/1 35 %"
  "- onednn shuffle s.7/1 failed in 1 run(s): no primitive"
  "Host: Test CPU, 2 CPUs at 1000 MHz, host h"
)
status=0
for line in "${expect[@]}"; do
  grep -qF -- "$line" <<<"$out" || { echo "missing: $line"; status=1; }
done
[ $status -eq 0 ] && echo "compare.py tables as expected" || { echo "--- output:"; echo "$out"; }
exit $status
