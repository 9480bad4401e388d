"""Key store: keys are created where they live and hand out Signers; see interfaces.py."""

from egov.platform.keys.file_store import FileKeyStore, KeyStoreVerificationError
from egov.platform.keys.interfaces import (
    InvalidSignature,
    KeyAlgorithm,
    KeyInfo,
    KeyNotFound,
    KeyStore,
    KeyStoreError,
    Signer,
)
from egov.platform.keys.verify import verify_signature

__all__ = [
    "FileKeyStore",
    "InvalidSignature",
    "KeyAlgorithm",
    "KeyInfo",
    "KeyNotFound",
    "KeyStore",
    "KeyStoreError",
    "KeyStoreVerificationError",
    "Signer",
    "verify_signature",
]
