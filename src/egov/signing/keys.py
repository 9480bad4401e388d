"""pyHanko Signer backed by the platform key store: the private key stays in the store, only bytes cross."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from asn1crypto import algos, tsp, x509
from cryptography.hazmat.primitives import serialization
from pyhanko.sign import attributes, signers
from pyhanko.sign.general import as_signing_certificate_v2
from pyhanko_certvalidator.registry import SimpleCertificateStore

from egov.platform.keys import KeyAlgorithm
from egov.signing.interfaces import SigningError, SigningIdentity

# The key store signs SHA-256 only: ECDSA P-256 (DER) and RSA PKCS#1 v1.5.
_MECHANISMS = {
    KeyAlgorithm.ECDSA_P256: "sha256_ecdsa",
    KeyAlgorithm.RSA_2048: "sha256_rsa",
    KeyAlgorithm.RSA_3072: "sha256_rsa",
}
# Placeholder sizes for pyHanko's dry runs (the largest DER ECDSA signature; the RSA modulus size).
_DRY_RUN_BYTES = {KeyAlgorithm.ECDSA_P256: 72, KeyAlgorithm.RSA_2048: 256, KeyAlgorithm.RSA_3072: 384}


def _spki_der(cert: x509.Certificate) -> bytes:
    return bytes(cert.public_key.dump())


class KeyStoreSigner(signers.Signer):
    """Delegates the raw signature to the key store's Signer; refuses a certificate for another key."""

    def __init__(self, identity: SigningIdentity) -> None:
        info = identity.signer.info
        mechanism = _MECHANISMS.get(info.algorithm)
        if mechanism is None:
            raise SigningError(f"Thuật toán khoá {info.algorithm} không dùng để ký văn bản.",
                               f"Key algorithm {info.algorithm} is not used for document signatures.")
        cert = x509.Certificate.load(identity.certificate_der)
        if _spki_der(cert) != _normalise_spki(info.public_key_der):
            raise SigningError("Chứng thư số không khớp với khoá ký.",
                               "The certificate does not belong to the signing key.")
        chain = [x509.Certificate.load(c) for c in identity.chain_der]
        super().__init__(
            signing_cert=cert,
            cert_registry=SimpleCertificateStore.from_certs([cert, *chain]),
            signature_mechanism=algos.SignedDigestAlgorithm({"algorithm": mechanism}),
        )
        self._key = identity.signer
        self._dry_run_bytes = _DRY_RUN_BYTES[info.algorithm]
        # The ESS signing-certificate-v2 attribute depends on the certificate alone: built once, and
        # re-read from its DER so that every later signature only copies its bytes.
        self._signing_certificate = _CachedSigningCertificate(
            tsp.SigningCertificateV2.load(as_signing_certificate_v2(cert).dump()))

    def _signed_attr_provider_spec(self, *args: Any, **kwargs: Any) -> Any:
        return _WithCachedSigningCertificate(super()._signed_attr_provider_spec(*args, **kwargs),
                                             self._signing_certificate)

    async def async_sign_raw(self, data: bytes, digest_algorithm: str, dry_run: bool = False) -> bytes:
        if digest_algorithm != "sha256":
            raise SigningError("Chỉ hỗ trợ SHA-256.", f"Only SHA-256 is supported, not {digest_algorithm}.")
        if dry_run:
            return bytes(self._dry_run_bytes)
        return self._key.sign(data)

    def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
        if digest_algorithm != "sha256":
            raise SigningError("Chỉ hỗ trợ SHA-256.", f"Only SHA-256 is supported, not {digest_algorithm}.")
        return self._key.sign(data)


def _normalise_spki(spki_der: bytes) -> bytes:
    key = serialization.load_der_public_key(spki_der)
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


class _CachedSigningCertificate(attributes.SigningCertificateV2Provider):
    """pyHanko's provider of the signing-certificate-v2 attribute, with its value made in advance."""

    def __init__(self, value: tsp.SigningCertificateV2) -> None:
        self._value = value

    async def build_attr_value(self, dry_run: bool = False) -> tsp.SigningCertificateV2:
        return self._value


class _WithCachedSigningCertificate:
    """pyHanko's own signed-attribute providers for the signature, the certificate's one swapped for ours."""

    def __init__(self, inner: Any, cached: _CachedSigningCertificate) -> None:
        self._inner = inner
        self._cached = cached

    def signed_attr_providers(self, data_digest: bytes, digest_algorithm: str) -> Iterable[Any]:
        for provider in self._inner.signed_attr_providers(data_digest=data_digest, digest_algorithm=digest_algorithm):
            yield self._cached if isinstance(provider, attributes.SigningCertificateV2Provider) else provider
