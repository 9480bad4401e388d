"""PAdES B-B/B-T/B-LT/B-LTA with a key-store key, checked by pyHanko's validator and poppler's pdfsig."""

from __future__ import annotations

import io
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import (
    DocumentSecurityStore,
    validate_pdf_signature,
    validate_pdf_timestamp,
)
from pyhanko.sign.validation.settings import KeyUsageConstraints
from pyhanko_certvalidator import ValidationContext
from tests.factories.signing import SigningWorld, make_pdf, seal_png

from egov.platform.keys import KeyAlgorithm
from egov.signing.interfaces import SigningError, SigningIdentity
from egov.signing.pades import PadesLevel, VisibleSignature, add_archive_timestamp, iso_vn, sign_pdf

NOW = datetime.now(UTC)
OFFICER_BOX = VisibleSignature("officer", (300, 60, 560, 140))


def _vc(world: SigningWorld) -> ValidationContext:
    from egov.signing.trust import validation_context

    return validation_context(world.trust)


def pdfsig(world: SigningWorld, pdf: bytes, tmp_path: Path) -> str:
    """poppler's verdict with the test root trusted in an NSS db. -no-ocsp: the test certificates'
    OCSP URL (pki.egov.test) does not resolve, and NSS would report the failed lookup as a certificate problem."""
    assert world.nssdb is not None, "certutil (libnss3-tools) is needed"
    path = tmp_path / "doc.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(["pdfsig", "-no-ocsp", "-nssdir", f"sql:{world.nssdb}", str(path)],
                         capture_output=True, text=True)
    return out.stdout


@pytest.mark.parametrize("level", list(PadesLevel))
def test_each_level_validates_with_pyhanko_and_pdfsig(signing_world: SigningWorld, level: PadesLevel,
                                                     tmp_path: Path) -> None:
    w = signing_world
    signed = sign_pdf(make_pdf(), w.officer, signing_time=NOW, level=level, timestamper=w.timestamper,
                      trust=w.trust, visible=OFFICER_BOX)
    reader = PdfFileReader(io.BytesIO(signed))
    sig = reader.embedded_regular_signatures[0]
    status = validate_pdf_signature(sig, _vc(w), key_usage_settings=KeyUsageConstraints(
        key_usage={"non_repudiation"}))
    assert status.bottom_line, status.pretty_print_details()
    assert status.intact and status.valid and status.trusted
    summary = status.summary()
    assert summary.startswith("INTACT:TRUSTED")
    if level.needs_timestamp:
        assert "TIMESTAMP_TOKEN<INTACT:TRUSTED>" in summary
    else:
        assert "TIMESTAMP_TOKEN" not in summary
    dss = reader.root.get("/DSS")
    dss = dss.get_object() if dss is not None else None
    if level.needs_revocation:
        assert dss is not None and "/CRLs" in dss, "B-LT embeds revocation data in the DSS"
        # Only what the document carries: no CRL from outside, revocation checking mandatory.
        from_dss = DocumentSecurityStore.read_dss(reader).as_validation_context(
            {"trust_roots": _roots(w), "allow_fetching": False, "revocation_mode": "hard-fail"})
        ltv = validate_pdf_signature(sig, from_dss)
        assert ltv.bottom_line, ltv.pretty_print_details()
    else:
        assert dss is None
    doc_ts = reader.embedded_timestamp_signatures
    if level is PadesLevel.B_LTA:
        assert len(doc_ts) == 1
        ts_status = validate_pdf_timestamp(doc_ts[0], _vc(w))
        assert ts_status.intact and ts_status.valid and ts_status.trusted
    else:
        assert doc_ts == []
    out = pdfsig(w, signed, tmp_path)
    assert "Signature Validation: Signature is Valid." in out, out
    assert "Certificate Validation: Certificate is Trusted." in out, out
    assert "Signature Type: ETSI.CAdES.detached" in out


def _roots(world: SigningWorld) -> list:  # type: ignore[type-arg]
    from asn1crypto import x509

    return [x509.Certificate.load(world.pki.root.der)]


def test_officer_then_agency_seal_both_stay_valid(signing_world: SigningWorld, tmp_path: Path) -> None:
    w = signing_world
    once = sign_pdf(make_pdf(pages=2), w.officer, signing_time=NOW, level=PadesLevel.B_T,
                    timestamper=w.timestamper, visible=OFFICER_BOX)
    twice = sign_pdf(once, w.seal, signing_time=NOW, level=PadesLevel.B_T, timestamper=w.timestamper,
                     visible=VisibleSignature("seal", (300, 150, 560, 230), page=0, seal_png=seal_png()))
    assert twice.startswith(once), "the seal is an incremental update: the officer's bytes are untouched"
    sigs = PdfFileReader(io.BytesIO(twice)).embedded_regular_signatures
    assert [s.field_name for s in sigs] == ["Signature1", "Seal1"]
    for s in sigs:
        st = validate_pdf_signature(s, _vc(w))
        assert st.bottom_line and st.trusted, st.pretty_print_details()
    assert validate_pdf_signature(sigs[1], _vc(w)).coverage.name == "ENTIRE_FILE"
    out = pdfsig(w, twice, tmp_path)
    assert out.count("Signature is Valid.") == 2, out
    assert out.count("Certificate is Trusted.") == 2, out
    assert "Nguyễn Văn An" in out and "Sở Thông tin và Truyền thông" in out


def test_visible_signature_carries_the_decree_30_text(signing_world: SigningWorld) -> None:
    w = signing_world
    signed = sign_pdf(make_pdf(), w.seal, signing_time=datetime(2026, 11, 25, 3, 0, 5, tzinfo=UTC),
                      level=PadesLevel.B_B, visible=VisibleSignature("seal", (300, 150, 560, 230), page=0,
                                                                    seal_png=seal_png()))
    reader = PdfFileReader(io.BytesIO(signed))
    field = reader.embedded_regular_signatures[0].sig_field
    assert [round(float(x)) for x in field["/Rect"]] == [300, 150, 560, 230]
    appearance = field["/AP"]["/N"]
    resources = appearance["/Resources"]
    # The seal image is drawn, and the text uses an embedded subset of DejaVu Sans (Vietnamese glyphs).
    assert "/XObject" in str(resources) or "/XObject" in str(appearance.data)
    base_fonts = [str(resources["/Font"][k]["/DescendantFonts"][0]["/BaseFont"]) for k in resources["/Font"]]
    assert any(f.endswith("DejaVuSans") for f in base_fonts), base_fonts
    assert iso_vn(datetime(2026, 11, 25, 3, 0, 5, tzinfo=UTC)) == "2026-11-25T10:00:05+07:00"
    assert appearance.data, "appearance stream present"


def test_tampered_byte_range_is_caught_by_both_validators(signing_world: SigningWorld, tmp_path: Path) -> None:
    w = signing_world
    signed = bytearray(sign_pdf(make_pdf(text="So tien 1000000 dong"), w.officer, signing_time=NOW,
                                level=PadesLevel.B_B))
    at = signed.index(b"1000000")
    signed[at:at + 7] = b"9000000"  # same length: byte ranges still line up, the digest does not
    out = pdfsig(w, bytes(signed), tmp_path)
    assert "Digest Mismatch" in out, out
    st = validate_pdf_signature(PdfFileReader(io.BytesIO(bytes(signed))).embedded_signatures[0], _vc(w))
    assert not st.intact and not st.bottom_line


def test_certificate_of_another_key_is_refused(signing_world: SigningWorld) -> None:
    w = signing_world
    wrong = SigningIdentity(signer=w.officer.signer, certificate_der=w.seal.certificate_der,
                            chain_der=w.seal.chain_der)
    with pytest.raises(SigningError, match="does not belong"):
        sign_pdf(make_pdf(), wrong, signing_time=NOW, level=PadesLevel.B_B)


def test_corrupt_pdf_and_missing_tsa_are_refused(signing_world: SigningWorld) -> None:
    w = signing_world
    with pytest.raises(SigningError, match="corrupt"):
        sign_pdf(b"%PDF-1.7\n garbage", w.officer, signing_time=NOW, level=PadesLevel.B_B)
    with pytest.raises(SigningError, match="time-stamping"):
        sign_pdf(make_pdf(), w.officer, signing_time=NOW, level=PadesLevel.B_T)
    with pytest.raises(SigningError, match="revocation"):
        sign_pdf(make_pdf(), w.officer, signing_time=NOW, level=PadesLevel.B_LT, timestamper=w.timestamper)


def test_rsa_key_from_the_key_store_signs_too(signing_world: SigningWorld, tmp_path: Path) -> None:
    w = signing_world
    ident = w.identity("officer-rsa", common_name="Trần Thị Bình", algorithm=KeyAlgorithm.RSA_2048)
    signed = sign_pdf(make_pdf(), ident, signing_time=NOW, level=PadesLevel.B_T, timestamper=w.timestamper)
    st = validate_pdf_signature(PdfFileReader(io.BytesIO(signed)).embedded_signatures[0], _vc(w))
    assert st.bottom_line, st.pretty_print_details()
    assert "Certificate is Trusted." in pdfsig(w, signed, tmp_path)


def test_archive_timestamp_renewal_adds_a_document_timestamp(signing_world: SigningWorld,
                                                              tmp_path: Path) -> None:
    w = signing_world
    lta = sign_pdf(make_pdf(), w.officer, signing_time=NOW, level=PadesLevel.B_LTA, timestamper=w.timestamper,
                   trust=w.trust)
    renewed = add_archive_timestamp(lta, timestamper=w.timestamper, trust=w.trust)
    assert renewed.startswith(lta)
    reader = PdfFileReader(io.BytesIO(renewed))
    stamps = reader.embedded_timestamp_signatures
    assert len(stamps) == 2
    for ts in stamps:
        ts_status = validate_pdf_timestamp(ts, _vc(w))
        assert ts_status.intact and ts_status.valid and ts_status.trusted
    st = validate_pdf_signature(reader.embedded_regular_signatures[0], _vc(w))
    assert st.bottom_line
    out = pdfsig(w, renewed, tmp_path)
    assert "Signature is Valid." in out
