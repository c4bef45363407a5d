#!/bin/sh
# bench/parse/callgrind.sh - instructions per message for each parser.
#
#   bench/parse/callgrind.sh [N]
#
# Runs build/bin/bench-parse --once N --only P under valgrind --tool=callgrind
# for P in parley, parley-proxy, osip and sofia, and once more with N=0 for
# each (the baseline: loading the corpus, setting the library up, checking
# every message once). The difference of the two totals (Ir), divided by
# N times the number of corpus messages, is the instruction count of one
# parse, averaged over the corpus. N defaults to 200.
#
# Environment: BENCH (the program; default build/bin/bench-parse), CORPUS
# (a corpus directory; default the program's own), VALGRIND (default
# valgrind), KEEP=1 to keep the callgrind.out files (printed at the end).
set -eu

N=${1:-200}
BENCH=${BENCH:-build/bin/bench-parse}
VALGRIND=${VALGRIND:-valgrind}
CORPUS=${CORPUS:-}

case $N in
'' | *[!0-9]*) echo "callgrind.sh: N must be a positive integer" >&2; exit 2 ;;
esac
[ "$N" -gt 0 ] || { echo "callgrind.sh: N must be > 0" >&2; exit 2; }
[ -x "$BENCH" ] || { echo "callgrind.sh: $BENCH not found: build first (make)" >&2; exit 1; }
command -v "$VALGRIND" >/dev/null 2>&1 || { echo "callgrind.sh: valgrind not found" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/bench-parse-callgrind.XXXXXX")
if [ "${KEEP:-0}" = 1 ]; then
    trap 'echo "callgrind.sh: callgrind output kept in $tmp" >&2' EXIT
else
    trap 'rm -rf "$tmp"' EXIT
fi

# total_ir FILE: the total Ir of a callgrind output file ("totals:" line, or
# "summary:" for older valgrinds).
total_ir() {
    awk '/^totals:/ { t = $2 } /^summary:/ { s = $2 }
         END { if (t != "") print t; else if (s != "") print s; else exit 1 }' "$1"
}

# run P N: callgrind one run; prints its total Ir. The program's own stdout
# (the "once:" line) goes to $tmp/P.N.log.
run() {
    out="$tmp/callgrind.out.$1.$2"
    if ! "$VALGRIND" --tool=callgrind --callgrind-out-file="$out" \
        "$BENCH" --once "$2" --only "$1" ${CORPUS:+"$CORPUS"} >"$tmp/$1.$2.log" 2>"$tmp/$1.$2.err"; then
        echo "callgrind.sh: $BENCH --once $2 --only $1 failed:" >&2
        cat "$tmp/$1.$2.err" >&2
        exit 1
    fi
    total_ir "$out"
}

per_parley='' per_parley_proxy='' per_osip='' per_sofia=''
printf '%-14s %16s %16s %14s\n' parser "Ir (N=$N)" "Ir (N=0)" "instr/message"
for p in parley parley-proxy osip sofia; do
    echo "callgrind.sh: $p: N=$N and N=0 under callgrind..." >&2
    ir_n=$(run "$p" "$N")
    ir_0=$(run "$p" 0)
    msgs=$(sed -n 's/.* messages=\([0-9]*\).*/\1/p' "$tmp/$p.$N.log")
    [ -n "$msgs" ] || { echo "callgrind.sh: no message count from $BENCH" >&2; exit 1; }
    per=$(awk -v a="$ir_n" -v b="$ir_0" -v n="$N" -v m="$msgs" 'BEGIN { printf "%.0f", (a - b) / (n * m) }')
    case $p in
    parley) per_parley=$per ;;
    parley-proxy) per_parley_proxy=$per ;;
    osip) per_osip=$per ;;
    sofia) per_sofia=$per ;;
    esac
    awk -v p="$p" -v a="$ir_n" -v b="$ir_0" -v per="$per" 'BEGIN {
        printf "%-14s %16.0f %16.0f %14.0f\n", p, a, b, per }'
done
awk -v pl="$per_parley" -v pp="$per_parley_proxy" -v o="$per_osip" -v s="$per_sofia" 'BEGIN {
    printf "instructions, full parse: libosip2/Parley %.1fx, sofia-sip/Parley %.1fx\n", o / pl, s / pl
    printf "instructions, Parley proxy path against their full parse: libosip2 %.1fx, sofia-sip %.1fx\n", o / pp, s / pp }'
