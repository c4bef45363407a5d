#!/usr/bin/env bash
# parley send and parley listen over real loopback sockets, UDP and TCP:
# OPTIONS answered 200 from the profile (Allow, Accept, Supported), MESSAGE
# by a --handle rule, a known method with no handler 405 with Allow, an
# unknown one 501, the exit codes, and a request to a closed port ending
# in exit 2.
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"
BIN=${PARLEY_BIN:-build/bin}

port=$(free_port)
log=$(mktemp)
"$BIN/parley" listen --handle MESSAGE=202 "udp:127.0.0.1:$port" "tcp:127.0.0.1:$port" >"$log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -f "$log"' EXIT
# Wait for the listener to say it is up (no blind sleep).
for _ in $(seq 100); do grep -q "listening on tcp" "$log" && break; sleep 0.05; done
grep -q "listening on udp:127.0.0.1:$port" "$log" && ok || bad "listener did not start"

for tp in udp tcp; do
    out=$("$BIN/parley" send --transport $tp -v OPTIONS "sip:probe@127.0.0.1:$port") && rc=0 || rc=$?
    [ "$rc" = 0 ] && ok || bad "$tp OPTIONS exit $rc"
    grep -q "^SIP/2.0 200 OK" <<<"$out" && ok || bad "$tp OPTIONS: no 200"
    for h in "Allow: OPTIONS, ACK, CANCEL, MESSAGE" "Accept: application/sdp" "Supported:" "Server: parley/"; do
        grep -q "^$h" <<<"$out" && ok || bad "$tp OPTIONS: no '$h': $out"
    done
    out=$("$BIN/parley" send --transport $tp MESSAGE "sip:probe@127.0.0.1:$port" -H 'Subject: hi') && rc=0 || rc=$?
    [ "$rc" = 0 ] && ok || bad "$tp MESSAGE exit $rc, want 0"
    grep -q "^SIP/2.0 202 Accepted" <<<"$out" && ok || bad "$tp MESSAGE: no 202: $out"
    out=$("$BIN/parley" send --transport $tp -v SUBSCRIBE "sip:probe@127.0.0.1:$port") && rc=0 || rc=$?
    [ "$rc" = 1 ] && ok || bad "$tp SUBSCRIBE exit $rc, want 1"
    grep -q "^SIP/2.0 405 Method Not Allowed" <<<"$out" && ok || bad "$tp SUBSCRIBE: no 405: $out"
    grep -q "^Allow: OPTIONS, ACK, CANCEL, MESSAGE" <<<"$out" && ok || bad "$tp SUBSCRIBE: 405 without Allow"
    out=$("$BIN/parley" send --transport $tp XFOO "sip:probe@127.0.0.1:$port") && rc=0 || rc=$?
    [ "$rc" = 1 ] && grep -q "^SIP/2.0 501 Not Implemented" <<<"$out" && ok || bad "$tp XFOO: exit $rc: $out"
done
# The listener logged each request with its Call-ID and the code it got.
[ "$(grep -c 'OPTIONS sip:probe@127.*-> 200' "$log")" = 2 ] && ok || bad "listener log: $(cat "$log")"
[ "$(grep -c 'MESSAGE sip:probe@127.*Call-ID: .* -> 202' "$log")" = 2 ] && ok || bad "listener did not log the 202s"
[ "$(grep -c 'SUBSCRIBE .* -> 405' "$log")" = 2 ] && ok || bad "listener did not log the 405s"
[ "$(grep -c 'XFOO .* -> 501' "$log")" = 2 ] && ok || bad "listener did not log the 501s"

# Bad --handle and --profile arguments are usage errors.
"$BIN/parley" listen --handle MESSAGE=99 udp:127.0.0.1:0 2>/dev/null && rc=0 || rc=$?
[ "$rc" = 3 ] && ok || bad "bad --handle exit $rc, want 3"
prof=$(mktemp)
printf 'aor = sip:x@y\nnonsense = 1\n' >"$prof"
err=$("$BIN/parley" send --profile "$prof" OPTIONS "sip:probe@127.0.0.1:$port" 2>&1) && rc=0 || rc=$?
[ "$rc" = 3 ] && grep -q "unknown key" <<<"$err" && ok || bad "bad profile: exit $rc: $err"
# A good profile: its AOR is the From, its User-Agent is sent.
printf '# test\naor = sip:pat@example.org\nuser_agent = ProfileTest/1\n' >"$prof"
out=$("$BIN/parley" send -v --profile "$prof" MESSAGE "sip:probe@127.0.0.1:$port") && rc=0 || rc=$?
[ "$rc" = 0 ] && grep -q "^From: <sip:pat@example.org>;tag=" <<<"$out" && ok || bad "profile From: exit $rc: $out"
rm -f "$prof"

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
dead=$(free_port)
err=$("$BIN/parley" send --transport tcp OPTIONS "sip:x@127.0.0.1:$dead" 2>&1 >/dev/null) && rc=0 || rc=$?
[ "$rc" = 2 ] && ok || bad "refused TCP exit $rc, want 2"
grep -q "transport failure" <<<"$err" && ok || bad "refused TCP said: $err"

kill -INT $pid
wait $pid && ok || bad "listener did not exit cleanly on SIGINT"
finish
