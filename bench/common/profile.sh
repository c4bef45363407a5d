# shellcheck shell=bash
# bench/common/profile.sh - what bench/txn/profile.sh and bench/ua/profile.sh
# share; sourced by them, not run by itself.
#
# The script sets PAIR, SIDE and SECS (its arguments), BENCH (the binary)
# and KEEP, then calls in turn:
#   profile_check "PAIRS" "SIDES"  the arguments, perf and the binary, or
#                                  exit 2 ("parley libre", "server client")
#   profile_start NAME [ARG...]    OUT= (default a temporary directory
#                                  NAME-perf.XXXXXX, removed at exit unless
#                                  KEEP=1), then in the background
#                                  $BENCH --only $PAIR --windows 64
#                                  --seconds $SECS ARG... (stopped at exit)
#   profile_attach                 the pid of the $PAIR-$SIDE role, once the
#                                  pair has been verified, or exit 1
#   profile_record                 perf record -g of that pid from 1 s into
#                                  the traffic to 1 s before its end, and the
#                                  top 40 of perf report --no-children
# bench_pid, pid and OUT are left set for what the script does next.

# "a b c" -> "a, b or c"
profile_or() {
    local -a words
    read -r -a words <<<"$1"
    local n=${#words[@]} out=${words[0]} i
    for ((i = 1; i < n; i++)); do
        if ((i == n - 1)); then out+=" or ${words[i]}"; else out+=", ${words[i]}"; fi
    done
    printf '%s' "$out"
}

profile_check() {
    case " $1 " in *" $PAIR "*) ;; *) echo "profile.sh: PAIR is $(profile_or "$1")" >&2; exit 2 ;; esac
    case " $2 " in *" $SIDE "*) ;; *) echo "profile.sh: SIDE is $(profile_or "$2")" >&2; exit 2 ;; esac
    [ "$SECS" -ge 3 ] 2>/dev/null || { echo "profile.sh: SECONDS must be 3 or more" >&2; exit 2; }
    command -v perf >/dev/null || { echo "profile.sh: perf not found (apt-get install linux-perf)" >&2; exit 2; }
    [ -x "$BENCH" ] || { echo "profile.sh: $BENCH not built (make)" >&2; exit 2; }
}

profile_cleanup() {
    if [ -n "${bench_pid:-}" ]; then kill "$bench_pid" 2>/dev/null || true; fi
    [ "$KEEP" = 1 ] || rm -rf "$OUT"
}

profile_start() {
    local name=$1
    shift
    OUT=${OUT:-$(mktemp -d "${TMPDIR:-/tmp}/$name-perf.XXXXXX")}
    mkdir -p "$OUT"
    trap profile_cleanup EXIT
    "$BENCH" --only "$PAIR" --windows 64 --seconds "$SECS" "$@" >"$OUT/bench.out" 2>"$OUT/bench.err" &
    bench_pid=$!
}

profile_attach() {
    pid=""
    for _ in $(seq 1 100); do
        if grep -q verified "$OUT/bench.err" 2>/dev/null; then
            pid=$(pgrep -P "$bench_pid" -f -- "--role $PAIR-$SIDE" | head -1 || true)
            [ -n "$pid" ] && break
        fi
        sleep 0.1
    done
    [ -n "$pid" ] || { echo "profile.sh: no $PAIR-$SIDE process (see $OUT/bench.err)" >&2; exit 1; }
}

profile_record() {
    sleep 1
    perf record -g -o "$OUT/perf.data" -p "$pid" -- sleep $((SECS - 2)) >/dev/null 2>&1
    echo "profile.sh: $PAIR $SIDE, W=64, $((SECS - 2)) s of traffic:"
    # || true: head may close the pipe first (SIGPIPE, and pipefail would end the script).
    perf report -i "$OUT/perf.data" --no-children --stdio 2>/dev/null | grep -E '^ +[0-9]' | head -40 ||
        true
}
