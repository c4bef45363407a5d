#!/usr/bin/env bash
# parleyd's management interface (docs/mgmt.md) over real HTTP, driven by
# parleyctl, with real calls up: SIPp callers (tests/data/dialog/
# uac_wait_bye.xml, From user bob, never hanging up) -> parleyd (2 workers,
# a token, the store on SQLite) -> SIPp callee (uas_rr.xml, messages
# traced), and a `parley listen --register` UA registered as alice.
#
# Checked: the token (none, wrong: exit 4); version, methods; dlg list
# (filters by state, Call-ID, profile and value), show, push-value (string
# and integer), set-profile / unset-profile on a profile without values,
# end by id with an extra header (the BYE the callee gets carries it) and
# by Call-ID, unknown ids and profiles (exit 1 with the daemon's message);
# profile size, list, values, all, end; store restore and sync; reg list
# and remove; stats; reload (and a broken script refused, the old one
# kept); malformed JSON and unknown methods get JSON-RPC errors; GET
# /metrics parsed with the Prometheus text-format parser
# (python3-prometheus-client) and matching the counters.
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"
BIN=$(cd "${PARLEY_BIN:-build/bin}" && pwd)
SRC=$(cd "${PARLEY_SRC:-.}" && pwd)
SIPP=$(command -v sipp || true)
[ -n "$SIPP" ] || { echo "sipp missing (scripts/bootstrap installs sip-tester)"; exit 1; }
PY=/usr/bin/python3 # Debian's, with python3-prometheus-client

tmp=$(mktemp -d)
ppid=
pids=()
cleanup() {
    set +e
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    [ -n "$ppid" ] && kill "$ppid" 2>/dev/null
    wait 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT

port=$(free_port)
uport=$(free_port)
while [ "$uport" = "$port" ]; do uport=$(free_port); done
aport=$(free_port)
proxy=127.0.0.1:$port
token=s3cret-token

cp "$SRC/etc/parley.lua" "$tmp/script.lua"
cat >"$tmp/parleyd.conf" <<CONF
listen = udp:$proxy
workers = 2
script = "$tmp/script.lua"
state_dir = "$tmp/state"
log_level = info
profiles_no_value = "marked"
store = "sqlite:$tmp/parley.db"
mgmt = "127.0.0.1:0"
mgmt_token = "$token"
CONF
env -u PARLEYD_MGMT -u PARLEYD_STORE "$BIN/parleyd" -c "$tmp/parleyd.conf" >"$tmp/proxy.log" 2>&1 &
ppid=$!
mgmt=$(parleyd_mgmt "$tmp/proxy.log" "$ppid")
[ -n "$mgmt" ] && ok || { bad "parleyd did not start: $(tail -5 "$tmp/proxy.log")"; finish; }

# ctl ARGS...: parleyctl with the token; output in $out, status in $rc.
ctl() {
    rc=0
    out=$("$BIN/parleyctl" --mgmt "$mgmt" --token "$token" "$@" 2>&1) || rc=$?
}
# jget PATH: a value of the JSON in $out.
jget() {
    $PY -c 'import json,sys
v = json.loads(sys.stdin.read())
for k in sys.argv[1].split("."):
    v = v[int(k)] if isinstance(v, list) else v[k]
print(json.dumps(v) if isinstance(v, (dict, list)) else v)' "$1" <<<"$out"
}

# ---- the token
rc=0
"$BIN/parleyctl" --mgmt "$mgmt" version >/dev/null 2>&1 || rc=$?
expect "no token: exit status" "$rc" 4
rc=0
"$BIN/parleyctl" --mgmt "$mgmt" --token wrong version >/dev/null 2>&1 || rc=$?
expect "wrong token: exit status" "$rc" 4
ctl version
expect "version: exit status" "$rc" 0
grep -q "0.1.0" <<<"$out" && ok || bad "version: $out"
ctl --json methods
n=$($PY -c 'import json,sys; print(len(json.loads(sys.stdin.read())))' <<<"$out")
[ "$n" -ge 20 ] && ok || bad "methods: $n, want the 20 of docs/mgmt.md: $out"

# ---- calls up: 5 from bob; alice registered
sargs="-nostdin -timeout 60 -timeout_error -fd 1 -trace_stat -trace_err"
# shellcheck disable=SC2086
(cd "$tmp" && exec "$SIPP" -sf "$SRC/tests/sipp/uas_rr.xml" -i 127.0.0.1 -p "$uport" -m 5 $sargs \
    -stf "$tmp/uas.csv" -error_file "$tmp/uas.err" -trace_msg -message_file "$tmp/uas.msg" \
    >"$tmp/uas.out" 2>&1) &
upid=$!
pids+=("$upid")
hex=$(printf '%04X' "$uport")
for _ in $(seq 100); do grep -q ":$hex " /proc/net/udp && break; sleep 0.05; done
# shellcheck disable=SC2086
(cd "$tmp" && exec "$SIPP" "127.0.0.1:$uport" -rsa "$proxy" -sf "$SRC/tests/data/dialog/uac_wait_bye.xml" \
    -i 127.0.0.1 -p 0 -m 5 -r 10 -l 5 $sargs -stf "$tmp/uac.csv" -error_file "$tmp/uac.err" \
    >"$tmp/uac.out" 2>&1) &
cpid=$!
pids+=("$cpid")
"$BIN/parley" listen --register "sip:$proxy" --aor sip:alice@127.0.0.1 "udp:127.0.0.1:$aport" \
    >"$tmp/alice.log" 2>&1 &
pids+=($!)
for _ in $(seq 200); do
    ctl --json stats
    [ "$(jget dialogs.active 2>/dev/null)" = 5 ] && break
    sleep 0.05
done
expect "five calls up" "$(jget dialogs.active)" 5
for _ in $(seq 200); do grep -q "registered sip:alice@127.0.0.1" "$tmp/alice.log" && break; sleep 0.05; done

# ---- dialogs
ctl dlg list
expect "dlg list: exit status" "$rc" 0
expect "dlg list: rows (header + 5)" "$(wc -l <<<"$out")" 6
head -1 <<<"$out" | grep -q "ID" && ok || bad "dlg list table: $out"
ctl --json dlg list --state 4
expect "dlg list --state 4" "$(jget count)" 5
ctl --json dlg list --profile caller --value bob --limit 2
expect "dlg list by profile and value: count" "$(jget count)" 5
expect "dlg list --limit 2: listed" "$($PY -c 'import json,sys; print(len(json.loads(sys.stdin.read())["dialogs"]))' <<<"$out")" 2
id=$(jget dialogs.0.id)
callid=$(jget dialogs.0.callid)
ctl --json dlg list --callid "$callid"
expect "dlg list --callid" "$(jget count)" 1
ctl dlg push-value "$id" note hello
expect "push-value: exit status" "$rc" 0
ctl dlg push-value "$id" n 42 --int
ctl --json dlg show "$id"
expect "show: the string value" "$(jget values.note)" hello
expect "show: the integer value" "$(jget values.n)" 42
expect "show: state" "$(jget state_name)" confirmed
expect "show: From user in the caller profile" "$(jget profiles.0.value)" bob
ctl --json dlg list-ctx --callid "$callid"
expect "dlg list-ctx: the pushed value" "$(jget dialogs.0.values.note)" hello
expect "dlg list-ctx: the caller profile" "$(jget dialogs.0.profiles.0.name)" caller
ctl call core.version
expect "call core.version" "$(jget version)" 0.1.0
ctl dlg set-profile "$id" marked
expect "set-profile: exit status" "$rc" 0
ctl --json profile size marked
expect "profile size marked" "$(jget size)" 1
ctl dlg unset-profile "$id" marked
ctl --json profile size marked
expect "profile size marked after unset" "$(jget size)" 0
ctl dlg set-profile "$id" nosuch
expect "unknown profile: exit status" "$rc" 1
grep -q "no such profile" <<<"$out" && ok || bad "unknown profile: $out"
ctl dlg show 0123456789abcdef
expect "unknown dialog: exit status" "$rc" 1
grep -q "no such dialog" <<<"$out" && ok || bad "unknown dialog: $out"

# ---- profiles
ctl --json profile size caller bob
expect "profile size caller bob" "$(jget size)" 5
ctl --json profile list caller bob
expect "profile list caller bob" "$($PY -c 'import json,sys; print(len(json.loads(sys.stdin.read())["dialogs"]))' <<<"$out")" 5
ctl --json profile values caller
expect "profile values caller" "$(jget values.bob)" 5
ctl profile all
grep -q "caller" <<<"$out" && grep -q "marked" <<<"$out" && ok || bad "profile all: $out"

# ---- the store
ctl --json store restore
expect "store restore: written" "$(jget written)" 5
ctl --json store sync
expect "store sync: exit status" "$rc" 0

# ---- metrics, with the Prometheus parser
curl -s -H "Authorization: Bearer $token" "http://$mgmt/metrics" >"$tmp/metrics"
$PY - "$tmp/metrics" >"$tmp/metrics.check" 2>&1 <<'PY' && ok || bad "metrics: $(cat "$tmp/metrics.check")"
import sys
from prometheus_client.parser import text_string_to_metric_families
fams = {f.name: f for f in text_string_to_metric_families(open(sys.argv[1]).read())}
def sample(name, **labels):
    for f in fams.values():
        for s in f.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return s.value
    raise SystemExit("no sample %s %s" % (name, labels))
assert sample("parley_dialogs", state="confirmed") == 5, "confirmed dialogs"
assert sample("parley_dialogs_processed_total") == 5, "processed"
assert sample("parley_messages_in_total", method="INVITE", **{"class": "request"}) == 5, "INVITEs in"
assert sample("parley_messages_out_total", method="INVITE", **{"class": "2xx"}) >= 5, "2xx out"
assert sample("parley_transactions", kind="server_invite") >= 0
assert sample("parley_store_queue") >= 0
assert sample("parley_worker_messages_total", worker="0") + sample("parley_worker_messages_total", worker="1") > 0
print("ok")
PY
rc=0
code=$(curl -s -o /dev/null -w '%{http_code}' "http://$mgmt/metrics") || rc=$?
expect "metrics without the token" "$code" 401

# ---- JSON-RPC errors
out=$(curl -s -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    --data '{"jsonrpc":"2.0","method":' "http://$mgmt/")
expect "malformed JSON" "$(jget error.code)" -32700
out=$(curl -s -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    --data '{"jsonrpc":"2.0","method":"no.such","id":1}' "http://$mgmt/")
expect "unknown method" "$(jget error.code)" -32601
out=$(curl -s -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    --data '{"jsonrpc":"2.0","method":"dlg.show","params":{"id":"xyz"},"id":2}' "http://$mgmt/")
expect "bad params" "$(jget error.code)" -32602

# A param of the wrong type never widens a destructive call.
out=$(curl -s -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    --data '{"jsonrpc":"2.0","method":"profile.end","params":{"name":"caller","value":123},"id":3}' \
    "http://$mgmt/")
expect "profile.end with a number for value" "$(jget error.code)" -32602
out=$(curl -s -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    --data '{"jsonrpc":"2.0","method":"reg.remove","params":{"aor":"sip:alice@127.0.0.1","contact":1},"id":4}' \
    "http://$mgmt/")
expect "reg.remove with a number for contact" "$(jget error.code)" -32602
ctl --json stats
expect "nothing ended by those" "$(jget dialogs.active)" 5

# ---- the script
ctl --json reload
expect "reload" "$(jget reloaded)" True
echo 'this is not lua' >>"$tmp/script.lua"
ctl reload
expect "reload of a broken script: exit status" "$rc" 1
grep -q "script.lua" <<<"$out" && ok || bad "reload error names the script: $out"
cp "$SRC/etc/parley.lua" "$tmp/script.lua"

# ---- registrations
ctl --json reg list
expect "reg list: alice" "$(jget bindings.0.aor)" "sip:alice@127.0.0.1"
ctl --json reg remove sip:alice@127.0.0.1
expect "reg remove" "$(jget removed)" 1
ctl --json reg list
expect "reg list after remove" "$(jget bindings)" "[]"

# ---- ending calls: one by id with a header, one by Call-ID, the rest by profile
ctl dlg end "$id" --header 'Reason: SIP;cause=200;text="ended by mgmt"'
expect "dlg end: exit status" "$rc" 0
ctl dlg end "$id"
expect "dlg end again: exit status" "$rc" 1
ctl --json dlg list
other=$(jget dialogs.0.callid)
ctl dlg end --callid "$other"
expect "dlg end --callid: exit status" "$rc" 0
ctl --json profile end caller bob
expect "profile end caller bob" "$(jget ended)" 3
crc=0
wait "$cpid" || crc=$?
expect "callers: SIPp exit status (every call got its BYE)" "$crc" 0
urc=0
wait "$upid" || urc=$?
expect "callee: SIPp exit status" "$urc" 0
grep -q 'text="ended by mgmt"' "$tmp/uas.msg" && ok || bad "the BYE did not carry the extra header"
ctl --json stats
expect "stats: active" "$(jget dialogs.active)" 0
expect "stats: terminated" "$(jget dialogs.terminated)" 5
expect "stats: caller profile" "$(jget profiles.caller)" 0

kill -TERM "$ppid"
prc=0
wait "$ppid" || prc=$?
ppid=
expect "parleyd exit status" "$prc" 0
finish
