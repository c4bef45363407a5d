# shellcheck shell=bash
# tests/integration/lib/common.sh - what the integration scripts share.
#
# Sourced by a script right after its `set -euo pipefail`:
#
#   . "$(dirname "$0")/lib/common.sh"
#
# which finds it both under ctest (the script is run by its absolute path)
# and by hand (bash tests/integration/NAME.sh). It lives in a subfolder
# because tests/CMakeLists.txt runs every tests/integration/*.sh as a test.
#
# ok and bad count the checks, expect compares, finish prints the last line
# ("N passed, M failed") and exits 0 only when nothing failed, free_port
# picks a loopback port.

# Every parleyd a test starts has its management interface on a free port
# and no store, unless the test says otherwise: tests run side by side and
# must not share 127.0.0.1:8080 or a state folder's database.
export PARLEYD_MGMT=${PARLEYD_MGMT:-127.0.0.1:0}
export PARLEYD_STORE=${PARLEYD_STORE:-none}

pass=0
fail=0

# A check passed.
ok() { pass=$((pass + 1)); }

# bad WHY...: a check failed; says so on stdout.
bad() {
    fail=$((fail + 1))
    echo "FAIL: $*"
}

# expect WHAT GOT WANT
expect() {
    if [ "$2" = "$3" ]; then ok; else bad "$1: got '$2', want '$3'"; fi
}

# The counts, and the script's exit status: 0 when no check failed.
finish() {
    echo "$pass passed, $fail failed"
    [ "$fail" = 0 ] || exit 1
    exit 0
}

# A port free for both UDP and TCP on 127.0.0.1 (nothing listens on it).
free_port() {
    python3 -c '
import socket
while True:
    t = socket.socket(); t.bind(("127.0.0.1", 0)); p = t.getsockname()[1]
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        u.bind(("127.0.0.1", p)); print(p); break
    except OSError:
        pass
    finally:
        u.close(); t.close()'
}

# stop_group PID: SIGTERM to PID, up to 5 s for it to go, then SIGKILL to
# whatever is left of its process group (a setsid leader's children: a
# Kamailio's workers), and reap it. For cleanup traps; an empty PID is fine.
stop_group() {
    local pid=$1
    [ -n "$pid" ] || return 0
    kill "$pid" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$pid" 2>/dev/null
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    return 0
}

# parleyd_mgmt LOG PID: wait (bounded, 30 s) until the parleyd PID, logging
# to LOG, says it is running; print the management address it bound
# ("management interface on 127.0.0.1:0 (port N)" gives 127.0.0.1:N), or
# nothing when it stopped or never got there.
parleyd_mgmt() {
    for _ in $(seq 600); do
        if grep -q "running" "$1"; then
            sed -n 's/.*management interface on \(.*\):[0-9]* (port \([0-9]*\)).*/\1:\2/p' "$1"
            return 0
        fi
        kill -0 "$2" 2>/dev/null || return 0
        sleep 0.05
    done
}
