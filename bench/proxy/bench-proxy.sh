#!/usr/bin/env bash
# bench-proxy - calls through a stateful SIP proxy on loopback UDP, parleyd
# against Kamailio, in one run: SIPp uac_rr.xml -> proxy -> SIPp uas_rr.xml
# (tests/sipp/), every call INVITE, 100, 180, 200, ACK, BYE, 200 with the
# proxy record-routing and the ACK and BYE routed along the route set.
# --dialog: both proxies also track each call as a dialog with a profile
# per caller (uac_dlg.xml; bench/proxy/parleyd-dialog.lua and
# bench/proxy/kamailio-dialog.cfg), and the memory of held dialogs is
# measured too.
#
# CMake copies this file to build/bin/bench-proxy (bench/CMakeLists.txt),
# with the source and binary folders written in below; `make bench` runs
# it. docs/benchmarks.md ("bench-proxy") says what is measured and how, and
# keeps the figures. Run with --help for the options.
set -euo pipefail

# Filled in by CMake; run from the source tree, the script finds its way.
SRC_DEFAULT='@PROJECT_SOURCE_DIR@'
BIN_DEFAULT='@PARLEY_BIN_DIR@'
case "$SRC_DEFAULT" in @*) SRC_DEFAULT=$(cd "$(dirname "$0")/../.." && pwd) ;; esac
case "$BIN_DEFAULT" in @*) BIN_DEFAULT=$SRC_DEFAULT/build/bin ;; esac
SRC=${PARLEY_SRC:-$SRC_DEFAULT}
BIN=${PARLEY_BIN:-$BIN_DEFAULT}

usage() {
    cat <<EOF
usage: bench-proxy [--quick | --long] [--workers N] [--only parleyd|kamailio]
                   [--kamailio-children N] [--cpu-rate R] [--keep]
                   [--dialog [--hold N] [--hold-rate R] [--callers N]]

SIPp (uac_rr.xml) -> proxy -> SIPp (uas_rr.xml) on 127.0.0.1 over UDP, for
parleyd and for Kamailio (Debian kamailio, tests/data/kamailio/bench-proxy.cfg:
tm, rr, record_route, t_relay; -x tlsf, 1 worker), one after the other.
For each proxy it prints:
  - the proxy's CPU time per call (utime + stime from /proc, every process
    of the proxy) over a measured window of calls at a fixed rate (1,000
    calls per second), and SIPp's own (caller + callee) over the same window;
  - the highest rate at which fewer than 0.1% of the calls failed, found by
    doubling the rate and then halving the interval (a line per step on
    stderr), with SIPp's CPU at that rate;
then, last, "proxy cps vs kamailio: <X>x" (parleyd's highest rate over
Kamailio's) and "proxy cpu per call vs kamailio: <X>x" (Kamailio's CPU per
call over parleyd's).

With --dialog, both proxies track dialogs: parleyd with
bench/proxy/parleyd-dialog.lua (dialog.create("bye-on-timeout") for each
initial INVITE, d:set_profile("caller", From user)), Kamailio with
bench/proxy/kamailio-dialog.cfg (the same plus the dialog module:
dlg_manage(), set_dlg_profile("caller", "\$fU"), dlg_match_mode 1). The
caller is tests/sipp/uac_dlg.xml, whose From user cycles over --callers
names. Before the CPU measurement, on the freshly started proxy:
  - memory: N/2 calls set up at --hold-rate and held (a pause before the
    BYE), then N/2 more the same way; the growth of the proxy's resident
    memory between the two, each taken once the calls' transactions are
    gone, divided by N/2, is its memory per held dialog (with N held at
    the end). Resident memory is the sum of PSS (/proc/PID/smaps_rollup)
    over every process of the proxy: Kamailio's processes share its
    memory pool, which PSS counts once; parleyd is one process. Kamailio's
    shared pool growth is shown too (kamcmd core.shmmem). The proxy's own
    dialog counters must show the N dialogs, and zero (dialogs and the
    caller profile) after the BYEs.
It ends with "dialog cps vs kamailio", "dialog cpu per call vs kamailio"
and "dialog memory vs kamailio: <X>x" (Kamailio's bytes per held dialog
over parleyd's).

  --quick                short steps and windows: a smoke run (about 1 min)
  --long                 long steps and windows (about 10 min)
  --workers N            parleyd's worker threads (default 1)
  --kamailio-children N  Kamailio's UDP workers (default 1, its best here)
  --cpu-rate R           the fixed rate of the CPU measurement (default 1000)
  --only NAME            measure one proxy only (no ratios)
  --keep                 keep the work folder (logs, SIPp statistics)
  --dialog               dialog mode (above; about 12 min, --quick about 5)
  --hold N               dialog mode: calls held for the memory measurement
                         (default 20000; 5000 with --quick; with a few
                         thousand or less the allocators' steps dominate)
  --hold-rate R          dialog mode: the rate they are set up at (default 1000)
  --callers N            dialog mode: distinct From users (default 1000)
  -h, --help             this text

Environment: PARLEY_SRC (source tree, default $SRC_DEFAULT),
PARLEY_BIN (programs, default $BIN_DEFAULT).
Exit status: 0; 1 for a usage error; 2 when a proxy failed (not built, did
not start, failed calls at the fixed rate or, with --dialog, while held).
EOF
}

mode=default
workers=1
kchildren=1
cpu_rate=1000
only=
keep=0
dialog=0
hold=
hold_rate=1000
callers=1000
while [ $# -gt 0 ]; do
    case "$1" in
    --dialog) dialog=1 ;;
    --hold) hold=${2:?--hold needs a number}; shift ;;
    --hold-rate) hold_rate=${2:?--hold-rate needs a number}; shift ;;
    --callers) callers=${2:?--callers needs a number}; shift ;;
    --quick) mode=quick ;;
    --long) mode=long ;;
    --workers) workers=${2:?--workers needs a number}; shift ;;
    --kamailio-children) kchildren=${2:?--kamailio-children needs a number}; shift ;;
    --cpu-rate) cpu_rate=${2:?--cpu-rate needs a number}; shift ;;
    --only) only=${2:?--only needs parleyd or kamailio}; shift ;;
    --keep) keep=1 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "bench-proxy: unknown option '$1' (see --help)" >&2; exit 1 ;;
    esac
    shift
done
[ -n "$hold" ] || { [ "$mode" = quick ] && hold=5000 || hold=20000; }
for n in "$workers" "$kchildren" "$cpu_rate" "$hold" "$hold_rate" "$callers"; do
    [ "$n" -ge 1 ] 2>/dev/null || { echo "bench-proxy: '$n' is not a positive number" >&2; exit 1; }
done
case "$only" in "" | parleyd | kamailio) ;; *) echo "bench-proxy: --only parleyd or kamailio" >&2; exit 1 ;; esac

# Warm-up and measured calls at the fixed rate; seconds per search step;
# search steps at most; the search stops once the interval is this tight
# (percent of the rate that passed).
case $mode in
quick) warm_calls=$cpu_rate; cpu_calls=$((cpu_rate * 3)); step_s=2; max_steps=8; tight=20 ;;
long) warm_calls=$((cpu_rate * 5)); cpu_calls=$((cpu_rate * 30)); step_s=15; max_steps=16; tight=3 ;;
*) warm_calls=$((cpu_rate * 2)); cpu_calls=$((cpu_rate * 10)); step_s=5; max_steps=12; tight=5 ;;
esac
start_rate=1000

SIPP=$(command -v sipp || true)
KAMAILIO=$(command -v kamailio || echo /usr/sbin/kamailio)
[ -n "$SIPP" ] || { echo "bench-proxy: sipp not found (scripts/bootstrap installs sip-tester)" >&2; exit 2; }
SC=$SRC/tests/sipp
[ -f "$SC/uac_rr.xml" ] || { echo "bench-proxy: no $SC/uac_rr.xml (set PARLEY_SRC)" >&2; exit 2; }
HZ=$(getconf CLK_TCK)
ncores=$(nproc)

work=$(mktemp -d "${TMPDIR:-/tmp}/bench-proxy.XXXXXX")

# What the caller runs, and each proxy's script or configuration.
UAC_XML=$SC/uac_rr.xml
UAC_EXTRA=()
PARLEYD_SCRIPT=$SRC/etc/parley.lua
KAMAILIO_CFG=$SRC/tests/data/kamailio/bench-proxy.cfg
bench=proxy
parleyd_log_level=error
if [ "$dialog" = 1 ]; then
    bench=dialog
    # parleyd logs its dialog counters (SIGUSR1) at level info; it logs
    # nothing per call at that level.
    parleyd_log_level=info
    UAC_XML=$SC/uac_dlg.xml
    PARLEYD_SCRIPT=$SRC/bench/proxy/parleyd-dialog.lua
    KAMAILIO_CFG=$SRC/bench/proxy/kamailio-dialog.cfg
    # The callers' names, one per call in turn (SIPp's -inf).
    awk -v n="$callers" 'BEGIN { print "SEQUENTIAL"; for (i = 0; i < n; i++) printf "caller%05d;\n", i }' \
        >"$work/callers.csv"
    UAC_EXTRA=(-inf "$work/callers.csv")
fi
proxy_pid=
uas_pid=
# The callers running (start_uac), by name: the subshell that waits for
# SIPp, the time it started, its calls.
declare -A uac_pids uac_t0s uac_ns
cleanup() {
    set +e
    for f in "$work"/*.uacpid; do
        [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null
    done
    for f in "${uac_pids[@]}"; do kill "$f" 2>/dev/null; done
    [ -n "$uas_pid" ] && kill "$uas_pid" 2>/dev/null
    stop_proxy
    if [ "$keep" = 1 ]; then echo "bench-proxy: work folder kept: $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

say() { echo "bench-proxy: $*" >&2; }

# A port free for UDP and TCP on 127.0.0.1, and not one of the arguments.
free_port() {
    local p
    while :; do
        p=$(python3 -c '
import socket
while True:
    t = socket.socket(); t.bind(("127.0.0.1", 0)); p = t.getsockname()[1]
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        u.bind(("127.0.0.1", p)); print(p); break
    except OSError:
        pass
    finally:
        u.close(); t.close()')
        case " $* " in *" $p "*) ;; *) echo "$p"; return ;; esac
    done
}

# CPU ticks (utime + stime, /proc/PID/stat) of one process, all its threads.
pid_ticks() {
    local line rest
    line=$(cat "/proc/$1/stat" 2>/dev/null) || { echo 0; return; }
    # After "PID (comm) ": state is field 1, utime field 12, stime 13.
    rest=${line##*) }
    # shellcheck disable=SC2086
    set -- $rest
    echo $((${12} + ${13}))
}

# CPU ticks of every process in session SID: the proxy runs under setsid,
# so this is Kamailio with all its children, or parleyd.
session_ticks() {
    local p sum=0
    for p in $(pgrep -s "$SID" || true); do
        sum=$((sum + $(pid_ticks "$p")))
    done
    echo "$sum"
}

# Datagrams the kernel dropped because the receive buffer of a UDP socket
# bound to 127.0.0.1:PORT was full (the "d" of ss's skmem), summed over
# the sockets (parleyd's workers may each have one).
sock_drops() {
    ss -uanm "sport = :$1" 2>/dev/null | sed -n 's/.*skmem:(.*,d\([0-9]*\)).*/\1/p' |
        awk '{ n += $1 } END { print n + 0 }'
}

# Wall clock in ms.
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# The value of COLUMN in the last row of SIPp statistics file FILE (0 if none).
stat_col() {
    [ -s "$1" ] || { echo 0; return; }
    awk -F';' -v col="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == col) c = i; next }
        { v = $c } END { print (c ? v + 0 : 0) }' "$1"
}

# ---------------------------------------------------------------- proxies

proxy_port=
start_parleyd() {
    if [ ! -x "$BIN/parleyd" ]; then
        say "parleyd: $BIN/parleyd is not built (make; it comes with the proxy of issue 5)"
        return 1
    fi
    if [ "$dialog" = 1 ] && ! "$BIN/parleyd" -c /dev/null --check --script "$PARLEYD_SCRIPT" >"$work/parleyd-check.log" 2>&1; then
        say "parleyd: $PARLEYD_SCRIPT does not load (no dialog tracking in this build?): $(tail -3 "$work/parleyd-check.log")"
        return 1
    fi
    # Kamailio runs without a database: no store for parleyd either (its
    # default keeps dialogs in SQLite), no management listener (its
    # default port is fixed), and its state in the work folder. In the
    # proxy mode no dialog tracking either, as Kamailio's bench-proxy.cfg
    # (etc/parley.lua then tracks nothing, and its per-caller limit, which
    # SIPp's one caller would reach, is off).
    printf 'store = "none"\nmgmt = "off"\nstate_dir = "%s"\ndialogs = %s\n' "$work/parleyd-state" \
        "$([ "$dialog" = 1 ] && echo yes || echo no)" >"$work/parleyd.conf"
    # glibc gives memory back to the kernel when enough of it is free at
    # the top of a heap; Kamailio's pool never does. Without trimming,
    # parleyd's resident memory, like Kamailio's, only grows, and the
    # memory measurement (measure_memory) is not undone by a trim that
    # happens to fall between its two readings.
    GLIBC_TUNABLES=glibc.malloc.trim_threshold=1099511627776 \
        setsid "$BIN/parleyd" -c "$work/parleyd.conf" --listen "udp:127.0.0.1:$proxy_port" --script "$PARLEYD_SCRIPT" \
        --workers "$workers" --log-level "$parleyd_log_level" >"$work/parleyd.log" 2>&1 &
    proxy_pid=$!
}

start_kamailio() {
    local modules=/usr/lib/x86_64-linux-gnu/kamailio/modules
    [ -x "$KAMAILIO" ] || { say "kamailio: not installed (scripts/bootstrap installs it)"; return 1; }
    [ -d "$modules" ] || modules=$(dirname "$(find /usr/lib -name tm.so -path '*kamailio/modules*' 2>/dev/null | head -1)")
    mkdir -p "$work/kamailio"
    # Its own runtime folder (-Y), pid file (-P) and working folder (-w);
    # TLSF, the fast allocator (-x); 4 GB of shared memory, touched only as
    # used: tm keeps each call's transactions about 5 s after they end
    # (about 28 KB a call), and with 1 GB new transactions failed from 8,000
    # calls a second on; children from --kamailio-children.
    # The dialog configuration takes the path of its control socket
    # (kamcmd reads the dialog counters and the memory pool through it).
    local defs=()
    [ "$dialog" = 1 ] && defs=(-A "CTL_SOCK=\"unix:$work/kamailio/ctl\"")
    setsid "$KAMAILIO" -f "$KAMAILIO_CFG" -DD -E -x tlsf "${defs[@]}" \
        -L "$modules" -w "$work/kamailio" -Y "$work/kamailio" -P "$work/kamailio/kamailio.pid" \
        -m 4096 -M 16 -n "$kchildren" -l "udp:127.0.0.1:$proxy_port" >"$work/kamailio.log" 2>&1 &
    proxy_pid=$!
}

stop_proxy() {
    [ -n "$proxy_pid" ] || return 0
    kill "$proxy_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$proxy_pid" 2>/dev/null || break; sleep 0.1; done
    # Whatever is left of its session (setsid made it the group leader).
    kill -KILL -- "-$proxy_pid" 2>/dev/null || true
    wait "$proxy_pid" 2>/dev/null || true
    proxy_pid=
}

# Wait (bounded, ~10 s) until the proxy answers OPTIONS (tests/sipp/options.xml).
wait_proxy() {
    local i
    for i in $(seq 40); do
        kill -0 "$proxy_pid" 2>/dev/null || return 1
        if (cd "$work" && timeout 5 "$SIPP" "127.0.0.1:$proxy_port" -sf "$SC/options.xml" -i 127.0.0.1 \
            -m 1 -nostdin -timeout 1 -timeout_error >/dev/null 2>&1); then
            return 0
        fi
        [ "$i" -gt 0 ] && sleep 0.1
    done
    return 1
}

# Wait (bounded, 60 s) until the proxy is idle: under 2% of a core for
# half a second, so that a step does not pay for the last one's backlog.
wait_idle() {
    local a b
    for _ in $(seq 120); do
        a=$(session_ticks)
        sleep 0.5
        b=$(session_ticks)
        [ $(((b - a) * 100 * 2 / HZ)) -lt 2 ] && return 0
    done
    say "the proxy is still busy after 60 s"
}

# ---------------------------------------------------------------- SIPp

SIPP_TUNING=(-buff_size 4194304 -max_recv_loops 10000 -max_sched_loops 10000)

# The callee, until stopped, on uas_port; waits (bounded) until it is bound.
start_uas() {
    local name=$1 hex
    (cd "$work" && exec "$SIPP" -sf "$SC/uas_rr.xml" -i 127.0.0.1 -p "$uas_port" -nostdin \
        "${SIPP_TUNING[@]}" -trace_stat -stf "$work/$name.csv" -fd 1 \
        >"$work/$name.out" 2>&1) &
    uas_pid=$!
    hex=$(printf ':%04X ' "$uas_port")
    for _ in $(seq 100); do
        grep -q "^ *[0-9]*: 0100007F$hex" /proc/net/udp && return 0
        kill -0 "$uas_pid" 2>/dev/null || break
        sleep 0.05
    done
    say "the callee SIPp did not start: $(tail -5 "$work/$name.out")"
    return 1
}

stop_uas() {
    [ -n "$uas_pid" ] || return 0
    kill "$uas_pid" 2>/dev/null || true
    wait "$uas_pid" 2>/dev/null || true
    uas_pid=
}

# start_uac NAME RATE CALLS [HOLD_MS [PORT]]: a caller, in the
# background, to uas_port through the proxy, from PORT (default uac_port),
# until CALLS calls are done (or a time limit: the calls left are
# failures); each call is held HOLD_MS (default 0) between ACK and BYE.
# finish_uac NAME waits for it.
start_uac() {
    local name=$1 rate=$2 n=$3 hold_ms=${4:-0} port=${5:-$uac_port} limit
    # Calls still open 10 s after the last one should have ended have
    # failed. SIPp does not always honour its -timeout when overloaded:
    # timeout(1) is the outer bound.
    limit=$((n / rate + 10 + hold_ms / 1000))
    uac_ns[$name]=$n
    uac_t0s[$name]=$(now_ms)
    (
        cd "$work"
        timeout -k 5 $((limit + 10)) "$SIPP" "127.0.0.1:$uas_port" -rsa "127.0.0.1:$proxy_port" \
            -sf "$UAC_XML" "${UAC_EXTRA[@]}" -i 127.0.0.1 -p "$port" -r "$rate" -m "$n" \
            -d "$hold_ms" -nostdin -timeout "$limit" "${SIPP_TUNING[@]}" \
            -trace_stat -stf "$work/$name.csv" -fd 1 \
            -trace_err -error_file "$work/$name.errors" \
            >"$work/$name.out" 2>&1 &
        echo $! >"$work/$name.uacpid"
        st=0
        wait $! || st=$?
        # Line 2 of `times`: the CPU of this subshell's children, SIPp
        # included (timeout waited for it). Not in a pipeline, which would
        # run `times` in a new process.
        times >"$work/$name.times"
        exit $st
    ) &
    uac_pids[$name]=$!
}

# finish_uac NAME: wait for that caller. Sets calls_ok, calls_failed,
# wall_ms (start to exit), uac_ticks (its CPU, from the shell's `times`
# after waiting for it).
finish_uac() {
    local name=$1
    wait "${uac_pids[$name]}" || true
    unset "uac_pids[$name]"
    rm -f "$work/$name.uacpid"
    wall_ms=$(($(now_ms) - uac_t0s[$name]))
    calls_ok=$(stat_col "$work/$name.csv" 'SuccessfulCall(C)')
    calls_failed=$((uac_ns[$name] - calls_ok))
    # "0m1.230s 0m0.450s" -> ticks.
    uac_ticks=$(awk -v hz="$HZ" 'NR == 2 { t = 0; for (i = 1; i <= 2; i++) { split($i, a, /[ms]/); t += a[1] * 60 + a[2] } printf "%d\n", t * hz + 0.5 }' "$work/$name.times" 2>/dev/null || echo 0)
    [ -n "$uac_ticks" ] || uac_ticks=0
    return 0
}

# stop_uac NAME: end that caller now (its calls are lost).
stop_uac() {
    [ -n "${uac_pids[$1]:-}" ] || return 0
    [ -f "$work/$1.uacpid" ] && kill "$(cat "$work/$1.uacpid")" 2>/dev/null
    wait "${uac_pids[$1]}" 2>/dev/null || true
    unset "uac_pids[$1]"
    rm -f "$work/$1.uacpid"
}

# run_uac NAME RATE CALLS: start_uac and finish_uac, calls not held.
run_uac() {
    start_uac "$1" "$2" "$3"
    finish_uac "$1"
}

# Microseconds per call, one decimal: us TICKS CALLS
us() { awk -v t="$1" -v hz="$HZ" -v n="$2" 'BEGIN { if (n > 0) printf "%.1f", t * 1e6 / hz / n; else print "n/a" }'; }
# Percent of a core: pct TICKS WALL_MS
pct() { awk -v t="$1" -v hz="$HZ" -v w="$2" 'BEGIN { if (w > 0) printf "%.0f", t * 1e5 / hz / w; else print 0 }'; }

# ---------------------------------------------------------------- dialogs

KAMCMD=$(command -v kamcmd || echo /usr/sbin/kamcmd)
kamcmd_() { "$KAMCMD" -s "unix:$work/kamailio/ctl" "$@" 2>/dev/null; }

# Resident memory of the proxy in kB: the sum of PSS (proportional set
# size, /proc/PID/smaps_rollup) over every process of its session. A page
# shared by n processes counts 1/n in each, so Kamailio's shared memory
# pool, mapped by all its processes, counts once; parleyd is one process
# (its PSS is its RSS less its share of the shared libraries).
session_pss() {
    local p v sum=0
    for p in $(pgrep -s "$SID" || true); do
        v=$(awk '/^Pss:/ { print $2; exit }' "/proc/$p/smaps_rollup" 2>/dev/null || true)
        sum=$((sum + ${v:-0}))
    done
    echo "$sum"
}

# Bytes in use in Kamailio's shared memory pool (real_used), 0 otherwise.
kam_shm() {
    [ "$1" = kamailio ] || { echo 0; return; }
    kamcmd_ core.shmmem | awk '/real_used:/ { print $2 }' | grep . || echo 0
}

# dlg_counts NAME: the proxy's own dialog counters. Sets dc_live (dialogs
# in memory, any state), dc_active (confirmed) and dc_profile (members of
# the caller profile, every value), each "?" when the proxy cannot tell.
# Kamailio: kamcmd dlg.stats_active and dlg.profile_get_size. parleyd: the
# stats line it writes to its log on SIGUSR1 ("stats: dialogs live=N
# active=N ... profiles caller=N"), when the build has it (a parleyd
# without it would die of the signal).
dlg_counts() {
    local out before line
    dc_live='?' dc_active='?' dc_profile='?'
    case $1 in
    kamailio)
        out=$(kamcmd_ dlg.stats_active) || return 0
        dc_live=$(awk '/all:/ { print $2 }' <<<"$out")
        dc_active=$(awk '/ongoing:/ { print $2 }' <<<"$out")
        dc_profile=$(kamcmd_ dlg.profile_get_size caller | tr -dc 0-9)
        ;;
    parleyd)
        grep -aq 'stats: dialogs' "$BIN/parleyd" || return 0
        before=$(grep -c 'stats: dialogs' "$work/parleyd.log" || true)
        kill -USR1 "$proxy_pid" 2>/dev/null || return 0
        for _ in $(seq 50); do
            [ "$(grep -c 'stats: dialogs' "$work/parleyd.log" || true)" -gt "$before" ] && break
            sleep 0.1
        done
        line=$(grep 'stats: dialogs' "$work/parleyd.log" | tail -1)
        dc_live=$(sed -n 's/.* live=\([0-9]*\).*/\1/p' <<<"$line")
        dc_active=$(sed -n 's/.* active=\([0-9]*\).*/\1/p' <<<"$line")
        dc_profile=$(sed -n 's/.*profiles.* caller=\([0-9]*\).*/\1/p' <<<"$line")
        ;;
    esac
    dc_live=${dc_live:-?} dc_active=${dc_active:-?} dc_profile=${dc_profile:-?}
}

# wait_txns NAME: until the transactions of the calls so far are gone, so
# that their memory is not counted as the dialogs'. Kamailio's tm keeps a
# finished transaction about 5 s: poll its count (kamcmd tm.stats, bounded
# 60 s). parleyd keeps an answered INVITE's transactions 64*T1 = 32 s
# (RFC 6026 Timers L and M) and has no counter to read: wait 34 s.
wait_txns() {
    local n
    if [ "$1" = kamailio ]; then
        for _ in $(seq 120); do
            n=$(kamcmd_ tm.stats | awk '/current:/ { print $2 }')
            [ "${n:-1}" = 0 ] && return 0
            sleep 0.5
        done
        say "kamailio: transactions still open after 60 s: $n"
    else
        sleep 34
    fi
}

# wait_held NAME UAC WANT: until the proxy counts WANT dialogs confirmed
# (bounded: twice the set-up time of caller UAC's calls plus 10 s), with a
# progress line every 5 s; without counters, until SIPp UAC has every
# call open and their set-up time has passed, plus 3 s. Returns 1 on
# time-out (res_note says why).
wait_held() {
    local name=$1 uac=$2 want=$3 setup_ms t_end next open elapsed
    setup_ms=$((uac_ns[$uac] * 1000 / hold_rate))
    t_end=$((uac_t0s[$uac] + setup_ms * 2 + 10000))
    next=$(($(now_ms) + 5000))
    while :; do
        sleep 1
        dlg_counts "$name"
        open=$(stat_col "$work/$uac.csv" 'CurrentCall')
        elapsed=$(($(now_ms) - uac_t0s[$uac]))
        [ "$dc_active" = "$want" ] && return 0
        [ "$dc_active" = '?' ] && [ "$open" = "${uac_ns[$uac]}" ] && [ "$elapsed" -ge $((setup_ms + 3000)) ] && return 0
        if [ "$(now_ms)" -ge "$t_end" ]; then
            res_note="only $dc_active of $want dialogs confirmed (SIPp: $open calls open) after $((elapsed / 1000)) s"
            say "$name: $res_note"
            return 1
        fi
        if [ "$(now_ms)" -ge "$next" ]; then
            say "$name: memory: dialogs $dc_live (confirmed $dc_active of $want), SIPp $open calls open"
            next=$((next + 5000))
        fi
    done
}

# measure_memory NAME: on a proxy that has done the check calls only, the
# memory per held dialog: hold N/2 calls, and once their transactions are
# gone take the proxy's resident memory; hold N/2 more the same way and
# take it again; the growth over the second half, per dialog. Both halves
# are set up at the same rate, so the memory the first half's
# transactions took and gave back (which the allocator reuses and the
# kernel still counts as resident) is the same that the second half's
# take again: the growth is what the second N/2 dialogs hold. Sets
# res_mem (bytes per held dialog) and res_mem_line (the details);
# returns 1 when calls failed or could not be held long enough.
measure_memory() {
    local name=$1 half linger setup_s hold_a hold_b cold mid full after shm0 shm1 uac_port2 ta tb now failed=0
    half=$((hold / 2))
    uac_port2=$(free_port "$proxy_port" "$uas_port" "$uac_port")
    # The hold of each half: its set-up with half as much time again to
    # spare, the wait for the transactions (wait_txns: about 8 s for
    # Kamailio, 34 for parleyd), 20 s for the rest; the first half waits
    # for the second too.
    setup_s=$(((half + hold_rate - 1) / hold_rate))
    linger=$([ "$name" = kamailio ] && echo 8 || echo 34)
    hold_b=$(((setup_s * 3 / 2 + linger + 20) * 1000))
    hold_a=$((hold_b + (setup_s * 3 / 2 + linger) * 1000))
    wait_idle
    cold=$(session_pss)
    say "$name: memory: PSS $((cold / 1024)) MB over $(pgrep -s "$SID" | wc -l) processes after the check; first half: $half calls at $hold_rate/s, held $((hold_a / 1000)) s"
    start_uac "holdA_$name" "$hold_rate" "$half" "$hold_a"
    wait_held "$name" "holdA_$name" "$half" || { stop_uac "holdA_$name"; return 1; }
    say "$name: memory: $half calls held; waiting for their transactions to end"
    wait_txns "$name"
    mid=$(session_pss)
    shm0=$(kam_shm "$name")
    say "$name: memory: PSS $((mid / 1024)) MB with $half held; second half: $half calls at $hold_rate/s, held $((hold_b / 1000)) s"
    start_uac "holdB_$name" "$hold_rate" "$half" "$hold_b" "$uac_port2"
    if ! wait_held "$name" "holdB_$name" $((half * 2)); then
        stop_uac "holdB_$name"
        stop_uac "holdA_$name"
        return 1
    fi
    say "$name: memory: $((half * 2)) calls held (dialogs $dc_live, caller profile $dc_profile); waiting for their transactions to end"
    wait_txns "$name"
    full=$(session_pss)
    shm1=$(kam_shm "$name")
    dlg_counts "$name"
    ta=${uac_t0s[holdA_$name]} tb=${uac_t0s[holdB_$name]} now=$(now_ms)
    if [ $((now - ta)) -ge "$hold_a" ] || [ $((now - tb)) -ge "$hold_b" ] ||
        { [ "$dc_active" != '?' ] && [ "$dc_active" != $((half * 2)) ]; }; then
        res_note="the $((half * 2)) calls were not all held when measured (confirmed dialogs: $dc_active)"
        say "$name: $res_note"
        stop_uac "holdB_$name"
        stop_uac "holdA_$name"
        return 1
    fi
    res_mem=$(((full - mid) * 1024 / half))
    res_mem_line="PSS $((cold / 1024)) MB after the check, $((mid / 1024)) MB with $half calls held, $((full / 1024)) MB with $((half * 2)): $res_mem bytes per dialog over the second half ($(((full - cold) * 1024 / (half * 2))) over all, transactions' peak included)"
    [ "$name" = kamailio ] && res_mem_line="$res_mem_line; shared pool (real_used) $(((shm1 - shm0) / half)) bytes per dialog"
    say "$name: memory: $res_mem_line"
    say "$name: memory: releasing the held calls (BYE)"
    finish_uac "holdA_$name"
    failed=$calls_failed
    finish_uac "holdB_$name"
    failed=$((failed + calls_failed))
    if [ "$failed" != 0 ]; then
        res_note="$failed of the $((half * 2)) held calls failed"
        say "$name: $res_note"
        return 1
    fi
    # Every dialog gone, and the profile empty (bounded, 30 s).
    for _ in $(seq 30); do
        dlg_counts "$name"
        [ "$dc_live" = 0 ] && [ "$dc_profile" = 0 ] && break
        [ "$dc_live" = '?' ] && break
        sleep 1
    done
    after=$(session_pss)
    res_mem_line="$res_mem_line; after the BYEs: dialogs $dc_live, caller profile $dc_profile, PSS $((after / 1024)) MB"
    if [ "$dc_live" != '?' ] && { [ "$dc_live" != 0 ] || [ "$dc_profile" != 0 ]; }; then
        res_mem_line="$res_mem_line (NOT BACK TO ZERO)"
    fi
    say "$name: memory: after the BYEs: dialogs $dc_live, caller profile $dc_profile, PSS $((after / 1024)) MB"
    return 0
}

# ---------------------------------------------------------------- one proxy

# measure NAME: sets res_cpu, res_sipp_cpu, res_rate, res_note, res_ok, and
# with --dialog res_mem and res_mem_line.
measure() {
    local name=$1 err a b u0 u1 d0 drops rate lo hi steps ok_step proxy_pct sipp_pct uas_pct achieved note
    res_ok=0 res_cpu=n/a res_sipp_cpu=n/a res_rate=n/a res_note="" res_sipp_pct=n/a res_mem=n/a res_mem_line=""
    proxy_port=$(free_port)
    uas_port=$(free_port "$proxy_port")
    uac_port=$(free_port "$proxy_port" "$uas_port")
    say "$name: starting on udp:127.0.0.1:$proxy_port"
    "start_$name" || return 0
    SID=$proxy_pid
    if ! wait_proxy; then
        say "$name: did not answer OPTIONS; its log:"
        tail -20 "$work/$name.log" >&2
        stop_proxy
        return 0
    fi
    start_uas "uas_$name" || { stop_proxy; return 0; }

    # Check first: 20 calls at 20 per second, every one must pass on both
    # sides (the callee checks Record-Route on the INVITE and no Route on
    # the BYE).
    run_uac "check_$name" 20 20
    if [ "$calls_failed" != 0 ] || [ "$(stat_col "$work/uas_$name.csv" 'FailedCall(C)')" != 0 ]; then
        # The callee's statistics are written every second: read them again.
        sleep 1.1
    fi
    if [ "$calls_failed" != 0 ] || [ "$(stat_col "$work/uas_$name.csv" 'FailedCall(C)')" != 0 ]; then
        say "$name: the check calls failed: caller $calls_ok of 20 passed, callee failed $(stat_col "$work/uas_$name.csv" 'FailedCall(C)'); see $work (--keep)"
        keep=1
        stop_uas
        stop_proxy
        return 0
    fi

    # Memory per held dialog, on the proxy as fresh as it can be.
    if [ "$dialog" = 1 ] && ! measure_memory "$name"; then
        keep=1
        stop_uas
        stop_proxy
        return 0
    fi

    # CPU per call at the fixed rate: a warm-up, then the measured window.
    say "$name: warm-up, $warm_calls calls at $cpu_rate/s"
    run_uac "warm_$name" "$cpu_rate" "$warm_calls"
    wait_idle
    say "$name: measuring, $cpu_calls calls at $cpu_rate/s"
    a=$(session_ticks)
    u0=$(pid_ticks "$uas_pid")
    run_uac "cpu_$name" "$cpu_rate" "$cpu_calls"
    b=$(session_ticks)
    u1=$(pid_ticks "$uas_pid")
    if [ "$calls_failed" -gt 0 ]; then
        say "$name: $calls_failed of $cpu_calls calls failed at $cpu_rate/s"
        res_note="$calls_failed calls failed at $cpu_rate/s"
        stop_uas
        stop_proxy
        return 0
    fi
    res_cpu=$(us $((b - a)) "$calls_ok")
    res_sipp_cpu=$(us $((uac_ticks + u1 - u0)) "$calls_ok")
    say "$name: $res_cpu us of CPU per call (proxy), SIPp $res_sipp_cpu us (caller $(us "$uac_ticks" "$calls_ok"), callee $(us $((u1 - u0)) "$calls_ok")), over $calls_ok calls in $wall_ms ms"

    # The highest rate with fewer than 0.1% failed calls: double until a
    # step fails, then halve the interval between the best pass and the
    # first failure. A step fails too when the rate was not reached (the
    # step took more than 1/0.95 of its time, plus 1 s for SIPp's start
    # and exit and the last calls). The note says what was busy at the
    # last failed step: a SIPp at 90% of a core or more (the load tool is
    # the limit), or every core of the machine.
    lo=0 hi=0 steps=0 rate=$start_rate note=""
    while [ $steps -lt "$max_steps" ]; do
        steps=$((steps + 1))
        wait_idle
        a=$(session_ticks)
        u0=$(pid_ticks "$uas_pid")
        d0=$(sock_drops "$proxy_port")
        run_uac "step${steps}_$name" "$rate" $((rate * step_s))
        b=$(session_ticks)
        u1=$(pid_ticks "$uas_pid")
        drops=$(($(sock_drops "$proxy_port") - d0))
        proxy_pct=$(pct $((b - a)) "$wall_ms")
        sipp_pct=$(pct "$uac_ticks" "$wall_ms")
        uas_pct=$(pct $((u1 - u0)) "$wall_ms")
        achieved=$(awk -v n="$((rate * step_s))" -v w="$wall_ms" 'BEGIN { printf "%d", n * 1000 / w }')
        ok_step=1
        # failed * 1000 < calls: fewer than 0.1%.
        [ $((calls_failed * 1000)) -lt $((rate * step_s)) ] || ok_step=0
        [ "$wall_ms" -le $(((step_s * 1000 * 100 / 95) + 1000)) ] || ok_step=0
        say "$name: step $steps: $rate calls/s for ${step_s} s: $calls_ok passed, $calls_failed failed, $wall_ms ms ($achieved/s); CPU: proxy $proxy_pct%, SIPp caller $sipp_pct%, callee $uas_pct% of a core; $drops datagrams dropped at the proxy's full socket buffer: $([ $ok_step = 1 ] && echo pass || echo FAIL)"
        if [ "$calls_failed" -gt 0 ] && [ -s "$work/step${steps}_$name.errors" ]; then
            # The first aborted call says more than the stray messages
            # (retransmissions reaching ended calls) logged before it.
            err=$(grep -m1 -E '^[0-9]{4}-.*(Aborting|[Ff]ailed|timed out)' "$work/step${steps}_$name.errors" ||
                grep -m1 -E '^[0-9]{4}-[0-9]{2}-[0-9]{2}' "$work/step${steps}_$name.errors" || true)
            say "$name: step $steps: SIPp's first error: $(cut -f3- <<<"$err" | cut -c1-200)"
        fi
        if [ $ok_step = 0 ]; then
            # CPU over the step's nominal time, when the calls were sent (a
            # failed step drags on with retransmissions and timeouts).
            proxy_pct=$(pct $((b - a)) $((step_s * 1000)))
            sipp_pct=$(pct "$uac_ticks" $((step_s * 1000)))
            uas_pct=$(pct $((u1 - u0)) $((step_s * 1000)))
            note=""
            if [ "$sipp_pct" -ge 90 ] || [ "$uas_pct" -ge 90 ]; then
                note="at $rate/s SIPp used $sipp_pct% (caller) and $uas_pct% (callee) of a core: the load tool is the limit"
            elif [ $((proxy_pct + sipp_pct + uas_pct)) -ge $((90 * ncores)) ]; then
                note="at $rate/s the proxy ($proxy_pct%) and SIPp ($sipp_pct% + $uas_pct%) used the machine's $ncores cores"
            elif [ "$drops" -gt 0 ]; then
                note="at $rate/s the proxy's UDP receive buffer overflowed ($drops datagrams dropped)"
            fi
        fi
        if [ $ok_step = 1 ]; then
            lo=$rate
            res_sipp_pct="$sipp_pct% + $uas_pct%"
            if [ "$hi" = 0 ]; then rate=$((rate * 2)); else rate=$(((lo + hi) / 2)); fi
        else
            hi=$rate
            rate=$(((lo + hi) / 2))
            # A failure needs a fresh callee: its calls are stuck.
            stop_uas
            start_uas "uas_${name}_$steps" || break
        fi
        [ "$hi" != 0 ] && [ $(((hi - lo) * 100)) -le $((tight * (lo > 0 ? lo : 1))) ] && break
        [ "$rate" -lt 50 ] && break
    done
    res_rate=$lo
    res_note=$note
    [ "$hi" = 0 ] && res_note="still passing at $lo/s after $steps steps (raise the step limit with --long)"
    res_ok=1
    say "$name: highest rate with fewer than 0.1% failed calls: $lo/s${res_note:+ ($res_note)}"
    stop_uas
    stop_proxy
}

# ---------------------------------------------------------------- main

what="mode $mode"
[ "$dialog" = 1 ] && what="$what, dialogs ($hold held at $hold_rate/s, $callers callers)"
say "SIPp $("$SIPP" -v 2>/dev/null | sed -n 's/.*SIPp \(v[^ -]*\).*/\1/p' | head -1), $("$KAMAILIO" -v 2>/dev/null | head -1), $(nproc) cores; $what; work folder $work"
names=(parleyd kamailio)
[ -n "$only" ] && names=("$only")
declare -A r_cpu r_rate r_sipp_cpu r_sipp_pct r_note r_ok r_mem r_mem_line
for n in "${names[@]}"; do
    measure "$n"
    r_cpu[$n]=$res_cpu
    r_rate[$n]=$res_rate
    r_sipp_cpu[$n]=$res_sipp_cpu
    r_sipp_pct[$n]=$res_sipp_pct
    r_note[$n]=$res_note
    r_ok[$n]=$res_ok
    r_mem[$n]=$res_mem
    r_mem_line[$n]=$res_mem_line
done

echo
if [ "$dialog" = 1 ]; then
    echo "bench-proxy --dialog: SIPp uac_dlg.xml -> proxy tracking dialogs (profile \"caller\" by From user) -> uas_rr.xml, UDP 127.0.0.1 ($mode run, $(date '+%Y-%m-%d %H:%M'))"
    echo "memory: the sum of PSS (/proc/PID/smaps_rollup) over every process of the proxy; bytes/dialog: its growth from $((hold / 2)) to $hold calls held, per dialog"
    printf '%-10s %20s %20s %16s %22s %16s\n' proxy "cpu/call @${cpu_rate}/s" "max calls/s <0.1%" "sipp cpu/call" "sipp cores @max (c+s)" "bytes/dialog"
else
    echo "bench-proxy: SIPp uac_rr.xml -> proxy -> uas_rr.xml, UDP 127.0.0.1 ($mode run, $(date '+%Y-%m-%d %H:%M'))"
    printf '%-10s %20s %20s %16s %22s\n' proxy "cpu/call @${cpu_rate}/s" "max calls/s <0.1%" "sipp cpu/call" "sipp cores @max (c+s)"
fi
status=0
for n in "${names[@]}"; do
    if [ "${r_ok[$n]}" = 1 ]; then
        if [ "$dialog" = 1 ]; then
            printf '%-10s %17s us %20s %13s us %22s %16s\n' "$n" "${r_cpu[$n]}" "${r_rate[$n]}" "${r_sipp_cpu[$n]}" "${r_sipp_pct[$n]}" "${r_mem[$n]}"
            echo "  $n: memory: ${r_mem_line[$n]}"
        else
            printf '%-10s %17s us %20s %13s us %22s\n' "$n" "${r_cpu[$n]}" "${r_rate[$n]}" "${r_sipp_cpu[$n]}" "${r_sipp_pct[$n]}"
        fi
        [ -z "${r_note[$n]}" ] || echo "  $n: ${r_note[$n]}"
    else
        printf '%-10s %s\n' "$n" "FAILED${r_note[$n]:+: ${r_note[$n]}} (see the lines above)"
        status=2
    fi
done
# ratio A B: A / B with two decimals and an x, or n/a.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0 && a != "n/a") printf "%.2fx", a / b; else print "n/a" }'; }
if [ ${#names[@]} = 2 ]; then
    if [ "${r_ok[parleyd]}" = 1 ] && [ "${r_ok[kamailio]}" = 1 ]; then
        echo "$bench cps vs kamailio: $(ratio "${r_rate[parleyd]}" "${r_rate[kamailio]}")"
        echo "$bench cpu per call vs kamailio: $(ratio "${r_cpu[kamailio]}" "${r_cpu[parleyd]}")"
        [ "$dialog" = 1 ] && echo "dialog memory vs kamailio: $(ratio "${r_mem[kamailio]}" "${r_mem[parleyd]}")"
    else
        echo "$bench cps vs kamailio: n/a (a proxy failed)"
        echo "$bench cpu per call vs kamailio: n/a (a proxy failed)"
        [ "$dialog" = 1 ] && echo "dialog memory vs kamailio: n/a (a proxy failed)"
    fi
fi
exit $status
