#!/usr/bin/env bash
# parleyd, the program: the command line (--help, --version, unknown and
# incomplete options), the configuration (the shipped file equals the
# built-in defaults, --check, an unknown key or a bad value named by
# file:line, a broken script), an address in use (exit 1), and a running
# proxy with two workers on free ports: OPTIONS answered over UDP and TCP,
# two `parley listen --register` UAs (alice over UDP, bob over TCP)
# registered, MESSAGEs between them through parleyd, and raw requests with
# Call-IDs chosen so that each worker owns some, over UDP and over one TCP
# connection (so that answers and forwarded requests cross workers both
# ways); the log names the Call-IDs; SIGTERM stops it with exit 0.
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"
BIN=${PARLEY_BIN:-build/bin}
SRC=${PARLEY_SRC:-.}

tmp=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT

# wait_for FILE PATTERN: poll FILE for PATTERN for at most 10 s.
wait_for() {
    for _ in $(seq 200); do
        grep -q -- "$2" "$1" 2>/dev/null && return 0
        sleep 0.05
    done
    return 1
}

# ---------------------------------------------------------------- the command line
out=$("$BIN/parleyd" --help) && rc=0 || rc=$?
expect "--help exit" "$rc" 0
for o in -c --config --listen --script --workers --log-level --store --mgmt --mgmt-token --check \
    --print-config --help --version; do
    grep -q -- "$o" <<<"$out" && ok || bad "--help does not mention $o"
done
out=$("$BIN/parleyd" --version) && rc=0 || rc=$?
[ "$rc" = 0 ] && grep -q "^parleyd [0-9]" <<<"$out" && ok || bad "--version: exit $rc: $out"
err=$("$BIN/parleyd" --bogus 2>&1) && rc=0 || rc=$?
expect "unknown option exit" "$rc" 2
grep -q "unknown option --bogus" <<<"$err" && ok || bad "unknown option said: $err"
"$BIN/parleyd" --listen 2>/dev/null && rc=0 || rc=$?
expect "--listen without a value" "$rc" 2
"$BIN/parleyd" --workers many --check 2>/dev/null && rc=0 || rc=$?
expect "--workers many" "$rc" 2
"$BIN/parleyd" --listen sctp:1.2.3.4:5 --check 2>/dev/null && rc=0 || rc=$?
expect "--listen sctp:" "$rc" 2

# ---------------------------------------------------------------- the configuration
# The shipped file holds the built-in defaults, value for value.
defaults=$("$BIN/parleyd" --print-config)
shipped=$("$BIN/parleyd" -c "$SRC/etc/parleyd.conf" --print-config)
[ -n "$defaults" ] && [ "$defaults" = "$shipped" ] && ok ||
    bad "etc/parleyd.conf differs from the defaults: $(diff <(echo "$defaults") <(echo "$shipped"))"
grep -q '^listen = udp:127.0.0.1:5060$' <<<"$defaults" && grep -q '^listen = tcp:127.0.0.1:5060$' <<<"$defaults" &&
    ok || bad "default listen addresses: $defaults"
grep -q '^script = ".*/etc/parley.lua"$' <<<"$defaults" && ok || bad "default script: $defaults"
out=$("$BIN/parleyd" -c "$SRC/etc/parleyd.conf" --check 2>&1) && rc=0 || rc=$?
[ "$rc" = 0 ] && grep -q "OK" <<<"$out" && ok || bad "--check of the shipped config: exit $rc: $out"
out=$("$BIN/parleyd" --check 2>&1) && rc=0 || rc=$?
expect "--check of the built-in defaults" "$rc" 0
# Flags override the file.
out=$("$BIN/parleyd" -c "$SRC/etc/parleyd.conf" --workers 3 --log-level debug \
    --listen udp:127.0.0.1:7000 --listen tcp:[::1]:7001 --print-config)
grep -q "^workers = 3$" <<<"$out" && grep -q "^log_level = debug$" <<<"$out" &&
    [ "$(grep -c '^listen' <<<"$out")" = 2 ] && grep -q '^listen = tcp:\[::1\]:7001$' <<<"$out" &&
    ok || bad "flags did not override the file: $out"

printf '# a comment\nlisten = udp:127.0.0.1:7000\nnosuchkey = 1\n' >"$tmp/badkey.conf"
err=$("$BIN/parleyd" -c "$tmp/badkey.conf" --check 2>&1) && rc=0 || rc=$?
expect "unknown key exit" "$rc" 2
grep -q "badkey.conf:3: unknown key 'nosuchkey'" <<<"$err" && ok || bad "unknown key said: $err"
printf 'workers = 2\nt1 = fast\n' >"$tmp/badval.conf"
err=$("$BIN/parleyd" -c "$tmp/badval.conf" --check 2>&1) && rc=0 || rc=$?
expect "bad value exit" "$rc" 2
grep -q "badval.conf:2: bad value 'fast' for t1" <<<"$err" && ok || bad "bad value said: $err"
printf 'min_expires = 7200\n' >"$tmp/order.conf"
err=$("$BIN/parleyd" -c "$tmp/order.conf" --check 2>&1) && rc=0 || rc=$?
[ "$rc" = 2 ] && grep -q "min_expires" <<<"$err" && ok || bad "min_expires > default: exit $rc: $err"
"$BIN/parleyd" -c "$tmp/missing.conf" --check 2>/dev/null && rc=0 || rc=$?
expect "missing config file" "$rc" 2

printf 'function on_request(req)\n  req:reply(200 "OK")\nend\n' >"$tmp/broken.lua"
err=$("$BIN/parleyd" --script "$tmp/broken.lua" --check 2>&1) && rc=0 || rc=$?
expect "broken script exit" "$rc" 2
grep -q "broken.lua" <<<"$err" && ok || bad "broken script said: $err"

# The store and management settings are checked before anything runs.
for bad_opt in "--mgmt localhost:8080" "--mgmt 127.0.0.1" "--store mysql://x" ; do
    # shellcheck disable=SC2086
    out=$("$BIN/parleyd" $bad_opt --check 2>&1) && rc=0 || rc=$?
    expect "parleyd $bad_opt --check: exit status" "$rc" 2
done
out=$("$BIN/parleyd" --mgmt '[::1]:0' --store none --check 2>&1) && rc=0 || rc=$?
expect "parleyd --mgmt [::1]:0 --store none --check: exit status" "$rc" 0

# ---------------------------------------------------------------- running
port=$(free_port)
cat >"$tmp/parleyd.conf" <<EOF
listen = udp:127.0.0.1:$port
listen = tcp:127.0.0.1:$port
workers = 2
state_dir = "$tmp/state"
log_level = debug
EOF
log="$tmp/parleyd.log"
"$BIN/parleyd" -c "$tmp/parleyd.conf" 2>"$log" &
pd=$!
pids+=("$pd")
wait_for "$log" "running, 2 worker" && ok || bad "parleyd did not start: $(cat "$log")"
[ -d "$tmp/state" ] && ok || bad "state_dir not created"

# A second parleyd on the same address: refused, exit 1, a clear message.
err=$("$BIN/parleyd" --listen "udp:127.0.0.1:$port" 2>&1) && rc=0 || rc=$?
expect "address in use exit" "$rc" 1
grep -q "cannot listen on udp:127.0.0.1:$port: Address already in use" <<<"$err" && ok ||
    bad "address in use said: $err"

# udp_buffer (default 8 MiB) on each worker's UDP socket: ss shows the
# kernel's figure, twice the size granted; without CAP_NET_ADMIN the grant
# is capped by net.core.rmem_max.
want=8388608
if [ "$(id -u)" != 0 ]; then
    max=$(cat /proc/sys/net/core/rmem_max)
    [ "$max" -lt "$want" ] && want=$max
fi
rbs=$(ss -uanm "src 127.0.0.1:$port" | grep -o 'rb[0-9]*' | sed 's/rb//' | sort -u)
expect "UDP receive buffers of the two workers" "$rbs" "$((want * 2))"
expect "UDP sockets on the port (one per worker)" "$(ss -uan "src 127.0.0.1:$port" | grep -c 127.0.0.1)" 2

for tp in udp tcp; do
    out=$("$BIN/parley" send --transport $tp OPTIONS "sip:127.0.0.1:$port") && rc=0 || rc=$?
    [ "$rc" = 0 ] && grep -q "^SIP/2.0 200" <<<"$out" && ok || bad "$tp OPTIONS: exit $rc: $out"
done

# alice over UDP, bob over TCP, both registered at parleyd.
pa=$(free_port)
pb=$(free_port)
"$BIN/parley" listen --handle MESSAGE=200 --register "sip:127.0.0.1:$port" \
    --aor sip:alice@127.0.0.1 "udp:127.0.0.1:$pa" >"$tmp/alice.log" 2>&1 &
alice=$!
pids+=("$alice")
"$BIN/parley" listen --handle MESSAGE=200 --register "sip:127.0.0.1:$port;transport=tcp" \
    --aor sip:bob@127.0.0.1 "tcp:127.0.0.1:$pb" >"$tmp/bob.log" 2>&1 &
bob=$!
pids+=("$bob")
wait_for "$tmp/alice.log" "registered sip:alice@127.0.0.1 at .*: 200" && ok ||
    bad "alice did not register: $(cat "$tmp/alice.log")"
wait_for "$tmp/bob.log" "registered sip:bob@127.0.0.1 at .*: 200" && ok ||
    bad "bob did not register: $(cat "$tmp/bob.log")"

# parley send through parleyd as outbound proxy: UDP to bob, TCP to alice.
printf 'outbound_proxy = sip:127.0.0.1:%s;lr\n' "$port" >"$tmp/udp.profile"
printf 'outbound_proxy = sip:127.0.0.1:%s;transport=tcp;lr\n' "$port" >"$tmp/tcp.profile"
for i in 1 2 3; do
    out=$("$BIN/parley" send --profile "$tmp/udp.profile" --from sip:alice@127.0.0.1 \
        MESSAGE sip:bob@127.0.0.1) && rc=0 || rc=$?
    [ "$rc" = 0 ] && grep -q "^SIP/2.0 200" <<<"$out" && ok || bad "MESSAGE $i to bob: exit $rc: $out"
    out=$("$BIN/parley" send --profile "$tmp/tcp.profile" --from sip:bob@127.0.0.1 \
        MESSAGE sip:alice@127.0.0.1) && rc=0 || rc=$?
    [ "$rc" = 0 ] && grep -q "^SIP/2.0 200" <<<"$out" && ok || bad "MESSAGE $i to alice: exit $rc: $out"
done
expect "MESSAGEs bob got" "$(grep -c 'MESSAGE sip:bob@127.0.0.1:.* -> 200' "$tmp/bob.log")" 3
expect "MESSAGEs alice got" "$(grep -c 'MESSAGE sip:alice@127.0.0.1:.* -> 200' "$tmp/alice.log")" 3
# An address of record nobody registered, on this proxy: 404.
out=$("$BIN/parley" send MESSAGE "sip:carol@127.0.0.1:$port") && rc=0 || rc=$?
[ "$rc" = 1 ] && grep -q "^SIP/2.0 404" <<<"$out" && ok || bad "MESSAGE to carol: exit $rc: $out"

# Raw requests with chosen Call-IDs: parleyd gives a call to worker
# FNV-1a-32(Call-ID) mod 2, so these four are two for each worker. Over one
# TCP connection (accepted by one worker: the answers for the other's calls
# come back through it) and over UDP; alice is reached over UDP, bob over
# the TCP connection one worker opens (the other's sends are handed to it).
raw_out=$(python3 - "$port" <<'EOF'
import socket, sys
port = int(sys.argv[1])

def fnv(s):
    h = 2166136261
    for b in s.encode():
        h = ((h ^ b) * 16777619) & 0xffffffff
    return h

ids = {0: [], 1: []}
k = 0
while len(ids[0]) < 2 or len(ids[1]) < 2:
    cid = "pd-cli-%d" % k
    k += 1
    if len(ids[fnv(cid) % 2]) < 2:
        ids[fnv(cid) % 2].append(cid)
calls = ids[0] + ids[1]

def request(tp, local, cid, to):
    return ("MESSAGE sip:%s@127.0.0.1 SIP/2.0\r\n"
            "Via: SIP/2.0/%s 127.0.0.1:%d;branch=z9hG4bK-%s;rport\r\n"
            "Max-Forwards: 70\r\n"
            "From: <sip:raw@127.0.0.1>;tag=%s\r\n"
            "To: <sip:%s@127.0.0.1>\r\n"
            "Call-ID: %s\r\n"
            "CSeq: 1 MESSAGE\r\n"
            "Content-Length: 0\r\n\r\n" % (to, tp, local, cid, cid, to, cid)).encode()

def status_of(resp):
    line = resp.split(b"\r\n", 1)[0].decode(errors="replace")
    cid = [l.split(b":", 1)[1].strip().decode() for l in resp.split(b"\r\n")
           if l.lower().startswith(b"call-id:")]
    return line, cid[0] if cid else "?"

# UDP, to bob.
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind(("127.0.0.1", 0))
u.settimeout(10)
for cid in calls:
    u.sendto(request("UDP", u.getsockname()[1], "u" + cid, "bob"), ("127.0.0.1", port))
finals = {}
while len(finals) < len(calls):
    line, cid = status_of(u.recv(65535))
    if not line.startswith("SIP/2.0 1"):
        finals[cid] = line
for cid in sorted(finals):
    print("udp", cid, finals[cid])

# TCP, one connection, to alice.
t = socket.create_connection(("127.0.0.1", port), timeout=10)
for cid in calls:
    t.sendall(request("TCP", t.getsockname()[1], "t" + cid, "alice"))
buf = b""
finals = {}
while len(finals) < len(calls):
    while b"\r\n\r\n" not in buf:
        buf += t.recv(65535)
    head, rest = buf.split(b"\r\n\r\n", 1)
    n = 0
    for l in head.split(b"\r\n"):
        if l.lower().startswith(b"content-length:") or l.lower().startswith(b"l:"):
            n = int(l.split(b":", 1)[1])
    while len(rest) < n:
        rest += t.recv(65535)
    buf = rest[n:]
    line, cid = status_of(head)
    if not line.startswith("SIP/2.0 1"):
        finals[cid] = line
for cid in sorted(finals):
    print("tcp", cid, finals[cid])
print("owners", " ".join("%s:%d" % (c, fnv(c) % 2) for c in calls))
EOF
) && rc=0 || rc=$?
expect "raw client exit" "$rc" 0
expect "raw UDP 200s" "$(grep -c '^udp .* SIP/2.0 200' <<<"$raw_out")" 4
expect "raw TCP 200s" "$(grep -c '^tcp .* SIP/2.0 200' <<<"$raw_out")" 4
for cid in $(grep '^owners' <<<"$raw_out" | cut -d' ' -f2-); do
    id=${cid%:*} w=${cid#*:}
    grep -q "Call-ID: u$id -> 200" "$tmp/bob.log" && ok || bad "bob did not get u$id"
    grep -q "Call-ID: t$id -> 200" "$tmp/alice.log" && ok || bad "alice did not get t$id"
    # The owner's log line names the call.
    grep -q "^[0-9T:.-]*Z debug w[01] call-id=u$id: MESSAGE sip:bob@127.0.0.1 SIP/2.0 from udp:" "$log" &&
        ok || bad "the log does not show call-id=u$id"
done
grep -q "to worker 0" "$log" && grep -q "to worker 1" "$log" && ok ||
    bad "no message was handed over in both directions"

# Clean stop: the UAs unregister, parleyd exits 0 on SIGTERM.
kill -TERM "$alice" "$bob"
wait_for "$tmp/alice.log" "unregistered sip:alice" && ok || bad "alice did not unregister"
wait_for "$tmp/bob.log" "unregistered sip:bob" && ok || bad "bob did not unregister"
kill -TERM "$pd"
for _ in $(seq 200); do kill -0 "$pd" 2>/dev/null || break; sleep 0.05; done
if kill -0 "$pd" 2>/dev/null; then
    bad "parleyd still running 10 s after SIGTERM"
else
    wait "$pd" && rc=0 || rc=$?
    expect "exit status after SIGTERM" "$rc" 0
fi
grep -q "SIGTERM: shutting down" "$log" && grep -q "info main: stopped" "$log" && ok ||
    bad "no clean stop in the log: $(tail -5 "$log")"
finish
