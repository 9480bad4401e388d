"""Keys for remote signing: created in the key store for a person, with a PKCS#10 request for the pki context."""

from __future__ import annotations

from asn1crypto import algos, csr, keys, x509

from egov.platform.keys import KeyAlgorithm, KeyStore, KeyStoreError
from egov.signing.interfaces import SigningError

_SIG_ALGO = {KeyAlgorithm.ECDSA_P256: "sha256_ecdsa", KeyAlgorithm.RSA_2048: "sha256_rsa",
             KeyAlgorithm.RSA_3072: "sha256_rsa"}


def remote_key_name(account_id: str) -> str:
    return f"remote-{account_id.lower()}"[:64]


def ensure_remote_key(keys_store: KeyStore, account_id: str,
                      algorithm: KeyAlgorithm = KeyAlgorithm.ECDSA_P256) -> str:
    """Create (once) the person's signing key where it lives; returns its key-store name."""
    name = remote_key_name(account_id)
    try:
        keys_store.signer(name)
    except KeyStoreError:
        keys_store.create(name, algorithm)
    return name


def certification_request(keys_store: KeyStore, key_name: str, *, common_name: str, organization: str = "",
                          title: str = "", country: str = "VN") -> bytes:
    """A DER PKCS#10 request signed by the key store (proof of possession; the key never leaves)."""
    signer = keys_store.signer(key_name)
    algorithm = _SIG_ALGO.get(signer.info.algorithm)
    if algorithm is None:
        raise SigningError("Thuật toán khoá không dùng để ký văn bản.", "This key algorithm does not sign documents.")
    name = {"country_name": country, "common_name": common_name}
    if organization:
        name["organization_name"] = organization
    if title:
        name["title"] = title
    info = csr.CertificationRequestInfo({
        "version": "v1",
        "subject": x509.Name.build(name, use_printable=False),
        "subject_pk_info": keys.PublicKeyInfo.load(signer.info.public_key_der),
        "attributes": [],
    })
    request = csr.CertificationRequest({
        "certification_request_info": info,
        "signature_algorithm": algos.SignedDigestAlgorithm({"algorithm": algorithm}),
        "signature": signer.sign(info.dump()),
    })
    return bytes(request.dump())
