#!/usr/bin/env bash
# tests/integration/parley_msg.sh - the parley-msg command-line tool, end to end.
#
# Run by ctest with PARLEY_SRC (the source tree) and PARLEY_BIN (the built
# programs) set; by hand: PARLEY_BIN=build/bin bash tests/integration/parley_msg.sh
#
# Checks: parse of examples/invite.sip (JSON fields), print byte for byte,
# stdin and --stream, invalid messages (exit 1, one "error: ... at offset N"
# line), reply, usage errors (exit 2), help and version, odd bytes in the
# input, and every RFC 4475 torture message (exit 0 or 1 only, valid JSON on
# 0, print and re-parse consistent). Ends with "N passed, M failed".
set -euo pipefail

PARLEY_SRC=${PARLEY_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
PARLEY_BIN=${PARLEY_BIN:-$PARLEY_SRC/build/bin}
BIN=$PARLEY_BIN/parley-msg
INVITE=$PARLEY_SRC/examples/invite.sip
RFC4475=$PARLEY_SRC/tests/data/rfc4475
# Each run of the tool gets this long; a hang becomes a failure, not a stall.
RUN_TIMEOUT=${RUN_TIMEOUT:-60}

if [ ! -x "$BIN" ]; then
    echo "parley_msg.sh: $BIN is not built" >&2
    exit 1
fi
if [ ! -f "$INVITE" ]; then
    echo "parley_msg.sh: $INVITE is missing" >&2
    exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/parley-msg-test.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

pass=0
fail=0

ok() {
    pass=$((pass + 1))
    echo "ok: $*"
}

bad() {
    fail=$((fail + 1))
    echo "FAIL: $*"
}

# check DESCRIPTION COMMAND...: the command's success is the test's.
check() {
    local desc=$1
    shift
    if "$@"; then
        ok "$desc"
    else
        bad "$desc"
    fi
}

# pm OUT ERR ARGS...: run parley-msg, stdout to OUT, stderr to ERR; sets rc.
pm() {
    local out=$1 err=$2
    shift 2
    rc=0
    timeout -k 5 "$RUN_TIMEOUT" "$BIN" "$@" >"$out" 2>"$err" </dev/null || rc=$?
}

# pm_in IN OUT ERR ARGS...: the same with IN as standard input.
pm_in() {
    local in=$1 out=$2 err=$3
    shift 3
    rc=0
    timeout -k 5 "$RUN_TIMEOUT" "$BIN" "$@" <"$in" >"$out" 2>"$err" || rc=$?
}

# json_true FILE EXPR: EXPR (Python, with the parsed JSON as m) is true.
json_true() {
    python3 -c 'import json, sys
m = json.load(open(sys.argv[1], encoding="utf-8"))
sys.exit(0 if eval(sys.argv[2]) else 1)' "$1" "$2"
}

# valid_json FILE: FILE holds one JSON object.
valid_json() {
    python3 -c 'import json, sys
m = json.load(open(sys.argv[1], encoding="utf-8"))
sys.exit(0 if isinstance(m, dict) else 1)' "$1" 2>/dev/null
}

# error_line ERR: ERR is exactly one line "error: REASON at offset N".
error_line() {
    [ "$(wc -l <"$1")" -eq 1 ] && grep -Eq '^error: .+ at offset [0-9]+$' "$1"
}

# invalid_ok DESC: the last run exited 1, printed nothing, and one error line.
invalid_ok() {
    if [ "$rc" -eq 1 ] && [ ! -s "$tmp/out" ] && error_line "$tmp/err"; then
        ok "$1 ($(cat "$tmp/err"))"
    else
        bad "$1: exit $rc, stdout $(wc -c <"$tmp/out") bytes, stderr: $(head -c 300 "$tmp/err")"
    fi
}

# usage_ok DESC: the last run exited 2 with a message on stderr, nothing on stdout.
usage_ok() {
    if [ "$rc" -eq 2 ] && [ -s "$tmp/err" ] && [ ! -s "$tmp/out" ]; then
        ok "$1"
    else
        bad "$1: exit $rc (want 2), stdout $(wc -c <"$tmp/out") bytes, stderr $(wc -c <"$tmp/err") bytes"
    fi
}

# mkmsg FILE PYTHON-EXPR: write the bytes of a Python bytes expression (with
# inv = the bytes of examples/invite.sip and re imported) to FILE.
mkmsg() {
    python3 -c 'import re, sys
inv = open(sys.argv[2], "rb").read()
open(sys.argv[1], "wb").write(eval(sys.argv[3]))' "$1" "$INVITE" "$2"
}

# What examples/invite.sip holds, read from the file itself.
read -r want_method _ < <(head -n 1 "$INVITE" | tr -d '\r')
want_callid=$(grep -a -i '^Call-ID:' "$INVITE" | head -n 1 | sed 's/^[^:]*:[ \t]*//' | tr -d '\r')
want_vias=$(grep -a -c '^Via:' "$INVITE")
want_body=$(python3 -c 'import sys
d = open(sys.argv[1], "rb").read()
print(len(d.split(b"\r\n\r\n", 1)[1]))' "$INVITE")

# ---------------------------------------------------------------- parse

pm "$tmp/invite.json" "$tmp/err" parse "$INVITE"
check "parse examples/invite.sip exits 0" [ "$rc" -eq 0 ]
check "parse examples/invite.sip: nothing on stderr" [ ! -s "$tmp/err" ]
if valid_json "$tmp/invite.json"; then
    ok "parse examples/invite.sip: valid JSON"
    check "invite: kind request" json_true "$tmp/invite.json" 'm["kind"] == "request"'
    check "invite: method $want_method" \
        json_true "$tmp/invite.json" "m['method'] == '$want_method'"
    check "invite: Call-ID $want_callid" \
        json_true "$tmp/invite.json" "m['call_id'] == '$want_callid'"
    check "invite: $want_vias Via values" \
        json_true "$tmp/invite.json" "len(m['via']) == $want_vias"
    check "invite: body_length $want_body" \
        json_true "$tmp/invite.json" "m['body_length'] == $want_body"
    check "invite: content_length equals body_length" \
        json_true "$tmp/invite.json" 'm["content_length"] == m["body_length"]'
    check "invite: every header listed" \
        json_true "$tmp/invite.json" "len(m['headers']) == $(python3 -c 'import sys
d = open(sys.argv[1], "rb").read()
print(len(d.split(b"\r\n\r\n", 1)[0].split(b"\r\n")) - 1)' "$INVITE")"
    check "invite: header names and canonical names" json_true "$tmp/invite.json" \
        'all(h["canonical"] is None or isinstance(h["canonical"], str) for h in m["headers"]) and m["headers"][0]["canonical"] == "Via"'
    check "invite: CSeq method equals the method" \
        json_true "$tmp/invite.json" 'm["cseq"]["method"] == m["method"] and isinstance(m["cseq"]["number"], int)'
    check "invite: From has a tag, To has none" \
        json_true "$tmp/invite.json" 'm["from"]["tag"] and m["to"]["tag"] is None'
    check "invite: Via fields" json_true "$tmp/invite.json" \
        'all(v["protocol"] == "SIP/2.0" and v["branch"].startswith("z9hG4bK") for v in m["via"])'
    check "invite: request_uri" json_true "$tmp/invite.json" \
        'm["request_uri"]["scheme"].lower() == "sip" and m["request_uri"]["host"] and "port" in m["request_uri"]'
    check "invite: check ok" json_true "$tmp/invite.json" 'm["check"] == {"ok": True}'
else
    bad "parse examples/invite.sip: valid JSON"
fi

pm_in "$INVITE" "$tmp/out" "$tmp/err" parse -
check "parse - (stdin) gives the same JSON" cmp -s "$tmp/out" "$tmp/invite.json"
pm_in "$INVITE" "$tmp/out" "$tmp/err" parse
check "parse with no FILE reads stdin" cmp -s "$tmp/out" "$tmp/invite.json"
pm "$tmp/out" "$tmp/err" parse --stream "$INVITE"
check "parse --stream gives the same JSON" cmp -s "$tmp/out" "$tmp/invite.json"
pm "$tmp/out" "$tmp/err" parse -- "$INVITE"
check "parse -- FILE" cmp -s "$tmp/out" "$tmp/invite.json"

# ---------------------------------------------------------------- print

pm "$tmp/out" "$tmp/err" print "$INVITE"
check "print exits 0" [ "$rc" -eq 0 ]
check "print reproduces examples/invite.sip byte for byte" cmp "$tmp/out" "$INVITE"
pm_in "$INVITE" "$tmp/out" "$tmp/err" print -
check "print - (stdin) byte for byte" cmp "$tmp/out" "$INVITE"

mkmsg "$tmp/keepalive.sip" 'b"\r\n\r\n" + inv'
pm "$tmp/out" "$tmp/err" print --stream "$tmp/keepalive.sip"
check "print --stream drops keep-alive CRLFs" cmp "$tmp/out" "$INVITE"
mkmsg "$tmp/two.sip" 'inv + inv'
pm "$tmp/out" "$tmp/err" print --stream "$tmp/two.sip"
check "print --stream takes the first of two messages" cmp "$tmp/out" "$INVITE"

# ---------------------------------------------------------------- invalid input

mkmsg "$tmp/badcl.sip" 're.sub(rb"Content-Length: *\d+", b"Content-Length: abc", inv)'
pm "$tmp/out" "$tmp/err" parse "$tmp/badcl.sip"
invalid_ok "Content-Length: abc is refused"
pm "$tmp/out" "$tmp/err" print "$tmp/badcl.sip"
invalid_ok "print refuses Content-Length: abc"
pm "$tmp/out" "$tmp/err" parse --stream "$tmp/badcl.sip"
invalid_ok "parse --stream refuses Content-Length: abc"

mkmsg "$tmp/negcl.sip" 're.sub(rb"Content-Length: *\d+", b"Content-Length: -1", inv)'
pm "$tmp/out" "$tmp/err" parse "$tmp/negcl.sip"
invalid_ok "Content-Length: -1 is refused"

mkmsg "$tmp/longcl.sip" 're.sub(rb"Content-Length: *\d+", b"Content-Length: 9999", inv)'
pm "$tmp/out" "$tmp/err" parse "$tmp/longcl.sip"
invalid_ok "datagram shorter than its Content-Length is refused"

mkmsg "$tmp/nocl.sip" 're.sub(rb"Content-Length: *\d+\r\n", b"", inv)'
pm "$tmp/out" "$tmp/err" parse "$tmp/nocl.sip"
check "datagram without Content-Length parses" [ "$rc" -eq 0 ]
pm "$tmp/out" "$tmp/err" parse --stream "$tmp/nocl.sip"
invalid_ok "stream message without Content-Length is refused"

mkmsg "$tmp/cut.sip" 'inv[:len(inv) // 2]'
pm "$tmp/out" "$tmp/err" parse --stream "$tmp/cut.sip"
invalid_ok "parse --stream of half a message is refused"

mkmsg "$tmp/empty.sip" 'b""'
pm "$tmp/out" "$tmp/err" parse "$tmp/empty.sip"
invalid_ok "empty input is refused"
mkmsg "$tmp/garbage.sip" 'b"hello world\r\n\r\n"'
pm "$tmp/out" "$tmp/err" parse "$tmp/garbage.sip"
invalid_ok "garbage start line is refused"
mkmsg "$tmp/badhdr.sip" 'inv.replace(b"\r\nSubject:", b"\r\nSubject no colon\r\nSubject:", 1)'
pm "$tmp/out" "$tmp/err" parse "$tmp/badhdr.sip"
invalid_ok "header line without a colon is refused"

# ---------------------------------------------------------------- odd bytes

mkmsg "$tmp/utf8.sip" 'inv.replace(b"Subject: Lunch?", "Subject: Caf\u00e9 \u2615".encode())'
pm "$tmp/out" "$tmp/err" parse "$tmp/utf8.sip"
if [ "$rc" -eq 0 ] && json_true "$tmp/out" \
    '[h["value"] for h in m["headers"] if h["name"] == "Subject"] == ["Caf\u00e9 \u2615"]'; then
    ok "UTF-8 header value comes through as UTF-8"
else
    bad "UTF-8 header value: exit $rc"
fi

mkmsg "$tmp/latin1.sip" 'inv.replace(b"Subject: Lunch?", b"Subject: caf\xe9 \xff\xfe")'
pm "$tmp/out" "$tmp/err" parse "$tmp/latin1.sip"
if [ "$rc" -eq 0 ]; then
    check "non-UTF-8 header value: valid JSON with \\xHH escapes" json_true "$tmp/out" \
        '[h["value"] for h in m["headers"] if h["name"] == "Subject"] == ["caf\\xE9 \\xFF\\xFE"]'
elif [ "$rc" -eq 1 ]; then
    invalid_ok "non-UTF-8 header value refused"
else
    bad "non-UTF-8 header value: exit $rc"
fi

mkmsg "$tmp/nul.sip" 'inv.replace(b"Subject: Lunch?", b"Subject: a\x00b\x01c")'
pm "$tmp/out" "$tmp/err" parse "$tmp/nul.sip"
if [ "$rc" -eq 0 ]; then
    check "NUL in a header value: valid JSON" valid_json "$tmp/out"
elif [ "$rc" -eq 1 ]; then
    invalid_ok "NUL in a header value refused"
else
    bad "NUL in a header value: exit $rc"
fi

mkmsg "$tmp/binbody.sip" 're.sub(rb"Content-Length: *\d+", b"Content-Length: 6", re.sub(rb"\r\n\r\n.*", b"\r\n\r\n\x00\xff\x80\r\n\x01", inv, flags=re.S))'
pm "$tmp/out" "$tmp/err" parse "$tmp/binbody.sip"
check "binary body parses (exit $rc)" [ "$rc" -eq 0 ]
check "binary body: body_length 6" json_true "$tmp/out" 'm["body_length"] == 6'
pm "$tmp/out" "$tmp/err" print "$tmp/binbody.sip"
check "binary body: print byte for byte" cmp "$tmp/out" "$tmp/binbody.sip"

# ---------------------------------------------------------------- reply

pm "$tmp/resp.sip" "$tmp/err" reply 486 "$INVITE"
check "reply 486 exits 0" [ "$rc" -eq 0 ]
check "reply 486: status line SIP/2.0 486 Busy Here" \
    [ "$(head -n 1 "$tmp/resp.sip")" = $'SIP/2.0 486 Busy Here\r' ]
pm "$tmp/resp.json" "$tmp/err" parse "$tmp/resp.sip"
check "reply 486: the response parses" [ "$rc" -eq 0 ]
if valid_json "$tmp/resp.json"; then
    check "reply 486: kind response, status 486" \
        json_true "$tmp/resp.json" 'm["kind"] == "response" and m["status"] == 486 and m["reason"] == "Busy Here"'
    check "reply 486: same Call-ID" \
        json_true "$tmp/resp.json" "m['call_id'] == '$want_callid'"
    check "reply 486: To has a tag" \
        json_true "$tmp/resp.json" 'isinstance(m["to"]["tag"], str) and len(m["to"]["tag"]) > 0'
    check "reply 486: same From tag, CSeq and Via values" python3 -c 'import json, sys
q = json.load(open(sys.argv[1])); r = json.load(open(sys.argv[2]))
sys.exit(0 if q["from"]["tag"] == r["from"]["tag"] and q["cseq"] == r["cseq"]
         and [v["branch"] for v in q["via"]] == [v["branch"] for v in r["via"]]
         and [v["host"] for v in q["via"]] == [v["host"] for v in r["via"]] else 1)' \
        "$tmp/invite.json" "$tmp/resp.json"
    check "reply 486: Content-Length 0 and check ok" \
        json_true "$tmp/resp.json" 'm["content_length"] == 0 and m["body_length"] == 0 and m["check"]["ok"]'
else
    bad "reply 486: the response parses as valid JSON"
fi

pm "$tmp/out" "$tmp/err" reply 180 "$INVITE" --tag abc123.x
pm "$tmp/out.json" "$tmp/err" parse "$tmp/out"
check "reply 180 --tag abc123.x sets the To tag" \
    json_true "$tmp/out.json" 'm["status"] == 180 and m["to"]["tag"] == "abc123.x"'
pm "$tmp/out" "$tmp/err" reply 486 --reason "Not Now, Thanks" "$INVITE"
check "reply --reason TEXT" [ "$(head -n 1 "$tmp/out")" = $'SIP/2.0 486 Not Now, Thanks\r' ]
pm "$tmp/out" "$tmp/err" reply --reason=Later 600 "$INVITE"
check "reply --reason=TEXT, options first" [ "$(head -n 1 "$tmp/out")" = $'SIP/2.0 600 Later\r' ]
pm_in "$INVITE" "$tmp/out" "$tmp/err" reply 200
check "reply reads stdin" [ "$(head -n 1 "$tmp/out")" = $'SIP/2.0 200 OK\r' ]

for code in 99 700 abc 0486 4860 ''; do
    pm "$tmp/out" "$tmp/err" reply "$code" "$INVITE"
    usage_ok "reply '$code' is a usage error"
done
pm "$tmp/out" "$tmp/err" reply
usage_ok "reply without CODE is a usage error"
pm "$tmp/out" "$tmp/err" reply 486 "$tmp/resp.sip"
usage_ok "reply to a response is a usage error"
pm "$tmp/out" "$tmp/err" reply 486 --tag 'a b' "$INVITE"
usage_ok "reply --tag with a space is a usage error"
pm "$tmp/out" "$tmp/err" reply 486 --reason $'a\r\nX-Injected: 1' "$INVITE"
usage_ok "reply --reason with CRLF is a usage error"
pm "$tmp/out" "$tmp/err" reply 486 "$INVITE" --tag
usage_ok "reply --tag without a value is a usage error"
pm "$tmp/out" "$tmp/err" reply 486 "$tmp/badcl.sip"
invalid_ok "reply to an invalid message exits 1"

# ---------------------------------------------------------------- usage

pm "$tmp/out" "$tmp/err"
usage_ok "no arguments is a usage error"
pm "$tmp/out" "$tmp/err" --bogus
usage_ok "unknown program option"
pm "$tmp/out" "$tmp/err" frobnicate
usage_ok "unknown command"
pm "$tmp/out" "$tmp/err" parse --bogus "$INVITE"
usage_ok "unknown parse option"
pm "$tmp/out" "$tmp/err" print --tag x "$INVITE"
usage_ok "reply's option given to print"
pm "$tmp/out" "$tmp/err" parse "$INVITE" "$INVITE"
usage_ok "two files"
pm "$tmp/out" "$tmp/err" parse "$tmp/does-not-exist.sip"
usage_ok "missing file"
pm "$tmp/out" "$tmp/err" parse "$tmp"
usage_ok "a directory as FILE"

# help_ok PATTERN...: the last run exited 0 with every (ERE) PATTERN on stdout.
help_ok() {
    [ "$rc" -eq 0 ] || return 1
    local pat
    for pat in "$@"; do
        grep -Eq -- "$pat" "$tmp/out" || return 1
    done
}

pm "$tmp/out" "$tmp/err" --help
check "--help exits 0 and documents the exit codes" \
    help_ok "Exit status" "0 +success" "1 +invalid message" "2 +usage or I/O error"
pm "$tmp/out" "$tmp/err" -h
check "-h exits 0" help_ok "Usage: parley-msg"
for cmd in parse print reply; do
    pm "$tmp/out" "$tmp/err" "$cmd" --help
    check "$cmd --help" help_ok "Usage: parley-msg $cmd" "Exit status"
done
pm "$tmp/out" "$tmp/err" parse -h
check "parse -h" help_ok "Usage: parley-msg parse"
pm "$tmp/out" "$tmp/err" help reply
check "help reply" help_ok "Usage: parley-msg reply"
pm "$tmp/out" "$tmp/err" --version
check "--version" help_ok "^parley-msg [0-9]"

# ---------------------------------------------------------------- RFC 4475

shopt -s nullglob
dats=("$RFC4475"/*.dat)
shopt -u nullglob
check "RFC 4475 messages present" [ "${#dats[@]}" -gt 0 ]

parsed=()
refused=()
for f in "${dats[@]}"; do
    name=rfc4475/$(basename "$f")
    for mode in dgram stream; do
        opt=()
        [ "$mode" = stream ] && opt=(--stream)
        pm "$tmp/out" "$tmp/err" parse "${opt[@]}" "$f"
        case $rc in
        0)
            if valid_json "$tmp/out" && [ ! -s "$tmp/err" ]; then
                ok "$name parse ($mode): parsed, valid JSON"
            else
                bad "$name parse ($mode): exit 0 but invalid JSON or stderr output"
            fi
            ;;
        1)
            if [ ! -s "$tmp/out" ] && error_line "$tmp/err"; then
                ok "$name parse ($mode): refused ($(cat "$tmp/err"))"
            else
                bad "$name parse ($mode): exit 1 but stdout $(wc -c <"$tmp/out") bytes, stderr: $(head -c 300 "$tmp/err")"
            fi
            ;;
        *)
            bad "$name parse ($mode): exit $rc (crash, signal or timeout): $(head -c 300 "$tmp/err")"
            ;;
        esac
        [ "$mode" = dgram ] || continue
        if [ "$rc" -eq 0 ]; then
            parsed+=("$(basename "$f") $(python3 -c 'import json, sys
c = json.load(open(sys.argv[1]))["check"]
print("check ok" if c["ok"] else "check %s %s" % (c["code"], c["reason"]))' "$tmp/out")")
            cp "$tmp/out" "$tmp/first.json"
            # print gives a byte range of the input that parses to the same JSON.
            pm "$tmp/printed" "$tmp/err" print "$f"
            if [ "$rc" -eq 0 ] && python3 -c 'import sys
sys.exit(0 if open(sys.argv[1], "rb").read() in open(sys.argv[2], "rb").read() else 1)' \
                "$tmp/printed" "$f"; then
                pm "$tmp/again.json" "$tmp/err" parse "$tmp/printed"
                if [ "$rc" -eq 0 ] && cmp -s "$tmp/again.json" "$tmp/first.json"; then
                    ok "$name print: byte range of the input, re-parses the same"
                else
                    bad "$name print: the printed message re-parses differently (exit $rc)"
                fi
            else
                bad "$name print: exit $rc or output not a byte range of the input"
            fi
        else
            refused+=("$(basename "$f") $(cat "$tmp/err")")
        fi
    done
done

echo
echo "RFC 4475 messages parsed (${#parsed[@]}):"
for p in "${parsed[@]+"${parsed[@]}"}"; do echo "  $p"; done
echo "RFC 4475 messages refused (${#refused[@]}):"
for r in "${refused[@]+"${refused[@]}"}"; do echo "  $r"; done
echo

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
