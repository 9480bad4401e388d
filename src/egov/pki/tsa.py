"""Time-stamping authority (RFC 3161): TimeStampReq in, TimeStampResp out, signed by the TSU key in the store.

The ASN.1 structures come from asn1crypto (tsp, cms); the signature over the DER signed attributes
comes from the key store's Signer (ECDSA P-256 with SHA-256). The token carries ESS
signingCertificateV2 (RFC 5816) so validators (openssl ts -verify, pyhanko) can bind it to the TSU
certificate, whose extendedKeyUsage is the critical id-kp-timeStamping the RFC requires.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from contextlib import nullcontext
from datetime import datetime, timedelta
from typing import Any

from asn1crypto import algos, cms, core, tsp
from asn1crypto import x509 as ax509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from sqlalchemy.orm import Session

from egov.pki.profiles import POLICY_ARC, Profile
from egov.platform.clock import Clock
from egov.platform.db import Database
from egov.soc import record_event

TSA_POLICY = f"{POLICY_ARC}.2.1"  # PLACEHOLDER, see profiles.POLICY_ARC
MAX_REQUEST_BYTES = 4 * 1024
_DIGEST_SIZES = {"sha256": 32, "sha384": 48, "sha512": 64}
ACCURACY_SECONDS = 1


class TimeStampRefused(Exception):
    def __init__(self, fail_info: str, text: str) -> None:
        super().__init__(text)
        self.fail_info = fail_info
        self.text = text


class _TimeStampRespWithoutToken(core.Sequence):
    """TimeStampResp with the token left out, as RFC 3161 requires for a rejection; asn1crypto 1.5's
    TimeStampResp marks the token mandatory, so it cannot encode one."""

    _fields = [("status", tsp.PKIStatusInfo)]  # noqa: RUF012 - asn1crypto reads its schema from here


def _rejection(fail_info: str, text: str) -> bytes:
    return _TimeStampRespWithoutToken({
        "status": tsp.PKIStatusInfo({"status": "rejection", "status_string": [text],
                                     "fail_info": tsp.PKIFailureInfo({fail_info})}),
    }).dump()


class TimeStampAuthority:
    def __init__(self, db: Database, service: Any, clock: Clock, *, audit: bool = True) -> None:
        self._db = db
        self._service = service
        self._clock = clock
        self._audit = audit
        self._lock = threading.Lock()
        self._unit: tuple[Any, ax509.Certificate, datetime] | None = None

    def _tsu(self, session: Session | None = None) -> tuple[Any, ax509.Certificate]:
        now = self._clock.now()
        unit = self._unit
        if unit is None or unit[2] - now < timedelta(days=1):
            with self._lock, (nullcontext(session) if session is not None else self._db.session()) as work:
                row, ca = self._service.service_certificate(work, Profile.TSU)
                signer = self._service.keys.signer(f"pki-tsu-{ca.name}")
                cert = x509.load_der_x509_certificate(row.cert_der)
                spki = cert.public_key().public_bytes(serialization.Encoding.DER,
                                                      serialization.PublicFormat.SubjectPublicKeyInfo)
                if spki != signer.info.public_key_der:
                    raise RuntimeError("the TSU key does not match its certificate")
                unit = self._unit = (signer, ax509.Certificate.load(row.cert_der), cert.not_valid_after_utc)
        return unit[0], unit[1]

    def respond(self, request_der: bytes, session: Session | None = None) -> bytes:
        """DER TimeStampResp; a bad request gets a `rejection` with the RFC 3161 failInfo, never an exception.

        With `session`, the time-stamp's audit event (and any certificate lookup) joins the caller's
        transaction: a signature and its time-stamp are recorded together, and on SQLite (one writer)
        the signing request does not wait on itself."""
        try:
            return self._grant(request_der, session)
        except TimeStampRefused as exc:
            return _rejection(exc.fail_info, exc.text)

    def _parse(self, request_der: bytes) -> tsp.TimeStampReq:
        if not request_der or len(request_der) > MAX_REQUEST_BYTES:
            raise TimeStampRefused("bad_data_format", "request missing or too large")
        try:
            req = tsp.TimeStampReq.load(request_der, strict=True)
            req.native  # noqa: B018 - forces a full parse so malformed inner fields fail here
        except (ValueError, TypeError, KeyError):
            raise TimeStampRefused("bad_data_format", "not a DER TimeStampReq") from None
        if req["version"].native != "v1":
            raise TimeStampRefused("bad_request", "version must be 1")
        alg = req["message_imprint"]["hash_algorithm"]["algorithm"].native
        if alg not in _DIGEST_SIZES:
            raise TimeStampRefused("bad_alg", f"hash algorithm {alg} not accepted (sha256, sha384, sha512)")
        if len(req["message_imprint"]["hashed_message"].native) != _DIGEST_SIZES[alg]:
            raise TimeStampRefused("bad_data_format", "hashed message length does not match its algorithm")
        policy = req["req_policy"].native
        if policy is not None and policy != TSA_POLICY:
            raise TimeStampRefused("unaccepted_policy", f"only policy {TSA_POLICY} is offered")
        if req["extensions"].native:
            raise TimeStampRefused("unaccepted_extensions", "no request extensions are accepted")
        return req

    def _grant(self, request_der: bytes, session: Session | None) -> bytes:
        req = self._parse(request_der)
        signer, cert = self._tsu(session)
        now = self._clock.now()
        serial = int.from_bytes(secrets.token_bytes(16), "big") >> 1  # 127 random bits, positive
        info: dict[str, Any] = {
            "version": "v1",
            "policy": TSA_POLICY,
            "message_imprint": req["message_imprint"],
            "serial_number": serial,
            "gen_time": now,
            "accuracy": {"seconds": ACCURACY_SECONDS},
            "ordering": False,
            "tsa": ax509.GeneralName(name="directory_name", value=cert.subject),
        }
        if req["nonce"].native is not None:
            info["nonce"] = req["nonce"].native
        tst_info = tsp.TSTInfo(info)
        content = tst_info.dump()
        signed_attrs = cms.CMSAttributes([
            cms.CMSAttribute({"type": "content_type", "values": ["tst_info"]}),
            cms.CMSAttribute({"type": "signing_time", "values": [cms.Time(name="utc_time", value=now)]}),
            cms.CMSAttribute({"type": "message_digest", "values": [hashlib.sha256(content).digest()]}),
            cms.CMSAttribute({"type": "signing_certificate_v2", "values": [tsp.SigningCertificateV2({
                "certs": [tsp.ESSCertIDv2({
                    "hash_algorithm": {"algorithm": "sha256"},
                    "cert_hash": hashlib.sha256(cert.dump()).digest(),
                    "issuer_serial": {
                        "issuer": [ax509.GeneralName(name="directory_name", value=cert.issuer)],
                        "serial_number": cert.serial_number,
                    },
                })],
            })]}),
        ])
        # The signature covers the DER of the attributes as a SET (tag 0x31), not as the [0] field.
        signature = signer.sign(signed_attrs.dump())
        signer_info = cms.SignerInfo({
            "version": "v1",
            "sid": cms.SignerIdentifier(name="issuer_and_serial_number", value=cms.IssuerAndSerialNumber({
                "issuer": cert.issuer, "serial_number": cert.serial_number})),
            "digest_algorithm": algos.DigestAlgorithm({"algorithm": "sha256"}),
            "signed_attrs": signed_attrs,
            "signature_algorithm": algos.SignedDigestAlgorithm({"algorithm": "sha256_ecdsa"}),
            "signature": signature,
        })
        signed_data: dict[str, Any] = {
            "version": "v3",
            "digest_algorithms": [algos.DigestAlgorithm({"algorithm": "sha256"})],
            "encap_content_info": {"content_type": "tst_info", "content": core.ParsableOctetString(content)},
            "signer_infos": [signer_info],
        }
        if req["cert_req"].native:
            signed_data["certificates"] = [cms.CertificateChoices(name="certificate", value=cert)]
        token = cms.ContentInfo({"content_type": "signed_data", "content": cms.SignedData(signed_data)})
        response = tsp.TimeStampResp({"status": {"status": "granted"}, "time_stamp_token": token}).dump()
        if self._audit:
            from egov.pki.audit import PkiAudit

            with nullcontext(session) if session is not None else self._db.session() as work:
                record_event(work, PkiAudit.TIMESTAMP_ISSUED, object_type="pki_timestamp",
                             object_id=format(serial, "x"),
                             details={"hash_algorithm": req["message_imprint"]["hash_algorithm"]["algorithm"].native,
                                      "hashed_message": req["message_imprint"]["hashed_message"].native.hex(),
                                      "gen_time": now.isoformat()})
        return response
