#!/usr/bin/env bash
# Usage: static_init.sh <binary>
# Fails when code that runs before main (the _GLOBAL__sub_I_* initializers and the functions they call)
# holds an AVX-512 (EVEX-encoded, first opcode byte 0x62) instruction: such code runs on every host, and a
# constant table built by a constructor inside a Highway target's namespace is compiled for that target, so
# the program would die with SIGILL at start on an AVX2-only host. Tables there must be constexpr.
# Exit 77 (skipped) without objdump.
set -uo pipefail
bin=$1
command -v objdump >/dev/null || { echo "objdump not found: skipped"; exit 77; }
dis=$(objdump -d "$bin") || { echo "objdump failed on $bin"; exit 1; }
# Functions that run before main: the initializers and their direct callees.
inits=$(awk '/^[0-9a-f]+ <_GLOBAL__sub_I_[^>]*>:$/ { print $2 }' <<<"$dis" | tr -d '<>:')
callees=$(awk -v list="$inits" 'BEGIN { n = split(list, a, "\n"); for (i = 1; i <= n; ++i) want["<" a[i] ">:"] = 1 }
  /^[0-9a-f]+ <.*>:$/ { on = ($2 in want) }
  on && /(call|jmp)/ && match($0, /<[^>+]*>/) { print substr($0, RSTART + 1, RLENGTH - 2) }' <<<"$dis" | sort -u)
bad=$(awk -v list="$(printf '%s\n%s\n' "$inits" "$callees")" '
  BEGIN { n = split(list, a, "\n"); for (i = 1; i <= n; ++i) if (a[i] != "") want["<" a[i] ">:"] = 1 }
  /^[0-9a-f]+ <.*>:$/ { on = ($2 in want); name = $2; next }
  on && /^ *[0-9a-f]+:\t62 / { print name " " $0 }' <<<"$dis")
if [ -n "$bad" ]; then
  echo "AVX-512 instructions in code that runs before main:"
  echo "$bad" | head -20
  exit 1
fi
echo "before main: $(wc -w <<<"$inits") initializers and their callees hold no AVX-512 instruction"
