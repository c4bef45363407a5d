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
# unless KEEP=1). The steps are bench/common/profile.sh's.
set -euo pipefail

PAIR=${1:-parley}
SIDE=${2:-server}
SECS=${3:-8}
BENCH=${BENCH:-build/bin/bench-txn}
KEEP=${KEEP:-0}

# shellcheck source-path=SCRIPTDIR source=../common/profile.sh
. "$(dirname "${BASH_SOURCE[0]}")/../common/profile.sh"

profile_check "parley libre" "server client"
profile_start bench-txn
profile_attach
profile_record
if [ "$KEEP" = 1 ]; then echo "profile.sh: kept $OUT"; fi
