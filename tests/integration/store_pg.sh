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

. "$(dirname "$0")/lib/pg.sh"
trap pg_cleanup EXIT
pg_start || exit 1
ok
stop_cmd=$PG_STOP_CMD
start_cmd=$PG_START_CMD
tmp=$PG_TMP
port=$PG_PORT
url=$PG_URL
set +e
PARLEY_PG_URL=$url PARLEY_STORE_SKIP_SQLITE=1 PARLEY_PG_STOP=$stop_cmd \
    PARLEY_PG_START=$start_cmd "$unit"
rc=$?
set -e
expect "test_store against PostgreSQL: exit status" "$rc" 0
# The outage test leaves the server up; it must still answer.
if (cd "$tmp" && "${PG_AS[@]}" "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$port" -U parley); then
    ok
else
    bad "the server is down after the tests"
fi
if [ "$fail" != 0 ]; then
    echo "--- server log"
    tail -n 40 "$tmp/server.log"
fi
finish
