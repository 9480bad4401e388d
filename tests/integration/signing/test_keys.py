"""The key-store pyHanko signer: the ESS signing-certificate-v2 attribute it builds once per certificate is
byte for byte what pyHanko builds per signature, and it lands in the signed attributes of a CMS."""

from __future__ import annotations

import asyncio

from asn1crypto import cms, x509
from pyhanko.sign.general import as_signing_certificate_v2
from tests.factories.signing import SigningWorld

from egov.signing.cms import sign_detached
from egov.signing.keys import KeyStoreSigner


def test_cached_signing_certificate_is_what_pyhanko_builds(signing_world: SigningWorld) -> None:
    signer = KeyStoreSigner(signing_world.officer)
    fresh = as_signing_certificate_v2(x509.Certificate.load(signing_world.officer.certificate_der))
    cached = asyncio.run(signer._signing_certificate.build_attr_value())
    assert cached.dump() == fresh.dump()
    signed = cms.ContentInfo.load(sign_detached(b"bien ban", signing_world.officer, signer=signer))
    attrs = signed["content"]["signer_infos"][0]["signed_attrs"]
    values = [a["values"][0].dump() for a in attrs if a["type"].native == "signing_certificate_v2"]
    assert values == [fresh.dump()]
