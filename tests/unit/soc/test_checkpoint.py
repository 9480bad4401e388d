"""Signed notes and checkpoints: Go and C2SP vectors, exact bytes, round trips and tampering."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from egov.platform.keys import KeyAlgorithm, KeyInfo
from egov.soc.audit.signed_note import (
    Checkpoint,
    CheckpointError,
    NoteSignature,
    format_checkpoint,
    key_id,
    parse_checkpoint,
    parse_verifier_key,
    sign_checkpoint,
    sign_note,
    split_note,
    verifier_key,
    verify_checkpoint,
    verify_note,
)

EM = "\u2014"

# golang.org/x/mod sumdb/note/note_test.go (TestSign, TestOpen, TestNewVerifier): keys, text, signatures.
GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
ENOCH_VKEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
PETER_B64 = "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM="
ENOCH_B64 = "rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ="
PETER_SIG = f"{EM} PeterNeumann {PETER_B64}\n"
ENOCH_SIG = f"{EM} EnochRoot {ENOCH_B64}\n"

# The example of an earlier c2sp.org/signed-note revision, widely used as an interop vector.
SPEC_VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
SPEC_NOTE = (
    "This is an example message.\n\n"
    f"{EM} example.com/foo "
    "Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n"
)

ORIGIN = "egov.example/audit"
ROOT = hashlib.sha256(b"some tree").digest()
ROOT_B64 = base64.b64encode(ROOT).decode()
_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
# The same 32 bytes with the two unused bits of the last character set: decodes, but not canonical.
ROOT_B64_LAX = ROOT_B64[:-2] + _B64[_B64.index(ROOT_B64[-2]) | 1] + "="
URLSAFE_ROOT = base64.urlsafe_b64encode(b"\xff" * 32).decode()


class TinySigner:
    """A Signer over an in-memory Ed25519 key; the real ones live in the key store."""

    def __init__(self, key: Ed25519PrivateKey, name: str = "test") -> None:
        self._key = key
        public_der = key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self._info = KeyInfo(name, 1, KeyAlgorithm.ED25519, datetime.now(UTC), True, public_der)

    @property
    def info(self) -> KeyInfo:
        return self._info

    def sign(self, data: bytes) -> bytes:
        return self._key.sign(data)

    def public_key_raw(self) -> bytes:
        return self._key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


class GarbageSigner(TinySigner):
    """Stands in for a key store signer holding the wrong kind of key."""

    def sign(self, data: bytes) -> bytes:
        return b"\x30" * 64


def go_signer() -> TinySigner:
    material = base64.b64decode(GO_SKEY.split("+", 4)[4])
    assert material[0] == 0x01
    return TinySigner(Ed25519PrivateKey.from_private_bytes(material[1:]))


@pytest.fixture(scope="module")
def signer() -> TinySigner:
    return TinySigner(Ed25519PrivateKey.generate())


@pytest.fixture(scope="module")
def vkey(signer: TinySigner) -> str:
    return verifier_key(ORIGIN, signer.public_key_raw())


# --- interoperability with the Go implementation and the spec ---------------------------------------


def test_go_key_gives_go_verifier_key() -> None:
    public_key = go_signer().public_key_raw()
    assert verifier_key("PeterNeumann", public_key) == PETER_VKEY
    assert key_id("PeterNeumann", public_key).hex() == "c74f20a3"
    assert parse_verifier_key(PETER_VKEY) == ("PeterNeumann", public_key)


def test_sign_note_reproduces_go_byte_for_byte() -> None:
    # Ed25519 is deterministic, so the same key and text must give Go's exact note.
    assert sign_note(GO_TEXT, go_signer(), "PeterNeumann") == GO_TEXT + "\n" + PETER_SIG


def test_go_notes_verify() -> None:
    note = GO_TEXT + "\n" + PETER_SIG + ENOCH_SIG
    assert verify_note(note, PETER_VKEY) == GO_TEXT
    assert verify_note(note.encode("utf-8"), ENOCH_VKEY) == GO_TEXT
    text, signatures = split_note(note)
    assert text == GO_TEXT
    assert [(s.key_name, s.key_id.hex(), len(s.signature)) for s in signatures] == [
        ("PeterNeumann", "c74f20a3", 64),
        ("EnochRoot", "af0cfe78", 64),
    ]
    with pytest.raises(CheckpointError, match="invalid signature"):
        verify_note(note.replace("cryptography", "cryptographY"), PETER_VKEY)
    with pytest.raises(CheckpointError, match="no signature"):
        verify_note(GO_TEXT + "\n" + ENOCH_SIG, PETER_VKEY)


def test_go_invalid_signature_is_rejected_not_ignored() -> None:
    # From Go's TestOpen: four characters inserted into Peter's signature.
    bad = PETER_SIG[:58] + "ABCD" + PETER_SIG[58:]
    with pytest.raises(CheckpointError, match="invalid signature by key PeterNeumann"):
        verify_note(GO_TEXT + "\n" + bad, PETER_VKEY)


@pytest.mark.parametrize(
    "note",
    [
        GO_TEXT,
        GO_TEXT + "\n",
        GO_TEXT + "\n" + PETER_SIG[:-1],
        "\x01" + GO_TEXT + "\n" + PETER_SIG,
        b"\xff" + (GO_TEXT + "\n" + PETER_SIG).encode(),
        GO_TEXT + "\n" + f"{EM} Bad Name {PETER_B64}",
        GO_TEXT + "\n" + PETER_SIG + "Unexpected line.\n",
        GO_TEXT + "\n" + PETER_SIG * 101,
        GO_TEXT.replace("\n", "\r\n") + "\r\n" + PETER_SIG,
        GO_TEXT + "\n" + f"- PeterNeumann {PETER_B64}\n",
        GO_TEXT + "\n" + f"{EM} PeterNeumann AAAA\n",
        "\ud800" + GO_TEXT + "\n" + PETER_SIG,
    ],
    ids=[
        "no-sigs", "blank-only", "no-final-newline", "control", "bad-utf8", "bad-name", "trailing-text",
        "101-sigs", "crlf", "hyphen-not-em-dash", "sig-too-short", "lone-surrogate",
    ],
)
def test_malformed_notes(note: str | bytes) -> None:
    with pytest.raises(CheckpointError):
        split_note(note)
    with pytest.raises(CheckpointError):
        verify_note(note, PETER_VKEY)


def test_malformed_note_errors_say_why() -> None:
    with pytest.raises(CheckpointError, match="blank line"):
        split_note(GO_TEXT)
    with pytest.raises(CheckpointError, match="newline"):
        split_note(GO_TEXT + "\n" + PETER_SIG[:-1])
    with pytest.raises(CheckpointError, match="control characters"):
        split_note(GO_TEXT + "\n" + PETER_SIG.replace("\n", "\r\n"))


def test_c2sp_spec_example_verifies() -> None:
    assert verify_note(SPEC_NOTE, SPEC_VKEY) == "This is an example message.\n"


def test_c2sp_checkpoint_example_parses() -> None:
    note = (
        "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n"
        f"{EM} example.com/behind-the-sofa "
        "Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n"
    )
    cp = parse_checkpoint(note)
    assert (cp.origin, cp.size, cp.extensions) == ("example.com/behind-the-sofa", 20852163, ())
    assert cp.root == base64.b64decode("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=")
    assert cp.signatures[0].key_name == "example.com/behind-the-sofa"


def test_verifier_key_manglings_are_rejected() -> None:
    # As Go's TestNewVerifier: every proper substring and every one-character change must fail.
    for i in range(len(PETER_VKEY) + 1):
        for j in range(i + 1, len(PETER_VKEY) + 1):
            if (i, j) != (0, len(PETER_VKEY)):
                with pytest.raises(CheckpointError):
                    parse_verifier_key(PETER_VKEY[i:j])
    for i, ch in enumerate(PETER_VKEY):
        with pytest.raises(CheckpointError):
            parse_verifier_key(PETER_VKEY[:i] + chr(ord(ch) + 1) + PETER_VKEY[i + 1 :])
    with pytest.raises(CheckpointError):  # wrong key length, with a matching key ID
        parse_verifier_key("PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==")
    with pytest.raises(CheckpointError):  # unknown algorithm, with a matching key ID
        parse_verifier_key("PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW")
    with pytest.raises(CheckpointError):  # we emit and accept lowercase hex only
        parse_verifier_key(PETER_VKEY.replace("c74f20a3", "C74F20A3"))


# --- our checkpoints -----------------------------------------------------------------------------------


def test_exact_byte_layout(signer: TinySigner) -> None:
    note = sign_checkpoint(ORIGIN, 12345, ROOT, signer, ORIGIN)
    body = f"{ORIGIN}\n12345\n{ROOT_B64}\n"
    assert format_checkpoint(ORIGIN, 12345, ROOT) == body
    public_key = signer.public_key_raw()
    kid = hashlib.sha256(ORIGIN.encode() + b"\n\x01" + public_key).digest()[:4]
    signature = signer.sign(body.encode())  # deterministic Ed25519
    assert note == f"{body}\n\u2014 {ORIGIN} {base64.b64encode(kid + signature).decode()}\n"
    raw = note.encode("utf-8")
    assert raw.count(b"\n\n") == 1
    assert b"\n\n\xe2\x80\x94 " + ORIGIN.encode() + b" " in raw  # U+2014 EM DASH, then a space
    assert raw.endswith(b"\n")
    assert not raw.endswith(b"\n\n")
    typed_key = base64.b64encode(b"\x01" + public_key).decode()
    assert verifier_key(ORIGIN, public_key) == f"{ORIGIN}+{kid.hex()}+{typed_key}"


def test_round_trip(signer: TinySigner, vkey: str) -> None:
    note = sign_checkpoint(ORIGIN, 7, ROOT, signer, ORIGIN)
    public_key = signer.public_key_raw()
    raw_signature = signer.sign(format_checkpoint(ORIGIN, 7, ROOT).encode())
    want = Checkpoint(ORIGIN, 7, ROOT, (NoteSignature(ORIGIN, key_id(ORIGIN, public_key), raw_signature),))
    assert verify_checkpoint(note, vkey) == want
    assert verify_checkpoint(note, (ORIGIN, public_key), origin=ORIGIN) == want
    assert parse_checkpoint(note) == want
    empty = sign_checkpoint(ORIGIN, 0, hashlib.sha256(b"").digest(), signer, ORIGIN)
    assert verify_checkpoint(empty, vkey).size == 0


@pytest.mark.parametrize(
    ("old", "new"),
    [("\n7\n", "\n8\n"), ("\n7\n", "\n70\n"), (ORIGIN + "\n", "egov.example/other\n")],
    ids=["size", "size-digit", "origin"],
)
def test_tampered_checkpoint_fails(signer: TinySigner, vkey: str, old: str, new: str) -> None:
    note = sign_checkpoint(ORIGIN, 7, ROOT, signer, ORIGIN)
    tampered = note.replace(old, new, 1)
    assert tampered != note
    with pytest.raises(CheckpointError, match="invalid signature"):
        verify_checkpoint(tampered, vkey)


def test_tampered_root_fails(signer: TinySigner, vkey: str) -> None:
    note = sign_checkpoint(ORIGIN, 7, ROOT, signer, ORIGIN)
    other = base64.b64encode(bytes([ROOT[0] ^ 1]) + ROOT[1:]).decode()
    with pytest.raises(CheckpointError, match="invalid signature"):
        verify_checkpoint(note.replace(ROOT_B64, other), vkey)


def test_wrong_key_fails(signer: TinySigner) -> None:
    note = sign_checkpoint(ORIGIN, 7, ROOT, signer, ORIGIN)
    stranger = TinySigner(Ed25519PrivateKey.generate()).public_key_raw()
    with pytest.raises(CheckpointError, match="no signature"):
        verify_checkpoint(note, (ORIGIN, stranger))  # same name, other key: another key ID
    with pytest.raises(CheckpointError, match="no signature"):
        verify_checkpoint(note, ("egov.example/other", signer.public_key_raw()))
    with pytest.raises(CheckpointError, match="no signature"):
        verify_checkpoint(note, PETER_VKEY)


def test_forged_signature_with_our_key_id_fails(signer: TinySigner, vkey: str) -> None:
    body = format_checkpoint(ORIGIN, 9, ROOT)
    kid = key_id(ORIGIN, signer.public_key_raw())
    forged = f"{body}\n{EM} {ORIGIN} {base64.b64encode(kid + bytes(64)).decode()}\n"
    with pytest.raises(CheckpointError, match="invalid signature"):
        verify_checkpoint(forged, vkey)
    # One bad signature by our key spoils the note even next to a good one.
    good = sign_checkpoint(ORIGIN, 9, ROOT, signer, ORIGIN)
    with pytest.raises(CheckpointError, match="invalid signature"):
        verify_checkpoint(good + forged.split("\n\n")[1], vkey)


def test_other_signatures_are_ignored(signer: TinySigner, vkey: str) -> None:
    witness = TinySigner(Ed25519PrivateKey.generate())
    note = sign_checkpoint(ORIGIN, 9, ROOT, signer, ORIGIN)
    witness_note = sign_note(format_checkpoint(ORIGIN, 9, ROOT), witness, "witness.example")
    cosigned = note + witness_note.split("\n\n")[1]
    assert verify_checkpoint(cosigned, vkey).size == 9
    assert verify_checkpoint(cosigned, ("witness.example", witness.public_key_raw())).size == 9
    assert [s.key_name for s in verify_checkpoint(cosigned, vkey).signatures] == [ORIGIN, "witness.example"]


def test_origin_must_match_when_asked(signer: TinySigner, vkey: str) -> None:
    note = sign_checkpoint(ORIGIN, 9, ROOT, signer, ORIGIN)
    with pytest.raises(CheckpointError, match=r"not 'egov\.example/other'"):
        verify_checkpoint(note, vkey, origin="egov.example/other")


def test_extension_lines_are_kept(signer: TinySigner, vkey: str) -> None:
    note = sign_note(format_checkpoint(ORIGIN, 9, ROOT) + "ext one\next two\n", signer, ORIGIN)
    assert verify_checkpoint(note, vkey).extensions == ("ext one", "ext two")


@pytest.mark.parametrize(
    "body",
    [
        f"{ORIGIN}\n9\n",
        f"\n9\n{ROOT_B64}\n",
        f"{ORIGIN}\n09\n{ROOT_B64}\n",
        f"{ORIGIN}\n-1\n{ROOT_B64}\n",
        f"{ORIGIN}\n+9\n{ROOT_B64}\n",
        f"{ORIGIN}\n 9\n{ROOT_B64}\n",
        f"{ORIGIN}\n\u0669\n{ROOT_B64}\n",
        f"{ORIGIN}\n{2**64}\n{ROOT_B64}\n",
        f"{ORIGIN}\n9\n{base64.b64encode(ROOT[:31]).decode()}\n",
        f"{ORIGIN}\n9\n{ROOT_B64_LAX}\n",
        f"{ORIGIN}\n9\n{URLSAFE_ROOT}\n",
        f"{ORIGIN}\n9\n{ROOT_B64}\n\next\n",
    ],
    ids=[
        "two-lines", "empty-origin", "leading-zero", "negative", "plus-sign", "space", "arabic-digit",
        "over-uint64", "short-root", "non-canonical-root", "urlsafe-root", "empty-extension",
    ],
)
def test_malformed_checkpoints(signer: TinySigner, vkey: str, body: str) -> None:
    note = sign_note(body, signer, ORIGIN)
    with pytest.raises(CheckpointError):
        parse_checkpoint(note)
    with pytest.raises(CheckpointError):
        verify_checkpoint(note, vkey)


def test_largest_size_parses(signer: TinySigner, vkey: str) -> None:
    note = sign_checkpoint(ORIGIN, 2**64 - 1, ROOT, signer, ORIGIN)
    assert verify_checkpoint(note, vkey).size == 2**64 - 1


@pytest.mark.parametrize(
    ("origin", "size", "root"),
    [
        ("", 1, ROOT), ("a b", 1, ROOT), ("a+b", 1, ROOT), ("a\nb", 1, ROOT), ("a\u00a0b", 1, ROOT),
        ("a", -1, ROOT), ("a", 2**64, ROOT), ("a", 1, ROOT[:31]),
    ],
)
def test_format_refuses_what_it_cannot_write(origin: str, size: int, root: bytes) -> None:
    with pytest.raises(CheckpointError):
        format_checkpoint(origin, size, root)


def test_sign_refuses_bad_text_and_bad_signers(signer: TinySigner) -> None:
    with pytest.raises(CheckpointError):
        sign_note("no final newline", signer, ORIGIN)
    with pytest.raises(CheckpointError):
        sign_note("bell\x07\n", signer, ORIGIN)
    with pytest.raises(CheckpointError):
        sign_note("fine\n", signer, "bad name")
    with pytest.raises(CheckpointError, match="valid Ed25519 signature"):
        sign_checkpoint(ORIGIN, 1, ROOT, GarbageSigner(Ed25519PrivateKey.generate()), ORIGIN)
