#!/usr/bin/env bash
# tests/sipp/load.sh - calls at a steady rate through a running proxy, with
# SIPp on both ends: uac_rr.xml -> PROXY -> uas_rr.xml. What `make load`
# runs (PROXY, RATE and CALLS are its variables).
# (uac_dlg.xml: uac_rr.xml with the From user from an injection file.)
set -euo pipefail

usage() {
    cat <<'EOF'
usage: tests/sipp/load.sh [PROXY [RATE [CALLS]]]

Places CALLS calls (default 1000), RATE per second (default 100), through
the SIP proxy at PROXY (host:port, default 127.0.0.1:5060), which must be
running already (make run starts parleyd there). A callee SIPp
(tests/sipp/uas_rr.xml) listens on a free UDP port of LOAD_IP; a caller SIPp
(tests/sipp/uac_dlg.xml, 1,000 callers by From user) addresses each INVITE
to it and sends it to the proxy, which must record-route it; ACK and BYE
follow the route set.

Prints SIPp's final statistics screen for the caller and the callee's call
counts. Exit status: 0 when every call passed on both sides; 1 when a call
failed, 2 when the proxy did not answer OPTIONS or SIPp could not run.

Environment: LOAD_IP, the address both SIPps bind to, which the proxy must
reach (default 127.0.0.1); LOAD_KEEP=1 keeps the folder of SIPp's logs.
EOF
}
case "${1:-}" in -h | --help) usage; exit 0 ;; esac

proxy=${1:-127.0.0.1:5060}
rate=${2:-100}
calls=${3:-1000}
ip=${LOAD_IP:-127.0.0.1}
for n in "$rate" "$calls"; do
    [ "$n" -ge 1 ] 2>/dev/null || { echo "load: '$n' is not a positive number" >&2; exit 2; }
done
SC=$(cd "$(dirname "$0")" && pwd)
SIPP=$(command -v sipp || true)
[ -n "$SIPP" ] || { echo "load: sipp not found (scripts/bootstrap installs sip-tester)" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/parley-load.XXXXXX")
uas_pid=
cleanup() {
    set +e
    if [ -n "$uas_pid" ]; then
        kill "$uas_pid" 2>/dev/null
        wait "$uas_pid" 2>/dev/null
    fi
    if [ "${LOAD_KEEP:-0}" = 1 ]; then echo "load: SIPp's files are in $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The value of COLUMN in the last row of a SIPp statistics file.
stat_col() {
    [ -s "$1" ] || { echo 0; return; }
    awk -F';' -v col="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == col) c = i; next }
        { v = $c } END { print (c ? v + 0 : 0) }' "$1"
}

cd "$work"

# Is the proxy there? Three OPTIONS, 2 s each.
up=
for _ in 1 2 3; do
    if "$SIPP" "$proxy" -sf "$SC/options.xml" -i "$ip" -p 0 -m 1 -nostdin -timeout 2 -timeout_error \
        >options.out 2>&1; then
        up=1
        break
    fi
done
[ -n "$up" ] || { echo "load: no answer to OPTIONS from $proxy (is parleyd running? make run)" >&2; exit 2; }

# Ports for the callee and the caller (SIPp would try 5060 first, where
# parleyd may be): ones the kernel picks for sockets that are then closed.
read -r uport cport < <(python3 -c '
import socket
a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); a.bind(("'"$ip"'", 0))
b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); b.bind(("'"$ip"'", 0))
print(a.getsockname()[1], b.getsockname()[1])')
"$SIPP" -sf "$SC/uas_rr.xml" -i "$ip" -p "$uport" -m "$calls" -nostdin -buff_size 4194304 \
    -trace_stat -stf uas.csv -fd 1 -trace_err -error_file uas_errors.log >uas.out 2>&1 &
uas_pid=$!
# Wait (bounded, 5 s) until it is bound, or the first INVITEs would be lost.
hex=$(printf ':%04X ' "$uport")
for _ in $(seq 100); do
    grep -q "$hex" /proc/net/udp && break
    kill -0 "$uas_pid" 2>/dev/null || { echo "load: the callee SIPp did not start: $(tail -3 uas.out)" >&2; exit 2; }
    sleep 0.05
done

echo "load: $calls calls at $rate/s: SIPp $ip -> $proxy -> SIPp $ip:$uport"
# 1,000 callers (From users), so that the shipped script's limit of
# concurrent calls per caller (caller_limit, 10) is never what is tested.
awk 'BEGIN { print "SEQUENTIAL"; for (i = 0; i < 1000; i++) printf "caller%04d;\n", i }' >callers.csv
rc=0
"$SIPP" "$ip:$uport" -rsa "$proxy" -sf "$SC/uac_dlg.xml" -inf callers.csv -i "$ip" -p "$cport" -r "$rate" -m "$calls" -nostdin \
    -timeout $((calls / rate + 60)) -timeout_error -buff_size 4194304 \
    -trace_screen -screen_file uac_screen.log -trace_stat -stf uac.csv \
    -trace_err -error_file uac_errors.log >uac.out 2>&1 || rc=$?
cat uac_screen.log 2>/dev/null || tail -40 uac.out

# The callee ends by itself after CALLS calls; give it 10 s for the last
# BYEs, then stop it: calls still open count as failed.
for _ in $(seq 100); do
    kill -0 "$uas_pid" 2>/dev/null || break
    sleep 0.1
done
kill "$uas_pid" 2>/dev/null || true
wait "$uas_pid" 2>/dev/null || true
uas_pid=
uas_ok=$(stat_col uas.csv 'SuccessfulCall(C)')
uas_failed=$(stat_col uas.csv 'FailedCall(C)')
uac_ok=$(stat_col uac.csv 'SuccessfulCall(C)')
uac_failed=$((calls - uac_ok))

echo "load: caller: $uac_ok passed, $uac_failed failed (SIPp exit $rc); callee: $uas_ok passed, $uas_failed failed"
if [ "$rc" != 0 ] || [ "$uac_failed" != 0 ] || [ "$uas_ok" != "$calls" ]; then
    for f in uac_errors.log uas_errors.log; do
        [ -s "$f" ] && { echo "--- $f (start)"; head -c 3000 "$f"; echo; }
    done
    echo "load: FAILED"
    exit 1
fi
echo "load: every call passed"
