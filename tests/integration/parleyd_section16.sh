#!/usr/bin/env bash
# RFC 3261 section 16 through parleyd, end to end, with SIPp UAs on
# loopback: the behaviours tests/unit/test_proxy.c checks on a virtual
# network, here over real sockets, with the scenarios, script and
# configuration of tests/data/sipp16/ (see its README.md).
#
# Two parleyds run on free loopback UDP ports: P1 with the built-in
# configuration and the shipped script etc/parley.lua (registrar, lookup,
# Record-Route), P2 with tests/data/sipp16/parleyd.conf (loop_detect on,
# Timer C 2 s, section16.lua). The test waits (bounded) until each answers
# an OPTIONS. Callees are SIPp UASs on ports A, B and S, started before
# each call and waited for once they are bound; the caller is a SIPp UAC
# in the foreground. Each SIPp is bounded by -timeout (running out fails
# it) and logs what it received (-trace_logs, the scenarios' <log>
# actions) and its messages (-trace_msg); the checks are on every SIPp's
# exit status, those logs and those traces.
#
#  1. REGISTER alice at A, pair at A and at B: 200 with the bindings.
#  2. REGISTER and lookup: a call to alice@P1 reaches A with A's contact as
#     Request-URI and P1's Record-Route; ACK and BYE come back along it.
#  3. A call to an unregistered user: 404.
#  4. Forking with one answer: pair@P1 forks to A (200) and B (rings); B
#     gets a CANCEL and answers 487; the caller sees exactly one 200.
#  5. Forking with two answers: both answer 200; the caller gets both,
#     ACKs each and ends both dialogs with a BYE.
#  6. Best response (16.7 step 6) from two callees of pair: 503 + 404 ->
#     404; 486 + 603 -> 603; 603 while the other rings -> 603 and the
#     ringing one is cancelled; 503 + 503 -> 500; 404 + 401 -> 401 with
#     the callee's challenge.
#  7. 483 for Max-Forwards 0 (16.3 step 3), 416 for an http: Request-URI
#     (step 2), 420 naming the Proxy-Require option in Unsupported
#     (step 5).
#  8. Strict routers (16.4, 16.6 step 6): a request as a strict router
#     upstream sends it (Request-URI = P1's Record-Route URI, the target as
#     the last Route) reaches the callee with the target as Request-URI and
#     no Route; a request whose next hop after P1 is a strict router S
#     reaches S with S as Request-URI and the original Request-URI as the
#     last Route value.
#  9. P2: a request that P2's script sends back to P2 itself: 482
#     (16.3 step 4).
# 10. P2: a callee that rings and never answers is cancelled by Timer C
#     (16.8) and answers 487, which reaches the caller.
# 11. Both proxies are still up, exit 0 on SIGTERM, and logged no
#     sanitizer report.
#
# KEEP_TMP=1 keeps the temp dir (each SIPp's log, errors and messages, the
# proxies' logs) and prints where it is.
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"
# Absolute: everything below runs in the temp dir, where SIPp writes.
BIN=$(cd "${PARLEY_BIN:-build/bin}" && pwd)
SRC=$(cd "${PARLEY_SRC:-.}" && pwd)
D=$SRC/tests/data/sipp16
SIPP=$(command -v sipp || true)
[ -n "$SIPP" ] || { echo "sipp missing (scripts/bootstrap installs sip-tester)"; exit 1; }
[ -x "$BIN/parleyd" ] || { echo "no $BIN/parleyd (build it first, or set PARLEY_BIN)"; exit 1; }
[ -f "$D/uac_call.xml" ] || { echo "no $D/uac_call.xml (set PARLEY_SRC)"; exit 1; }

tmp=$(mktemp -d)
p1pid=
p2pid=
bgpids=()
cleanup() {
    set +e
    for pid in "${bgpids[@]}"; do
        [ -n "$pid" ] && kill "$pid" 2>/dev/null
    done
    stop_group "$p1pid"
    stop_group "$p2pid"
    wait 2>/dev/null
    if [ -n "${KEEP_TMP:-}" ]; then echo "files kept in $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
cd "$tmp"

# Six distinct free ports: two proxies, the caller, three callees.
ports=()
while [ "${#ports[@]}" -lt 6 ]; do
    p=$(free_port)
    case " ${ports[*]} " in *" $p "*) ;; *) ports+=("$p") ;; esac
done
P1=${ports[0]} P2=${ports[1]} C=${ports[2]} A=${ports[3]} B=${ports[4]} S=${ports[5]}
L=127.0.0.1

# ---- the proxies

"$BIN/parleyd" --listen "udp:$L:$P1" --script "$SRC/etc/parley.lua" --workers 2 \
    --log-level info >"$tmp/p1.log" 2>&1 &
p1pid=$!
"$BIN/parleyd" -c "$D/parleyd.conf" --listen "udp:$L:$P2" >"$tmp/p2.log" 2>&1 &
p2pid=$!

# up NAME PID PORT: wait (bounded, about 10 s) until the proxy answers
# OPTIONS; stops the test when it does not. NAME's log is $tmp/name.log.
up() {
    for _ in $(seq 50); do
        kill -0 "$2" 2>/dev/null || break
        if timeout 2 "$BIN/parley" send OPTIONS "sip:$L:$3" >/dev/null 2>&1; then
            ok
            return
        fi
        sleep 0.2
    done
    bad "$1 did not answer OPTIONS on $L:$3; its log:"
    tail -30 "$tmp/${1,,}.log"
    finish
}
up P1 "$p1pid" "$P1"
up P2 "$p2pid" "$P2"

# ---- SIPp

# The options of every SIPp here; its files are $tmp/NAME.{log,err,msg,out}.
sipp_opts() {
    echo -nostdin -i "$L" -timeout 15 -timeout_error \
        -trace_logs -log_file "$tmp/$1.log" -trace_err -error_file "$tmp/$1.err" \
        -trace_msg -message_file "$tmp/$1.msg"
}

# uac NAME PROXY-PORT SCENARIO SIPP-ARGS...: one call from port C (or
# UAC_PORT) to the proxy, in the foreground; sets rc.
uac() {
    local name=$1 port=$2 sf=$3
    shift 3
    rc=0
    # shellcheck disable=SC2046
    timeout 40 "$SIPP" "$L:$port" -sf "$sf" -p "${UAC_PORT:-$C}" -m 1 $(sipp_opts "$name") "$@" \
        >"$tmp/$name.out" 2>&1 || rc=$?
}

# uas NAME PORT SCENARIO SIPP-ARGS...: a callee for one call on PORT, in
# the background, once its socket is bound (a request sent before would be
# lost); its pid goes to uas_pid[NAME].
declare -A uas_pid
uas() {
    local name=$1 port=$2 sf=$3 hex
    shift 3
    # shellcheck disable=SC2046
    timeout 40 "$SIPP" -sf "$sf" -p "$port" -m 1 $(sipp_opts "$name") "$@" \
        >"$tmp/$name.out" 2>&1 &
    uas_pid[$name]=$!
    bgpids+=($!)
    hex=$(printf '%04X' "$port")
    for _ in $(seq 100); do
        grep -q "^ *[0-9]*: 0100007F:$hex " /proc/net/udp && return 0
        kill -0 "${uas_pid[$name]}" 2>/dev/null || break
        sleep 0.05
    done
    bad "$name: SIPp did not bind $L:$port: $(cat "$tmp/$name.out")"
}

# uas_done WHAT NAME: the callee NAME ended its call and exited 0.
uas_done() {
    local urc=0
    wait "${uas_pid[$2]}" || urc=$?
    if [ "$urc" = 0 ]; then ok; else bad "$1: callee $2: sipp exit $urc; $(why "$2")"; fi
}

# uac_done WHAT NAME: the caller's exit status (rc) was 0.
uac_done() {
    if [ "$rc" = 0 ]; then ok; else bad "$1: caller $2: sipp exit $rc; $(why "$2")"; fi
}

# why NAME: what SIPp NAME said went wrong, briefly.
why() {
    { cat "$tmp/$1.err" 2>/dev/null || tail -5 "$tmp/$1.out"; } | tr -d '\r' | head -c 1500
}

# logged NAME SED-EXPR: what SIPp NAME's log gives for the sed expression
# (the first match), e.g. the Request-URI of the INVITE a callee took.
logged() {
    sed -n "$2" "$tmp/$1.log" 2>/dev/null | head -1
}

# final NAME: the status code of the final response the caller NAME logged.
final() {
    logged "$1" 's/^final \([0-9]*\) .*/\1/p'
}

# received NAME: the messages SIPp NAME received, from its trace.
received() {
    awk '/^--------------------/ { on = 0 } on { print } / message received / { on = 1 }' "$tmp/$1.msg" 2>/dev/null |
        tr -d '\r'
}

# answers NAME: how many dialogs answered the INVITE of caller NAME, that
# is, distinct To tags of the 2xx it received (SIPp itself takes a second
# answer for a retransmission of the first).
answers() {
    tr -d '\r' <"$tmp/$1.msg" | awk '
        function done() { if (st ~ /^SIP\/2\.0 2/ && inv) tags[tag] = 1; on = 0 }
        / message received / { done(); on = 1; st = ""; tag = ""; inv = 0; next }
        /^--------------------/ { done(); next }
        on && /^SIP\/2\.0 / { st = $0 }
        on && /^(To|t):/ { tag = $0; sub(/.*;tag=/, "", tag); sub(/;.*/, "", tag) }
        on && /^CSeq: *[0-9]+ INVITE/ { inv = 1 }
        END { done(); n = 0; for (t in tags) n++; print n }'
}

ruri_of() { logged "$1" 's/^INVITE ruri=\([^ ]*\).*/\1/p'; }

# ---- 1. Registrations (before the callees take the ports).
UAC_PORT=$A uac reg_alice "$P1" "$D/register.xml" -s alice
uac_done "REGISTER alice at A" reg_alice
UAC_PORT=$A uac reg_pair_a "$P1" "$D/register.xml" -s pair
uac_done "REGISTER pair at A" reg_pair_a
UAC_PORT=$B uac reg_pair_b "$P1" "$D/register.xml" -s pair
uac_done "REGISTER pair at B" reg_pair_b
# 10.3 step 8: the 200 lists every binding of the address of record (SIPp
# reads only the first Contact of a message, so look in its trace).
for port in "$A" "$B"; do
    if received reg_pair_b | grep -q "^Contact: <sip:pair@$L:$port;"; then
        ok
    else
        bad "REGISTER pair at B: the 200 does not list the binding at $port: $(received reg_pair_b)"
    fi
done

# ---- 2. REGISTER and lookup: alice@P1 reaches her contact at A.
uas lookup_a "$A" "$D/uas_answer.xml"
uac lookup "$P1" "$D/uac_call.xml" -key ruri "sip:alice@$L:$P1" -key extra "Subject: lookup"
uac_done "call to a registered user" lookup
uas_done "call to a registered user" lookup_a
expect "lookup: the callee's Request-URI is its registered contact" \
    "$(ruri_of lookup_a)" "sip:alice@$L:$A;transport=UDP"
rr=$(logged lookup_a 's/^INVITE .* rr=\(.*\)$/\1/p')
case "$rr" in
"<sip:$L:$P1;"*"lr"*">") ok ;;
*) bad "lookup: the callee should see P1's Record-Route with lr, saw '$rr'" ;;
esac
expect "lookup: the caller sees the same Record-Route in the 200" \
    "$(logged lookup 's/^200 rr=\(.*\) contact=.*/\1/p')" "$rr"
expect "lookup: the BYE came along the route set to the callee's Contact" \
    "$(logged lookup_a 's/^BYE ruri=\(.*\)/\1/p')" "sip:callee@$L:$A;transport=UDP"

# ---- 3. Nobody registered under that name.
uac nobody "$P1" "$D/uac_final.xml" -key ruri "sip:nobody@$L:$P1" -key mf 70 \
    -key extra "Subject: nobody"
uac_done "call to an unregistered user" nobody
expect "unregistered user: final response" "$(final nobody)" 404

# ---- 4. Forking, one answer: A answers, B rings and is cancelled.
uas fork1_a "$A" "$D/uas_answer.xml"
uas fork1_b "$B" "$D/uas_ring.xml"
uac fork1 "$P1" "$D/uac_call.xml" -key ruri "sip:pair@$L:$P1" -key extra "Subject: fork"
uac_done "fork, one answer" fork1
expect "fork, one answer: dialogs answered at the caller" "$(answers fork1)" 1
uas_done "fork, one answer: the answering callee" fork1_a
uas_done "fork, one answer: the ringing callee (CANCEL, 487, ACK)" fork1_b
expect "fork, one answer: branch A's Request-URI" "$(ruri_of fork1_a)" "sip:pair@$L:$A;transport=UDP"
expect "fork, one answer: branch B's Request-URI" "$(ruri_of fork1_b)" "sip:pair@$L:$B;transport=UDP"
expect "fork, one answer: B was cancelled" "$(logged fork1_b '/^CANCEL$/p')" CANCEL

# ---- 5. Forking, two answers: both 200s reach the caller.
uas fork2_a "$A" "$D/uas_answer.xml"
uas fork2_b "$B" "$D/uas_answer.xml"
uac fork2 "$P1" "$D/uac_call2.xml" -key ruri "sip:pair@$L:$P1"
uac_done "fork, two answers (two 200s, two ACKs, two BYEs)" fork2
expect "fork, two answers: dialogs answered at the caller" "$(answers fork2)" 2
uas_done "fork, two answers: callee A (ACK and BYE)" fork2_a
uas_done "fork, two answers: callee B (ACK and BYE)" fork2_b
contacts=$(sed -n 's/^200 to=.* contact=//p' "$tmp/fork2.log" 2>/dev/null | sort | tr '\n' ' ')
want=$(printf '%s\n' "sip:callee@$L:$A;transport=UDP" "sip:callee@$L:$B;transport=UDP" | sort | tr '\n' ' ')
expect "fork, two answers: a 200 from each callee" "$contacts" "$want"

# ---- 6. Best response from two failures (16.7 step 6).
# reject NAME PORT STATUS: a callee answering STATUS ("486 Busy Here").
reject() {
    sed "s/@STATUS@/$3/" "$D/uas_reject.xml" >"$tmp/$1.xml"
    uas "$1" "$2" "$tmp/$1.xml"
}
# mix WHAT NAME WANT: the caller NAME calls pair and must get WANT; then
# both callees (NAME_a, NAME_b) must have finished.
mix() {
    uac "$2" "$P1" "$D/uac_final.xml" -key ruri "sip:pair@$L:$P1" -key mf 70 -key extra "Subject: $1"
    uac_done "$1" "$2"
    expect "$1: the caller's final response" "$(final "$2")" "$3"
    uas_done "$1" "$2_a"
    uas_done "$1" "$2_b"
}
reject mix1_a "$A" "503 Service Unavailable"
reject mix1_b "$B" "404 Not Found"
mix "503 + 404" mix1 404

reject mix2_a "$A" "486 Busy Here"
reject mix2_b "$B" "603 Decline"
mix "486 + 603" mix2 603

reject mix3_a "$A" "603 Decline"
uas mix3_b "$B" "$D/uas_ring.xml"
mix "603 + ringing" mix3 603
expect "603 + ringing: the ringing branch was cancelled" "$(logged mix3_b '/^CANCEL$/p')" CANCEL

reject mix4_a "$A" "503 Service Unavailable"
reject mix4_b "$B" "503 Service Unavailable"
mix "503 + 503" mix4 500

reject mix5_a "$A" "404 Not Found"
uas mix5_b "$B" "$D/uas_challenge.xml" -s b
mix "404 + 401" mix5 401
case "$(logged mix5 's/^final 401 .*challenge=\(.*\)/\1/p')" in
*'realm="sec16-b"'*) ok ;;
*) bad "404 + 401: the 401 should carry the callee's challenge: $(cat "$tmp/mix5.log")" ;;
esac

# ---- 7. Requests the proxy refuses (16.3).
uac mf0 "$P1" "$D/uac_final.xml" -key ruri "sip:alice@$L:$P1" -key mf 0 -key extra "Subject: mf0"
uac_done "Max-Forwards 0" mf0
expect "Max-Forwards 0: final response" "$(final mf0)" 483
uac scheme "$P1" "$D/uac_final.xml" -key ruri "http://$L:$P1/alice" -key mf 70 \
    -key extra "Subject: scheme"
uac_done "http: Request-URI" scheme
expect "http: Request-URI: final response" "$(final scheme)" 416
uac require "$P1" "$D/uac_final.xml" -key ruri "sip:alice@$L:$P1" -key mf 70 \
    -key extra "Proxy-Require: foo"
uac_done "Proxy-Require: foo" require
expect "Proxy-Require: foo: final response" "$(final require)" 420
expect "Proxy-Require: foo: Unsupported" "$(logged require 's/^final 420 unsupported=\(.*\) challenge=.*/\1/p')" foo

# ---- 8. Strict routers.
# (a) Upstream strict router: the Request-URI is P1's Record-Route URI (as
# P1 put it in the call of step 2), the real target is the last Route.
rruri=${rr#<}
rruri=${rruri%>}
uas strict_in_a "$A" "$D/uas_answer.xml"
uac strict_in "$P1" "$D/uac_call.xml" -key ruri "$rruri" -key extra "Route: <sip:bob@$L:$A>"
uac_done "from a strict router" strict_in
uas_done "from a strict router" strict_in_a
expect "from a strict router: the callee's Request-URI is the last Route" \
    "$(ruri_of strict_in_a)" "sip:bob@$L:$A"
expect "from a strict router: no Route left" \
    "$(logged strict_in_a 's/^INVITE .* route=\(.*\) rr=.*/\1/p')" ""

# (b) Downstream strict router S, pre-loaded after P1 in the Route set.
uas strict_out_s "$S" "$D/uas_answer.xml"
uac strict_out "$P1" "$D/uac_call.xml" -key ruri "sip:carol@$L:$A" \
    -key extra "Route: <sip:$L:$P1;lr>, <sip:$L:$S>"
uac_done "to a strict router" strict_out
uas_done "to a strict router" strict_out_s
expect "to a strict router: its Request-URI is itself" "$(ruri_of strict_out_s)" "sip:$L:$S"
expect "to a strict router: the Request-URI is the last Route" \
    "$(logged strict_out_s 's/^INVITE .* route=\(.*\) rr=.*/\1/p')" "<sip:carol@$L:$A>"

# ---- 9. P2: a loop (P2 forwards sip:loop@P2 to its own address).
uac loop "$P2" "$D/uac_final.xml" -key ruri "sip:loop@$L:$P2" -key mf 70 -key extra "Subject: loop"
uac_done "a request looping through P2" loop
expect "loop: final response" "$(final loop)" 482

# ---- 10. P2: Timer C cancels a branch that rings for ever.
uas timerc_b "$B" "$D/uas_ring.xml"
uac timerc "$P2" "$D/uac_final.xml" -key ruri "sip:ring@$L:$B" -key mf 70 -key extra "Subject: timer C"
uac_done "Timer C" timerc
uas_done "Timer C: the ringing callee (CANCEL, 487, ACK)" timerc_b
expect "Timer C: the callee got a CANCEL" "$(logged timerc_b '/^CANCEL$/p')" CANCEL
expect "Timer C: final response" "$(final timerc)" 487

# ---- 11. The proxies are still up and stop cleanly.
for n in 1 2; do
    pidvar=p${n}pid
    pid=${!pidvar}
    if ! kill -0 "$pid" 2>/dev/null; then
        bad "P$n died: $(tail -20 "$tmp/p$n.log")"
        continue
    fi
    ok
    kill -TERM "$pid"
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
        bad "P$n did not exit within 10 s of SIGTERM"
    else
        prc=0
        wait "$pid" || prc=$?
        printf -v "$pidvar" ''
        expect "P$n: exit status on SIGTERM" "$prc" 0
    fi
    if grep -qE "Sanitizer|runtime error" "$tmp/p$n.log"; then
        bad "P$n: $(grep -E -A20 "Sanitizer|runtime error" "$tmp/p$n.log" | head -40)"
    else
        ok
    fi
done

if [ "$fail" != 0 ]; then
    for n in 1 2; do
        echo "--- P$n log (last 30 lines)"
        tail -30 "$tmp/p$n.log"
    done
fi
finish
