"""PAdES baseline signing (B-B, B-T, B-LT, B-LTA) through pyHanko, with Decree 30/2020 visible signatures."""

from __future__ import annotations

import hashlib
import io
import logging
import os
import tempfile
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pyhanko.pdf_utils import images, layout
from pyhanko.pdf_utils.font.opentype import GlyphAccumulatorFactory
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.pdf_utils.text import TextBoxStyle
from pyhanko.sign import fields, signers
from pyhanko.sign.general import SigningError as PyHankoSigningError
from pyhanko.sign.timestamps import TimeStamper
from pyhanko.stamp import TextStampStyle

from egov.platform.clock import local
from egov.signing._sync import loop_safe, run
from egov.signing.interfaces import SigningError, SigningIdentity, TrustSource
from egov.signing.keys import KeyStoreSigner
from egov.signing.trust import validation_context

FONT_PATH = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")  # Vietnamese diacritics (fonts-dejavu-core)
# /Contents room: a CMS with an ECDSA signature and a 3-certificate chain is ~3 KB, a time-stamp token
# with its TSA chain ~4 KB more; B-LT/B-LTA revocation data goes to the DSS, outside /Contents.
BYTES_RESERVED = {False: 8192, True: 16384}
SEAL_RED = (0.8, 0.0, 0.0)
# The letters of Vietnamese and what a stamp may carry: Basic Latin, Latin-1, Ă ă Đ đ Ĩ ĩ Ũ ũ Ơ ơ Ư ư,
# the five tone marks (combining), ạ … ỹ (Latin Extended Additional), dashes, quotes, №, ₫.
VI_UNICODES = [*range(0x20, 0x7F), *range(0xA0, 0x100), 0x102, 0x103, 0x110, 0x111, 0x128, 0x129, 0x168, 0x169,
               0x1A0, 0x1A1, 0x1AF, 0x1B0, 0x300, 0x301, 0x303, 0x309, 0x323, *range(0x1EA0, 0x1EFA),
               0x2013, 0x2014, 0x2018, 0x2019, 0x201C, 0x201D, 0x2026, 0x2116, 0x20AB]

# fontTools logs every table it cannot subset (FFTM in DejaVu) at WARNING; it is harmless noise.
logging.getLogger("fontTools.subset").setLevel(logging.ERROR)


class PadesLevel(StrEnum):
    B_B = "B-B"
    B_T = "B-T"
    B_LT = "B-LT"
    B_LTA = "B-LTA"

    @property
    def needs_timestamp(self) -> bool:
        return self is not PadesLevel.B_B

    @property
    def needs_revocation(self) -> bool:
        return self in (PadesLevel.B_LT, PadesLevel.B_LTA)


@dataclass(frozen=True)
class VisibleSignature:
    """Where and how the signature shows on the page (Decree 30/2020/ND-CP, Appendix I).

    `kind="officer"`: the signer's name, position, agency and the signing time.
    `kind="seal"`: the agency's seal image with the agency name and the signing time (ISO 8601, +07:00).
    `box` is (x1, y1, x2, y2) in PDF points from the bottom-left; `page` counts from 0, -1 is the last.
    """

    kind: Literal["officer", "seal"]
    box: tuple[int, int, int, int]
    page: int = -1
    seal_png: bytes | None = None


def iso_vn(moment: datetime) -> str:
    """2026-11-25T10:00:00+07:00: the signing time as Appendix I asks (ISO 8601, Vietnam's offset)."""
    return local(moment).replace(microsecond=0).isoformat()


@lru_cache(maxsize=1)
def _font() -> GlyphAccumulatorFactory:
    """DejaVu Sans rescaled to 1000 units per em.

    pyHanko 0.38 writes the CID font's /W widths in the font's own units, but PDF reads them per
    1000 em; DejaVu has 2048, so readers spaced every letter twice too wide. Rescaling once fixes it.
    """
    from fontTools import subset
    from fontTools.ttLib import TTFont
    from fontTools.ttLib.scaleUpem import scale_upem

    digest = hashlib.sha256(FONT_PATH.read_bytes()).hexdigest()[:16]
    target = Path(tempfile.gettempdir()) / f"egov-dejavusans-vi-1000upem-{digest}.ttf"
    if not target.exists():
        font = TTFont(str(FONT_PATH))
        if font["head"].unitsPerEm != 1000:
            scale_upem(font, 1000)
        # Only the scripts a Vietnamese stamp uses: pyHanko subsets the font again for every signature,
        # and subsetting all of DejaVu's 6,000 glyphs cost ~120 ms a stamp; this set costs a few.
        options = subset.Options()
        # No OpenType layout: DejaVu has every Vietnamese letter precomposed and the stamp text is NFC,
        # while decompiling GSUB/GPOS (kerning pairs, mark anchors) was most of the remaining cost.
        options.layout_features = []
        options.drop_tables += ["GSUB", "GPOS", "GDEF"]
        options.name_IDs = ["*"]
        options.notdef_outline = True
        subsetter = subset.Subsetter(options)
        subsetter.populate(unicodes=VI_UNICODES)
        subsetter.subset(font)
        tmp = target.with_suffix(f".{os.getpid()}.tmp")
        font.save(str(tmp))
        os.replace(tmp, target)
    return GlyphAccumulatorFactory(str(target))


def _stamp(visible: VisibleSignature, identity: SigningIdentity, signing_time: datetime) -> tuple[
        TextStampStyle, dict[str, str]]:
    when = iso_vn(signing_time)
    identity = _nfc_identity(identity)
    if visible.kind == "seal":
        text = "Ký bởi: %(agency)s\nThời gian ký: %(when)s"
        params = {"agency": identity.agency_name or identity.display_name, "when": when}
        background = None
        if visible.seal_png:
            from PIL import Image

            background = images.PdfImage(Image.open(io.BytesIO(visible.seal_png)))
        style = TextStampStyle(
            stamp_text=text,
            text_box_style=TextBoxStyle(font=_font(), font_size=8, text_color=SEAL_RED),
            background=background, background_opacity=1.0, border_width=0,
            background_layout=layout.SimpleBoxLayoutRule(x_align=layout.AxisAlignment.ALIGN_MIN,
                                                         y_align=layout.AxisAlignment.ALIGN_MID,
                                                         margins=layout.Margins(2, 2, 2, 2)),
            # the text starts right of the (square) seal image, which takes the box's height
            inner_content_layout=layout.SimpleBoxLayoutRule(
                x_align=layout.AxisAlignment.ALIGN_MIN, y_align=layout.AxisAlignment.ALIGN_MID,
                margins=layout.Margins(left=visible.box[3] - visible.box[1] + 6, right=4, top=2, bottom=2)),
        )
        return style, params
    text = "Người ký: %(name)s\nChức vụ: %(position)s\nCơ quan: %(agency)s\nThời gian ký: %(when)s"
    params = {"name": identity.display_name, "position": identity.position or "—",
              "agency": identity.agency_name or "—", "when": when}
    style = TextStampStyle(stamp_text=text, border_width=1,
                           inner_content_layout=layout.SimpleBoxLayoutRule(
                               x_align=layout.AxisAlignment.ALIGN_MIN, y_align=layout.AxisAlignment.ALIGN_MID,
                               margins=layout.Margins(left=8, right=4, top=4, bottom=4)),
                           text_box_style=TextBoxStyle(font=_font(), font_size=8, text_color=(0.0, 0.0, 0.55)))
    return style, params


def _nfc_identity(identity: SigningIdentity) -> SigningIdentity:
    """Precomposed letters (NFC): the stamp font has them and no layout tables to combine marks."""
    from dataclasses import replace

    return replace(identity, display_name=unicodedata.normalize("NFC", identity.display_name),
                   position=unicodedata.normalize("NFC", identity.position),
                   agency_name=unicodedata.normalize("NFC", identity.agency_name))


def _page_index(reader: PdfFileReader, page: int) -> int:
    count = int(reader.root["/Pages"]["/Count"])
    index = page if page >= 0 else count + page
    if not 0 <= index < count:
        raise SigningError("Trang đặt chữ ký không tồn tại.", "The page for the signature does not exist.")
    return index


class _TimedPdfSigner(signers.PdfSigner):
    """PdfSigner whose claimed signing time is the platform clock's, like the visible stamp."""

    def __init__(self, *args: object, signing_time: datetime, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._signing_time = signing_time

    def init_signing_session(self, pdf_out, existing_fields_only=False):  # type: ignore[no-untyped-def]
        session = super().init_signing_session(pdf_out, existing_fields_only)
        session.system_time = self._signing_time
        return session


@loop_safe
def sign_pdf(
    pdf: bytes,
    identity: SigningIdentity,
    *,
    signing_time: datetime,
    level: PadesLevel = PadesLevel.B_T,
    timestamper: TimeStamper | None = None,
    trust: TrustSource | None = None,
    visible: VisibleSignature | None = None,
    field_name: str | None = None,
    reason: str | None = None,
    location: str | None = None,
    signer: KeyStoreSigner | None = None,
    validation_moment: datetime | None = None,
) -> bytes:
    """Sign `pdf` by incremental update (earlier signatures stay valid); returns the signed bytes.

    B-T and above need `timestamper` (an RFC 3161 client or an in-process TSA); B-LT and B-LTA need
    `trust` to find and embed the chain's revocation data (CRLs/OCSP) in the document security store,
    and B-LTA adds a document time-stamp over it. Nothing is fetched outside `trust`'s allowlist.
    """
    level = PadesLevel(level)
    if level.needs_timestamp and timestamper is None:
        raise SigningError("Cần dịch vụ cấp dấu thời gian cho mức " + level,
                           f"Level {level} needs a time-stamping service.")
    if level.needs_revocation and trust is None:
        raise SigningError("Cần nguồn tin cậy và dữ liệu thu hồi cho mức " + level,
                           f"Level {level} needs a trust source with revocation data.")
    try:
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=True)
    except (PdfError, ValueError, KeyError, TypeError) as exc:
        raise SigningError("Tệp PDF bị hỏng hoặc không đọc được.", f"The PDF is corrupt: {exc}") from None
    if writer.security_handler is not None:
        raise SigningError("Không ký tệp PDF đã mã hoá.", "Encrypted PDFs are not signed.")
    signer = signer or KeyStoreSigner(identity)
    existing = {name for name, _, _ in fields.enumerate_sig_fields(writer.prev)}
    name = field_name or _next_field_name(existing, "Seal" if visible and visible.kind == "seal" else "Signature")
    meta = signers.PdfSignatureMetadata(
        field_name=name, md_algorithm="sha256", subfilter=fields.SigSeedSubFilter.PADES,
        reason=reason, location=location,
        embed_validation_info=level.needs_revocation,
        use_pades_lta=level is PadesLevel.B_LTA,
        validation_context=(validation_context(trust, moment=validation_moment)
                            if trust is not None and level.needs_revocation else None),
    )
    stamp_style = None
    params = None
    new_field = None
    if visible is not None:
        stamp_style, params = _stamp(visible, identity, signing_time)
        new_field = fields.SigFieldSpec(sig_field_name=name, on_page=_page_index(writer.prev, visible.page),
                                        box=visible.box)
    elif name not in existing:
        new_field = fields.SigFieldSpec(sig_field_name=name)
    pdf_signer = _TimedPdfSigner(meta, signer, timestamper=timestamper if level.needs_timestamp else None,
                                 stamp_style=stamp_style, new_field_spec=new_field, signing_time=signing_time)
    out = io.BytesIO()
    try:
        run(pdf_signer.async_sign_pdf(writer, output=out, bytes_reserved=BYTES_RESERVED[level.needs_timestamp],
                                      appearance_text_params=params))
    except PyHankoSigningError as exc:
        raise SigningError("Không ký được văn bản.", f"Signing failed: {exc}") from exc
    return out.getvalue()


@loop_safe
def add_archive_timestamp(pdf: bytes, *, timestamper: TimeStamper, trust: TrustSource) -> bytes:
    """Renew a B-LTA archive: add the latest revocation data to the DSS, then a new document time-stamp.

    Run before the last time-stamp's TSA certificate expires or its algorithm weakens.
    """
    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=True)
    except (PdfError, ValueError) as exc:
        raise SigningError("Tệp PDF bị hỏng.", f"The PDF is corrupt: {exc}") from None
    out = io.BytesIO()
    signers.PdfTimeStamper(timestamper).update_archival_timestamp_chain(
        reader, validation_context(trust), in_place=False, output=out)
    return out.getvalue()


def _next_field_name(existing: set[str], base: str) -> str:
    n = 1
    while f"{base}{n}" in existing:
        n += 1
    return f"{base}{n}"
