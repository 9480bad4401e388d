"""The ETSI decision table, input guards and small helpers, without a database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from asn1crypto import crl
from pyhanko.sign.ades.report import AdESFailure, AdESIndeterminate
from pyhanko.sign.validation.status import RevocationDetails
from tests.factories.signing import make_pdf

from egov.signing.api import detect_kind
from egov.signing.interfaces import SigningError, TrustSource, UnsafeInput
from egov.signing.pades import iso_vn
from egov.signing.validation import Indication, ValidationReport, decide, validate_pdf
from egov.signing.xades import parse_xml

T0 = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
REV = RevocationDetails(ca_revoked=False, revocation_date=T0, revocation_reason=crl.CRLReason("key_compromise"))


def test_integrity_comes_first() -> None:
    assert decide(intact=False, valid=False, trust_problem=None) == (Indication.TOTAL_FAILED, "HASH_FAILURE")
    assert decide(intact=True, valid=False, trust_problem=None) == (Indication.TOTAL_FAILED, "SIG_CRYPTO_FAILURE")
    assert decide(intact=True, valid=True, trust_problem=None) == (Indication.TOTAL_PASSED, None)


def test_revocation_against_proof_of_existence() -> None:
    ind = AdESIndeterminate.REVOKED_NO_POE
    assert decide(intact=True, valid=True, trust_problem=ind, revocation=REV) == (
        Indication.INDETERMINATE, "REVOKED_NO_POE")
    assert decide(intact=True, valid=True, trust_problem=ind, revocation=REV, poe=T0 + timedelta(seconds=1)) == (
        Indication.TOTAL_FAILED, "REVOKED")
    # a trusted time-stamp from before the revocation proves the signature came first
    assert decide(intact=True, valid=True, trust_problem=ind, revocation=REV, poe=T0 - timedelta(days=1)) == (
        Indication.TOTAL_PASSED, None)


def test_expiry_against_proof_of_existence() -> None:
    ind = AdESIndeterminate.OUT_OF_BOUNDS_NO_POE
    assert decide(intact=True, valid=True, trust_problem=ind) == (Indication.INDETERMINATE, "OUT_OF_BOUNDS_NO_POE")
    assert decide(intact=True, valid=True, trust_problem=ind, poe=T0, not_after=T0 - timedelta(days=1)) == (
        Indication.INDETERMINATE, "EXPIRED")
    assert decide(intact=True, valid=True, trust_problem=ind, poe=T0, not_after=T0 + timedelta(days=1)) == (
        Indication.INDETERMINATE, "OUT_OF_BOUNDS_NOT_REVOKED")


def test_failures_and_indeterminates_keep_their_names() -> None:
    assert decide(intact=True, valid=True, trust_problem=AdESFailure.NOT_YET_VALID) == (
        Indication.TOTAL_FAILED, "NOT_YET_VALID")
    assert decide(intact=True, valid=True, trust_problem=AdESIndeterminate.TRY_LATER) == (
        Indication.INDETERMINATE, "TRY_LATER")


def test_overall_indication_is_the_worst() -> None:
    from egov.signing.validation import SignatureReport

    def rep(*kinds: Indication) -> ValidationReport:
        return ValidationReport("pdf", "0" * 64, T0, [SignatureReport(id=str(i), format="PAdES", indication=k)
                                                      for i, k in enumerate(kinds)])
    assert rep().indication is None
    assert rep(Indication.TOTAL_PASSED, Indication.TOTAL_PASSED).indication is Indication.TOTAL_PASSED
    assert rep(Indication.TOTAL_PASSED, Indication.INDETERMINATE).indication is Indication.INDETERMINATE
    assert rep(Indication.INDETERMINATE, Indication.TOTAL_FAILED).indication is Indication.TOTAL_FAILED
    assert rep(Indication.TOTAL_FAILED).to_dict()["indication"] == "TOTAL-FAILED"


def test_xml_guards() -> None:
    with pytest.raises(UnsafeInput):
        parse_xml(b'<!DOCTYPE r SYSTEM "http://evil.example/x.dtd"><r/>')
    with pytest.raises(UnsafeInput):
        parse_xml(b"<r>" + b"x" * 100 + b"</r>", max_bytes=50)
    with pytest.raises(SigningError):
        parse_xml(b"<r><unclosed></r>")
    # UTF-16 hides the DOCTYPE from a byte search; the parsed tree still shows it
    with pytest.raises(UnsafeInput):
        parse_xml('<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE r><r/>'.encode("utf-16"))
    assert parse_xml("<r>Việt</r>".encode()).text == "Việt"


def test_pdf_bomb_guards() -> None:
    trust = TrustSource(roots_der=[])
    with pytest.raises(UnsafeInput):
        validate_pdf(make_pdf(pages=3), trust, max_objects=3)
    with pytest.raises(SigningError):
        validate_pdf(b"not a pdf", trust)


def test_small_helpers() -> None:
    assert iso_vn(T0) == "2026-11-25T10:00:00+07:00"
    assert detect_kind(b"%PDF-1.7") == "pdf"
    assert detect_kind(b"\xef\xbb\xbf<?xml") == "xml"
    assert detect_kind(b"\x30\x82") == "cms"
