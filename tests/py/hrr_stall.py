"""hrr_stall.py HOST PORT SECONDS [EXT_HEX]: sends a TLS 1.3 ClientHello
with no key share (supported_groups x25519 only), so the server must answer
with a HelloRetryRequest, plus extension 0xff4e carrying EXT_HEX (default:
version 2 with a 16-byte nonce, a request for fresh evidence). Prints "hrr"
once the HelloRetryRequest has arrived, then holds the connection open for
SECONDS without sending the second ClientHello: a client that stalls mid-
handshake. Exit 0 when an HRR came, 1 otherwise. Standard library only."""
import os
import socket
import struct
import sys
import time

HRR_RANDOM = bytes.fromhex(
    "cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c")


def ext(t, body):
    return struct.pack("!HH", t, len(body)) + body


def client_hello(attest):
    exts = b"".join([
        ext(0x002b, b"\x02\x03\x04"),                  # supported_versions: 1.3
        ext(0x000a, b"\x00\x02\x00\x1d"),              # supported_groups: x25519
        ext(0x000d, b"\x00\x04\x04\x03\x08\x04"),      # signature_algorithms
        ext(0x0033, b"\x00\x00"),                      # key_share: none
        ext(0x0000, struct.pack("!HBH", 12, 0, 9) + b"localhost"),  # SNI
        ext(0xff4e, attest),
    ])
    body = (b"\x03\x03" + os.urandom(32) + b"\x20" + os.urandom(32) +
            b"\x00\x02\x13\x01" + b"\x01\x00" +
            struct.pack("!H", len(exts)) + exts)
    hs = b"\x01" + struct.pack("!I", len(body))[1:] + body
    return b"\x16\x03\x01" + struct.pack("!H", len(hs)) + hs


def main():
    host, port, hold = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    attest = bytes.fromhex(sys.argv[4] if len(sys.argv) > 4 else
                           "0210" + "00" * 16)
    s = socket.create_connection((host, port), timeout=5)
    s.sendall(client_hello(attest))
    buf = b""
    while len(buf) < 5 + 4 + 2 + 32:
        d = s.recv(4096)
        if not d:
            break
        buf += d
    # record header (5), handshake type 2 + length (4), legacy_version (2)
    if len(buf) >= 43 and buf[0] == 0x16 and buf[5] == 2 and \
            buf[11:43] == HRR_RANDOM:
        print("hrr", flush=True)
        time.sleep(hold)
        s.close()
        return 0
    print("no hrr: %s" % buf[:16].hex(), flush=True)
    return 1


if __name__ == "__main__":
    sys.exit(main())
