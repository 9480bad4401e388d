"""Detached CMS (CAdES-style signed attributes) for any file, signed through the key store."""

from __future__ import annotations

from asn1crypto import cms
from pyhanko.sign.timestamps import TimeStamper

from egov.signing._sync import loop_safe, run
from egov.signing.interfaces import SigningError, SigningIdentity
from egov.signing.keys import KeyStoreSigner


@loop_safe
def sign_detached(data: bytes, identity: SigningIdentity, *, timestamper: TimeStamper | None = None,
                  signer: KeyStoreSigner | None = None) -> bytes:
    """A DER ContentInfo(SignedData) without the content; with `timestamper` it carries a signature
    time-stamp (CAdES B-T). `openssl cms -verify -binary -content FILE -inform DER` accepts it."""
    signer = signer or KeyStoreSigner(identity)
    try:
        content_info: cms.ContentInfo = run(signer.async_sign_general_data(
            data, "sha256", detached=True, use_cades=True, timestamper=timestamper))
    except SigningError:
        raise
    except Exception as exc:  # pyhanko raises several kinds
        raise SigningError("Không ký được tệp.", f"CMS signing failed: {exc}") from exc
    return bytes(content_info.dump())
