#!/usr/bin/env bash
# Bad input: every RFC 4475 torture message sent to parleyd, over UDP and
# over TCP, byte for byte.
#
# parleyd runs with the shipped default script (etc/parley.lua) and two
# workers on a free loopback port. tests/data/parleyd/rfc4475_send.py sends
# each message, then a valid OPTIONS for the proxy itself (the probe), and
# reports what parleyd did with the message: the responses it sent (over
# UDP they are seen leaving parleyd's port, since most torture Vias send
# them to a port nobody listens on), whether it forwarded the request,
# whether it closed the TCP connection. tests/data/parleyd/rfc4475_proxy.tsv
# says what is right for each file and transport, from RFC 4475 and
# tests/data/rfc4475/EXPECTED.md: the 400-class answer for an invalid
# request (416, 420, 505, 501 where the RFC names them), a silent drop for a
# response that is not ours or not valid, the default script's routing or
# registrar answer for a valid request. Every message must be followed by
# the probe's 200 (parleyd is still up and serving), parleyd's log must hold
# no sanitizer report, and it must exit 0 on SIGTERM at the end.
#
# Known gaps (the fifth column of the table: what parleyd does instead
# today) are reported as "known gap" and do not fail the test as long as
# parleyd does exactly that; today: no 400 for a request the parser
# refuses (it is dropped), and the answers on a TCP connection that a later
# framing error closes. The output has one line per message and transport
# with what parleyd answered ("got: ..."), whether the check passed or not.
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"
BIN=$(cd "${PARLEY_BIN:-build/bin}" && pwd)
SRC=$(cd "${PARLEY_SRC:-.}" && pwd)
DATA=$SRC/tests/data/parleyd
[ -x "$BIN/parleyd" ] || { echo "no $BIN/parleyd (build it first, or set PARLEY_BIN)"; exit 1; }
command -v python3 >/dev/null || { echo "python3 missing"; exit 1; }

tmp=$(mktemp -d)
. "$DATA/lib.sh"
trap 'stop_all; rm -rf "$tmp"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
# A reader that goes away (| head) must not leave the processes behind.
trap 'exit 141' PIPE

for tp in udp tcp; do
    # A fresh parleyd for each transport: the registrar keeps what the
    # REGISTER messages stored, and the same REGISTER again is out of order.
    port=$(free_port)
    start_parleyd "proxy_$tp" "$port" --workers 2 && ok || { bad "parleyd did not start"; finish; }
    # Bounded: the driver waits at most ~8 s per probe and 40 s at the end.
    rc=0
    timeout 150 python3 "$DATA/rfc4475_send.py" "$port" $tp "$SRC/tests/data/rfc4475" \
        "$DATA/rfc4475_proxy.tsv" >"$tmp/$tp.out" 2>&1 || rc=$?
    cat "$tmp/$tp.out"
    expect "$tp driver exit status" "$rc" 0
    n=$(grep -cE '^(ok|known gap)' "$tmp/$tp.out" || true)
    m=$(grep -c '^FAIL: ' "$tmp/$tp.out" || true)
    expect "$tp messages reported" "$((n + m))" 49
    for ((i = 0; i < n; i++)); do ok; done
    fail=$((fail + m))
    # Still serving, over both transports, after everything.
    options_ok "127.0.0.1:$port" udp && ok || bad "$tp run: OPTIONS over UDP not answered at the end"
    options_ok "127.0.0.1:$port" tcp && ok || bad "$tp run: OPTIONS over TCP not answered at the end"
    stop_parleyd "proxy_$tp"
    if [ "$fail" != 0 ]; then
        echo "--- parleyd log of the $tp run (last 40 lines)"
        tail -40 "$tmp/proxy_$tp.log"
    fi
done
echo "known gaps: $(cat "$tmp"/*.out | grep -c '^known gap' || true) (see tests/data/parleyd/rfc4475_proxy.tsv)"
finish
