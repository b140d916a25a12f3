#!/usr/bin/python3
"""logcheck.py: the log collector side of tests/e2e/55-logs.sh.

  collect SOCKET OUT     a collector: accepts on unix:SOCKET (one stream at a
                         time), appends what it reads to OUT; "ready" on
                         stdout once it listens
  check FILE [HEX]       reads every line of FILE as JSON (log.format =
                         "json") and prints facts, one per line, for the
                         shell to check; HEX: the raw bytes of a hostile SNI
                         whose logged form is checked
  flood HOST PORT N      N connections that each send a line of plain text
                         to a TLS port (failed handshakes: log lines)
"""
import json
import os
import re
import signal
import socket
import sys
import time

TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
ACCESS_KEYS = ["ts", "level", "conn", "msg", "client", "listener", "sni",
               "alpn", "tls_version", "cipher", "attestation", "acme_cert",
               "duration_ms", "handshake_ms", "bytes_in", "bytes_out",
               "close", "detail"]


def collect(path, out):
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    s.listen(8)
    print("ready", flush=True)
    with open(out, "ab", buffering=0) as f:
        while True:
            c, _ = s.accept()
            while True:
                b = c.recv(65536)
                if not b:
                    break
                f.write(b)
            c.close()


def escape(raw):
    """nacre_escape: what a peer's string looks like in a line"""
    o = ""
    for c in raw:
        if 0x20 <= c < 0x7f:
            o += "\\" + chr(c) if c in (0x22, 0x5c) else chr(c)
        else:
            o += "\\x%02x" % c
    return o


def check(path, hostile_hex=None):
    want_sni = escape(bytes.fromhex(hostile_hex)) if hostile_hex else None
    n = bad_json = bad_ts = bad_keys = bad_ascii = 0
    access = []
    dropped = 0
    hostile_seen = False
    with open(path, "rb") as f:
        data = f.read()
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    for raw in lines:
        n += 1
        if any(c < 0x20 or c > 0x7e for c in raw):
            bad_ascii += 1
        try:
            j = json.loads(raw.decode("utf-8"))
        except Exception as e:  # noqa: BLE001 - any failure is a bad line
            bad_json += 1
            print("# not JSON (%s): %r" % (e, raw[:160]))
            continue
        if not isinstance(j, dict) or not TS.match(str(j.get("ts", ""))):
            bad_ts += 1
            continue
        keys = list(j)
        if keys[:2] != ["ts", "level"] or "msg" not in j or \
                j["level"] not in ("error", "warn", "info", "debug") or \
                ("conn" in j and (keys[2] != "conn" or
                                  not isinstance(j["conn"], int))):
            bad_keys += 1
            print("# keys: %r" % keys)
            continue
        if j["msg"] == "access":
            if keys != ACCESS_KEYS:
                bad_keys += 1
                print("# access keys: %r" % keys)
                continue
            access.append(j)
            if want_sni is not None and j["sni"] == want_sni:
                hostile_seen = True
        if "dropped" in j:
            dropped += j["dropped"]
    print("lines %d" % n)
    print("bad_json %d" % bad_json)
    print("bad_ts %d" % bad_ts)
    print("bad_keys %d" % bad_keys)
    print("bad_ascii %d" % bad_ascii)
    print("access %d" % len(access))
    print("dropped %d" % dropped)
    if want_sni is not None:
        print("hostile_sni %s" % ("yes" if hostile_seen else "no"))
    for j in access:
        # one line per access line, space-separated key=value, strings as JSON
        print("access " + " ".join(
            "%s=%s" % (k, json.dumps(j[k])) for k in ACCESS_KEYS[4:]))


def flood(host, port, count):
    t0 = time.monotonic()
    for _ in range(count):
        try:
            s = socket.create_connection((host, port), timeout=5)
            s.sendall(b"GET / HTTP/1.0\r\n\r\n")
            while s.recv(4096):
                pass
            s.close()
        except OSError:
            pass
    print("flood %d %.3f" % (count, time.monotonic() - t0))


def main():
    cmd = sys.argv[1]
    if cmd == "collect":
        collect(sys.argv[2], sys.argv[3])
    elif cmd == "check":
        check(sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else None)
    elif cmd == "flood":
        flood(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    else:
        sys.exit("usage: logcheck.py collect|check|flood ...")


if __name__ == "__main__":
    main()
