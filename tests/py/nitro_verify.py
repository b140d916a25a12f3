#!/usr/bin/python3
"""nitro_verify.py: a second, independent verifier of AWS Nitro Enclaves
attestation documents, written from AWS's documentation ("Verifying the root
of trust", aws-nitro-enclaves-nsm-api docs/attestation_process.md) and RFC
9052 (COSE_Sign1), not from nacre's C code. It checks what nacre emits and
what nacre accepts against an outside reading of the format.

  nitro_verify.py DOC_FILE --root ROOT_PEM [--at UNIX_TIME]
                  [--expect-public-key-der FILE] [--expect-user-data-hex HEX]
  nitro_verify.py --cert CERT_DER_OR_PEM --root ROOT_PEM [...]
  nitro_verify.py [DOC_FILE] --fresh SESSION_JSON --root ROOT_PEM [...]

DOC_FILE is raw CBOR or base64. With --cert the document comes from the
certificate's id-pe-cmw extension (1.3.6.1.5.5.7.1.35; extnValue = DER
OCTET STRING holding the CBOR record [media-type, document, 4]) and the
document's public_key must be the certificate's SubjectPublicKeyInfo.

With --fresh the document is fresh evidence (docs/evidence-format.md 8):
SESSION_JSON holds, in hex, what the client saw of its handshake: "nonce",
"client_random", "server_random", "client_share", "server_share" (the
key_exchange bytes of the two key shares), optionally "certificate" (the
leaf, DER) and "evidence" (the extension_data of the leaf's
CertificateEntry extension 0xff4e, used when no DOC_FILE is given). The
document's nonce must be the client's, and its user_data claims map must
carry "hs" = the SHA-256 binding of those values.

Prints the decoded fields as JSON. Exit 0 only when everything verifies,
1 when the evidence is invalid, 2 on usage errors.
Needs Debian's python3-cbor2 and python3-cryptography (/usr/bin/python3).
"""
import argparse
import base64
import binascii
import datetime
import hashlib
import io
import json
import re
import sys

import cbor2
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, utils

OID_CMW = x509.ObjectIdentifier("1.3.6.1.5.5.7.1.35")
NITRO_MEDIA_TYPE = "application/aws-nitro-document"
COSE_SIGN1_TAG = 18
ES384 = -35
REQUIRED = ("module_id", "digest", "timestamp", "pcrs", "certificate",
            "cabundle")


class Invalid(Exception):
    """the evidence does not verify; the message says why"""


def need(cond, why):
    if not cond:
        raise Invalid(why)


def cbor_exact(data, what):
    """one CBOR item that spans all of data"""
    fp = io.BytesIO(data)
    try:
        item = cbor2.CBORDecoder(fp).decode()
    except Exception as e:  # cbor2 raises several types
        raise Invalid("%s: not CBOR (%s)" % (what, e))
    need(fp.tell() == len(data), "%s: trailing bytes" % what)
    return item


def read_doc(path):
    raw = open(path, "rb").read()
    if raw[:1] in (b"\x84", b"\xd2"):
        return raw
    try:
        return base64.b64decode(b"".join(raw.split()), validate=True)
    except binascii.Error:
        return raw


def read_root(path):
    text = open(path, "rb").read()
    m = re.search(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----",
                  text, re.S)
    if m:
        return x509.load_pem_x509_certificate(m.group(0))
    return x509.load_der_x509_certificate(text)


def check_bytes(v, lo, hi, what):
    need(isinstance(v, bytes), "%s: not a byte string" % what)
    need(lo <= len(v) <= hi, "%s: %d bytes, allowed %d..%d"
         % (what, len(v), lo, hi))


def parse_cose(data):
    """COSE_Sign1 -> (protected bytes, payload bytes, payload dict, sig)"""
    obj = cbor_exact(data, "COSE_Sign1")
    if isinstance(obj, cbor2.CBORTag):
        need(obj.tag == COSE_SIGN1_TAG, "COSE_Sign1: tag %d" % obj.tag)
        obj = obj.value
    need(isinstance(obj, list) and len(obj) == 4,
         "COSE_Sign1: not an array of 4")
    protected, unprotected, payload, sig = obj
    need(isinstance(protected, bytes), "protected header: not bytes")
    need(cbor_exact(protected, "protected header") == {1: ES384},
         "protected header: not {1: -35} (ES384)")
    need(isinstance(unprotected, dict), "unprotected header: not a map")
    check_bytes(payload, 1, 16384, "payload")
    check_bytes(sig, 96, 96, "signature (ES384 r||s)")
    doc = cbor_exact(payload, "payload")
    need(isinstance(doc, dict), "payload: not a map")
    return protected, payload, doc, sig


def check_fields(doc):
    """AWS attestation_process.md 3.2.2: syntactical validation"""
    for k in REQUIRED:
        need(k in doc and doc[k] is not None, "payload: missing %s" % k)
    need(isinstance(doc["module_id"], str) and doc["module_id"],
         "module_id: empty or not text")
    need(doc["digest"] == "SHA384", "digest: not SHA384")
    need(isinstance(doc["timestamp"], int) and doc["timestamp"] > 0,
         "timestamp: not a positive integer")
    pcrs = doc["pcrs"]
    need(isinstance(pcrs, dict) and 1 <= len(pcrs) <= 32,
         "pcrs: not a map of 1..32")
    for i, v in pcrs.items():
        need(isinstance(i, int) and 0 <= i < 32, "pcrs: bad index %r" % (i,))
        need(isinstance(v, bytes) and len(v) in (32, 48, 64),
             "pcrs[%d]: bad length" % i)
    need(isinstance(doc["cabundle"], list) and doc["cabundle"],
         "cabundle: empty or not an array")
    for i, c in enumerate(doc["cabundle"]):
        check_bytes(c, 1, 1024, "cabundle[%d]" % i)
    check_bytes(doc["certificate"], 1, 1024, "certificate")
    # AWS's CDDL: user_data = bytes .size (0..1024); public_key at least 1
    for k, lo in (("public_key", 1), ("user_data", 0), ("nonce", 0)):
        if doc.get(k) is not None:
            check_bytes(doc[k], lo, 1024, k)


def ext(cert, cls):
    try:
        return cert.extensions.get_extension_for_class(cls)
    except x509.ExtensionNotFound:
        return None


def check_validity(cert, when, what):
    need(cert.not_valid_before <= when <= cert.not_valid_after,
         "%s: not valid at %sZ (valid %s .. %s)" % (
             what, when.isoformat(), cert.not_valid_before.isoformat(),
             cert.not_valid_after.isoformat()))


def check_issued(issuer, cert, what):
    need(cert.issuer == issuer.subject, "%s: issuer name mismatch" % what)
    pub = issuer.public_key()
    need(isinstance(pub, ec.EllipticCurvePublicKey),
         "%s: issuer key is not ECDSA" % what)
    try:
        pub.verify(cert.signature, cert.tbs_certificate_bytes,
                   ec.ECDSA(cert.signature_hash_algorithm))
    except InvalidSignature:
        raise Invalid("%s: signature by its issuer does not verify" % what)


def check_ca(cert, cas_below, what):
    """CA: basicConstraints CA:TRUE (critical), pathLen, keyCertSign"""
    bc = ext(cert, x509.BasicConstraints)
    need(bc is not None and bc.critical and bc.value.ca,
         "%s: not a CA (critical basicConstraints CA:TRUE)" % what)
    pl = bc.value.path_length
    need(pl is None or cas_below <= pl,
         "%s: pathLenConstraint %s exceeded" % (what, pl))
    ku = ext(cert, x509.KeyUsage)
    need(ku is None or ku.value.key_cert_sign,
         "%s: keyUsage lacks keyCertSign" % what)


def verify_chain(doc, root, when):
    """[cabundle..., certificate]: cabundle[0] is the root; each certificate
    is signed by the one before; all valid at `when`. Returns the leaf."""
    bundle = [x509.load_der_x509_certificate(c) for c in doc["cabundle"]]
    leaf = x509.load_der_x509_certificate(doc["certificate"])
    root_der = root.public_bytes(serialization.Encoding.DER)
    need(doc["cabundle"][0] == root_der,
         "cabundle[0] is not the given root (sha256 %s)"
         % hashlib.sha256(doc["cabundle"][0]).hexdigest())
    check_issued(root, root, "root (self-signed)")
    chain = bundle + [leaf]
    for i, c in enumerate(chain):
        what = "certificate" if c is leaf else "cabundle[%d]" % i
        check_validity(c, when, what)
        if i > 0:
            check_issued(chain[i - 1], c, what)
        if c is not leaf:
            check_ca(c, len(bundle) - 1 - i, what)
    bc = ext(leaf, x509.BasicConstraints)
    need(bc is None or not bc.value.ca, "certificate: is a CA")
    key = leaf.public_key()
    need(isinstance(key, ec.EllipticCurvePublicKey) and
         key.curve.name == "secp384r1", "certificate: key is not P-384")
    return leaf


def verify_cose_signature(protected, payload, sig, leaf):
    """RFC 9052 4.4: Sig_structure = ["Signature1", protected, h'', payload]"""
    to_sign = cbor2.dumps(["Signature1", protected, b"", payload])
    r = int.from_bytes(sig[:48], "big")
    s = int.from_bytes(sig[48:], "big")
    try:
        leaf.public_key().verify(utils.encode_dss_signature(r, s), to_sign,
                                 ec.ECDSA(hashes.SHA384()))
    except InvalidSignature:
        raise Invalid("COSE signature (ES384) does not verify")


def der_octet_string(b):
    """contents of one DER OCTET STRING spanning b"""
    need(len(b) >= 2 and b[0] == 0x04, "id-pe-cmw: not an OCTET STRING "
         "(the CBOR choice of CMW)")
    n, off = b[1], 2
    if n & 0x80:
        k = n & 0x7F
        need(1 <= k <= 4 and len(b) >= 2 + k, "id-pe-cmw: bad length")
        n, off = int.from_bytes(b[2:2 + k], "big"), 2 + k
    need(off + n == len(b), "id-pe-cmw: length does not match")
    return b[off:]


def doc_from_cmw(der):
    """the DER CMW CHOICE (cbor alternative) -> (media type, document)"""
    rec = cbor_exact(der_octet_string(der), "CMW")
    need(isinstance(rec, list) and len(rec) in (2, 3),
         "CMW: not a record [type, value, ind]")
    need(rec[0] == NITRO_MEDIA_TYPE, "CMW: media type %r" % (rec[0],))
    need(isinstance(rec[1], bytes), "CMW: value is not bytes")
    need(len(rec) == 2 or (isinstance(rec[2], int) and rec[2] & 4),
         "CMW: indicator does not say evidence")
    return rec[0], rec[1]


def doc_from_cert(cert):
    try:
        e = cert.extensions.get_extension_for_oid(OID_CMW)
    except x509.ExtensionNotFound:
        raise Invalid("certificate has no id-pe-cmw extension")
    need(not e.critical, "id-pe-cmw: marked critical")
    return doc_from_cmw(e.value.value)


FRESH_LABEL = b"nacre-fresh-v1"


def fresh_binding(s):
    """docs/evidence-format.md 8.3: SHA-256 over the label, the nonce
    (1-byte length), both randoms, and both key shares (2-byte lengths)"""
    nonce = bytes.fromhex(s["nonce"])
    cr = bytes.fromhex(s["client_random"])
    sr = bytes.fromhex(s["server_random"])
    cs = bytes.fromhex(s["client_share"])
    ss = bytes.fromhex(s["server_share"])
    need(16 <= len(nonce) <= 64, "fresh: the nonce must be 16..64 bytes")
    need(len(cr) == 32 and len(sr) == 32, "fresh: randoms are 32 bytes")
    m = (FRESH_LABEL + bytes([len(nonce)]) + nonce + cr + sr +
         len(cs).to_bytes(2, "big") + cs + len(ss).to_bytes(2, "big") + ss)
    return nonce, hashlib.sha256(m).digest()


def check_fresh(doc, s):
    nonce, want = fresh_binding(s)
    need(doc.get("nonce") == nonce, "fresh: the document's nonce is not "
         "the client's nonce")
    ud = doc.get("user_data")
    need(isinstance(ud, bytes), "session binding: no claims map (user_data)")
    claims = cbor_exact(ud, "claims")
    need(isinstance(claims, dict) and claims.get("v") == 1,
         "session binding: user_data is not a version 1 claims map")
    hs = claims.get("hs")
    need(isinstance(hs, bytes) and len(hs) == 32,
         "session binding: the claims map has no \"hs\"")
    need(hs == want, "session binding: \"hs\" is not the binding of this "
         "handshake (randoms, key shares, nonce): evidence of another session")
    return want.hex()


def load_cert(path):
    raw = open(path, "rb").read()
    if b"-----BEGIN" in raw:
        return x509.load_pem_x509_certificate(raw)
    return x509.load_der_x509_certificate(raw)


def hexor(v):
    return v.hex() if isinstance(v, bytes) else None


def verify(args):
    out = {}
    cert = None
    session = None
    if args.fresh:
        session = json.load(open(args.fresh))
    if args.cert:
        cert = load_cert(args.cert)
        out["media_type"], data = doc_from_cert(cert)
    elif session is not None and not args.doc:
        need("evidence" in session, "fresh: the session has no evidence")
        out["media_type"], data = doc_from_cmw(bytes.fromhex(session["evidence"]))
        if "certificate" in session:
            cert = x509.load_der_x509_certificate(
                bytes.fromhex(session["certificate"]))
    else:
        data = read_doc(args.doc)
    root = read_root(args.root)
    protected, payload, doc, sig = parse_cose(data)
    check_fields(doc)
    at = args.at if args.at is not None else doc["timestamp"] // 1000
    when = datetime.datetime.utcfromtimestamp(at)
    out.update({
        "module_id": doc["module_id"],
        "digest": doc["digest"],
        "timestamp_ms": doc["timestamp"],
        "verified_at": when.isoformat() + "Z",
        "pcrs": {str(k): v.hex() for k, v in sorted(doc["pcrs"].items())},
        "public_key": hexor(doc.get("public_key")),
        "user_data": hexor(doc.get("user_data")),
        "nonce": hexor(doc.get("nonce")),
        "cabundle_sha256": [hashlib.sha256(c).hexdigest()
                            for c in doc["cabundle"]],
    })
    leaf = verify_chain(doc, root, when)
    out["certificate_subject"] = leaf.subject.rfc4514_string()
    verify_cose_signature(protected, payload, sig, leaf)
    if args.expect_public_key_der:
        want = open(args.expect_public_key_der, "rb").read()
        need(doc.get("public_key") == want, "public_key is not the expected "
             "key")
    if args.expect_user_data_hex is not None:
        need(doc.get("user_data") == bytes.fromhex(args.expect_user_data_hex),
             "user_data is not the expected value")
    if cert is not None:
        spki = cert.public_key().public_bytes(
            serialization.Encoding.DER,
            serialization.PublicFormat.SubjectPublicKeyInfo)
        need(doc.get("public_key") == spki, "binding: the document's "
             "public_key is not the certificate's SubjectPublicKeyInfo")
        out["binding"] = "public_key == certificate SPKI"
    if session is not None:
        out["session_binding"] = check_fresh(doc, session)
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("doc", nargs="?", help="attestation document (CBOR or "
                   "base64)")
    p.add_argument("--cert", help="TLS certificate (DER or PEM) carrying the "
                   "document in id-pe-cmw")
    p.add_argument("--root", required=True, help="trusted root (PEM)")
    p.add_argument("--at", type=int, help="verify at this UNIX time "
                   "(default: the document's timestamp)")
    p.add_argument("--expect-public-key-der")
    p.add_argument("--expect-user-data-hex")
    p.add_argument("--fresh", help="session JSON: check the document is "
                   "fresh evidence bound to that handshake")
    args = p.parse_args()
    if bool(args.doc) == bool(args.cert) and not args.fresh:
        p.error("give either DOC_FILE or --cert")
    if args.doc and args.cert:
        p.error("give either DOC_FILE or --cert")
    try:
        out = verify(args)
    except (Invalid, ValueError) as e:
        print(json.dumps({"valid": False, "error": str(e)}, indent=1))
        return 1
    out["valid"] = True
    print(json.dumps(out, indent=1, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
