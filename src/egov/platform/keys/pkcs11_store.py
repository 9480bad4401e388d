"""PKCS#11 key store (an HSM; SoftHSM2 in tests): keys made on the token, never extractable, one session a process."""

from __future__ import annotations

import builtins
import hashlib
import json
import os
import re
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives import serialization

from egov.platform.keys.interfaces import (
    InvalidSignature,
    KeyAlgorithm,
    KeyInfo,
    KeyNotFound,
    KeyStoreError,
    KeyStoreVerificationError,
)
from egov.platform.keys.verify import verify_signature

__all__ = ["DEFAULT_PKCS11_MODULE", "Pkcs11KeyStore"]

DEFAULT_PKCS11_MODULE = "/usr/lib/softhsm/libsofthsm2.so"

_NAME_RE = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
# Each key version is a key pair whose CKA_ID is "<name>/v<version>" and whose CKA_LABEL is the name,
# plus a CKO_DATA object (label "egov-meta:<name>/v<version>") holding the algorithm and creation time:
# PKCS#11 has no place for either on the key itself. The active version is the highest one (rotate()
# makes the new version active, which is the only way the file store's `active` ever moves).
_META_PREFIX = "egov-meta:"
_APPLICATION = "egov"

# PKCS#11 login state belongs to the application (the process), not to a session: a second
# C_Login on the same token fails with CKR_USER_ALREADY_LOGGED_IN, and closing a logged-in
# session may log every session out. So the process keeps one logged-in session per token and
# every store on that token shares it (and its lock). Keyed by pid: sessions do not survive fork.
_SHARED: dict[tuple[str, str, int], tuple[Any, threading.RLock, bytes]] = {}
_SHARED_LOCK = threading.Lock()


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _check_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
        raise KeyStoreError(f"invalid key name {name!r}: expected [a-z0-9][a-z0-9._-]{{0,63}}")
    return name


class _Pkcs11Signer:
    """One key version on the token; the private half is a handle, never bytes."""

    __slots__ = ("_info", "_raw_public", "_store")

    def __init__(self, store: Pkcs11KeyStore, info: KeyInfo) -> None:
        self._store = store
        self._info = info
        public = serialization.load_der_public_key(info.public_key_der)
        if info.algorithm is KeyAlgorithm.ECDSA_P256:
            self._raw_public = public.public_bytes(serialization.Encoding.X962,
                                                   serialization.PublicFormat.UncompressedPoint)
        else:
            self._raw_public = info.public_key_der

    @property
    def info(self) -> KeyInfo:
        return self._info

    def sign(self, data: bytes) -> bytes:
        """ECDSA P-256: DER over SHA-256 (hashed here: SoftHSM has no CKM_ECDSA_SHA256); RSA: PKCS#1 v1.5 SHA-256."""
        return self._store._sign(self._info, data)

    def public_key_raw(self) -> bytes:
        return self._raw_public

    def __repr__(self) -> str:
        return f"<_Pkcs11Signer {self._info.key_id} {self._info.algorithm}>"


class Pkcs11KeyStore:
    """Keys on a PKCS#11 token: CKA_SENSITIVE, not CKA_EXTRACTABLE, generated on the token.

    One logged-in session per process, opened lazily and reopened after a fork (a PKCS#11 session
    does not survive fork). python-pkcs11 sessions are not safe for concurrent use, so calls are
    serialised by a lock; SoftHSM signs P-256 in ~0.17 ms, so the lock is not the bottleneck.
    """

    def __init__(
        self,
        module: str,
        token_label: str,
        pin: str,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        if not pin:
            raise KeyStoreError("the PKCS#11 PIN must be set (EGOV_PKCS11_PIN, use file:/path)")
        if not token_label:
            raise KeyStoreError("the PKCS#11 token label must be set (EGOV_PKCS11_TOKEN_LABEL)")
        self._module = module
        self._token_label = token_label
        self._pin = pin
        self._clock = clock
        self._lock: threading.RLock = threading.RLock()
        self._session: Any = None
        self._pid = 0
        self._handles: dict[tuple[str, int], Any] = {}
        self._open()  # fail fast on a wrong module, label or PIN

    def __repr__(self) -> str:
        return f"Pkcs11KeyStore({self._module!r}, token={self._token_label!r})"

    # --- session -------------------------------------------------------------------------------------

    def _open(self) -> Any:
        """The process's logged-in session on this token (shared with other stores on the token)."""
        if self._session is not None and self._pid == os.getpid():
            return self._session
        pid = os.getpid()
        pin_digest = hashlib.sha256(self._pin.encode()).digest()
        with _SHARED_LOCK:
            shared = _SHARED.get((self._module, self._token_label, pid))
            if shared is None:
                session = self._login()
                shared = _SHARED[(self._module, self._token_label, pid)] = (session, threading.RLock(), pin_digest)
        if shared[2] != pin_digest:
            raise KeyStoreError("the PKCS#11 PIN is wrong")
        self._session, self._lock, self._pid = shared[0], shared[1], pid
        self._handles.clear()
        return self._session

    def _login(self) -> Any:
        import pkcs11
        from pkcs11 import exceptions as p11e

        try:
            lib = pkcs11.lib(self._module)
        except (RuntimeError, OSError) as exc:  # the module cannot be loaded
            raise KeyStoreError(f"cannot load PKCS#11 module {self._module}: {exc}") from None
        try:
            token = lib.get_token(token_label=self._token_label)
        except (p11e.NoSuchToken, p11e.PKCS11Error) as exc:
            raise KeyStoreError(f"no PKCS#11 token labelled {self._token_label!r}: {type(exc).__name__}") from None
        try:
            session = token.open(user_pin=self._pin, rw=True)
        except p11e.PinIncorrect:
            raise KeyStoreError("the PKCS#11 PIN is wrong") from None
        except p11e.PKCS11Error as exc:
            raise KeyStoreError(f"cannot open a session on token {self._token_label!r}: {type(exc).__name__}") from None
        return session

    # --- KeyStore protocol ---------------------------------------------------------------------------

    def create(self, name: str, algorithm: KeyAlgorithm) -> KeyInfo:
        _check_name(name)
        algorithm = KeyAlgorithm(algorithm)
        with self._lock:
            if self._metas(name):
                raise KeyStoreError(f"key {name!r} already exists")
            return self._generate(name, 1, algorithm)

    def rotate(self, name: str) -> KeyInfo:
        _check_name(name)
        with self._lock:
            metas = self._metas(name)
            if not metas:
                raise KeyNotFound(f"no key named {name!r}")
            latest = metas[-1]
            return self._generate(name, latest["version"] + 1, KeyAlgorithm(latest["algorithm"]))

    def signer(self, name: str, version: int | None = None) -> _Pkcs11Signer:
        _check_name(name)
        infos = self.versions(name)
        if version is None:
            return _Pkcs11Signer(self, infos[-1])
        for info in infos:
            if info.version == version:
                return _Pkcs11Signer(self, info)
        raise KeyNotFound(f"key {name!r} has no version {version}")

    def list(self) -> builtins.list[KeyInfo]:
        with self._lock:
            names = sorted({m["name"] for m in self._all_metas()})
        return [self.versions(n)[-1] for n in names]

    def versions(self, name: str) -> builtins.list[KeyInfo]:
        _check_name(name)
        with self._lock:
            metas = self._metas(name)
            if not metas:
                raise KeyNotFound(f"no key named {name!r}")
            top = metas[-1]["version"]
            return [self._info(m, m["version"] == top) for m in metas]

    def ensure(self, name: str, algorithm: KeyAlgorithm) -> KeyInfo:
        """The active version of `name`, creating it if missing; another algorithm is an error."""
        algorithm = KeyAlgorithm(algorithm)
        with self._lock:
            try:
                info = self.versions(name)[-1]
            except KeyNotFound:
                return self.create(name, algorithm)
        if info.algorithm is not algorithm:
            raise KeyStoreError(f"key {name!r} exists with algorithm {info.algorithm}, not {algorithm}")
        return info

    def verify(self) -> builtins.list[str]:
        """Each version's private half signs a fresh challenge and its recorded public half verifies it.

        The public half is checked twice: the public key object on the token must be the one in the
        metadata object, and the signature must verify under it, so a metadata object pointing at
        another key, a missing or duplicated private key, or a token that refuses to sign are all
        reported. Raises KeyStoreVerificationError with every problem, as the file store does.
        """
        from pkcs11 import Attribute, ObjectClass

        problems: builtins.list[str] = []
        checked: builtins.list[str] = []
        with self._lock:
            session = self._open()
            try:
                metas = sorted(self._all_metas(), key=lambda m: (m["name"], m["version"]))
            except KeyStoreError as exc:
                raise KeyStoreVerificationError([str(exc)]) from None
            tops = {m["name"]: m["version"] for m in metas}
            for meta in metas:
                info = self._info(meta, meta["version"] == tops[meta["name"]])
                key_id = info.key_id.encode()
                publics = list(session.get_objects({Attribute.CLASS: ObjectClass.PUBLIC_KEY, Attribute.ID: key_id}))
                if len(publics) != 1:
                    problems.append(f"key {info.key_id}: {len(publics)} public keys on the token, expected 1")
                elif self._spki_or_none(publics[0], info.algorithm) != info.public_key_der:
                    problems.append(f"key {info.key_id}: the public key on the token differs from its metadata")
                    continue
                self._handles.pop((info.name, info.version), None)  # look the private key up afresh
                challenge = b"egov keys verify " + key_id + b" " + os.urandom(16)
                try:
                    signature = self._sign(info, challenge)
                    verify_signature(info.algorithm, info.public_key_der, challenge, signature)
                except KeyStoreError as exc:
                    problems.append(str(exc))
                    continue
                except InvalidSignature:
                    problems.append(f"key {info.key_id}: its signature does not verify with its public key")
                    continue
                checked.append(info.key_id)
        if problems:
            raise KeyStoreVerificationError(problems)
        return checked

    # --- internals -----------------------------------------------------------------------------------

    @classmethod
    def _spki_or_none(cls, public: Any, algorithm: KeyAlgorithm) -> bytes | None:
        """As _spki, or None when the object is not a key of that algorithm (metadata naming another)."""
        from pkcs11 import exceptions as p11e

        try:
            return cls._spki(public, algorithm)
        except p11e.PKCS11Error:
            return None

    @staticmethod
    def _spki(public: Any, algorithm: KeyAlgorithm) -> bytes:
        """SubjectPublicKeyInfo DER of a public key object on the token."""
        from pkcs11.util.ec import encode_ec_public_key
        from pkcs11.util.rsa import encode_rsa_public_key

        if algorithm is KeyAlgorithm.ECDSA_P256:
            return bytes(encode_ec_public_key(public))
        return serialization.load_der_public_key(encode_rsa_public_key(public)).public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)

    def _all_metas(self) -> builtins.list[dict[str, Any]]:
        from pkcs11 import Attribute, ObjectClass

        session = self._open()
        out = []
        for obj in list(session.get_objects({Attribute.CLASS: ObjectClass.DATA, Attribute.APPLICATION: _APPLICATION})):
            label = obj[Attribute.LABEL]
            if not label.startswith(_META_PREFIX):
                continue
            try:
                meta = json.loads(bytes(obj[Attribute.VALUE]))
                meta["version"] = int(meta["version"])
            except (ValueError, KeyError, TypeError):
                raise KeyStoreError(f"PKCS#11 metadata object {label!r} is malformed") from None
            out.append(meta)
        return out

    def _metas(self, name: str) -> builtins.list[dict[str, Any]]:
        return sorted((m for m in self._all_metas() if m["name"] == name), key=lambda m: m["version"])

    @staticmethod
    def _info(meta: dict[str, Any], active: bool) -> KeyInfo:
        import base64

        return KeyInfo(
            name=meta["name"],
            version=meta["version"],
            algorithm=KeyAlgorithm(meta["algorithm"]),
            created_at=datetime.fromisoformat(meta["created_at"]),
            active=active,
            public_key_der=base64.b64decode(meta["public_key"]),
        )

    def _generate(self, name: str, version: int, algorithm: KeyAlgorithm) -> KeyInfo:
        import base64

        from pkcs11 import Attribute, KeyType, ObjectClass
        from pkcs11.util.ec import encode_named_curve_parameters

        session = self._open()
        key_id = f"{name}/v{version}".encode()
        # A crash between generate_keypair and the metadata object leaves an orphan pair with this
        # id; no signer was ever handed out for it, so it is removed before generating again.
        for obj in list(session.get_objects({Attribute.ID: key_id})):
            obj.destroy()
        private_template = {Attribute.SENSITIVE: True, Attribute.EXTRACTABLE: False, Attribute.SIGN: True}
        if algorithm is KeyAlgorithm.ECDSA_P256:
            params = session.create_domain_parameters(
                KeyType.EC, {Attribute.EC_PARAMS: encode_named_curve_parameters("secp256r1")}, local=True)
            pub, _priv = params.generate_keypair(store=True, label=name, id=key_id,
                                                 private_template=private_template)
            spki = self._spki(pub, algorithm)
        elif algorithm in (KeyAlgorithm.RSA_2048, KeyAlgorithm.RSA_3072):
            bits = 2048 if algorithm is KeyAlgorithm.RSA_2048 else 3072
            pub, _priv = session.generate_keypair(KeyType.RSA, bits, store=True, label=name, id=key_id,
                                                  private_template=private_template)
            spki = self._spki(pub, algorithm)
        else:
            raise KeyStoreError(f"the PKCS#11 key store does not offer {algorithm} (use ECDSA-P256 or RSA)")
        now = self._clock()
        if now.tzinfo is None:
            raise KeyStoreError("the key store clock returned a naive datetime; it must be timezone-aware")
        meta = {"name": name, "version": version, "algorithm": str(algorithm),
                "created_at": now.astimezone(UTC).isoformat(), "public_key": base64.b64encode(spki).decode("ascii")}
        session.create_object({
            Attribute.CLASS: ObjectClass.DATA,
            Attribute.TOKEN: True,
            Attribute.PRIVATE: False,
            Attribute.APPLICATION: _APPLICATION,
            Attribute.LABEL: f"{_META_PREFIX}{name}/v{version}",
            Attribute.VALUE: json.dumps(meta, sort_keys=True).encode(),
        })
        return self._info(meta, True)

    def _private_handle(self, info: KeyInfo) -> Any:
        from pkcs11 import Attribute, ObjectClass

        session = self._open()
        cache_key = (info.name, info.version)
        handle = self._handles.get(cache_key)
        if handle is None:
            found = list(session.get_objects({Attribute.CLASS: ObjectClass.PRIVATE_KEY,
                                              Attribute.ID: f"{info.name}/v{info.version}".encode()}))
            if len(found) != 1:
                raise KeyStoreError(f"key {info.key_id}: {len(found)} private keys on the token, expected 1")
            handle = self._handles[cache_key] = found[0]
        return handle

    def _sign(self, info: KeyInfo, data: bytes) -> bytes:
        from pkcs11 import Mechanism
        from pkcs11 import exceptions as p11e
        from pkcs11.util.ec import encode_ecdsa_signature

        with self._lock:
            key = self._private_handle(info)
            try:
                if info.algorithm is KeyAlgorithm.ECDSA_P256:
                    raw = key.sign(hashlib.sha256(data).digest(), mechanism=Mechanism.ECDSA)
                    return bytes(encode_ecdsa_signature(raw))
                return bytes(key.sign(data, mechanism=Mechanism.SHA256_RSA_PKCS))
            except p11e.PKCS11Error as exc:
                raise KeyStoreError(f"the token refused to sign with {info.key_id}: {type(exc).__name__}") from None
