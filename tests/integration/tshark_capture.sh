#!/usr/bin/env bash
# Interop: a live capture of a Parley exchange on loopback (parley send to
# parley listen, over UDP and TCP), decoded by tshark's SIP dissector: every
# request and response must be recognised as SIP, with the right method and
# status, and none flagged malformed.
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"
BIN=${PARLEY_BIN:-build/bin}

port=$(free_port)
dir=$(mktemp -d)
pcap="$dir/exchange.pcap"
"$BIN/parley" listen "udp:127.0.0.1:$port" "tcp:127.0.0.1:$port" >"$dir/listen.log" 2>&1 &
lpid=$!
tshark -i lo -f "port $port" -w "$pcap" >"$dir/tshark.log" 2>&1 &
tpid=$!
trap 'kill $lpid $tpid 2>/dev/null || true; rm -rf "$dir"' EXIT
for _ in $(seq 200); do grep -q "Capturing on" "$dir/tshark.log" && grep -q "listening on tcp" "$dir/listen.log" && break; sleep 0.05; done
grep -q "Capturing on" "$dir/tshark.log" || { echo "tshark did not start: $(cat "$dir/tshark.log")"; exit 1; }
# "Capturing on" comes a moment before packets are: send a warm-up request
# (method PING, answered 501) until one shows in the file.
for _ in $(seq 50); do
    "$BIN/parley" send PING "sip:warmup@127.0.0.1:$port" >/dev/null 2>&1 || true
    [ "$(tshark -r "$pcap" -Y sip 2>/dev/null | wc -l)" -gt 0 ] && break
    sleep 0.1
done

"$BIN/parley" send OPTIONS "sip:cap@127.0.0.1:$port" >/dev/null && ok || bad "udp OPTIONS"
"$BIN/parley" send --transport tcp OPTIONS "sip:cap@127.0.0.1:$port" >/dev/null && ok || bad "tcp OPTIONS"
"$BIN/parley" send INFO "sip:cap@127.0.0.1:$port" -H 'Subject: capture' --body /dev/null --type text/plain >/dev/null || true
# Let tshark write the last packets: wait until the INFO's answer is there.
for _ in $(seq 100); do
    tshark -r "$pcap" -Y 'sip.CSeq.method == "INFO" && sip.Status-Code' 2>/dev/null | grep -q . && break
    sleep 0.1
done
kill -INT $tpid; wait $tpid 2>/dev/null || true

decoded=$(tshark -r "$pcap" -Y sip -T fields -e sip.Method -e sip.Status-Code 2>/dev/null)
[ "$(grep -c '^OPTIONS' <<<"$decoded")" = 2 ] && ok || bad "OPTIONS decoded: $decoded"
[ "$(grep -c '	200$' <<<"$decoded")" = 2 ] && ok || bad "200s decoded: $decoded"
grep -q '^INFO' <<<"$decoded" && ok || bad "INFO not decoded: $decoded"
grep -q '	501$' <<<"$decoded" && ok || bad "501 not decoded: $decoded"
# The same filter as tests/integration/tshark.sh; tshark must accept it (a
# filter tshark rejects would otherwise look like "nothing flagged").
if flagged=$(tshark -r "$pcap" -Y '_ws.malformed || _ws.expert.severity >= warning' 2>"$dir/err"); then
    [ -z "$flagged" ] && ok || bad "frames flagged: $flagged"
else
    bad "tshark refused the filter: $(cat "$dir/err")"
fi
finish
