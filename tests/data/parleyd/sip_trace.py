#!/usr/bin/env python3
"""sip_trace.py - one line per message of a SIPp message trace
(-trace_msg -message_file FILE) or of a baresip SIP trace (baresip -s, its
standard output), for the parleyd interop tests to grep.

    sip_trace.py FILE [SELF PEER]

For a baresip trace, SELF is the instance's own SIP address and PEER its
proxy's (127.0.0.1:PORT each): a message to SELF or from PEER was
received, any other was sent (over TCP one side of a connection is an
ephemeral port).

Each line: DIRECTION WHAT cid=CALL-ID cseq=NUM_METHOD via=N vias=SENT-BY,...
rr=URI,... route=URI,... ruri=URI

DIRECTION is "recv" or "sent"; WHAT the method, or the status code of a
response; vias the sent-by (host:port) of each Via value, top first; rr and
route the URIs of every Record-Route and Route value in order (header
fields in order, comma-separated values split), "-" when there is none.
Only the standard library is used.
"""
import re
import sys

SEP = re.compile(r"^-{20,} \S+ \S+\n(\S+) message (received|sent)[^\n]*\n\n", re.M)
BARESIP_SEP = re.compile(r"^#\n(UDP|TCP|TLS) (\S+) -> (\S+)\n", re.M)
COMPACT = {"v": "via", "i": "call-id", "m": "contact", "l": "content-length", "t": "to", "f": "from"}


def split_values(v):
    """Comma-separated values, commas inside <> or quotes kept."""
    out, cur, depth, quoted = [], "", 0, False
    for ch in v:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch == "<":
            depth += 1
        elif not quoted and ch == ">":
            depth -= 1
        if ch == "," and depth == 0 and not quoted:
            out.append(cur.strip())
            cur = ""
        else:
            cur += ch
    if cur.strip():
        out.append(cur.strip())
    return out


def headers(msg):
    head = msg.split("\n\n", 1)[0]
    # Unfold continuation lines.
    head = re.sub(r"\n[ \t]+", " ", head)
    lines = head.split("\n")
    hs = []
    for line in lines[1:]:
        if ":" not in line:
            continue
        name, value = line.split(":", 1)
        name = name.strip().lower()
        hs.append((COMPACT.get(name, name), value.strip()))
    return lines[0].strip(), hs


def uri_of(v):
    m = re.search(r"<([^>]*)>", v)
    return m.group(1) if m else v.split(";")[0].strip()


def sipp_messages(text):
    parts = SEP.split(text)
    # parts: [before, transport, dir, body, transport, dir, body, ...]
    for i in range(1, len(parts) - 2, 3):
        yield ("recv" if parts[i + 1] == "received" else "sent"), parts[i + 2]


def baresip_messages(text, me, peer):
    text = re.sub(r"\x1b\[[0-9;]*m", "", text)  # colours
    parts = BARESIP_SEP.split(text)
    # parts: [before, transport, src, dst, body, ...]; a body ends at the
    # next trace entry or at baresip's own next log line.
    for i in range(1, len(parts) - 3, 4):
        body = parts[i + 3]
        # The message: header section, then Content-Length bytes of body.
        m = re.search(r"(?im)^content-length\s*:\s*([0-9]+)", body.split("\n\n", 1)[0])
        head, _, rest = body.partition("\n\n")
        n = int(m.group(1)) if m else 0
        received = parts[i + 2] == me or parts[i + 1] == peer
        yield ("recv" if received else "sent"), head + "\n\n" + rest[:n]


def main():
    text = open(sys.argv[1], encoding="latin-1").read().replace("\r\n", "\n")
    if len(sys.argv) > 3:
        msgs = baresip_messages(text, sys.argv[2], sys.argv[3])
    else:
        msgs = sipp_messages(text)
    for direction, body in msgs:
        body = body.lstrip("\n")
        if not body.strip():
            continue
        start, hs = headers(body)
        tok = start.split(" ")
        if tok[0].startswith("SIP/"):
            what, ruri = tok[1] if len(tok) > 1 else "?", "-"
        else:
            what, ruri = tok[0], tok[1] if len(tok) > 1 else "-"

        def values(name):
            return [x for n, v in hs if n == name for x in split_values(v)]

        vias = []
        for v in values("via"):
            m = re.match(r"SIP\s*/\s*2\.0\s*/\s*\S+\s+([^;\s]+)", v)
            vias.append(m.group(1) if m else "?")
        cid = next((v for n, v in hs if n == "call-id"), "-")
        cseq = next((v for n, v in hs if n == "cseq"), "-").replace(" ", "_")
        rr = [uri_of(v) for v in values("record-route")]
        route = [uri_of(v) for v in values("route")]
        print(
            "%s %s cid=%s cseq=%s via=%d vias=%s rr=%s route=%s ruri=%s"
            % (
                direction,
                what,
                cid,
                cseq,
                len(vias),
                ",".join(vias) or "-",
                ",".join(rr) or "-",
                ",".join(route) or "-",
                ruri,
            )
        )


if __name__ == "__main__":
    main()
