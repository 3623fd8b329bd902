"""A Sigstore instance of our own, offline, for tests: a CA standing in for Fulcio, a CT log key
and a Rekor key, written as a client trust config that model_signing's Sigstore verifier takes
(`--trust-config`), and bundles signed here the way Fulcio and Rekor would have made them.

What a bundle carries, and sigstore-python checks: a short-lived certificate for an identity
(SAN) and an OIDC issuer (extension 1.3.6.1.4.1.57264.1.1) chaining to the CA, with an embedded
SCT signed by the CT key over the precertificate; a DSSE envelope over the in-toto statement,
signed with the certificate's key; a Rekor v1 `dsse` entry for it, in a one-leaf log whose
checkpoint and signed entry timestamp (the verified signing time) the Rekor key signs.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import struct
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

OIDC_ISSUER = ObjectIdentifier("1.3.6.1.4.1.57264.1.1")
SCT_LIST = ObjectIdentifier("1.3.6.1.4.1.11129.2.4.2")
DEAD = "http://127.0.0.1:9"  # every service URL of the trust config: nothing listens there
ORIGIN = "rekor.modelcards.invalid - 1"
DSSE_TYPE = "application/vnd.in-toto+json"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _spki(key: ec.EllipticCurvePublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _key_id(key: ec.EllipticCurvePublicKey) -> bytes:
    return hashlib.sha256(_spki(key)).digest()


def _sign(key: ec.EllipticCurvePrivateKey, data: bytes) -> bytes:
    return key.sign(data, ec.ECDSA(hashes.SHA256()))


def _name(common: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "modelcards.invalid"),
            x509.NameAttribute(NameOID.COMMON_NAME, common),
        ]
    )


def _public_key(key: ec.EllipticCurvePrivateKey, start: dt.datetime) -> dict[str, Any]:
    return {
        "rawBytes": _b64(_spki(key.public_key())),
        "keyDetails": "PKIX_ECDSA_P256_SHA_256",
        "validFor": {"start": start.strftime("%Y-%m-%dT%H:%M:%SZ")},
    }


class LocalSigstore:
    """The CA, CT and Rekor keys of one instance; `bundle` signs like Fulcio + Rekor."""

    def __init__(self) -> None:
        self.now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
        self.start = self.now - dt.timedelta(days=1)
        self.ca_key = ec.generate_private_key(ec.SECP256R1())
        self.ct_key = ec.generate_private_key(ec.SECP256R1())
        self.rekor_key = ec.generate_private_key(ec.SECP256R1())
        ca_public = self.ca_key.public_key()
        self.ca = (
            x509.CertificateBuilder()
            .subject_name(_name("modelcards test fulcio"))
            .issuer_name(_name("modelcards test fulcio"))
            .public_key(ca_public)
            .serial_number(x509.random_serial_number())
            .not_valid_before(self.start)
            .not_valid_after(self.now + dt.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=1), critical=True)
            .add_extension(
                x509.KeyUsage(False, False, False, False, False, True, True, False, False),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_public), critical=False)
            .sign(self.ca_key, hashes.SHA256())
        )

    def trust_config(self, path: Path) -> Path:
        """The client trust config (trusted root and signing config) for this instance."""
        start = self.start.strftime("%Y-%m-%dT%H:%M:%SZ")
        service = [{"url": DEAD, "majorApiVersion": 1, "validFor": {"start": start},
                    "operator": "modelcards.invalid"}]  # fmt: skip
        root = {
            "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
            "tlogs": [{"baseUrl": DEAD, "hashAlgorithm": "SHA2_256",
                       "publicKey": _public_key(self.rekor_key, self.start),
                       "logId": {"keyId": _b64(_key_id(self.rekor_key.public_key()))}}],
            "certificateAuthorities": [{
                "subject": {"organization": "modelcards.invalid", "commonName": "fulcio"},
                "uri": DEAD,
                "certChain": {"certificates": [
                    {"rawBytes": _b64(self.ca.public_bytes(serialization.Encoding.DER))}]},
                "validFor": {"start": start}}],
            "ctlogs": [{"baseUrl": DEAD, "hashAlgorithm": "SHA2_256",
                        "publicKey": _public_key(self.ct_key, self.start),
                        "logId": {"keyId": _b64(_key_id(self.ct_key.public_key()))}}],
            "timestampAuthorities": [],
        }  # fmt: skip
        signing = {
            "mediaType": "application/vnd.dev.sigstore.signingconfig.v0.2+json",
            "caUrls": service, "oidcUrls": service, "rekorTlogUrls": service, "tsaUrls": [],
            "rekorTlogConfig": {"selector": "ANY"}, "tsaConfig": {"selector": "ANY"},
        }  # fmt: skip
        config = {
            "mediaType": "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json",
            "trustedRoot": root,
            "signingConfig": signing,
        }
        path.write_text(json.dumps(config, indent=1), encoding="utf-8")
        return path

    def _sct(self, tbs: bytes, timestamp_ms: int) -> bytes:
        """The SCT list extension's value: one SCT by the CT key over the precertificate."""
        issuer_key_hash = _key_id(self.ca_key.public_key())
        entry = issuer_key_hash + struct.pack("!I", len(tbs))[1:] + tbs
        signed = struct.pack(f"!BBQH{len(entry)}sH", 0, 0, timestamp_ms, 1, entry, 0)
        signature = _sign(self.ct_key, signed)
        sct = (
            struct.pack("!B32sQH", 0, _key_id(self.ct_key.public_key()), timestamp_ms, 0)
            + struct.pack("!BBH", 4, 3, len(signature))
            + signature
        )
        listed = struct.pack("!H", len(sct)) + sct
        tls = struct.pack("!H", len(listed)) + listed
        return b"\x04" + _der_length(len(tls)) + tls  # the extension holds an OCTET STRING

    def certificate(
        self, key: ec.EllipticCurvePrivateKey, identity: str, issuer: str
    ) -> x509.Certificate:
        """A Fulcio-like leaf for `identity` (an email or a URI) from OIDC `issuer`."""
        public = key.public_key()
        san: x509.GeneralName = (
            x509.UniformResourceIdentifier(identity)
            if "://" in identity
            else x509.RFC822Name(identity)
        )
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([]))
            .issuer_name(self.ca.subject)
            .public_key(public)
            .serial_number(x509.random_serial_number())
            .not_valid_before(self.now - dt.timedelta(minutes=1))
            .not_valid_after(self.now + dt.timedelta(minutes=10))
            .add_extension(
                x509.KeyUsage(True, False, False, False, False, False, False, False, False),
                critical=True,
            )
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.ca_key.public_key()),
                critical=False,
            )
            .add_extension(x509.SubjectAlternativeName([san]), critical=True)
            .add_extension(x509.UnrecognizedExtension(OIDC_ISSUER, issuer.encode()), False)
        )
        precertificate = builder.sign(self.ca_key, hashes.SHA256())
        sct = self._sct(precertificate.tbs_certificate_bytes, int(self.now.timestamp()) * 1000)
        return builder.add_extension(x509.UnrecognizedExtension(SCT_LIST, sct), False).sign(
            self.ca_key, hashes.SHA256()
        )

    def bundle(self, payload: bytes, identity: str, issuer: str) -> str:
        """A Sigstore bundle (v0.3 JSON) over the in-toto statement `payload`, as a keyless
        signer gets it back from Fulcio and Rekor."""
        key = ec.generate_private_key(ec.SECP256R1())
        cert = self.certificate(key, identity, issuer)
        pae = b"DSSEv1 %d %b %d %b" % (len(DSSE_TYPE), DSSE_TYPE.encode(), len(payload), payload)
        signature = _sign(key, pae)
        envelope = {"payload": _b64(payload), "payloadType": DSSE_TYPE,
                    "signatures": [{"sig": _b64(signature)}]}  # fmt: skip
        cert_pem = cert.public_bytes(serialization.Encoding.PEM)
        body = json.dumps(
            {
                "apiVersion": "0.0.1",
                "kind": "dsse",
                "spec": {
                    "envelopeHash": {
                        "algorithm": "sha256",
                        "value": hashlib.sha256(json.dumps(envelope).encode()).hexdigest(),
                    },
                    "payloadHash": {
                        "algorithm": "sha256",
                        "value": hashlib.sha256(payload).hexdigest(),
                    },
                    "signatures": [{"signature": _b64(signature), "verifier": _b64(cert_pem)}],
                },
            },
            separators=(",", ":"),
        ).encode()
        log_id = _key_id(self.rekor_key.public_key())
        root_hash = hashlib.sha256(b"\x00" + body).digest()  # a log of one leaf
        note = f"{ORIGIN}\n1\n{_b64(root_hash)}\n"
        note_signature = _b64(log_id[:4] + _sign(self.rekor_key, note.encode()))
        integrated = int(self.now.timestamp())
        promise = _canonical(
            {
                "body": _b64(body),
                "integratedTime": integrated,
                "logID": log_id.hex(),
                "logIndex": 0,
            }  # fmt: skip
        )
        entry = {
            "logIndex": "0",
            "logId": {"keyId": _b64(log_id)},
            "kindVersion": {"kind": "dsse", "version": "0.0.1"},
            "integratedTime": str(integrated),
            "inclusionPromise": {"signedEntryTimestamp": _b64(_sign(self.rekor_key, promise))},
            "inclusionProof": {
                "logIndex": "0",
                "rootHash": _b64(root_hash),
                "treeSize": "1",
                "hashes": [],
                "checkpoint": {
                    "envelope": f"{note}\n\u2014 {ORIGIN.split()[0]} {note_signature}\n"
                },
            },
            "canonicalizedBody": _b64(body),
        }
        return json.dumps(
            {
                "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
                "verificationMaterial": {
                    "certificate": {
                        "rawBytes": _b64(cert.public_bytes(serialization.Encoding.DER))
                    },
                    "tlogEntries": [entry],
                },
                "dsseEnvelope": envelope,
            }
        )

    def signer_class(self) -> type:
        """A stand-in for model_signing's Sigstore `Signer` at the one step that needs the
        network: the certificate and the log entry come from this instance, not Fulcio and
        Rekor (the token is still read and checked by sigstore's own IdentityToken)."""
        local = self

        class LocalSigner:
            def __init__(self, **options: Any) -> None:
                from sigstore.oidc import IdentityToken

                self.token = IdentityToken(options["identity_token"])
                assert options["use_ambient_credentials"] is False  # no browser flow, ever

            def sign(self, payload: Any) -> Any:
                from google.protobuf import json_format
                from model_signing._signing import sign_sigstore
                from sigstore.models import Bundle

                # the statement's bytes exactly as model_signing's Sigstore signer makes them
                statement = json_format.MessageToJson(payload.statement.pb).encode("utf-8")
                text = local.bundle(statement, self.token.identity, self.token.issuer)
                return sign_sigstore.Signature(Bundle.from_json(text))

        return LocalSigner


def _canonical(value: dict[str, Any]) -> bytes:
    """RFC 8785 for what a signed entry timestamp covers: plain keys, strings and integers."""
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


def _der_length(length: int) -> bytes:
    if length < 0x80:
        return bytes([length])
    encoded = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(encoded)]) + encoded
