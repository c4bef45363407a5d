#!/usr/bin/env bash
# parleyd's dialog tracking with the shipped script (etc/parley.lua) and
# real UAs on loopback: `parley listen` as the callee (answers INVITE
# 200), `parley send INVITE` as callers through parleyd (their profile's
# outbound proxy). A caller's tool sends the ACK and exits without a BYE,
# so each call stays up in parleyd as a confirmed dialog.
#
#  1. caller_limit = 2: alice's two calls are answered 200; her third gets
#     486 Busy Here from the script (the "caller" profile with value);
#     carol's call still goes through. SIGUSR1's stats line shows 3 active
#     dialogs and caller=3.
#  2. dialog_lifetime = 3s and the script's "bye-on-timeout": each call
#     ends by itself; parleyd sends BYE to the callee (its log shows the
#     three BYEs) and to the caller; the stats go back to
#     live=0 active=0 caller=0 (expired=3).
#  3. alice can call again; SIGTERM stops parleyd with status 0.
# Two workers, so that calls land on both tables and the profile counts
# are shared.
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"
BIN=$(cd "${PARLEY_BIN:-build/bin}" && pwd)
SRC=$(cd "${PARLEY_SRC:-.}" && pwd)

tmp=$(mktemp -d)
ppid=
lpid=
cleanup() {
    set +e
    [ -n "$lpid" ] && kill "$lpid" 2>/dev/null
    stop_group "$ppid"
    wait 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT

port=$(free_port)
uport=$(free_port)
while [ "$uport" = "$port" ]; do uport=$(free_port); done
proxy=127.0.0.1:$port

cat >"$tmp/parleyd.conf" <<CONF
listen = udp:$proxy
workers = 2
script = "$SRC/etc/parley.lua"
state_dir = "$tmp/state"
log_level = info
caller_limit = 2
dialog_lifetime = 3s
# The callers' tools are gone when their BYE comes: it times out at 64*T1.
t1 = 100ms
t2 = 400ms
CONF
setsid "$BIN/parleyd" -c "$tmp/parleyd.conf" >"$tmp/proxy.log" 2>&1 &
ppid=$!
"$BIN/parley" listen --handle INVITE=200 "udp:127.0.0.1:$uport" >"$tmp/callee.log" 2>&1 &
lpid=$!

# Bounded waits: parleyd answers OPTIONS, the callee prints its banner.
up=
for _ in $(seq 50); do
    if timeout 2 "$BIN/parley" send OPTIONS "sip:$proxy" >/dev/null 2>&1; then up=1; break; fi
    sleep 0.1
done
[ -n "$up" ] && ok || { bad "parleyd did not come up: $(tail -20 "$tmp/proxy.log")"; finish; }
for _ in $(seq 100); do grep -q "listening on" "$tmp/callee.log" && break; sleep 0.05; done

printf 'outbound_proxy = sip:%s\n' "$proxy" >"$tmp/ua.profile"

# call USER: one INVITE through parleyd; prints the final status line; sets rc.
call() {
    rc=0
    out=$(timeout 20 "$BIN/parley" send --profile "$tmp/ua.profile" --from "sip:$1@127.0.0.1" \
        INVITE "sip:bob@127.0.0.1:$uport" 2>&1) || rc=$?
}

# stats KEY: the value of KEY in parleyd's latest SIGUSR1 stats line.
stats() {
    local before n
    before=$(grep -c 'stats: dialogs' "$tmp/proxy.log" || true)
    kill -USR1 "$ppid"
    for _ in $(seq 100); do
        n=$(grep -c 'stats: dialogs' "$tmp/proxy.log" || true)
        [ "$n" -gt "$before" ] && break
        sleep 0.05
    done
    grep 'stats: dialogs' "$tmp/proxy.log" | tail -1 | tr ' ' '\n' | sed -n "s/^$1=//p"
}

# ---- 1. the per-caller limit
call alice
[ "$rc" = 0 ] && grep -q "200 OK" <<<"$out" && ok || bad "alice's first call: $rc $out"
call alice
[ "$rc" = 0 ] && grep -q "200 OK" <<<"$out" && ok || bad "alice's second call: $rc $out"
call alice
[ "$rc" = 1 ] && grep -q "486 Busy Here" <<<"$out" && ok || bad "alice's third call: want 486, got $rc $out"
grep -q "alice" "$tmp/proxy.log" && ok || bad "no log line names the refused caller"
call carol
[ "$rc" = 0 ] && grep -q "200 OK" <<<"$out" && ok || bad "carol's call: $rc $out"
expect "active dialogs" "$(stats active)" 3
expect "caller profile" "$(stats caller)" 3

# ---- 2. the lifetime ends each call with BYE both ways
for _ in $(seq 200); do
    [ "$(grep -c ' BYE ' "$tmp/callee.log" || true)" -ge 3 ] && break
    sleep 0.05
done
# (The callee's UA keeps no session, so it answers those BYEs 481: either way they came.)
expect "BYEs the callee got from parleyd" "$(grep -c ' BYE ' "$tmp/callee.log" || true)" 3
a=
for _ in $(seq 100); do
    a=$(stats active)
    [ "$a" = 0 ] && break
    sleep 0.1
done
expect "active dialogs after the lifetime" "$a" 0
expect "caller profile after the lifetime" "$(stats caller)" 0
expect "expired dialogs" "$(stats expired)" 3
expect "failed dialogs (the 486)" "$(stats failed)" 1
for _ in $(seq 200); do [ "$(stats live)" = 0 ] && break; sleep 0.1; done
expect "dialogs in memory" "$(stats live)" 0

# ---- 3. alice again
call alice
[ "$rc" = 0 ] && grep -q "200 OK" <<<"$out" && ok || bad "alice after her calls ended: $rc $out"

kill -TERM "$ppid"
prc=0
wait "$ppid" || prc=$?
ppid=
expect "parleyd exit status" "$prc" 0
finish
