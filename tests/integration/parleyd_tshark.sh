#!/usr/bin/env bash
# Interop: Wireshark's SIP dissector (tshark) finds nothing wrong in what
# parleyd sends.
#
# tshark captures the loopback, every packet to or from parleyd's port
# (UDP and TCP), while traffic runs through parleyd (default script
# etc/parley.lua) with SIPp's shared scenarios (tests/sipp/) and parley:
#   - OPTIONS to parleyd itself, over UDP and TCP;
#   - REGISTER of bob (at the callee's port), then 3 calls to him by his
#     registration, and 3 calls addressed to the callee's address over TCP
#     (parleyd changes transport: two Record-Route entries), ACK and BYE
#     along the route set;
#   - a call CANCELled while ringing (CANCEL, 200, 487, ACK);
#   - a call to a busy callee (486, ACK);
#   - an INVITE to an unregistered user of parleyd's own domain (its 404);
#   - a REGISTER that removes bob.
# Then, on the capture file:
#   - every frame parleyd sent (source port = parleyd's) that carries SIP
#     must not be flagged malformed nor carry an expert item of severity
#     warning or above;
#   - tshark must have decoded, in parleyd's frames, each method and status
#     the traffic implies (forwarded INVITE, ACK, BYE, CANCEL; 180, 200,
#     404, 486, 487), so an empty or undecoded capture cannot pass;
#   - control: a datagram cut inside its header section, sent to parleyd
#     by the test itself, must be flagged by the same filter (so the filter
#     can fail).
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"
BIN=$(cd "${PARLEY_BIN:-build/bin}" && pwd)
SRC=$(cd "${PARLEY_SRC:-.}" && pwd)
DATA=$SRC/tests/data/parleyd
command -v tshark >/dev/null || { echo "tshark missing (scripts/bootstrap installs tshark)"; exit 1; }
[ -x "$BIN/parleyd" ] || { echo "no $BIN/parleyd (build it first, or set PARLEY_BIN)"; exit 1; }
tmp=$(mktemp -d)
. "$DATA/lib.sh"
[ -n "$SIPP" ] || { echo "sipp missing (scripts/bootstrap installs sip-tester)"; exit 1; }
[ -f "$SC/uac_rr.xml" ] || { echo "no $SC/uac_rr.xml"; exit 1; }
trap 'stop_all; rm -rf "$tmp"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
# A reader that goes away (| head) must not leave the processes behind.
trap 'exit 141' PIPE

read -r pport uport cport < <(free_ports 3)
proxy=127.0.0.1:$pport
pcap=$tmp/parleyd.pcap

# tshark reads packets it captured itself only when they are in the file:
# count SIP frames matching FILTER in the capture so far.
frames() { tshark -r "$pcap" -Y "$1" 2>/dev/null | wc -l; }

tshark -i lo -f "port $pport" -w "$pcap" >"$tmp/tshark.log" 2>&1 &
tpid=$!
pids+=("$tpid")
start_parleyd proxy "$pport" || { bad "parleyd did not start"; finish; }
for _ in $(seq 200); do grep -q "Capturing on" "$tmp/tshark.log" && break; sleep 0.05; done
grep -q "Capturing on" "$tmp/tshark.log" || { bad "tshark did not start: $(cat "$tmp/tshark.log")"; finish; }
# "Capturing on" comes a moment before packets do: ping until an OPTIONS
# shows in the file.
for _ in $(seq 50); do
    options_ok "$proxy" || true
    [ "$(frames 'sip.Method == "OPTIONS"')" -gt 0 ] && break
    sleep 0.1
done

# ---- traffic
options_ok "$proxy" udp && ok || bad "OPTIONS over UDP"
options_ok "$proxy" tcp && ok || bad "OPTIONS over TCP"

sipp_caller register "$proxy" -sf "$SC/register.xml" -s bob -p "$uport" -m 1
expect "REGISTER bob: sipp exit" "$rc" 0

sipp_callee callee_rr uas_rr.xml 6 "$uport"
sipp_caller calls_bob "$proxy" -s bob -sf "$SC/uac_rr.xml" -p "$cport" -m 3
expect "3 calls to bob by his registration: caller's exit" "$rc" 0
sipp_caller calls_tcp "127.0.0.1:$uport" -rsa "$proxy" -sf "$SC/uac_rr.xml" -t t1 -p "$cport" -m 3
expect "3 calls over TCP to the callee's address: caller's exit" "$rc" 0
sipp_callee_wait
expect "6 calls: callee's exit" "$urc" 0

sipp_callee callee_noanswer uas_noanswer.xml 1 "$uport"
sipp_caller cancel "127.0.0.1:$uport" -rsa "$proxy" -sf "$SC/uac_cancel.xml" -p "$cport" -m 1
expect "CANCEL: caller's exit" "$rc" 0
sipp_callee_wait
expect "CANCEL: callee's exit" "$urc" 0

sipp_callee callee_busy uas_busy.xml 1 "$uport"
sipp_caller busy "127.0.0.1:$uport" -rsa "$proxy" -sf "$SC/uac_busy.xml" -p "$cport" -m 1
expect "busy: caller's exit" "$rc" 0
sipp_callee_wait
expect "busy: callee's exit" "$urc" 0

out=$(timeout 10 "$BIN/parley" send INVITE "sip:nobody@$proxy" 2>&1 | tr -d '\r' | grep '^SIP/2.0 [2-6]' | tail -1 || true)
expect "INVITE to an unregistered user" "$out" "SIP/2.0 404 Not Found"

sipp_caller unregister "$proxy" -sf "$SC/unregister.xml" -s bob -p "$uport" -m 1
expect "REGISTER removing bob: sipp exit" "$rc" 0

# The control: a request cut inside its header section.
python3 - "$pport" <<'EOF'
import socket, sys
msg = (b"OPTIONS sip:cut@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKcut;rport\r\n"
       b"From: <sip:cut@127.0.0.1>;tag=1\r\nTo: <sip:cut@127.0.0.1>\r\nCall-ID: cut-control\r\nCSeq: 1 OP")
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(msg, ("127.0.0.1", int(sys.argv[1])))
EOF
# The last packet: an OPTIONS answered; wait (bounded) until it is in the file.
options_ok "$proxy" udp || true
for _ in $(seq 100); do
    n=$(frames "udp.srcport == $pport && sip.CSeq.method == \"REGISTER\" && sip.Status-Code")
    [ "$n" -ge 2 ] && [ "$(frames 'sip.Call-ID == "cut-control"')" -gt 0 ] && break
    sleep 0.1
done
kill -INT "$tpid" 2>/dev/null || true
wait "$tpid" 2>/dev/null || true

# ---- what tshark says
from="(udp.srcport == $pport || tcp.srcport == $pport)"
flag='(_ws.malformed || _ws.expert.severity >= warning)'
total=$(frames "$from && sip")
echo "SIP frames sent by parleyd: $total (all frames in the capture: $(tshark -r "$pcap" 2>/dev/null | wc -l))"
[ "$total" -ge 40 ] && ok || bad "only $total SIP frames from parleyd in the capture"
if flagged=$(tshark -r "$pcap" -Y "$from && sip && $flag" -T fields -e frame.number -e sip.Method \
    -e sip.Status-Code -e _ws.expert.message 2>"$tmp/err"); then
    [ -z "$flagged" ] && ok || bad "frames sent by parleyd flagged by tshark: $flagged"
else
    bad "tshark refused the filter: $(cat "$tmp/err")"
fi
# The control is flagged (it did not come from parleyd).
c=$(tshark -r "$pcap" -Y "udp.dstport == $pport && !$from && $flag" 2>/dev/null | wc -l)
[ "$c" -ge 1 ] && ok || bad "control: the cut request was not flagged by '$flag'"

decoded=$(tshark -r "$pcap" -Y "$from && sip" -T fields -e sip.Method -e sip.Status-Code -e sip.CSeq.method 2>/dev/null)
for m in INVITE ACK BYE CANCEL; do
    grep -q "^$m	" <<<"$decoded" && ok || bad "no $m forwarded by parleyd decoded"
done
# (No 100 is required: the callee rings within 200 ms, and the INVITE
# server transaction then need not send one, RFC 3261 17.2.1.)
for s in "180	INVITE" "200	INVITE" "200	BYE" "200	CANCEL" "487	INVITE" "486	INVITE" \
    "404	INVITE" "200	REGISTER" "200	OPTIONS"; do
    grep -q "	$s\$" <<<"$decoded" && ok || bad "no '$s' response from parleyd decoded"
done

stop_parleyd proxy
if [ "$fail" != 0 ]; then
    echo "--- decoded frames from parleyd"
    tshark -r "$pcap" -Y "$from && sip" 2>/dev/null | tail -60
    echo "--- parleyd log"
    tail -40 "$tmp/proxy.log"
fi
finish
