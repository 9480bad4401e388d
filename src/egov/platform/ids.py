"""Identifiers: time-ordered UUIDv7 strings (index-friendly, unguessable) and request ids."""

from __future__ import annotations

import os
import secrets
import time
import uuid


def new_id() -> str:
    """A UUIDv7 (RFC 9562): 48-bit ms timestamp then 74 random bits; ids cannot be guessed from a neighbour."""
    ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= ((rand >> 62) & 0xFFF) << 64
    value |= 0b10 << 62
    value |= rand & ((1 << 62) - 1)
    return str(uuid.UUID(int=value))


def new_token(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)


def request_id() -> str:
    return secrets.token_hex(8)
