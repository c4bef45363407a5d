#!/usr/bin/env bash
# Digest authentication against Kamailio 5.6 (Debian kamailio): parley send
# --user/--password through the UA library, whose client answers 401 and
# 407 from the profile's credentials (RFC 3261 22.2/22.3, RFC 7616, RFC
# 8760). Two Kamailio instances, both with tests/data/kamailio/kamailio-auth.cfg
# and a password in the config (no database): one challenges with MD5, one
# (-A ALG_SHA256) with SHA-256, both qop=auth with nonce counting.
#
# For each algorithm, transport (UDP, TCP), challenge (401 www, 407 proxy)
# and method (OPTIONS, MESSAGE, INVITE): the request is answered once
# authenticated (200, or 486 for INVITE), the challenge is never shown to
# the user, Kamailio logs the check as ok for user alice with that
# algorithm on the retry (CSeq 2). A wrong password ends with the 401/407
# after one answer (no loop); no credentials at all ends at the first 401.
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"
BIN=${PARLEY_BIN:-build/bin}
SRC=${PARLEY_SRC:-.}
CFG=$SRC/tests/data/kamailio/kamailio-auth.cfg
KAMAILIO=$(command -v kamailio || echo /usr/sbin/kamailio)
MODULES=/usr/lib/x86_64-linux-gnu/kamailio/modules
[ -x "$KAMAILIO" ] || { echo "kamailio missing (scripts/bootstrap installs kamailio)"; exit 1; }
[ -d "$MODULES" ] || MODULES=$(dirname "$(find /usr/lib -name tm.so -path '*kamailio/modules*' 2>/dev/null | head -1)")

tmp=$(mktemp -d)
pids=()
cleanup() {
    set +e
    for p in "${pids[@]}"; do
        stop_group "$p"
    done
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# start NAME PORT [DEFINE]: a Kamailio in its own session, logging to $tmp/NAME.log
start() {
    local name=$1 port=$2 def=${3:-}
    mkdir -p "$tmp/$name"
    setsid "$KAMAILIO" -f "$CFG" ${def:+-A "$def"} -DD -E -L "$MODULES" -w "$tmp/$name" \
        -Y "$tmp/$name" -P "$tmp/$name/k.pid" -m 64 -M 8 \
        -l "udp:127.0.0.1:$port" -l "tcp:127.0.0.1:$port" >"$tmp/$name.log" 2>&1 &
    pids+=($!)
    # Up when a request over TCP gets Kamailio's 401 (exit 1; a refused connection is exit 2).
    local rc=2
    for _ in $(seq 100); do
        kill -0 "${pids[-1]}" 2>/dev/null || break
        timeout 5 "$BIN/parley" send --transport tcp OPTIONS "sip:www@127.0.0.1:$port" \
            >/dev/null 2>&1 && rc=0 || rc=$?
        [ "$rc" = 1 ] && return 0
        sleep 0.1
    done
    echo "kamailio ($name) did not start: $(tail -20 "$tmp/$name.log")"
    exit 1
}

kmd5=$(free_port)
start md5 "$kmd5"
ksha=$(free_port)
while [ "$ksha" = "$kmd5" ]; do ksha=$(free_port); done
start sha256 "$ksha" ALG_SHA256

# The PARLEY-AUTH line of a Call-ID with a given verdict, waiting for it a little.
kline() {
    local log=$1 verdict=$2 cid=$3
    for _ in $(seq 40); do
        l=$(grep -F "PARLEY-AUTH $verdict " "$log" | grep -F "callid=$cid " | tail -1 || true)
        [ -n "$l" ] && { echo "$l"; return 0; }
        sleep 0.05
    done
    return 1
}
field() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<"$1"; }

for alg in md5 sha256; do
    port=$kmd5 want=MD5
    [ $alg = sha256 ] && port=$ksha want=SHA-256
    log=$tmp/$alg.log
    for tp in udp tcp; do
        for who in www proxy; do
            for method in OPTIONS MESSAGE INVITE; do
                what="$alg $tp $who $method"
                out=$("$BIN/parley" send --transport $tp --user alice --password secret -v \
                    $method "sip:$who@127.0.0.1:$port" 2>"$tmp/err") && rc=0 || rc=$?
                final=$(grep '^SIP/2.0 [2-6]' <<<"$out" | tail -1 | tr -d '\r' || true)
                if [ $method = INVITE ]; then
                    expect "$what: exit" "$rc" 1
                    expect "$what: final" "$final" "SIP/2.0 486 Busy Here"
                else
                    expect "$what: exit" "$rc" 0
                    expect "$what: final" "$final" "SIP/2.0 200 Authenticated"
                fi
                grep -q '^SIP/2.0 40[17]' <<<"$out" && bad "$what: the challenge reached the user: $out" || ok
                cid=$(sed -n 's/^Call-ID: *//p' <<<"$out" | tail -1 | tr -d '\r')
                if l=$(kline "$log" ok "$cid"); then
                    expect "$what: user at Kamailio" "$(field "$l" user)" alice
                    expect "$what: algorithm at Kamailio" "$(field "$l" alg)" "[$want]"
                    expect "$what: CSeq of the answered request" "$(field "$l" cseq)" 2
                else
                    bad "$what: Kamailio did not log an ok check for Call-ID '$cid': $(grep -F "$cid" "$log" | head -3)"
                fi
            done
            # A wrong password: one answer, then the challenge is the outcome.
            code=401
            [ $who = proxy ] && code=407
            out=$("$BIN/parley" send --transport $tp --user alice --password wrong -v \
                MESSAGE "sip:$who@127.0.0.1:$port" 2>"$tmp/err") && rc=0 || rc=$?
            expect "$alg $tp $who wrong password: exit" "$rc" 1
            expect "$alg $tp $who wrong password: final" "$(grep '^SIP/2.0 ' <<<"$out" | tail -1 | cut -c1-11)" "SIP/2.0 $code"
            cid=$(sed -n 's/^Call-ID: *//p' <<<"$out" | tail -1 | tr -d '\r')
            kline "$log" failed "$cid" >/dev/null && ok || bad "$alg $tp $who wrong password: Kamailio logged no failed check"
            n=$(grep -F "callid=$cid " "$log" | grep -c "PARLEY-AUTH" || true)
            expect "$alg $tp $who wrong password: requests Kamailio saw" "$n" 2
        done
    done
    # No credentials: the first 401 is the outcome.
    out=$("$BIN/parley" send OPTIONS "sip:www@127.0.0.1:$port" 2>/dev/null) && rc=0 || rc=$?
    expect "$alg no credentials: exit" "$rc" 1
    expect "$alg no credentials: status" "$(cut -c1-11 <<<"$out")" "SIP/2.0 401"
done

finish
