"""Dual control for the offline root: its key store's passphrase exists only as two custodians' shares.

The root key lives in its own FileKeyStore (own directory, in production on an offline machine or
on removable media kept in a safe), encrypted under a random 256-bit passphrase P that is never
written down. At creation P is split into two shares, A (random) and B = P XOR A; custodian 1
keeps A, custodian 2 keeps B. Either share alone is a uniformly random string and says nothing
about P (a one-time pad), so neither custodian can unlock the root alone, and neither can the
operator who holds neither. Each share carries its role letter and a checksum, so a mistyped share
or the same share entered twice is refused with a clear message before any key is touched.

The root store could equally be a separate PKCS#11 token whose user PIN is split the same way.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from pathlib import Path

from egov.platform.keys import FileKeyStore, KeyStoreError

ROOT_KEY_NAME = "pki-root-ca"
_PREFIX = "egov-root-share"


class CeremonyError(Exception):
    """The ceremony cannot go on (a share is missing, mistyped, duplicated, or does not unlock the root)."""


def _check(role: str, body: bytes) -> str:
    return hashlib.sha256(f"{_PREFIX}-{role}".encode() + body).hexdigest()[:8]


def _encode(role: str, body: bytes) -> str:
    return f"{_PREFIX}-{role}:{base64.b32encode(body).decode('ascii').rstrip('=')}:{_check(role, body)}"


def _decode(share: str, role: str) -> bytes:
    try:
        head, b32, check = share.strip().split(":")
        body = base64.b32decode(b32 + "=" * (-len(b32) % 8))
    except ValueError:
        raise CeremonyError(f"share {role} is not in the form {_PREFIX}-{role}:<base32>:<check>") from None
    if head != f"{_PREFIX}-{role}":
        raise CeremonyError(f"expected custodian share {role}, got {head.rsplit('-', 1)[-1]!r}")
    if len(body) != 32 or not hmac.compare_digest(check, _check(role, body)):
        raise CeremonyError(f"share {role} is mistyped (checksum does not match)")
    return body


def split_new_passphrase() -> tuple[bytes, str, str]:
    """(passphrase, share A, share B); the caller hands each share to one custodian and forgets the passphrase."""
    secret = secrets.token_bytes(32)
    a = secrets.token_bytes(32)
    b = bytes(x ^ y for x, y in zip(secret, a, strict=True))
    return base64.b16encode(secret), _encode("A", a), _encode("B", b)


def join_shares(share_a: str, share_b: str) -> bytes:
    a, b = _decode(share_a, "A"), _decode(share_b, "B")
    return base64.b16encode(bytes(x ^ y for x, y in zip(a, b, strict=True)))


def open_root_store(directory: Path, share_a: str, share_b: str) -> FileKeyStore:
    """The root store, unlocked with both shares; CeremonyError if they do not open the root key."""
    if not (directory / ROOT_KEY_NAME).is_dir():
        raise CeremonyError(f"no root CA key in {directory}")
    store = FileKeyStore(directory, join_shares(share_a, share_b))
    try:
        store.signer(ROOT_KEY_NAME)  # unlocks now: a wrong pair of shares fails here, before any work
    except KeyStoreError:
        raise CeremonyError("the two shares do not unlock the root key (wrong share?)") from None
    return store
