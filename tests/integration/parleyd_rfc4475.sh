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
# The output has one line per message and transport with what parleyd
# answered ("got: ..."), whether the check passed or not.
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

port=$(free_port)
start_parleyd proxy "$port" --workers 2 && ok || { bad "parleyd did not start"; finish; }

for tp in udp tcp; do
    # Bounded: the driver waits at most ~8 s per probe and 40 s at the end.
    rc=0
    timeout 150 python3 "$DATA/rfc4475_send.py" "$port" $tp "$SRC/tests/data/rfc4475" \
        "$DATA/rfc4475_proxy.tsv" >"$tmp/$tp.out" 2>&1 || rc=$?
    cat "$tmp/$tp.out"
    expect "$tp driver exit status" "$rc" 0
    n=$(grep -c '^ok: ' "$tmp/$tp.out" || true)
    m=$(grep -c '^FAIL: ' "$tmp/$tp.out" || true)
    expect "$tp messages reported" "$((n + m))" 49
    for ((i = 0; i < n; i++)); do ok; done
    fail=$((fail + m))
    kill -0 "$proxy_pid" 2>/dev/null && ok || bad "parleyd died during the $tp run: $(tail -30 "$tmp/proxy.log")"
done

# Still serving, over both transports, after everything.
options_ok "127.0.0.1:$port" udp && ok || bad "OPTIONS over UDP not answered at the end"
options_ok "127.0.0.1:$port" tcp && ok || bad "OPTIONS over TCP not answered at the end"
stop_parleyd proxy
if [ "$fail" != 0 ]; then
    echo "--- parleyd log (last 60 lines)"
    tail -60 "$tmp/proxy.log"
fi
finish
