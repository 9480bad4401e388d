"""Chromium: a citizen checks a signed decision (officer + agency seal) on the public /verify page."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from tests.browser.conftest import shot
from tests.factories.signing import build_world, make_pdf, seal_png

from egov.signing.pades import PadesLevel, VisibleSignature, sign_pdf

pytestmark = pytest.mark.browser


def test_citizen_checks_a_signed_document(page: Any, live_server: str, tmp_path: Path) -> None:
    world = build_world(tmp_path / "world")
    # The live server reads its trust list from EGOV_DATA_DIR/trust on every check.
    trust = Path(os.environ["EGOV_BROWSER_DATA_DIR"]) / "trust"
    trust.mkdir(exist_ok=True)
    (trust / "root.pem").write_bytes(world.pki.root.cert.public_bytes(serialization.Encoding.PEM))
    (trust / "issuing.crl").write_bytes(world.pki.crl_der())
    (trust / "root.crl").write_bytes(world.pki.crl_der(issuer=world.pki.root))
    now = datetime.now(UTC)
    once = sign_pdf(make_pdf(text="Quyet dinh so 15/QD-STTTT"), world.officer, signing_time=now,
                    level=PadesLevel.B_T, timestamper=world.timestamper,
                    visible=VisibleSignature("officer", (330, 40, 565, 118)))
    twice = sign_pdf(once, world.seal, signing_time=now, level=PadesLevel.B_T, timestamper=world.timestamper,
                     visible=VisibleSignature("seal", (330, 124, 565, 202), seal_png=seal_png()))
    doc = tmp_path / "quyet-dinh-15.pdf"
    doc.write_bytes(twice)

    page.goto(f"{live_server}/verify")
    assert page.locator("h1").inner_text() == "Kiểm tra chữ ký số trên văn bản"
    shot(page, "signing-verify-form")
    page.get_by_label("Tệp đã ký (PDF, XML hoặc chữ ký .p7s)").set_input_files(str(doc))
    page.get_by_role("button", name="Kiểm tra", exact=True).click()
    page.wait_for_selector(".verdict")
    verdict = page.locator(".verdict").inner_text()
    assert "Hợp lệ" in verdict and "Mọi chữ ký trong tệp đều hợp lệ." in verdict
    assert page.locator("section.card h3").count() == 2
    assert "Nguyễn Văn An" in page.content()
    shot(page, "signing-verify-result")

    tampered = tmp_path / "sua.pdf"
    tampered.write_bytes(twice.replace(b"Quyet dinh so 15", b"Quyet dinh so 16"))
    page.get_by_label("Tệp đã ký (PDF, XML hoặc chữ ký .p7s)").set_input_files(str(tampered))
    page.get_by_role("button", name="Kiểm tra", exact=True).click()
    page.wait_for_selector(".verdict")
    assert "Không hợp lệ" in page.locator(".verdict").inner_text()
    shot(page, "signing-verify-tampered")
