#!/usr/bin/env bash
# tests/cli/svg_renders.sh TILE32 OUTDIR: `tile32 report --svg` draws charts that a browser renders: headless
# Chromium screenshots the SVG, and the screenshot must be a PNG with something drawn on it (a blank page of
# that size compresses to a few KB). Exits 77 (skipped) when no Chromium is installed.
set -uo pipefail
tile32=$1 out=$2
mkdir -p "$out" || exit 1
svg="$out/report.svg" png="$out/report.png"
rm -f "$svg" "$png"
"$tile32" report shufflenetv2 --sweep 0 --svg "$svg" >/dev/null 2>&1 || { echo "tile32 report --svg failed"; exit 1; }
browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome) || {
  echo "skipped: no Chromium installed (scripts/test installs it)"
  exit 77
}
# The SVG is 1000 x 1300 pt: 1334 x 1734 CSS pixels.
timeout 120 "$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars --screenshot="$png" \
  --window-size=1334,1734 "file://$svg" >/dev/null 2>&1
[ -s "$png" ] || { echo "no screenshot written"; exit 1; }
[ "$(head -c 8 "$png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] || { echo "the screenshot is not a PNG"; exit 1; }
size=$(stat -c %s "$png")
[ "$size" -gt 30000 ] || { echo "the screenshot is nearly blank ($size bytes)"; exit 1; }
echo "rendered: $png ($size bytes)"
