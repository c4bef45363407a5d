#!/usr/bin/env bash
# Interop: sofia-sip's sip-options (Debian sofia-sip-bin) asks `parley
# listen` what it supports, over UDP and TCP; the answer must be a 200 that
# sofia-sip parses, with Parley's Allow, Accept and Supported.
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"
BIN=${PARLEY_BIN:-build/bin}
command -v sip-options >/dev/null || { echo "sip-options missing (scripts/bootstrap installs sofia-sip-bin)"; exit 1; }

port=$(free_port)
log=$(mktemp)
"$BIN/parley" listen --handle MESSAGE=200 "udp:127.0.0.1:$port" "tcp:127.0.0.1:$port" >"$log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 100); do grep -q "listening on tcp" "$log" && break; sleep 0.05; done

for tp in udp tcp; do
    out=$(timeout 40 sip-options --bind="sip:127.0.0.1:0;transport=$tp" \
        "sip:probe@127.0.0.1:$port;transport=$tp" 2>&1) && rc=0 || rc=$?
    [ "$rc" = 0 ] && ok || bad "$tp: sip-options exit $rc: $out"
    grep -q "^SIP/2.0 200 OK" <<<"$out" && ok || bad "$tp: no 200 in: $out"
    for h in "Allow: OPTIONS, ACK, CANCEL, MESSAGE" "Accept: application/sdp" "Supported:" "Server: parley/"; do
        grep -q "^$h" <<<"$out" && ok || bad "$tp: no '$h' in: $out"
    done
done
[ "$(grep -c 'OPTIONS sip:probe' "$log")" = 2 ] && ok || bad "listener log: $(cat "$log")"
finish
