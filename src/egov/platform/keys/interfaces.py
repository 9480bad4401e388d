"""What the key store offers: Signers whose private halves never leave the store."""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol, runtime_checkable


class KeyAlgorithm(StrEnum):
    ED25519 = "Ed25519"
    ECDSA_P256 = "ECDSA-P256"
    RSA_2048 = "RSA-2048"
    RSA_3072 = "RSA-3072"


class KeyStoreError(Exception):
    """The key store cannot do what was asked (locked, missing key, wrong passphrase)."""


class KeyNotFound(KeyStoreError):
    pass


class KeyStoreVerificationError(KeyStoreError):
    """verify() found problems; `problems` lists every one, so a CLI can print them line by line."""

    def __init__(self, problems: builtins.list[str]) -> None:
        super().__init__("key store verification failed:\n" + "\n".join(problems))
        self.problems = builtins.list(problems)


class InvalidSignature(Exception):
    """A signature does not verify; raised, never returned as False."""


@dataclass(frozen=True)
class KeyInfo:
    """Public facts about one version of a named key."""

    name: str
    version: int
    algorithm: KeyAlgorithm
    created_at: datetime
    active: bool
    public_key_der: bytes  # SubjectPublicKeyInfo, DER

    @property
    def key_id(self) -> str:
        return f"{self.name}/v{self.version}"


@runtime_checkable
class Signer(Protocol):
    """Signs bytes with a key that stays inside the store.

    ECDSA signatures are DER (as X.509, CMS and OCSP want them); Ed25519 are the raw 64 bytes.
    """

    @property
    def info(self) -> KeyInfo: ...

    def sign(self, data: bytes) -> bytes: ...

    def public_key_raw(self) -> bytes:
        """Raw public key bytes (32 bytes for Ed25519; uncompressed point for ECDSA)."""
        ...


class KeyStore(Protocol):
    """Creates keys where they live, hands out Signers, rotates; never exports private keys."""

    def create(self, name: str, algorithm: KeyAlgorithm) -> KeyInfo: ...

    def rotate(self, name: str) -> KeyInfo: ...

    def signer(self, name: str, version: int | None = None) -> Signer: ...

    def list(self) -> builtins.list[KeyInfo]: ...

    def versions(self, name: str) -> builtins.list[KeyInfo]: ...

    def verify(self) -> builtins.list[str]:
        """Check every version of every key works; return the key ids checked.

        Raises KeyStoreVerificationError carrying every problem found (not just the first), so that
        `egov keys verify` shows the operator the whole picture whichever store is configured.
        """
        ...
