#!/usr/bin/env bash
# Interop: parley send OPTIONS to baresip (Debian baresip-core), over UDP
# and TCP. baresip runs with a throw-away config directory: one account on
# a free loopback port, no audio. Its 200 must come back (exit 0) with
# baresip's Allow, and with our Via stamped by it (RFC 3581 rport).
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"
BIN=${PARLEY_BIN:-build/bin}
command -v baresip >/dev/null || { echo "baresip missing (scripts/bootstrap installs baresip-core)"; exit 1; }
port=$(free_port)
dir=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"' EXIT
cat >"$dir/config" <<CFG
sip_listen		127.0.0.1:$port
module_path		/usr/lib/baresip/modules
module			account.so
audio_player		none
audio_source		none
CFG
echo "<sip:bob@127.0.0.1:$port>;regint=0" >"$dir/accounts"
: >"$dir/contacts"
baresip -f "$dir" >"$dir/out.log" 2>&1 &
pid=$!
for _ in $(seq 100); do grep -q "baresip is ready" "$dir/out.log" && break; sleep 0.05; done
grep -q "baresip is ready" "$dir/out.log" && ok || { bad "baresip did not start: $(cat "$dir/out.log")"; finish; }

for tp in udp tcp; do
    out=$(timeout 40 "$BIN/parley" send --transport $tp -v OPTIONS "sip:bob@127.0.0.1:$port") && rc=0 || rc=$?
    out=$(tr -d '\r' <<<"$out")
    [ "$rc" = 0 ] && ok || bad "$tp OPTIONS to baresip: exit $rc: $out"
    [ "$(head -1 <<<"$out")" = "SIP/2.0 200 OK" ] && ok || bad "$tp: not a 200: $out"
    grep -q "^Server: baresip" <<<"$out" && ok || bad "$tp: not baresip's answer: $out"
    grep -q "^Allow: .*OPTIONS" <<<"$out" && ok || bad "$tp: no Allow: $out"
    grep -q "^Via: SIP/2.0/${tp^^} 127.0.0.1:[0-9]*;branch=z9hG4bK[^;]*;rport=[0-9]*" <<<"$out" && ok ||
        bad "$tp: Via not ours, or not stamped: $(grep '^Via' <<<"$out")"
done
finish
