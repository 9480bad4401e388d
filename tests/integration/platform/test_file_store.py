"""FileKeyStore: signatures checked by our verifier and by openssl, keys on disk only encrypted."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import stat
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from egov.platform.keys import (
    FileKeyStore,
    InvalidSignature,
    KeyAlgorithm,
    KeyNotFound,
    KeyStore,
    KeyStoreError,
    KeyStoreVerificationError,
    Signer,
    verify_signature,
)

PASSPHRASE = b"correct horse battery staple"
DATA = "văn bản số 123/UBND-VP: the signed bytes".encode()
ALL = list(KeyAlgorithm)
OPENSSL = shutil.which("openssl")
needs_openssl = pytest.mark.skipif(OPENSSL is None, reason="the openssl command is not installed")


@pytest.fixture
def store(tmp_path: Path) -> FileKeyStore:
    return FileKeyStore(tmp_path / "keys", PASSPHRASE)


@contextmanager
def _umask(mask: int) -> Iterator[None]:
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _openssl(*args: str, cwd: Path) -> subprocess.CompletedProcess[bytes]:
    assert OPENSSL is not None
    return subprocess.run([OPENSSL, *args], cwd=cwd, capture_output=True, check=False)


def _openssl_verifies(tmp: Path, algorithm: KeyAlgorithm, spki_der: bytes, data: bytes, sig: bytes) -> bool:
    """Whether the openssl command line, an implementation other than ours, accepts the signature."""
    pem = serialization.load_der_public_key(spki_der).public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    (tmp / "pub.pem").write_bytes(pem)
    (tmp / "data").write_bytes(data)
    (tmp / "sig.der").write_bytes(sig)
    if algorithm is KeyAlgorithm.ED25519:
        args = ["pkeyutl", "-verify", "-pubin", "-inkey", "pub.pem", "-rawin",
                "-in", "data", "-sigfile", "sig.der"]
    else:
        args = ["dgst", "-sha256", "-verify", "pub.pem", "-signature", "sig.der", "data"]
    return _openssl(*args, cwd=tmp).returncode == 0


# --- signing -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("algorithm", ALL)
def test_sign_verifies_with_verify_signature(store: FileKeyStore, algorithm: KeyAlgorithm) -> None:
    info = store.create("k1", algorithm)
    signer = store.signer("k1")
    assert isinstance(signer, Signer)
    assert signer.info == info
    assert (info.name, info.version, info.algorithm, info.active) == ("k1", 1, algorithm, True)
    assert info.key_id == "k1/v1"

    sig = signer.sign(DATA)
    verify_signature(algorithm, info.public_key_der, DATA, sig)
    with pytest.raises(InvalidSignature):
        verify_signature(algorithm, info.public_key_der, DATA + b"!", sig)


@pytest.mark.parametrize("algorithm", ALL)
def test_signature_formats_and_raw_public_key(store: FileKeyStore, algorithm: KeyAlgorithm) -> None:
    info = store.create("k1", algorithm)
    signer = store.signer("k1")
    raw = signer.public_key_raw()
    sig = signer.sign(DATA)
    public = serialization.load_der_public_key(info.public_key_der)
    if algorithm is KeyAlgorithm.ED25519:
        assert len(sig) == 64
        assert raw == public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        verify_signature(algorithm, raw, DATA, sig)  # the raw form is accepted by the verifier too
    elif algorithm is KeyAlgorithm.ECDSA_P256:
        assert sig[0] == 0x30  # DER SEQUENCE, not raw r||s
        assert len(raw) == 65 and raw[0] == 0x04
        assert raw == public.public_bytes(serialization.Encoding.X962,
                                          serialization.PublicFormat.UncompressedPoint)
    else:
        assert len(sig) == (256 if algorithm is KeyAlgorithm.RSA_2048 else 384)
        assert raw == info.public_key_der


@needs_openssl
@pytest.mark.parametrize("algorithm", [KeyAlgorithm.ED25519, KeyAlgorithm.ECDSA_P256, KeyAlgorithm.RSA_2048])
def test_openssl_verifies_signatures(store: FileKeyStore, tmp_path: Path, algorithm: KeyAlgorithm) -> None:
    info = store.create("k1", algorithm)
    sig = store.signer("k1").sign(DATA)
    assert _openssl_verifies(tmp_path, algorithm, info.public_key_der, DATA, sig)
    assert not _openssl_verifies(tmp_path, algorithm, info.public_key_der, DATA + b"!", sig)


@needs_openssl
def test_openssl_unlocks_key_file_with_passphrase_alone(store: FileKeyStore, tmp_path: Path) -> None:
    """The file is standard PBES2/scrypt PKCS#8: an operator can recover a key with stock openssl."""
    info = store.create("k1", KeyAlgorithm.ECDSA_P256)
    key_file = tmp_path / "keys" / "k1" / "v1.key"
    parsed = _openssl("asn1parse", "-in", str(key_file), cwd=tmp_path)
    assert parsed.returncode == 0
    assert b":scrypt" in parsed.stdout and b":aes-256-cbc" in parsed.stdout and b":PBES2" in parsed.stdout

    (tmp_path / "pass").write_bytes(PASSPHRASE)
    pub = _openssl("pkey", "-in", str(key_file), "-passin", "file:pass", "-pubout", "-outform", "DER",
                   cwd=tmp_path)
    assert pub.returncode == 0, pub.stderr
    assert pub.stdout == info.public_key_der

    (tmp_path / "pass").write_bytes(b"not the passphrase")
    assert _openssl("pkey", "-in", str(key_file), "-passin", "file:pass", cwd=tmp_path).returncode != 0


def test_signing_from_many_threads(store: FileKeyStore) -> None:
    info = store.create("k1", KeyAlgorithm.ECDSA_P256)
    signer = store.signer("k1")
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(50):
                msg = f"{n}:{i}".encode()
                verify_signature(info.algorithm, info.public_key_der, msg, signer.sign(msg))
        except BaseException as exc:  # handed to the main thread, which asserts there were none
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


# --- rotation, listing, ensure -----------------------------------------------------------------------


def test_rotation_keeps_old_versions_verifiable(store: FileKeyStore) -> None:
    v1 = store.create("audit", KeyAlgorithm.ED25519)
    old_sig = store.signer("audit").sign(DATA)

    v2 = store.rotate("audit")
    assert (v2.version, v2.active, v2.algorithm) == (2, True, KeyAlgorithm.ED25519)
    assert v2.public_key_der != v1.public_key_der

    versions = store.versions("audit")
    assert [(v.version, v.active) for v in versions] == [(1, False), (2, True)]
    assert versions[0].public_key_der == v1.public_key_der
    assert store.list() == [v2]

    active = store.signer("audit")
    assert active.info.key_id == "audit/v2"
    new_sig = active.sign(DATA)
    verify_signature(v2.algorithm, v2.public_key_der, DATA, new_sig)
    verify_signature(v1.algorithm, v1.public_key_der, DATA, old_sig)
    with pytest.raises(InvalidSignature):
        verify_signature(v2.algorithm, v2.public_key_der, DATA, old_sig)

    retired = store.signer("audit", 1)
    assert retired.info.key_id == "audit/v1" and not retired.info.active
    verify_signature(v1.algorithm, v1.public_key_der, DATA, retired.sign(DATA))

    assert store.rotate("audit").version == 3
    assert [v.version for v in store.versions("audit")] == [1, 2, 3]


def test_concurrent_rotations_get_distinct_versions(store: FileKeyStore) -> None:
    store.create("k1", KeyAlgorithm.ED25519)
    got: list[int] = []
    threads = [threading.Thread(target=lambda: got.append(store.rotate("k1").version)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(got) == [2, 3, 4, 5]
    assert [v.version for v in store.versions("k1")] == [1, 2, 3, 4, 5]
    assert store.list()[0].version == 5


def test_list_returns_active_version_of_each_key_by_name(store: FileKeyStore) -> None:
    assert store.list() == []
    b = store.create("b.key", KeyAlgorithm.ED25519)
    a = store.create("a-key", KeyAlgorithm.ECDSA_P256)
    b2 = store.rotate("b.key")
    assert store.list() == [a, b2]
    assert b not in store.list()


def test_ensure_is_idempotent(store: FileKeyStore, tmp_path: Path) -> None:
    first = store.ensure("oidc", KeyAlgorithm.ECDSA_P256)
    again = store.ensure("oidc", KeyAlgorithm.ECDSA_P256)
    assert first == again
    assert sorted(p.name for p in (tmp_path / "keys" / "oidc").iterdir()) == ["meta.json", "v1.key"]

    rotated = store.rotate("oidc")
    assert store.ensure("oidc", KeyAlgorithm.ECDSA_P256) == rotated
    with pytest.raises(KeyStoreError, match="exists with algorithm"):
        store.ensure("oidc", KeyAlgorithm.ED25519)


def test_create_refuses_an_existing_name(store: FileKeyStore) -> None:
    info = store.create("k1", KeyAlgorithm.ED25519)
    with pytest.raises(KeyStoreError, match="already exists"):
        store.create("k1", KeyAlgorithm.ECDSA_P256)
    assert store.versions("k1") == [info]


def test_missing_key_or_version(store: FileKeyStore) -> None:
    with pytest.raises(KeyNotFound):
        store.signer("nope")
    with pytest.raises(KeyNotFound):
        store.rotate("nope")
    with pytest.raises(KeyNotFound):
        store.versions("nope")
    store.create("k1", KeyAlgorithm.ED25519)
    with pytest.raises(KeyNotFound):
        store.signer("k1", 2)


def test_second_instance_sees_keys_and_rotations(store: FileKeyStore, tmp_path: Path) -> None:
    info = store.create("k1", KeyAlgorithm.ED25519)
    other: KeyStore = FileKeyStore(tmp_path / "keys", PASSPHRASE)
    assert other.list() == [info]
    verify_signature(info.algorithm, info.public_key_der, DATA, other.signer("k1").sign(DATA))

    v2 = other.rotate("k1")
    assert store.signer("k1").info == v2
    assert [v.version for v in store.versions("k1")] == [1, 2]


def test_created_at_comes_from_the_injected_clock(tmp_path: Path) -> None:
    moment = datetime(2025, 3, 1, 8, 30, tzinfo=UTC)
    store = FileKeyStore(tmp_path / "keys", PASSPHRASE, clock=lambda: moment)
    assert store.create("k1", KeyAlgorithm.ED25519).created_at == moment
    meta = json.loads((tmp_path / "keys" / "k1" / "meta.json").read_text())
    assert meta["versions"][0]["created_at"] == "2025-03-01T08:30:00+00:00"

    naive = FileKeyStore(tmp_path / "keys", PASSPHRASE, clock=lambda: datetime(2025, 3, 1))
    with pytest.raises(KeyStoreError, match="naive"):
        naive.create("k2", KeyAlgorithm.ED25519)


# --- what is on disk ---------------------------------------------------------------------------------


@pytest.mark.parametrize("algorithm", [KeyAlgorithm.ED25519, KeyAlgorithm.RSA_2048])
def test_key_files_hold_no_clear_private_key(
    store: FileKeyStore, tmp_path: Path, algorithm: KeyAlgorithm
) -> None:
    store.create("k1", algorithm)
    pem = (tmp_path / "keys" / "k1" / "v1.key").read_bytes()
    assert pem.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----\n")
    assert pem.rstrip().endswith(b"-----END ENCRYPTED PRIVATE KEY-----")
    assert b"BEGIN PRIVATE KEY" not in pem and b"BEGIN RSA PRIVATE KEY" not in pem

    with pytest.raises(TypeError):  # encrypted: refuses to load without a password
        serialization.load_pem_private_key(pem, None)
    with pytest.raises(ValueError):
        serialization.load_pem_private_key(pem, b"wrong")

    # The test (not the store) unlocks the file to learn the private key, then checks that neither
    # its PKCS#8 encoding nor, for Ed25519, its 32-byte seed appears anywhere in the store's files.
    key = serialization.load_pem_private_key(pem, PASSPHRASE)
    secrets_ = [key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption())]
    if algorithm is KeyAlgorithm.ED25519:
        secrets_.append(key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                          serialization.NoEncryption()))
    body = b"".join(line for line in pem.splitlines() if not line.startswith(b"-----"))
    for path in (tmp_path / "keys").rglob("*"):
        if path.is_file():
            blobs = [path.read_bytes(), base64.b64decode(body)]
            assert not any(s in blob for s in secrets_ for blob in blobs)


def test_file_and_directory_modes_do_not_depend_on_umask(tmp_path: Path) -> None:
    with _umask(0):
        store = FileKeyStore(tmp_path / "keys", PASSPHRASE)
        store.create("k1", KeyAlgorithm.ED25519)
        store.rotate("k1")
    root = tmp_path / "keys"
    assert _mode(root) == 0o700
    assert _mode(root / "k1") == 0o700
    files = sorted(p.name for p in (root / "k1").iterdir())
    assert files == ["meta.json", "v1.key", "v2.key"]  # no temporary files left behind
    for name in files:
        assert _mode(root / "k1" / name) == 0o600


@pytest.mark.parametrize("name", ["../x", "A", "", "a/b", ".hidden", "-a", "a" * 65, "k\n", "ключ"])
def test_bad_names_are_refused(store: FileKeyStore, tmp_path: Path, name: str) -> None:
    for call in (
        lambda: store.create(name, KeyAlgorithm.ED25519),
        lambda: store.ensure(name, KeyAlgorithm.ED25519),
        lambda: store.rotate(name),
        lambda: store.signer(name),
        lambda: store.versions(name),
    ):
        with pytest.raises(KeyStoreError, match="invalid key name"):
            call()
    assert sorted(tmp_path.iterdir()) == [tmp_path / "keys"]
    assert list((tmp_path / "keys").iterdir()) == []


def test_longest_allowed_name(store: FileKeyStore) -> None:
    name = "a" + "b" * 63
    assert store.create(name, KeyAlgorithm.ED25519).name == name


# --- unlocking and verify ----------------------------------------------------------------------


def test_wrong_passphrase_is_refused_without_echoing_it(store: FileKeyStore, tmp_path: Path) -> None:
    store.create("k1", KeyAlgorithm.ED25519)
    wrong = b"guess-1234"
    intruder = FileKeyStore(tmp_path / "keys", wrong)
    assert [i.key_id for i in intruder.list()] == ["k1/v1"]  # public facts are readable
    expected = re.escape("cannot unlock key k1/v1: wrong passphrase or corrupted file")
    with pytest.raises(KeyStoreError, match=expected) as err:
        intruder.signer("k1")
    with pytest.raises(KeyStoreError) as verr:
        intruder.verify()
    for text in (str(err.value), repr(err.value), str(verr.value), repr(intruder)):
        assert wrong.decode() not in text and PASSPHRASE.decode() not in text


def test_empty_passphrase_is_refused(tmp_path: Path) -> None:
    with pytest.raises(KeyStoreError, match="passphrase"):
        FileKeyStore(tmp_path / "keys", b"")


def test_no_public_method_exports_private_key(store: FileKeyStore) -> None:
    store.create("k1", KeyAlgorithm.ED25519)
    signer = store.signer("k1")
    assert {n for n in dir(signer) if not n.startswith("_")} == {"info", "sign", "public_key_raw"}
    assert {n for n in dir(store) if not n.startswith("_")} == {
        "create", "rotate", "signer", "list", "versions", "ensure", "verify", "directory"
    }


def test_verify_passes_on_a_healthy_store(store: FileKeyStore) -> None:
    store.create("a", KeyAlgorithm.ED25519)
    store.create("b", KeyAlgorithm.ECDSA_P256)
    store.rotate("a")
    assert store.verify() == ["a/v1", "a/v2", "b/v1"]


def test_verify_reports_every_problem(store: FileKeyStore, tmp_path: Path) -> None:
    store.create("a", KeyAlgorithm.ED25519)
    store.create("b", KeyAlgorithm.ED25519)
    store.create("c", KeyAlgorithm.ED25519)
    root = tmp_path / "keys"
    # a: meta.json claims a different public key (e.g. an attacker publishing their own key)
    meta = json.loads((root / "a" / "meta.json").read_text())
    meta["versions"][0]["public_key"] = base64.b64encode(store.versions("b")[0].public_key_der).decode()
    (root / "a" / "meta.json").write_text(json.dumps(meta))
    # b: key file damaged
    (root / "b" / "v1.key").write_bytes(
        b"-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n"
    )
    # c: readable by others
    os.chmod(root / "c" / "v1.key", 0o644)
    # c: a key file meta.json does not know about
    shutil.copy(root / "c" / "meta.json", root / "c" / "v9.key")

    with pytest.raises(KeyStoreVerificationError) as err:
        store.verify()
    assert len(err.value.problems) == 4
    message = str(err.value)
    assert "a/v1: public key does not match meta.json" in message
    assert "cannot unlock key b/v1: wrong passphrase or corrupted file" in message
    assert "v1.key: mode 644, expected 600" in message
    assert "c/v9: key file not listed in meta.json" in message


def test_signer_refuses_a_key_that_does_not_match_meta(store: FileKeyStore, tmp_path: Path) -> None:
    """Callers publish KeyInfo.public_key_der, so a swapped key file must not be used to sign."""
    store.create("a", KeyAlgorithm.ED25519)
    store.create("b", KeyAlgorithm.ED25519)
    root = tmp_path / "keys"
    shutil.copy(root / "b" / "v1.key", root / "a" / "v1.key")
    fresh = FileKeyStore(root, PASSPHRASE)  # nothing cached yet
    with pytest.raises(KeyStoreError, match=re.escape("public key does not match meta.json")):
        fresh.signer("a")
