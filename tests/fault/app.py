#!/usr/bin/python3
"""app.py: a small upstream app for the fault suite, behind nacred.

It tells how each connection ended (a clean EOF or a reset), which
build/tools/upstream does not, and it can end a response the hard way.

Usage: app.py --listen tcp:127.0.0.1:PORT | unix:/path
Prints "ready" once listening, then one line per finished connection:
    end PATH HOW BYTES
HOW: eof (read returned 0), reset (ECONNRESET), sent (response written,
closed normally), rst (we reset it), error:TEXT.

Requests (the head is read up to the blank line; nothing after it is read
unless the path says so):
  GET /full/N    N pattern bytes with Content-Length N, then a normal close
                 (shutdown(SHUT_WR), wait for the peer's EOF, close)
  GET /reset/N   Content-Length 4*N, N bytes, then close with SO_LINGER 0:
                 the peer sees a TCP reset in the middle of the response
  GET /stream    Content-Length 10^12, pattern bytes until the peer or a
                 signal ends it; never reads again (anything the client
                 sends later stays unread in the socket)
  GET /          "hello from the enclave app" (as build/tools/upstream)
  GET /hold      no response; reads until the connection ends and reports
                 how: "eof" or "reset"
"""
import os
import socket
import struct
import sys
import threading

PERIOD = 251
PATTERN = bytes(i % PERIOD for i in range(65536 + PERIOD))


def chunk(pos, n):
    off = pos % PERIOD
    return PATTERN[off:off + n]


def report(path, how, nbytes):
    sys.stdout.write("end %s %s %d\n" % (path, how, nbytes))
    sys.stdout.flush()


def read_head(c):
    buf = b""
    while b"\r\n\r\n" not in buf:
        d = c.recv(4096)
        if not d:
            return None, buf
        buf += d
        if len(buf) > 65536:
            return None, buf
    head, _, rest = buf.partition(b"\r\n\r\n")
    return head.decode("latin-1"), rest


def send_pattern(c, n):
    pos = 0
    while pos < n:
        k = min(65536, n - pos)
        c.sendall(chunk(pos, k))
        pos += k


def serve(c):
    path = "-"
    try:
        head, rest = read_head(c)
        if head is None:
            report("-", "eof-before-request", len(rest))
            return
        path = head.split("\r\n")[0].split(" ")[1]
        if path.startswith("/full/"):
            n = int(path[6:])
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n"
                      b"Connection: close\r\n\r\n" % n)
            send_pattern(c, n)
            c.shutdown(socket.SHUT_WR)
            c.settimeout(10)
            while c.recv(65536):
                pass
            report(path, "sent", n)
        elif path.startswith("/reset/"):
            n = int(path[7:])
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n"
                      b"Connection: close\r\n\r\n" % (4 * n))
            send_pattern(c, n)
            threading.Event().wait(0.3)  # let the bytes reach nacred first
            c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                         struct.pack("ii", 1, 0))
            c.close()
            report(path, "rst", n)
            return
        elif path == "/stream":
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000000000\r\n"
                      b"Connection: close\r\n\r\n")
            pos = 0
            while True:
                c.sendall(chunk(pos, 65536))
                pos += 65536
        elif path == "/hold":
            total = len(rest)
            while True:
                d = c.recv(65536)
                if not d:
                    report(path, "eof", total)
                    break
                total += len(d)
        elif path == "/":
            body = b"hello from the enclave app\n"
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n"
                      b"Connection: close\r\n\r\n%s" % (len(body), body))
            report(path, "sent", len(body))
        else:
            c.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n"
                      b"Connection: close\r\n\r\n")
            report(path, "sent", 0)
    except ConnectionResetError:
        report(path, "reset", 0)
    except BrokenPipeError:
        report(path, "reset", 0)
    except OSError as e:
        report(path, "error:%s" % e.strerror, 0)
    finally:
        try:
            c.close()
        except OSError:
            pass


def main():
    args = sys.argv[1:]
    if len(args) != 2 or args[0] != "--listen":
        sys.stderr.write(__doc__)
        sys.exit(2)
    addr = args[1]
    if addr.startswith("unix:"):
        path = addr[5:]
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(path)
    elif addr.startswith("tcp:"):
        host, port = addr[4:].rsplit(":", 1)
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((host, int(port)))
    else:
        sys.exit("app.py: bad address %s" % addr)
    s.listen(128)
    print("ready", flush=True)
    while True:
        c, _ = s.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()


if __name__ == "__main__":
    main()
