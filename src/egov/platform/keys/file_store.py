"""The default key store: private keys generated in place and kept as scrypt-encrypted PKCS#8 files."""

from __future__ import annotations

import base64
import builtins
import errno
import fcntl
import json
import os
import re
import secrets
import shutil
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, padding, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric import padding as asym_padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from egov.platform.keys.interfaces import (
    KeyAlgorithm,
    KeyInfo,
    KeyNotFound,
    KeyStoreError,
    KeyStoreVerificationError,
)

__all__ = ["FileKeyStore", "KeyStoreVerificationError"]

# Why not serialization.BestAvailableEncryption: for PKCS#8, cryptography 50 writes PBES2 with
# PBKDF2-HMAC-SHA256 at only 2048 iterations (under half a millisecond per guess), and its
# encryption_builder() does not accept PKCS#8. So the store writes the same standard
# EncryptedPrivateKeyInfo itself (RFC 5958 / RFC 8018 PBES2) with scrypt (RFC 7914) as the KDF and
# AES-256-CBC as the cipher; cryptography and `openssl pkcs8` both read it with only the passphrase.
# N=2^14, r=8 uses 16 MiB per guess: memory-hard, about 35 ms to unlock one key on a server core, and
# the largest N at r=8 that stock OpenSSL 3 will decrypt (its scrypt memory cap is 32 MiB), so an
# operator can still recover a key with the standard tool. The parameters are recorded in every file,
# so raising them later only affects keys written afterwards.
SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 1
_SALT_BYTES = 16

_NAME_RE = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
_KEY_FILE_RE = re.compile(r"v([1-9][0-9]*)\.key")
_META = "meta.json"
_META_FORMAT = 1

_OID_PBES2 = "1.2.840.113549.1.5.13"
_OID_SCRYPT = "1.3.6.1.4.1.11591.4.11"
_OID_AES256_CBC = "2.16.840.1.101.3.4.1.42"

_ECDSA_SHA256 = ec.ECDSA(hashes.SHA256())
_PKCS1V15 = asym_padding.PKCS1v15()

_PrivateKey = ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


def _utc_now() -> datetime:
    return datetime.now(UTC)


# --- a minimal DER writer: just the five types EncryptedPrivateKeyInfo needs -------------------------


def _der(tag: int, content: bytes) -> bytes:
    n = len(content)
    if n < 0x80:
        return bytes([tag, n]) + content
    length = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(length)]) + length + content


def _der_seq(*items: bytes) -> bytes:
    return _der(0x30, b"".join(items))


def _der_int(value: int) -> bytes:
    # Non-negative only; the extra byte keeps the sign bit clear (DER INTEGER is two's complement).
    return _der(0x02, value.to_bytes(value.bit_length() // 8 + 1, "big"))


def _der_octets(value: bytes) -> bytes:
    return _der(0x04, value)


def _der_oid(dotted: str) -> bytes:
    arcs = [int(a) for a in dotted.split(".")]
    out = bytearray([40 * arcs[0] + arcs[1]])
    for arc in arcs[2:]:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        out += bytes(reversed(chunk))
    return _der(0x06, bytes(out))


def _encrypt_pkcs8(key: _PrivateKey, passphrase: bytes) -> bytes:
    """PEM `ENCRYPTED PRIVATE KEY`: PBES2 { scrypt(salt, N, r, p), AES-256-CBC(iv) } over the PKCS#8 DER."""
    salt = secrets.token_bytes(_SALT_BYTES)
    iv = secrets.token_bytes(16)
    kek = Scrypt(salt=salt, length=32, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P).derive(passphrase)
    plain = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption())
    padder = padding.PKCS7(128).padder()
    encryptor = Cipher(algorithms.AES(kek), modes.CBC(iv)).encryptor()
    ciphertext = encryptor.update(padder.update(plain) + padder.finalize()) + encryptor.finalize()
    del plain, kek
    algorithm = _der_seq(
        _der_oid(_OID_PBES2),
        _der_seq(
            _der_seq(
                _der_oid(_OID_SCRYPT),
                _der_seq(_der_octets(salt), _der_int(SCRYPT_N), _der_int(SCRYPT_R), _der_int(SCRYPT_P)),
            ),
            _der_seq(_der_oid(_OID_AES256_CBC), _der_octets(iv)),
        ),
    )
    der = _der_seq(algorithm, _der_octets(ciphertext))
    b64 = base64.encodebytes(der).decode("ascii").replace("\n", "")
    lines = [b64[i:i + 64] for i in range(0, len(b64), 64)]
    return ("-----BEGIN ENCRYPTED PRIVATE KEY-----\n" + "\n".join(lines)
            + "\n-----END ENCRYPTED PRIVATE KEY-----\n").encode("ascii")


# --- key material helpers ----------------------------------------------------------------------------


def _generate(algorithm: KeyAlgorithm) -> _PrivateKey:
    if algorithm is KeyAlgorithm.ED25519:
        return ed25519.Ed25519PrivateKey.generate()
    if algorithm is KeyAlgorithm.ECDSA_P256:
        return ec.generate_private_key(ec.SECP256R1())
    if algorithm is KeyAlgorithm.RSA_2048:
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if algorithm is KeyAlgorithm.RSA_3072:
        return rsa.generate_private_key(public_exponent=65537, key_size=3072)
    raise KeyStoreError(f"unsupported key algorithm {algorithm!r}")


def _spki(key: _PrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.DER,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)


def _matches_algorithm(key: object, algorithm: KeyAlgorithm) -> bool:
    if algorithm is KeyAlgorithm.ED25519:
        return isinstance(key, ed25519.Ed25519PrivateKey)
    if algorithm is KeyAlgorithm.ECDSA_P256:
        return isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP256R1)
    size = 2048 if algorithm is KeyAlgorithm.RSA_2048 else 3072
    return isinstance(key, rsa.RSAPrivateKey) and key.key_size == size


def _check_name(name: str) -> str:
    """Names become directory names, so only a safe alphabet passes (no '/', no leading '.')."""
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
        raise KeyStoreError(f"invalid key name {name!r}: expected [a-z0-9][a-z0-9._-]{{0,63}}")
    return name


# --- files -------------------------------------------------------------------------------------------


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _atomic_write(path: Path, data: bytes) -> None:
    """Publish `data` at `path` all at once with mode 0600: readers see the old file or the new one."""
    tmp = path.parent / f".tmp-{secrets.token_hex(8)}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        try:
            os.fchmod(fd, 0o600)  # O_CREAT's mode is filtered by the umask; state it exactly
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    _fsync_dir(path.parent)


def _make_private_dir(path: Path) -> None:
    os.mkdir(path, 0o700)
    os.chmod(path, 0o700)  # mkdir's mode is filtered by the umask


class _FileSigner:
    """One unlocked key version; signs without ever handing out the private half."""

    __slots__ = ("_info", "_key", "_raw_public")

    def __init__(self, info: KeyInfo, key: _PrivateKey) -> None:
        self._info = info
        self._key = key
        public = key.public_key()
        if isinstance(public, ed25519.Ed25519PublicKey):
            self._raw_public = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        elif isinstance(public, ec.EllipticCurvePublicKey):
            self._raw_public = public.public_bytes(serialization.Encoding.X962,
                                                   serialization.PublicFormat.UncompressedPoint)
        else:
            self._raw_public = info.public_key_der

    @property
    def info(self) -> KeyInfo:
        """The version this signer is bound to, as it was when the signer was handed out."""
        return self._info

    def sign(self, data: bytes) -> bytes:
        """Ed25519: raw 64 bytes; ECDSA P-256: DER over SHA-256; RSA: PKCS#1 v1.5 over SHA-256.

        Safe to call from many threads: cryptography makes a fresh OpenSSL context per call.
        """
        key = self._key
        if isinstance(key, ed25519.Ed25519PrivateKey):
            return key.sign(data)
        if isinstance(key, ec.EllipticCurvePrivateKey):
            return key.sign(data, _ECDSA_SHA256)
        return key.sign(data, _PKCS1V15, hashes.SHA256())

    def public_key_raw(self) -> bytes:
        """32 bytes for Ed25519, the X9.62 uncompressed point for ECDSA, SPKI DER for RSA (no raw form)."""
        return self._raw_public

    def __repr__(self) -> str:
        return f"<_FileSigner {self._info.key_id} {self._info.algorithm}>"


class FileKeyStore:
    """Keys live in `<directory>/<name>/v<version>.key` (encrypted PKCS#8) beside `<name>/meta.json`.

    Keys are generated here and written only encrypted; no method returns private key bytes.
    meta.json is re-read on every call, so another store instance or process on the same
    directory sees new keys and rotations; only unlocked keys are cached (versions never change
    once written, and unlocking costs a scrypt derivation plus, for RSA, key loading).
    Cross-process safety: a key directory is published by one atomic rename, and rotation holds
    an flock on the key directory.
    """

    def __init__(
        self,
        directory: Path,
        passphrase: bytes,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        if not isinstance(passphrase, bytes) or not passphrase:
            raise KeyStoreError("the key store passphrase must be non-empty bytes")
        self._dir = Path(directory)
        self._passphrase = passphrase
        self._clock = clock
        self._lock = threading.RLock()  # create / rotate / ensure
        # Separate, so a first signature does not wait behind an RSA key generation.
        self._unlock_lock = threading.Lock()
        # (name, version) -> (SPKI DER, key); the SPKI lets a cached key be checked against meta.json
        # cheaply, in case the key was deleted and created again (same name and version, other key).
        self._unlocked: dict[tuple[str, int], tuple[bytes, _PrivateKey]] = {}
        if not self._dir.exists():
            self._dir.parent.mkdir(parents=True, exist_ok=True)
            with suppress(FileExistsError):  # another process made it first
                _make_private_dir(self._dir)
        if not self._dir.is_dir():
            raise KeyStoreError(f"key store path {self._dir} is not a directory")

    def __repr__(self) -> str:
        return f"FileKeyStore({str(self._dir)!r})"

    @property
    def directory(self) -> Path:
        return self._dir

    # `list` is a method here, so annotations in this class body spell the type `builtins.list`.

    # --- KeyStore protocol ---------------------------------------------------------------------------

    def create(self, name: str, algorithm: KeyAlgorithm) -> KeyInfo:
        """Generate version 1 of a new key; KeyStoreError if the name is taken.

        Everything is written into a hidden staging directory first and then renamed into place,
        so a crash or a concurrent creator never leaves a half-made key behind.
        """
        _check_name(name)
        algorithm = KeyAlgorithm(algorithm)
        with self._lock:
            final = self._dir / name
            if final.exists():
                raise KeyStoreError(f"key {name!r} already exists")
            key = _generate(algorithm)
            created = self._now()
            meta = {
                "format": _META_FORMAT,
                "name": name,
                "algorithm": str(algorithm),
                "active": 1,
                "versions": [{"version": 1, "created_at": _iso(created),
                              "public_key": base64.b64encode(_spki(key)).decode("ascii")}],
            }
            staging = self._dir / f".new-{name}-{secrets.token_hex(8)}"
            _make_private_dir(staging)
            try:
                _atomic_write(staging / "v1.key", _encrypt_pkcs8(key, self._passphrase))
                _atomic_write(staging / _META, _meta_bytes(meta))
                try:
                    # rename(2) of a directory fails if the target is a non-empty directory
                    os.rename(staging, final)
                except OSError as exc:
                    if exc.errno in (errno.EEXIST, errno.ENOTEMPTY):
                        raise KeyStoreError(f"key {name!r} already exists") from None
                    raise
            finally:
                if staging.exists():
                    shutil.rmtree(staging, ignore_errors=True)
            _fsync_dir(self._dir)
            self._unlocked[(name, 1)] = (_spki(key), key)
            return self._info(meta, 1)

    def rotate(self, name: str) -> KeyInfo:
        """Add a version with the same algorithm and make it active; older versions stay for verifying."""
        _check_name(name)
        with self._lock, self._dir_lock(name):
            meta = self._read_meta(name)
            algorithm = KeyAlgorithm(meta["algorithm"])
            version = max(v["version"] for v in meta["versions"]) + 1
            key = _generate(algorithm)
            # A v<version>.key already on disk can only be left by a rotation that crashed before
            # meta.json named it; no signer was ever handed out for it, so replacing it is safe.
            _atomic_write(self._dir / name / f"v{version}.key", _encrypt_pkcs8(key, self._passphrase))
            meta["versions"].append({"version": version, "created_at": _iso(self._now()),
                                     "public_key": base64.b64encode(_spki(key)).decode("ascii")})
            meta["active"] = version
            _atomic_write(self._dir / name / _META, _meta_bytes(meta))
            self._unlocked[(name, version)] = (_spki(key), key)
            return self._info(meta, version)

    def signer(self, name: str, version: int | None = None) -> _FileSigner:
        """A Signer for `version`, or for the version active now; unlocks the key on first use."""
        _check_name(name)
        meta = self._read_meta(name)
        v = meta["active"] if version is None else version
        info = self._info(meta, v)
        return _FileSigner(info, self._unlock(info))

    def list(self) -> list[KeyInfo]:
        """The active version of every key, by name."""
        infos = []
        for name in self._names():
            meta = self._read_meta(name)
            infos.append(self._info(meta, meta["active"]))
        return infos

    def versions(self, name: str) -> builtins.list[KeyInfo]:
        """Every version of `name`, oldest first (verifiers need the retired ones too)."""
        _check_name(name)
        meta = self._read_meta(name)
        return [self._info(meta, v["version"]) for v in sorted(meta["versions"], key=lambda v: v["version"])]

    # --- beyond the protocol -------------------------------------------------------------------------

    def ensure(self, name: str, algorithm: KeyAlgorithm) -> KeyInfo:
        """The active version of `name`, creating the key first if missing (idempotent, for start-up).

        An existing key of another algorithm is an error, not silently accepted: the caller would
        otherwise sign with an algorithm it did not ask for.
        """
        _check_name(name)
        algorithm = KeyAlgorithm(algorithm)
        with self._lock:
            try:
                info = self._active(name)
            except KeyNotFound:
                try:
                    return self.create(name, algorithm)
                except KeyStoreError:
                    if not (self._dir / name / _META).exists():
                        raise
                    info = self._active(name)  # another process created it meanwhile
            if info.algorithm is not algorithm:
                raise KeyStoreError(f"key {name!r} exists with algorithm {info.algorithm}, not {algorithm}")
            return info

    def verify(self) -> builtins.list[str]:
        """Unlock every version of every key and check it against meta.json; return the key ids checked.

        Raises KeyStoreVerificationError (a KeyStoreError) carrying every problem found, not just the
        first, so `egov keys verify` can show the operator the whole picture: files that do not unlock
        with this passphrase, public keys that differ from meta.json, unexpected files, loose modes.
        It raises rather than returning the problems (convention 5) so a caller cannot ignore them.
        """
        problems: list[str] = []
        checked: list[str] = []
        if self._dir.stat().st_mode & 0o077:
            problems.append(f"{self._dir}: mode {self._dir.stat().st_mode & 0o777:o}, expected 700")
        for entry in sorted(self._dir.iterdir()):
            if entry.name.startswith(".") or not entry.is_dir():
                continue
            if not _NAME_RE.fullmatch(entry.name):
                problems.append(f"{entry}: not a valid key name")
                continue
            try:
                meta = self._read_meta(entry.name)
            except KeyStoreError as exc:
                problems.append(str(exc))
                continue
            if entry.stat().st_mode & 0o077:
                problems.append(f"{entry}: mode {entry.stat().st_mode & 0o777:o}, expected 700")
            listed = {v["version"] for v in meta["versions"]}
            on_disk = set()
            for f in entry.iterdir():
                m = _KEY_FILE_RE.fullmatch(f.name)
                if m:
                    on_disk.add(int(m.group(1)))
                if f.is_file() and f.stat().st_mode & 0o077:
                    problems.append(f"{f}: mode {f.stat().st_mode & 0o777:o}, expected 600")
            for v in sorted(on_disk - listed):
                problems.append(f"{entry.name}/v{v}: key file not listed in meta.json")
            for v in sorted(listed):
                info = self._info(meta, v)
                try:
                    self._load(info)  # always from disk: the cache would hide a damaged file
                    checked.append(info.key_id)
                except KeyStoreError as exc:
                    problems.append(str(exc))
        if problems:
            raise KeyStoreVerificationError(problems)
        return checked

    # --- internals -----------------------------------------------------------------------------------

    def _now(self) -> datetime:
        now = self._clock()
        if now.tzinfo is None:
            raise KeyStoreError("the key store clock returned a naive datetime; it must be timezone-aware")
        return now.astimezone(UTC)

    def _names(self) -> builtins.list[str]:
        return sorted(
            p.name for p in self._dir.iterdir()
            if _NAME_RE.fullmatch(p.name) and (p / _META).is_file()
        )

    def _active(self, name: str) -> KeyInfo:
        meta = self._read_meta(name)
        return self._info(meta, meta["active"])

    def _read_meta(self, name: str) -> dict[str, Any]:
        path = self._dir / name / _META
        try:
            meta = json.loads(path.read_bytes())
        except FileNotFoundError:
            raise KeyNotFound(f"no key named {name!r}") from None
        except (OSError, ValueError) as exc:
            raise KeyStoreError(f"cannot read {path}: {exc}") from exc
        try:
            if meta["format"] != _META_FORMAT or meta["name"] != name:
                raise ValueError("unexpected format or name")
            KeyAlgorithm(meta["algorithm"])
            versions = {int(v["version"]) for v in meta["versions"]}
            if not versions or int(meta["active"]) not in versions:
                raise ValueError("active version is not listed")
        except (KeyError, TypeError, ValueError) as exc:
            raise KeyStoreError(f"{path} is malformed: {exc}") from None
        return dict(meta)

    @staticmethod
    def _info(meta: dict[str, Any], version: int) -> KeyInfo:
        for v in meta["versions"]:
            if v["version"] == version:
                return KeyInfo(
                    name=meta["name"],
                    version=version,
                    algorithm=KeyAlgorithm(meta["algorithm"]),
                    created_at=datetime.fromisoformat(v["created_at"]),
                    active=version == meta["active"],
                    public_key_der=base64.b64decode(v["public_key"]),
                )
        raise KeyNotFound(f"key {meta['name']!r} has no version {version}")

    def _unlock(self, info: KeyInfo) -> _PrivateKey:
        cache_key = (info.name, info.version)
        cached = self._unlocked.get(cache_key)
        if cached is None or cached[0] != info.public_key_der:
            with self._unlock_lock:
                cached = self._unlocked.get(cache_key)
                if cached is None or cached[0] != info.public_key_der:
                    cached = self._unlocked[cache_key] = (info.public_key_der, self._load(info))
        return cached[1]

    def _load(self, info: KeyInfo) -> _PrivateKey:
        """Decrypt one key file and check it is the key meta.json describes.

        The check matters because callers trust `KeyInfo.public_key_der` (published in certificates
        and JWKS) to belong to the key that signs.
        """
        path = self._dir / info.name / f"v{info.version}.key"
        try:
            pem = path.read_bytes()
        except OSError as exc:
            raise KeyStoreError(f"cannot read key {info.key_id}: {exc.strerror}") from None
        try:
            key = serialization.load_pem_private_key(pem, self._passphrase)
        except (ValueError, TypeError, UnsupportedAlgorithm):
            raise KeyStoreError(
                f"cannot unlock key {info.key_id}: wrong passphrase or corrupted file"
            ) from None
        if not isinstance(key, (ed25519.Ed25519PrivateKey, ec.EllipticCurvePrivateKey, rsa.RSAPrivateKey)) \
                or not _matches_algorithm(key, info.algorithm):
            raise KeyStoreError(f"key {info.key_id}: file holds another kind of key than {info.algorithm}")
        if _spki(key) != info.public_key_der:
            raise KeyStoreError(f"key {info.key_id}: public key does not match meta.json")
        return key

    @contextmanager
    def _dir_lock(self, name: str) -> Iterator[None]:
        """Exclusive flock on the key's directory, so two processes cannot rotate the same key at once."""
        path = self._dir / name
        try:
            fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
        except FileNotFoundError:
            raise KeyNotFound(f"no key named {name!r}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def _meta_bytes(meta: dict[str, Any]) -> bytes:
    return (json.dumps(meta, indent=2, sort_keys=True) + "\n").encode("utf-8")
