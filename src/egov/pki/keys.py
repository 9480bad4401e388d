"""Key-store Signers as `cryptography` private keys, so its X.509/CRL/OCSP builders sign inside the store.

cryptography's builders (CertificateBuilder, CertificateRevocationListBuilder, OCSPResponseBuilder)
accept any instance of its private-key ABCs and call `key.sign(tbs, algorithm)` through Python
(checked with cryptography 50: the Rust code dispatches to the object's `sign` method), so a
small subclass that delegates `sign` to a key-store Signer is all it takes: the TBS bytes are made
and encoded by cryptography, the signature by the key store (file or PKCS#11), and the private key
never leaves the store. Only SHA-256 with ECDSA or PKCS#1 v1.5 is accepted: that is what the
Signer computes; anything else raises instead of producing a mislabelled signature.
"""

from __future__ import annotations

from typing import Any, NoReturn

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from egov.platform.keys import KeyAlgorithm, Signer

__all__ = ["SignerEcKey", "SignerRsaKey", "as_private_key"]


def _refuse(*_: Any) -> NoReturn:
    raise TypeError("a key-store key never leaves the store")


class SignerEcKey(ec.EllipticCurvePrivateKey):
    def __init__(self, signer: Signer) -> None:
        self._signer = signer
        public = serialization.load_der_public_key(signer.info.public_key_der)
        assert isinstance(public, ec.EllipticCurvePublicKey)
        self._public = public

    def sign(self, data: bytes | bytearray | memoryview,
             signature_algorithm: ec.EllipticCurveSignatureAlgorithm) -> bytes:
        if not isinstance(signature_algorithm, ec.ECDSA) or not isinstance(signature_algorithm.algorithm,
                                                                              hashes.SHA256):
            raise ValueError("the key store signs ECDSA with SHA-256 only")
        return self._signer.sign(bytes(data))

    def public_key(self) -> ec.EllipticCurvePublicKey:
        return self._public

    @property
    def curve(self) -> ec.EllipticCurve:
        return self._public.curve

    @property
    def key_size(self) -> int:
        return self._public.key_size

    def exchange(self, algorithm: ec.ECDH, peer_public_key: ec.EllipticCurvePublicKey) -> bytes:
        _refuse()

    def private_numbers(self) -> ec.EllipticCurvePrivateNumbers:
        _refuse()

    def private_bytes(self, encoding: Any, format: Any, encryption_algorithm: Any) -> bytes:
        _refuse()

    def __copy__(self) -> SignerEcKey:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> SignerEcKey:
        return self


class SignerRsaKey(rsa.RSAPrivateKey):
    def __init__(self, signer: Signer) -> None:
        self._signer = signer
        public = serialization.load_der_public_key(signer.info.public_key_der)
        assert isinstance(public, rsa.RSAPublicKey)
        self._public = public

    def sign(self, data: bytes | bytearray | memoryview, padding: padding.AsymmetricPadding,
             algorithm: Any) -> bytes:
        if type(padding).__name__ != "PKCS1v15" or not isinstance(algorithm, hashes.SHA256):
            raise ValueError("the key store signs RSA PKCS#1 v1.5 with SHA-256 only")
        return self._signer.sign(bytes(data))

    def public_key(self) -> rsa.RSAPublicKey:
        return self._public

    @property
    def key_size(self) -> int:
        return self._public.key_size

    def decrypt(self, ciphertext: bytes, padding: Any) -> bytes:
        _refuse()

    def private_numbers(self) -> rsa.RSAPrivateNumbers:
        _refuse()

    def private_bytes(self, encoding: Any, format: Any, encryption_algorithm: Any) -> bytes:
        _refuse()

    def __copy__(self) -> SignerRsaKey:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> SignerRsaKey:
        return self


def as_private_key(signer: Signer) -> SignerEcKey | SignerRsaKey:
    if signer.info.algorithm is KeyAlgorithm.ECDSA_P256:
        return SignerEcKey(signer)
    if signer.info.algorithm in (KeyAlgorithm.RSA_2048, KeyAlgorithm.RSA_3072):
        return SignerRsaKey(signer)
    raise ValueError(f"a CA key must be ECDSA P-256 or RSA, not {signer.info.algorithm}")
