#!/usr/bin/env bash
# The store's tests (tests/unit/test_store.c) against a real PostgreSQL
# server that this script starts for them: initdb and pg_ctl from the
# Debian postgresql package, a cluster in a temporary folder, trust
# authentication, TCP on 127.0.0.1 on a free port and a Unix socket in the
# same folder. The unit binary gets PARLEY_PG_URL (and runs its
# PostgreSQL group only), PARLEY_PG_STOP and PARLEY_PG_START (the commands
# that stop and start this server, for the outage test: writes keep
# coming while the server is down, and every one is there, the last value
# per key, once it is back).
#
# initdb refuses to run as root: as root (CI), the cluster belongs to
# `nobody` and the server runs as that user. The server is stopped at the
# end whatever happens (trap); a server that cannot start fails the test.
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"
BIN=$(cd "${PARLEY_BIN:-build/bin}" && pwd)
unit=$BIN/../tests/unit/test_store
[ -x "$unit" ] || { echo "FAIL: $unit not built"; exit 1; }

pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
if [ -z "$pgbin" ] || [ ! -x "$pgbin/initdb" ]; then
    echo "FAIL: no PostgreSQL server under /usr/lib/postgresql (scripts/bootstrap installs it)"
    exit 1
fi

tmp=$(mktemp -d /tmp/parley-pg.XXXXXX)
as=()
if [ "$(id -u)" = 0 ]; then
    as=(runuser -u nobody --)
    chown nobody "$tmp"
fi
port=$(free_port)
data=$tmp/data
opts="-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$tmp"
opts="$opts -c max_connections=20 -c shared_buffers=16MB"
# What the test runs to stop and start the server (from the server's folder, as its user).
pgctl="cd $tmp && ${as[*]} $pgbin/pg_ctl -D $data -l $tmp/server.log -w -t 30"
stop_cmd="$pgctl -m fast stop >/dev/null"
start_cmd="$pgctl -o '$opts' start >/dev/null"

cleanup() {
    set +e
    (cd "$tmp" && "${as[@]}" "$pgbin/pg_ctl" -D "$data" -m immediate -w stop) >/dev/null 2>&1
    rm -rf "$tmp"
}
trap cleanup EXIT

# as_server CMD...: run a server binary as the server's user, from its folder.
as_server() { (cd "$tmp" && "${as[@]}" "$pgbin/$1" "${@:2}"); }

if ! as_server initdb -D "$data" -U parley -A trust -E UTF8 --locale=C >"$tmp/initdb.log" 2>&1; then
    cat "$tmp/initdb.log"
    echo "FAIL: initdb"
    exit 1
fi
if ! bash -c "$start_cmd"; then
    cat "$tmp/server.log" 2>/dev/null
    echo "FAIL: the PostgreSQL server did not start"
    exit 1
fi
ok
if ! as_server createdb -h "$tmp" -p "$port" -U parley parley_test; then
    echo "FAIL: createdb"
    exit 1
fi
ok

url="postgresql://parley@127.0.0.1:$port/parley_test"
set +e
PARLEY_PG_URL=$url PARLEY_STORE_SKIP_SQLITE=1 PARLEY_PG_STOP=$stop_cmd \
    PARLEY_PG_START=$start_cmd "$unit"
rc=$?
set -e
expect "test_store against PostgreSQL: exit status" "$rc" 0
# The outage test leaves the server up; it must still answer.
if as_server pg_isready -q -h 127.0.0.1 -p "$port" -U parley; then ok; else bad "the server is down after the tests"; fi
if [ "$fail" != 0 ]; then
    echo "--- server log"
    tail -n 40 "$tmp/server.log"
fi
finish
