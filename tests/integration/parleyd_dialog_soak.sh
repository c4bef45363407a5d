#!/usr/bin/env bash
# The dialog soak: many SIPp calls through parleyd with dialog tracking,
# the caller profile and pings all on, and everything back to nothing
# afterwards.
#
# parleyd runs with 2 workers, tests/integration/lib/dialog_soak.lua (each
# INVITE a dialog with the flags bye-on-timeout, ping-caller and
# ping-callee, in the profile "caller" under its From user) and
# dialog_ping_interval = 1s (no store, no management listener). SIPp tests/sipp/uac_dlg.xml (From users cycling
# over CALLERS names) -> parleyd -> tests/sipp/uas_rr.xml, each call held
# HOLD_MS between ACK and BYE, so that parleyd pings both ends about twice
# a call; both SIPps answer the in-dialog OPTIONS themselves (-aa). A
# progress line every PROGRESS seconds: calls ended and failed, calls open,
# parleyd's dialog counters (read from the line it logs on SIGUSR1), its
# resident memory, the pings each side answered. One call goes first,
# alone: when it fails (a parleyd whose scripts cannot track dialogs) the
# test stops there with parleyd's reason. Then:
#
#  1. SIPp: every call passed on both sides (caller and callee), none
#     failed; both answered pings (AutoAnswered > 0: the pings were on).
#  2. parleyd's counters once the calls are over (polled, bounded):
#     live=0 active=0 early=0, the caller profile at 0, processed = the
#     calls placed, failed=0 and expired=0, terminated = processed.
#  3. Memory, when CALLS >= 20000 (make soak) or MEM_CHECK=1: a warm-up of
#     RATE * 40 calls first (long enough for the memory of calls and of
#     their transactions, which parleyd keeps 32 s, to reach its steady
#     state), then the baseline RSS, taken once the dialogs are gone and
#     34 s later (the transactions are gone too); after the soak, the same
#     wait, and the RSS must be within 10% + 8 MB of the baseline. In the
#     short run of make test the sanitizer build's LeakSanitizer, when
#     parleyd exits, is the memory check (the RSS is shown).
#  4. parleyd is still up, exits 0 on SIGTERM, and its log has no
#     sanitizer report.
#
# Environment: CALLS (default 2000), RATE (calls per second, default 200),
# HOLD_MS (default 2500), CALLERS (default 500), PROGRESS (seconds between
# progress lines, default 5), MEM_CHECK (1 or 0; default 1 from 20,000
# calls on), PARLEY_BIN, PARLEY_SRC. `make soak` runs it with
# CALLS=100000 RATE=500 on the optimised build; make test runs the short
# version on the sanitizer build.
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"
BIN=$(cd "${PARLEY_BIN:-build/bin}" && pwd)
SRC=$(cd "${PARLEY_SRC:-.}" && pwd)
SC=$SRC/tests/sipp
SIPP=$(command -v sipp || true)
[ -n "$SIPP" ] || { echo "sipp missing (scripts/bootstrap installs sip-tester)"; exit 1; }
[ -x "$BIN/parleyd" ] || { echo "no $BIN/parleyd (build it first, or set PARLEY_BIN)"; exit 1; }

CALLS=${CALLS:-2000}
RATE=${RATE:-200}
HOLD_MS=${HOLD_MS:-2500}
CALLERS=${CALLERS:-500}
PROGRESS=${PROGRESS:-5}
if [ -z "${MEM_CHECK:-}" ]; then
    MEM_CHECK=0
    [ "$CALLS" -ge 20000 ] && MEM_CHECK=1
fi
WARM=0
[ "$MEM_CHECK" = 1 ] && WARM=$((RATE * 40))

tmp=$(mktemp -d)
log=$tmp/parleyd.log
ppid=
upid=
cpid=
cleanup() {
    set +e
    for p in $cpid $upid; do
        kill "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    stop_group "$ppid"
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

say() { echo "soak: $*"; }

port=$(free_port)
uport=$(free_port)
while [ "$uport" = "$port" ]; do uport=$(free_port); done
cport=$(free_port)
while [ "$cport" = "$port" ] || [ "$cport" = "$uport" ]; do cport=$(free_port); done
proxy=127.0.0.1:$port

awk -v n="$CALLERS" 'BEGIN { print "SEQUENTIAL"; for (i = 0; i < n; i++) printf "caller%04d;\n", i }' >"$tmp/callers.csv"
cat >"$tmp/parleyd.conf" <<EOF
# The dialog soak's settings (tests/integration/parleyd_dialog_soak.sh).
workers = 2
dialogs = yes
dialog_ping_interval = 1s
caller_limit = 0
# No store (dialogs are not written anywhere) and no management listener
# (its default port is fixed; the counters come from SIGUSR1).
store = "none"
mgmt = "off"
state_dir = "$tmp/state"
EOF

"$BIN/parleyd" -c "$tmp/parleyd.conf" --script "$SRC/tests/integration/lib/dialog_soak.lua" --check \
    >"$tmp/check.out" 2>&1 || {
    bad "parleyd --check refuses the soak's configuration or script: $(cat "$tmp/check.out")"
    finish
}
setsid "$BIN/parleyd" -c "$tmp/parleyd.conf" --listen "udp:$proxy" \
    --script "$SRC/tests/integration/lib/dialog_soak.lua" --log-level info >"$log" 2>&1 &
ppid=$!

up=
for _ in $(seq 20); do
    kill -0 "$ppid" 2>/dev/null || break
    if timeout 2 "$BIN/parley" send OPTIONS "sip:$proxy" >/dev/null 2>&1; then
        up=1
        break
    fi
    sleep 0.1
done
if [ -z "$up" ]; then
    bad "parleyd did not answer OPTIONS on $proxy; its log:"
    tail -30 "$log"
    finish
fi
ok

# ---- helpers

# The value of COLUMN in the last row of SIPp statistics file FILE (0 when
# there is none yet).
stat() {
    [ -s "$1" ] || { echo 0; return; }
    awk -F';' -v col="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == col) c = i; next }
        { v = $c } END { print (c ? v + 0 : 0) }' "$1"
}

# parleyd's dialog counters: SIGUSR1, then the new "stats: dialogs" line
# of its log (bounded wait). Sets live active early processed expired
# failed terminated caller; returns 1 when no line came.
counters() {
    local before line
    before=$(grep -c 'stats: dialogs' "$log" || true)
    kill -USR1 "$ppid" 2>/dev/null || return 1
    for _ in $(seq 50); do
        [ "$(grep -c 'stats: dialogs' "$log" || true)" -gt "$before" ] && break
        sleep 0.1
    done
    line=$(grep 'stats: dialogs' "$log" | tail -1)
    [ -n "$line" ] || return 1
    live=$(field live "$line") active=$(field active "$line") early=$(field early "$line")
    processed=$(field processed "$line") expired=$(field expired "$line")
    failed=$(field failed "$line") terminated=$(field terminated "$line")
    caller=$(field caller "$line")
    [ -n "$live" ]
}

# field NAME LINE: the number after " NAME=" in LINE.
field() { sed -n "s/.* $1=\\([0-9]*\\).*/\\1/p" <<<"$2"; }

# parleyd's resident memory, kB.
rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$ppid/status" 2>/dev/null || echo 0; }

# wait_idle_dialogs: until parleyd has no dialog left and the caller
# profile is empty (bounded: HOLD_MS plus 60 s); returns 1 otherwise.
wait_idle_dialogs() {
    local i
    for i in $(seq $((HOLD_MS / 1000 + 60))); do
        counters || return 1
        [ "$live" = 0 ] && [ "$caller" = 0 ] && return 0
        [ "$i" = 1 ] || sleep 1
    done
    return 1
}

# The callee, for every call of the run (warm-up and soak), answering
# pings (-aa); bounded by its -timeout.
total=$((WARM + CALLS + 1))
limit=$((total / RATE + HOLD_MS / 1000 + 120))
(cd "$tmp" && exec "$SIPP" -sf "$SC/uas_rr.xml" -i 127.0.0.1 -p "$uport" -m "$total" -aa \
    -nostdin -timeout "$limit" -timeout_error -buff_size 4194304 \
    -trace_stat -stf "$tmp/uas.csv" -fd 1 -trace_err -error_file "$tmp/uas.err" \
    -max_log_size 4000000 >"$tmp/uas.out" 2>&1) &
upid=$!
hex=$(printf ':%04X ' "$uport")
for _ in $(seq 100); do
    grep -q "^ *[0-9]*: 0100007F$hex" /proc/net/udp && break
    kill -0 "$upid" 2>/dev/null || break
    sleep 0.05
done

# calls NAME N: N calls at RATE, each held HOLD_MS, through parleyd, with a
# progress line every PROGRESS seconds; sets crc (SIPp's exit status).
calls() {
    local name=$1 n=$2 t0 next now ended cf ua0
    t0=$(date +%s)
    ua0=$(stat "$tmp/uas.csv" 'AutoAnswered(C)')
    (cd "$tmp" && exec "$SIPP" "127.0.0.1:$uport" -rsa "$proxy" -sf "$SC/uac_dlg.xml" \
        -inf "$tmp/callers.csv" -i 127.0.0.1 -p "$cport" -r "$RATE" -m "$n" -d "$HOLD_MS" -aa \
        -nostdin -timeout $((n / RATE + HOLD_MS / 1000 + 60)) -timeout_error -buff_size 4194304 \
        -trace_stat -stf "$tmp/$name.csv" -fd 1 -trace_err -error_file "$tmp/$name.err" \
        -max_log_size 4000000 >"$tmp/$name.out" 2>&1) &
    cpid=$!
    next=$((t0 + PROGRESS))
    while kill -0 "$cpid" 2>/dev/null; do
        sleep 0.5
        now=$(date +%s)
        [ "$now" -ge "$next" ] || continue
        next=$((next + PROGRESS))
        ended=$(($(stat "$tmp/$name.csv" 'SuccessfulCall(C)') + $(stat "$tmp/$name.csv" 'FailedCall(C)')))
        cf=$(stat "$tmp/$name.csv" 'FailedCall(C)')
        counters || live='?' caller='?'
        say "$name, $((now - t0)) s: $ended of $n calls ended, $cf failed, $(stat "$tmp/$name.csv" 'CurrentCall') open;" \
            "parleyd: dialogs $live, caller profile $caller, RSS $(($(rss) / 1024)) MB;" \
            "pings answered: caller $(stat "$tmp/$name.csv" 'AutoAnswered(C)'), callee $(($(stat "$tmp/uas.csv" 'AutoAnswered(C)') - ua0))"
    done
    crc=0
    wait "$cpid" || crc=$?
    cpid=
}

# first_error NAME: SIPp's first logged error other than a ping it answered.
first_error() {
    grep -v -e 'Automatic response mode' -e '^The following events' "$tmp/$1.err" 2>/dev/null |
        grep -m1 . | cut -c1-300 || true
}

# ---- one call first: a parleyd that cannot run the script's dialog calls
# (a build without dialog tracking in scripts) fails here, with its reason,
# rather than with every call of the soak.
calls check 1
if [ "$crc" != 0 ] || [ "$(stat "$tmp/check.csv" 'SuccessfulCall(C)')" != 1 ]; then
    bad "a first call through parleyd failed: $(first_error check); parleyd says: $(grep -m1 -E '^[^ ]+ (warn|error) ' "$log" | cut -c1-400)"
    finish
fi
ok

# ---- warm-up and baseline (memory check only)
base=0
if [ "$MEM_CHECK" = 1 ]; then
    say "warm-up: $WARM calls at $RATE/s, each held $HOLD_MS ms"
    calls warm "$WARM"
    expect "warm-up: caller's sipp exit" "$crc" 0
    wait_idle_dialogs || bad "warm-up: dialogs left: live=$live caller=$caller"
    say "warm-up done; 34 s for the transactions to end (64*T1, RFC 6026)"
    sleep 34
    base=$(rss)
    say "baseline: RSS $((base / 1024)) MB"
fi

# ---- the soak
counters || bad "parleyd wrote no stats line on SIGUSR1"
processed0=${processed:-0}
rss0=$(rss)
say "$CALLS calls at $RATE/s, each held $HOLD_MS ms, $CALLERS callers, pings every 1 s; parleyd RSS $((rss0 / 1024)) MB"
calls soak "$CALLS"
expect "soak: caller's sipp exit" "$crc" 0
s=$(stat "$tmp/soak.csv" 'SuccessfulCall(C)')
f=$(stat "$tmp/soak.csv" 'FailedCall(C)')
if [ "$s" = "$CALLS" ] && [ "$f" = 0 ]; then ok; else
    bad "soak: caller: $s of $CALLS calls passed, $f failed; first error: $(first_error soak)"
fi
a=$(stat "$tmp/soak.csv" 'AutoAnswered(C)')
[ "$a" -gt 0 ] && ok || bad "the caller answered no ping: pings are not on"

# The callee ends with the last BYE; a callee still waiting 15 s after
# the caller has finished waits for calls that will not come.
for _ in $(seq 150); do
    kill -0 "$upid" 2>/dev/null || break
    sleep 0.1
done
kill "$upid" 2>/dev/null || true
urc=0
wait "$upid" || urc=$?
upid=
expect "callee's sipp exit" "$urc" 0
s=$(stat "$tmp/uas.csv" 'SuccessfulCall(C)')
f=$(stat "$tmp/uas.csv" 'FailedCall(C)')
if [ "$s" = "$total" ] && [ "$f" = 0 ]; then ok; else
    bad "callee: $s of $total calls passed, $f failed; first error: $(first_error uas)"
fi
ua=$(stat "$tmp/uas.csv" 'AutoAnswered(C)')
[ "$ua" -gt 0 ] && ok || bad "the callee answered no ping: pings are not on"

# ---- parleyd's counters back to zero
if wait_idle_dialogs; then ok; else
    bad "dialogs left after the calls: live=$live active=$active early=$early caller=$caller"
fi
expect "dialogs active" "$active" 0
expect "dialogs early" "$early" 0
expect "caller profile" "$caller" 0
expect "dialogs processed in the soak" $((processed - processed0)) "$CALLS"
expect "dialogs failed" "$failed" 0
expect "dialogs expired" "$expired" 0
expect "dialogs terminated" "$terminated" "$processed"
say "parleyd: processed=$processed terminated=$terminated failed=$failed expired=$expired;" \
    "pings answered in all: caller $a (the soak), callee $ua (every call)"

# ---- memory
if [ "$MEM_CHECK" = 1 ]; then
    say "34 s for the transactions to end"
    sleep 34
    end=$(rss)
    say "RSS: baseline $((base / 1024)) MB, after the soak $((end / 1024)) MB"
    if [ "$end" -le $((base + base / 10 + 8192)) ]; then ok; else
        bad "memory not back to baseline: RSS $((end / 1024)) MB after the soak, $((base / 1024)) MB before"
    fi
else
    say "RSS: $((rss0 / 1024)) MB before the soak, $(($(rss) / 1024)) MB after (checked by LeakSanitizer at exit in make test)"
fi

# ---- a clean exit
kill -0 "$ppid" 2>/dev/null && ok || bad "parleyd died: $(tail -20 "$log")"
kill -TERM "$ppid" 2>/dev/null || true
for _ in $(seq 100); do
    kill -0 "$ppid" 2>/dev/null || break
    sleep 0.1
done
if kill -0 "$ppid" 2>/dev/null; then
    bad "parleyd did not exit within 10 s of SIGTERM"
else
    prc=0
    wait "$ppid" || prc=$?
    ppid=
    expect "parleyd exit status on SIGTERM" "$prc" 0
fi
grep -qE "Sanitizer|runtime error" "$log" && bad "parleyd: $(grep -E -A30 "Sanitizer|runtime error" "$log" | head -50)" || ok
n=$(grep -c -E '^[^ ]+ (warn|error) ' "$log" || true)
[ "$n" = 0 ] || say "parleyd logged $n warning or error lines; the first: $(grep -m3 -E '^[^ ]+ (warn|error) ' "$log")"

if [ "$fail" != 0 ]; then
    echo "--- parleyd log (last 30 lines)"
    tail -30 "$log"
fi
finish
