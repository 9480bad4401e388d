"""The OCSP hot path (pki/hotpath.py) and the /pki/ocsp route answer with one builder: the same answers."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography import x509
from cryptography.x509 import ocsp
from sqlalchemy.orm import Session
from tests.factories.pki import PkiSetup
from tests.functional.pki.test_ocsp_tsa import _issue_two, _request

from egov.platform.clock import FixedClock

HEADERS = {"Content-Type": "application/ocsp-request"}


def _facts(der: bytes) -> tuple[Any, ...]:
    """What an OCSP answer says, without its signature (ECDSA signatures differ each time)."""
    r = ocsp.load_der_ocsp_response(der)
    try:
        nonce = r.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce
    except x509.ExtensionNotFound:
        nonce = None
    return (r.response_status, r.certificate_status, r.serial_number, r.this_update_utc, r.next_update_utc,
            r.revocation_time_utc, r.revocation_reason, r.responder_key_hash, nonce,
            [c.fingerprint(c.signature_hash_algorithm) for c in r.certificates])  # type: ignore[arg-type]


def test_the_hot_path_and_the_route_give_the_same_answers(app: Any, client: Any, pki: PkiSetup, session: Session,
                                                           clock: FixedClock, monkeypatch: pytest.MonkeyPatch) -> None:
    good, bad = _issue_two(pki, session, clock)
    asks = [_request(good.cert_der, pki.specialised.cert_der), _request(bad.cert_der, pki.specialised.cert_der),
            _request(good.cert_der, pki.specialised.cert_der, nonce=b"0123456789abcdef"), b"\x30\x03bad"]
    hot = [client.post("/pki/ocsp", content=body, headers=HEADERS) for body in asks]
    monkeypatch.delitem(app.hot_paths, "/pki/ocsp")  # now the framework's route answers
    full = [client.post("/pki/ocsp", content=body, headers=HEADERS) for body in asks]
    for h, f in zip(hot, full, strict=True):
        assert h.status_code == f.status_code == 200
        assert h.headers["content-type"] == f.headers["content-type"] == "application/ocsp-response"
        assert "x-request-id" not in h.headers and "x-request-id" in f.headers  # each went its own way
    # Without a nonce the route finds the answer the hot path signed (one responder, one cache) …
    assert hot[0].content == full[0].content and hot[1].content == full[1].content
    # … and with one both sign afresh, saying the same thing.
    assert _facts(hot[2].content) == _facts(full[2].content)
    assert _facts(hot[2].content)[1] is ocsp.OCSPCertStatus.GOOD and _facts(hot[1].content)[1] is \
        ocsp.OCSPCertStatus.REVOKED
    assert hot[3].content == full[3].content  # malformed: the same fixed answer
