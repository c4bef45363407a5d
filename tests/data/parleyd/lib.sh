# shellcheck shell=bash
# tests/data/parleyd/lib.sh - starting and stopping parleyd, Kamailio and
# SIPp in the parleyd_*.sh interop tests. Sourced after
# tests/integration/lib/common.sh, with BIN, SRC and tmp set (absolute
# paths: SIPp and parleyd run in $tmp).
#
# Every process started here is recorded in `pids` (parleyd and Kamailio
# lead their own session, so that what they fork dies with them);
# stop_all, called from the script's EXIT trap, ends them all.

pids=()
KAMAILIO=$(command -v kamailio || echo /usr/sbin/kamailio)
KMODULES=/usr/lib/x86_64-linux-gnu/kamailio/modules
[ -d "$KMODULES" ] ||
    KMODULES=$(dirname "$(find /usr/lib -name tm.so -path '*kamailio/modules*' 2>/dev/null | head -1)")

# stop_all: SIGTERM to every process started here, then (bounded, 5 s)
# SIGKILL to whatever is left of its process group.
stop_all() {
    local p
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do
        for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -KILL -- "-$p" 2>/dev/null || kill -KILL "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
    pids=()
}

# free_ports N: N distinct free loopback ports, on one line.
free_ports() {
    local got=() p
    while [ "${#got[@]}" -lt "$1" ]; do
        p=$(free_port)
        [[ " ${got[*]} " == *" $p "* ]] || got+=("$p")
    done
    echo "${got[*]}"
}

# options_ok HOSTPORT [TRANSPORT]: parley send OPTIONS to the proxy itself
# is answered 200 (bounded: 3 s; a refused TCP connection fails at once).
options_ok() {
    timeout 3 "$BIN/parley" send --transport "${2:-udp}" OPTIONS "sip:$1" >/dev/null 2>&1
}

# start_parleyd NAME PORT [ARGS...]: parleyd on udp and tcp 127.0.0.1:PORT
# with the shipped default script, log level info, its log in
# $tmp/NAME.log, run in $tmp/NAME (its state folder goes there). Waits
# (bounded, ~10 s) until it answers OPTIONS; sets NAME_pid. Returns 1 if it
# does not come up.
start_parleyd() {
    local name=$1 port=$2
    shift 2
    mkdir -p "$tmp/$name"
    (cd "$tmp/$name" && exec setsid "$BIN/parleyd" --listen "udp:127.0.0.1:$port" \
        --listen "tcp:127.0.0.1:$port" --script "$SRC/etc/parley.lua" --log-level info "$@" \
        >"$tmp/$name.log" 2>&1) &
    local pid=$!
    pids+=("$pid")
    eval "${name}_pid=$pid"
    for _ in $(seq 50); do
        kill -0 "$pid" 2>/dev/null || break
        options_ok "127.0.0.1:$port" && return 0
        sleep 0.2
    done
    echo "parleyd ($name) did not answer OPTIONS on 127.0.0.1:$port; its log:"
    tail -30 "$tmp/$name.log"
    return 1
}

# start_kamailio NAME PORT CFG [DEFINES...]: Kamailio 5.6 on udp and tcp
# 127.0.0.1:PORT with CFG, in the foreground (-DD) logging to stderr (-E)
# into $tmp/NAME.log, its runtime files in $tmp/NAME; each DEFINE is a
# preprocessor define (-A). Waits (bounded) until it answers OPTIONS over
# TCP; sets NAME_pid.
start_kamailio() {
    local name=$1 port=$2 cfg=$3 d
    shift 3
    local defs=()
    for d in "$@"; do defs+=(-A "$d"); done
    [ -x "$KAMAILIO" ] || { echo "kamailio missing (scripts/bootstrap installs kamailio)"; return 1; }
    mkdir -p "$tmp/$name"
    setsid "$KAMAILIO" -f "$cfg" -DD -E -L "$KMODULES" -w "$tmp/$name" -Y "$tmp/$name" \
        -P "$tmp/$name/kamailio.pid" -m 64 -M 8 "${defs[@]}" \
        -l "udp:127.0.0.1:$port" -l "tcp:127.0.0.1:$port" >"$tmp/$name.log" 2>&1 &
    local pid=$!
    pids+=("$pid")
    eval "${name}_pid=$pid"
    for _ in $(seq 100); do
        kill -0 "$pid" 2>/dev/null || break
        options_ok "127.0.0.1:$port" tcp && return 0
        sleep 0.1
    done
    echo "kamailio ($name) did not answer OPTIONS on 127.0.0.1:$port; its log:"
    tail -30 "$tmp/$name.log"
    return 1
}

# sanitizer_clean NAME: the log of NAME has no sanitizer report.
sanitizer_clean() {
    if grep -qE "Sanitizer|runtime error" "$tmp/$1.log"; then
        bad "$1: sanitizer report: $(grep -E -A20 'Sanitizer|runtime error' "$tmp/$1.log" | head -40)"
    else
        ok
    fi
}

# stop_parleyd NAME: SIGTERM; parleyd must exit 0 within 10 s.
stop_parleyd() {
    local pid rc=0
    pid=$(eval echo "\$${1}_pid")
    kill -0 "$pid" 2>/dev/null && ok || { bad "parleyd ($1) is no longer running: $(tail -20 "$tmp/$1.log")"; return; }
    kill -TERM "$pid"
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
        bad "parleyd ($1) did not exit within 10 s of SIGTERM"
        return
    fi
    wait "$pid" || rc=$?
    expect "parleyd ($1) exit status on SIGTERM" "$rc" 0
    sanitizer_clean "$1"
}

# ---- SIPp (the shared scenarios of tests/sipp/)
SIPP=$(command -v sipp || true)
SC=${PARLEY_SIPP_SCENARIOS:-$SRC/tests/sipp}

# sipp_args NAME: the options every SIPp here takes: bounded by -timeout
# (running out of time fails it), errors and every message traced into
# $tmp/NAME.err and $tmp/NAME.msg.
sipp_args() {
    echo -nostdin -timeout 30 -timeout_error -trace_err -error_file "$tmp/$1.err" \
        -trace_msg -message_file "$tmp/$1.msg"
}

# sipp_callee NAME SCENARIO CALLS PORT: a callee on 127.0.0.1:PORT (UDP)
# for CALLS calls, in the background (upid); waits (bounded) until its
# socket is bound, so that nothing forwarded to it is lost.
sipp_callee() {
    local hex
    # shellcheck disable=SC2046
    (cd "$tmp" && exec timeout 60 "$SIPP" -sf "$SC/$2" -i 127.0.0.1 -p "$4" -m "$3" \
        $(sipp_args "$1") >"$tmp/$1.out" 2>&1) &
    upid=$!
    pids+=("$upid")
    hex=$(printf ':%04X ' "$4")
    for _ in $(seq 100); do
        grep -q "^ *[0-9]*: 0100007F$hex" /proc/net/udp && return 0
        kill -0 "$upid" 2>/dev/null || break
        sleep 0.05
    done
    bad "$1: SIPp did not bind 127.0.0.1:$4: $(cat "$tmp/$1.out")"
    return 1
}

# sipp_callee_wait: wait for the callee (bounded by its own -timeout);
# sets urc.
sipp_callee_wait() {
    urc=0
    wait "$upid" || urc=$?
}

# sipp_caller NAME SIPP-ARGS...: a SIPp in the foreground; sets rc.
sipp_caller() {
    local name=$1
    shift
    rc=0
    # shellcheck disable=SC2046
    (cd "$tmp" && timeout 60 "$SIPP" "$@" -i 127.0.0.1 $(sipp_args "$name") >"$tmp/$name.out" 2>&1) || rc=$?
}
