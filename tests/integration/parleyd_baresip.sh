#!/usr/bin/env bash
# Interop: two baresip user agents (Debian baresip-core) registering and
# calling each other through parleyd.
#
# parleyd runs the shipped default script (etc/parley.lua) on a free
# loopback port. alice and bob are headless baresip instances with their
# own config directory: one account each, whose address of record is at
# parleyd (so they REGISTER there), auto-answer, G.711 and no audio
# device, the SIP trace on (-s) and the ctrl_tcp module, through which
# tests/data/parleyd/baresip_ctl.py dials and hangs up and waits for call
# events. alice uses UDP; bob reaches parleyd over TCP (its outbound proxy
# is parleyd with transport=tcp), so parleyd changes transport on every
# request between them and record-routes twice (RFC 5658).
#
#  1. Both register: baresip's REGISTER gets parleyd's 200.
#  2. parley send OPTIONS and MESSAGE to sip:alice@ and sip:bob@ at
#     parleyd: the location table routes them to the baresip instance,
#     which answers 200 (baresip's User-Agent, the request in its trace).
#  3. bob calls alice at parleyd and hangs up; then alice calls bob and the
#     callee (bob) hangs up. Each call must be established on both sides
#     and closed on the other side by the BYE. The traces must show each
#     INVITE arriving through parleyd with its Record-Route, the ACK and
#     the BYE (sent along the route set, Route naming parleyd) arriving
#     through parleyd with no Route left.
#  4. baresip stops; parleyd is still running, has no sanitizer report and
#     exits 0 on SIGTERM.
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"
BIN=$(cd "${PARLEY_BIN:-build/bin}" && pwd)
SRC=$(cd "${PARLEY_SRC:-.}" && pwd)
DATA=$SRC/tests/data/parleyd
command -v baresip >/dev/null || { echo "baresip missing (scripts/bootstrap installs baresip-core)"; exit 1; }
[ -x "$BIN/parleyd" ] || { echo "no $BIN/parleyd (build it first, or set PARLEY_BIN)"; exit 1; }
MODS=/usr/lib/baresip/modules

tmp=$(mktemp -d)
. "$DATA/lib.sh"
trap 'stop_all; rm -rf "$tmp"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
# A reader that goes away (| head) must not leave the processes behind.
trap 'exit 141' PIPE

# A free port whose next port is free too (baresip also listens for TLS on
# its SIP port + 1).
port_pair() {
    local p
    while :; do
        p=$(free_port)
        python3 -c '
import socket, sys
s = socket.socket()
try:
    s.bind(("127.0.0.1", int(sys.argv[1]) + 1))
except OSError:
    sys.exit(1)' "$p" && break
    done
    echo "$p"
}
pport=$(free_port)
aport=$(port_pair)
bport=$(port_pair)
while [ "$bport" = "$aport" ] || [ "$bport" = $((aport + 1)) ] || [ $((bport + 1)) = "$aport" ]; do bport=$(port_pair); done
read -r actl bctl < <(free_ports 2)
proxy=127.0.0.1:$pport

start_parleyd proxy "$pport" || { bad "parleyd did not start"; finish; }

# start_baresip NAME SIPPORT CTLPORT ACCOUNT: baresip -s in the background,
# its output in $tmp/NAME.log; waits (bounded) until it is ready.
start_baresip() {
    mkdir -p "$tmp/$1"
    cat >"$tmp/$1/config" <<CFG
sip_listen		127.0.0.1:$2
module_path		$MODS
module			account.so
module			g711.so
module			menu.so
module_app		ctrl_tcp.so
ctrl_tcp_listen		127.0.0.1:$3
audio_player		none
audio_source		none
audio_alert		none
CFG
    echo "$4" >"$tmp/$1/accounts"
    : >"$tmp/$1/contacts"
    baresip -s -f "$tmp/$1" >"$tmp/$1.log" 2>&1 &
    pids+=("$!")
    eval "${1}_pid=$!"
    for _ in $(seq 100); do grep -q "baresip is ready" "$tmp/$1.log" && return 0; sleep 0.05; done
    bad "baresip $1 did not start: $(tail -20 "$tmp/$1.log")"
    return 1
}

# trace NAME: the SIP messages NAME sent and received, one line each.
trace() { python3 "$DATA/sip_trace.py" "$tmp/$1.log" "127.0.0.1:$(eval echo "\$${1}_port")" "$proxy"; }
alice_port=$aport
bob_port=$bport
# field LINE NAME: the value of NAME= in a sip_trace.py line.
field() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<"$1"; }
# The ports of a list of URIs or sent-bys, consecutive duplicates merged.
ports_of() {
    tr ',' '\n' <<<"$1" | sed -n 's/.*:\([0-9][0-9]*\).*/\1/p' | uniq | tr '\n' ' ' | sed 's/ $//'
}

start_baresip alice "$aport" "$actl" "<sip:alice@$proxy>;regint=600;answermode=auto" || finish
start_baresip bob "$bport" "$bctl" \
    "<sip:bob@$proxy;transport=tcp>;regint=600;answermode=auto;outbound=\"sip:$proxy;transport=tcp\"" || finish

# ---- 1. registration
for who in alice bob; do
    for _ in $(seq 100); do trace $who | grep -q '^recv 200 .*_REGISTER ' && break; sleep 0.1; done
    l=$(trace $who | grep '^recv [0-9]* .*_REGISTER ' | tail -1 || true)
    expect "$who: parleyd's answer to the REGISTER" "$(cut -d' ' -f2 <<<"$l")" 200
done

# ---- 2. OPTIONS and MESSAGE to the registered users, routed by lookup
echo "hello through parleyd" >"$tmp/text"
for who in alice bob; do
    for m in OPTIONS MESSAGE; do
        rc=0
        if [ $m = MESSAGE ]; then
            out=$(timeout 10 "$BIN/parley" send -v --body "$tmp/text" --type text/plain MESSAGE "sip:$who@$proxy" 2>&1) || rc=$?
        else
            out=$(timeout 10 "$BIN/parley" send -v OPTIONS "sip:$who@$proxy" 2>&1) || rc=$?
        fi
        out=$(tr -d '\r' <<<"$out")
        expect "$m to $who via parleyd: exit" "$rc" 0
        last=$(awk '/^SIP\/2\.0 /{b=""} {b=b $0 "\n"} END{printf "%s", b}' <<<"$out")
        expect "$m to $who via parleyd: status" "$(head -1 <<<"$last")" "SIP/2.0 200 OK"
        grep -qE "^(Server|User-Agent): baresip" <<<"$last" && ok || bad "$m to $who: not baresip's answer: $last"
        cid=$(sed -n 's/^Call-ID: *//p' <<<"$last" | head -1)
        l=$(trace $who | grep -F "recv $m cid=$cid " | head -1 || true)
        [ -n "$l" ] && ok || bad "$m to $who: not in $who's trace (Call-ID $cid)"
        expect "$m to $who: top Via at $who (parleyd's)" "$(ports_of "$(field "$l" vias)" | cut -d' ' -f1)" "$pport"
    done
done

# ---- 3. calls
ctl() {
    rc=0
    timeout 60 python3 "$DATA/baresip_ctl.py" alice="$actl" bob="$bctl" -- "$@" >>"$tmp/ctl.out" 2>&1 || rc=$?
}
# check_call TAG CALLER CALLEE HANGUP: the INVITE, ACK and BYE of the last
# call in the traces went through parleyd.
check_call() {
    local tag=$1 caller=$2 callee=$3 by=$4 other cid l
    other=$([ "$by" = "$caller" ] && echo "$callee" || echo "$caller")
    l=$(trace "$callee" | grep '^recv INVITE ' | tail -1 || true)
    cid=$(field "$l" cid)
    [ -n "$cid" ] && ok || { bad "$tag: $callee received no INVITE"; return; }
    expect "$tag: Record-Route of the INVITE at $callee (parleyd)" "$(ports_of "$(field "$l" rr)")" "$pport"
    expect "$tag: Vias of the INVITE at $callee" "$(ports_of "$(field "$l" vias)")" \
        "$pport $(eval echo "\$${caller}_port")"
    l=$(trace "$callee" | grep -F "recv ACK cid=$cid " | head -1 || true)
    [ -n "$l" ] && ok || bad "$tag: $callee received no ACK"
    expect "$tag: ACK at $callee came through parleyd" "$(ports_of "$(field "$l" vias)" | cut -d' ' -f1)" "$pport"
    expect "$tag: Route left on the ACK at $callee" "$(field "$l" route)" "-"
    l=$(trace "$by" | grep -F "sent BYE cid=$cid " | head -1 || true)
    [ -n "$l" ] && ok || bad "$tag: $by sent no BYE"
    expect "$tag: Route set of $by's BYE (parleyd)" "$(ports_of "$(field "$l" route)")" "$pport"
    l=$(trace "$other" | grep -F "recv BYE cid=$cid " | head -1 || true)
    [ -n "$l" ] && ok || bad "$tag: $other received no BYE"
    expect "$tag: BYE at $other came through parleyd" "$(ports_of "$(field "$l" vias)")" \
        "$pport $(eval echo "\$${by}_port")"
    expect "$tag: Route left on the BYE at $other" "$(field "$l" route)" "-"
}

ctl bob:dial:"sip:alice@$proxy" wait:bob:CALL_ESTABLISHED wait:alice:CALL_ESTABLISHED \
    bob:hangup wait:alice:CALL_CLOSED
expect "bob calls alice, bob hangs up: every step" "$rc" 0
check_call "bob -> alice" bob alice bob

ctl alice:dial:"sip:bob@$proxy" wait:alice:CALL_ESTABLISHED wait:bob:CALL_ESTABLISHED \
    bob:hangup wait:alice:CALL_CLOSED
expect "alice calls bob, bob hangs up: every step" "$rc" 0
check_call "alice -> bob" alice bob bob

# ---- 4. the end: baresip first (it unregisters), then parleyd.
for who in alice bob; do
    p=$(eval echo "\$${who}_pid")
    kill "$p" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
done
stop_parleyd proxy
if [ "$fail" != 0 ]; then
    echo "--- ctrl_tcp"
    cat "$tmp/ctl.out"
    for who in alice bob; do
        echo "--- $who trace"
        trace $who || true
    done
    echo "--- parleyd log"
    tail -40 "$tmp/proxy.log"
fi
finish
