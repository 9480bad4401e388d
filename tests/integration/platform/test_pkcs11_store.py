"""The PKCS#11 key store on a real SoftHSM2 token; signatures checked by cryptography and by openssl."""

from __future__ import annotations

import subprocess
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding
from tests.factories.softhsm import SoftHsmToken

from egov.platform.keys import KeyAlgorithm, KeyNotFound, KeyStoreError, verify_signature
from egov.platform.keys.pkcs11_store import Pkcs11KeyStore

WHEN = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)


def _store(token: SoftHsmToken, pin: str | None = None) -> Pkcs11KeyStore:
    return Pkcs11KeyStore(token.module, token.label, pin or token.pin, clock=lambda: WHEN)


def test_ecdsa_key_is_made_on_the_token_and_signs_verifiably(softhsm_token: SoftHsmToken, tmp_path: Path) -> None:
    store = _store(softhsm_token)
    info = store.create("ocsp-signer", KeyAlgorithm.ECDSA_P256)
    assert (info.name, info.version, info.active, info.created_at) == ("ocsp-signer", 1, True, WHEN)
    signer = store.signer("ocsp-signer")
    msg = b"hello e-government"
    sig = signer.sign(msg)
    public = serialization.load_der_public_key(info.public_key_der)
    assert isinstance(public, ec.EllipticCurvePublicKey)
    public.verify(sig, msg, ec.ECDSA(hashes.SHA256()))
    with pytest.raises(InvalidSignature):
        public.verify(sig, msg + b"!", ec.ECDSA(hashes.SHA256()))
    verify_signature(KeyAlgorithm.ECDSA_P256, info.public_key_der, msg, sig)
    assert signer.public_key_raw()[0] == 4 and len(signer.public_key_raw()) == 65
    # openssl, an independent verifier
    (tmp_path / "pub.der").write_bytes(info.public_key_der)
    (tmp_path / "msg").write_bytes(msg)
    (tmp_path / "sig").write_bytes(sig)
    out = subprocess.run(["openssl", "dgst", "-sha256", "-verify", str(tmp_path / "pub.der"), "-keyform", "DER",
                          "-signature", str(tmp_path / "sig"), str(tmp_path / "msg")], capture_output=True, text=True)
    assert "Verified OK" in out.stdout, out.stdout + out.stderr


def test_rsa_key_signs_pkcs1v15_sha256(softhsm_token: SoftHsmToken) -> None:
    store = _store(softhsm_token)
    info = store.create("seal", KeyAlgorithm.RSA_2048)
    sig = store.signer("seal").sign(b"data")
    public = serialization.load_der_public_key(info.public_key_der)
    public.verify(sig, b"data", padding.PKCS1v15(), hashes.SHA256())  # type: ignore[call-arg,union-attr]


def test_private_key_is_sensitive_and_not_extractable(softhsm_token: SoftHsmToken) -> None:
    import pkcs11
    from pkcs11 import Attribute, ObjectClass

    store = _store(softhsm_token)
    store.create("k", KeyAlgorithm.ECDSA_P256)
    lib = pkcs11.lib(softhsm_token.module)
    with lib.get_token(token_label=softhsm_token.label).open() as s:  # the process is logged in already
        priv = next(iter(s.get_objects({Attribute.CLASS: ObjectClass.PRIVATE_KEY, Attribute.LABEL: "k"})))
        assert priv[Attribute.SENSITIVE] is True
        assert priv[Attribute.EXTRACTABLE] is False
        with pytest.raises(pkcs11.exceptions.PKCS11Error):
            priv[Attribute.VALUE]


def test_rotate_list_versions_and_old_versions_still_sign(softhsm_token: SoftHsmToken) -> None:
    store = _store(softhsm_token)
    v1 = store.create("k", KeyAlgorithm.ECDSA_P256)
    v2 = store.rotate("k")
    assert v2.version == 2 and v2.public_key_der != v1.public_key_der
    assert [(i.version, i.active) for i in store.versions("k")] == [(1, False), (2, True)]
    assert [i.key_id for i in store.list()] == ["k/v2"]
    sig = store.signer("k", 1).sign(b"x")
    verify_signature(KeyAlgorithm.ECDSA_P256, v1.public_key_der, b"x", sig)
    assert store.signer("k").info.version == 2
    # another store on the same token sees the same keys
    other = _store(softhsm_token)
    assert [i.key_id for i in other.versions("k")] == ["k/v1", "k/v2"]


def test_errors_are_clear(softhsm_token: SoftHsmToken) -> None:
    with pytest.raises(KeyStoreError, match="PIN is wrong"):
        _store(softhsm_token, pin="0000")
    with pytest.raises(KeyStoreError, match="no PKCS#11 token"):
        Pkcs11KeyStore(softhsm_token.module, "no-such-token", "1234")
    store = _store(softhsm_token)
    with pytest.raises(KeyNotFound):
        store.signer("missing")
    store.create("k", KeyAlgorithm.ECDSA_P256)
    with pytest.raises(KeyStoreError, match="already exists"):
        store.create("k", KeyAlgorithm.ECDSA_P256)
    with pytest.raises(KeyStoreError, match="does not offer"):
        store.create("ed", KeyAlgorithm.ED25519)
    with pytest.raises(KeyStoreError, match="invalid key name"):
        store.create("../x", KeyAlgorithm.ECDSA_P256)
    with pytest.raises(KeyStoreError, match="exists with algorithm"):
        store.ensure("k", KeyAlgorithm.RSA_2048)


def test_one_session_serves_many_threads(softhsm_token: SoftHsmToken) -> None:
    store = _store(softhsm_token)
    info = store.create("k", KeyAlgorithm.ECDSA_P256)
    signer = store.signer("k")
    failures: list[BaseException] = []

    def work() -> None:
        try:
            for i in range(50):
                msg = f"m{i}".encode()
                verify_signature(KeyAlgorithm.ECDSA_P256, info.public_key_der, msg, signer.sign(msg))
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures


def test_container_uses_the_token_when_configured(softhsm_token: SoftHsmToken, tmp_path: Path) -> None:
    from egov.bootstrap import build_container
    from egov.contexts import settings_class

    pin_file = tmp_path / "pin"
    pin_file.write_text(softhsm_token.pin + "\n")
    settings = settings_class()(environment="test", data_dir=tmp_path / "var", key_store="pkcs11",
                        pkcs11_module=softhsm_token.module, pkcs11_token_label=softhsm_token.label,
                        pkcs11_pin=f"file:{pin_file}")  # type: ignore[arg-type]
    container = build_container(settings)
    assert isinstance(container.keys, Pkcs11KeyStore)
    info = container.keys.create("audit-checkpoint", KeyAlgorithm.ECDSA_P256)
    verify_signature(info.algorithm, info.public_key_der, b"m", container.keys.signer(info.name).sign(b"m"))
    container.db.dispose()


def test_pkcs11_settings_fail_fast_without_label_or_pin(tmp_path: Path) -> None:
    from egov.contexts import load_settings
    from egov.settings import SettingsError

    with pytest.raises(SettingsError, match="EGOV_PKCS11_TOKEN_LABEL and EGOV_PKCS11_PIN"):
        load_settings(data_dir=tmp_path, key_store="pkcs11")
