#!/usr/bin/python3
"""ari_proxy.py: Pebble 2.4 (Debian 12's) offers neither renewalInfo
(RFC 9773) nor meta.caaIdentities (RFC 8555 7.1.1). This HTTPS server
stands in front of Pebble for the directory only: it serves Pebble's own
directory with both added, and answers renewalInfo itself. Every other URL
in the directory still points at Pebble, so accounts, orders, challenges
and certificates are Pebble's, unchanged.

renewalInfo answers (the only scripted part):
  - the first certificate asked about gets a window that has already
    begun (renew now); with --stop-pid, that process (Pebble) is sent
    SIGSTOP first, so the renewal it triggers meets a stopped CA
  - every other certificate gets a window a year away
Each request's certificate identifier is appended to --log.
"""
import argparse
import datetime
import json
import os
import signal
import ssl
import sys
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def rfc3339(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--pebble", required=True, help="Pebble's directory URL")
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--cafile", required=True, help="Pebble's TLS root")
    ap.add_argument("--identity", required=True, help="meta.caaIdentities[0]")
    ap.add_argument("--log", required=True)
    ap.add_argument("--stop-pid", type=int, default=0)
    a = ap.parse_args()

    upstream_ctx = ssl.create_default_context(cafile=a.cafile)
    state = {"first": None}
    base = "https://127.0.0.1:%d" % a.port

    class H(BaseHTTPRequestHandler):
        def log_message(self, fmt, *args):
            sys.stderr.write("ari_proxy: " + (fmt % args) + "\n")

        def send(self, code, body, extra=()):
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in extra:
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            if self.path == "/dir":
                with urllib.request.urlopen(a.pebble, context=upstream_ctx,
                                            timeout=10) as r:
                    d = json.load(r)
                d["renewalInfo"] = base + "/renewal-info"
                d.setdefault("meta", {})["caaIdentities"] = [a.identity]
                self.send(200, d)
                return
            if self.path.startswith("/renewal-info/"):
                cid = self.path[len("/renewal-info/"):]
                with open(a.log, "a") as f:
                    f.write(cid + "\n")
                now = datetime.datetime.now(datetime.timezone.utc)
                if state["first"] in (None, cid):
                    state["first"] = cid
                    if a.stop_pid:
                        os.kill(a.stop_pid, signal.SIGSTOP)
                        a.stop_pid = 0
                    start = now - datetime.timedelta(seconds=60)
                    end = now - datetime.timedelta(seconds=30)
                else:
                    start = now + datetime.timedelta(days=365)
                    end = start + datetime.timedelta(days=1)
                self.send(200, {"suggestedWindow": {"start": rfc3339(start),
                                                    "end": rfc3339(end)},
                                "explanationURL": base + "/why"},
                          [("Retry-After", "3600")])
                return
            self.send(404, {"type": "urn:ietf:params:acme:error:malformed",
                            "detail": "not here"})

    srv = ThreadingHTTPServer(("127.0.0.1", a.port), H)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(a.cert, a.key)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    print("ari_proxy: listening on %d" % a.port, flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
