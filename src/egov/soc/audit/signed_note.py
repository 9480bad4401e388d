"""C2SP signed notes carrying tlog-checkpoints: the signed tree heads that Go and other tools can verify."""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass

from egov.platform.keys import InvalidSignature, KeyAlgorithm, Signer, verify_signature
from egov.soc.interfaces import CheckpointError

ED25519_SIGNATURE_TYPE = 0x01  # c2sp.org/signed-note signature type identifier
SIGNATURE_PREFIX = "\u2014 "  # EM DASH and a space start every signature line
MAX_SIGNATURES = 100  # as Go's golang.org/x/mod/sumdb/note; the spec asks for at least 16
HASH_SIZE = 32
_MAX_TREE_SIZE = 2**64 - 1  # the uint64 every other checkpoint implementation uses

_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f]")  # ASCII controls other than newline, banned in notes
_DECIMAL = re.compile(r"0|[1-9][0-9]{0,19}")  # no sign, no leading zeros, ASCII digits only
_KEY_ID_HEX = re.compile(r"[0-9a-f]{8}")

# A verifier key: the Go `note` vkey string, or (key name, raw 32-byte Ed25519 public key).
VerifierKey = str | tuple[str, bytes]


@dataclass(frozen=True)
class NoteSignature:
    """One signature line; `key_id` is the 4-byte ID that, with the name, says which key to check it with."""

    key_name: str
    key_id: bytes
    signature: bytes


@dataclass(frozen=True)
class Checkpoint:
    """A log's tree head (c2sp.org/tlog-checkpoint) and every signature line its note carried."""

    origin: str
    size: int
    root: bytes
    signatures: tuple[NoteSignature, ...] = ()
    extensions: tuple[str, ...] = ()


def _check_key_name(name: str) -> None:
    if not name or any(ch.isspace() or ch == "+" or ch < " " for ch in name):
        raise CheckpointError(f"bad key name {name!r}: it must be non-empty, without spaces or '+'")


def _check_public_key(public_key: bytes) -> None:
    if len(public_key) != 32:
        raise CheckpointError(f"an Ed25519 public key has 32 bytes, not {len(public_key)}")


def _b64decode(text: str, what: str) -> bytes:
    """Strict standard base64: one accepted spelling per value, so signed text cannot be re-encoded."""
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise CheckpointError(f"{what} is not valid base64") from exc
    if base64.b64encode(raw).decode("ascii") != text:
        raise CheckpointError(f"{what} is not canonical base64")
    return raw


def key_id(key_name: str, public_key: bytes) -> bytes:
    """The 4-byte key ID: SHA-256(name || 0x0A || 0x01 || public key)[:4], as signed-note recommends."""
    _check_key_name(key_name)
    _check_public_key(public_key)
    material = key_name.encode("utf-8") + b"\n" + bytes([ED25519_SIGNATURE_TYPE]) + public_key
    return hashlib.sha256(material).digest()[:4]


def verifier_key(key_name: str, public_key: bytes) -> str:
    """The Go `note` verifier key `<name>+<hex key ID>+<base64(0x01 || public key)>` to publish."""
    encoded = base64.b64encode(bytes([ED25519_SIGNATURE_TYPE]) + public_key).decode("ascii")
    return f"{key_name}+{key_id(key_name, public_key).hex()}+{encoded}"


def parse_verifier_key(vkey: str) -> tuple[str, bytes]:
    """(key name, raw Ed25519 public key) from a verifier key, checking its stated key ID."""
    parts = vkey.split("+", 2)  # names and hex have no '+'; the base64 key may
    if len(parts) != 3:
        raise CheckpointError("a verifier key is <name>+<hex key ID>+<base64 key>")
    name, id_hex, encoded = parts
    _check_key_name(name)
    if not _KEY_ID_HEX.fullmatch(id_hex):
        raise CheckpointError("a verifier key's ID is 8 lowercase hex digits")
    raw = _b64decode(encoded, "verifier key")
    if len(raw) != 33 or raw[0] != ED25519_SIGNATURE_TYPE:
        raise CheckpointError("verifier key is not an Ed25519 key")
    if key_id(name, raw[1:]).hex() != id_hex:
        raise CheckpointError("verifier key ID does not match its name and key")
    return name, raw[1:]


def _resolve(key: VerifierKey) -> tuple[str, bytes]:
    if isinstance(key, str):
        return parse_verifier_key(key)
    name, public_key = key
    _check_key_name(name)
    _check_public_key(public_key)
    return name, bytes(public_key)


def _as_text(note: str | bytes) -> str:
    """The note as str, refusing what signed-note forbids: invalid UTF-8 and control characters."""
    try:
        text = note.decode("utf-8") if isinstance(note, bytes) else note
        text.encode("utf-8")  # a str may hold lone surrogates, which no signer could have signed
    except UnicodeError as exc:
        raise CheckpointError("a note must be valid UTF-8") from exc
    if _CONTROL.search(text):
        raise CheckpointError("a note must not contain control characters other than newline")
    return text


def split_note(note: str | bytes) -> tuple[str, tuple[NoteSignature, ...]]:
    """(text, signature lines) of a signed note, strictly parsed but NOT verified.

    The text ends with its newline; it is separated from the signatures by the last blank line.
    """
    note = _as_text(note)
    split = note.rfind("\n\n")
    if split < 0:
        raise CheckpointError("a signed note needs a blank line between its text and signatures")
    text, block = note[: split + 1], note[split + 2 :]
    if not block.endswith("\n"):
        raise CheckpointError("a signed note must end with a signature line and a newline")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise CheckpointError(f"a signed note may carry at most {MAX_SIGNATURES} signatures")
    signatures = []
    for line in lines:
        fields = line[len(SIGNATURE_PREFIX) :].split(" ")
        if not line.startswith(SIGNATURE_PREFIX) or len(fields) != 2:
            raise CheckpointError(f"not a signature line: {line[:80]!r}")
        name, encoded = fields
        _check_key_name(name)
        raw = _b64decode(encoded, f"signature by {name}")
        if len(raw) < 5:
            raise CheckpointError(f"signature by {name} is too short")
        signatures.append(NoteSignature(name, raw[:4], raw[4:]))
    return text, tuple(signatures)


def _check_text(text: str) -> None:
    _as_text(text)
    if not text.endswith("\n"):
        raise CheckpointError("note text must end with a newline")


def sign_note(text: str, signer: Signer, key_name: str) -> str:
    """Sign `text` (ending in a newline) with an Ed25519 key from the key store: text, blank line, signature.

    The fresh signature is verified before it is returned, so a signer holding some other kind of
    key fails here rather than publishing a note that nobody can verify.
    """
    _check_text(text)
    public_key = signer.public_key_raw()
    kid = key_id(key_name, public_key)
    data = text.encode("utf-8")
    signature = signer.sign(data)
    try:
        verify_signature(KeyAlgorithm.ED25519, public_key, data, signature)
    except InvalidSignature as exc:
        raise CheckpointError(f"signer for {key_name} did not produce a valid Ed25519 signature") from exc
    encoded = base64.b64encode(kid + signature).decode("ascii")
    return f"{text}\n{SIGNATURE_PREFIX}{key_name} {encoded}\n"


def _require_signature(text: str, signatures: tuple[NoteSignature, ...], key: VerifierKey) -> None:
    """As signed-note requires: ignore other keys' signatures, verify all of this key's, need at least one."""
    name, public_key = _resolve(key)
    kid = key_id(name, public_key)
    mine = [s for s in signatures if s.key_name == name and s.key_id == kid]
    if not mine:
        raise CheckpointError(f"no signature by key {name}+{kid.hex()}")
    data = text.encode("utf-8")
    for s in mine:
        try:
            verify_signature(KeyAlgorithm.ED25519, public_key, data, s.signature)
        except InvalidSignature as exc:
            raise CheckpointError(f"invalid signature by key {name}+{kid.hex()}") from exc


def verify_note(note: str | bytes, key: VerifierKey) -> str:
    """The text of `note` once a signature by `key` verifies; CheckpointError otherwise."""
    text, signatures = split_note(note)
    _require_signature(text, signatures, key)
    return text


def format_checkpoint(origin: str, size: int, root: bytes) -> str:
    """The checkpoint note text: origin, decimal size and base64 root, each ending in a newline."""
    _check_key_name(origin)  # stricter than the spec's MUST: ours double as key names
    if not 0 <= size <= _MAX_TREE_SIZE:
        raise CheckpointError(f"tree size {size} is out of range")
    if len(root) != HASH_SIZE:
        raise CheckpointError(f"a root hash has {HASH_SIZE} bytes, not {len(root)}")
    return f"{origin}\n{size}\n{base64.b64encode(root).decode('ascii')}\n"


def sign_checkpoint(origin: str, size: int, root: bytes, signer: Signer, key_name: str) -> str:
    """The signed checkpoint note for tree (size, root) of log `origin`, signed as `key_name`."""
    return sign_note(format_checkpoint(origin, size, root), signer, key_name)


def _parse_body(text: str, signatures: tuple[NoteSignature, ...]) -> Checkpoint:
    lines = text.split("\n")[:-1]  # the text ends with a newline
    if len(lines) < 3 or not all(lines):
        raise CheckpointError("a checkpoint is at least three non-empty lines: origin, size, root hash")
    origin, size_line, root_line, *extensions = lines
    if not _DECIMAL.fullmatch(size_line) or int(size_line) > _MAX_TREE_SIZE:
        raise CheckpointError(f"bad tree size {size_line[:30]!r}")
    root = _b64decode(root_line, "root hash")
    if len(root) != HASH_SIZE:
        raise CheckpointError(f"a root hash has {HASH_SIZE} bytes, not {len(root)}")
    return Checkpoint(origin, int(size_line), root, signatures, tuple(extensions))


def parse_checkpoint(note: str | bytes) -> Checkpoint:
    """A signed checkpoint, strictly parsed but NOT verified: use verify_checkpoint to trust it."""
    return _parse_body(*split_note(note))


def verify_checkpoint(note: str | bytes, key: VerifierKey, *, origin: str | None = None) -> Checkpoint:
    """The checkpoint once a signature by `key` verifies (and, if given, its origin matches)."""
    text, signatures = split_note(note)
    _require_signature(text, signatures, key)  # before reading the text, as signed-note demands
    checkpoint = _parse_body(text, signatures)
    if origin is not None and checkpoint.origin != origin:
        raise CheckpointError(f"checkpoint is for log {checkpoint.origin!r}, not {origin!r}")
    return checkpoint
