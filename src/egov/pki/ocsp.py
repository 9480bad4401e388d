"""OCSP responder (RFC 6960): delegated signer per issuing CA, nonces echoed, pre-signed answers without one.

Requests without a nonce get an answer signed earlier (RFC 5019 style) while it is fresh: it is
re-signed when half its validity has passed, and dropped as soon as the CA's `status_epoch`
moves (every suspension, revocation or reinstatement bumps it in the same transaction). The epoch
is read from the database at most every `epoch_poll_seconds` (default 1 s), so a status change
made by any process reaches every responder within that time, and a change made in this process
at once (the service tells the local responders). Requests with a nonce are always looked up and
signed afresh. The certificate lookup is one primary-key-sized read.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp
from sqlalchemy import bindparam, select

from egov.pki.keys import as_private_key
from egov.pki.models import CertificateAuthority, IssuedCertificate
from egov.pki.profiles import Profile
from egov.pki.x509build import serial_hex
from egov.platform.clock import Clock
from egov.platform.db import Database

MAX_REQUEST_BYTES = 8 * 1024
_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "sha1": hashes.SHA1, "sha256": hashes.SHA256, "sha384": hashes.SHA384, "sha512": hashes.SHA512,
}
# Bumped by the service on every status change in this process; responders compare it per request.
_local_changes = [0]
_local_lock = threading.Lock()


def note_status_change() -> None:
    with _local_lock:
        _local_changes[0] += 1


@dataclass
class _Issuer:
    ca_id: str
    name: str
    cert: x509.Certificate
    signer_key: Any
    signer_cert: x509.Certificate
    signer_not_after: datetime


@dataclass
class _Cached:
    epoch: int
    refresh_at: datetime
    der: bytes


def _unsuccessful(status: ocsp.OCSPResponseStatus) -> bytes:
    return ocsp.OCSPResponseBuilder.build_unsuccessful(status).public_bytes(serialization.Encoding.DER)


MALFORMED = _unsuccessful(ocsp.OCSPResponseStatus.MALFORMED_REQUEST)
UNAUTHORIZED = _unsuccessful(ocsp.OCSPResponseStatus.UNAUTHORIZED)
INTERNAL_ERROR = _unsuccessful(ocsp.OCSPResponseStatus.INTERNAL_ERROR)


class OcspResponder:
    def __init__(self, db: Database, service: Any, clock: Clock, *, validity_minutes: int = 60,
                 epoch_poll_seconds: float = 1.0) -> None:
        self._db = db
        self._service = service
        self._clock = clock
        self._validity = timedelta(minutes=validity_minutes)
        self._poll = epoch_poll_seconds
        self._lock = threading.Lock()
        # (name hash, key hash, hash algorithm name) -> issuer
        self._issuers: dict[tuple[bytes, bytes, str], _Issuer] = {}
        self._issuers_loaded_at = 0.0
        self._epochs: dict[str, int] = {}
        self._epochs_at = 0.0
        self._epochs_local = -1
        self._cache: dict[tuple[str, int, str], _Cached] = {}
        # RFC 5019 style: a nonce-less request from a client is the same bytes every time, so the
        # answer is also kept under the request's DER (with its CA id) and found without parsing.
        self._by_bytes: dict[bytes, tuple[str, _Cached]] = {}
        self._statuses: dict[tuple[str, int], tuple[int, tuple[str | None, datetime | None, str | None]]] = {}
        self._reads = db.engine.execution_options(sqlite_begin="DEFERRED")
        # Built once: building a select per request cost as much as running it.
        self._status_stmt = select(IssuedCertificate.status, IssuedCertificate.revoked_at,
                                   IssuedCertificate.revocation_reason).where(
            IssuedCertificate.ca_id == bindparam("ca_id"), IssuedCertificate.serial == bindparam("serial"))
        self._epoch_stmt = select(CertificateAuthority.id, CertificateAuthority.status_epoch)

    # --- set-up ---------------------------------------------------------------------------------------

    def _load_issuers(self) -> None:
        """Our online issuing CAs, each with its delegated OCSP signer (issued on first use, audited)."""
        issuers: dict[tuple[bytes, bytes, str], _Issuer] = {}
        with self._db.session() as session:
            for ca in session.scalars(select(CertificateAuthority).where(CertificateAuthority.kind == "issuing",
                                                                         CertificateAuthority.status == "active")):
                row, _ = self._service.service_certificate(session, Profile.OCSP_SIGNER, ca.name)
                signer_cert = x509.load_der_x509_certificate(row.cert_der)
                key_name = f"pki-ocsp-{ca.name}"
                signer = self._service.keys.signer(key_name)
                if signer.info.public_key_der != signer_cert.public_key().public_bytes(
                        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo):
                    raise RuntimeError(f"OCSP signer key {key_name} does not match its certificate")
                cert = x509.load_der_x509_certificate(ca.cert_der)
                issuer = _Issuer(ca.id, ca.name, cert, as_private_key(signer), signer_cert,
                                 signer_cert.not_valid_after_utc)
                for alg_name, alg in _HASHES.items():
                    name_hash, key_hash = _issuer_hashes(cert, alg())
                    issuers[(name_hash, key_hash, alg_name)] = issuer
        self._issuers = issuers
        self._issuers_loaded_at = time.monotonic()

    def _issuer_for(self, req: ocsp.OCSPRequest, may_read: bool = True) -> _Issuer | None:
        now = self._clock.now()
        stale = not self._issuers or time.monotonic() - self._issuers_loaded_at > 300 or any(
            i.signer_not_after - now < timedelta(days=1) for i in self._issuers.values())
        if stale:
            if not may_read:
                raise _NeedsRead
            with self._lock:
                self._load_issuers()
        return self._issuers.get((req.issuer_name_hash, req.issuer_key_hash, req.hash_algorithm.name))

    def _epoch(self, ca_id: str, may_read: bool = True) -> int:
        local = _local_changes[0]
        t = time.monotonic()
        if t - self._epochs_at > self._poll or local != self._epochs_local:
            if not may_read:  # an event loop must not wait on the database: a worker thread polls
                raise _NeedsRead
            with self._reads.connect() as conn:
                rows = conn.execute(self._epoch_stmt).all()
            self._epochs = {i: e for i, e in rows}
            self._epochs_at, self._epochs_local = t, local
        return self._epochs.get(ca_id, -1)

    # --- answering ------------------------------------------------------------------------------------

    def respond(self, request_der: bytes, *, may_read: bool = True) -> bytes | None:
        """DER OCSPResponse for a DER OCSPRequest; never raises on bad input (malformed/unauthorized).

        With may_read=False it answers only what needs no database read beyond the epoch poll (the
        event-loop path), and returns None otherwise; the caller then calls again in a thread.
        """
        try:
            return self._respond(request_der, may_read)
        except _NeedsRead:
            return None

    def _respond(self, request_der: bytes, may_read: bool) -> bytes:
        if not request_der or len(request_der) > MAX_REQUEST_BYTES:
            return MALFORMED
        try:
            req = ocsp.load_der_ocsp_request(request_der)
            algorithm = req.hash_algorithm
            serial = req.serial_number
        except (ValueError, TypeError, Exception):  # noqa: BLE001 - any parse failure is "malformed"
            return MALFORMED
        if algorithm.name not in _HASHES:
            return MALFORMED
        issuer = self._issuer_for(req, may_read)
        if issuer is None:
            return UNAUTHORIZED  # not a CA this responder answers for (RFC 6960 2.3)
        try:
            nonce = req.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce
        except x509.ExtensionNotFound:
            nonce = None
        except ValueError:
            return MALFORMED
        if nonce is not None:
            return self._sign(issuer, req, nonce, may_read)
        key = (issuer.ca_id, serial, algorithm.name)
        epoch = self._epoch(issuer.ca_id, may_read)
        hit = self._cache.get(key)
        if hit is not None and hit.epoch == epoch and self._clock.now() < hit.refresh_at:
            return hit.der
        der = self._sign(issuer, req, None, may_read)
        entry = _Cached(epoch, self._clock.now() + self._validity / 2, der)
        self._cache[key] = entry
        self._by_bytes[request_der] = (issuer.ca_id, entry)
        _trim(self._cache)
        _trim(self._by_bytes)
        return der

    def presigned(self, request_der: bytes) -> bytes | None:
        """The pre-signed answer to exactly these request bytes if it is still fresh and the CA's status
        epoch has not moved; None otherwise (then call respond()). No parsing, no signing, no database
        (an epoch due for its poll says None): the event loop's path."""
        hit = self._by_bytes.get(request_der)
        if hit is None:
            return None
        ca_id, entry = hit
        try:
            epoch = self._epoch(ca_id, may_read=False)
        except _NeedsRead:
            return None
        if entry.epoch != epoch or self._clock.now() >= entry.refresh_at:
            return None
        return entry.der

    def poll_epochs(self) -> None:
        """Read the CAs' status epochs now if their poll is due (a worker thread's job, so the event
        loop's path keeps finding them fresh)."""
        self._epoch("", may_read=True)

    def _status(self, ca_id: str, serial: int, may_read: bool) -> tuple[str | None, datetime | None, str | None]:
        """The certificate's status, from memory while the CA's status epoch has not moved (the same
        freshness rule as the pre-signed answers), else from the database."""
        epoch = self._epoch(ca_id, may_read)
        hit = self._statuses.get((ca_id, serial))
        if hit is not None and hit[0] == epoch:
            return hit[1]
        if not may_read:
            raise _NeedsRead
        found = self._read_status(ca_id, serial)
        self._statuses[(ca_id, serial)] = (epoch, found)
        _trim(self._statuses)
        return found

    def _read_status(self, ca_id: str, serial: int) -> tuple[str | None, datetime | None, str | None]:
        with self._reads.connect() as conn:
            row = conn.execute(self._status_stmt, {"ca_id": ca_id, "serial": serial_hex(serial)}).first()
        if row is None:
            return None, None, None
        return row[0], row[1], row[2]

    def _sign(self, issuer: _Issuer, req: ocsp.OCSPRequest, nonce: bytes | None, may_read: bool) -> bytes:
        status, revoked_at, reason = self._status(issuer.ca_id, req.serial_number, may_read)
        now = self._clock.now().replace(microsecond=0)
        if status is None:
            cert_status, rt, rr = ocsp.OCSPCertStatus.UNKNOWN, None, None
        elif status == "valid":
            cert_status, rt, rr = ocsp.OCSPCertStatus.GOOD, None, None
        else:
            cert_status = ocsp.OCSPCertStatus.REVOKED
            rt = (revoked_at or now).replace(microsecond=0)
            rr = x509.ReasonFlags[reason or "unspecified"]
        builder = (
            ocsp.OCSPResponseBuilder()
            .add_response_by_hash(issuer_name_hash=req.issuer_name_hash, issuer_key_hash=req.issuer_key_hash,
                                  serial_number=req.serial_number, algorithm=req.hash_algorithm,
                                  cert_status=cert_status, this_update=now, next_update=now + self._validity,
                                  revocation_time=rt, revocation_reason=rr)
            .responder_id(ocsp.OCSPResponderEncoding.HASH, issuer.signer_cert)
            .certificates([issuer.signer_cert])
        )
        if nonce is not None:
            builder = builder.add_extension(x509.OCSPNonce(nonce), critical=False)
        return builder.sign(issuer.signer_key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


class _NeedsRead(Exception):
    pass


def _trim(cache: dict[Any, Any], limit: int = 200_000) -> None:
    """Bounded memory: drop the oldest half when full (dicts keep insertion order)."""
    if len(cache) > limit:
        for k in list(cache)[: limit // 2]:
            cache.pop(k, None)


def _issuer_hashes(cert: x509.Certificate, algorithm: hashes.HashAlgorithm) -> tuple[bytes, bytes]:
    """CertID's issuerNameHash and issuerKeyHash for `cert` as the issuer (RFC 6960 4.1.1)."""
    from egov.pki.x509build import _bit_string_of_spki

    name = hashes.Hash(algorithm)
    name.update(cert.subject.public_bytes())
    key = hashes.Hash(algorithm)
    key.update(_bit_string_of_spki(cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)))
    return name.finalize(), key.finalize()
