#!/usr/bin/env bash
# Interop: Kamailio 5.6 (Debian kamailio) as Parley's peer, over UDP and TCP.
# The test starts its own Kamailio on free loopback ports with
# tests/data/kamailio/kamailio.cfg, logging to stderr (-E) into a temp dir,
# and reads what Kamailio saw from its xlog lines.
#
#  1. parley send OPTIONS to Kamailio: Kamailio's 200, exit 0; again with
#     the transport named by the URI's transport parameter, where Kamailio
#     must find the Request-URI in To as well (angle brackets, RFC 3261 20.10).
#  2. parley send INVITE to Kamailio, which answers 486 statefully (t_newtran,
#     t_reply): exit 1 and the 486 printed; Parley's client transaction must
#     then ACK the 486 (RFC 3261 17.1.1.3): Kamailio logs the ACK, which must
#     have the INVITE's Request-URI, one Via equal to the INVITE's top Via (so
#     the same branch), the INVITE's Call-ID, From and CSeq number with method
#     ACK, the To of the 486 (Kamailio's tag), Max-Forwards, come from where
#     the INVITE came from, pass Kamailio's sanity checks and be matched by tm
#     to the INVITE transaction. A hand-made ACK with another branch must not
#     be matched (so the matching check can fail).
#  3. Kamailio as a stateful proxy (t_relay) in front of `parley listen`: the
#     request names the next hop in X-Parley-Next, Kamailio rewrites the
#     Request-URI to it. OPTIONS comes back 200 from the listener (exit 0),
#     MESSAGE and INVITE 405, known methods with no handler (exit 1; Parley
#     ACKs the relayed 405 to Kamailio); the listener logs each request as
#     coming from Kamailio's port (Kamailio reuses its listening port for
#     TCP connections).
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"
BIN=${PARLEY_BIN:-build/bin}
SRC=${PARLEY_SRC:-.}
CFG=$SRC/tests/data/kamailio/kamailio.cfg
KAMAILIO=$(command -v kamailio || echo /usr/sbin/kamailio)
MODULES=/usr/lib/x86_64-linux-gnu/kamailio/modules
[ -x "$KAMAILIO" ] || { echo "kamailio missing (scripts/bootstrap installs kamailio)"; exit 1; }
[ -d "$MODULES" ] || MODULES=$(dirname "$(find /usr/lib -name tm.so -path '*kamailio/modules*' 2>/dev/null | head -1)")
[ -f "$CFG" ] || { echo "no $CFG (set PARLEY_SRC)"; exit 1; }

tmp=$(mktemp -d)
klog=$tmp/kamailio.log
llog=$tmp/listener.log
kpid=
lpid=
cleanup() {
    set +e
    if [ -n "$lpid" ]; then
        kill "$lpid" 2>/dev/null
        wait "$lpid" 2>/dev/null
    fi
    # The main process stops its children on SIGTERM; whatever is left of
    # the process group (setsid made kpid its leader) is killed.
    stop_group "$kpid"
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

kport=$(free_port)
lport=$(free_port)
while [ "$lport" = "$kport" ]; do lport=$(free_port); done

# Kamailio in the foreground (-DD), logging to stderr (-E), in its own
# session so that every process it forks can be killed.
setsid "$KAMAILIO" -f "$CFG" -DD -E -L "$MODULES" -w "$tmp" -Y "$tmp" -P "$tmp/kamailio.pid" \
    -m 64 -M 8 -l "udp:127.0.0.1:$kport" -l "tcp:127.0.0.1:$kport" >"$klog" 2>&1 &
kpid=$!

"$BIN/parley" listen "udp:127.0.0.1:$lport" "tcp:127.0.0.1:$lport" >"$llog" 2>"$tmp/listener.err" &
lpid=$!

# Wait (bounded) until Kamailio answers an OPTIONS over TCP (a refused
# connection fails at once) and the listener says it is up.
up=
for _ in $(seq 100); do
    kill -0 "$kpid" 2>/dev/null || break
    if timeout 5 "$BIN/parley" send --transport tcp OPTIONS "sip:ping@127.0.0.1:$kport" >/dev/null 2>&1; then
        up=1
        break
    fi
    sleep 0.1
done
if [ -z "$up" ]; then
    bad "kamailio did not start on 127.0.0.1:$kport; its log:"
    tail -30 "$klog"
    finish
fi
for _ in $(seq 100); do grep -q "listening on tcp" "$llog" && break; sleep 0.05; done
grep -q "listening on tcp:127.0.0.1:$lport" "$llog" && ok || bad "listener did not start: $(cat "$llog" "$tmp/listener.err")"

# ---- helpers

# parley send ARGS...: sets all (stdout, CRs removed), out (the last
# response in it), err (stderr) and rc. Bounded: 10 s for one request (a
# lost UDP answer would take Parley 32 s), none after 40 s of test or once
# Kamailio is gone, so that a broken run still ends within a minute.
send() {
    rc=0
    : >"$tmp/out"
    : >"$tmp/err"
    if ! kill -0 "$kpid" 2>/dev/null; then
        rc=125
        bad "kamailio is not running; skipped parley send $*"
    elif [ "$SECONDS" -gt 40 ]; then
        rc=125
        bad "out of time (${SECONDS}s); skipped parley send $*"
    else
        timeout 10 "$BIN/parley" send "$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
    fi
    all=$(tr -d '\r' <"$tmp/out")
    # The last response (with -v, each response is printed in full).
    out=$(awk '/^SIP\/2\.0 /{b=""} {b=b $0 "\n"} END{printf "%s", b}' <<<"$all")
    err=$(cat "$tmp/err")
    if grep -qE "Sanitizer|runtime error" "$tmp/err"; then
        bad "parley send $*: sanitizer report: $err"
    fi
}
# The value of the first NAME header in $out.
hdr() { sed -n "s/^$1: *//p" <<<"$out" | head -1; }
# The value of parameter NAME in a header value.
param() { sed -n "s/.*;$2=\([^;>, ]*\).*/\1/p" <<<"$1" | head -1; }
# The last Kamailio log line with TAG and every further fixed string.
kline() {
    local l
    l=$(grep -F -- "$1" "$klog" || true)
    shift
    for s in "$@"; do l=$(grep -F -- "$s" <<<"$l" || true); done
    tail -1 <<<"$l"
}
# Wait (bounded, ~3 s) for such a line.
kwait() {
    for _ in $(seq 60); do
        [ -n "$(kline "$@")" ] && return 0
        sleep 0.05
    done
    return 1
}
# The value of KEY in a Kamailio log line: KEY=[value] or KEY=value.
kfield() {
    local v
    v=$(sed -n "s/.* $2=\[\([^]]*\)\].*/\1/p" <<<"$1")
    [ -n "$v" ] || v=$(sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<"$1")
    printf '%s' "$v"
}

for tp in udp tcp; do
    # ---- 1. OPTIONS answered by Kamailio.
    send --transport $tp -v OPTIONS "sip:kamailio@127.0.0.1:$kport"
    expect "$tp OPTIONS exit" "$rc" 0
    expect "$tp OPTIONS status" "$(head -1 <<<"$out")" "SIP/2.0 200 OK"
    grep -q "^Server: kamailio" <<<"$out" && ok || bad "$tp OPTIONS: not Kamailio's answer: $out"
    cid=$(hdr Call-ID)
    l=$(kline "PARLEY-REQ OPTIONS" "callid=$cid ")
    [ -n "$cid" ] && [ -n "$l" ] && ok || bad "$tp OPTIONS: Kamailio did not log Call-ID '$cid'"
    expect "$tp OPTIONS transport at Kamailio" "$(kfield "$l" proto)" $tp

    # The transport from the URI's transport parameter. The To header
    # carries the URI too, and a URI with a parameter must be put in angle
    # brackets there (RFC 3261 20, 20.10: name-addr form when the addr-spec
    # contains a comma, semicolon or question mark), or the parameter becomes
    # a To header parameter: Kamailio's To URI must be the Request-URI.
    ruri="sip:kamailio@127.0.0.1:$kport;transport=$tp"
    send -v OPTIONS "$ruri"
    expect "$tp OPTIONS (transport= in the URI) exit" "$rc" 0
    expect "$tp OPTIONS (transport= in the URI) status" "$(head -1 <<<"$out")" "SIP/2.0 200 OK"
    cid=$(hdr Call-ID)
    l=$(kline "PARLEY-REQ OPTIONS" "callid=$cid ")
    expect "$tp OPTIONS (transport= in the URI) transport at Kamailio" "$(kfield "$l" proto)" $tp
    expect "$tp OPTIONS (transport= in the URI) Request-URI at Kamailio" "$(kfield "$l" ruri)" "$ruri"
    expect "$tp OPTIONS (transport= in the URI): To URI at Kamailio (To: $(kfield "$l" tohdr))" "$(kfield "$l" to)" "$ruri"

    # ---- 2. INVITE answered 486; the ACK must reach Kamailio in the INVITE's transaction.
    ruri="sip:busy@127.0.0.1:$kport"
    send --transport $tp -v INVITE "$ruri"
    expect "$tp INVITE exit" "$rc" 1
    expect "$tp INVITE status" "$(head -1 <<<"$out")" "SIP/2.0 486 Busy Here"
    via=$(hdr Via)
    branch=$(param "$via" branch)
    cid=$(hdr Call-ID)
    ftag=$(param "$(hdr From)" tag)
    ttag=$(param "$(hdr To)" tag)
    cseq=$(hdr CSeq)
    case "$branch" in z9hG4bK?*) ok ;; *) bad "$tp INVITE: no RFC 3261 branch in the 486's Via '$via'" ;; esac
    [ -n "$ttag" ] && ok || bad "$tp INVITE: the 486 has no To tag: $out"
    expect "$tp 486 CSeq" "$cseq" "1 INVITE"
    inv=$(kline "PARLEY-REQ INVITE" "callid=$cid ")
    [ -n "$inv" ] && ok || bad "$tp INVITE: Kamailio did not log Call-ID '$cid'"
    expect "$tp INVITE branch at Kamailio" "$(kfield "$inv" branch)" "$branch"
    # The 486's Via is the INVITE's, with what Kamailio stamped (RFC 3581 rport, received).
    expect "$tp INVITE Via at Kamailio" "$(kfield "$inv" via)" \
        "$(sed -E 's/;rport=[0-9]+/;rport/; s/;received=[^;]*//' <<<"$via")"
    if kwait "PARLEY-ACK matched=" "callid=$cid"; then
        ok
        ack=$(kline "PARLEY-ACK proto=" "callid=$cid ")
        expect "$tp ACK transport" "$(kfield "$ack" proto)" "$tp"
        expect "$tp ACK source (same socket/connection as the INVITE)" "$(kfield "$ack" src)" "$(kfield "$inv" src)"
        expect "$tp ACK Request-URI" "$(kfield "$ack" ruri)" "$(kfield "$inv" ruri)"
        expect "$tp ACK Via (one, the INVITE's top Via)" "$(kfield "$ack" via)" "$(kfield "$inv" via)"
        expect "$tp ACK branch" "$(kfield "$ack" branch)" "$branch"
        expect "$tp ACK CSeq" "$(kfield "$ack" cseq)" "${cseq%% *} ACK"
        expect "$tp ACK From tag" "$(kfield "$ack" ftag)" "$ftag"
        expect "$tp ACK To tag (the 486's)" "$(kfield "$ack" ttag)" "$ttag"
        expect "$tp ACK Max-Forwards" "$(kfield "$ack" maxfwd)" 70
        expect "$tp ACK Route (none, as the INVITE)" "$(kfield "$ack" route)" "<null>"
        expect "$tp ACK Content-Length" "$(kfield "$ack" cl)" 0
        [ -n "$(kline "PARLEY-ACK sanity=ok" "callid=$cid")" ] && ok || bad "$tp ACK failed Kamailio's sanity checks"
        [ -n "$(kline "PARLEY-ACK matched=yes" "callid=$cid")" ] && ok ||
            bad "$tp ACK not matched by Kamailio's tm to the INVITE transaction"
    else
        bad "$tp INVITE: no ACK for the 486 reached Kamailio (Call-ID $cid, branch $branch)"
    fi
    if [ $tp = udp ] && [ -n "$inv" ]; then
        # Control: the same ACK with another branch must not match, or the
        # check above would prove nothing.
        python3 - "$kport" "$ruri" "$via" "$branch" "$(hdr From)" "$(hdr To)" "$cid" <<'EOF'
import socket, sys
port, ruri, via, branch, frm, to, cid = sys.argv[1:]
via = via.replace(branch, "z9hG4bKnotTheInvitesBranch")
msg = (f"ACK {ruri} SIP/2.0\r\nVia: {via}\r\nMax-Forwards: 70\r\nFrom: {frm}\r\n"
       f"To: {to}\r\nCall-ID: {cid}\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n")
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(msg.encode(), ("127.0.0.1", int(port)))
EOF
        if kwait "PARLEY-ACK" "branch=z9hG4bKnotTheInvitesBranch" "callid=$cid"; then
            # Its verdict is the second for this Call-ID.
            n=0
            for _ in $(seq 60); do
                n=$(grep -F "PARLEY-ACK matched=" "$klog" | grep -cF "callid=$cid") || true
                [ "$n" -ge 2 ] && break
                sleep 0.05
            done
            v=$(kline "PARLEY-ACK matched=" "callid=$cid")
            [ "$n" = 2 ] && [ "$(kfield "$v" matched)" = no ] && ok ||
                bad "control: an ACK with another branch was matched too: $(grep -F "callid=$cid" "$klog")"
        else
            bad "control: Kamailio did not log the hand-made ACK"
        fi
    fi

    # ---- 3. Kamailio as a proxy in front of parley listen.
    next="sip:listener@127.0.0.1:$lport;transport=$tp"
    send --transport $tp -v -H "X-Parley-Next: $next" OPTIONS "sip:listener@127.0.0.1:$kport"
    expect "$tp proxied OPTIONS exit" "$rc" 0
    expect "$tp proxied OPTIONS status" "$(head -1 <<<"$out")" "SIP/2.0 200 OK"
    grep -q "^Allow: OPTIONS, ACK, CANCEL" <<<"$out" && ok || bad "$tp proxied OPTIONS: not the listener's 200: $out"
    expect "$tp proxied OPTIONS: Vias in the 200 (Kamailio's removed)" "$(grep -c '^Via:' <<<"$out")" 1
    cid=$(hdr Call-ID)
    line=$(grep -F "Call-ID: $cid " "$llog" || true)
    expect "$tp listener line for the proxied OPTIONS" "$line" "$tp:127.0.0.1:$kport OPTIONS $next Call-ID: $cid -> 200"
    rpl=$(kline "PARLEY-RPL 200" "callid=$cid")
    [ -n "$rpl" ] && ok || bad "$tp proxied OPTIONS: Kamailio logged no 200 from the listener"
    expect "$tp proxied OPTIONS: 200 came from" "$(kfield "$rpl" src)" "127.0.0.1:$lport"

    send --transport $tp -H "X-Parley-Next: $next" MESSAGE "sip:listener@127.0.0.1:$kport"
    expect "$tp proxied MESSAGE exit" "$rc" 1
    expect "$tp proxied MESSAGE status" "$out" "SIP/2.0 405 Method Not Allowed"
    line=$(grep -F " MESSAGE $next " "$llog" | tail -1 || true)
    case "$line" in
    "$tp:127.0.0.1:$kport MESSAGE $next Call-ID: "*" -> 405") ok ;;
    *) bad "$tp listener line for the proxied MESSAGE: '$line'" ;;
    esac

    # An INVITE through Kamailio: the listener's 405 comes back through it,
    # Kamailio ACKs the 405 to the listener itself, Parley ACKs it to Kamailio.
    send --transport $tp -v -H "X-Parley-Next: $next" INVITE "sip:listener@127.0.0.1:$kport"
    expect "$tp proxied INVITE exit" "$rc" 1
    expect "$tp proxied INVITE status" "$(head -1 <<<"$out")" "SIP/2.0 405 Method Not Allowed"
    grep -q "^SIP/2.0 100 " <<<"$all" && ok || bad "$tp proxied INVITE: Kamailio's 100 Trying not printed: $all"
    cid=$(hdr Call-ID)
    ttag=$(param "$(hdr To)" tag)
    line=$(grep -F "Call-ID: $cid " "$llog" || true)
    expect "$tp listener line for the proxied INVITE" "$line" "$tp:127.0.0.1:$kport INVITE $next Call-ID: $cid -> 405"
    if kwait "PARLEY-ACK matched=" "callid=$cid"; then
        ack=$(kline "PARLEY-ACK proto=" "callid=$cid ")
        expect "$tp ACK of the proxied 405: To tag" "$(kfield "$ack" ttag)" "$ttag"
        expect "$tp ACK of the proxied 405: branch" "$(kfield "$ack" branch)" "$(param "$(hdr Via)" branch)"
        [ -n "$(kline "PARLEY-ACK matched=yes" "callid=$cid")" ] && ok ||
            bad "$tp ACK of the proxied 405 not matched to Kamailio's INVITE transaction"
    else
        bad "$tp proxied INVITE: no ACK for the 405 reached Kamailio (Call-ID $cid)"
    fi
done

# Kamailio complained about nothing Parley sent, and is still running.
l=$(grep -E "PARLEY-REQ insane|ERROR:.*(parse|bad|invalid)" "$klog" || true)
[ -z "$l" ] && ok || bad "Kamailio complained: $l"
kill -0 "$kpid" 2>/dev/null && ok || bad "Kamailio died: $(tail -20 "$klog")"

kill -INT "$lpid"
wait "$lpid" && ok || bad "listener did not exit cleanly on SIGINT: $(cat "$tmp/listener.err")"
lpid=
grep -qE "Sanitizer|runtime error" "$tmp/listener.err" && bad "listener: $(cat "$tmp/listener.err")" || ok

if [ "$fail" != 0 ]; then
    echo "--- kamailio log (PARLEY lines and errors)"
    grep -E "PARLEY|ERROR|WARNING" "$klog" | tail -60 || true
    echo "--- listener log"
    cat "$llog"
fi
finish
