"""A remote-signing key is made in the key store; its PKCS#10 request verifies with openssl."""

from __future__ import annotations

import subprocess
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from egov.platform.keys import FileKeyStore
from egov.signing.enrolment import certification_request, ensure_remote_key


def test_key_and_request(tmp_path: Path) -> None:
    store = FileKeyStore(tmp_path / "keys", b"enrolment-test")
    name = ensure_remote_key(store, "01A2-ACCOUNT")
    assert ensure_remote_key(store, "01A2-ACCOUNT") == name  # once
    der = certification_request(store, name, common_name="Nguyễn Thị Lan", organization="UBND Phường Bến Thành",
                                title="Chủ tịch")
    request = x509.load_der_x509_csr(der)
    assert request.is_signature_valid
    assert request.public_key().public_bytes(serialization.Encoding.DER,
                                             serialization.PublicFormat.SubjectPublicKeyInfo) \
        == store.signer(name).info.public_key_der
    assert "Nguyễn Thị Lan" in request.subject.rfc4514_string()
    (tmp_path / "req.der").write_bytes(der)
    out = subprocess.run(["openssl", "req", "-inform", "DER", "-in", str(tmp_path / "req.der"), "-verify",
                          "-noout"], capture_output=True, text=True)
    assert out.returncode == 0 and "verify OK" in (out.stdout + out.stderr), out.stderr
