#!/usr/bin/python3
"""client.py: misbehaving clients for the fault suite (tests/fault/).

Every command connects to 127.0.0.1:PORT and prints one result line that the
shell checks grep; progress lines start with "#".

  get PORT PATH [--flowing N] [--extra N] [--timeout S]
      TLS (Python's ssl over a MemoryBIO, so the socket stays ours), one
      "Connection: close" request, then read to the end. Prints
        status=200 clen=N body=M end=close_notify|eof|reset|timeout|tls:ERR
        secs=S
      end: close_notify (the server ended TLS cleanly), eof (TCP FIN with no
      close_notify), reset (TCP RST); secs: from the request to the end.
      With --flowing N it prints "flowing" once N body bytes have arrived;
      with --extra N it then sends N more bytes of application data (which
      a /stream app never reads).
  close PORT PATH notify|fin|rst
      TLS handshake, the request, then: notify: close_notify, SHUT_WR and
      wait for the server's close; fin: TCP close without close_notify;
      rst: close with SO_LINGER 0. Prints "closed MODE".
  rstdl PORT PATH AFTER
      download PATH; after AFTER body bytes close with SO_LINGER 0.
  silent PORT CONNS TIMEOUT
      CONNS TCP connections that send nothing; prints
        closed=K/CONNS min=S max=S   (seconds from connect to the close)
  slowloris PORT CONNS INTERVAL TIMEOUT
      CONNS connections, each sending a real ClientHello one byte per
      INTERVAL s; prints closed=K/CONNS min=S max=S sent=MAXBYTES
  hello PORT CASE
      CASE sni255 (a 255-byte server name), alpn64k (a ~64000-byte ALPN
      list of 255-byte names), alpn255 (one 255-byte name, then http/1.1).
      Prints "handshake ok alpn=X status=N" or "refused: ERR".
  raw PORT CASE TIMEOUT
      plain TCP, sends the bytes of CASE, prints "closed after S" or
      "open after S". CASE: pp-random, pp-truncated, pp-hugelen,
      pp-hugelen-full, pp-badver.
  storm PORT CONNS TIMEOUT PATH [HOLD]
      CONNS concurrent TLS clients (asyncio), one request each, sent HOLD
      seconds after the handshake (default 0); prints
        served=A refused=B dropped=C
      refused: no handshake (connect, TLS or timeout before it completed);
      dropped: handshake completed, then no complete response.
"""
import asyncio
import os
import selectors
import socket
import ssl
import struct
import sys
import time

HOST = "127.0.0.1"


def ctx_client(alpn=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    # Python sets OpenSSL's IGNORE_UNEXPECTED_EOF by default, which makes a
    # TCP FIN without close_notify look like close_notify: the very
    # difference these tests are about
    ctx.options &= ~ssl.OP_IGNORE_UNEXPECTED_EOF
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if alpn:
        ctx.set_alpn_protocols(alpn)
    return ctx


class Tls:
    """TLS over a MemoryBIO on a socket of our own"""

    def __init__(self, port, sni="localhost", timeout=10, alpn=None):
        self.sock = socket.create_connection((HOST, port), timeout)
        self.inc = ssl.MemoryBIO()
        self.out = ssl.MemoryBIO()
        self.obj = ctx_client(alpn).wrap_bio(self.inc, self.out,
                                             server_hostname=sni)

    def flush(self):
        d = self.out.read()
        if d:
            self.sock.sendall(d)

    def fill(self):
        d = self.sock.recv(65536)
        if d:
            self.inc.write(d)
        else:
            self.inc.write_eof()

    def handshake(self):
        while True:
            try:
                self.obj.do_handshake()
                self.flush()
                return
            except ssl.SSLWantReadError:
                self.flush()
                self.fill()

    def send(self, data):
        self.obj.write(data)
        self.flush()

    def read(self):
        """bytes; b"" after close_notify; raises at a TCP EOF without one"""
        while True:
            try:
                return self.obj.read(65536)
            except ssl.SSLWantReadError:
                self.flush()
                self.fill()

    def close_notify(self):
        try:
            self.obj.unwrap()
        except ssl.SSLWantReadError:
            pass
        self.flush()

    def rst(self):
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                             struct.pack("ii", 1, 0))
        self.sock.close()


def request(path):
    return ("GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
            % path).encode()


def end_kind(e):
    if isinstance(e, ConnectionResetError):
        return "reset"
    if isinstance(e, socket.timeout):
        return "timeout"
    if isinstance(e, ssl.SSLZeroReturnError):
        return "close_notify"
    if isinstance(e, ssl.SSLEOFError) or (
            isinstance(e, ssl.SSLError) and
            e.reason == "UNEXPECTED_EOF_WHILE_READING"):
        return "eof"
    if isinstance(e, ssl.SSLError):
        return "tls:" + (e.reason or str(e))
    return "error:" + str(e)


def cmd_get(port, path, *opts):
    flowing = extra = 0
    timeout = 20.0
    i = 0
    while i < len(opts):
        if opts[i] == "--flowing":
            flowing = int(opts[i + 1])
        elif opts[i] == "--extra":
            extra = int(opts[i + 1])
        elif opts[i] == "--timeout":
            timeout = float(opts[i + 1])
        i += 2
    t = Tls(int(port), timeout=timeout)
    t.handshake()
    t.send(request(path))
    t0 = time.monotonic()
    data = b""
    head = None
    body = 0
    said = False
    end = None
    while end is None:
        try:
            d = t.read()
        except Exception as e:  # noqa: BLE001 - the kind is the result
            end = end_kind(e)
            break
        if not d:
            end = "close_notify"
            break
        if head is None:
            data += d
            if b"\r\n\r\n" in data:
                head, _, rest = data.partition(b"\r\n\r\n")
                body = len(rest)
        else:
            body += len(d)
        if flowing and not said and body >= flowing:
            print("flowing", flush=True)
            said = True
            if extra:
                t.send(b"x" * extra)
    status = clen = "-"
    if head is not None:
        lines = head.decode("latin-1").split("\r\n")
        status = lines[0].split(" ")[1]
        for ln in lines[1:]:
            k, _, v = ln.partition(":")
            if k.strip().lower() == "content-length":
                clen = v.strip()
    print("status=%s clen=%s body=%d end=%s secs=%.3f" %
          (status, clen, body, end, time.monotonic() - t0), flush=True)


def cmd_close(port, path, mode):
    t = Tls(int(port))
    t.handshake()
    t.send(request(path))
    time.sleep(0.3)  # the request reaches the app before the close
    if mode == "notify":
        t.close_notify()
        t.sock.shutdown(socket.SHUT_WR)
        try:
            while t.sock.recv(65536):
                pass
        except OSError:
            pass
        t.sock.close()
    elif mode == "fin":
        t.sock.close()  # no close_notify: the SSL object never sends one
    else:
        t.rst()
    print("closed %s" % mode, flush=True)


def cmd_rstdl(port, path, after):
    t = Tls(int(port))
    t.handshake()
    t.send(request(path))
    got = 0
    while got < int(after):
        d = t.read()
        if not d:
            break
        got += len(d)
    t.rst()
    print("reset after %d bytes" % got, flush=True)


def wait_closed(socks, t0s, timeout, tick=None):
    """seconds from each socket's start until the peer closed it"""
    sel = selectors.DefaultSelector()
    for i, s in enumerate(socks):
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ, i)
    closed = {}
    end = time.monotonic() + timeout
    next_tick = time.monotonic()
    while len(closed) < len(socks) and time.monotonic() < end:
        wait = 0.05
        if tick:
            wait = max(0.0, next_tick - time.monotonic())
        for key, _ in sel.select(wait):
            i = key.data
            try:
                d = key.fileobj.recv(65536)
            except BlockingIOError:
                continue
            except OSError:
                d = b""
            if not d:
                closed[i] = time.monotonic() - t0s[i]
                sel.unregister(key.fileobj)
        if tick and time.monotonic() >= next_tick:
            for i in range(len(socks)):
                if i not in closed and not tick(i):
                    closed[i] = time.monotonic() - t0s[i]
                    try:
                        sel.unregister(socks[i])
                    except (KeyError, ValueError):
                        pass
            next_tick += tick.interval
    return closed


def summary(closed, n):
    v = sorted(closed.values())
    if not v:
        return "closed=0/%d min=- max=-" % n
    return "closed=%d/%d min=%.2f max=%.2f" % (len(v), n, v[0], v[-1])


def cmd_silent(port, conns, timeout):
    socks, t0s = [], []
    for _ in range(int(conns)):
        s = socket.create_connection((HOST, int(port)), 10)
        socks.append(s)
        t0s.append(time.monotonic())
    print("# %d connected" % len(socks), flush=True)
    closed = wait_closed(socks, t0s, float(timeout))
    print(summary(closed, len(socks)), flush=True)
    for s in socks:
        s.close()


def client_hello():
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx_client().wrap_bio(inc, out, server_hostname="localhost")
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return out.read()


def cmd_slowloris(port, conns, interval, timeout):
    hello = client_hello()
    socks, t0s, sent = [], [], []
    for _ in range(int(conns)):
        socks.append(socket.create_connection((HOST, int(port)), 10))
        t0s.append(time.monotonic())
        sent.append(0)

    def tick(i):
        if sent[i] >= len(hello):
            return True
        try:
            socks[i].send(hello[sent[i]:sent[i] + 1])
        except OSError:
            return False
        sent[i] += 1
        return True
    tick.interval = float(interval)
    closed = wait_closed(socks, t0s, float(timeout), tick)
    print("%s sent=%d of %d" % (summary(closed, len(socks)), max(sent),
                                len(hello)), flush=True)


def cmd_hello(port, case):
    sni, alpn = "localhost", None
    if case == "sni255":
        sni = ".".join(["a" * 63, "b" * 63, "c" * 63, "d" * 63])
        assert len(sni) == 255
    elif case == "alpn64k":
        alpn = ["%03d" % i + "p" * 252 for i in range(249)] + ["http/1.1"]
    elif case == "alpn255":
        alpn = ["q" * 255, "http/1.1"]
    else:
        sys.exit("unknown case " + case)
    try:
        s = ctx_client(alpn).wrap_socket(
            socket.create_connection((HOST, int(port)), 10),
            server_hostname=sni)
    except (OSError, ssl.SSLError) as e:
        print("refused: %s" % e, flush=True)
        return
    got = s.selected_alpn_protocol()
    try:
        s.sendall(request("/"))
        resp = b""
        while True:
            d = s.recv(65536)
            if not d:
                break
            resp += d
        status = resp.split(b" ")[1].decode() if resp else "-"
    except (OSError, ssl.SSLError) as e:
        status = "error:%s" % e
    print("handshake ok alpn=%s status=%s" % (got, status), flush=True)


PP2_SIG = b"\r\n\r\n\x00\r\nQUIT\n"


def pp_case(case):
    if case == "pp-random":
        return os.urandom(256)
    if case == "pp-truncated":  # IPv4 header, 12 address bytes promised, 5 sent
        return PP2_SIG + b"\x21\x11\x00\x0c" + b"\x7f\x00\x00\x01\x7f"
    if case == "pp-hugelen":  # 65535 bytes promised, 16 sent
        return PP2_SIG + b"\x21\x11\xff\xff" + b"\x7f\x00\x00\x01" * 4
    if case == "pp-hugelen-full":  # 65535 bytes promised and sent (junk TLVs)
        return PP2_SIG + b"\x21\x11\xff\xff" + os.urandom(65535)
    if case == "pp-badver":  # version 3, otherwise a valid IPv4 header
        return (PP2_SIG + b"\x31\x11\x00\x0c" + b"\x7f\x00\x00\x01" * 2 +
                b"\x12\x34\x01\xbb")
    sys.exit("unknown case " + case)


def cmd_raw(port, case, timeout):
    data = pp_case(case)
    s = socket.create_connection((HOST, int(port)), 10)
    t0 = time.monotonic()
    try:
        s.sendall(data)
    except OSError:
        print("closed after %.3f" % (time.monotonic() - t0), flush=True)
        return
    s.settimeout(float(timeout))
    try:
        while s.recv(65536):
            pass
        print("closed after %.3f" % (time.monotonic() - t0), flush=True)
    except socket.timeout:
        print("open after %.3f" % (time.monotonic() - t0), flush=True)
    except OSError:
        print("closed after %.3f" % (time.monotonic() - t0), flush=True)


async def storm_one(port, timeout, path, hold, ctx, res):
    try:
        r, w = await asyncio.wait_for(asyncio.open_connection(
            HOST, port, ssl=ctx, server_hostname="localhost"), timeout)
    except Exception:  # noqa: BLE001 - any failure before the handshake
        res["refused"] += 1
        return
    want = None
    try:
        await asyncio.sleep(hold)
        w.write(request(path))
        data = b""
        while True:
            d = await asyncio.wait_for(r.read(65536), timeout)
            if not d:
                break
            data += d
        head, _, body = data.partition(b"\r\n\r\n")
        for ln in head.split(b"\r\n")[1:]:
            if ln.lower().startswith(b"content-length:"):
                want = int(ln.split(b":")[1])
        if head.startswith(b"HTTP/1.1 200") and want == len(body):
            res["served"] += 1
            return
        res["dropped"] += 1
        res["why"].append("got %d bytes, head %r" % (len(data), head[:40]))
    except Exception as e:  # noqa: BLE001
        res["dropped"] += 1
        res["why"].append(repr(e)[:80])
    finally:
        w.close()


async def storm(port, conns, timeout, path, hold):
    ctx = ctx_client()
    res = {"served": 0, "refused": 0, "dropped": 0, "why": []}
    await asyncio.gather(*(storm_one(port, timeout, path, hold, ctx, res)
                           for _ in range(conns)))
    for w in res["why"][:5]:
        print("# dropped: %s" % w)
    print("served=%d refused=%d dropped=%d" % (res["served"], res["refused"],
                                               res["dropped"]), flush=True)


def cmd_storm(port, conns, timeout, path, hold="0"):
    asyncio.run(storm(int(port), int(conns), float(timeout), path,
                      float(hold)))


CMDS = {"get": cmd_get, "close": cmd_close, "rstdl": cmd_rstdl,
        "silent": cmd_silent, "slowloris": cmd_slowloris,
        "hello": cmd_hello, "raw": cmd_raw, "storm": cmd_storm}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in CMDS:
        sys.stderr.write(__doc__)
        sys.exit(2)
    CMDS[sys.argv[1]](*sys.argv[2:])
