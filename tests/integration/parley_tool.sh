#!/usr/bin/env bash
# parley send and parley listen over real loopback sockets, UDP and TCP:
# OPTIONS answered 200 with Allow/Accept/Supported, other methods 501, the
# exit codes, and a request to a closed port ending in exit 2.
set -euo pipefail
BIN=${PARLEY_BIN:-build/bin}
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
log=$(mktemp)
"$BIN/parley" listen "udp:127.0.0.1:$port" "tcp:127.0.0.1:$port" >"$log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -f "$log"' EXIT
# Wait for the listener to say it is up (no blind sleep).
for _ in $(seq 100); do grep -q "listening on tcp" "$log" && break; sleep 0.05; done
grep -q "listening on udp:127.0.0.1:$port" "$log" && ok || bad "listener did not start"

for tp in udp tcp; do
    out=$("$BIN/parley" send --transport $tp -v OPTIONS "sip:probe@127.0.0.1:$port") && rc=0 || rc=$?
    [ "$rc" = 0 ] && ok || bad "$tp OPTIONS exit $rc"
    grep -q "^SIP/2.0 200 OK" <<<"$out" && ok || bad "$tp OPTIONS: no 200"
    for h in "Allow: OPTIONS, ACK, CANCEL" "Accept: application/sdp" "Supported:"; do
        grep -q "^$h" <<<"$out" && ok || bad "$tp OPTIONS: no '$h'"
    done
    out=$("$BIN/parley" send --transport $tp MESSAGE "sip:probe@127.0.0.1:$port" -H 'Subject: hi') && rc=0 || rc=$?
    [ "$rc" = 1 ] && ok || bad "$tp MESSAGE exit $rc, want 1"
    grep -q "^SIP/2.0 501 Not Implemented" <<<"$out" && ok || bad "$tp MESSAGE: no 501"
done
# The listener logged each request with its Call-ID.
[ "$(grep -c 'OPTIONS sip:probe@127' "$log")" = 2 ] && ok || bad "listener log: $(cat "$log")"
grep -q "MESSAGE .* -> 501" "$log" && ok || bad "listener did not log the 501"

# A host name: looked up (the hosts file says localhost is 127.0.0.1).
out=$("$BIN/parley" send OPTIONS "sip:probe@localhost:$port") && rc=0 || rc=$?
[ "$rc" = 0 ] && grep -q "^SIP/2.0 200 OK" <<<"$out" && ok || bad "OPTIONS to localhost: exit $rc"

# Usage errors.
"$BIN/parley" send OPTIONS "not a uri" 2>/dev/null && rc=0 || rc=$?
[ "$rc" = 3 ] && ok || bad "bad URI exit $rc, want 3"
"$BIN/parley" --help >/dev/null && ok || bad "--help failed"
"$BIN/parley" bogus 2>/dev/null && rc=0 || rc=$?
[ "$rc" = 3 ] && ok || bad "unknown command exit $rc, want 3"

# A TCP request to a closed port: the connection is refused, the net layer
# reports it, and the client transaction ends with a 503 at once (RFC 3261
# 8.1.3.1), not after Timer F; the tool says "transport failure", exit 2.
dead=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
err=$("$BIN/parley" send --transport tcp OPTIONS "sip:x@127.0.0.1:$dead" 2>&1 >/dev/null) && rc=0 || rc=$?
[ "$rc" = 2 ] && ok || bad "refused TCP exit $rc, want 2"
grep -q "transport failure" <<<"$err" && ok || bad "refused TCP said: $err"

kill -INT $pid
wait $pid && ok || bad "listener did not exit cleanly on SIGINT"
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
