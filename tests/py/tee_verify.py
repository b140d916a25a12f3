#!/usr/bin/python3
"""tee_verify.py: a second, independent verifier of nacre's Intel TDX and AMD
SEV-SNP evidence, written from the specifications, not from nacre's C code:
docs/evidence-format.md (1-2 the certificate and its id-pe-cmw extension, 5
the claims map, 8.3 the handshake binding "hs", 9 the TDX/SNP envelope and
REPORTDATA), Intel's TDX DCAP quote format (quote v4/v5: header, TD report
body, ECDSA quote signature data, certification data type 6 = QE report with
nested type 5 = PCK chain) and AMD's SEV-SNP firmware ABI (ATTESTATION_REPORT)
with its VCEK certificate profile (KDS).

  tee_verify.py cert CERT --root ROOT.pem [--collateral DIR]
                [--mrtd HEX | --measurement HEX] [--nonce-hs HEX]
                [--fresh SESSION_JSON] [--at UNIXTIME] [--max-age S]
                [--vcek DER --ask DER] [--allow-debug]
  tee_verify.py tdx-quote QUOTE --root ROOT.pem [--collateral DIR]
                [--mrtd HEX] [--report-data HEX] [--at UNIXTIME]
  tee_verify.py snp-report REPORT --vcek VCEK.der (--chain ASK_ARK.pem |
                --ask ASK --ark ARK) [--measurement HEX] [--report-data HEX]
                [--at UNIXTIME] [--allow-debug]

cert: CERT (PEM or DER) is a TLS certificate nacred served. Its one
non-critical id-pe-cmw extension (1.3.6.1.5.5.7.1.35) holds a DER OCTET
STRING with the CBOR CMW record [type, value, 4]; the type selects TDX
(application/vnd.nacre.tdx-evidence+cbor) or SNP
(application/vnd.nacre.snp-evidence+cbor); the value is the envelope
{1: quote|report, 2: claims, 3: [VCEK, ASK, ARK]} (deterministic CBOR,
decoded strictly). REPORTDATA must be SHA-512("nacre-report-data-v1" ||
u32(len spki) || spki || u32(len claims) || claims) over the certificate's
SubjectPublicKeyInfo and the envelope's claims. --root is the Intel SGX Root
CA (or a simulated one) for TDX, the AMD Root Key (ARK) for SNP.

TDX: quote v4 or v5 (TD 1.0/1.5 body), ECDSA P-256 attestation key; PCK
chain (PEM, in the quote) to --root; QE report signed by the PCK leaf; QE
report data = SHA-256(attestation key || QE auth data) || 32 zero bytes;
quote signature over header || body. With --collateral DIR (PCS TCB Info
and QE Identity JSON, their signing chain as PEM, PCK and root CRLs as DER
or PEM): CRLs, TCB Info and QE Identity signatures and validity, FMSPC /
PCE-ID, QE identity, and the TCB level (Intel QVL's rules for TDX); the
status must be UpToDate unless --accept-tcb lists others.

SNP: 1184-byte report, version 2..5, signature algorithm 1 (ECDSA P-384
SHA-384), signed by the VCEK; VCEK -> ASK -> ARK each RSASSA-PSS SHA-384
(MGF1-SHA-384, salt 48) with the ARK = --root; the VCEK's TCB extensions
equal REPORTED_TCB and its hwID CHIP_ID; signature (r, s: 72-byte
little-endian) over bytes [0, 0x2A0).

Policy: --mrtd / --measurement pin the code; a debug TD or debuggable SNP
guest is refused unless --allow-debug; --nonce-hs or --fresh SESSION_JSON
(the handshake values, docs/evidence-format.md 8.3) require "hs";
--max-age bounds "iat". Certificates are checked at --at (default now).

Not checked (deliberately): without --collateral, the TDX TCB level and
CRLs; with it, a TCB level's tcbDate and advisories are shown, not judged,
and TD 1.5's TEE_TCB_SVN2 / MRSERVICETD take no part; SNP: VLEK-signed
reports, AMD's CRLs, minimum TCB, HOST_DATA / ID key expectations; RTMRs,
MRCONFIGID and MROWNER are shown, not pinned; the TLS certificate's own
validity and self-signature (trust comes from the evidence).

Prints one JSON line and exits 0 when everything verifies; prints one line
"FAIL <check>: <reason>" and exits 1 when a check fails; exits 2 on usage
errors. Needs Debian's python3-cryptography (run /usr/bin/python3); the
CBOR is read by the strict deterministic decoder below, not cbor2.
"""
import argparse
import base64
import datetime
import glob
import hashlib
import json
import os
import re
import struct
import sys
import time
import warnings

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils

# AMD's VCEKs have a non-positive serial number, which cryptography reads
# with a deprecation warning; the serial plays no part here
warnings.filterwarnings("ignore", message=".*serial number.*")

OID_CMW = "1.3.6.1.5.5.7.1.35"
MT_TDX = "application/vnd.nacre.tdx-evidence+cbor"
MT_SNP = "application/vnd.nacre.snp-evidence+cbor"
MT_NITRO = "application/aws-nitro-document"
REPORT_DATA_LABEL = b"nacre-report-data-v1"
FRESH_LABEL = b"nacre-fresh-v1"


class Fail(Exception):
    """a check failed: .check names it, the message says why"""

    def __init__(self, check, why):
        Exception.__init__(self, why)
        self.check = check


def need(cond, check, why):
    if not cond:
        raise Fail(check, why)


def utc(t):
    return datetime.datetime.utcfromtimestamp(t)


# ---------------------------------------------------------------- DER ----
# A small DER reader (X.690): definite, minimal lengths; enough to walk
# certificates, extensions and algorithm identifiers byte by byte.

def der_tlv(b, off, end, check="der"):
    """(tag, content start, content end) of the TLV at off, within end"""
    need(off + 2 <= end, check, "DER: truncated at %d" % off)
    tag = b[off]
    need(tag & 0x1F != 0x1F, check, "DER: high tag number at %d" % off)
    n = b[off + 1]
    p = off + 2
    if n & 0x80:
        k = n & 0x7F
        need(1 <= k <= 4 and p + k <= end, check, "DER: bad length at %d" % off)
        n = int.from_bytes(b[p:p + k], "big")
        need(b[p] != 0 and n >= 0x80, check,
             "DER: non-minimal length at %d" % off)
        p += k
    need(p + n <= end, check, "DER: length past the end at %d" % off)
    return tag, p, p + n


def der_children(b, start, end, check="der"):
    out = []
    off = start
    while off < end:
        t, s, e = der_tlv(b, off, end, check)
        out.append((t, s, e, off))
        off = e
    return out


def der_oid(body):
    """dotted string of an OBJECT IDENTIFIER's content bytes"""
    arcs = []
    v = 0
    for i, c in enumerate(body):
        v = (v << 7) | (c & 0x7F)
        if not c & 0x80:
            arcs.append(v)
            v = 0
    if not arcs:
        return ""
    first = arcs[0]
    head = [0, first] if first < 40 else ([1, first - 40] if first < 80
                                          else [2, first - 80])
    return ".".join(str(a) for a in head + arcs[1:])


def der_int(body):
    return int.from_bytes(body, "big", signed=True)


class Cert:
    """a DER certificate: cryptography's object plus the raw pieces
    (TBS, the two signature AlgorithmIdentifiers, SPKI, extensions)"""

    def __init__(self, der, what, eager_ext=True, chk="certificate"):
        self.der = bytes(der)
        self.what = what
        b = self.der
        t, s, e = der_tlv(b, 0, len(b), chk)
        need(t == 0x30 and e == len(b), chk,
             "%s: not one DER certificate (trailing bytes?)" % what)
        top = der_children(b, s, e, chk)
        need(len(top) == 3 and top[0][0] == 0x30 and top[1][0] == 0x30 and
             top[2][0] == 0x03, chk, "%s: not a Certificate SEQUENCE" % what)
        self.tbs = b[top[0][3]:top[0][2]]
        self.sigalg = b[top[1][3]:top[1][2]]
        tbs = der_children(b, top[0][1], top[0][2], chk)
        i = 1 if tbs and tbs[0][0] == 0xA0 else 0
        need(len(tbs) >= i + 6, chk, "%s: short TBSCertificate" % what)
        self.tbs_sigalg = b[tbs[i + 1][3]:tbs[i + 1][2]]
        self.spki = b[tbs[i + 5][3]:tbs[i + 5][2]]
        need(tbs[i + 5][0] == 0x30, chk, "%s: no SubjectPublicKeyInfo" % what)
        # extensions: [3] EXPLICIT SEQUENCE OF Extension
        self.exts = []
        for t2, s2, e2, _ in tbs[i + 6:]:
            if t2 != 0xA3:
                continue
            lst = der_children(b, s2, e2, chk)
            need(len(lst) == 1 and lst[0][0] == 0x30, chk,
                 "%s: bad extensions" % what)
            for t3, s3, e3, _ in der_children(b, lst[0][1], lst[0][2], chk):
                need(t3 == 0x30, chk, "%s: bad extension" % what)
                f = der_children(b, s3, e3, chk)
                need(len(f) in (2, 3) and f[0][0] == 0x06 and
                     f[-1][0] == 0x04, chk, "%s: bad extension" % what)
                crit = None
                if len(f) == 3:
                    need(f[1][0] == 0x01 and f[1][2] - f[1][1] == 1, chk,
                         "%s: bad extension critical flag" % what)
                    crit = b[f[1][1]]
                self.exts.append((der_oid(b[f[0][1]:f[0][2]]), crit,
                                  b[f[-1][1]:f[-1][2]]))
        try:
            self.x = x509.load_der_x509_certificate(self.der)
            # cryptography parses lazily: read now what the checks use
            self.x.subject, self.x.issuer, self.x.public_key()
            self.x.not_valid_before, self.x.not_valid_after
            if eager_ext:
                self.x.extensions
        except Exception as ex:
            raise Fail(chk, "%s: cryptography cannot read it (%s: %s)" %
                       (what, type(ex).__name__, " ".join(str(ex).split())[:200]))

    def ext_values(self, oid):
        return [v for o, _, v in self.exts if o == oid]

    def cn(self):
        try:
            a = self.x.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
            return a[0].value if a else self.x.subject.rfc4514_string()
        except Exception:
            return "?"


def load_pem_certs(data, what, check, eager_ext=True):
    blocks = re.findall(rb"-----BEGIN CERTIFICATE-----(.+?)-----END "
                        rb"CERTIFICATE-----", data, re.S)
    out = []
    for i, blk in enumerate(blocks):
        try:
            der = base64.b64decode(b"".join(blk.split()), validate=True)
        except Exception:
            raise Fail(check, "%s[%d]: bad base64" % (what, i))
        out.append(Cert(der, "%s[%d]" % (what, i), eager_ext, check))
    return out


def is_pem(raw):
    """PEM, or DER (whose contents may hold PEM text: a TDX quote's PCK
    chain inside a DER certificate's extension)"""
    return raw[:1] != b"\x30" and b"-----BEGIN" in raw


def read_cert_file(path, what):
    raw = open(path, "rb").read()
    if is_pem(raw):
        certs = load_pem_certs(raw, what, "usage")
        need(certs, "usage", "%s: no certificate in %s" % (what, path))
        return certs[0]
    return Cert(raw, what)


# ------------------------------------------------------------ X.509 path ----

def check_validity(c, at, check):
    nb, na = c.x.not_valid_before, c.x.not_valid_after
    need(nb <= utc(at) <= na, check, "%s (%s) not valid at %sZ (valid %s .. %s)"
         % (c.what, c.cn(), utc(at).isoformat(), nb.isoformat(),
            na.isoformat()))


def basic_constraints(c):
    try:
        return c.x.extensions.get_extension_for_class(x509.BasicConstraints)
    except x509.ExtensionNotFound:
        return None


def check_ca(c, check):
    bc = basic_constraints(c)
    need(bc is not None and bc.value.ca, check,
         "%s (%s) is not a CA (basicConstraints CA:TRUE)" % (c.what, c.cn()))
    try:
        ku = c.x.extensions.get_extension_for_class(x509.KeyUsage)
        need(ku.value.key_cert_sign, check,
             "%s (%s): keyUsage lacks keyCertSign" % (c.what, c.cn()))
    except x509.ExtensionNotFound:
        pass


def ecdsa_check_issued(issuer, c, check):
    """c's issuer name is issuer's subject and issuer's EC key signed it"""
    need(c.x.issuer == issuer.x.subject, check,
         "%s (%s): issuer name is not %s's subject" % (c.what, c.cn(),
                                                      issuer.cn()))
    need(c.sigalg == c.tbs_sigalg, check,
         "%s: the two signature algorithms differ" % c.what)
    pub = issuer.x.public_key()
    need(isinstance(pub, ec.EllipticCurvePublicKey), check,
         "%s: issuer key is not ECDSA" % c.what)
    try:
        h = c.x.signature_hash_algorithm
        pub.verify(c.x.signature, c.tbs, ec.ECDSA(h))
    except InvalidSignature:
        raise Fail(check, "%s (%s): signature by %s does not verify"
                   % (c.what, c.cn(), issuer.cn()))
    except Exception as ex:
        raise Fail(check, "%s: signature unreadable (%s)" % (c.what, ex))


# ---------------------------------------------------------------- CBOR ----
# Deterministic CBOR (RFC 8949 4.2.1) only: definite lengths, minimal heads,
# map keys sorted bytewise by their encodings (so no duplicates), no tags,
# no floats; simple values false/true/null.

class Cbor:
    def __init__(self, data, what, check):
        self.b = bytes(data)
        self.p = 0
        self.what = what
        self.check = check

    def fail(self, why):
        raise Fail(self.check, "%s: %s (at byte %d)" % (self.what, why, self.p))

    def head(self):
        if self.p >= len(self.b):
            self.fail("truncated")
        ib = self.b[self.p]
        self.p += 1
        major, ai = ib >> 5, ib & 0x1F
        if ai < 24:
            return major, ai
        if ai == 31:
            self.fail("indefinite length")
        if ai > 27:
            self.fail("reserved additional information %d" % ai)
        n = 1 << (ai - 24)
        if self.p + n > len(self.b):
            self.fail("truncated")
        v = int.from_bytes(self.b[self.p:self.p + n], "big")
        self.p += n
        if v < (24 if n == 1 else 1 << (4 * n)):
            self.fail("non-minimal head")
        return major, v

    def item(self, depth=0):
        if depth > 16:
            self.fail("nested too deep")
        major, v = self.head()
        if major == 0:
            return v
        if major == 1:
            return -1 - v
        if major in (2, 3):
            if self.p + v > len(self.b):
                self.fail("string past the end")
            s = self.b[self.p:self.p + v]
            self.p += v
            if major == 2:
                return s
            try:
                return s.decode("utf-8")
            except UnicodeDecodeError:
                self.fail("text string is not UTF-8")
        if major == 4:
            if v > len(self.b):
                self.fail("array too long")
            return [self.item(depth + 1) for _ in range(v)]
        if major == 5:
            if v > len(self.b):
                self.fail("map too long")
            out = {}
            prev = None
            for _ in range(v):
                k0 = self.p
                k = self.item(depth + 1)
                kenc = self.b[k0:self.p]
                if prev is not None and kenc == prev:
                    self.fail("duplicate map key %r" % (k,))
                if prev is not None and kenc < prev:
                    self.fail("map keys not in deterministic order (%r)" % (k,))
                prev = kenc
                if isinstance(k, (list, dict)):
                    self.fail("map key is an array or map")
                out[k] = self.item(depth + 1)
            return out
        if major == 6:
            self.fail("tag %d not allowed" % v)
        # major 7
        if v == 20:
            return False
        if v == 21:
            return True
        if v == 22:
            return None
        self.fail("simple value / float %d not allowed" % v)

    def whole(self):
        x = self.item()
        if self.p != len(self.b):
            self.fail("%d trailing bytes" % (len(self.b) - self.p))
        return x


# ----------------------------------------------- certificate -> envelope ----

def der_octet_string(b, check):
    """the contents of the one DER OCTET STRING that spans b"""
    need(len(b) >= 2 and b[0] == 0x04, check,
         "extnValue is not an OCTET STRING (the cbor choice of CMW)")
    t, s, e = der_tlv(b, 0, len(b), check)
    need(e == len(b), check, "extnValue: %d trailing bytes after the CMW "
         "OCTET STRING" % (len(b) - e))
    return b[s:e]


def cmw_from_cert(cert):
    """docs/evidence-format.md 1-2: exactly one id-pe-cmw, non-critical,
    extnValue = DER OCTET STRING (the cbor CMW) = CBOR [type, value, ind]"""
    found = [(crit, v) for o, crit, v in cert.exts if o == OID_CMW]
    need(found, "cmw", "the certificate has no id-pe-cmw extension "
         "(1.3.6.1.5.5.7.1.35)")
    need(len(found) == 1, "cmw", "the certificate has %d id-pe-cmw "
         "extensions, must be exactly one" % len(found))
    crit, val = found[0]
    need(crit is None, "cmw", "id-pe-cmw: the critical field is present "
         "(%s); it must be absent (non-critical, DER)" %
         ("TRUE" if crit else "FALSE"))
    return cmw_record(der_octet_string(val, "cmw"))


def cmw_record(rec_bytes):
    rec = Cbor(rec_bytes, "CMW record", "cmw").whole()
    need(isinstance(rec, list) and len(rec) in (2, 3), "cmw",
         "CMW: not a record [type, value, indicator]")
    need(isinstance(rec[0], str), "cmw", "CMW: type is not a text string")
    need(isinstance(rec[1], bytes) and len(rec[1]) >= 1, "cmw",
         "CMW: value is not a non-empty byte string")
    need(len(rec) == 2 or (isinstance(rec[2], int) and rec[2] >= 0 and
                           rec[2] & 4), "cmw",
         "CMW: indicator %r does not say evidence (bit 2)" % (rec[2:],))
    need(rec[0] in (MT_TDX, MT_SNP), "cmw",
         "CMW: media type %r is not TDX or SNP evidence%s" %
         (rec[0], " (Nitro: use nitro_verify.py)" if rec[0] == MT_NITRO
          else ""))
    return rec[0], rec[1]


def decode_envelope(value, platform):
    """docs/evidence-format.md 9.2"""
    env = Cbor(value, "envelope", "envelope").whole()
    need(isinstance(env, dict), "envelope", "envelope: not a map")
    for k in env:
        need(k in (1, 2, 3), "envelope", "envelope: unknown key %r" % (k,))
    need(1 in env and 2 in env, "envelope",
         "envelope: key 1 (quote/report) and key 2 (claims) are required")
    ev, claims = env[1], env[2]
    need(isinstance(ev, bytes) and 1 <= len(ev) <= 16384, "envelope",
         "envelope: key 1 is not a byte string of 1..16384 bytes")
    need(isinstance(claims, bytes) and 1 <= len(claims) <= 4096, "envelope",
         "envelope: key 2 (claims) is not a byte string of 1..4096 bytes")
    certs = None
    if 3 in env:
        need(platform == "snp", "envelope",
             "envelope: key 3 (certificates) is for SNP only")
        certs = env[3]
        need(isinstance(certs, list) and 1 <= len(certs) <= 4, "envelope",
             "envelope: key 3 is not an array of 1..4 certificates")
        for i, c in enumerate(certs):
            need(isinstance(c, bytes) and 1 <= len(c) <= 8192, "envelope",
                 "envelope: key 3[%d] is not a certificate of 1..8192 bytes" % i)
    return ev, claims, certs


def decode_claims(raw, platform):
    """docs/evidence-format.md 5 (and 9.4 "iat")"""
    c = Cbor(raw, "claims", "claims").whole()
    need(isinstance(c, dict), "claims", "claims: not a map")
    need("v" in c, "claims", "claims: no \"v\"")
    need(c["v"] == 1 and c["v"] is not True, "claims",
         "claims: version %r, only 1 is known" % (c["v"],))

    def b32(k):
        if k in c:
            need(isinstance(c[k], bytes) and len(c[k]) == 32, "claims",
                 "claims: \"%s\" is not a 32-byte string" % k)

    for k in ("hs", "cfg", "acme-jkt"):
        b32(k)
    need("cfg" in c, "claims", "claims: no \"cfg\" (present in version 1)")
    if platform in ("tdx", "snp"):
        need("iat" in c, "claims",
             "claims: no \"iat\" (required on TDX and SNP, 9.4)")
    if "iat" in c:
        need(isinstance(c["iat"], int) and not isinstance(c["iat"], bool) and
             c["iat"] >= 0, "claims", "claims: \"iat\" is not an unsigned "
             "integer")
    if "acme-url" in c:
        u = c["acme-url"]
        need(isinstance(u, str) and 1 <= len(u.encode()) <= 2048, "claims",
             "claims: \"acme-url\" is not a text of 1..2048 bytes")
    need(("acme-url" in c) == ("acme-jkt" in c), "claims",
         "claims: \"acme-url\" and \"acme-jkt\" go together")
    if "acme-keys" in c:
        need("acme-url" in c, "claims", "claims: \"acme-keys\" without "
             "\"acme-url\"")
        ks = c["acme-keys"]
        need(isinstance(ks, list) and 1 <= len(ks) <= 16 and
             all(isinstance(k, bytes) and len(k) == 32 for k in ks),
             "claims", "claims: \"acme-keys\" is not 1..16 32-byte strings")
    return c


def claims_json(c):
    out = {}
    for k, v in c.items():
        if isinstance(v, bytes):
            out[str(k)] = v.hex()
        elif isinstance(v, list):
            out[str(k)] = [x.hex() if isinstance(x, bytes) else x for x in v]
        else:
            out[str(k)] = v
    return out


def nacre_report_data(spki, claims):
    """docs/evidence-format.md 9.3"""
    return hashlib.sha512(REPORT_DATA_LABEL +
                          struct.pack(">I", len(spki)) + spki +
                          struct.pack(">I", len(claims)) + claims).digest()


def fresh_binding(s):
    """docs/evidence-format.md 8.3"""
    nonce = bytes.fromhex(s["nonce"])
    cr = bytes.fromhex(s["client_random"])
    sr = bytes.fromhex(s["server_random"])
    cs = bytes.fromhex(s["client_share"])
    ss = bytes.fromhex(s["server_share"])
    need(len(nonce) <= 255 and len(cr) == 32 and len(sr) == 32, "usage",
         "session: bad nonce or randoms")
    return hashlib.sha256(FRESH_LABEL + bytes([len(nonce)]) + nonce + cr +
                          sr + struct.pack(">H", len(cs)) + cs +
                          struct.pack(">H", len(ss)) + ss).digest()


# ----------------------------------------------------------------- TDX ----
# Intel TDX DCAP quote (Quoting Library API, "Quote Format"), little-endian:
#  header 48: version u16 | att_key_type u16 | tee_type u32 | reserved 4 |
#             qe_vendor_id 16 | user_data 20
#  v4: TD report body (TD 1.0, 584 bytes) at 48
#  v5: body type u16 | body size u32 | body (type 2: TD 1.0, 584;
#      type 3: TD 1.5, 648 = + TEE_TCB_SVN2 16 + MRSERVICETD 48)
#  then signature data length u32 | signature data:
#      ECDSA signature r||s 64 | attestation key x||y 64 |
#      certification data: type u16 (6) | size u32 |
#          QE report 384 | QE report signature 64 | QE auth data size u16 |
#          QE auth data | certification data: type u16 (5) | size u32 |
#          PCK certificate chain (PEM)

TD_BODY_FIELDS = [  # (name, size) of the TD 1.0 body
    ("tee_tcb_svn", 16), ("mrseam", 48), ("mrsignerseam", 48),
    ("seam_attributes", 8), ("td_attributes", 8), ("xfam", 8),
    ("mrtd", 48), ("mrconfigid", 48), ("mrowner", 48),
    ("mrownerconfig", 48), ("rtmr0", 48), ("rtmr1", 48), ("rtmr2", 48),
    ("rtmr3", 48), ("report_data", 64)]
TD15_FIELDS = [("tee_tcb_svn2", 16), ("mrservicetd", 48)]
INTEL_QE_VENDOR_ID = bytes.fromhex("939a7233f79c4ca9940a0db3957f0607")
OID_SGX_EXT = "1.2.840.113741.1.13.1"


def parse_quote(q):
    chk = "quote-format"
    need(len(q) >= 48, chk, "quote: %d bytes, shorter than a header" % len(q))
    ver, akt, tee = struct.unpack_from("<HHI", q, 0)
    need(ver in (4, 5), chk, "quote: version %d (4 or 5 supported)" % ver)
    need(akt == 2, chk, "quote: attestation key type %d (2 = ECDSA P-256 "
         "supported)" % akt)
    need(tee == 0x81, chk, "quote: TEE type 0x%x is not TDX (0x81)" % tee)
    out = {"version": ver, "qe_vendor_id": q[12:28],
           "header_user_data": q[28:48]}
    if ver == 4:
        body_off, body_type, body_len = 48, 2, 584
    else:
        need(len(q) >= 54, chk, "quote v5: truncated body descriptor")
        body_type, body_len = struct.unpack_from("<HI", q, 48)
        need((body_type, body_len) in ((2, 584), (3, 648)), chk,
             "quote v5: body type %d size %d (TD 1.0 = 2/584, TD 1.5 = "
             "3/648 supported)" % (body_type, body_len))
        body_off = 54
    signed_end = body_off + body_len
    need(len(q) >= signed_end + 4, chk, "quote: truncated body")
    body = q[body_off:signed_end]
    p = 0
    fields = TD_BODY_FIELDS + (TD15_FIELDS if body_type == 3 else [])
    for name, n in fields:
        out[name] = body[p:p + n]
        p += n
    assert p == body_len
    out["body_type"] = body_type
    out["signed"] = q[:signed_end]
    (sd_len,) = struct.unpack_from("<I", q, signed_end)
    sd_off = signed_end + 4
    need(sd_len <= len(q) - sd_off, chk, "quote: signature data length %d "
         "past the end (%d bytes left)" % (sd_len, len(q) - sd_off))
    sd = q[sd_off:sd_off + sd_len]
    out["trailing"] = len(q) - sd_off - sd_len
    need(len(sd) >= 128 + 6, chk, "quote: signature data too short")
    out["signature"] = sd[0:64]
    out["att_key"] = sd[64:128]
    ct, cl = struct.unpack_from("<HI", sd, 128)
    need(ct == 6, chk, "quote: certification data type %d (6 = QE report "
         "certification data expected)" % ct)
    need(134 + cl == len(sd), chk, "quote: certification data size %d does "
         "not fill the signature data (%d)" % (cl, len(sd) - 134))
    c = sd[134:]
    need(len(c) >= 384 + 64 + 2, chk, "quote: QE report certification data "
         "truncated")
    out["qe_report"] = c[0:384]
    out["qe_report_sig"] = c[384:448]
    (al,) = struct.unpack_from("<H", c, 448)
    need(450 + al + 6 <= len(c), chk, "quote: QE auth data size %d past the "
         "end" % al)
    out["qe_auth"] = c[450:450 + al]
    p = 450 + al
    it, il = struct.unpack_from("<HI", c, p)
    need(it == 5, chk, "quote: nested certification data type %d (5 = PCK "
         "chain expected)" % it)
    need(p + 6 + il == len(c), chk, "quote: PCK chain size %d does not fill "
         "the QE report certification data" % il)
    out["pck_pem"] = c[p + 6:]
    # QE report: an SGX report body (384 bytes)
    r = out["qe_report"]
    out["qe"] = {"cpusvn": r[0:16], "miscselect": r[16:20],
                 "attributes": r[48:64], "mrenclave": r[64:96],
                 "mrsigner": r[128:160],
                 "isvprodid": struct.unpack_from("<H", r, 256)[0],
                 "isvsvn": struct.unpack_from("<H", r, 258)[0],
                 "report_data": r[320:384]}
    return out


def p256_key(raw64, check):
    try:
        return ec.EllipticCurvePublicKey.from_encoded_point(
            ec.SECP256R1(), b"\x04" + raw64)
    except ValueError:
        raise Fail(check, "the attestation key is not a P-256 point")


def raw_ecdsa_verify(pub, rs, data, h, check, why):
    n = len(rs) // 2
    sig = utils.encode_dss_signature(int.from_bytes(rs[:n], "big"),
                                     int.from_bytes(rs[n:], "big"))
    try:
        pub.verify(sig, data, ec.ECDSA(h))
    except InvalidSignature:
        raise Fail(check, why)


def verify_pck_chain(pem, root, at):
    """PEM chain from the quote: leaf, intermediate(s), [root]; to root"""
    chk = "pck-chain"
    pem = pem.rstrip(b"\x00")
    certs = load_pem_certs(pem, "PCK chain", chk)
    need(len(certs) >= 2, chk, "PCK chain: %d certificates (leaf, CA, root "
         "expected)" % len(certs))
    for i, c in enumerate(certs):
        c.what = ["PCK leaf", "PCK CA"][i] if i < 2 else "PCK chain[%d]" % i
    if certs[-1].x.subject == certs[-1].x.issuer:
        top = certs.pop()
        need(top.der == root.der, "untrusted-root",
             "the quote's root (%s, sha256 %s) is not the given root "
             "(sha256 %s)" % (top.cn(), hashlib.sha256(top.der).hexdigest(),
                              hashlib.sha256(root.der).hexdigest()))
    ecdsa_check_issued(root, root, chk)
    path = certs + [root]
    for i, c in enumerate(path):
        check_validity(c, at, chk)
        if i + 1 < len(path):
            ecdsa_check_issued(path[i + 1], c, chk)
        if i > 0:
            check_ca(c, chk)
    leaf = certs[0]
    bc = basic_constraints(leaf)
    need(bc is None or not bc.value.ca, chk, "PCK leaf is a CA")
    k = leaf.x.public_key()
    need(isinstance(k, ec.EllipticCurvePublicKey) and
         k.curve.name == "secp256r1", chk, "PCK leaf key is not P-256")
    return certs


def sgx_extensions(leaf):
    """Intel SGX PCK certificate extensions (1.2.840.113741.1.13.1): a
    SEQUENCE of SEQUENCE {OID, value}; TCB (.2) nests 16 components, PCESVN
    (.2.17) and CPUSVN (.2.18)"""
    chk = "pck-extension"
    vals = leaf.ext_values(OID_SGX_EXT)
    need(len(vals) == 1, chk, "PCK leaf: %d SGX extensions" % len(vals))
    b = vals[0]
    t, s, e = der_tlv(b, 0, len(b), chk)
    need(t == 0x30 and e == len(b), chk, "SGX extension: not a SEQUENCE")
    out = {}

    def walk(s, e, prefix):
        for t2, s2, e2, _ in der_children(b, s, e, chk):
            need(t2 == 0x30, chk, "SGX extension: entry not a SEQUENCE")
            f = der_children(b, s2, e2, chk)
            need(len(f) == 2 and f[0][0] == 0x06, chk,
                 "SGX extension: entry not {OID, value}")
            oid = der_oid(b[f[0][1]:f[0][2]])
            vt, vs, ve, _ = f[1]
            if vt == 0x30:
                walk(vs, ve, oid)
            elif vt == 0x02:
                out[oid] = der_int(b[vs:ve])
            else:
                out[oid] = b[vs:ve]

    walk(s, e, OID_SGX_EXT)
    base = OID_SGX_EXT
    r = {}
    try:
        r["fmspc"] = out[base + ".4"]
        r["pceid"] = out[base + ".3"]
        r["comps"] = [out[base + ".2.%d" % i] for i in range(1, 17)]
        r["pcesvn"] = out[base + ".2.17"]
        r["cpusvn"] = out[base + ".2.18"]
    except KeyError as k:
        raise Fail(chk, "PCK leaf: SGX extension %s missing" % k)
    need(len(r["fmspc"]) == 6 and len(r["pceid"]) == 2 and
         len(r["cpusvn"]) == 16 and all(0 <= x <= 255 for x in r["comps"]),
         chk, "PCK leaf: SGX extension values malformed")
    return r


def verify_tdx_quote(q, root, at, coll_dir=None, accept_tcb=("UpToDate",)):
    """returns the parsed quote; raises Fail"""
    Q = parse_quote(q)
    certs = verify_pck_chain(Q["pck_pem"], root, at)
    leaf = certs[0]
    raw_ecdsa_verify(leaf.x.public_key(), Q["qe_report_sig"], Q["qe_report"],
                     hashes.SHA256(), "qe-report-signature",
                     "the QE report signature does not verify with the PCK "
                     "leaf's key")
    want = hashlib.sha256(Q["att_key"] + Q["qe_auth"]).digest() + bytes(32)
    need(Q["qe"]["report_data"] == want, "qe-binding",
         "QE report data is not SHA-256(attestation key || QE auth data) "
         "|| 32 zero bytes")
    raw_ecdsa_verify(p256_key(Q["att_key"], "quote-signature"),
                     Q["signature"], Q["signed"], hashes.SHA256(),
                     "quote-signature", "the quote signature does not "
                     "verify with the attestation key over header || body")
    Q["pck"] = sgx_extensions(leaf)
    Q["pck_certs"] = certs
    if coll_dir:
        Q["tcb"] = tdx_collateral(Q, certs, root, at, coll_dir, accept_tcb)
    return Q


def tdx_json(Q):
    o = {"platform": "tdx", "quote_version": Q["version"],
         "body_type": "TD1.5" if Q["body_type"] == 3 else "TD1.0"}
    for k in ("tee_tcb_svn", "mrseam", "mrsignerseam", "seam_attributes",
              "td_attributes", "xfam", "mrtd", "mrconfigid", "mrowner",
              "mrownerconfig", "report_data", "tee_tcb_svn2", "mrservicetd",
              "qe_vendor_id"):
        if k in Q:
            o[k] = Q[k].hex()
    o["rtmrs"] = [Q["rtmr%d" % i].hex() for i in range(4)]
    o["debug"] = bool(Q["td_attributes"][0] & 1)
    o["qe"] = {"mrsigner": Q["qe"]["mrsigner"].hex(),
               "isvprodid": Q["qe"]["isvprodid"],
               "isvsvn": Q["qe"]["isvsvn"]}
    o["fmspc"] = Q["pck"]["fmspc"].hex()
    o["pck_chain"] = [c.cn() for c in Q["pck_certs"]]
    o["trailing_bytes"] = Q["trailing"]
    if "tcb" in Q:
        o["tcb"] = Q["tcb"]
    return o


# ---- TDX collateral (Intel PCS: TCB Info v3 "TDX", QE Identity v2 TD_QE) ----

def pcs_time(s, chk):
    try:
        return datetime.datetime.strptime(
            s.replace("Z", "").split(".")[0], "%Y-%m-%dT%H:%M:%S")
    except Exception:
        raise Fail(chk, "collateral: bad date %r" % (s,))


def raw_json_value(text, key, chk):
    """the bytes of the top-level "key" value exactly as in the document
    (what Intel signs)"""
    need(text.isascii(), chk, "collateral: %r document is not ASCII" % key)
    doc = json.loads(text)
    need(isinstance(doc, dict) and key in doc and "signature" in doc, chk,
         "collateral: no %r / signature" % key)
    dec = json.JSONDecoder()
    m = re.search(rb'"%s"\s*:\s*' % key.encode(), text)
    need(m is not None, chk, "collateral: %r not found" % key)
    obj, end = dec.raw_decode(text.decode("utf-8"), m.end())
    # raw_decode counts characters; the documents are ASCII
    need(obj == doc[key], chk, "collateral: %r appears twice" % key)
    return text[m.end():end], doc


def tdx_collateral(Q, pck_certs, root, at, d, accept):
    chk = "collateral"
    when = utc(at)
    files = sorted(glob.glob(os.path.join(d, "*")))
    pool = []
    crls = []
    tcbinfos = []
    qeids = []
    for f in files:
        try:
            raw = open(f, "rb").read()
        except OSError:  # a directory, or a key file of another user
            continue
        if f.endswith(".json"):
            try:
                doc = json.loads(raw)
            except ValueError:
                raise Fail(chk, "collateral: %s is not JSON" % f)
            if "tcbInfo" in doc:
                tcbinfos.append((f, raw))
            elif "enclaveIdentity" in doc:
                qeids.append((f, raw))
            continue
        if b"-----BEGIN CERTIFICATE-----" in raw:
            pool += load_pem_certs(raw, os.path.basename(f), chk)
        if b"-----BEGIN X509 CRL-----" in raw:
            for m in re.findall(rb"-----BEGIN X509 CRL-----.+?-----END X509 "
                                rb"CRL-----", raw, re.S):
                try:
                    crls.append((f, x509.load_pem_x509_crl(m)))
                except ValueError:
                    raise Fail("crl", "CRL %s: unreadable" % f)
        elif b"-----BEGIN" not in raw and raw[:1] == b"\x30":
            # DER: a CRL (CertificateList) or a certificate; else ignored
            try:
                crls.append((f, x509.load_der_x509_crl(raw)))
            except ValueError:
                if "crl" in os.path.basename(f).lower():
                    raise Fail("crl", "CRL %s: not a DER CRL" % f)
                try:
                    pool.append(Cert(raw, os.path.basename(f), True, chk))
                except Fail:
                    pass
    need(tcbinfos, chk, "collateral: no TCB Info JSON in %s" % d)
    need(qeids, chk, "collateral: no QE Identity JSON in %s" % d)
    # CRLs: each by its issuer (a certificate of the PCK chain or the root)
    issuers = pck_certs[1:] + [root]
    chain = pck_certs + [root]
    crl_by = {}
    for f, crl in crls:
        iss = [c for c in issuers if c.x.subject == crl.issuer]
        need(iss, chk, "collateral: CRL %s is issued by %s, not by a CA of "
             "the PCK chain" % (os.path.basename(f), crl.issuer.rfc4514_string()))
        need(crl.is_signature_valid(iss[0].x.public_key()), "crl",
             "CRL %s: signature by %s does not verify" %
             (os.path.basename(f), iss[0].cn()))
        need(crl.last_update <= when and (crl.next_update is None or
                                          when <= crl.next_update), "crl",
             "CRL %s not current at %sZ (%s .. %s)" %
             (os.path.basename(f), when.isoformat(), crl.last_update,
              crl.next_update))
        crl_by[iss[0].der] = crl
    for i, c in enumerate(chain[:-1]):
        crl = crl_by.get(chain[i + 1].der)
        if crl is not None:
            need(crl.get_revoked_certificate_by_serial_number(
                c.x.serial_number) is None, "revoked",
                "%s (%s) is revoked by its issuer's CRL" % (c.what, c.cn()))
    crl_note = "%d of %d links" % (sum(1 for i in range(len(chain) - 1)
                                       if chain[i + 1].der in crl_by),
                                   len(chain) - 1)

    def signed_by_tcb_signer(name, raw, key):
        body, doc = raw_json_value(raw, key, chk)
        sig = bytes.fromhex(doc["signature"])
        need(len(sig) == 64, chk, "%s: signature not 64 bytes" % name)
        for c in pool:
            k = c.x.public_key()
            if not isinstance(k, ec.EllipticCurvePublicKey):
                continue
            try:
                raw_ecdsa_verify(k, sig, body, hashes.SHA256(), "x", "x")
            except Fail:
                continue
            # the signer must chain to the root (TCB Signing <- root)
            c.what = "TCB signing certificate"
            if c.der != root.der:
                ecdsa_check_issued(root, c, "tcb-signing-chain")
                rc = crl_by.get(root.der)
                need(rc is None or rc.get_revoked_certificate_by_serial_number(
                    c.x.serial_number) is None, "revoked",
                    "the TCB signing certificate is revoked")
            check_validity(c, at, "tcb-signing-chain")
            return doc[key]
        raise Fail("collateral-signature", "%s: no certificate in %s whose "
                   "key verifies its signature" % (name, d))

    fmspc = Q["pck"]["fmspc"].hex().upper()
    pick = None
    for f, raw in tcbinfos:
        ti = json.loads(raw)["tcbInfo"]
        if str(ti.get("fmspc", "")).upper() == fmspc:
            pick = (f, raw)
    need(pick is not None, "fmspc-mismatch", "collateral: no TCB Info for "
         "the PCK's FMSPC %s" % fmspc)
    ti = signed_by_tcb_signer(os.path.basename(pick[0]), pick[1], "tcbInfo")
    qi = signed_by_tcb_signer(os.path.basename(qeids[0][0]), qeids[0][1],
                              "enclaveIdentity")
    try:
        need(ti["id"] == "TDX" and ti["version"] == 3, chk,
             "TCB Info: id %r version %r (TDX v3 expected)" %
             (ti.get("id"), ti.get("version")))
        need(qi["id"] == "TD_QE" and qi["version"] == 2, chk,
             "QE Identity: id %r version %r (TD_QE v2 expected)" %
             (qi.get("id"), qi.get("version")))
        for name, o in (("TCB Info", ti), ("QE Identity", qi)):
            a = pcs_time(o["issueDate"], chk)
            b = pcs_time(o["nextUpdate"], chk)
            need(a <= when, "collateral-time", "%s issued %s, after %sZ"
                 % (name, a, when.isoformat()))
            need(when <= b, "collateral-time", "%s expired %s (at %sZ)"
                 % (name, b, when.isoformat()))
        need(ti["pceId"].upper() == Q["pck"]["pceid"].hex().upper(),
             "fmspc-mismatch", "TCB Info PCE-ID %s is not the PCK's %s" %
             (ti["pceId"], Q["pck"]["pceid"].hex()))
        # QE identity
        qe = Q["qe"]

        def masked(v, m):
            return bytes(x & y for x, y in zip(v, m))

        need(qi["mrsigner"].upper() == qe["mrsigner"].hex().upper(),
             "qe-identity", "QE MRSIGNER is not the QE Identity's")
        need(qi["isvprodid"] == qe["isvprodid"], "qe-identity",
             "QE ISVPRODID %d is not %d" % (qe["isvprodid"], qi["isvprodid"]))
        mm = bytes.fromhex(qi["miscselectMask"])
        need(masked(qe["miscselect"], mm) ==
             masked(bytes.fromhex(qi["miscselect"]), mm), "qe-identity",
             "QE MISCSELECT does not match under the mask")
        am = bytes.fromhex(qi["attributesMask"])
        need(masked(qe["attributes"], am) ==
             masked(bytes.fromhex(qi["attributes"]), am), "qe-identity",
             "QE ATTRIBUTES do not match under the mask")
        qe_status = "OutOfDate"
        for lvl in qi["tcbLevels"]:
            if qe["isvsvn"] >= lvl["tcb"]["isvsvn"]:
                qe_status = lvl["tcbStatus"]
                break
        # platform TCB level
        pck = Q["pck"]
        svn = Q["tee_tcb_svn"]
        plat = None
        for lvl in ti["tcbLevels"]:
            t = lvl["tcb"]
            sgx = [c["svn"] for c in t["sgxtcbcomponents"]]
            if not (all(p >= s for p, s in zip(pck["comps"], sgx)) and
                    pck["pcesvn"] >= t["pcesvn"]):
                continue
            if lvl["tcbStatus"] == "Revoked":
                plat = lvl
                break
            tdx = [c["svn"] for c in t["tdxtcbcomponents"]]
            start = 2 if svn[1] > 0 else 0
            if all(svn[i] >= tdx[i] for i in range(start, 16)):
                plat = lvl
                break
        need(plat is not None, "tcb-level", "no TCB level of the TCB Info "
             "(FMSPC %s) covers this platform (PCK SGX components %s, "
             "PCESVN %d, TEE_TCB_SVN %s)" % (fmspc, pck["comps"],
                                            pck["pcesvn"], svn.hex()))
        status = plat["tcbStatus"]
        module_status = None
        if svn[1] == 0:
            m = ti.get("tdxModule")
            if m is not None:
                need(m["mrsigner"].upper() == Q["mrsignerseam"].hex().upper(),
                     "tdx-module", "MRSIGNERSEAM is not the TCB Info's "
                     "TDX module signer")
                mk = bytes.fromhex(m["attributesMask"])
                need(masked(Q["seam_attributes"], mk) ==
                     masked(bytes.fromhex(m["attributes"]), mk), "tdx-module",
                     "SEAMATTRIBUTES do not match under the mask")
        else:
            mid = "TDX_%02X" % svn[1]
            ent = [e for e in ti.get("tdxModuleIdentities", [])
                   if e["id"].upper() == mid]
            need(ent, "tdx-module", "TCB Info has no TDX module identity %s"
                 % mid)
            e = ent[0]
            need(e["mrsigner"].upper() == Q["mrsignerseam"].hex().upper(),
                 "tdx-module", "MRSIGNERSEAM is not %s's" % mid)
            mk = bytes.fromhex(e["attributesMask"])
            need(masked(Q["seam_attributes"], mk) ==
                 masked(bytes.fromhex(e["attributes"]), mk), "tdx-module",
                 "SEAMATTRIBUTES do not match %s's under the mask" % mid)
            for lvl in e["tcbLevels"]:
                if svn[0] >= lvl["tcb"]["isvsvn"]:
                    module_status = lvl["tcbStatus"]
                    break
            need(module_status is not None, "tcb-level", "no %s TCB level "
                 "covers TEE_TCB_SVN[0] = %d" % (mid, svn[0]))
    except (KeyError, TypeError, ValueError, IndexError) as ex:
        raise Fail(chk, "collateral: malformed (%s: %s)" %
                   (type(ex).__name__, ex))
    final = converge([status, module_status, qe_status])
    need(final in accept, "tcb-status", "TCB status %s (platform %s, TDX "
         "module %s, QE %s) not accepted (accepted: %s)" %
         (final, status, module_status, qe_status, ",".join(accept)))
    return {"status": final, "platform": status, "tdx_module": module_status,
            "qe": qe_status, "tcb_date": plat.get("tcbDate"),
            "advisories": plat.get("advisoryIDs", []), "crls": crl_note,
            "tcb_info": os.path.basename(pick[0])}


def converge(sts):
    sts = [s for s in sts if s is not None]
    if "Revoked" in sts:
        return "Revoked"
    ood = any(s.startswith("OutOfDate") for s in sts)
    cfg = any("Configuration" in s for s in sts)
    sw = any("SWHardening" in s for s in sts)
    if ood:
        return "OutOfDateConfigurationNeeded" if cfg else "OutOfDate"
    if cfg and sw:
        return "ConfigurationAndSWHardeningNeeded"
    if cfg:
        return "ConfigurationNeeded"
    if sw:
        return "SWHardeningNeeded"
    return "UpToDate"


# ----------------------------------------------------------------- SNP ----
# AMD SEV-SNP ATTESTATION_REPORT (firmware ABI), little-endian, 0x4A0 bytes:
#  0x000 VERSION u32, 0x004 GUEST_SVN, 0x008 POLICY u64, 0x010 FAMILY_ID 16,
#  0x020 IMAGE_ID 16, 0x030 VMPL u32, 0x034 SIGNATURE_ALGO u32,
#  0x038 CURRENT_TCB u64, 0x040 PLATFORM_INFO u64, 0x048 flags u32
#  (bit 0 AUTHOR_KEY_EN, bit 1 MASK_CHIP_ID, bits 4:2 SIGNING_KEY),
#  0x050 REPORT_DATA 64, 0x090 MEASUREMENT 48, 0x0C0 HOST_DATA 32,
#  0x0E0 ID_KEY_DIGEST 48, 0x110 AUTHOR_KEY_DIGEST 48, 0x140 REPORT_ID 32,
#  0x160 REPORT_ID_MA 32, 0x180 REPORTED_TCB u64, 0x188 CPUID fam/mod/step
#  (v3+), 0x1A0 CHIP_ID 64, 0x1E0 COMMITTED_TCB, 0x1E8 CURRENT build/minor/
#  major, 0x1F0 LAUNCH_TCB, 0x2A0 SIGNATURE: R 72 | S 72 (little-endian),
#  reserved to 0x4A0. Signed: [0, 0x2A0).

SNP_OID = "1.3.6.1.4.1.3704.1."
OID_SHA384 = "2.16.840.1.101.3.4.2.2"
OID_MGF1 = "1.2.840.113549.1.1.8"
OID_PSS = "1.2.840.113549.1.1.10"


def parse_snp_report(r):
    chk = "snp-report-format"
    need(len(r) == 0x4A0, chk, "report: %d bytes, must be 1184 (0x4A0)"
         % len(r))
    u32 = lambda o: struct.unpack_from("<I", r, o)[0]
    u64 = lambda o: struct.unpack_from("<Q", r, o)[0]
    R = {"version": u32(0), "guest_svn": u32(4), "policy": u64(8),
         "family_id": r[0x10:0x20], "image_id": r[0x20:0x30],
         "vmpl": u32(0x30), "signature_algo": u32(0x34),
         "current_tcb": r[0x38:0x40], "platform_info": u64(0x40),
         "flags": u32(0x48), "report_data": r[0x50:0x90],
         "measurement": r[0x90:0xC0], "host_data": r[0xC0:0xE0],
         "id_key_digest": r[0xE0:0x110], "author_key_digest": r[0x110:0x140],
         "report_id": r[0x140:0x160], "report_id_ma": r[0x160:0x180],
         "reported_tcb": r[0x180:0x188], "chip_id": r[0x1A0:0x1E0],
         "committed_tcb": r[0x1E0:0x1E8], "launch_tcb": r[0x1F0:0x1F8],
         "sig_r": r[0x2A0:0x2E8], "sig_s": r[0x2E8:0x330],
         "signed": r[:0x2A0]}
    need(2 <= R["version"] <= 5, chk, "report: VERSION %d (2..5 supported)"
         % R["version"])
    need(R["signature_algo"] == 1, chk, "report: SIGNATURE_ALGO %d (1 = "
         "ECDSA P-384 with SHA-384 supported)" % R["signature_algo"])
    sk = (R["flags"] >> 2) & 7
    need(sk == 0, chk, "report: SIGNING_KEY %d (%s); only VCEK-signed (0) "
         "reports are supported" % (sk, {1: "VLEK", 7: "none"}.get(sk, "?")))
    need(r[0x330:0x4A0] == bytes(0x4A0 - 0x330), chk,
         "report: the reserved tail of the signature field is not zero")
    R["cpuid_fam"] = r[0x188] if R["version"] >= 3 else None
    return R


def pss_params(alg_der, check, what):
    """RSASSA-PSS AlgorithmIdentifier -> must be SHA-384, MGF1-SHA-384,
    salt 48, trailer 1"""
    b = alg_der
    t, s, e = der_tlv(b, 0, len(b), check)
    f = der_children(b, s, e, check)
    need(f and f[0][0] == 0x06 and der_oid(b[f[0][1]:f[0][2]]) == OID_PSS,
         check, "%s: signature algorithm is not RSASSA-PSS" % what)
    need(len(f) == 2 and f[1][0] == 0x30, check,
         "%s: RSASSA-PSS without parameters" % what)
    got = {"hash": "sha1", "mgf": ("mgf1", "sha1"), "salt": 20, "trailer": 1}
    for t2, s2, e2, _ in der_children(b, f[1][1], f[1][2], check):
        inner = der_children(b, s2, e2, check)
        need(len(inner) == 1, check, "%s: bad PSS parameters" % what)
        it, is_, ie, _ = inner[0]
        if t2 == 0xA0:
            h = der_children(b, is_, ie, check)
            got["hash"] = der_oid(b[h[0][1]:h[0][2]])
        elif t2 == 0xA1:
            m = der_children(b, is_, ie, check)
            mo = der_oid(b[m[0][1]:m[0][2]])
            mh = der_children(b, m[1][1], m[1][2], check) if len(m) > 1 else []
            got["mgf"] = (mo, der_oid(b[mh[0][1]:mh[0][2]]) if mh else None)
        elif t2 == 0xA2:
            got["salt"] = der_int(b[is_:ie])
        elif t2 == 0xA3:
            got["trailer"] = der_int(b[is_:ie])
    need(got["hash"] == OID_SHA384 and got["mgf"] == (OID_MGF1, OID_SHA384)
         and got["salt"] == 48 and got["trailer"] == 1, check,
         "%s: RSASSA-PSS parameters are not SHA-384 / MGF1-SHA-384 / salt "
         "48 / trailer 1 (%r)" % (what, got))


def pss_check_issued(issuer, c, check):
    need(c.x.issuer == issuer.x.subject, check,
         "%s (%s): issuer name is not %s's subject" %
         (c.what, c.cn(), issuer.cn()))
    need(c.sigalg == c.tbs_sigalg, check,
         "%s: the two signature algorithms differ" % c.what)
    pss_params(c.sigalg, check, c.what)
    pub = issuer.x.public_key()
    need(isinstance(pub, rsa.RSAPublicKey), check,
         "%s: issuer key is not RSA" % c.what)
    try:
        pub.verify(c.x.signature, c.tbs,
                   padding.PSS(mgf=padding.MGF1(hashes.SHA384()),
                               salt_length=48), hashes.SHA384())
    except InvalidSignature:
        raise Fail(check, "%s (%s): RSASSA-PSS signature by %s does not "
                   "verify" % (c.what, c.cn(), issuer.cn()))


def der_small_int(v, check, what):
    t, s, e = der_tlv(v, 0, len(v), check)
    need(t == 0x02 and e == len(v), check, "%s: not an INTEGER" % what)
    n = der_int(v[s:e])
    need(0 <= n <= 255, check, "%s: %d out of 0..255" % (what, n))
    return n


def vcek_extensions(vcek):
    chk = "snp-vcek-extension"

    def one(oid, what, optional=False):
        vs = vcek.ext_values(SNP_OID + oid)
        need(len(vs) <= 1, chk, "VCEK: %d %s extensions" % (len(vs), what))
        need(vs or optional, chk, "VCEK: no %s extension (%s%s)" %
             (what, SNP_OID, oid))
        return vs[0] if vs else None

    out = {}
    pn = one("2", "productName")
    t, s, e = der_tlv(pn, 0, len(pn), chk)
    need(t == 0x16 and e == len(pn), chk, "VCEK: productName is not an "
         "IA5String")
    out["product"] = pn[s:e].decode("ascii", "replace")
    turin = out["product"].startswith("Turin")
    names = [("3.1", "bootloader"), ("3.2", "tee"), ("3.3", "snp"),
             ("3.8", "microcode")]
    if turin:
        names.append(("3.9", "fmc"))
    for oid, nm in names:
        out[nm] = der_small_int(one(oid, nm), chk, "VCEK " + nm)
    for i in range(4, 8):
        v = one("3.%d" % i, "spl_%d" % i, optional=True)
        out["spl_%d" % i] = None if v is None else \
            der_small_int(v, chk, "VCEK spl_%d" % i)
    hw = one("4", "hwID")
    # AMD's VCEKs carry the raw bytes; accept a DER OCTET STRING around them
    if len(hw) >= 2 and hw[0] == 0x04 and hw[1] == len(hw) - 2:
        hw = hw[2:]
    need(len(hw) == (8 if turin else 64), chk, "VCEK: hwID is %d bytes"
         % len(hw))
    out["hwid"] = hw
    return out


def verify_snp_report(r, vcek, ask, ark, root, at):
    """r: 1184 bytes; vcek/ask/ark: Cert; root: Cert (the trusted ARK)"""
    R = parse_snp_report(r)
    chk = "snp-chain"
    vcek.what, ask.what, ark.what = "VCEK", "ASK", "ARK"
    need(ark.der == root.der, "untrusted-root",
         "the ARK (%s, sha256 %s) is not the given root (sha256 %s)" %
         (ark.cn(), hashlib.sha256(ark.der).hexdigest(),
          hashlib.sha256(root.der).hexdigest()))
    check_ca(ark, chk)
    check_ca(ask, chk)
    pss_check_issued(ark, ark, chk)
    pss_check_issued(ark, ask, chk)
    pss_check_issued(ask, vcek, chk)
    k = vcek.x.public_key()
    need(isinstance(k, ec.EllipticCurvePublicKey) and
         k.curve.name == "secp384r1", chk, "VCEK key is not EC P-384")
    for c in (ark, ask, vcek):
        check_validity(c, at, chk)
    V = vcek_extensions(vcek)
    need(V["product"].split("-")[0] in ark.cn(), "snp-product",
         "VCEK product %r is not the ARK's (%s)" % (V["product"], ark.cn()))
    tcb = R["reported_tcb"]
    turin = V["product"].startswith("Turin")
    if R["cpuid_fam"] is not None and R["cpuid_fam"] != 0:
        need(turin == (R["cpuid_fam"] >= 0x1A), "snp-product",
             "report CPUID family 0x%x does not fit VCEK product %r" %
             (R["cpuid_fam"], V["product"]))
    if turin:
        layout = [(0, "fmc"), (1, "bootloader"), (2, "tee"), (3, "snp"),
                  (7, "microcode")]
    else:
        layout = [(0, "bootloader"), (1, "tee"), (2, "spl_4"), (3, "spl_5"),
                  (4, "spl_6"), (5, "spl_7"), (6, "snp"), (7, "microcode")]
    for i, nm in layout:
        want = V[nm] if V[nm] is not None else 0
        need(tcb[i] == want, "snp-tcb", "REPORTED_TCB %s = %d but the "
             "VCEK's is %d" % (nm, tcb[i], want))
    if R["flags"] & 2:
        need(R["chip_id"] == bytes(64), "snp-chip-id",
             "MASK_CHIP_ID is set but CHIP_ID is not zero")
    else:
        hw = V["hwid"]
        need(R["chip_id"][:len(hw)] == hw and
             R["chip_id"][len(hw):] == bytes(64 - len(hw)), "snp-chip-id",
             "CHIP_ID is not the VCEK's hwID")
    sig = utils.encode_dss_signature(int.from_bytes(R["sig_r"], "little"),
                                     int.from_bytes(R["sig_s"], "little"))
    try:
        k.verify(sig, R["signed"], ec.ECDSA(hashes.SHA384()))
    except InvalidSignature:
        raise Fail("snp-report-signature", "the report signature does not "
                   "verify with the VCEK over bytes [0, 0x2A0)")
    R["vcek"] = V
    R["chain"] = [c.cn() for c in (vcek, ask, ark)]
    return R


def snp_json(R):
    o = {"platform": "snp", "report_version": R["version"]}
    for k in ("measurement", "report_data", "host_data", "id_key_digest",
              "author_key_digest", "chip_id", "reported_tcb", "family_id",
              "image_id", "report_id"):
        o[k] = R[k].hex()
    o["policy"] = "0x%x" % R["policy"]
    o["debug"] = bool(R["policy"] >> 19 & 1)
    o["migrate_ma"] = bool(R["policy"] >> 18 & 1)
    o["vmpl"] = R["vmpl"]
    o["guest_svn"] = R["guest_svn"]
    v = R["vcek"]
    o["tcb"] = {k: v[k] for k in ("bootloader", "tee", "snp", "microcode")}
    o["product"] = v["product"]
    o["chain"] = R["chain"]
    return o


# ------------------------------------------------------------- modes ----

def parse_hex(s, n, what):
    try:
        b = bytes.fromhex(s)
    except ValueError:
        raise Fail("usage", "%s: not hex" % what)
    need(n is None or len(b) == n, "usage", "%s: %d bytes, want %d"
         % (what, len(b), n))
    return b


def read_blob(path, size_hint=None):
    raw = open(path, "rb").read()
    s = raw.strip()
    if s and re.fullmatch(rb"[0-9a-fA-F\s]+", s) and len(s) >= 64:
        return bytes.fromhex(s.decode())
    return raw


def policy_tdx(Q, a):
    if a.mrtd:
        need(Q["mrtd"] == parse_hex(a.mrtd, 48, "--mrtd"), "mrtd",
             "MRTD %s is not the expected %s" % (Q["mrtd"].hex(), a.mrtd))
    if a.report_data:
        need(Q["report_data"] == parse_hex(a.report_data, 64, "--report-data"),
             "report-data", "REPORTDATA is not the expected value")
    if not a.allow_debug:
        need(not Q["td_attributes"][0] & 1, "debug",
             "TDATTRIBUTES.DEBUG is set (a debug TD); --allow-debug accepts it")


def policy_snp(R, a):
    if a.measurement:
        need(R["measurement"] == parse_hex(a.measurement, 48, "--measurement"),
             "measurement", "MEASUREMENT %s is not the expected %s" %
             (R["measurement"].hex(), a.measurement))
    if a.report_data:
        need(R["report_data"] == parse_hex(a.report_data, 64,
                                           "--report-data"),
             "report-data", "REPORT_DATA is not the expected value")
    if not a.allow_debug:
        need(not R["policy"] >> 19 & 1, "debug",
             "POLICY.DEBUG is set (a debuggable guest); --allow-debug "
             "accepts it")


def snp_chain_from_args(a, env_certs):
    """VCEK, ASK, ARK: from the envelope's key 3 first, else the files"""
    env_certs = env_certs or []
    names = ["VCEK", "ASK", "ARK"]
    got = [Cert(d, "envelope key 3[%d] (%s)" % (i, names[i] if i < 3 else "?"))
           for i, d in enumerate(env_certs[:3])]
    vcek = got[0] if len(got) > 0 else (read_cert_file(a.vcek, "VCEK")
                                        if a.vcek else None)
    ask = got[1] if len(got) > 1 else None
    ark = got[2] if len(got) > 2 else None
    # files given beside an envelope that has its own: they must agree
    if got and a.vcek:
        need(read_cert_file(a.vcek, "VCEK").der == got[0].der, "snp-chain",
             "the envelope's VCEK is not the one of --vcek")
    if len(got) > 1 and (a.ask or a.chain):
        mine = read_cert_file(a.ask, "ASK") if a.ask else load_pem_certs(
            open(a.chain, "rb").read(), "chain", "usage")[0]
        need(mine.der == got[1].der, "snp-chain",
             "the envelope's ASK is not the one of --ask / --chain")
    if ask is None and a.chain:
        cs = load_pem_certs(open(a.chain, "rb").read(), "chain", "usage")
        need(len(cs) >= 1, "usage", "--chain holds no certificate")
        ask = cs[0]
        ark = ark or (cs[1] if len(cs) > 1 else None)
    if ask is None and a.ask:
        ask = read_cert_file(a.ask, "ASK")
    if ark is None and a.ark:
        ark = read_cert_file(a.ark, "ARK")
    if ark is None and a.root:
        ark = read_cert_file(a.root, "ARK")
    need(vcek is not None, "snp-chain", "no VCEK (envelope key 3 absent; "
         "give --vcek)")
    need(ask is not None, "snp-chain", "no ASK (envelope key 3 has none; "
         "give --ask or --chain)")
    need(ark is not None, "snp-chain", "no ARK (give --root)")
    return vcek, ask, ark


def check_age(claims, a, at):
    if a.max_age is not None:
        iat = claims["iat"] / 1000.0
        need(at - iat <= a.max_age, "iat", "\"iat\" is %.0f s old, more than "
             "--max-age %d" % (at - iat, a.max_age))
        need(iat - at <= 300, "iat", "\"iat\" is %.0f s in the future"
             % (iat - at))


def mode_cert(a, at):
    raw = open(a.file, "rb").read()
    if is_pem(raw):
        certs = load_pem_certs(raw, "certificate", "certificate", False)
        need(certs, "certificate", "no certificate in %s" % a.file)
        cert = certs[0]
    else:
        cert = Cert(raw, "certificate", False)
    session = json.load(open(a.fresh)) if a.fresh else None
    if session is not None and "evidence" in session:
        # fresh evidence: the leaf's CertificateEntry extension 0xff4e
        mt, value = cmw_record(der_octet_string(
            bytes.fromhex(session["evidence"]), "cmw"))
    else:
        mt, value = cmw_from_cert(cert)
    platform = "tdx" if mt == MT_TDX else "snp"
    ev, claims_raw, env_certs = decode_envelope(value, platform)
    claims = decode_claims(claims_raw, platform)
    root = read_cert_file(a.root, "root")
    want_rd = nacre_report_data(cert.spki, claims_raw)
    if platform == "tdx":
        need(a.measurement is None, "usage", "--measurement is for SNP; "
             "TDX takes --mrtd")
        Q = verify_tdx_quote(ev, root, at, a.collateral, a.accept_tcb)
        rd = Q["report_data"]
    else:
        need(a.mrtd is None, "usage", "--mrtd is for TDX; SNP takes "
             "--measurement")
        need(len(ev) == 0x4A0, "snp-report-format", "envelope key 1: %d "
             "bytes, an SNP report is 1184" % len(ev))
        vcek, ask, ark = snp_chain_from_args(a, env_certs)
        R = verify_snp_report(ev, vcek, ask, ark, root, at)
        rd = R["report_data"]
    need(rd == want_rd, "binding", "REPORTDATA is not SHA-512(\"nacre-"
         "report-data-v1\" || SPKI || claims) of this certificate's key and "
         "the envelope's claims: the evidence is bound to another key or "
         "other claims")
    if platform == "tdx":
        policy_tdx(Q, a)
        out = tdx_json(Q)
    else:
        policy_snp(R, a)
        out = snp_json(R)
    if a.nonce_hs:
        want = parse_hex(a.nonce_hs, 32, "--nonce-hs")
        need("hs" in claims, "hs", "the claims carry no \"hs\" (not fresh "
             "evidence)")
        need(claims["hs"] == want, "hs", "\"hs\" is not the expected "
             "handshake binding: evidence of another session")
    if session is not None:
        want = fresh_binding(session)
        need("hs" in claims, "hs", "the claims carry no \"hs\" (not fresh "
             "evidence)")
        need(claims["hs"] == want, "hs", "\"hs\" is not the binding of this "
             "handshake (randoms, key shares, nonce): evidence of another "
             "session")
        out["session_binding"] = want.hex()
    check_age(claims, a, at)
    out["media_type"] = mt
    out["claims"] = claims_json(claims)
    out["binding"] = "REPORTDATA == SHA-512(label, certificate SPKI, claims)"
    out["spki_sha256"] = hashlib.sha256(cert.spki).hexdigest()
    if env_certs is not None:
        out["envelope_certs"] = len(env_certs)
    return out


def mode_tdx_quote(a, at):
    q = read_blob(a.file)
    root = read_cert_file(a.root, "root")
    Q = verify_tdx_quote(q, root, at, a.collateral, a.accept_tcb)
    policy_tdx(Q, a)
    return tdx_json(Q)


def mode_snp_report(a, at):
    r = read_blob(a.file)
    vcek, ask, ark = snp_chain_from_args(a, None)
    root = read_cert_file(a.root, "root") if a.root else ark
    R = verify_snp_report(r, vcek, ask, ark, root, at)
    policy_snp(R, a)
    return snp_json(R)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("mode", choices=("cert", "tdx-quote", "snp-report"))
    p.add_argument("file", help="certificate (PEM/DER), quote, or report "
                   "(binary or hex)")
    p.add_argument("--root", help="trusted root: Intel SGX Root CA (or a "
                   "sim root) for TDX, the ARK for SNP")
    p.add_argument("--collateral", help="TDX: directory of PCS collateral")
    p.add_argument("--accept-tcb", default="UpToDate",
                   help="TDX with collateral: accepted TCB statuses, comma-"
                   "separated (default UpToDate)")
    p.add_argument("--mrtd", help="TDX: expected MRTD (hex)")
    p.add_argument("--measurement", help="SNP: expected MEASUREMENT (hex)")
    p.add_argument("--report-data", help="raw modes: expected REPORTDATA")
    p.add_argument("--nonce-hs", help="expected \"hs\" claim (hex, 32 bytes)")
    p.add_argument("--fresh", help="session JSON (hex nonce, client_random, "
                   "server_random, client_share, server_share[, evidence])")
    p.add_argument("--at", type=int, help="verify at this UNIX time "
                   "(default now)")
    p.add_argument("--max-age", type=int, help="cert: \"iat\" at most this "
                   "many seconds before --at")
    p.add_argument("--vcek", help="SNP: VCEK (DER/PEM) when not in the "
                   "envelope")
    p.add_argument("--ask", help="SNP: ASK (DER/PEM)")
    p.add_argument("--ark", help="SNP: ARK (DER/PEM); snp-report mode")
    p.add_argument("--chain", help="SNP: PEM file with ASK then ARK")
    p.add_argument("--allow-debug", action="store_true",
                   help="accept a debug TD / debuggable SNP guest")
    a = p.parse_args()
    a.accept_tcb = tuple(s for s in a.accept_tcb.split(",") if s)
    if a.mode in ("cert", "tdx-quote") and not a.root:
        p.error("%s needs --root" % a.mode)
    if a.mode == "snp-report" and not (a.vcek and (a.chain or a.ark or
                                                   a.root)):
        p.error("snp-report needs --vcek and --chain or --ask/--ark")
    at = a.at if a.at is not None else int(time.time())
    try:
        if a.mode == "cert":
            out = mode_cert(a, at)
        elif a.mode == "tdx-quote":
            out = mode_tdx_quote(a, at)
        else:
            out = mode_snp_report(a, at)
    except Fail as f:
        print("FAIL %s: %s" % (f.check, " ".join(str(f).split())))
        return 2 if f.check == "usage" else 1
    except (OSError, ValueError, struct.error, IndexError, KeyError) as ex:
        print("FAIL input: %s: %s" % (type(ex).__name__,
                                      " ".join(str(ex).split())))
        return 1
    out["valid"] = True
    out["verified_at"] = utc(at).isoformat() + "Z"
    print(json.dumps(out, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
