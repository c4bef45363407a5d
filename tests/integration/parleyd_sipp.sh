#!/usr/bin/env bash
# SIPp calls through parleyd, with the shared scenarios of tests/sipp/.
#
# The test starts parleyd on a free loopback port (UDP and TCP, the shipped
# script etc/parley.lua, log level info) and waits until it answers
# OPTIONS. Every SIPp runs in the foreground or is waited for, bounded by
# its own -timeout (-timeout_error: running out of time fails it), and
# writes its statistics (-trace_stat) into a temp dir; each step checks
# SIPp's exit status and its successful and failed call counts, on both
# sides when there are two.
#
#  1. OPTIONS to the proxy itself, over UDP and TCP: 200 (options.xml).
#  2. REGISTER alice, with the callee's port as contact: 200 listing the
#     binding (register.xml).
#  3. 20 calls with uac_rr.xml -> parleyd -> uas_rr.xml, addressed to the
#     callee (-rsa sends them through the proxy): the callee must see a
#     Record-Route on each INVITE and no Route left on each BYE; the caller
#     learns the route set from the 200 and sends ACK and BYE along it. Then
#     one call to sip:alice@proxy, which reaches the callee by the
#     registration (lookup).
#  4. CANCEL of a ringing call: uac_cancel.xml against uas_noanswer.xml;
#     200 for the CANCEL, 487 for the INVITE, on both sides.
#  5. A busy callee: uac_busy.xml against uas_busy.xml; the 486 reaches the
#     caller, each side gets its ACK.
#  6. REGISTER with Expires 0 removes alice (unregister.xml: 200); an INVITE
#     to her is then answered 404 (parley send).
#  7. parleyd is still running, and exits 0 on SIGTERM.
#
# KAMAILIO_INSTEAD=1 runs the same steps against Kamailio 5.6 with
# tests/data/kamailio/bench-proxy.cfg (a proxy doing the same work), to
# check the scenarios and the test themselves.
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"
# Absolute: SIPp runs in the temp dir.
BIN=$(cd "${PARLEY_BIN:-build/bin}" && pwd)
SRC=$(cd "${PARLEY_SRC:-.}" && pwd)
SC=$SRC/tests/sipp
SIPP=$(command -v sipp || true)
[ -n "$SIPP" ] || { echo "sipp missing (scripts/bootstrap installs sip-tester)"; exit 1; }
[ -f "$SC/uac_rr.xml" ] || { echo "no $SC/uac_rr.xml (set PARLEY_SRC)"; exit 1; }

tmp=$(mktemp -d)
log=$tmp/proxy.log
ppid=
upid=
cleanup() {
    set +e
    if [ -n "$upid" ]; then
        kill "$upid" 2>/dev/null
        wait "$upid" 2>/dev/null
    fi
    stop_group "$ppid" # Kamailio's children, or a parleyd that ignored SIGTERM
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Three distinct free ports: the proxy, the callee, the caller.
port=$(free_port)
uport=$(free_port)
while [ "$uport" = "$port" ]; do uport=$(free_port); done
cport=$(free_port)
while [ "$cport" = "$port" ] || [ "$cport" = "$uport" ]; do cport=$(free_port); done
proxy=127.0.0.1:$port

# The proxy in its own session, so that whatever it forks can be killed.
if [ "${KAMAILIO_INSTEAD:-0}" = 1 ]; then
    KAMAILIO=$(command -v kamailio || echo /usr/sbin/kamailio)
    MODULES=/usr/lib/x86_64-linux-gnu/kamailio/modules
    [ -d "$MODULES" ] || MODULES=$(dirname "$(find /usr/lib -name tm.so -path '*kamailio/modules*' 2>/dev/null | head -1)")
    echo "KAMAILIO_INSTEAD=1: the proxy is Kamailio"
    setsid "$KAMAILIO" -f "$SRC/tests/data/kamailio/bench-proxy.cfg" -DD -E -L "$MODULES" \
        -w "$tmp" -Y "$tmp" -P "$tmp/kamailio.pid" -m 64 -M 8 \
        -l "udp:$proxy" -l "tcp:$proxy" >"$log" 2>&1 &
    ppid=$!
else
    [ -x "$BIN/parleyd" ] || { echo "no $BIN/parleyd (build it first, or set PARLEY_BIN)"; exit 1; }
    setsid "$BIN/parleyd" --listen "udp:$proxy" --listen "tcp:$proxy" \
        --script "$SRC/etc/parley.lua" --log-level info >"$log" 2>&1 &
    ppid=$!
fi

# Wait (bounded, ~10 s) until the proxy answers an OPTIONS.
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
    bad "the proxy did not answer OPTIONS on $proxy; its log:"
    tail -30 "$log"
    finish
fi
ok

# ---- helpers

# The value of COLUMN in the last row of SIPp statistics file FILE, or
# "none" when there is no such file.
stat() {
    [ -s "$1" ] || { echo none; return; }
    awk -F';' -v col="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == col) c = i; next }
        { v = $c } END { print (c ? v + 0 : "none") }' "$1"
}

# sipp_args NAME: the options every SIPp here takes; its files are
# $tmp/NAME.{csv,err,out}.
sipp_args() {
    echo -nostdin -timeout 20 -timeout_error -trace_stat -stf "$tmp/$1.csv" -fd 1 \
        -trace_err -error_file "$tmp/$1.err"
}

# uac NAME SIPP-ARGS...: run a caller (or any client scenario) in the
# foreground; sets rc.
uac() {
    local name=$1
    shift
    rc=0
    if ! kill -0 "$ppid" 2>/dev/null; then
        rc=125
        bad "$name: the proxy is not running"
        return
    fi
    # shellcheck disable=SC2046
    (cd "$tmp" && timeout 60 "$SIPP" "$@" -i 127.0.0.1 $(sipp_args "$name") >"$tmp/$name.out" 2>&1) || rc=$?
}

# uas NAME SCENARIO CALLS: start a callee on uport for CALLS calls in the
# background, and wait (bounded) until its UDP socket is bound: a request
# the proxy forwarded before would be lost (or refused).
uas() {
    local name=$1 hex
    # shellcheck disable=SC2046
    (cd "$tmp" && exec timeout 60 "$SIPP" -sf "$SC/$2" -i 127.0.0.1 -p "$uport" -m "$3" \
        $(sipp_args "$name") >"$tmp/$name.out" 2>&1) &
    upid=$!
    hex=$(printf ':%04X ' "$uport")
    for _ in $(seq 100); do
        grep -q "^ *[0-9]*: 0100007F$hex" /proc/net/udp && return 0
        kill -0 "$upid" 2>/dev/null || break
        sleep 0.05
    done
    bad "$name: SIPp did not bind 127.0.0.1:$uport: $(cat "$tmp/$name.out")"
}

# uas_wait NAME: wait for the callee (bounded by its -timeout); sets urc.
uas_wait() {
    urc=0
    wait "$upid" || urc=$?
    upid=
}

# calls WHAT NAME WANT: SIPp NAME's statistics say WANT successful calls
# and none failed.
calls() {
    local s f
    s=$(stat "$tmp/$2.csv" 'SuccessfulCall(C)')
    f=$(stat "$tmp/$2.csv" 'FailedCall(C)')
    if [ "$s" = "$3" ] && [ "$f" = 0 ]; then
        ok
    else
        bad "$1: $2: $s successful calls (want $3), $f failed; $(tail -c 1500 "$tmp/$2.err" 2>/dev/null)"
    fi
}

# ---- 1. OPTIONS to the proxy itself.
uac options_udp "$proxy" -sf "$SC/options.xml" -p "$cport" -m 1
expect "OPTIONS over UDP: sipp exit" "$rc" 0
calls "OPTIONS over UDP" options_udp 1
uac options_tcp "$proxy" -sf "$SC/options.xml" -t t1 -p "$cport" -m 1
expect "OPTIONS over TCP: sipp exit" "$rc" 0
calls "OPTIONS over TCP" options_tcp 1

# ---- 2. REGISTER alice at the callee's address (before the callee uses the port).
uac register "$proxy" -sf "$SC/register.xml" -s alice -p "$uport" -m 1
expect "REGISTER: sipp exit" "$rc" 0
calls "REGISTER" register 1

# ---- 3. Calls with the route set learned from Record-Route.
uas uas_rr uas_rr.xml 21
uac uac_rr "127.0.0.1:$uport" -rsa "$proxy" -sf "$SC/uac_rr.xml" -p "$cport" -m 20 -r 20
expect "20 calls: caller's sipp exit" "$rc" 0
calls "20 calls, caller" uac_rr 20
uac uac_alice "$proxy" -s alice -sf "$SC/uac_rr.xml" -p "$cport" -m 1
expect "call to alice by her registration: caller's sipp exit" "$rc" 0
calls "call to alice, caller" uac_alice 1
uas_wait uas_rr
expect "21 calls: callee's sipp exit" "$urc" 0
calls "21 calls, callee (Record-Route on each INVITE, no Route on each BYE)" uas_rr 21

# ---- 4. CANCEL of a ringing call.
uas uas_noanswer uas_noanswer.xml 1
uac uac_cancel "127.0.0.1:$uport" -rsa "$proxy" -sf "$SC/uac_cancel.xml" -p "$cport" -m 1
expect "CANCEL: caller's sipp exit" "$rc" 0
calls "CANCEL, caller (200 for the CANCEL, 487 for the INVITE)" uac_cancel 1
uas_wait uas_noanswer
expect "CANCEL: callee's sipp exit" "$urc" 0
calls "CANCEL, callee (CANCEL received, 487 acknowledged)" uas_noanswer 1

# ---- 5. A busy callee.
uas uas_busy uas_busy.xml 1
uac uac_busy "127.0.0.1:$uport" -rsa "$proxy" -sf "$SC/uac_busy.xml" -p "$cport" -m 1
expect "busy: caller's sipp exit" "$rc" 0
calls "busy, caller (486 received)" uac_busy 1
uas_wait uas_busy
expect "busy: callee's sipp exit" "$urc" 0
calls "busy, callee (486 acknowledged)" uas_busy 1

# ---- 6. De-registration; alice is then unknown.
uac unregister "$proxy" -sf "$SC/unregister.xml" -s alice -p "$uport" -m 1
expect "REGISTER Expires 0: sipp exit" "$rc" 0
calls "REGISTER Expires 0" unregister 1
out=$(timeout 20 "$BIN/parley" send INVITE "sip:alice@$proxy" 2>&1 | tr -d '\r' | grep '^SIP/2.0 [2-6]' | tail -1 || true)
expect "INVITE to alice once unregistered" "$out" "SIP/2.0 404 Not Found"

# ---- 7. Still up; a clean exit on SIGTERM.
kill -0 "$ppid" 2>/dev/null && ok || bad "the proxy died: $(tail -20 "$log")"
kill -TERM "$ppid" 2>/dev/null || true
prc=
for _ in $(seq 100); do
    kill -0 "$ppid" 2>/dev/null || break
    sleep 0.1
done
if kill -0 "$ppid" 2>/dev/null; then
    bad "the proxy did not exit within 10 s of SIGTERM"
else
    prc=0
    wait "$ppid" || prc=$?
    ppid=
    expect "proxy exit status on SIGTERM" "$prc" 0
fi
grep -qE "Sanitizer|runtime error" "$log" && bad "proxy: $(grep -E -A20 "Sanitizer|runtime error" "$log" | head -40)" || ok

if [ "$fail" != 0 ]; then
    echo "--- proxy log (last 40 lines)"
    tail -40 "$log"
fi
finish
