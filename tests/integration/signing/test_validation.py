"""The validation report in ETSI EN 319 102-1 terms: one test per named sub-indication, per format."""

from __future__ import annotations

import io
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from asn1crypto import cms
from pyhanko.pdf_utils.reader import PdfFileReader
from tests.factories.certs import TestPki, der
from tests.factories.signing import SigningWorld, make_pdf

from egov.platform.keys import KeyAlgorithm
from egov.signing.cms import sign_detached
from egov.signing.interfaces import RevocationData, SigningError, SigningIdentity, UnsafeInput
from egov.signing.pades import PadesLevel, sign_pdf
from egov.signing.validation import Indication, validate_cms, validate_pdf, validate_xml
from egov.signing.xades import sign_xml

NOW = datetime.now(UTC)
XML = ('<?xml version="1.0" encoding="UTF-8"?><HoSo xmlns="urn:egov:hoso:1" Id="hs-1">'
       "<MaHoSo>000.00.00.H29-261125-0001</MaHoSo><NguoiNop>Lê Thị Hoa</NguoiNop>"
       "<SoTien>150000</SoTien></HoSo>").encode()
_n = iter(range(1000))


def fresh(w: SigningWorld, **issue: object) -> SigningIdentity:
    return w.identity(f"v-officer-{next(_n)}", common_name="Phạm Minh Đức", **issue)


def one(report):  # type: ignore[no-untyped-def]
    assert len(report.signatures) == 1, report.to_dict()
    return report.signatures[0]


# --- PDF ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("level", list(PadesLevel))
def test_pdf_each_level_passes_and_is_detected(signing_world: SigningWorld, level: PadesLevel) -> None:
    w = signing_world
    signed = sign_pdf(make_pdf(), w.officer, signing_time=NOW, level=level, timestamper=w.timestamper,
                      trust=w.trust)
    report = validate_pdf(signed, w.trust)
    sig = next(s for s in report.signatures if s.format == "PAdES")
    assert sig.indication is Indication.TOTAL_PASSED, report.to_dict()
    assert sig.sub_indication is None
    assert sig.level == level.value
    assert "Nguyễn Văn An" in (sig.signer_subject or "")
    assert sig.coverage in ("ENTIRE_FILE", "ENTIRE_REVISION")
    assert (sig.timestamp_time is not None) is level.needs_timestamp
    assert report.indication is Indication.TOTAL_PASSED
    assert report.to_dict()["signatures"][0]["indication"] == "TOTAL-PASSED"


def test_pdf_b_lt_validates_from_embedded_revocation_data_alone(signing_world: SigningWorld) -> None:
    w = signing_world
    signed = sign_pdf(make_pdf(), w.officer, signing_time=NOW, level=PadesLevel.B_LT, timestamper=w.timestamper,
                      trust=w.trust)
    bare = w.trust_with(revocation=RevocationData())  # no CRL known to the validator: only the DSS's
    assert one(validate_pdf(signed, bare)).indication is Indication.TOTAL_PASSED
    unsigned_dss = sign_pdf(make_pdf(), w.officer, signing_time=NOW, level=PadesLevel.B_T,
                            timestamper=w.timestamper)
    assert one(validate_pdf(unsigned_dss, bare)).sub_indication == "TRY_LATER"


def test_hash_failure(signing_world: SigningWorld) -> None:
    w = signing_world
    signed = bytearray(sign_pdf(make_pdf(text="So tien 1000000"), w.officer, signing_time=NOW,
                                level=PadesLevel.B_B))
    at = signed.index(b"1000000")
    signed[at] = ord("9")
    sig = one(validate_pdf(bytes(signed), w.trust))
    assert (sig.indication, sig.sub_indication) == (Indication.TOTAL_FAILED, "HASH_FAILURE")


def _corrupt_signature_value(cms_der: bytes) -> bytes:
    info = cms.ContentInfo.load(cms_der)
    si = info["content"]["signer_infos"][0]
    value = bytearray(si["signature"].native)
    value[-5] ^= 0x01
    si["signature"] = bytes(value)
    return bytes(cms.ContentInfo.load(info.dump(force=True)).dump())


def test_sig_crypto_failure_pdf(signing_world: SigningWorld) -> None:
    w = signing_world
    signed = sign_pdf(make_pdf(), w.officer, signing_time=NOW, level=PadesLevel.B_B)
    reader = PdfFileReader(io.BytesIO(signed))
    contents = cms.ContentInfo.load(bytes(reader.embedded_signatures[0].pkcs7_content)).dump()
    bad = _corrupt_signature_value(contents)
    hex_old, hex_new = contents.hex().encode(), bad.hex().encode()
    assert len(hex_old) == len(hex_new)
    tampered = signed.replace(hex_old, hex_new) if hex_old in signed else \
        signed.replace(hex_old.upper(), hex_new.upper())
    assert tampered != signed
    sig = one(validate_pdf(tampered, w.trust))
    assert (sig.indication, sig.sub_indication) == (Indication.TOTAL_FAILED, "SIG_CRYPTO_FAILURE")


def test_revoked_after_a_trusted_timestamp_is_failed_revoked(signing_world: SigningWorld) -> None:
    w = signing_world
    ident = fresh(w)
    w.pki.revoke(_cert(ident), at=NOW - timedelta(hours=1))
    signed = sign_pdf(make_pdf(), ident, signing_time=NOW, level=PadesLevel.B_T, timestamper=w.timestamper)
    sig = one(validate_pdf(signed, w.trust_with()))
    assert (sig.indication, sig.sub_indication) == (Indication.TOTAL_FAILED, "REVOKED"), sig


def test_revoked_without_proof_of_existence_is_indeterminate(signing_world: SigningWorld) -> None:
    w = signing_world
    ident = fresh(w)
    w.pki.revoke(_cert(ident), at=NOW - timedelta(hours=1))
    signed = sign_pdf(make_pdf(), ident, signing_time=NOW, level=PadesLevel.B_B)
    sig = one(validate_pdf(signed, w.trust_with()))
    assert (sig.indication, sig.sub_indication) == (Indication.INDETERMINATE, "REVOKED_NO_POE"), sig


def test_unknown_ca_is_no_certificate_chain_found(signing_world: SigningWorld) -> None:
    w = signing_world
    stranger = TestPki.create(label="ngoài danh sách tin cậy")
    info = w.keys.ensure("v-stranger", KeyAlgorithm.ECDSA_P256)
    cert = stranger.issue(info.public_key_der, common_name="Người lạ")
    ident = SigningIdentity(signer=w.keys.signer("v-stranger"), certificate_der=der(cert),
                            chain_der=stranger.chain_der)
    signed = sign_pdf(make_pdf(), ident, signing_time=NOW, level=PadesLevel.B_B)
    sig = one(validate_pdf(signed, w.trust))
    assert (sig.indication, sig.sub_indication) == (Indication.INDETERMINATE, "NO_CERTIFICATE_CHAIN_FOUND"), sig


def test_expired_certificate_without_poe_is_out_of_bounds_no_poe(signing_world: SigningWorld) -> None:
    w = signing_world
    ident = fresh(w, not_before=NOW - timedelta(days=60), not_after=NOW - timedelta(days=1))
    signed = sign_pdf(make_pdf(), ident, signing_time=NOW, level=PadesLevel.B_B)
    sig = one(validate_pdf(signed, w.trust_with()))
    assert (sig.indication, sig.sub_indication) == (Indication.INDETERMINATE, "OUT_OF_BOUNDS_NO_POE"), sig


def test_expired_before_the_timestamp_is_expired(signing_world: SigningWorld) -> None:
    w = signing_world
    ident = fresh(w, not_before=NOW - timedelta(days=60), not_after=NOW - timedelta(days=1))
    signed = sign_pdf(make_pdf(), ident, signing_time=NOW, level=PadesLevel.B_T, timestamper=w.timestamper)
    sig = one(validate_pdf(signed, w.trust_with()))
    assert (sig.indication, sig.sub_indication) == (Indication.INDETERMINATE, "EXPIRED"), sig


def test_no_revocation_data_is_try_later(signing_world: SigningWorld) -> None:
    w = signing_world
    signed = sign_pdf(make_pdf(), w.officer, signing_time=NOW, level=PadesLevel.B_B)
    sig = one(validate_pdf(signed, w.trust_with(revocation=RevocationData())))
    assert (sig.indication, sig.sub_indication) == (Indication.INDETERMINATE, "TRY_LATER"), sig


def test_pdf_without_signatures_and_garbage(signing_world: SigningWorld) -> None:
    w = signing_world
    report = validate_pdf(make_pdf(), w.trust)
    assert report.signatures == [] and report.indication is None
    with pytest.raises(SigningError):
        validate_pdf(b"%PDF-1.7\n1 0 obj << /Type /Catalog", w.trust)
    with pytest.raises(UnsafeInput):
        validate_pdf(b"%PDF-1.7\n" + b"0" * 2048, w.trust, max_bytes=1024)


def test_two_signatures_and_document_timestamp_reported(signing_world: SigningWorld) -> None:
    w = signing_world
    once = sign_pdf(make_pdf(), w.officer, signing_time=NOW, level=PadesLevel.B_T, timestamper=w.timestamper)
    twice = sign_pdf(once, w.seal, signing_time=NOW, level=PadesLevel.B_LTA, timestamper=w.timestamper,
                     trust=w.trust)
    report = validate_pdf(twice, w.trust)
    kinds = [(s.id, s.format, s.indication) for s in report.signatures]
    assert kinds[0] == ("Signature1", "PAdES", Indication.TOTAL_PASSED)
    assert kinds[1] == ("Signature2", "PAdES", Indication.TOTAL_PASSED)
    assert kinds[2][1] == "PDF document time-stamp" and kinds[2][2] is Indication.TOTAL_PASSED
    assert report.signatures[1].level == "B-LTA"
    assert report.indication is Indication.TOTAL_PASSED


# --- CMS ------------------------------------------------------------------------------------------------


def test_cms_detached_verified_by_openssl_and_reported(signing_world: SigningWorld, tmp_path: Path) -> None:
    w = signing_world
    data = "Biên bản họp ngày 25/11/2026\n".encode() * 500
    for ts in (None, w.timestamper):
        sig = sign_detached(data, w.officer, timestamper=ts)
        (tmp_path / "f.bin").write_bytes(data)
        (tmp_path / "f.p7s").write_bytes(sig)
        out = subprocess.run(["openssl", "cms", "-verify", "-binary", "-content", str(tmp_path / "f.bin"),
                              "-inform", "DER", "-in", str(tmp_path / "f.p7s"), "-CAfile", str(w.root_pem),
                              "-out", "/dev/null"], capture_output=True, text=True)
        assert out.returncode == 0 and "Verification successful" in out.stderr, out.stderr
        report = validate_cms(sig, data, w.trust)
        s = one(report)
        assert s.indication is Indication.TOTAL_PASSED, s
        assert s.level == ("B-T" if ts else "B-B")
    other = subprocess.run(["openssl", "cms", "-verify", "-binary", "-content", str(tmp_path / "f.p7s"),
                            "-inform", "DER", "-in", str(tmp_path / "f.p7s"), "-CAfile", str(w.root_pem),
                            "-out", "/dev/null"], capture_output=True, text=True)
    assert other.returncode != 0


def test_cms_hash_and_crypto_failures(signing_world: SigningWorld) -> None:
    w = signing_world
    data = b"any file at all\x00\x01"
    sig = sign_detached(data, w.officer)
    s = one(validate_cms(sig, data + b"!", w.trust))
    assert (s.indication, s.sub_indication) == (Indication.TOTAL_FAILED, "HASH_FAILURE")
    s = one(validate_cms(_corrupt_signature_value(sig), data, w.trust))
    assert (s.indication, s.sub_indication) == (Indication.TOTAL_FAILED, "SIG_CRYPTO_FAILURE")
    with pytest.raises(SigningError):
        validate_cms(b"\x30\x03\x02\x01\x01", data, w.trust)


# --- XML ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("level", ["B-B", "B-T"])
def test_xades_levels_with_xmlsec1_and_our_report(signing_world: SigningWorld, level: str, tmp_path: Path) -> None:
    w = signing_world
    signed = sign_xml(XML, w.officer, signing_time=NOW, level=level, timestamper=w.timestamper)
    path = tmp_path / "signed.xml"
    path.write_bytes(signed)
    out = subprocess.run(["xmlsec1", "--verify", "--id-attr:Id", "urn:egov:hoso:1:HoSo",
                          "--id-attr:Id", "http://uri.etsi.org/01903/v1.3.2#:SignedProperties",
                          "--id-attr:Id", "http://www.w3.org/2000/09/xmldsig#:KeyInfo",
                          "--trusted-pem", str(w.root_pem), str(path)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "SignedInfo References (ok/all): 3/3" in out.stderr
    result = validate_xml(signed, w.trust)
    s = one(result.report)
    assert s.indication is Indication.TOTAL_PASSED, s
    assert s.level == level and s.format == "XAdES"
    assert (s.timestamp_time is not None) is (level == "B-T")
    assert result.signed_xml is not None and "Lê Thị Hoa".encode() in result.signed_xml
    assert b"Signature" not in result.signed_xml  # the enveloped signature is not part of what was signed


def test_plain_xmldsig_verified_by_xmlsec1(signing_world: SigningWorld, tmp_path: Path) -> None:
    w = signing_world
    signed = sign_xml(XML, w.officer, signing_time=NOW, xades=False)
    path = tmp_path / "signed.xml"
    path.write_bytes(signed)
    out = subprocess.run(["xmlsec1", "--verify", "--id-attr:Id", "urn:egov:hoso:1:HoSo",
                          "--trusted-pem", str(w.root_pem), str(path)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    s = one(validate_xml(signed, w.trust).report)
    assert (s.format, s.indication) == ("XML-DSig", Indication.TOTAL_PASSED), s


def test_xml_ids_that_are_no_xml_name_sign_the_whole_document(signing_world: SigningWorld) -> None:
    """A root Id a verifier cannot resolve ("", a space, an XPointer) is not used: URI="" instead."""
    w = signing_world
    for bad in ("", "hs 1", "xpointer(id('x'))"):
        doc = XML.replace(b'Id="hs-1"', f'Id="{bad}"'.encode())
        signed = sign_xml(doc, w.officer, signing_time=NOW)
        assert b'URI=""' in signed
        s = one(validate_xml(signed, w.trust).report)
        assert s.indication is Indication.TOTAL_PASSED, s


def test_b_t_on_a_signed_document_stamps_the_new_signature(signing_world: SigningWorld) -> None:
    from lxml import etree

    w = signing_world
    first = sign_xml(XML, w.officer, signing_time=NOW, level="B-B")
    # a second, counter-style enveloped signature is not what validate_xml accepts; what matters here is
    # which ds:Signature carries the time-stamp
    root = etree.fromstring(sign_xml(first, w.officer, signing_time=NOW, level="B-T", timestamper=w.timestamper))
    signatures = root.findall("{http://www.w3.org/2000/09/xmldsig#}Signature")
    assert len(signatures) == 2
    stamps = [s.find(".//{http://uri.etsi.org/01903/v1.3.2#}SignatureTimeStamp") is not None for s in signatures]
    assert stamps == [False, True]


def test_xml_tampered_is_hash_failure(signing_world: SigningWorld, tmp_path: Path) -> None:
    w = signing_world
    signed = sign_xml(XML, w.officer, signing_time=NOW).replace(b"150000", b"950000")
    s = one(validate_xml(signed, w.trust).report)
    assert (s.indication, s.sub_indication) == (Indication.TOTAL_FAILED, "HASH_FAILURE")
    path = tmp_path / "t.xml"
    path.write_bytes(signed)
    out = subprocess.run(["xmlsec1", "--verify", "--id-attr:Id", "urn:egov:hoso:1:HoSo",
                          "--id-attr:Id", "http://uri.etsi.org/01903/v1.3.2#:SignedProperties",
                          "--id-attr:Id", "http://www.w3.org/2000/09/xmldsig#:KeyInfo",
                          "--trusted-pem", str(w.root_pem), str(path)], capture_output=True, text=True)
    assert out.returncode != 0


def test_signature_wrapping_is_refused(signing_world: SigningWorld) -> None:
    """The signed HoSo is moved inside an attacker's HoSo with the same Id-less root: the digest still
    matches the moved element, but it is no longer the document, so nothing is returned as signed."""
    from lxml import etree

    w = signing_world
    signed = sign_xml(XML, w.officer, signing_time=NOW, xades=False)
    original = etree.fromstring(signed)
    signature = original.find("{http://www.w3.org/2000/09/xmldsig#}Signature")
    original.remove(signature)
    evil = etree.Element("{urn:egov:hoso:1}HoSo", Id="evil")
    etree.SubElement(evil, "{urn:egov:hoso:1}SoTien").text = "999999999"
    wrapper = etree.SubElement(evil, "{urn:egov:hoso:1}PhuLuc")
    wrapper.append(original)  # the genuinely signed element, now hidden inside
    evil.append(signature)
    attack = etree.tostring(evil, xml_declaration=True, encoding="UTF-8")
    result = validate_xml(attack, w.trust)
    s = one(result.report)
    assert s.indication is not Indication.TOTAL_PASSED, s
    assert result.signed_xml is None
    # duplicated Id: two elements claim to be hs-1
    dup = signed.replace(b"<MaHoSo>", b'<Fake Id="hs-1"><SoTien>1</SoTien></Fake><MaHoSo>', 1)
    result = validate_xml(dup, w.trust)
    assert one(result.report).indication is not Indication.TOTAL_PASSED
    assert result.signed_xml is None


def test_xml_entity_tricks_are_refused(signing_world: SigningWorld) -> None:
    w = signing_world
    xxe = (b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>')
    lol = (b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]><r>&b;</r>')
    for bad in (xxe, lol):
        with pytest.raises(UnsafeInput):
            validate_xml(bad, w.trust)
        with pytest.raises(UnsafeInput):
            sign_xml(bad, w.officer, signing_time=NOW)


def test_xml_revoked_signer_with_timestamp_is_revoked(signing_world: SigningWorld) -> None:
    w = signing_world
    ident = fresh(w)
    w.pki.revoke(_cert(ident), at=NOW - timedelta(hours=1))
    signed = sign_xml(XML, ident, signing_time=NOW, level="B-T", timestamper=w.timestamper)
    s = one(validate_xml(signed, w.trust_with()).report)
    assert (s.indication, s.sub_indication) == (Indication.TOTAL_FAILED, "REVOKED"), s


def _cert(ident: SigningIdentity):  # type: ignore[no-untyped-def]
    from cryptography import x509

    return x509.load_der_x509_certificate(ident.certificate_der)


def test_ocsp_responses_serve_as_revocation_data(signing_world: SigningWorld) -> None:
    """The delegated OCSP responder's answers (no CRL at all): good passes, revoked is revoked."""
    w = signing_world
    good, bad = fresh(w), fresh(w)
    w.pki.revoke(_cert(bad), at=NOW - timedelta(hours=2))
    crl_for_ca = [w.pki.crl_der(issuer=w.pki.root)]  # the issuing CA's own status comes from the root's CRL
    for ident, expected in ((good, (Indication.TOTAL_PASSED, None)), (bad, (Indication.TOTAL_FAILED, "REVOKED"))):
        signed = sign_pdf(make_pdf(), ident, signing_time=NOW, level=PadesLevel.B_T, timestamper=w.timestamper)
        trust = w.trust_with(revocation=RevocationData(
            crls=crl_for_ca, ocsps=[w.pki.ocsp_response(_cert(ident)), w.pki.ocsp_response(w.pki.tsa_cert)]))
        sig = one(validate_pdf(signed, trust))
        assert (sig.indication, sig.sub_indication) == expected, sig


def test_xades_timestamp_over_another_signature_is_not_trusted(signing_world: SigningWorld) -> None:
    """A B-T time-stamp lifted from another signature does not cover this SignatureValue."""
    from lxml import etree

    w = signing_world
    a = etree.fromstring(sign_xml(XML, w.officer, signing_time=NOW, level="B-T", timestamper=w.timestamper))
    b = etree.fromstring(sign_xml(XML.replace(b"150000", b"250000"), w.officer, signing_time=NOW, level="B-T",
                                  timestamper=w.timestamper))
    tag = "{http://uri.etsi.org/01903/v1.3.2#}EncapsulatedTimeStamp"
    a.find(f".//{tag}").text = b.find(f".//{tag}").text
    s = one(validate_xml(etree.tostring(a), w.trust).report)
    assert s.indication is Indication.INDETERMINATE and s.sub_indication == "TIMESTAMP_NOT_TRUSTED", s


def test_content_changed_by_a_later_revision_is_caught(signing_world: SigningWorld) -> None:
    """An incremental update after the signature that rewrites the page (bytes of the signed revision
    untouched): the signature is intact but the document it vouches for is not what is displayed."""
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    w = signing_world
    signed = sign_pdf(make_pdf(text="So tien 1000000"), w.officer, signing_time=NOW, level=PadesLevel.B_B)
    writer = IncrementalPdfFileWriter(io.BytesIO(signed))
    page = writer.root["/Pages"]["/Kids"][0].get_object()
    new_content = writer.add_object(generic.StreamObject(stream_data=b"BT /F1 18 Tf 72 760 Td (So tien 9000000) Tj ET"))
    page["/Contents"] = new_content
    writer.update_container(page)
    out = io.BytesIO()
    writer.write(out)
    sig = one(validate_pdf(out.getvalue(), w.trust))
    assert sig.indication is Indication.TOTAL_FAILED, sig
    assert sig.sub_indication == "FORMAT_FAILURE" and sig.modifications == "OTHER"


def test_a_tls_certificate_does_not_sign_documents(signing_world: SigningWorld) -> None:
    """Wrong EKU: a certificate limited to TLS server authentication cannot vouch for a document."""
    from cryptography.x509.oid import ExtendedKeyUsageOID

    w = signing_world
    tls = fresh(w, eku=[ExtendedKeyUsageOID.SERVER_AUTH])
    doc = fresh(w, eku=[x509_oid("1.3.6.1.5.5.7.3.36")])  # id-kp-documentSigning is fine
    for ident, expected in ((tls, Indication.INDETERMINATE), (doc, Indication.TOTAL_PASSED)):
        signed = sign_pdf(make_pdf(), ident, signing_time=NOW, level=PadesLevel.B_B)
        sig = one(validate_pdf(signed, w.trust_with()))
        assert sig.indication is expected, sig
        xml_sig = one(validate_xml(sign_xml(XML, ident, signing_time=NOW), w.trust_with()).report)
        assert xml_sig.indication is expected, xml_sig
        cms_sig = one(validate_cms(sign_detached(b"data", ident), b"data", w.trust_with()))
        assert cms_sig.indication is expected, cms_sig
    assert sig.indication is Indication.TOTAL_PASSED
    tls_signed = sign_pdf(make_pdf(), tls, signing_time=NOW, level=PadesLevel.B_B)
    assert one(validate_pdf(tls_signed, w.trust_with())).sub_indication == "CHAIN_CONSTRAINTS_FAILURE"


def x509_oid(dotted: str):  # type: ignore[no-untyped-def]
    from cryptography import x509

    return x509.ObjectIdentifier(dotted)
