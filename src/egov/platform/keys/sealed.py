"""Sealed values: small secrets the platform must read back (TOTP seeds, pending sign-in state),
encrypted and authenticated under a key derived from the platform secret (Fernet: AES-CBC + HMAC).

Passwords and client secrets are never sealed (they are hashed: nobody needs them back).
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from cryptography.fernet import Fernet, InvalidToken


class SealBroken(Exception):
    """A sealed value was altered, made under another key, or is older than allowed."""


class Sealer:
    def __init__(self, secret: bytes, purpose: str) -> None:
        # One key per purpose, so a value sealed for one use cannot be replayed as another.
        key = hmac.new(secret, f"egov-seal:{purpose}".encode(), hashlib.sha256).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(key))

    def seal(self, data: bytes) -> str:
        return self._fernet.encrypt(data).decode("ascii")

    def open(self, token: str, max_age_seconds: int | None = None, *, now: float | None = None) -> bytes:
        try:
            if max_age_seconds is None:
                return self._fernet.decrypt(token.encode("ascii"))
            if now is not None:
                return self._fernet.decrypt_at_time(token.encode("ascii"), max_age_seconds, int(now))
            return self._fernet.decrypt(token.encode("ascii"), ttl=max_age_seconds)
        except (InvalidToken, ValueError, UnicodeEncodeError) as exc:
            raise SealBroken("sealed value is invalid or expired") from exc

    def seal_at(self, data: bytes, now: float) -> str:
        return self._fernet.encrypt_at_time(data, int(now)).decode("ascii")
