#!/usr/bin/env python3
"""baresip_ctl.py - drive baresip instances through their ctrl_tcp module
(tests/integration/parleyd_baresip.sh).

    baresip_ctl.py NAME=PORT... -- STEP...

Connects to each instance's ctrl_tcp port (netstring-framed JSON: a command
is {"command", "params", "token"}, baresip answers {"response", "ok",
"data", "token"} and reports events {"event", "class", "type", ...}) and
runs the steps in order:

    NAME:COMMAND[:PARAMS]   send a command (dial, hangup, accept, ...);
                            its response must say ok
    wait:NAME:TYPE          wait (bounded, TIMEOUT seconds) for an event of
                            TYPE from NAME (CALL_ESTABLISHED, CALL_CLOSED...)

Every event and response is printed as "NAME event TYPE ..." or
"NAME response ok|failed DATA", and each step as "step ok: STEP" or
"step FAIL: STEP"; the exit status is 0 only when every step passed (a
failed step ends the run). Only the standard library is used.
"""
import json
import os
import select
import socket
import sys
import time

TIMEOUT = float(os.environ.get("BARESIP_CTL_TIMEOUT", "10"))


class Ctl:
    def __init__(self, name, port):
        self.name = name
        self.s = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.buf = b""
        self.events = []  # not yet consumed by a wait step
        self.responses = []
        self.token = 0

    def send(self, command, params):
        self.token += 1
        tok = "%s-%d" % (self.name, self.token)
        body = json.dumps({"command": command, "params": params, "token": tok}).encode()
        self.s.sendall(b"%d:%s," % (len(body), body))
        return tok

    def pump(self, timeout):
        r, _, _ = select.select([self.s], [], [], max(0.0, timeout))
        if not r:
            return
        data = self.s.recv(65536)
        if not data:
            raise EOFError("%s: ctrl_tcp connection closed" % self.name)
        self.buf += data
        while True:
            colon = self.buf.find(b":")
            if colon < 0 or not self.buf[:colon].isdigit():
                return
            n = int(self.buf[:colon])
            if len(self.buf) < colon + 1 + n + 1:
                return
            msg = json.loads(self.buf[colon + 1 : colon + 1 + n])
            self.buf = self.buf[colon + 1 + n + 1 :]
            if msg.get("event"):
                print("%s event %s %s" % (self.name, msg.get("type"), msg.get("param", "")), flush=True)
                self.events.append(msg)
            elif msg.get("response"):
                print(
                    "%s response %s %s"
                    % (self.name, "ok" if msg.get("ok") else "failed", msg.get("data", "")),
                    flush=True,
                )
                self.responses.append(msg)


def pump_all(ctls, timeout):
    r, _, _ = select.select([c.s for c in ctls.values()], [], [], max(0.0, timeout))
    for c in ctls.values():
        if c.s in r:
            c.pump(0)


def main():
    args = sys.argv[1:]
    sep = args.index("--")
    ctls = {}
    for a in args[:sep]:
        name, port = a.split("=", 1)
        ctls[name] = Ctl(name, int(port))
    for step in args[sep + 1 :]:
        deadline = time.monotonic() + TIMEOUT
        passed = False
        parts = step.split(":", 2)
        if parts[0] == "wait":
            c = ctls[parts[1]]
            while time.monotonic() < deadline:
                hit = next((e for e in c.events if e.get("type") == parts[2]), None)
                if hit:
                    c.events = c.events[c.events.index(hit) + 1 :]
                    passed = True
                    break
                pump_all(ctls, deadline - time.monotonic())
        else:
            c = ctls[parts[0]]
            tok = c.send(parts[1], parts[2] if len(parts) > 2 else "")
            while time.monotonic() < deadline:
                hit = next((r for r in c.responses if r.get("token") == tok), None)
                if hit:
                    passed = bool(hit.get("ok"))
                    break
                pump_all(ctls, deadline - time.monotonic())
        print("step %s: %s" % ("ok" if passed else "FAIL", step), flush=True)
        if not passed:
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
