#!/usr/bin/env bash
# examples/dialog_module (the reference text's example module on the
# dialog API, in a small proxy) with SIPp on both sides:
#
#   uac_byed.xml -> example-dialog_module -> uas_options.xml
#
# The call is set up (INVITE, 180, 200, ACK through the proxy); the module
# logs the creation and, on CONFIRMED, the "created_at" value it stored on
# CREATED; the callee then sends an in-dialog OPTIONS, and the module's
# REQ_WITHIN callback ends the dialog: the proxy sends BYE to both sides
# (each scenario requires it and answers 200), and logs the end with its
# reason. Both SIPp runs must count one successful call. Then the example
# stops on SIGTERM with status 0, and exits 2 without arguments.
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"
BIN=$(cd "${PARLEY_BIN:-build/bin}" && pwd)
SRC=$(cd "${PARLEY_SRC:-.}" && pwd)
SC=$SRC/tests/data/dialog
SIPP=$(command -v sipp || true)
[ -n "$SIPP" ] || { echo "sipp missing (scripts/bootstrap installs sip-tester)"; exit 1; }
EX=$BIN/example-dialog_module
[ -x "$EX" ] || { echo "no $EX (build it first, or set PARLEY_BIN)"; exit 1; }

tmp=$(mktemp -d)
epid=
upid=
cleanup() {
    set +e
    [ -n "$upid" ] && kill "$upid" 2>/dev/null
    [ -n "$epid" ] && kill "$epid" 2>/dev/null
    wait 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT

port=$(free_port)
uport=$(free_port)
while [ "$uport" = "$port" ]; do uport=$(free_port); done
cport=$(free_port)
while [ "$cport" = "$port" ] || [ "$cport" = "$uport" ]; do cport=$(free_port); done

"$EX" "udp:127.0.0.1:$port" "sip:127.0.0.1:$uport" >"$tmp/ex.log" 2>&1 &
epid=$!
for _ in $(seq 100); do grep -q "^listening on" "$tmp/ex.log" && break; sleep 0.05; done
grep -q "^listening on udp:127.0.0.1:$port" "$tmp/ex.log" && ok || bad "example did not start: $(cat "$tmp/ex.log")"

sargs="-nostdin -timeout 20 -timeout_error -trace_stat -fd 1 -trace_err"
# shellcheck disable=SC2086
(cd "$tmp" && exec timeout 60 "$SIPP" -sf "$SC/uas_options.xml" -i 127.0.0.1 -p "$uport" -m 1 \
    $sargs -stf "$tmp/uas.csv" -error_file "$tmp/uas.err" >"$tmp/uas.out" 2>&1) &
upid=$!
# Bounded wait until the callee's socket is bound.
hex=$(printf '%04X' "$uport")
for _ in $(seq 100); do grep -q ":$hex " /proc/net/udp 2>/dev/null && break; sleep 0.05; done

rc=0
# shellcheck disable=SC2086
(cd "$tmp" && timeout 60 "$SIPP" -sf "$SC/uac_byed.xml" -i 127.0.0.1 -p "$cport" -m 1 -s bob \
    $sargs -stf "$tmp/uac.csv" -error_file "$tmp/uac.err" "127.0.0.1:$port" >"$tmp/uac.out" 2>&1) || rc=$?
[ "$rc" = 0 ] && ok || bad "caller: sipp exit $rc: $(tail -5 "$tmp/uac.out")"
urc=0
wait "$upid" || urc=$?
upid=
[ "$urc" = 0 ] && ok || bad "callee: sipp exit $urc: $(tail -5 "$tmp/uas.out")"

succ() { awk -F';' 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "SuccessfulCall(C)") c = i; next } { v = $c } END { print v + 0 }' "$1"; }
[ "$(succ "$tmp/uac.csv")" = 1 ] && ok || bad "caller: not one successful call"
[ "$(succ "$tmp/uas.csv")" = 1 ] && ok || bad "callee: not one successful call"

# The module's lines, in order.
for _ in $(seq 40); do grep -q "ended:" "$tmp/ex.log" && break; sleep 0.05; done
grep -q "^dialog was created$" "$tmp/ex.log" && ok || bad "no created line: $(cat "$tmp/ex.log")"
grep -Eq "^dialog .* was created at [0-9-]+T[0-9:]+Z and is now established$" "$tmp/ex.log" \
    && ok || bad "no confirmed line with the stored value: $(cat "$tmp/ex.log")"
grep -q "^OPTIONS from the callee: terminating the dialog because we HATE options from callee$" \
    "$tmp/ex.log" && ok || bad "no terminate line: $(cat "$tmp/ex.log")"
grep -q "^dialog .* ended: we HATE options from callee$" "$tmp/ex.log" && ok \
    || bad "no end line with the reason: $(cat "$tmp/ex.log")"

kill -TERM "$epid"
erc=0
wait "$epid" || erc=$?
epid=
[ "$erc" = 0 ] && ok || bad "example exit $erc after SIGTERM"
"$EX" >/dev/null 2>&1 && rc=0 || rc=$?
[ "$rc" = 2 ] && ok || bad "example without arguments: exit $rc, want 2"
finish
