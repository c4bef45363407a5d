#!/usr/bin/env bash
# TLS over real loopback sockets: a test CA made here with openssl, a
# server certificate for 127.0.0.1, a client certificate; parley listen on
# tls: answers parley send over TLS; a client that does not trust the CA,
# or a server certificate for another address, fails at once (transport
# failure, exit 2) instead of timing out; a listener that requires client
# certificates refuses a client without one and serves one with it; the
# same over IPv6 ([::1], a certificate for that address).
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"
BIN=${PARLEY_BIN:-build/bin}
dir=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$dir"' EXIT
cd "$dir"

# A CA, and certificates it signs (subjectAltName: the address in use).
cert() { # name subjectAltName
    openssl req -newkey rsa:2048 -nodes -keyout "$1.key" -subj "/CN=$1" -out "$1.csr" 2>/dev/null
    printf 'subjectAltName=%s\n' "$2" >"$1.ext"
    openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
        -extfile "$1.ext" -out "$1.pem" 2>/dev/null
}
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -subj "/CN=Parley test CA" \
    -days 2 -out ca.pem 2>/dev/null
cert server IP:127.0.0.1
cert server6 IP:::1
cert other IP:192.0.2.99
cert client IP:127.0.0.1
cert named DNS:localhost
cert wrongname DNS:other.example
openssl req -x509 -newkey rsa:2048 -nodes -keyout rogue.key -subj "/CN=rogue" -days 2 \
    -out rogue.pem 2>/dev/null

listen() { # log args...
    local log=$1
    shift
    "$BIN/parley" listen "$@" >"$log" 2>&1 &
    pids+=($!)
    for _ in $(seq 100); do grep -q "listening on tls" "$log" && return 0; sleep 0.05; done
    echo "listener did not start: $(cat "$log")"
    return 1
}

p1=$(free_port)
listen l1.log --tls-cert server.pem --tls-key server.key "tls:127.0.0.1:$p1"
out=$("$BIN/parley" send --transport tls --tls-ca ca.pem -v OPTIONS "sip:t@127.0.0.1:$p1") && rc=0 || rc=$?
[ "$rc" = 0 ] && grep -q "^SIP/2.0 200 OK" <<<"$out" && ok || bad "TLS OPTIONS: exit $rc: $out"
grep -q "^Via: SIP/2.0/TLS" <<<"$out" && ok || bad "Via does not say TLS: $out"
# sips: means TLS without being told.
out=$("$BIN/parley" send --tls-ca ca.pem OPTIONS "sips:t@127.0.0.1:$p1") && rc=0 || rc=$?
[ "$rc" = 0 ] && ok || bad "sips: exit $rc: $out"
grep -q "tls:127.0.0.1:[0-9]* OPTIONS" l1.log && ok || bad "listener log: $(cat l1.log)"

# Untrusted CA: the handshake fails and the request ends at once, exit 2.
start=$(date +%s)
err=$("$BIN/parley" send --transport tls --tls-ca rogue.pem OPTIONS "sip:t@127.0.0.1:$p1" 2>&1 >/dev/null) && rc=0 || rc=$?
[ "$rc" = 2 ] && grep -q "transport failure" <<<"$err" && ok || bad "untrusted CA: exit $rc: $err"
[ $(( $(date +%s) - start )) -lt 20 ] && ok || bad "untrusted CA took the full timeout"

# A certificate for another address.
p2=$(free_port)
listen l2.log --tls-cert other.pem --tls-key other.key "tls:127.0.0.1:$p2"
"$BIN/parley" send --transport tls --tls-ca ca.pem OPTIONS "sip:t@127.0.0.1:$p2" >/dev/null 2>&1 && rc=0 || rc=$?
[ "$rc" = 2 ] && ok || bad "certificate for another address accepted (exit $rc)"

# Client certificates required.
p3=$(free_port)
listen l3.log --tls-cert server.pem --tls-key server.key --tls-ca ca.pem --verify-client "tls:127.0.0.1:$p3"
"$BIN/parley" send --transport tls --tls-ca ca.pem OPTIONS "sip:t@127.0.0.1:$p3" >/dev/null 2>&1 && rc=0 || rc=$?
[ "$rc" = 2 ] && ok || bad "no client certificate: exit $rc, want 2"
out=$("$BIN/parley" send --transport tls --tls-ca ca.pem --tls-cert client.pem --tls-key client.key \
    OPTIONS "sip:t@127.0.0.1:$p3") && rc=0 || rc=$?
[ "$rc" = 0 ] && ok || bad "with a client certificate: exit $rc: $out"

# By name (RFC 5922, with SNI): a certificate for localhost serves
# sips:...@localhost, but not the bare address; one for another name fails.
p4=$(free_port)
listen l4.log --tls-cert named.pem --tls-key named.key "tls:127.0.0.1:$p4"
"$BIN/parley" send --tls-ca ca.pem OPTIONS "sips:t@localhost:$p4" >/dev/null 2>&1 && rc=0 || rc=$?
[ "$rc" = 0 ] && ok || bad "certificate for localhost, sips:...@localhost: exit $rc"
"$BIN/parley" send --tls-ca ca.pem OPTIONS "sips:t@127.0.0.1:$p4" >/dev/null 2>&1 && rc=0 || rc=$?
[ "$rc" = 2 ] && ok || bad "certificate for localhost, bare address: exit $rc, want 2"
p5=$(free_port)
listen l5.log --tls-cert wrongname.pem --tls-key wrongname.key "tls:127.0.0.1:$p5"
"$BIN/parley" send --tls-ca ca.pem OPTIONS "sips:t@localhost:$p5" >/dev/null 2>&1 && rc=0 || rc=$?
[ "$rc" = 2 ] && ok || bad "certificate for another name: exit $rc, want 2"

# Over IPv6: a listener on tls:[::1] with a certificate for ::1 serves
# sips:...@[::1] (checked against the address, RFC 5922); the certificate for
# 127.0.0.1 does not do for ::1.
p6=$(free_port)
listen l6.log --tls-cert server6.pem --tls-key server6.key "tls:[::1]:$p6"
out=$("$BIN/parley" send --tls-ca ca.pem -v OPTIONS "sips:t@[::1]:$p6") && rc=0 || rc=$?
[ "$rc" = 0 ] && grep -q "^SIP/2.0 200 OK" <<<"$out" && ok || bad "TLS over IPv6: exit $rc: $out"
grep -q "^Via: SIP/2.0/TLS \[" <<<"$out" && ok || bad "TLS over IPv6: Via: $out"
grep -q "tls:\[::1\]:[0-9]* OPTIONS sips:t@\[::1\]:$p6" l6.log && ok || bad "IPv6 listener log: $(cat l6.log)"
p7=$(free_port)
listen l7.log --tls-cert server.pem --tls-key server.key "tls:[::1]:$p7"
"$BIN/parley" send --tls-ca ca.pem OPTIONS "sips:t@[::1]:$p7" >/dev/null 2>&1 && rc=0 || rc=$?
[ "$rc" = 2 ] && ok || bad "certificate for 127.0.0.1 on [::1]: exit $rc, want 2"

# tls: without a certificate is refused at once.
"$BIN/parley" listen "tls:127.0.0.1:$(free_port)" >/dev/null 2>&1 && rc=0 || rc=$?
[ "$rc" = 2 ] && ok || bad "tls listener without a certificate: exit $rc"

finish
