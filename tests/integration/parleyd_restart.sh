#!/usr/bin/env bash
# Dialogs that survive a crash (the dialog-tracking notes' T9), with SIPp
# on both sides of parleyd and the store on SQLite, then on a PostgreSQL
# server the test starts itself (lib/pg.sh):
#
# realtime mode, kill -9:
#   C  100 calls that end (BYE) before the crash: must not come back;
#   A  600 calls held 12 s: they hang up (BYE) after the restart;
#   B  400 calls that never hang up: parleyd ends them with BYE both ways
#      when their 20 s lifetime runs out (the shipped script's
#      bye-on-timeout), counted from their 200 before the crash.
#   With the 1,000 calls of A and B up and the store's queue empty,
#   parleyd is killed with SIGKILL and started again on the same store:
#   exactly 1,000 dialogs come back (its log says so, with the time it
#   took), the caller profile counts each once (600 + 400 by From user),
#   the BYEs of A are matched to their restored dialogs (terminated = 600,
#   SIPp: every call successful), B's calls end between 20 and 30 s after
#   they started (expired = 400), and every count ends at zero.
# (Every step runs on SQLite, then on PostgreSQL.)
# shutdown mode, SIGTERM: 200 calls held, parleyd stopped cleanly and
#   started again: all 200 back; ended with `parleyctl profile end`.
# delayed mode (store_flush 2s): 200 calls, a flush, 100 more, kill -9:
#   what comes back is at least the flushed 200 and at most 300 (printed:
#   what delayed mode loses).
# PostgreSQL stopped under load (realtime): no call fails, the queue
#   drains when it is back, no dialog row is left.
# A registration made before a restart is there after it.
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/pg.sh"
BIN=$(cd "${PARLEY_BIN:-build/bin}" && pwd)
SRC=$(cd "${PARLEY_SRC:-.}" && pwd)
SIPP=$(command -v sipp || true)
[ -n "$SIPP" ] || { echo "sipp missing (scripts/bootstrap installs sip-tester)"; exit 1; }

tmp=$(mktemp -d)
ppid=
sipp_pids=()
cleanup() {
    set +e
    for p in "${sipp_pids[@]}"; do kill "$p" 2>/dev/null; done
    [ -n "$ppid" ] && kill -9 "$ppid" 2>/dev/null
    wait 2>/dev/null
    pg_cleanup
    rm -rf "$tmp"
}
trap cleanup EXIT

port=$(free_port)
uport=$(free_port)
while [ "$uport" = "$port" ]; do uport=$(free_port); done
proxy=127.0.0.1:$port
sargs="-nostdin -timeout 120 -timeout_error -fd 1 -trace_stat -trace_err -max_socket 4096"

# start_parleyd NAME STORE MODE: parleyd on $proxy, two workers, its log in $tmp/NAME.log;
# waits until its management port is known ($mgmt).
starts=0
start_parleyd() {
    local name=$1 log
    starts=$((starts + 1))
    log=$tmp/$name.$starts.log
    cat >"$tmp/$name.conf" <<CONF
listen = udp:$proxy
workers = 2
script = "$SRC/etc/parley.lua"
state_dir = "$tmp/state"
log_level = info
caller_limit = 0
dialog_lifetime = 20s
store = "$2"
store_mode = "$3"
store_flush = 2s
mgmt = "127.0.0.1:0"
CONF
    env -u PARLEYD_MGMT -u PARLEYD_STORE "$BIN/parleyd" -c "$tmp/$name.conf" >"$log" 2>&1 &
    ppid=$!
    mgmt=$(parleyd_mgmt "$log" "$ppid")
    cat "$log" >>"$tmp/$name.log"
    if [ -z "$mgmt" ]; then
        bad "$name: parleyd did not start: $(tail -5 "$log")"
        finish
    fi
}

# stat PATH: a value of `parleyctl stats --json` (PATH like dialogs.active).
stat() {
    "$BIN/parleyctl" --mgmt "$mgmt" --json stats 2>/dev/null |
        python3 -c 'import json,sys
try:
    v = json.load(sys.stdin)
    for k in sys.argv[1].split("."): v = v[k]
    print(v)
except Exception:
    print("?")' "$1"
}

# wait_stat PATH VALUE [TENTHS]: poll until the stat equals VALUE (default 30 s).
wait_stat() {
    local v=
    for _ in $(seq "${3:-300}"); do
        v=$(stat "$1" 2>/dev/null || true)
        [ "$v" = "$2" ] && return 0
        sleep 0.1
    done
    echo "($1 stayed at '$v', want $2)"
    return 1
}

# wait_ge PATH VALUE [TENTHS]: poll until the stat is at least VALUE (default 30 s).
wait_ge() {
    local v=
    for _ in $(seq "${3:-300}"); do
        v=$(stat "$1" 2>/dev/null || true)
        [ "$v" != "?" ] && [ -n "$v" ] && [ "$v" -ge "$2" ] && return 0
        sleep 0.1
    done
    echo "($1 stayed at '$v', want at least $2)"
    return 1
}

# sipp_bg NAME SCENARIO CALLS RATE [ARGS...]: a SIPp caller in the background through parleyd.
sipp_bg() {
    local name=$1 sc=$2 calls=$3 rate=$4
    shift 4
    # shellcheck disable=SC2086
    (cd "$tmp" && exec "$SIPP" "127.0.0.1:$uport" -rsa "$proxy" -sf "$sc" -i 127.0.0.1 -p 0 \
        -m "$calls" -r "$rate" -l "$calls" $sargs -stf "$tmp/$name.csv" -error_file "$tmp/$name.err" \
        "$@" >"$tmp/$name.out" 2>&1) &
    sipp_pids+=($!)
    eval "pid_$name=$!"
}

# wait_sipp NAME: its exit status must be 0.
wait_sipp() {
    local pid rc=0
    eval "pid=\$pid_$1"
    wait "$pid" || rc=$?
    expect "SIPp $1 exit status" "$rc" 0
    [ "$rc" = 0 ] || tail -5 "$tmp/$1.out"
}

# The callee answers every call and takes the BYE from the caller or from parleyd.
start_callee() {
    # shellcheck disable=SC2086
    (cd "$tmp" && exec "$SIPP" -sf "$SRC/tests/sipp/uas_rr.xml" -i 127.0.0.1 -p "$uport" -m "$1" \
        $sargs -stf "$tmp/callee$2.csv" -error_file "$tmp/callee$2.err" >"$tmp/callee$2.out" 2>&1) &
    sipp_pids+=($!)
    eval "pid_callee$2=$!"
    local hex
    hex=$(printf '%04X' "$uport")
    for _ in $(seq 100); do grep -q ":$hex " /proc/net/udp && break; sleep 0.05; done
}

kill9() {
    kill -9 "$ppid"
    wait "$ppid" 2>/dev/null || true
    ppid=
}

# ---------------------------------------------------------------- realtime, kill -9
suite_realtime() {
    local name=$1 url=$2
    start_parleyd "$name" "$url" realtime
    start_callee 1100 "_$name"
    sipp_bg "c_$name" "$SRC/tests/sipp/uac_rr.xml" 100 200 -d 100
    wait_sipp "c_$name"
    sipp_bg "a_$name" "$SRC/tests/sipp/uac_rr.xml" 600 400 -d 12000
    local b_start
    b_start=$(date +%s)
    sipp_bg "b_$name" "$SRC/tests/data/dialog/uac_wait_bye.xml" 400 400
    wait_stat dialogs.active 1000 && ok || bad "$name: 1000 calls up before the crash"
    wait_stat store.queued 0 && ok || bad "$name: the store's queue did not empty"
    expect "$name: caller profile before the crash" "$(stat profiles.caller)" 1000
    kill9
    start_parleyd "$name" "$url" realtime
    local line n ms
    line=$(grep "dialog(s) restored from the store" "$tmp/$name.$starts.log" | tail -1)
    n=$(sed -n 's/.* \([0-9]*\) dialog(s) restored.*/\1/p' <<<"$line")
    ms=$(sed -n 's/.* in \([0-9]*\) ms.*/\1/p' <<<"$line")
    expect "$name: dialogs restored after kill -9" "$n" 1000
    echo "$name: $n dialogs restored in $ms ms"
    expect "$name: active after the restart" "$(stat dialogs.active)" 1000
    expect "$name: caller profile after the restart (never doubled)" "$(stat profiles.caller)" 1000
    "$BIN/parleyctl" --mgmt "$mgmt" --json profile values caller |
        python3 -c 'import json,sys; v=json.load(sys.stdin)["values"]; print(v.get("sipp"), v.get("bob"))' \
        >"$tmp/values"
    expect "$name: per caller (sipp, bob)" "$(cat "$tmp/values")" "600 400"
    # A hangs up: each BYE matched to its restored dialog.
    wait_sipp "a_$name"
    wait_stat dialogs.terminated 600 && ok || bad "$name: A's BYEs did not end their dialogs"
    # B: parleyd ends them at the end of their lifetime.
    wait_sipp "b_$name"
    local took=$(($(date +%s) - b_start))
    [ "$took" -ge 19 ] && [ "$took" -le 32 ] && ok ||
        bad "$name: B's calls ended $took s after they started, want about 20 (their lifetime)"
    wait_stat dialogs.expired 400 && ok || bad "$name: B's lifetimes did not expire"
    wait_stat dialogs.active 0 && ok || bad "$name: dialogs left"
    expect "$name: caller profile at the end" "$(stat profiles.caller)" 0
    local crc=0
    eval "wait \$pid_callee_$name" || crc=$?
    expect "$name: SIPp callee exit status" "$crc" 0
    kill -TERM "$ppid"
    wait "$ppid" || true
    ppid=
}

# ---------------------------------------------------------------- shutdown mode, SIGTERM
suite_shutdown() {
    local name=$1 url=$2
    start_parleyd "$name" "$url" shutdown
    # A registration, written through the store: it survives the restart too.
    local aport apid
    aport=$(free_port)
    "$BIN/parley" listen --register "sip:$proxy" --aor sip:alice@127.0.0.1 "udp:127.0.0.1:$aport" \
        >"$tmp/alice.log" 2>&1 &
    apid=$!
    for _ in $(seq 200); do grep -q "registered sip:alice@127.0.0.1" "$tmp/alice.log" && break; sleep 0.05; done
    kill -9 "$apid" 2>/dev/null # (a clean stop would unregister)
    wait "$apid" 2>/dev/null || true
    start_callee 200 "_$name"
    sipp_bg "s_$name" "$SRC/tests/data/dialog/uac_wait_bye.xml" 200 400
    wait_stat dialogs.active 200 && ok || bad "$name: 200 calls up"
    kill -TERM "$ppid"
    local prc=0
    wait "$ppid" || prc=$?
    ppid=
    expect "$name: parleyd exit after SIGTERM" "$prc" 0
    start_parleyd "$name" "$url" shutdown
    expect "$name: dialogs back after a clean stop" "$(stat dialogs.active)" 200
    "$BIN/parleyctl" --mgmt "$mgmt" --json reg list >"$tmp/reg.json"
    grep -q "sip:alice@127.0.0.1" "$tmp/reg.json" && ok ||
        bad "$name: the registration did not survive: $(cat "$tmp/reg.json")"
    # A second clean stop and start: the restored dialogs, unchanged since, are kept again.
    kill -TERM "$ppid"
    prc=0
    wait "$ppid" || prc=$?
    ppid=
    expect "$name: parleyd exit after the second SIGTERM" "$prc" 0
    start_parleyd "$name" "$url" shutdown
    expect "$name: dialogs back after a second clean stop" "$(stat dialogs.active)" 200
    local out
    out=$("$BIN/parleyctl" --mgmt "$mgmt" --json profile end caller)
    grep -q '"ended": *200' <<<"$out" && ok || bad "$name: profile end: $out"
    wait_sipp "s_$name"
    wait_stat dialogs.active 0 && ok || bad "$name: dialogs left after profile end"
    local crc=0
    eval "wait \$pid_callee_$name" || crc=$?
    expect "$name: SIPp callee exit status" "$crc" 0
    kill -TERM "$ppid"
    wait "$ppid" || true
    ppid=
}

# ---------------------------------------------------------------- delayed mode, kill -9
suite_delayed() {
    local name=$1 url=$2
    start_parleyd "$name" "$url" delayed
    start_callee 300 "_$name"
    sipp_bg "d1_$name" "$SRC/tests/data/dialog/uac_wait_bye.xml" 200 400
    wait_stat dialogs.active 200 && ok || bad "$name: 200 calls up"
    wait_stat store.queued 0 && ok || bad "$name: the flush did not come"
    sipp_bg "d2_$name" "$SRC/tests/data/dialog/uac_wait_bye.xml" 100 400
    wait_stat dialogs.active 300 && ok || bad "$name: 300 calls up"
    kill9
    start_parleyd "$name" "$url" delayed
    local n
    n=$(stat dialogs.active)
    [ "$n" -ge 200 ] && [ "$n" -le 300 ] && ok || bad "$name: $n dialogs back, want 200 to 300"
    echo "$name: delayed mode, kill -9 with 300 up: $n restored, $((300 - n)) lost (confirmed since the last flush)"
    "$BIN/parleyctl" --mgmt "$mgmt" profile end caller >/dev/null
    wait_stat dialogs.active 0 && ok || bad "$name: dialogs left"
    kill -TERM "$ppid"
    wait "$ppid" || true
    ppid=
    # The lost calls never get a BYE: stop their SIPp (and the callee's).
    for p in "${sipp_pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    sipp_pids=()
}

# ---------------------------------------------------------------- PostgreSQL down under load
# 600 short calls at 100 a second; PostgreSQL is stopped for 2 s or more in the
# middle: no call fails (writes wait in the queue, the workers never
# block), and once the server is back the queue drains and the table
# holds no dialog (each ended with its call).
suite_outage() {
    local name=$1 url=$2 failed rows crc=0
    start_parleyd "$name" "$url" realtime
    start_callee 600 "_$name"
    sipp_bg "o_$name" "$SRC/tests/sipp/uac_rr.xml" 600 100 -d 500
    wait_ge dialogs.processed 100 && ok || bad "$name: no load"
    bash -c "$PG_STOP_CMD" && ok || bad "$name: pg_ctl stop"
    wait_stat store.connected False 100 && ok || bad "$name: the store did not notice the outage"
    # Calls keep flowing while the database is down.
    local before
    before=$(stat dialogs.processed)
    wait_ge dialogs.processed $((before + 200)) && ok ||
        bad "$name: calls stopped while the database was down"
    bash -c "$PG_START_CMD" && ok || bad "$name: pg_ctl start"
    wait_sipp "o_$name"
    failed=$(awk -F';' 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "FailedCall(C)") c = i; next } { v = $c } END { print v + 0 }' "$tmp/o_$name.csv")
    expect "$name: calls failed during the outage" "$failed" 0
    wait_stat store.queued 0 300 && ok || bad "$name: the queue did not drain"
    expect "$name: store connected again" "$(stat store.connected)" True
    wait_stat dialogs.active 0 && ok || bad "$name: dialogs left"
    rows=$(cd "$PG_TMP" && "${PG_AS[@]}" "$PG_BIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U parley -At \
        -c "select count(*) from dialogs" parley_test)
    expect "$name: dialog rows left in PostgreSQL" "$rows" 0
    eval "wait \$pid_callee_$name" || crc=$?
    expect "$name: SIPp callee exit status" "$crc" 0
    kill -TERM "$ppid"
    wait "$ppid" || true
    ppid=
}

suite_realtime sqlite "sqlite:$tmp/parley.db"
suite_shutdown sqlite_shutdown "sqlite:$tmp/shutdown.db"
suite_delayed sqlite_delayed "sqlite:$tmp/delayed.db"
if pg_start; then
    ok
    suite_realtime pg "$PG_URL"
    suite_shutdown pg_shutdown "$PG_URL"
    suite_delayed pg_delayed "$PG_URL"
    suite_outage pg_outage "$PG_URL"
else
    bad "PostgreSQL did not start"
fi
finish
