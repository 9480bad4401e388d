"""XML-DSig / XAdES baseline B-B and B-T (enveloped), with the key held by the key store; signxml verifies."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from xml.sax.saxutils import escape

from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from lxml import etree
from pyhanko.sign.timestamps import TimeStamper

from egov.platform.keys import KeyAlgorithm, Signer
from egov.signing._sync import loop_safe, run
from egov.signing.interfaces import SigningError, SigningIdentity, UnsafeInput

DS_NS = "http://www.w3.org/2000/09/xmldsig#"
XADES_NS = "http://uri.etsi.org/01903/v1.3.2#"
EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
MAX_XML_BYTES = 10 * 1024 * 1024


def safe_parser() -> etree.XMLParser:
    """No entities, no network, no DTD loading, no huge trees: XXE and billion-laughs stay out."""
    return etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False,
                           dtd_validation=False, remove_comments=False, remove_pis=False)


def parse_xml(data: bytes, *, max_bytes: int = MAX_XML_BYTES) -> etree._Element:
    """Parse untrusted XML; a DOCTYPE (DTD, entity declarations) is refused outright, not ignored."""
    if len(data) > max_bytes:
        raise UnsafeInput("Tệp XML quá lớn.", f"The XML file is larger than {max_bytes} bytes.")
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise UnsafeInput("Tệp XML chứa khai báo DTD/thực thể (DOCTYPE), không được chấp nhận.",
                          "XML with a DOCTYPE or entity declarations is refused.")
    try:
        root = etree.fromstring(data, parser=safe_parser())
    except etree.XMLSyntaxError as exc:
        raise SigningError("Tệp XML không hợp lệ.", f"The XML is not well-formed: {exc}") from None
    tree = root.getroottree()
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise UnsafeInput("Tệp XML chứa DOCTYPE, không được chấp nhận.", "XML with a DOCTYPE is refused.")
    return root


C14N11 = "http://www.w3.org/2006/12/xml-c14n11"
ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
SHA256_URI = "http://www.w3.org/2001/04/xmlenc#sha256"
SIGNED_PROPERTIES_TYPE = "http://uri.etsi.org/01903#SignedProperties"
_SIG_METHODS = {KeyAlgorithm.ECDSA_P256: "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256",
                KeyAlgorithm.RSA_2048: "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
                KeyAlgorithm.RSA_3072: "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"}


@dataclass(frozen=True)
class _Prepared:
    """What never changes between two signatures by one identity, rendered once as XML text."""

    signer: Signer
    method_uri: str
    x509_data: str  # <ds:X509Data> with the signer's certificate and its chain
    cert_digests: str  # <xades:Cert> entries for SigningCertificateV2


_PREPARED: dict[tuple[int, bytes], _Prepared] = {}


def _prepared(identity: SigningIdentity) -> _Prepared:
    """Made once per signer object and certificate: the signature method and the certificate parts."""
    cache_key = (id(identity.signer), identity.certificate_der)
    found = _PREPARED.get(cache_key)
    if found is None or found.signer is not identity.signer:
        method = _SIG_METHODS.get(identity.signer.info.algorithm)
        if method is None:
            raise SigningError(f"Thuật toán khoá {identity.signer.info.algorithm} không dùng để ký XML.",
                               f"Key algorithm {identity.signer.info.algorithm} is not used for XML signatures.")
        chain = [identity.certificate_der, *identity.chain_der]
        x509_data = "<ds:X509Data>" + "".join(
            f"<ds:X509Certificate>{base64.b64encode(c).decode()}</ds:X509Certificate>" for c in chain
        ) + "</ds:X509Data>"
        cert_digests = "".join(
            f'<xades:Cert><xades:CertDigest><ds:DigestMethod Algorithm="{SHA256_URI}"/><ds:DigestValue>'
            f"{_b64sha256(c)}</ds:DigestValue></xades:CertDigest></xades:Cert>" for c in chain)
        if len(_PREPARED) > 256:
            _PREPARED.clear()
        found = _PREPARED[cache_key] = _Prepared(identity.signer, method, x509_data, cert_digests)
    return found


def _b64sha256(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode("ascii")


def _c14n(node: etree._Element | etree._ElementTree) -> bytes:
    """Inclusive canonical XML of a node where it stands (in-scope namespaces included), comments
    dropped: what a same-document reference without transforms, and the declared C14N 1.1, digest for
    the documents signed here (C14N 1.0 and 1.1 differ only on inherited xml:id/xml:base)."""
    return bytes(etree.tostring(node, method="c14n", exclusive=False, with_comments=False))


def _signature_value(identity: SigningIdentity, signed_info: bytes) -> bytes:
    """XML-DSig wants ECDSA as the fixed-width r || s (RFC 4050 / XML-DSig 1.1), not DER."""
    raw = identity.signer.sign(signed_info)
    if identity.signer.info.algorithm is KeyAlgorithm.ECDSA_P256:
        r, s = decode_dss_signature(raw)
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")
    return raw


def _build_signature(root: etree._Element, identity: SigningIdentity, signing_time: datetime,
                     xades: bool) -> etree._Element:
    """Append an enveloped ds:Signature over the document element to `root`.

    Written here rather than through signxml's signer, which re-parses the document twice, re-reads the
    certificates and builds every element one call at a time: this is the same structure (a reference
    to the document with the enveloped-signature transform, to the XAdES SignedProperties and to
    KeyInfo) made from the identity's prepared text in one parse, about four times faster. Verifying
    stays with signxml and is checked against xmlsec1 in the tests.
    """
    prepared = _prepared(identity)
    token = secrets.token_hex(8)
    sig_id, ref_id, props_id, key_id = f"sig-{token}", f"ref-{token}", f"props-{token}", f"keyinfo-{token}"
    root_id = root.get("Id", root.get("ID"))
    # "#id" only for an Id a verifier can resolve (an XML name); otherwise the whole document, URI="".
    doc_uri = f"#{root_id}" if root_id is not None and _NCNAME.fullmatch(root_id) else ""
    # The enveloped-signature transform removes the signature, so the document is digested before it.
    doc_digest = _b64sha256(_c14n(root))
    references = (
        f'<ds:Reference Id="{ref_id}" URI="{escape(doc_uri, _ATTR)}"><ds:Transforms>'
        f'<ds:Transform Algorithm="{ENVELOPED}"/><ds:Transform Algorithm="{C14N11}"/></ds:Transforms>'
        f'<ds:DigestMethod Algorithm="{SHA256_URI}"/><ds:DigestValue>{doc_digest}</ds:DigestValue></ds:Reference>')
    qualifying = ""
    if xades:
        references += (f'<ds:Reference URI="#{props_id}" Type="{SIGNED_PROPERTIES_TYPE}">'
                       f'<ds:DigestMethod Algorithm="{SHA256_URI}"/><ds:DigestValue/></ds:Reference>')
        qualifying = (
            f'<ds:Object><xades:QualifyingProperties Target="#{sig_id}"><xades:SignedProperties Id="{props_id}">'
            "<xades:SignedSignatureProperties><xades:SigningTime>"
            f"{signing_time.replace(microsecond=0).isoformat()}</xades:SigningTime><xades:SigningCertificateV2>"
            f"{prepared.cert_digests}</xades:SigningCertificateV2></xades:SignedSignatureProperties>"
            f'<xades:SignedDataObjectProperties><xades:DataObjectFormat ObjectReference="#{ref_id}">'
            "<xades:Description>Văn bản điện tử / electronic document</xades:Description>"
            "<xades:MimeType>text/xml</xades:MimeType></xades:DataObjectFormat></xades:SignedDataObjectProperties>"
            "</xades:SignedProperties></xades:QualifyingProperties></ds:Object>")
    if xades:  # XAdES covers KeyInfo too (as signxml's signer does); plain XML-DSig signs the document only
        references += (f'<ds:Reference URI="#{key_id}"><ds:DigestMethod Algorithm="{SHA256_URI}"/>'
                       "<ds:DigestValue/></ds:Reference>")
    text = (
        f'<ds:Signature xmlns:ds="{DS_NS}" xmlns:xades="{XADES_NS}" Id="{sig_id}"><ds:SignedInfo>'
        f'<ds:CanonicalizationMethod Algorithm="{C14N11}"/><ds:SignatureMethod Algorithm="{prepared.method_uri}"/>'
        f"{references}</ds:SignedInfo><ds:SignatureValue/>"
        f'<ds:KeyInfo Id="{key_id}">{prepared.x509_data}</ds:KeyInfo>{qualifying}</ds:Signature>')
    signature = etree.fromstring(text)
    root.append(signature)
    signed_info, _value, key_info = signature[0], signature[1], signature[2]
    digests = signed_info.findall(f"{{{DS_NS}}}Reference/{{{DS_NS}}}DigestValue")[1:]
    targets = [signature[3][0][0], key_info] if xades else []
    for digest_value, target in zip(digests, targets, strict=True):
        digest_value.text = _b64sha256(_c14n(target))
    signature[1].text = base64.b64encode(_signature_value(identity, _c14n(signed_info))).decode("ascii")
    return signature


_ATTR = {'"': "&quot;"}
_NCNAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*")


@loop_safe
def sign_xml(data: bytes, identity: SigningIdentity, *, signing_time: datetime, level: str = "B-B",
             timestamper: TimeStamper | None = None, xades: bool = True) -> bytes:
    """Enveloped XAdES (or plain XML-DSig) signature over the whole document; returns UTF-8 bytes.

    B-T adds an xades:SignatureTimeStamp: an RFC 3161 token over the exclusive-c14n of
    ds:SignatureValue, so the signature provably existed at the token's time.
    """
    if level not in ("B-B", "B-T"):
        raise SigningError("Mức chữ ký XML không hỗ trợ: " + level, f"Unsupported XML signature level {level}.")
    if level == "B-T" and timestamper is None:
        raise SigningError("Cần dịch vụ cấp dấu thời gian cho mức B-T.", "Level B-T needs a time-stamping service.")
    if level == "B-T" and not xades:
        raise SigningError("Mức B-T cần XAdES.", "Level B-T needs XAdES qualifying properties.")
    root = parse_xml(data)
    try:
        signature = _build_signature(root, identity, signing_time, xades)
    except SigningError:
        raise
    except Exception as exc:  # a key store or token failure must not escape as a 500
        raise SigningError("Không ký được tệp XML.", f"XML signing failed: {exc}") from exc
    if level == "B-T":
        assert timestamper is not None
        _add_signature_timestamp(signature, timestamper)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


def signature_value_imprint(signature: etree._Element) -> bytes:
    """SHA-256 over the exclusive c14n of ds:SignatureValue (what xades:SignatureTimeStamp covers)."""
    value = signature.find(f"{{{DS_NS}}}SignatureValue")
    if value is None:
        raise SigningError("Chữ ký XML thiếu SignatureValue.", "The XML signature has no SignatureValue.")
    return hashlib.sha256(etree.tostring(value, method="c14n", exclusive=True)).digest()


def _add_signature_timestamp(signature: etree._Element, timestamper: TimeStamper) -> None:
    """The new signature's xades:SignatureTimeStamp (not an earlier signature's, if the document had one)."""
    qualifying = signature.find(f".//{{{XADES_NS}}}QualifyingProperties")
    if qualifying is None:
        raise SigningError("Mức B-T cần XAdES.", "Level B-T needs XAdES qualifying properties.")
    token = run(timestamper.async_timestamp(signature_value_imprint(signature), "sha256"))
    unsigned = etree.SubElement(qualifying, f"{{{XADES_NS}}}UnsignedProperties")
    usp = etree.SubElement(unsigned, f"{{{XADES_NS}}}UnsignedSignatureProperties")
    sts = etree.SubElement(usp, f"{{{XADES_NS}}}SignatureTimeStamp", Id=f"{signature.get('Id')}-TS")
    etree.SubElement(sts, f"{{{DS_NS}}}CanonicalizationMethod", Algorithm=EXC_C14N)
    encapsulated = etree.SubElement(sts, f"{{{XADES_NS}}}EncapsulatedTimeStamp")
    encapsulated.text = base64.b64encode(token.dump()).decode("ascii")
