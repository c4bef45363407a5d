# shellcheck shell=bash
# tests/integration/lib/pg.sh - a PostgreSQL server of the test's own.
#
#   . "$(dirname "$0")/lib/pg.sh"
#   pg_start            # or fail: initdb + pg_ctl into a temp folder
#   ... "$PG_URL" ...   # postgresql://parley@127.0.0.1:PORT/parley_test
#   pg_cleanup          # in the test's EXIT trap: stops it, removes the folder
#
# initdb and pg_ctl come from the Debian postgresql package; the cluster
# listens on 127.0.0.1 on a free port and on a Unix socket in its folder,
# with trust authentication. initdb refuses to run as root: as root (CI)
# the cluster belongs to `nobody`. PG_STOP_CMD and PG_START_CMD stop and
# start the server again (for outage tests).

PG_TMP=
PG_URL=
pg_start() {
    local pgbin port data opts
    pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
    if [ -z "$pgbin" ] || [ ! -x "$pgbin/initdb" ]; then
        echo "FAIL: no PostgreSQL server under /usr/lib/postgresql (scripts/bootstrap installs it)"
        return 1
    fi
    PG_TMP=$(mktemp -d /tmp/parley-pg.XXXXXX)
    PG_AS=()
    if [ "$(id -u)" = 0 ]; then
        PG_AS=(runuser -u nobody --)
        chown nobody "$PG_TMP"
    fi
    port=$(free_port)
    data=$PG_TMP/data
    opts="-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$PG_TMP"
    opts="$opts -c max_connections=20 -c shared_buffers=16MB"
    PG_BIN=$pgbin
    PG_DATA=$data
    local pgctl="cd $PG_TMP && ${PG_AS[*]} $pgbin/pg_ctl -D $data -l $PG_TMP/server.log -w -t 30"
    PG_STOP_CMD="$pgctl -m fast stop >/dev/null"
    PG_START_CMD="$pgctl -o '$opts' start >/dev/null"
    if ! (cd "$PG_TMP" && "${PG_AS[@]}" "$pgbin/initdb" -D "$data" -U parley -A trust -E UTF8 \
        --locale=C >"$PG_TMP/initdb.log" 2>&1); then
        cat "$PG_TMP/initdb.log"
        echo "FAIL: initdb"
        return 1
    fi
    if ! bash -c "$PG_START_CMD"; then
        cat "$PG_TMP/server.log" 2>/dev/null
        echo "FAIL: the PostgreSQL server did not start"
        return 1
    fi
    if ! (cd "$PG_TMP" && "${PG_AS[@]}" "$pgbin/createdb" -h "$PG_TMP" -p "$port" -U parley \
        parley_test); then
        echo "FAIL: createdb"
        return 1
    fi
    PG_PORT=$port
    PG_URL="postgresql://parley@127.0.0.1:$port/parley_test"
}

pg_cleanup() {
    [ -n "$PG_TMP" ] || return 0
    (cd "$PG_TMP" && "${PG_AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_DATA" -m immediate -w stop) \
        >/dev/null 2>&1 || true
    rm -rf "$PG_TMP"
    PG_TMP=
}
