#!/usr/bin/env bash
# Usage: report_table.sh <tile32>
# The report's table as a newcomer reads it, on ShuffleNetV2 (default configuration): a shuffle folded into
# the next layer takes no cycles and nothing bounds it ("-"), and a runner-up too long for its column keeps
# its ratio ("direct tap-major~ 1.18x", where the cut used to leave "direct tap-major on the").
set -uo pipefail
out=$("$1" report shufflenetv2 2>/dev/null) || { echo "tile32 report failed"; exit 1; }
fail=0
folded=$(grep -E '^stage2\.0\.shuffle ' <<<"$out")
if ! grep -Eq 'shuffle folded into next layer +- +[a-z]+ [0-9,]+ +0 +0 +0% +- ' <<<"$folded"; then
  echo "folded shuffle row: want 0 cycles and bound '-', got:"; echo "$folded"; fail=1
fi
after=$(grep -E '^stage2\.1\.branch2\.pw1 ' <<<"$out")
if ! grep -Eq ' [a-z -]+~ [0-9]+\.[0-9]+x +[0-9,]+ ' <<<"$after"; then
  echo "runner-up after a folded shuffle: want a cut plan and its ratio, got:"; echo "$after"; fail=1
fi
[ "$fail" = 0 ] && echo "report table as expected"
exit "$fail"
