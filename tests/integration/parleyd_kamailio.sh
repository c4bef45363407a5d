#!/usr/bin/env bash
# Interop: parleyd chained with Kamailio 5.6, calls passing both ways.
#
# parleyd (default script etc/parley.lua) and Kamailio
# (tests/data/parleyd/kamailio-chain.cfg: record_route, t_relay,
# loose_route) run on free loopback ports, UDP and TCP; SIPp plays the
# caller (tests/sipp/uac_rr.xml, which learns the route set from the 200's
# Record-Route and sends ACK and BYE along it) and the callee
# (tests/sipp/uas_rr.xml, which echoes Record-Route and refuses a BYE that
# still carries a Route). Two chains, each with the caller on UDP and then
# on TCP (the proxies then change transport, and each puts two
# Record-Route entries, RFC 3261 16.6 step 4 / RFC 5658):
#
#   K-P: caller -> Kamailio -> parleyd -> callee. The INVITE is addressed
#        to the callee and sent to Kamailio (SIPp -rsa), which relays it to
#        parleyd as its outbound proxy; parleyd forwards it to the
#        Request-URI.
#   P-K: caller -> parleyd -> Kamailio -> callee. The INVITE is addressed
#        to a user at Kamailio and sent to parleyd, which forwards it to the
#        Request-URI (Kamailio); Kamailio rewrites it to the callee.
#
# For each chain and transport, CALLS calls must complete on both SIPp
# sides (exit 0), and the message traces must show:
#   - at the callee, each INVITE with Record-Route entries of both proxies
#     (the one nearer the callee on top) and Vias of the second proxy, the
#     first proxy and the caller, in that order;
#   - at the caller, each 200 with both proxies' Record-Route, and ACK and
#     BYE sent with the route set: Route entries of the first proxy, then
#     of the second;
#   - at the callee, each ACK and BYE arriving through both proxies (the
#     same three Vias) with no Route left (each proxy removed its own,
#     16.4 / 16.12);
#   - in Kamailio's log, the ACK and BYE of each call routed by
#     loose_route.
# Finally both proxies are still running, parleyd's log has no sanitizer
# report and parleyd exits 0 on SIGTERM.
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"
BIN=$(cd "${PARLEY_BIN:-build/bin}" && pwd)
SRC=$(cd "${PARLEY_SRC:-.}" && pwd)
DATA=$SRC/tests/data/parleyd
CALLS=3
[ -x "$BIN/parleyd" ] || { echo "no $BIN/parleyd (build it first, or set PARLEY_BIN)"; exit 1; }
tmp=$(mktemp -d)
. "$DATA/lib.sh"
[ -n "$SIPP" ] || { echo "sipp missing (scripts/bootstrap installs sip-tester)"; exit 1; }
[ -f "$SC/uac_rr.xml" ] && [ -f "$SC/uas_rr.xml" ] || { echo "no $SC/uac_rr.xml or uas_rr.xml"; exit 1; }
trap 'stop_all; rm -rf "$tmp"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
# A reader that goes away (| head) must not leave the processes behind.
trap 'exit 141' PIPE

read -r pport kport uport cport < <(free_ports 4)
start_parleyd proxy "$pport" || { bad "parleyd did not start"; finish; }
start_kamailio kam "$kport" "$DATA/kamailio-chain.cfg" "PARLEYD=\"sip:127.0.0.1:$pport\"" \
    'CALLEE_HOST="127.0.0.1"' "CALLEE_PORT=$uport" || { bad "kamailio did not start"; finish; }
ok

# ---- helpers

# The ports of a list of URIs or sent-bys, consecutive duplicates merged
# (a double Record-Route names the same proxy twice): "5080 5070".
ports_of() {
    tr ',' '\n' <<<"$1" | sed -n 's/.*:\([0-9][0-9]*\).*/\1/p' | uniq | tr '\n' ' ' | sed 's/ $//'
}

# field LINE NAME: the value of NAME= in a sip_trace.py line.
field() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<"$1"; }

# check_call TAG FIRST SECOND CALLEE_TRACE CALLER_TRACE: the route checks
# above for every call in the traces; FIRST and SECOND are the proxies'
# ports in the order the INVITE passes them.
check_calls() {
    local tag=$1 first=$2 second=$3 utr=$4 ctr=$5 cid l n
    local cids
    cids=$(grep '^recv INVITE ' "$utr" | sed 's/.* cid=\([^ ]*\).*/\1/' | sort -u)
    expect "$tag: INVITEs at the callee" "$(wc -l <<<"$cids" | tr -d ' ')" "$CALLS"
    for cid in $cids; do
        l=$(grep -F "recv INVITE cid=$cid " "$utr" | head -1)
        expect "$tag $cid: Record-Route at the callee (proxy ports, top first)" \
            "$(ports_of "$(field "$l" rr)")" "$second $first"
        expect "$tag $cid: Vias at the callee (ports, top first)" "$(ports_of "$(field "$l" vias)")" \
            "$second $first $cport"
        l=$(grep -F "recv 200 cid=$cid cseq=1_INVITE" "$ctr" | head -1)
        expect "$tag $cid: Record-Route in the caller's 200" "$(ports_of "$(field "$l" rr)")" "$second $first"
        for m in ACK BYE; do
            l=$(grep -F "sent $m cid=$cid " "$ctr" | head -1)
            expect "$tag $cid: Route set of the caller's $m" "$(ports_of "$(field "$l" route)")" "$first $second"
            l=$(grep -F "recv $m cid=$cid " "$utr" | head -1)
            [ -n "$l" ] && ok || bad "$tag $cid: the callee got no $m"
            expect "$tag $cid: Route left on the $m at the callee" "$(field "$l" route)" "-"
            expect "$tag $cid: Vias of the $m at the callee" "$(ports_of "$(field "$l" vias)")" \
                "$second $first $cport"
            n=$(grep -F "PARLEY-LR $m " "$tmp/kam.log" | grep -cF "callid=$cid") || true
            [ "$n" -ge 1 ] && ok || bad "$tag $cid: Kamailio did not loose-route the $m"
        done
    done
}

# ---- the calls

for chain in K-P P-K; do
    for t in u1 t1; do
        tag="$chain/$t"
        name="${chain}_$t"
        sipp_callee "callee_$name" uas_rr.xml "$CALLS" "$uport" || continue
        if [ $chain = K-P ]; then
            # To the callee, through Kamailio first.
            target=(127.0.0.1:"$uport" -s callee -rsa 127.0.0.1:"$kport")
            first=$kport second=$pport
        else
            # To a user at Kamailio, through parleyd first.
            target=(127.0.0.1:"$kport" -s callee -rsa 127.0.0.1:"$pport")
            first=$pport second=$kport
        fi
        sipp_caller "caller_$name" "${target[@]}" -sf "$SC/uac_rr.xml" -t "$t" -p "$cport" -m "$CALLS"
        expect "$tag: caller (SIPp) exit status" "$rc" 0
        sipp_callee_wait
        expect "$tag: callee (SIPp) exit status" "$urc" 0
        python3 "$DATA/sip_trace.py" "$tmp/callee_$name.msg" >"$tmp/callee_$name.tr" 2>&1 || true
        python3 "$DATA/sip_trace.py" "$tmp/caller_$name.msg" >"$tmp/caller_$name.tr" 2>&1 || true
        check_calls "$tag" "$first" "$second" "$tmp/callee_$name.tr" "$tmp/caller_$name.tr"
        if [ "$fail" != 0 ] && [ ! -e "$tmp/shown" ]; then
            touch "$tmp/shown"
            echo "--- $tag: caller trace"
            cat "$tmp/caller_$name.tr"
            echo "--- $tag: callee trace"
            cat "$tmp/callee_$name.tr"
            cat "$tmp/caller_$name.err" "$tmp/callee_$name.err" 2>/dev/null | tail -20
        fi
    done
done

kill -0 "$kam_pid" 2>/dev/null && ok || bad "Kamailio died: $(tail -20 "$tmp/kam.log")"
l=$(grep -E "PARLEY-REQ insane" "$tmp/kam.log" || true)
[ -z "$l" ] && ok || bad "Kamailio found requests from parleyd insane: $l"
stop_parleyd proxy
if [ "$fail" != 0 ]; then
    echo "--- kamailio log (PARLEY lines and errors)"
    grep -E "PARLEY|ERROR|WARNING" "$tmp/kam.log" | tail -40 || true
    echo "--- parleyd log"
    tail -40 "$tmp/proxy.log"
fi
finish
