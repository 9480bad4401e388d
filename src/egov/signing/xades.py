"""XML-DSig / XAdES baseline B-B and B-T (enveloped) through signxml, with the key held by the key store."""

from __future__ import annotations

import asyncio
import base64
import hashlib
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from lxml import etree
from pyhanko.sign.timestamps import TimeStamper
from signxml import CanonicalizationMethod, DigestAlgorithm, SignatureMethod, methods
from signxml.xades import XAdESSigner

from egov.platform.keys import KeyAlgorithm, Signer
from egov.signing._sync import loop_safe
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


class _KeyStoreKey:
    """Just enough of cryptography's private-key interface for signxml; signs through the key store.

    signxml calls key.sign(data, signature_algorithm=ECDSA(SHA256)) or key.sign(data, padding=PKCS1v15(),
    algorithm=SHA256()), reads key.key_size, and key.public_key() for KeyValue. The key store only does
    SHA-256 ECDSA P-256 and RSA PKCS#1 v1.5, so anything else is refused rather than silently changed.
    """

    def __init__(self, signer: Signer) -> None:
        self._signer = signer
        self._public = serialization.load_der_public_key(signer.info.public_key_der)
        if not isinstance(self._public, ec.EllipticCurvePublicKey | rsa.RSAPublicKey):
            raise SigningError(f"Thuật toán khoá {signer.info.algorithm} không dùng để ký XML.",
                               f"Key algorithm {signer.info.algorithm} is not used for XML signatures.")
        self.key_size = self._public.key_size
        self.curve = self._public.curve if isinstance(self._public, ec.EllipticCurvePublicKey) else None

    def public_key(self) -> Any:
        return self._public

    def sign(self, data: bytes, *args: Any, **kwargs: Any) -> bytes:
        algorithm = kwargs.get("signature_algorithm")
        if isinstance(algorithm, ec.ECDSA):
            if not isinstance(algorithm.algorithm, hashes.SHA256):
                raise SigningError("Chỉ hỗ trợ SHA-256.", "Only SHA-256 is supported.")
            return self._signer.sign(data)
        pad, hash_alg = kwargs.get("padding"), kwargs.get("algorithm")
        if isinstance(pad, padding.PKCS1v15) and isinstance(hash_alg, hashes.SHA256):
            return self._signer.sign(data)
        raise SigningError("Cơ chế ký không được hỗ trợ.", "Unsupported signature mechanism.")


def _sig_method(signer: Signer) -> SignatureMethod:
    if signer.info.algorithm is KeyAlgorithm.ECDSA_P256:
        return SignatureMethod.ECDSA_SHA256
    if signer.info.algorithm in (KeyAlgorithm.RSA_2048, KeyAlgorithm.RSA_3072):
        return SignatureMethod.RSA_SHA256
    raise SigningError(f"Thuật toán khoá {signer.info.algorithm} không dùng để ký XML.",
                       f"Key algorithm {signer.info.algorithm} is not used for XML signatures.")


def _pem(der: bytes) -> str:
    b64 = base64.encodebytes(der).decode("ascii")
    return "-----BEGIN CERTIFICATE-----\n" + b64 + "-----END CERTIFICATE-----\n"


_PREPARED: dict[tuple[int, bytes], tuple[_KeyStoreKey, list[str]]] = {}


def _prepared(identity: SigningIdentity) -> tuple[_KeyStoreKey, list[str]]:
    """The signxml key adapter and the PEM chain, made once per signer object and certificate."""
    cache_key = (id(identity.signer), identity.certificate_der)
    found = _PREPARED.get(cache_key)
    if found is None or found[0]._signer is not identity.signer:
        if len(_PREPARED) > 256:
            _PREPARED.clear()
        found = _PREPARED[cache_key] = (_KeyStoreKey(identity.signer), [
            _pem(identity.certificate_der), *(_pem(c) for c in identity.chain_der)])
    return found


class _TimedXAdESSigner(XAdESSigner):
    """XAdES signer whose SigningTime is the platform clock's."""

    def __init__(self, signing_time: datetime, **kw: Any) -> None:
        super().__init__(**kw)
        self._signing_time = signing_time

    def add_signing_time(self, signed_signature_properties, sig_root, signing_settings):  # type: ignore[no-untyped-def]
        signing_time = etree.SubElement(signed_signature_properties, f"{{{XADES_NS}}}SigningTime",
                                        nsmap=self.namespaces)
        signing_time.text = self._signing_time.replace(microsecond=0).isoformat()


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
    root = parse_xml(data)
    key, cert_chain = _prepared(identity)
    options: dict[str, Any] = dict(method=methods.enveloped, signature_algorithm=_sig_method(identity.signer),
                                   digest_algorithm=DigestAlgorithm.SHA256,
                                   # C14N 1.1, signxml's default: with exclusive c14n signxml 5.2 digests
                                   # SignedProperties differently than it verifies them (checked in tests).
                                   c14n_algorithm=CanonicalizationMethod.CANONICAL_XML_1_1)
    if xades:
        signer: Any = _TimedXAdESSigner(signing_time, **options)
    else:
        from signxml import XMLSigner

        signer = XMLSigner(**options)
    try:
        signed = signer.sign(root, key=key, cert=cert_chain)
    except SigningError:
        raise
    except Exception as exc:  # signxml raises many kinds; none may escape as a 500
        raise SigningError("Không ký được tệp XML.", f"XML signing failed: {exc}") from exc
    if level == "B-T":
        assert timestamper is not None
        _add_signature_timestamp(signed, timestamper)
    return bytes(etree.tostring(signed, xml_declaration=True, encoding="UTF-8"))


def signature_value_imprint(signature: etree._Element) -> bytes:
    """SHA-256 over the exclusive c14n of ds:SignatureValue (what xades:SignatureTimeStamp covers)."""
    value = signature.find(f"{{{DS_NS}}}SignatureValue")
    if value is None:
        raise SigningError("Chữ ký XML thiếu SignatureValue.", "The XML signature has no SignatureValue.")
    return hashlib.sha256(etree.tostring(value, method="c14n", exclusive=True)).digest()


def _add_signature_timestamp(root: etree._Element, timestamper: TimeStamper) -> None:
    signature = root.find(f"{{{DS_NS}}}Signature")
    if signature is None:
        raise SigningError("Không tìm thấy chữ ký vừa tạo.", "The new signature was not found.")
    qualifying = signature.find(f".//{{{XADES_NS}}}QualifyingProperties")
    if qualifying is None:
        raise SigningError("Mức B-T cần XAdES.", "Level B-T needs XAdES qualifying properties.")
    token = asyncio.run(timestamper.async_timestamp(signature_value_imprint(signature), "sha256"))
    unsigned = etree.SubElement(qualifying, f"{{{XADES_NS}}}UnsignedProperties")
    usp = etree.SubElement(unsigned, f"{{{XADES_NS}}}UnsignedSignatureProperties")
    sts = etree.SubElement(usp, f"{{{XADES_NS}}}SignatureTimeStamp", Id=f"{signature.get('Id')}-TS")
    etree.SubElement(sts, f"{{{DS_NS}}}CanonicalizationMethod", Algorithm=EXC_C14N)
    encapsulated = etree.SubElement(sts, f"{{{XADES_NS}}}EncapsulatedTimeStamp")
    encapsulated.text = base64.b64encode(token.dump()).decode("ascii")
