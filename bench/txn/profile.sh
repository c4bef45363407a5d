#!/usr/bin/env bash
# bench/txn/profile.sh - perf profile of one side of a bench-txn pair.
#
#   bench/txn/profile.sh [PAIR [SIDE [SECONDS]]]
#
# PAIR is parley (default) or libre, SIDE server (default) or client,
# SECONDS the traffic time (default 8). Runs bench-txn --only PAIR
# --windows 64 --seconds SECONDS in the background, records that side with
# `perf record -g` from 1 s into the traffic to 1 s before its end, and
# prints the top of `perf report --no-children`, then stops the benchmark
# (it would otherwise wait 32 s for Timer J). BENCH= names another binary,
# OUT= the directory for perf.data (default a temporary one, removed
# unless KEEP=1).
set -euo pipefail

PAIR=${1:-parley}
SIDE=${2:-server}
SECS=${3:-8}
BENCH=${BENCH:-build/bin/bench-txn}
KEEP=${KEEP:-0}

case "$PAIR" in parley | libre) ;; *) echo "profile.sh: PAIR is parley or libre" >&2; exit 2 ;; esac
case "$SIDE" in server | client) ;; *) echo "profile.sh: SIDE is server or client" >&2; exit 2 ;; esac
[ "$SECS" -ge 3 ] 2>/dev/null || { echo "profile.sh: SECONDS must be 3 or more" >&2; exit 2; }
command -v perf >/dev/null || { echo "profile.sh: perf not found (apt-get install linux-perf)" >&2; exit 2; }
[ -x "$BENCH" ] || { echo "profile.sh: $BENCH not built (make)" >&2; exit 2; }

OUT=${OUT:-$(mktemp -d "${TMPDIR:-/tmp}/bench-txn-perf.XXXXXX")}
mkdir -p "$OUT"
cleanup() {
    [ -n "${bench_pid:-}" ] && kill "$bench_pid" 2>/dev/null || true
    [ "$KEEP" = 1 ] || rm -rf "$OUT"
}
trap cleanup EXIT

"$BENCH" --only "$PAIR" --windows 64 --seconds "$SECS" >"$OUT/bench.out" 2>"$OUT/bench.err" &
bench_pid=$!

# The side's process, once the pair has been verified.
pid=""
for _ in $(seq 1 100); do
    if grep -q verified "$OUT/bench.err" 2>/dev/null; then
        pid=$(pgrep -f -- "--role $PAIR-$SIDE" | head -1 || true)
        [ -n "$pid" ] && break
    fi
    sleep 0.1
done
[ -n "$pid" ] || { echo "profile.sh: no $PAIR-$SIDE process (see $OUT/bench.err)" >&2; exit 1; }

sleep 1
perf record -g -o "$OUT/perf.data" -p "$pid" -- sleep $((SECS - 2)) >/dev/null 2>&1
echo "profile.sh: $PAIR $SIDE, W=64, $((SECS - 2)) s of traffic:"
perf report -i "$OUT/perf.data" --no-children --stdio 2>/dev/null | grep -E '^ +[0-9]' | head -40
if [ "$KEEP" = 1 ]; then echo "profile.sh: kept $OUT"; fi
