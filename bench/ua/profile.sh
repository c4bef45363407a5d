#!/usr/bin/env bash
# bench/ua/profile.sh - perf profile of one side of a bench-ua pair.
#
#   bench/ua/profile.sh [PAIR [SIDE [SECONDS]]]
#
# PAIR is parley (default) or sofia, SIDE receiver (default) or sender,
# SECONDS the traffic time (default 8). Runs bench-ua --only PAIR --windows
# 64 --seconds SECONDS in the background, records that side with
# `perf record -g` from 1 s into the traffic to 1 s before its end, and
# prints the top of `perf report --no-children`. BENCH= names another
# binary, OUT= the directory for perf.data (default a temporary one, removed
# unless KEEP=1), CALLERS=SYMBOL also prints the callers of SYMBOL,
# BENCH_ARGS= more options for bench-ua. The steps are
# bench/common/profile.sh's.
set -euo pipefail

PAIR=${1:-parley}
SIDE=${2:-receiver}
SECS=${3:-8}
BENCH=${BENCH:-build/bin/bench-ua}
KEEP=${KEEP:-0}
CALLERS=${CALLERS:-}

# shellcheck source-path=SCRIPTDIR source=../common/profile.sh
. "$(dirname "${BASH_SOURCE[0]}")/../common/profile.sh"

profile_check "parley sofia" "receiver sender"
# shellcheck disable=SC2086 # BENCH_ARGS is split into options
profile_start bench-ua ${BENCH_ARGS:-}
profile_attach
profile_record
if [ -n "$CALLERS" ]; then
    echo "profile.sh: callers of $CALLERS:"
    perf report -i "$OUT/perf.data" --no-children --stdio -G -S "$CALLERS" 2>/dev/null |
        grep -v '^#' | grep -v '^$' | head -60 || true
fi
wait "$bench_pid" 2>/dev/null || true
grep -E 'W=64:.*requests in' "$OUT/bench.err" || true
if [ "$KEEP" = 1 ]; then echo "profile.sh: kept $OUT"; fi
