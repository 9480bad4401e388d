"""Signature verification for contexts that must not touch cryptography.hazmat themselves."""

from __future__ import annotations

from cryptography.exceptions import InvalidSignature as _CryptoInvalid
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

from egov.platform.keys.interfaces import InvalidSignature, KeyAlgorithm


def verify_signature(algorithm: KeyAlgorithm | str, public_key: bytes, data: bytes, signature: bytes) -> None:
    """Raise InvalidSignature unless `signature` over `data` verifies.

    `public_key` is raw Ed25519 (32 bytes) or SubjectPublicKeyInfo DER for any algorithm.
    """
    alg = KeyAlgorithm(algorithm)
    try:
        if alg is KeyAlgorithm.ED25519:
            ed = (
                ed25519.Ed25519PublicKey.from_public_bytes(public_key)
                if len(public_key) == 32
                else serialization.load_der_public_key(public_key)
            )
            if not isinstance(ed, ed25519.Ed25519PublicKey):
                raise InvalidSignature("not an Ed25519 public key")
            ed.verify(signature, data)
            return
        key = serialization.load_der_public_key(public_key)
        if alg is KeyAlgorithm.ECDSA_P256 and isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, data, ec.ECDSA(hashes.SHA256()))
            return
        if alg in (KeyAlgorithm.RSA_2048, KeyAlgorithm.RSA_3072) and isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
            return
    except (_CryptoInvalid, ValueError) as exc:
        raise InvalidSignature(str(exc) or "signature does not verify") from exc
    raise InvalidSignature(f"public key does not match algorithm {alg}")
