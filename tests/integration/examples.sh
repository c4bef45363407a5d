#!/usr/bin/env bash
# The programs in examples/ over real loopback sockets: message_chat as
# receiver and sender, options_ping against it, refer_ood (with
# "Refer-Sub: false") against parley listen.
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"
BIN=${PARLEY_BIN:-build/bin}
tmp=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$tmp"' EXIT

p1=$(free_port)
"$BIN/example-message_chat" listen "udp:127.0.0.1:$p1" >"$tmp/chat.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do grep -q "listening on" "$tmp/chat.log" && break; sleep 0.05; done

out=$("$BIN/example-message_chat" send "sip:chat@127.0.0.1:$p1" 'hello there') && rc=0 || rc=$?
[ "$rc" = 0 ] && [ "$out" = "200 OK" ] && ok || bad "message_chat send: exit $rc: $out"
for _ in $(seq 40); do grep -q "hello there" "$tmp/chat.log" && break; sleep 0.05; done
grep -q "^#1 from sip:chat@localhost: hello there" "$tmp/chat.log" && ok || bad "receiver: $(cat "$tmp/chat.log")"
out=$("$BIN/example-message_chat" send "sip:chat@127.0.0.1:$p1" '') && rc=0 || rc=$?
[ "$rc" = 1 ] && [ "$out" = "400 Empty Message" ] && ok || bad "empty message: exit $rc: $out"

out=$("$BIN/example-options_ping" "sip:chat@127.0.0.1:$p1" 2) && rc=0 || rc=$?
[ "$rc" = 0 ] && ok || bad "options_ping exit $rc: $out"
[ "$(grep -c '^ping [12]: 200 OK after' <<<"$out")" = 2 ] && ok || bad "options_ping output: $out"
grep -q "2 of 2 pings answered with 2xx" <<<"$out" && ok || bad "options_ping summary: $out"

p2=$(free_port)
"$BIN/parley" listen --handle REFER=202 "udp:127.0.0.1:$p2" >"$tmp/listen.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do grep -q "listening on" "$tmp/listen.log" && break; sleep 0.05; done
out=$("$BIN/example-refer_ood" "sip:bob@127.0.0.1:$p2" "sip:carol@127.0.0.1" --no-sub) && rc=0 || rc=$?
[ "$rc" = 0 ] && grep -q "^REFER accepted: 202 Accepted" <<<"$out" && ok || bad "refer_ood: exit $rc: $out"
grep -q " REFER sip:bob@127.0.0.1:$p2 .* -> 202" "$tmp/listen.log" && ok || bad "listener: $(cat "$tmp/listen.log")"

# A dead port: the ping times out... too slow for a test; a refused
# target instead: a name that does not resolve ends in a local 503.
out=$("$BIN/example-options_ping" "sip:x@no-such-host.invalid" 1) && rc=0 || rc=$?
[ "$rc" = 1 ] && grep -q "^ping 1: 503 .*(local)" <<<"$out" && ok || bad "unresolvable: exit $rc: $out"

for bin in example-message_chat example-options_ping example-refer_ood; do
    "$BIN/$bin" >/dev/null 2>&1 && rc=0 || rc=$?
    [ "$rc" = 2 ] && ok || bad "$bin without arguments: exit $rc, want 2"
done
finish
