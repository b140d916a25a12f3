#!/usr/bin/python3
"""rawtls.py: a TLS 1.3 client with raw control over the records after a
real handshake, for testing what a server does with records it should refuse.

The handshake is Python's ssl module (OpenSSL) over ssl.MemoryBIO on a socket
of our own; SSLContext.keylog_filename gives the application traffic secrets
(CLIENT/SERVER_TRAFFIC_SECRET_0). From then on the ssl object is dropped and
the records are ours: HKDF-Expand-Label (RFC 8446 7.1), nonce = iv XOR seq,
additional data = the record header, inner plaintext = content || type ||
zeros (5.2-5.4), KeyUpdate both ways (4.6.3, 7.2 "traffic upd"). What the
server sends is decrypted and summed up as one outcome:

  {"alert": "bad_record_mac"|null, "alert_level": 2, "alerts": [...],
   "closed": "fin"|"rst"|"timeout"|"client-rst", "data": "<hex>",
   "server_keyupdates": N, ...}

and as a one-line summary ("alert=bad_record_mac/2 data=- closed=fin ku=0")
that two servers' answers can be compared by.

The server is expected to be an echo service behind the TLS terminator: a
case ends by sending a marker record; if the connection survived, the marker
comes back, then our close_notify ends it cleanly.

Usage:
  rawtls.py list                         the cases and what each expects
  rawtls.py one --port P --case NAME     one case, its JSON outcome
  rawtls.py matrix --path openssl=P1 --path compact=P2 [--only A,B] [--suite S]
        [--subset suites] [--json FILE]
        every case against every path; one tab-separated line per case:
        CASE name ref want_openssl want_compact got_openssl got_compact
        (ref: "-", or the RFC section under which the paths may differ)
  rawtls.py flood --port P --records N [--stall 2] [--pid PID] [--warmup]
        N KeyUpdate(update_requested) records, never reading; JSON with how
        many the socket took, whether it stalled, and the server's VmRSS
        before and after (with --pid). The full-size flood by hand:
          /usr/bin/python3 tests/py/rawtls.py flood --port 8443 \
              --records 1000000 --pid "$(pidof nacred)" --warmup

--suite TLS_AES_128_GCM_SHA256 (or _256_GCM_SHA384, _CHACHA20_POLY1305_SHA256)
forces the TLS 1.3 suite: the ssl module has no set_ciphersuites, so the
script points OPENSSL_CONF at a file with "Ciphersuites = S" before anything
loads libcrypto (OpenSSL then applies it to every context).
"""
import os
import sys


def _early_suite():
    """--suite must reach OpenSSL's configuration before anything loads
    libcrypto (ssl, and hashlib too)"""
    for i, a in enumerate(sys.argv):
        v = None
        if a == "--suite" and i + 1 < len(sys.argv):
            v = sys.argv[i + 1]
        elif a.startswith("--suite="):
            v = a.split("=", 1)[1]
        if v:
            path = "%s/rawtls-%d.cnf" % (os.environ.get("TMPDIR", "/tmp"), os.getpid())
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write("openssl_conf = openssl_init\n[openssl_init]\n"
                        "ssl_conf = ssl_sect\n[ssl_sect]\n"
                        "system_default = sd\n[sd]\nCiphersuites = %s\n" % v)
            os.environ["OPENSSL_CONF"] = path
            return path
    return None


_SUITE_CONF = _early_suite()

import argparse  # noqa: E402  (all after OPENSSL_CONF)
import hashlib  # noqa: E402
import hmac  # noqa: E402
import json  # noqa: E402
import select  # noqa: E402
import socket  # noqa: E402
import ssl  # noqa: E402
import struct  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

from cryptography.exceptions import InvalidTag  # noqa: E402
from cryptography.hazmat.primitives.ciphers.aead import (  # noqa: E402
    AESGCM, ChaCha20Poly1305)

# ---- RFC 8446 building blocks ----

CT_CCS, CT_ALERT, CT_HS, CT_DATA = 20, 21, 22, 23
HS_KEY_UPDATE, HS_NST = 24, 4

SUITES = {  # name: (AEAD, key length, hash)
    "TLS_AES_128_GCM_SHA256": (AESGCM, 16, hashlib.sha256),
    "TLS_AES_256_GCM_SHA384": (AESGCM, 32, hashlib.sha384),
    "TLS_CHACHA20_POLY1305_SHA256": (ChaCha20Poly1305, 32, hashlib.sha256),
}

ALERTS = {
    0: "close_notify", 10: "unexpected_message", 20: "bad_record_mac",
    22: "record_overflow", 40: "handshake_failure", 42: "bad_certificate",
    47: "illegal_parameter", 50: "decode_error", 51: "decrypt_error",
    70: "protocol_version", 80: "internal_error", 90: "user_canceled",
    109: "missing_extension", 110: "unsupported_extension",
}
ALERT_CODES = {v: k for k, v in ALERTS.items()}


def alert_name(d):
    return ALERTS.get(d, "alert%d" % d)


def hkdf_expand_label(secret, label, length, hashmod):
    """HKDF-Expand-Label(Secret, Label, "", Length), RFC 8446 7.1"""
    full = b"tls13 " + label
    info = struct.pack(">HB", length, len(full)) + full + b"\x00"
    out, t, i = b"", b"", 1
    while len(out) < length:
        t = hmac.new(secret, t + info + bytes([i]), hashmod).digest()
        out += t
        i += 1
    return out[:length]


class Dir:
    """one direction's traffic secret, key, iv and sequence number"""

    def __init__(self, suite, secret):
        self.aead_cls, self.keylen, self.hash = SUITES[suite]
        self.hashlen = self.hash().digest_size
        self.set(secret)

    def set(self, secret):
        self.secret = secret
        self.aead = self.aead_cls(hkdf_expand_label(secret, b"key", self.keylen, self.hash))
        self.iv = hkdf_expand_label(secret, b"iv", 12, self.hash)
        self.seq = 0

    def update(self):
        """application_traffic_secret_N+1 (RFC 8446 7.2)"""
        self.set(hkdf_expand_label(self.secret, b"traffic upd", self.hashlen, self.hash))

    def nonce(self):
        return (int.from_bytes(self.iv, "big") ^ self.seq).to_bytes(12, "big")


def flip(b, i, mask=0x01):
    """b with the bits MASK of byte I (negative: from the end) flipped"""
    b = bytearray(b)
    b[i] ^= mask
    return bytes(b)


def ku_msg(value=0, length=1):
    body = bytes([value]) if length == 1 else bytes([value] * length)
    return bytes([HS_KEY_UPDATE]) + length.to_bytes(3, "big") + body


def hs_msg(t, body):
    return bytes([t]) + len(body).to_bytes(3, "big") + body


MARKER = b"<<marker>>"


# ---- one connection ----

class Conn:
    def __init__(self, port, host="127.0.0.1", timeout=2.0, rcvbuf=None, sndbuf=None,
                 mss=None):
        self.timeout = timeout
        self.data = b""
        self.alerts = []          # (description, level, "enc"|"plain")
        self.closed = None        # fin, rst, timeout, client-rst
        self.server_ku = 0
        self.server_ku_requested = 0
        self.nst = 0
        self.err = None           # what we could not make sense of
        self.send_err = None
        self.rbuf = b""
        self.hsbuf = b""
        self.we_closed = False
        self.suite = None
        self._handshake(host, port, rcvbuf, sndbuf, mss)

    # the handshake through the ssl module, then its secrets from the keylog
    def _handshake(self, host, port, rcvbuf, sndbuf, mss):
        kfd, kpath = tempfile.mkstemp(prefix="rawtls-keylog-")
        os.close(kfd)
        try:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            ctx.minimum_version = ssl.TLSVersion.TLSv1_3
            ctx.maximum_version = ssl.TLSVersion.TLSv1_3
            ctx.keylog_filename = kpath
            inc, outg = ssl.MemoryBIO(), ssl.MemoryBIO()
            obj = ctx.wrap_bio(inc, outg, server_hostname="localhost")
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            if rcvbuf:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
            if sndbuf:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, sndbuf)
            if mss:
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, mss)
            s.settimeout(10)
            s.connect((host, port))
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.sock = s
            while True:
                try:
                    obj.do_handshake()
                    break
                except ssl.SSLWantReadError:
                    s.sendall(outg.read())
                    d = s.recv(65536)
                    if not d:
                        raise ConnectionError("closed during the handshake")
                    inc.write(d)
            s.sendall(outg.read())
            self.suite = obj.cipher()[0]
            self.rbuf = inc.read() if inc.pending else b""  # records past the Finished
            sec = {}
            with open(kpath) as f:
                for line in f:
                    p = line.split()
                    if len(p) == 3:
                        sec[p[0]] = bytes.fromhex(p[2])
            self.wr = Dir(self.suite, sec["CLIENT_TRAFFIC_SECRET_0"])
            self.rd = Dir(self.suite, sec["SERVER_TRAFFIC_SECRET_0"])
        finally:
            os.unlink(kpath)
        s.settimeout(None)

    # ---- writing ----

    def rec(self, content, typ=CT_DATA, pad=0, outer=CT_DATA, version=0x0303):
        """one protected record under the current write key (the header,
        with OUTER and VERSION, is the additional data)"""
        inner = content + bytes([typ]) + b"\x00" * pad
        hdr = struct.pack(">BHH", outer, version, len(inner) + 16)
        ct = self.wr.aead.encrypt(self.wr.nonce(), inner, hdr)
        self.wr.seq += 1
        return hdr + ct

    def rec_inner(self, inner):
        """a protected record around a raw inner plaintext (no type added)"""
        hdr = struct.pack(">BHH", CT_DATA, 0x0303, len(inner) + 16)
        ct = self.wr.aead.encrypt(self.wr.nonce(), inner, hdr)
        self.wr.seq += 1
        return hdr + ct

    def ku(self, req=0):
        """a KeyUpdate record, then our next write key"""
        r = self.rec(ku_msg(req), CT_HS)
        self.wr.update()
        return r

    def alert(self, desc, level=1):
        return self.rec(bytes([level, desc]), CT_ALERT)

    def send(self, b, slow=None):
        """all of B in one write, or SLOW=(chunk, pause) at a time"""
        try:
            if slow:
                n, pause = slow
                for i in range(0, len(b), n):
                    self.sock.sendall(b[i:i + n])
                    time.sleep(pause)
            else:
                self.sock.sendall(b)
        except OSError as e:
            self.send_err = e.strerror or str(e)

    # ---- reading ----

    def peer_done(self):
        return self.closed is not None or any(
            a[0] != ALERT_CODES["user_canceled"] for a in self.alerts)

    def pump(self, timeout=None, until=None):
        """read and open the server's records until UNTIL() holds, the
        connection closes, or TIMEOUT seconds pass"""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while self.closed is None:
            if until and until():
                return True
            rem = deadline - time.monotonic()
            if rem <= 0:
                return False
            r, _, _ = select.select([self.sock], [], [], rem)
            if not r:
                continue
            try:
                d = self.sock.recv(65536)
            except ConnectionResetError:
                self.closed = "rst"
                break
            except OSError as e:
                self.closed = "error:" + (e.strerror or str(e))
                break
            if not d:
                self.closed = "fin"
                break
            self.rbuf += d
            self._parse()
        return bool(until and until())

    def _parse(self):
        while len(self.rbuf) >= 5 and self.err is None:
            typ, _ver, ln = struct.unpack(">BHH", self.rbuf[:5])
            if len(self.rbuf) < 5 + ln:
                return
            hdr, body = self.rbuf[:5], self.rbuf[5:5 + ln]
            self.rbuf = self.rbuf[5 + ln:]
            if typ == CT_ALERT and ln == 2:      # a plaintext alert
                self.alerts.append((body[1], body[0], "plain"))
                continue
            if typ != CT_DATA:
                self.err = "plaintext record of type %d from the server" % typ
                return
            try:
                inner = self.rd.aead.decrypt(self.rd.nonce(), body, hdr)
            except InvalidTag:
                self.err = "server record %d does not decrypt" % self.rd.seq
                return
            self.rd.seq += 1
            inner = inner.rstrip(b"\x00")
            if not inner:
                self.err = "server record with no content type"
                return
            ct, content = inner[-1], inner[:-1]
            if ct == CT_DATA:
                self.data += content
            elif ct == CT_ALERT:
                if len(content) != 2:
                    self.err = "server alert of %d bytes" % len(content)
                    return
                self.alerts.append((content[1], content[0], "enc"))
            elif ct == CT_HS:
                self._handshake_bytes(content)
            else:
                self.err = "server record of inner type %d" % ct
                return

    def _handshake_bytes(self, b):
        self.hsbuf += b
        while len(self.hsbuf) >= 4:
            t, n = self.hsbuf[0], int.from_bytes(self.hsbuf[1:4], "big")
            if len(self.hsbuf) < 4 + n:
                return
            body, self.hsbuf = self.hsbuf[4:4 + n], self.hsbuf[4 + n:]
            if t == HS_NST:
                self.nst += 1               # accepted and ignored
            elif t == HS_KEY_UPDATE and n == 1:
                self.server_ku += 1
                if body[0] == 1:
                    self.server_ku_requested += 1
                self.rd.update()
            else:
                self.err = "server handshake message %d" % t

    # ---- a case's end ----

    def go(self, action, expect=MARKER, slow=None):
        """ACTION and the marker in one write; wait for the echo"""
        self.send(action + self.rec(MARKER), slow)
        self.wait_for(expect)

    def wait_for(self, expect):
        self.pump(until=lambda: self.data.endswith(expect) or self.peer_done())

    def finish(self):
        """close_notify if the connection is still up; read to the end"""
        if self.closed is None and not self.peer_done() and not self.we_closed:
            self.send(self.alert(0))
            self.we_closed = True
        if self.closed is None:
            if not self.pump(until=lambda: False) and self.closed is None:
                self.closed = "timeout"
        try:
            self.sock.close()
        except OSError:
            pass

    def rst(self):
        """close with a TCP RST (SO_LINGER 0)"""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()
        self.closed = "client-rst"

    def outcome(self):
        first = self.alerts[0] if self.alerts else None
        return {
            "suite": self.suite,
            "alert": alert_name(first[0]) if first else None,
            "alert_level": first[1] if first else None,
            "alerts": ["%s/%d%s" % (alert_name(d), l, "/plain" if k == "plain" else "")
                       for d, l, k in self.alerts],
            "closed": self.closed,
            "data": self.data.hex(),
            "server_keyupdates": self.server_ku,
            "server_keyupdates_requesting": self.server_ku_requested,
            "tickets": self.nst,
            "error": self.err,
            "send_error": self.send_err,
        }


def data_desc(b):
    if not b:
        return "-"
    if len(b) <= 40 and all(32 < c < 127 for c in b):
        return b.decode()
    return "%dB:%s" % (len(b), hashlib.sha256(b).hexdigest()[:12])


def summary(o):
    """the comparable part of an outcome, on one line"""
    s = "alert=%s data=%s closed=%s ku=%d" % (
        ",".join(o["alerts"]) or "none", data_desc(bytes.fromhex(o["data"])),
        o["closed"], o["server_keyupdates"])
    if o["error"]:
        s += " error=" + o["error"].replace(" ", "_")
    return s


# ---- the cases ----
# Each case: name, what the client does (a function of a fresh Conn after
# the handshake), and the outcome expected: want() below. Where the record
# paths may legitimately differ, "ref" names the RFC section and "want" is a
# dict {path: outcome}. The expectations follow RFC 8446 and, where OpenSSL
# 3.0 and the RFC disagree, OpenSSL.

def want(alert=None, level=None, data=b"", closed="fin", ku=0, more=()):
    al = []
    if alert:
        al.append("%s/%d" % (alert, level if level is not None else
                             (1 if alert == "close_notify" else 2)))
    al += list(more)
    return "alert=%s data=%s closed=%s ku=%d" % (",".join(al) or "none",
                                                data_desc(data), closed, ku)


def survives(data=MARKER, ku=0):
    """the echo came back, our close_notify was answered with one"""
    return want("close_notify", data=data, ku=ku)


def fatal(alert, data=b""):
    return want(alert, data=data)


SILENT = want()  # closed without an alert

CASES = []


def case(name, fn, expect, ref=None, suites=False):
    CASES.append({"name": name, "fn": fn, "want": expect, "ref": ref, "suites": suites})


# -- sanity
case("baseline", lambda c: c.go(b""), survives(), suites=True)
case("data-2^14", lambda c: c.go(c.rec(b"d" * 16384)), survives(b"d" * 16384 + MARKER))

# -- the record header (5.1): bits flipped after sealing
case("hdr-type-0x16", lambda c: c.go(flip(c.rec(b"x"), 0, 0x01)), fatal("unexpected_message"))
case("hdr-type-0x15", lambda c: c.go(flip(c.rec(b"x"), 0, 0x02)), fatal("unexpected_message"))
case("hdr-type-0x97", lambda c: c.go(flip(c.rec(b"x"), 0, 0x80)), fatal("unexpected_message"))
VERSION_REF = ("RFC 8446 5.1: legacy_record_version MUST be ignored; OpenSSL "
               "refuses anything but 0x0303 with decode_error")
case("hdr-version-flip", lambda c: c.go(flip(c.rec(b"x"), 2, 0x02)),
     {"openssl": fatal("decode_error"), "compact": fatal("bad_record_mac")},
     ref=VERSION_REF + " (the header is the AEAD's additional data: bad_record_mac)")
case("hdr-length-minus1", lambda c: c.go(flip(c.rec(b"xy"), 4, 0x01)), fatal("bad_record_mac"))
case("hdr-length-plus1", lambda c: c.go(flip(c.rec(b"x"), 4, 0x01)), fatal("bad_record_mac"))
case("hdr-length-0x8000", lambda c: c.go(flip(c.rec(b"x"), 3, 0x80)), fatal("record_overflow"))
# records too short to hold a tag and a content type: OpenSSL says bad_record_mac
case("hdr-length-0", lambda c: c.go(b"\x17\x03\x03\x00\x00"), fatal("bad_record_mac"))
# a tag alone, which does authenticate: an empty inner plaintext has no type
# (5.4 would say unexpected_message); OpenSSL refuses a record shorter than
# tag + 1 before it opens it, as a record that fails to decrypt
case("tag-only-record", lambda c: c.go(c.rec_inner(b"")), fatal("bad_record_mac"))

# -- the protected part (5.2)
case("ciphertext-flip-first", lambda c: c.go(flip(c.rec(b"hello"), 5)), fatal("bad_record_mac"), suites=True)
case("ciphertext-flip-last", lambda c: c.go(flip(c.rec(b"hello"), -17, 0x80)), fatal("bad_record_mac"))
case("tag-flip", lambda c: c.go(flip(c.rec(b"hello"), -1)), fatal("bad_record_mac"), suites=True)


def replay(c):
    r = c.rec(b"once")
    c.send(r)
    c.wait_for(b"once")
    c.go(r)


case("replayed-record", replay, fatal("bad_record_mac", data=b"once"))


def reorder(c):
    a, b = c.rec(b"first"), c.rec(b"second")
    c.go(b + a)


case("reordered-records", reorder, fatal("bad_record_mac"))


def old_key(c):
    saved = (c.wr.secret, c.wr.seq)
    k = c.ku()
    old = Dir(c.suite, saved[0])
    old.seq = saved[1] + 1
    hdr = struct.pack(">BHH", CT_DATA, 0x0303, 2 + 16)
    stale = hdr + old.aead.encrypt(old.nonce(), b"x\x17", hdr)
    c.go(k + stale)


case("old-key-after-keyupdate", old_key, fatal("bad_record_mac"), suites=True)

# -- lengths (5.2, 5.4)
case("ciphertext-2^14+257-header", lambda c: c.go(b"\x17\x03\x03\x41\x01"), fatal("record_overflow"))
# the longest ciphertext allowed: 2^14 + 256 (its padding takes the inner
# plaintext past 2^14 + 1, which only the sender is told not to do)
case("ciphertext-2^14+256", lambda c: c.go(c.rec(b"L" * 100, pad=16384 + 256 - 16 - 101)),
     survives(b"L" * 100 + MARKER))
case("plaintext-2^14+1", lambda c: c.go(c.rec(b"p" * 16385)), fatal("record_overflow"), suites=True)
case("padding-to-limit", lambda c: c.go(c.rec(b"pad", pad=16385 - 4)), survives(b"pad" + MARKER), suites=True)
case("padding-past-limit", lambda c: c.go(c.rec(b"pad", pad=16385 - 3)), survives(b"pad" + MARKER))

# -- inner content types (5.4)
case("inner-type-0", lambda c: c.go(c.rec_inner(b"\x00\x00x\x00")), fatal("unexpected_message"))
case("inner-type-20", lambda c: c.go(c.rec(b"\x01", CT_CCS)), fatal("unexpected_message"))
case("inner-type-24", lambda c: c.go(c.rec(b"\x01\x00\x00", 24)), fatal("unexpected_message"))
case("inner-type-255", lambda c: c.go(c.rec(b"x", 0xff)), fatal("unexpected_message"))
case("inner-all-zeros", lambda c: c.go(c.rec_inner(b"\x00" * 8)), fatal("unexpected_message"))
case("inner-empty-handshake", lambda c: c.go(c.rec(b"", CT_HS)), fatal("unexpected_message"))

# -- unprotected records after the handshake (5, 5.1)
case("plain-ccs", lambda c: c.go(b"\x14\x03\x03\x00\x01\x01"), fatal("unexpected_message"))
case("plain-handshake", lambda c: c.go(b"\x16\x03\x03\x00\x05" + ku_msg(0)), fatal("unexpected_message"))
case("plain-alert", lambda c: c.go(b"\x15\x03\x03\x00\x02\x01\x00"), fatal("unexpected_message"))
case("plain-appdata", lambda c: c.go(b"\x17\x03\x03\x00\x05hello"), fatal("bad_record_mac"))
case("legacy-version-0x0301",
     lambda c: c.go(c.rec(b"v", version=0x0301)),
     {"openssl": fatal("decode_error"), "compact": survives(b"v" + MARKER)}, ref=VERSION_REF)
case("legacy-version-0x0304",
     lambda c: c.go(c.rec(b"v", version=0x0304)),
     {"openssl": fatal("decode_error"), "compact": survives(b"v" + MARKER)}, ref=VERSION_REF)

# -- KeyUpdate (4.6.3, 5.1)
case("keyupdate", lambda c: c.go(c.ku(0)), survives())


def ku_frag(parts):
    def f(c):
        m, out, i = ku_msg(0), b"", 0
        for n in parts:
            out += c.rec(m[i:i + n], CT_HS)
            i += n
        c.wr.update()
        c.go(out)
    return f


case("keyupdate-in-2-records", ku_frag([2, 3]), survives())
case("keyupdate-in-5-records", ku_frag([1, 1, 1, 1, 1]), survives())


def ku_interleaved(split):
    def f(c):
        m = ku_msg(0)
        a = c.rec(m[:split], CT_HS)
        d = c.rec(b"between")
        b = c.rec(m[split:], CT_HS)
        c.wr.update()
        c.go(a + d + b)
    return f


case("keyupdate-interleaved-2+data+3", ku_interleaved(2), fatal("unexpected_message"))
case("keyupdate-interleaved-4+data+1", ku_interleaved(4), fatal("unexpected_message"))


def ku_then(extra):
    def f(c):
        r = c.rec(ku_msg(0) + extra, CT_HS)
        c.wr.update()
        c.go(r)
    return f


case("keyupdate-then-keyupdate-same-record", ku_then(ku_msg(0)), fatal("unexpected_message"))
case("keyupdate-then-byte-same-record", ku_then(b"\x04"), fatal("unexpected_message"))


def ku_value(v):
    def f(c):
        r = c.rec(ku_msg(v), CT_HS)
        c.wr.update()
        c.go(r)
    return f


case("keyupdate-value-2", ku_value(2), fatal("illegal_parameter"))
case("keyupdate-value-255", ku_value(255), fatal("illegal_parameter"))
case("keyupdate-length-0", lambda c: c.go(c.rec(ku_msg(0)[:1] + b"\x00\x00\x00", CT_HS)), fatal("decode_error"))
# OpenSSL checks the length against the message's maximum first:
# illegal_parameter (SSL_R_EXCESSIVE_MESSAGE_SIZE)
case("keyupdate-length-2", lambda c: c.go(c.rec(ku_msg(0, 2), CT_HS)), fatal("illegal_parameter"))


def ku_requested_talk(c):
    c.send(c.ku(1) + c.rec(b"after-ku"))
    c.wait_for(b"after-ku")
    c.send(c.rec(b"again"))
    c.wait_for(b"again")
    c.go(b"")


case("keyupdate-requested-then-talk", ku_requested_talk, survives(b"after-kuagain" + MARKER, ku=1), suites=True)


def ku_many(n):
    def f(c):
        c.go(b"".join(c.ku(1) for _ in range(n)))
    return f


# RFC 8446 4.6.3: "...causes an implementation which receives multiple
# KeyUpdates while it is silent to respond with a single update"; OpenSSL
# answers each one as it reads it.
case("keyupdate-requested-x50", ku_many(50), survives(ku=50))

# -- other handshake messages from the client (4.6, 5.1)
case("client-newsessionticket", lambda c: c.go(c.rec(hs_msg(4, b"\x00" * 16), CT_HS)), fatal("unexpected_message"))
case("client-certificate", lambda c: c.go(c.rec(hs_msg(11, b"\x00\x00\x00\x00"), CT_HS)), fatal("unexpected_message"))
case("client-certificaterequest", lambda c: c.go(c.rec(hs_msg(13, b"\x00\x00\x00"), CT_HS)), fatal("unexpected_message"))
case("client-finished", lambda c: c.go(c.rec(hs_msg(20, b"\x00" * 48), CT_HS)), fatal("unexpected_message"))
case("client-clienthello", lambda c: c.go(c.rec(hs_msg(1, b"\x03\x03" + b"\x00" * 40), CT_HS)), fatal("unexpected_message"))

# -- zero-length application data (5.1: MAY be sent; OpenSSL allows 32 in a row)
for _n in (1, 32):
    case("empty-appdata-x%d" % _n, (lambda n: lambda c: c.go(b"".join(c.rec(b"") for _ in range(n))))(_n), survives())
for _n in (33, 100):
    case("empty-appdata-x%d" % _n, (lambda n: lambda c: c.go(b"".join(c.rec(b"") for _ in range(n))))(_n),
         fatal("unexpected_message"))

# -- alerts (6): user_canceled is ignored; OpenSSL ends the connection at the
# 5th warning-or-user_canceled alert in a row (unexpected_message)
for _lvl, _ln in ((1, "warning"), (2, "fatal")):
    for _n in (1, 4, 5, 6):
        case("user_canceled-%s-x%d" % (_ln, _n),
             (lambda n, lvl: lambda c: c.go(b"".join(c.alert(90, lvl) for _ in range(n))))(_n, _lvl),
             survives() if _n < 5 else fatal("unexpected_message"))


def uc_data_uc(c):
    c.go(b"".join(c.alert(90) for _ in range(4)) + c.rec(b"mid") +
         b"".join(c.alert(90) for _ in range(4)))


case("user_canceled-x4-data-x4", uc_data_uc, survives(b"mid" + MARKER))


def close_notify_only(c):
    c.send(c.alert(0))
    c.we_closed = True


case("close_notify", close_notify_only, want("close_notify"))


def data_close(c):
    c.send(c.rec(b"bye") + c.alert(0))
    c.we_closed = True


case("data-then-close_notify", data_close, want("close_notify", data=b"bye"))


def close_then_data(c):
    c.send(c.alert(0) + c.rec(b"ignored"))
    c.we_closed = True


case("data-after-close_notify", close_then_data, want("close_notify"))
case("alert-warning-42", lambda c: c.go(c.alert(42, 1)), SILENT)
case("alert-fatal-40", lambda c: c.go(c.alert(40, 2)), SILENT)
# 5.1: a record of type alert holds exactly one two-byte alert; OpenSSL
# answers anything else with unexpected_message (SSL_R_INVALID_ALERT, BAD_LENGTH)
case("alert-1-byte", lambda c: c.go(c.rec(b"\x01", CT_ALERT)), fatal("unexpected_message"))
case("alert-3-bytes", lambda c: c.go(c.rec(b"\x01\x5a\x00", CT_ALERT)), fatal("unexpected_message"))
case("alert-0-bytes", lambda c: c.go(c.rec(b"", CT_ALERT)), fatal("unexpected_message"))

# -- delivery
case("3000-small-records", lambda c: c.go(b"".join(c.rec(bytes([97 + i % 26])) for i in range(3000))),
     survives(bytes(97 + i % 26 for i in range(3000)) + MARKER))


def byte_at_a_time(c):
    c.go(c.rec(b"slow-1") + c.ku(0) + c.rec(b"slow-2"), slow=(1, 0.0005))


case("byte-at-a-time", byte_at_a_time, survives(b"slow-1slow-2" + MARKER))


def fin_in_record(c):
    r = c.rec(b"half")
    c.send(r[:len(r) // 2])
    time.sleep(0.05)
    c.sock.shutdown(socket.SHUT_WR)
    c.we_closed = True
    c.pump()


# An EOF without close_notify is a truncation (nacred does not set
# SSL_OP_IGNORE_UNEXPECTED_EOF): OpenSSL answers decode_error, and the app
# is reset rather than given a clean EOF
case("fin-inside-record", fin_in_record, fatal("decode_error"))


def fin_clean(c):
    c.send(c.rec(b"clean"))
    c.wait_for(b"clean")
    c.sock.shutdown(socket.SHUT_WR)
    c.we_closed = True


# EOF at a record boundary without close_notify: a truncation too
case("fin-at-record-boundary", fin_clean, fatal("decode_error", data=b"clean"))


def rst_after_data(c):
    c.send(c.rec(b"before-rst"))
    c.wait_for(b"before-rst")
    c.send(c.rec(b"lost"))
    c.rst()


case("rst-after-data", rst_after_data, want(data=b"before-rst", closed="client-rst"))


def run_case(cs, port, timeout=2.0):
    try:
        c = Conn(port, timeout=timeout)
    except Exception as e:  # noqa: BLE001
        return {"case": cs["name"], "error": "handshake: %s" % e, "alerts": [], "data": "",
                "closed": None, "server_keyupdates": 0, "alert": None}
    try:
        cs["fn"](c)
        if c.closed != "client-rst":
            c.finish()
    except Exception as e:  # noqa: BLE001
        c.err = "client: %r" % (e,)
    o = c.outcome()
    o["case"] = cs["name"]
    return o


def want_for(cs, path):
    w = cs["want"]
    return w.get(path, w.get("*")) if isinstance(w, dict) else w


# ---- the KeyUpdate flood ----

class FastSeal:
    """AEAD sealing through libcrypto's EVP interface with one reused
    context (ctypes): about 3x faster than cryptography's AEAD objects,
    which set up a new context for every record; for the flood only"""
    NAMES = {"TLS_AES_128_GCM_SHA256": b"AES-128-GCM",
             "TLS_AES_256_GCM_SHA384": b"AES-256-GCM",
             "TLS_CHACHA20_POLY1305_SHA256": b"ChaCha20-Poly1305"}

    def __init__(self, suite):
        import ctypes
        self.ct = ctypes
        lib = ctypes.CDLL("libcrypto.so.3")
        vp, cp, ip = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int
        lib.EVP_CIPHER_fetch.restype = vp
        lib.EVP_CIPHER_fetch.argtypes = [vp, cp, cp]
        lib.EVP_CIPHER_CTX_new.restype = vp
        lib.EVP_EncryptInit_ex.argtypes = [vp, vp, vp, cp, cp]
        lib.EVP_EncryptUpdate.argtypes = [vp, vp, ctypes.POINTER(ip), cp, ip]
        lib.EVP_EncryptFinal_ex.argtypes = [vp, vp, ctypes.POINTER(ip)]
        lib.EVP_CIPHER_CTX_ctrl.argtypes = [vp, ip, ip, vp]
        self.lib = lib
        cipher = lib.EVP_CIPHER_fetch(None, self.NAMES[suite], None)
        self.ctx = lib.EVP_CIPHER_CTX_new()
        if not cipher or not self.ctx or lib.EVP_EncryptInit_ex(self.ctx, cipher, None, None, None) != 1:
            raise OSError("libcrypto: no %s" % self.NAMES[suite])
        self.out = ctypes.create_string_buffer(256)
        self.ol = ctypes.c_int()

    def seal(self, key, iv, aad, pt):
        lib, ctx, out, olp = self.lib, self.ctx, self.out, self.ct.byref(self.ol)
        ok = (lib.EVP_EncryptInit_ex(ctx, None, None, key, iv) == 1 and
              lib.EVP_EncryptUpdate(ctx, None, olp, aad, len(aad)) == 1 and
              lib.EVP_EncryptUpdate(ctx, out, olp, pt, len(pt)) == 1 and
              lib.EVP_EncryptFinal_ex(ctx, out, olp) == 1 and
              lib.EVP_CIPHER_CTX_ctrl(ctx, 0x10, 16, self.ct.byref(out, len(pt))) == 1)
        if not ok:
            raise OSError("libcrypto: sealing failed")
        return out.raw[:len(pt) + 16]


_T36 = bytes(x ^ 0x36 for x in range(256))
_T5C = bytes(x ^ 0x5c for x in range(256))


def _labels3(w):
    """HKDF-Expand-Label of w.secret for "key", "iv" and "traffic upd" in
    one go: the three HMACs share the keyed inner and outer hash states"""
    block = w.hash().block_size
    k = w.secret.ljust(block, b"\x00")
    ih, oh = w.hash(k.translate(_T36)), w.hash(k.translate(_T5C))
    out = []
    for lab, n in ((b"key", w.keylen), (b"iv", 12), (b"traffic upd", w.hashlen)):
        full = b"tls13 " + lab
        a = ih.copy()
        a.update(struct.pack(">HB", n, len(full)) + full + b"\x00\x01")
        b = oh.copy()
        b.update(a.digest())
        out.append(b.digest()[:n])
    return out


def ku_records(c, n, fast):
    """N KeyUpdate(update_requested) records from C's write state, each
    under the key the one before it moved to (RFC 8446 4.6.3, 7.2)"""
    if not fast:
        return b"".join(c.ku(1) for _ in range(n))
    w, out = c.wr, []
    hdr = struct.pack(">BHH", CT_DATA, 0x0303, 5 + 1 + 16)
    inner = ku_msg(1) + bytes([CT_HS])
    for _ in range(n):
        key, iv, nxt = _labels3(w)
        out.append(hdr + fast.seal(key, (int.from_bytes(iv, "big") ^ w.seq).to_bytes(12, "big"),
                                   hdr, inner))
        w.secret, w.seq = nxt, 0
    w.set(w.secret)
    return b"".join(out)


def rss_kib(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def warmup(port):
    c = Conn(port)
    c.go(b"".join(c.ku(1) for _ in range(100)) + c.rec(b"w" * 20000))
    c.finish()


def flood(port, records, stall=2.0, pid=None, rcvbuf=65536, warm=False, mss=1024):
    """N KeyUpdate(update_requested) records under keys derived as we go,
    written without ever reading: a server that stops reading while its
    answers cannot go out makes our writes stall"""
    if warm:
        warmup(port)
        time.sleep(0.3)
    before = rss_kib(pid) if pid else None
    # small socket buffers (set before connect) keep what the kernel holds
    # of our records and of the server's answers small; so does a small
    # MSS, which the server's send buffer is sized by (tcp_sndbuf_expand):
    # with loopback's 64 KiB segments it would take up to tcp_wmem's
    # maximum (4 MiB, some 155,000 answers) before the server felt anything
    c = Conn(port, rcvbuf=rcvbuf, sndbuf=rcvbuf, mss=mss)
    try:
        fast = FastSeal(c.suite)
        x, y = Conn.__new__(Conn), Conn.__new__(Conn)
        x.wr, y.wr = Dir(c.suite, c.wr.secret), Dir(c.suite, c.wr.secret)
        if ku_records(x, 3, None) != ku_records(y, 3, fast):
            raise OSError("libcrypto sealing disagrees with cryptography's")
    except OSError as e:
        sys.stderr.write("rawtls: flood without libcrypto through ctypes: %s\n" % e)
        fast = None
    s = c.sock
    s.setblocking(False)
    recsize = 5 + 5 + 1 + 16  # header, KeyUpdate, content type, tag
    made = sent = 0
    buf = b""
    stalled = False
    t0 = time.monotonic()
    last = t0
    while True:
        if not buf and made < records:
            k = min(2000, records - made)
            buf = ku_records(c, k, fast)
            made += k
        if not buf:
            break
        try:
            n = s.send(buf)
            sent += n
            buf = buf[n:]
            last = time.monotonic()
            continue
        except BlockingIOError:
            pass
        except OSError as e:
            c.err = "send: %s" % (e.strerror or e)
            break
        rem = stall - (time.monotonic() - last)
        if rem <= 0:
            stalled = True
            break
        select.select([], [s], [], min(rem, 0.2))
    took = time.monotonic() - t0
    time.sleep(0.5)  # what is in the server's socket buffer gets read
    after = rss_kib(pid) if pid else None
    c.rst()
    time.sleep(0.3)
    freed = rss_kib(pid) if pid else None
    return {"records": records, "accepted": sent // recsize, "stalled": stalled,
            "fast_seal": fast is not None,
            "seconds": round(took, 3), "suite": c.suite, "error": c.err,
            "rss_before_kib": before, "rss_after_kib": after,
            "rss_growth_kib": (after - before) if before is not None and after is not None else None,
            "rss_after_close_kib": freed}


# ---- command line ----

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("cmd", choices=["list", "one", "matrix", "flood"])
    ap.add_argument("--port", type=int)
    ap.add_argument("--case")
    ap.add_argument("--path", action="append", default=[], help="NAME=PORT")
    ap.add_argument("--only", default="")
    ap.add_argument("--subset", choices=["all", "suites"], default="all")
    ap.add_argument("--suite")
    ap.add_argument("--json")
    ap.add_argument("--timeout", type=float, default=2.0)
    ap.add_argument("--records", type=int, default=100000)
    ap.add_argument("--stall", type=float, default=2.0)
    ap.add_argument("--pid", type=int)
    ap.add_argument("--rcvbuf", type=int, default=65536, help="flood: SO_RCVBUF and SO_SNDBUF")
    ap.add_argument("--warmup", action="store_true")
    ap.add_argument("--mss", type=int, default=1024, help="flood: TCP_MAXSEG")
    a = ap.parse_args()
    try:
        if a.cmd == "list":
            for cs in CASES:
                print("%s\t%s\t%s" % (cs["name"], cs["ref"] or "-", json.dumps(cs["want"])))
        elif a.cmd == "one":
            cs = [x for x in CASES if x["name"] == a.case]
            if not cs:
                sys.exit("no case %s" % a.case)
            o = run_case(cs[0], a.port, a.timeout)
            o["summary"] = summary(o)
            print(json.dumps(o))
        elif a.cmd == "matrix":
            paths = [p.split("=", 1) for p in a.path]
            only = set(x for x in a.only.split(",") if x)
            jf = open(a.json, "a") if a.json else None
            suites = set()
            for cs in CASES:
                if only and cs["name"] not in only:
                    continue
                if a.subset == "suites" and not cs["suites"]:
                    continue
                got, suite_seen = {}, set()
                for name, port in paths:
                    o = run_case(cs, int(port), a.timeout)
                    o["path"] = name
                    o["summary"] = summary(o)
                    got[name] = o["summary"]
                    if o.get("suite"):
                        suite_seen.add(o["suite"])
                    if jf:
                        jf.write(json.dumps(o) + "\n")
                        jf.flush()
                fields = [cs["name"], cs["ref"] or "-"]
                fields += [want_for(cs, n) for n, _ in paths]
                fields += [got[n] for n, _ in paths]
                print("CASE\t" + "\t".join(fields), flush=True)
                suites.update(suite_seen)
            print("SUITES\t" + ",".join(sorted(suites)))
        elif a.cmd == "flood":
            print(json.dumps(flood(a.port, a.records, a.stall, a.pid, a.rcvbuf, a.warmup, a.mss)))
    finally:
        if _SUITE_CONF:
            os.unlink(_SUITE_CONF)


if __name__ == "__main__":
    main()
