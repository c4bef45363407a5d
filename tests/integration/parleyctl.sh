#!/usr/bin/env bash
# parleyctl against tests/tools/mgmt_test_server (the management methods of
# docs/mgmt.md with fixed sample data, recording the params of each call)
# over real HTTP on loopback: for every command the params sent, the
# readable output and the --json output; the daemon's errors (exit 1 with
# "parleyctl: MESSAGE (code N)"), usage errors (exit 2, nothing sent),
# --help for the program and each group, the environment variables, a
# closed port (exit 3), a silent server and a server that does not speak
# HTTP (exit 3), the token (missing or wrong: exit 4), and IPv6.
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"
BIN=${PARLEY_BIN:-build/bin}
TOOLS=${PARLEY_TOOLS:-$BIN/../tests/tools}
CTL=$BIN/parleyctl

tmp=$(mktemp -d)
pids=()
cleanup() {
    set +e
    for p in "${pids[@]}"; do stop_group "$p"; done
    rm -rf "$tmp"
}
trap cleanup EXIT
unset PARLEYCTL_MGMT PARLEYCTL_TOKEN

# start_server NAME [ARGS...]: a test server in the background; its port in
# $tmp/NAME.port once it serves (polled for at most 10 s).
start_server() {
    local name=$1
    shift
    "$TOOLS/mgmt_test_server" --port-file "$tmp/$name.port" --record "$tmp/$name.rec" "$@" \
        2>"$tmp/$name.log" &
    pids+=($!)
    for _ in $(seq 200); do
        [ -s "$tmp/$name.port" ] && return 0
        sleep 0.05
    done
    echo "server $name did not start: $(cat "$tmp/$name.log")"
    return 1
}

start_server main
touch "$tmp/main.rec"
ADDR=127.0.0.1:$(cat "$tmp/main.port")
REC=$tmp/main.rec

# run ARGS...: parleyctl --mgmt ADDR ARGS; sets out, err, rc and sent (the
# number of calls the server recorded during it).
run() {
    local before after
    before=$(wc -l <"$REC")
    out=$("$CTL" --mgmt "$ADDR" "$@" 2>"$tmp/err") && rc=0 || rc=$?
    err=$(cat "$tmp/err")
    after=$(wc -l <"$REC")
    sent=$((after - before))
}

# params WHAT WANT: the run made exactly one call, recorded as WANT ("METHOD PARAMS").
params() {
    if [ "$sent" != 1 ]; then
        bad "$1: $sent calls sent, want 1 (exit $rc, $err)"
        return
    fi
    expect "$1: params" "$(tail -n 1 "$REC")" "$2"
}

# json_is WHAT JSON WANT: the two JSON texts are equal as values.
json_is() {
    if python3 -c 'import json,sys; sys.exit(0 if json.loads(sys.argv[1]) == json.loads(sys.argv[2]) else 1)' \
        "$2" "$3" 2>/dev/null; then ok; else bad "$1: got '$2', want '$3'"; fi
}

# usage WHAT ARGS...: exit 2, a message naming the problem, nothing sent.
usage() {
    local what=$1 want=$2
    shift 2
    run "$@"
    [ "$rc" = 2 ] && [ "$sent" = 0 ] && grep -q -- "$want" <<<"$err" && ok ||
        bad "usage $what: exit $rc, $sent sent, stderr '$err' (want '$want')"
}

# fails WHAT MESSAGE ARGS...: exit 1 with "parleyctl: MESSAGE" on stderr, nothing on stdout.
fails() {
    local what=$1 want=$2
    shift 2
    run "$@"
    expect "$what exit" "$rc" 1
    expect "$what stderr" "$err" "parleyctl: $want"
    expect "$what stdout" "$out" ""
}

D1=00a1b2c3d4e5f601
D2=00a1b2c3d4e5f602
CID1=a84b4c76e66710@pc33.example.com

# ---------------------------------------------------------------- help and usage
out=$("$CTL" --help) && rc=0 || rc=$?
expect "--help exit" "$rc" 0
for w in --mgmt --token --json --timeout version methods stats reload call "dlg " "profile " \
    "reg " "store " PARLEYCTL_MGMT PARLEYCTL_TOKEN "exit status"; do
    grep -q -- "$w" <<<"$out" && ok || bad "--help does not mention '$w'"
done
declare -A group_cmds=(
    [dlg]="list list-ctx show end set-profile unset-profile push-value --state --callid --profile --value --limit --reason --header --clear --int"
    [profile]="size list values all end"
    [reg]="list remove"
    [store]="sync restore")
for g in dlg profile reg store; do
    out=$("$CTL" $g --help) && rc=0 || rc=$?
    expect "$g --help exit" "$rc" 0
    grep -q "^usage: parleyctl $g COMMAND" <<<"$out" && ok || bad "$g --help: $out"
    for w in ${group_cmds[$g]}; do
        grep -q -F -- "$w" <<<"$out" && ok || bad "$g --help does not mention '$w'"
    done
    [ "$("$CTL" help $g)" = "$out" ] && ok || bad "'help $g' differs from '$g --help'"
done
[ "$("$CTL" dlg list --help)" = "$("$CTL" dlg --help)" ] && ok || bad "dlg list --help"
out=$("$CTL" --version) && rc=0 || rc=$?
[ "$rc" = 0 ] && grep -q "^parleyctl [0-9]" <<<"$out" && ok || bad "--version: $rc $out"

usage "no command" "usage: parleyctl"
usage "unknown command" "unknown command 'frobnicate'" frobnicate
usage "group without command" "dlg: missing command" dlg
usage "unknown dlg command" "dlg: unknown command 'bogus'" dlg bogus
usage "dlg show without ID" "dlg show: missing argument" dlg show
usage "dlg show with two" "dlg show: unexpected argument 'b'" dlg show a b
usage "unknown option" "dlg list: unknown option --bogus" dlg list --bogus
usage "--state bad" "bad --state 'sleeping'" dlg list --state sleeping
usage "--state 9" "bad --state '9'" dlg list --state 9
usage "--limit 0" "bad --limit '0'" dlg list --limit 0
usage "--limit x" "bad --limit 'x'" dlg list --limit x
usage "--value alone" "--value needs --profile" dlg list --value alice
usage "--callid without value" "--callid needs a value" dlg list --callid
usage "dlg end neither" "missing ID or --callid" dlg end
usage "dlg end both" "not both" dlg end $D1 --callid $CID1
usage "dlg end bad header" "bad --header 'NoColon'" dlg end $D1 --header NoColon
usage "push-value --int x" "--int: 'abc' is not a whole number" dlg push-value $D1 n abc --int
usage "push-value 2 args" "missing argument" dlg push-value $D1 n
usage "set-profile 1 arg" "missing argument" dlg set-profile $D1
usage "unset-profile --clear" "unknown option --clear" dlg unset-profile $D1 caller --clear
usage "profile values 2 args" "unexpected argument" profile values caller alice
usage "reg remove" "missing argument" reg remove
usage "store sync x" "unexpected argument 'x'" store sync x
usage "call without method" "missing argument" call
usage "call bad JSON" "JSON_PARAMS" call stats '{bad'
usage "call scalar params" "must be an object or an array" call stats 3
usage "--timeout bad" "bad --timeout 'soon'" --timeout soon version
usage "--timeout 0" "bad --timeout '0'" --timeout 0 version
usage "--mgmt without port" "bad management address 'localhost'" --mgmt localhost version
# The usage line names the command's arguments and points at its group's help.
run dlg show
grep -q "^usage: parleyctl dlg show ID$" <<<"$err" && grep -q "Try 'parleyctl dlg --help'" <<<"$err" &&
    ok || bad "usage text: $err"

# ---------------------------------------------------------------- version, methods, stats
run version
expect "version exit" "$rc" 0
params version "core.version {}"
expect "version out" "$out" "version:  0.1.0
uptime:   1h02m
started:  2026-11-23T17:00:00Z"
run --json version
json_is "version --json" "$out" '{"version": "0.1.0", "uptime_s": 3725, "started": "2026-11-23T17:00:00Z"}'

run methods
expect "methods exit" "$rc" 0
# (core.methods is the library's own: the server records nothing.)
[ "$(wc -l <<<"$out")" = 21 ] && head -n 1 <<<"$out" | grep -qx core.methods &&
    grep -qx dlg.list_ctx <<<"$out" && grep -qx store.restore <<<"$out" && ok || bad "methods: $out"
run --json methods
[ "$(python3 -c 'import json,sys; print(len(json.loads(sys.argv[1])))' "$out")" = 21 ] && ok ||
    bad "methods --json: $out"

run stats
expect "stats exit" "$rc" 0
params stats "stats {}"
expect "stats out" "$out" "dialogs:
  live:       2
  active:     1
  early:      1
  processed:  57
  expired:    3
  failed:     4
  terminated: 48
profiles:
  caller: 1
  calls:  2
proxy:
  requests_in:  1200
  responses_in: 1100
  transactions: 12
store:
  mode:      realtime
  queued:    0
  written:   40
  errors:    0
  connected: yes
workers:
  INDEX  RECEIVED  HANDED-OUT  HANDED-IN
  0      600       10          12
  1      610       12          10"
run stats --json
[ "$(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(d["dialogs"]["live"], d["workers"][1]["handed_out"], d["store"]["connected"])' "$out")" = "2 12 True" ] &&
    ok || bad "stats --json: $out"

# ---------------------------------------------------------------- dlg list, list-ctx
TABLE_HDR="ID                STATE      CALL-ID                          FROM                   TO                    AGE    LEFT"
ROW1="00a1b2c3d4e5f601  confirmed  a84b4c76e66710@pc33.example.com  sip:alice@example.com  sip:bob@example.com   2m05s  57m55s"
ROW2="00a1b2c3d4e5f602  early      b2@host.example.org              sip:carol@example.com  sip:dave@example.com  3s     -"
run dlg list
expect "dlg list exit" "$rc" 0
params "dlg list" "dlg.list {}"
expect "dlg list out" "$out" "$TABLE_HDR
$ROW1
$ROW2"
run dlg list --state confirmed
params "dlg list --state confirmed" 'dlg.list {"state":4}'
expect "dlg list --state confirmed out" "$out" \
    "ID                STATE      CALL-ID                          FROM                   TO                   AGE    LEFT
00a1b2c3d4e5f601  confirmed  a84b4c76e66710@pc33.example.com  sip:alice@example.com  sip:bob@example.com  2m05s  57m55s"
run dlg list --state 2
params "dlg list --state 2" 'dlg.list {"state":2}'
grep -q "^$D2  early" <<<"$out" && [ "$(wc -l <<<"$out")" = 2 ] && ok || bad "--state 2: $out"
run dlg list --state=confirmed-not-acked
params "dlg list --state=confirmed-not-acked" 'dlg.list {"state":3}'
expect "no dialogs" "$out" "no dialogs"
run dlg list --callid "$CID1" --limit 5
params "dlg list --callid --limit" "dlg.list {\"callid\":\"$CID1\",\"limit\":5}"
run dlg list --profile caller --value alice
params "dlg list --profile --value" 'dlg.list {"profile":"caller","value":"alice"}'
run dlg list --limit 1
params "dlg list --limit 1" 'dlg.list {"limit":1}'
expect "dlg list --limit 1 footer" "$(tail -n 1 <<<"$out")" "(1 of 2 dialogs shown: --limit)"
run --json dlg list --state early
python3 -c '
import json, sys
r = json.loads(sys.argv[1])
assert r["count"] == 1 and len(r["dialogs"]) == 1
d = r["dialogs"][0]
assert d["id"] == "00a1b2c3d4e5f602" and d["state"] == 2 and d["lifetime_left_s"] is None
assert set(d) == {"id","state","state_name","callid","from_uri","to_uri","caller_tag","callee_tag",
  "caller_contact","callee_contact","caller_cseq","callee_cseq","flags","age_s","lifetime_left_s",
  "end_reason","worker"}
' "$out" && ok || bad "dlg list --json: $out"
# Global options may follow the command.
run dlg list --json --state 4
params "dlg list --json after" 'dlg.list {"state":4}'
[ "$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["dialogs"][0]["id"])' "$out")" = $D1 ] &&
    ok || bad "--json after the command: $out"

run dlg list-ctx --profile calls
expect "dlg list-ctx exit" "$rc" 0
params "dlg list-ctx" 'dlg.list_ctx {"profile":"calls"}'
expect "dlg list-ctx out" "$out" "$TABLE_HDR
$ROW1
    values: billing_id=42 route=gw1
    profiles: caller=alice calls
    context: codec=opus
$ROW2
    profiles: calls"
run --json dlg list-ctx
python3 -c '
import json, sys
d = json.loads(sys.argv[1])["dialogs"][0]
assert d["values"] == {"billing_id": 42, "route": "gw1"}
assert d["profiles"] == [{"name": "caller", "value": "alice"}, {"name": "calls", "value": None}]
assert d["context"] == {"codec": "opus"}
' "$out" && ok || bad "dlg list-ctx --json: $out"

# ---------------------------------------------------------------- dlg show
run dlg show $D1
expect "dlg show exit" "$rc" 0
params "dlg show" "dlg.show {\"id\":\"$D1\"}"
expect "dlg show out" "$out" "id:             00a1b2c3d4e5f601
state:          confirmed (4)
call-id:        a84b4c76e66710@pc33.example.com
from:           sip:alice@example.com
to:             sip:bob@example.com
caller tag:     1928301774
callee tag:     a6c85cf
caller contact: sip:alice@192.0.2.10:5060
callee contact: sip:bob@192.0.2.20:5060
caller cseq:    314159
callee cseq:    0
flags:          bye-on-timeout
age:            2m05s
lifetime left:  57m55s
end reason:     -
worker:         1
values:
  billing_id = 42
  route = gw1
profiles:
  caller = alice
  calls
context:
  codec = opus"
run dlg show $D2
grep -qx "values: -" <<<"$out" && grep -qx "context: -" <<<"$out" && grep -qx "flags:          -" <<<"$out" &&
    ok || bad "dlg show of the early dialog: $out"
run --json dlg show $D1
[ "$(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(d["caller_cseq"], d["values"]["route"])' "$out")" = "314159 gw1" ] &&
    ok || bad "dlg show --json: $out"
fails "dlg show unknown" "no such dialog (code -32004)" dlg show ffffffffffffffff
params "dlg show unknown" 'dlg.show {"id":"ffffffffffffffff"}'

# ---------------------------------------------------------------- dlg end
run dlg end $D1
expect "dlg end exit" "$rc" 0
params "dlg end" "dlg.end {\"id\":\"$D1\"}"
expect "dlg end out" "$out" "ended dialog $D1"
run dlg end --callid "$CID1" --reason "admin hangup" --header 'X-Reason: test' -H 'Reason: SIP;cause=480'
params "dlg end --callid" "dlg.end {\"callid\":\"$CID1\",\"headers\":\"X-Reason: test\\r\\nReason: SIP;cause=480\\r\\n\",\"reason\":\"admin hangup\"}"
expect "dlg end --callid out" "$out" "ended dialog $D1"
run --json dlg end $D1
json_is "dlg end --json" "$out" "{\"ended\": \"$D1\"}"
fails "dlg end in progress" "the dialog is ending already (code -32010)" dlg end $D2
fails "dlg end unknown Call-ID" "no such dialog (code -32004)" dlg end --callid nosuch

# ---------------------------------------------------------------- profiles and values on a dialog
run dlg set-profile $D1 caller alice --clear
expect "set-profile exit" "$rc" 0
params "set-profile" "dlg.set_profile {\"clear\":true,\"id\":\"$D1\",\"profile\":\"caller\",\"value\":\"alice\"}"
expect "set-profile out" "$out" "dialog $D1 added to profile caller with value alice"
run dlg set-profile $D2 calls
params "set-profile without value" "dlg.set_profile {\"id\":\"$D2\",\"profile\":\"calls\"}"
expect "set-profile without value out" "$out" "dialog $D2 added to profile calls"
run dlg unset-profile $D1 caller
params "unset-profile" "dlg.unset_profile {\"id\":\"$D1\",\"profile\":\"caller\"}"
expect "unset-profile out" "$out" "dialog $D1 removed from profile caller"
run dlg unset-profile $D1 caller alice
params "unset-profile with value" "dlg.unset_profile {\"id\":\"$D1\",\"profile\":\"caller\",\"value\":\"alice\"}"
fails "set-profile unknown" "no such dialog (code -32004)" dlg set-profile ffffffffffffffff caller
run --json dlg set-profile $D1 calls
json_is "set-profile --json" "$out" '{"ok": true}'

run dlg push-value $D1 route gw2
expect "push-value exit" "$rc" 0
params "push-value" "dlg.push_value {\"id\":\"$D1\",\"name\":\"route\",\"value\":\"gw2\"}"
expect "push-value out" "$out" "dialog $D1: route = gw2"
run dlg push-value $D1 billing_id 42 --int
params "push-value --int" "dlg.push_value {\"id\":\"$D1\",\"name\":\"billing_id\",\"value\":42}"
run dlg push-value --int $D1 credit -5
params "push-value --int negative" "dlg.push_value {\"id\":\"$D1\",\"name\":\"credit\",\"value\":-5}"
run dlg push-value $D1 note -- --json
params "push-value after --" "dlg.push_value {\"id\":\"$D1\",\"name\":\"note\",\"value\":\"--json\"}"
expect "push-value after -- out" "$out" "dialog $D1: note = --json"
fails "push-value unknown" "no such dialog (code -32004)" dlg push-value ffffffffffffffff a b

# ---------------------------------------------------------------- profile
run profile size caller
expect "profile size exit" "$rc" 0
params "profile size" 'profile.size {"name":"caller"}'
expect "profile size out" "$out" "1"
run profile size caller bob
params "profile size with value" 'profile.size {"name":"caller","value":"bob"}'
expect "profile size with value out" "$out" "0"
run --json profile size calls
json_is "profile size --json" "$out" '{"size": 2}'
fails "profile size unknown" "no such profile (code -32004)" profile size nosuch

run profile list calls
params "profile list" 'profile.list {"name":"calls"}'
expect "profile list out" "$out" "$D1
$D2"
run profile list caller alice
params "profile list with value" 'profile.list {"name":"caller","value":"alice"}'
expect "profile list with value out" "$out" "$D1"
run --json profile list caller
json_is "profile list --json" "$out" "{\"dialogs\": [\"$D1\"]}"

run profile values caller
params "profile values" 'profile.values {"name":"caller"}'
expect "profile values out" "$out" "VALUE  DIALOGS
alice  1
bob    0"
run --json profile values caller
json_is "profile values --json" "$out" '{"values": {"alice": 1, "bob": 0}}'
fails "profile values without values" "profile calls has no values (code -32602)" profile values calls

run profile all
params "profile all" "profile.list_all {}"
expect "profile all out" "$out" "NAME    VALUES  SIZE
caller  yes     1
calls   no      2"
run --json profile all
json_is "profile all --json" "$out" \
    '{"profiles": [{"name": "caller", "has_value": true, "size": 1}, {"name": "calls", "has_value": false, "size": 2}]}'

run profile end caller alice
params "profile end" 'profile.end {"name":"caller","value":"alice"}'
expect "profile end out" "$out" "ended 1 dialog"
run profile end calls
expect "profile end plural" "$out" "ended 2 dialogs"
run --json profile end calls
json_is "profile end --json" "$out" '{"ended": 2}'

# ---------------------------------------------------------------- reg
run reg list
expect "reg list exit" "$rc" 0
params "reg list" "reg.list {}"
expect "reg list out" "$out" "AOR                    CONTACT                                  EXPIRES  Q    SOURCE                USER-AGENT
sip:alice@example.com  <sip:alice@192.0.2.10:5060>              59m59s   1    udp:192.0.2.10:5060   baresip
sip:bob@example.com    <sip:bob@192.0.2.20:5062;transport=tcp>  1m15s    0.5  tcp:192.0.2.20:40123  SIPp"
run reg list sip:carol@example.com
params "reg list AOR" 'reg.list {"aor":"sip:carol@example.com"}'
expect "reg list none" "$out" "no bindings"
run --json reg list sip:bob@example.com
python3 -c '
import json, sys
b = json.loads(sys.argv[1])["bindings"]
assert len(b) == 1 and b[0]["path"] == "<sip:edge.example.com;lr>" and b[0]["cseq"] == 2
assert set(b[0]) == {"aor","contact","expires_in_s","q","path","call_id","cseq","user_agent","source"}
' "$out" && ok || bad "reg list --json: $out"
run reg remove sip:alice@example.com "<sip:alice@192.0.2.10:5060>"
params "reg remove contact" 'reg.remove {"aor":"sip:alice@example.com","contact":"<sip:alice@192.0.2.10:5060>"}'
expect "reg remove contact out" "$out" "removed 1 binding"
run reg remove sip:alice@example.com
params "reg remove aor" 'reg.remove {"aor":"sip:alice@example.com"}'
expect "reg remove aor out" "$out" "removed 2 bindings"
fails "reg remove unknown" "no such registration (code -32004)" reg remove sip:nosuch@example.com

# ---------------------------------------------------------------- reload, store, call
run reload
expect "reload exit" "$rc" 0
params reload "script.reload {}"
expect "reload out" "$out" "reloaded the script on 2 workers"
run --json reload
json_is "reload --json" "$out" '{"reloaded": true, "workers": 2}'
run call test.fail_next '{"method": "script.reload", "code": -32603, "message": "etc/parley.lua:3: unexpected symbol near end"}'
expect "arming a failure" "$rc" 0
fails "reload of a broken script" "etc/parley.lua:3: unexpected symbol near end (code -32603)" reload
params "reload of a broken script" "script.reload {}"

run store sync
params "store sync" "store.sync {}"
expect "store sync out" "$out" "loaded 2 records from the store"
run store restore
params "store restore" "store.restore {}"
expect "store restore out" "$out" "wrote 4 records to the store"
run --json store restore
json_is "store restore --json" "$out" '{"written": 4}'
run call test.fail_next '{"method": "store.sync", "code": -32020, "message": "the store is off (store = none)"}'
fails "store sync without a store" "the store is off (store = none) (code -32020)" store sync

run call profile.size '{"name": "calls"}'
expect "call exit" "$rc" 0
params "call" 'profile.size {"name":"calls"}'
json_is "call out" "$out" '{"size": 2}'
run call dlg.show '["x"]'
params "call with an array" 'dlg.show ["x"]'
run call core.version
params "call without params" "core.version null"
out=$(echo '{"name": "caller", "value": "alice"}' | "$CTL" --mgmt "$ADDR" call profile.size -) && rc=0 || rc=$?
expect "call params from stdin" "$out" '{
  "size": 1
}'
fails "call unknown method" "method not found: no.such (code -32601)" call no.such

# ---------------------------------------------------------------- where the daemon is
out=$(PARLEYCTL_MGMT=$ADDR "$CTL" profile size calls 2>&1) && rc=0 || rc=$?
[ "$rc" = 0 ] && [ "$out" = 2 ] && ok || bad "PARLEYCTL_MGMT: exit $rc: $out"
out=$(PARLEYCTL_MGMT=127.0.0.1:1 "$CTL" --mgmt="$ADDR" profile size calls 2>&1) && rc=0 || rc=$?
[ "$rc" = 0 ] && [ "$out" = 2 ] && ok || bad "--mgmt= over PARLEYCTL_MGMT: exit $rc: $out"
out=$("$CTL" --mgmt "http://$ADDR/" profile size calls 2>&1) && rc=0 || rc=$?
[ "$rc" = 0 ] && [ "$out" = 2 ] && ok || bad "--mgmt http://ADDR/: exit $rc: $out"

closed=$(free_port)
out=$("$CTL" --mgmt 127.0.0.1:$closed version 2>&1) && rc=0 || rc=$?
expect "closed port exit" "$rc" 3
expect "closed port message" "$out" \
    "parleyctl: cannot connect to 127.0.0.1:$closed: Connection refused (is parleyd running with mgmt on?)"
# The default address is 127.0.0.1:8080; whatever is there, nothing must hang.
out=$(PARLEYCTL_MGMT=127.0.0.1:$closed "$CTL" stats 2>&1) && rc=0 || rc=$?
expect "closed port through PARLEYCTL_MGMT" "$rc" 3

# A server that accepts and never answers; one that answers something else.
python3 -c '
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(8)
g = socket.socket(); g.bind(("127.0.0.1", 0)); g.listen(8)
open(sys.argv[1], "w").write("%d %d\n" % (s.getsockname()[1], g.getsockname()[1]))
held = []
while True:
    c, _ = g.accept()
    c.recv(65536); c.sendall(b"SSH-2.0-OpenSSH_9.2\r\n"); c.close()
' "$tmp/py.ports" &
pids+=($!)
for _ in $(seq 200); do [ -s "$tmp/py.ports" ] && break; sleep 0.05; done
read -r silent garbage <"$tmp/py.ports"
out=$("$CTL" --mgmt 127.0.0.1:$silent --timeout 0.3 version 2>&1) && rc=0 || rc=$?
expect "silent server exit" "$rc" 3
expect "silent server message" "$out" \
    "parleyctl: no answer from 127.0.0.1:$silent within 0.3 s (is parleyd busy or stopped?)"
out=$("$CTL" --mgmt 127.0.0.1:$garbage version 2>&1) && rc=0 || rc=$?
expect "not HTTP exit" "$rc" 3
expect "not HTTP message" "$out" \
    "parleyctl: 127.0.0.1:$garbage: not an HTTP answer (is that parleyd's management address?)"

# ---------------------------------------------------------------- the token
start_server tok --token 's3cret token'
TADDR=127.0.0.1:$(cat "$tmp/tok.port")
for args in "" "--token wrong" "--token s3cret"; do
    # shellcheck disable=SC2086
    out=$("$CTL" --mgmt "$TADDR" $args version 2>&1) && rc=0 || rc=$?
    expect "token '$args' exit" "$rc" 4
    expect "token '$args' message" "$out" \
        "parleyctl: $TADDR: unauthorized: wrong or missing token (--token, PARLEYCTL_TOKEN)"
done
out=$(PARLEYCTL_TOKEN=nope "$CTL" --mgmt "$TADDR" version 2>&1) && rc=0 || rc=$?
expect "wrong PARLEYCTL_TOKEN" "$rc" 4
out=$("$CTL" --mgmt "$TADDR" --token 's3cret token' profile size calls 2>&1) && rc=0 || rc=$?
[ "$rc" = 0 ] && [ "$out" = 2 ] && ok || bad "right --token: exit $rc: $out"
out=$(PARLEYCTL_TOKEN='s3cret token' "$CTL" --mgmt "$TADDR" profile size calls 2>&1) && rc=0 || rc=$?
[ "$rc" = 0 ] && [ "$out" = 2 ] && ok || bad "right PARLEYCTL_TOKEN: exit $rc: $out"
[ "$(cat "$tmp/tok.rec")" = 'profile.size {"name":"calls"}
profile.size {"name":"calls"}' ] && ok || bad "the refused calls reached a method: $(cat "$tmp/tok.rec")"
# The main server asks for none: a token given anyway is not a problem.
out=$("$CTL" --mgmt "$ADDR" --token x profile size calls 2>&1) && rc=0 || rc=$?
expect "token to a server without one" "$rc" 0

# ---------------------------------------------------------------- IPv6
if python3 -c 'import socket; socket.socket(socket.AF_INET6).bind(("::1", 0))' 2>/dev/null; then
    start_server v6 --listen '[::1]:0'
    out=$("$CTL" --mgmt "[::1]:$(cat "$tmp/v6.port")" profile size calls 2>&1) && rc=0 || rc=$?
    [ "$rc" = 0 ] && [ "$out" = 2 ] && ok || bad "[::1]: exit $rc: $out"
fi

finish
