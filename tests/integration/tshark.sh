#!/usr/bin/env bash
# tests/integration/tshark.sh - interoperability with Wireshark's SIP dissector.
#
# Run by ctest with PARLEY_SRC (the source tree) and PARLEY_BIN (the built
# programs) set; by hand: PARLEY_BIN=build/bin bash tests/integration/tshark.sh
#
# parley-msg produces the messages: the printed form of valid messages
# (examples/invite.sip and every RFC 4475 message whose verdict is "parse")
# and the responses Parley builds (100, 180, 200, 486) for each request. A
# python3 script (standard library only) wraps each one in an
# Ethernet/IPv4/UDP frame (5060 -> 5060, UDP checksum 0) of a pcap file, and
# tshark reads it back:
#   - every frame must be dissected as SIP, with the expected method or
#     status code (taken from tests/data/rfc4475/expected.tsv and from the
#     code asked for, not from Parley's output);
#   - no frame may be flagged by '_ws.malformed || _ws.expert.severity >= warning'.
# Negative controls in the same capture prove that the checks can fail: a
# message truncated inside its header section must be flagged, and a
# payload that is not SIP must not be dissected as SIP.
# Ends with "N passed, M failed"; exits non-zero on any failure.
set -euo pipefail

PARLEY_SRC=${PARLEY_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
PARLEY_BIN=${PARLEY_BIN:-$PARLEY_SRC/build/bin}
BIN=$PARLEY_BIN/parley-msg
INVITE=$PARLEY_SRC/examples/invite.sip
RFC4475=$PARLEY_SRC/tests/data/rfc4475
RUN_TIMEOUT=${RUN_TIMEOUT:-120}

die() {
    echo "tshark.sh: $*" >&2
    echo "0 passed, 1 failed"
    exit 1
}

[ -x "$BIN" ] || die "$BIN is not built"
[ -f "$INVITE" ] || die "$INVITE is missing"
[ -f "$RFC4475/expected.tsv" ] || die "$RFC4475/expected.tsv is missing"
command -v tshark >/dev/null 2>&1 || die "tshark is not installed (apt-get install tshark)"
command -v python3 >/dev/null 2>&1 || die "python3 is not installed"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/parley-tshark.XXXXXX")
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

# tshark prints a warning when run as root; only its stdout is used here.
ts() {
    timeout "$RUN_TIMEOUT" tshark "$@" 2>"$tmp/tshark.err"
}

# ------------------------------------------------------------ field names
# The display filter and the fields below must exist in this tshark.
ts -G fields >"$tmp/fields" || die "tshark -G fields failed: $(head -c 300 "$tmp/tshark.err")"
for f in _ws.malformed _ws.expert.message _ws.expert.severity sip.Method sip.Status-Code; do
    if awk -F'\t' -v f="$f" '$3 == f { found = 1 } END { exit !found }' "$tmp/fields"; then
        ok "tshark knows the field $f"
    else
        bad "tshark has no field $f"
    fi
done

# ------------------------------------------------------------ the messages
# manifest: one line per frame, in capture order:
#   kind<TAB>label<TAB>expect<TAB>file<TAB>request_label
# kind: orig (a valid message printed by Parley), reply (a response Parley
# built), control-flag (must be flagged), control-nosip (must not be SIP).
# expect: the method or status tshark must show ("-" for controls).
manifest=$tmp/manifest
: >"$manifest"

# Valid messages: examples/invite.sip and every "parse" row of expected.tsv
# (kind request/response and the method or status as written).
inputs=$tmp/inputs
printf 'invite.sip\t%s\trequest\tINVITE\n' "$INVITE" >"$inputs"
awk -F'\t' -v dir="$RFC4475" '!/^#/ && $2 == "parse" { print $1 "\t" dir "/" $1 "\t" $4 "\t" $5 }' \
    "$RFC4475/expected.tsv" >>"$inputs"
n_inputs=$(wc -l <"$inputs")
if [ "$n_inputs" -ge 20 ]; then
    ok "$n_inputs valid input messages"
else
    bad "only $n_inputs valid input messages"
fi

codes="100 180 200 486"
while IFS=$'\t' read -r label path kind expect; do
    out=$tmp/orig-${label%.*}.sip
    if ! timeout "$RUN_TIMEOUT" "$BIN" print "$path" >"$out" 2>"$tmp/err"; then
        bad "parley-msg print $label: $(head -c 200 "$tmp/err")"
        continue
    fi
    printf 'orig\t%s\t%s\t%s\t-\n' "$label" "$expect" "$out" >>"$manifest"
    [ "$kind" = request ] || continue
    for code in $codes; do
        rout=$tmp/reply-${label%.*}-$code.sip
        if ! timeout "$RUN_TIMEOUT" "$BIN" reply "$code" "$path" >"$rout" 2>"$tmp/err"; then
            bad "parley-msg reply $code $label: $(head -c 200 "$tmp/err")"
            continue
        fi
        printf 'reply\t%s\t%s\t%s\t%s\n' "$label/$code" "$code" "$rout" "$label" >>"$manifest"
    done
done <"$inputs"

# Replies with a custom reason phrase and a given tag.
rout=$tmp/reply-custom.sip
if timeout "$RUN_TIMEOUT" "$BIN" reply 486 "$INVITE" --reason "Busy Here, Call Later" --tag t0123 \
    >"$rout" 2>"$tmp/err"; then
    printf 'reply\t%s\t%s\t%s\t%s\n' "invite.sip/486-custom" 486 "$rout" invite.sip >>"$manifest"
else
    bad "parley-msg reply 486 --reason --tag: $(head -c 200 "$tmp/err")"
fi

# Negative controls.
# the printed invite.sip cut inside its header section
[ -s "$tmp/orig-invite.sip" ] || die "examples/invite.sip was not printed"
head -c 300 "$tmp/orig-invite.sip" >"$tmp/control-truncated.sip"
printf 'control-flag\ttruncated-invite\t-\t%s\t-\n' "$tmp/control-truncated.sip" >>"$manifest"
printf 'HELLO WORLD, this is not SIP\r\n\r\n' >"$tmp/control-notsip.sip"
printf 'control-nosip\tnot-sip\t-\t%s\t-\n' "$tmp/control-notsip.sip" >>"$manifest"

n_frames=$(wc -l <"$manifest")
n_replies=$(awk -F'\t' '$1 == "reply"' "$manifest" | wc -l)
echo "capture: $n_frames frames ($n_replies replies)"

# ------------------------------------------------------------ the capture
pcap=$tmp/parley.pcap
if python3 - "$manifest" "$pcap" <<'PY'; then
import struct
import sys

manifest, out = sys.argv[1], sys.argv[2]
files = [line.rstrip("\n").split("\t")[3] for line in open(manifest, encoding="utf-8")]


def ip_checksum(header):
    s = sum(struct.unpack("!%dH" % (len(header) // 2), header))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


with open(out, "wb") as f:
    # pcap global header: magic, version 2.4, thiszone, sigfigs, snaplen, LINKTYPE_ETHERNET
    f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
    for i, path in enumerate(files):
        payload = open(path, "rb").read()
        udp_len = 8 + len(payload)
        ip_len = 20 + udp_len
        if ip_len > 65535:
            sys.exit("%s: too large for one IPv4 datagram" % path)
        # UDP: 5060 -> 5060, checksum 0 (none, allowed over IPv4)
        udp = struct.pack("!HHHH", 5060, 5060, udp_len, 0) + payload
        # IPv4: version 4, IHL 5, total length, id, DF, TTL 64, UDP, checksum
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, ip_len, (i + 1) & 0xFFFF, 0x4000, 64, 17, 0,
                         bytes([192, 0, 2, 1]), bytes([192, 0, 2, 2]))
        ip = ip[:10] + struct.pack("!H", ip_checksum(ip)) + ip[12:]
        # Ethernet II: destination, source (documentation MACs), IPv4
        eth = bytes.fromhex("00005e005302") + bytes.fromhex("00005e005301") + struct.pack("!H", 0x0800)
        frame = eth + ip + udp
        f.write(struct.pack("<IIII", 1700000000 + i, 0, len(frame), len(frame)))
        f.write(frame)
PY
    ok "pcap written ($n_frames frames)"
else
    die "the pcap writer failed"
fi

# tshark reads the whole capture: every frame, and no read error.
if ts -r "$pcap" -T fields -e frame.number >"$tmp/all" && [ "$(wc -l <"$tmp/all")" -eq "$n_frames" ]; then
    ok "tshark reads all $n_frames frames"
else
    bad "tshark read $(wc -l <"$tmp/all" 2>/dev/null || echo 0) of $n_frames frames: $(head -c 300 "$tmp/tshark.err")"
fi

# ------------------------------------------------------------ dissection
# Fields are separated by '|' (a tab would be IFS whitespace to read, and
# empty fields - no method in a response - would collapse).
# frame number, method, status code of every frame dissected as SIP
ts -r "$pcap" -Y sip -T fields -E separator='|' -E occurrence=f \
    -e frame.number -e sip.Method -e sip.Status-Code -e _ws.expert.message >"$tmp/sip" ||
    bad "tshark -Y sip failed: $(head -c 300 "$tmp/tshark.err")"
# frames flagged malformed or with an expert warning or error, with every
# expert message of the frame and its severity (in the same order)
ts -r "$pcap" -Y '_ws.malformed || _ws.expert.severity >= warning' -T fields -E separator='|' \
    -E occurrence=a -E aggregator=';' -e frame.number -e _ws.expert.severity -e _ws.expert.message \
    >"$tmp/flagged" || bad "tshark malformed query failed: $(head -c 300 "$tmp/tshark.err")"

declare -A sip_method sip_status flagged
while IFS='|' read -r fr method status _; do
    sip_method[$fr]=$method
    sip_status[$fr]=$status
done <"$tmp/sip"
# Keep the messages of severity warning (0x600000) and above.
while IFS='|' read -r fr sevs msgs; do
    IFS=';' read -r -a sev_a <<<"$sevs"
    IFS=';' read -r -a msg_a <<<"$msgs"
    kept=""
    for i in "${!sev_a[@]}"; do
        if [ "${sev_a[$i]}" -ge 6291456 ] 2>/dev/null; then
            kept=${kept:+$kept;}${msg_a[$i]:-?}
        fi
    done
    flagged[$fr]=${kept:-"(malformed)"}
done <"$tmp/flagged"

# RFC 4475 messages that are valid but that tshark 4.0 flags anyway. Each is
# excluded from the "not flagged" check only with exactly the expert message
# named here; any other complaint still fails.
#   mpart01: the multipart body's second part is binary (an S/MIME
#     signature); tshark reports "Trailing stray characters" (Warning/
#     Undecoded) on the message header. The same message without the
#     binary part is not flagged. RFC 4475 3.1.1.11: valid.
#   intmeth: the To display name holds quoted-pairs escaping BEL, NUL and DEL
#     ("BEL:\<07> NUL:\<00> DEL:\<7f>"), legal by RFC 3261's quoted-pair;
#     tshark's display-name parser stops at the NUL and reports "Trailing
#     stray characters" (Warning/Undecoded) on "SIP to display info" and on
#     the message header (three times in all with tshark 4.0). RFC 4475
#     3.1.1.2: valid. The responses to it copy that To (see below).
declare -A tshark_known=(
    [mpart01.dat]="Trailing stray characters"
    [intmeth.dat]="Trailing stray characters"
)

# Only expert messages in the allowed set (a ';'-separated list of messages
# that are all equal to the allowed one).
only_known() {
    local msgs=$1 allowed=$2 m
    local IFS=';'
    for m in $msgs; do
        [ "$m" = "$allowed" ] || return 1
    done
    return 0
}

count_msgs() {
    local IFS=';'
    local -a a
    read -r -a a <<<"$1"
    echo "${#a[@]}"
}

frame=0
declare -A orig_frame
while IFS=$'\t' read -r kind label expect _file req; do
    frame=$((frame + 1))
    case $kind in
    orig | reply)
        if [ -z "${sip_method[$frame]+x}" ]; then
            bad "frame $frame ($kind $label) is not dissected as SIP"
        elif [[ $expect =~ ^[0-9]+$ ]]; then
            if [ "${sip_status[$frame]}" = "$expect" ] && [ -z "${sip_method[$frame]}" ]; then
                ok "frame $frame ($kind $label) is a SIP $expect response"
            else
                bad "frame $frame ($kind $label): tshark shows method '${sip_method[$frame]}' status '${sip_status[$frame]}', want status $expect"
            fi
        else
            if [ "${sip_method[$frame]}" = "$expect" ]; then
                ok "frame $frame ($kind $label) is a SIP $expect request"
            else
                bad "frame $frame ($kind $label): tshark shows method '${sip_method[$frame]}', want '$expect'"
            fi
        fi
        ;;
    esac
    case $kind in
    orig)
        orig_frame[$label]=$frame
        if [ -z "${flagged[$frame]+x}" ]; then
            ok "frame $frame ($label) not flagged"
        elif [ -n "${tshark_known[$label]+x}" ] && only_known "${flagged[$frame]}" "${tshark_known[$label]}"; then
            ok "frame $frame ($label) flagged as documented for tshark: ${flagged[$frame]}"
        else
            bad "frame $frame ($label) flagged by tshark: ${flagged[$frame]}"
        fi
        ;;
    reply)
        # Parley's own output is never excused. A reply copies Via, From,
        # To, Call-ID and CSeq from the request byte for byte (RFC 3261
        # 8.2.6.2), so the one thing tolerated is a complaint tshark already
        # makes about the request itself (intmeth's To and From display
        # names): the same documented message, no more often than on the
        # request's own frame, and never "malformed".
        rf=${orig_frame[$req]:-0}
        if [ -z "${flagged[$frame]+x}" ]; then
            ok "frame $frame (reply $label) not flagged"
        elif [ -n "${tshark_known[$req]+x}" ] && [ -n "${flagged[$rf]+x}" ] &&
            only_known "${flagged[$frame]}" "${tshark_known[$req]}" &&
            [ "$(count_msgs "${flagged[$frame]}")" -le "$(count_msgs "${flagged[$rf]}")" ]; then
            ok "frame $frame (reply $label) flagged only as its request (frame $rf) is: ${flagged[$frame]}"
        else
            bad "frame $frame (reply $label) flagged by tshark: ${flagged[$frame]}"
        fi
        ;;
    control-flag)
        if [ -n "${flagged[$frame]+x}" ]; then
            ok "negative control: frame $frame ($label) is flagged (${flagged[$frame]})"
        else
            bad "negative control: frame $frame ($label) is not flagged: the check cannot fail"
        fi
        ;;
    control-nosip)
        if [ -z "${sip_method[$frame]+x}" ]; then
            ok "negative control: frame $frame ($label) is not dissected as SIP"
        else
            bad "negative control: frame $frame ($label) is dissected as SIP: the check cannot fail"
        fi
        ;;
    esac
done <"$manifest"

# Every reply's request was itself in the capture and dissected.
if [ "$n_replies" -ge 4 ]; then
    ok "$n_replies replies checked"
else
    bad "only $n_replies replies"
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
