"""Key store: keys are created where they live and hand out Signers; see interfaces.py."""

from egov.platform.keys.file_store import FileKeyStore
from egov.platform.keys.interfaces import (
    InvalidSignature,
    KeyAlgorithm,
    KeyInfo,
    KeyNotFound,
    KeyStore,
    KeyStoreError,
    KeyStoreVerificationError,
    Signer,
)
from egov.platform.keys.pkcs11_store import DEFAULT_PKCS11_MODULE, Pkcs11KeyStore
from egov.platform.keys.verify import verify_signature

__all__ = [
    "DEFAULT_PKCS11_MODULE",
    "FileKeyStore",
    "InvalidSignature",
    "KeyAlgorithm",
    "KeyInfo",
    "KeyNotFound",
    "KeyStore",
    "KeyStoreError",
    "KeyStoreVerificationError",
    "Pkcs11KeyStore",
    "Signer",
    "verify_signature",
]
