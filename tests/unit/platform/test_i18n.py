"""Vietnamese first, English second: every string marked in a template has an English translation."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir

from egov.platform import i18n

SRC = Path(__file__).resolve().parents[3] / "src" / "egov"


def test_every_marked_string_is_translated_to_english() -> None:
    method_map = [("**/templates/**.html", "jinja2"), ("**.py", "python")]
    options = {"**/templates/**.html": {"extensions": "jinja2.ext.i18n"}}
    marked = {msg if isinstance(msg, str) else msg[0] for _f, _l, msg, _c, _ctx in
              extract_from_dir(str(SRC), method_map=method_map, options_map=options)}
    catalogue = i18n._catalogue("en")
    assert marked, "extraction found nothing: the check would be empty"
    untranslated = sorted(m for m in marked if m and m not in catalogue)
    assert not untranslated, "add English for: " + "; ".join(untranslated)


def test_gettext_follows_the_locale() -> None:
    token = i18n.set_locale("en")
    try:
        assert i18n.gettext("Đăng nhập") == "Sign in"
    finally:
        i18n._locale.reset(token)  # type: ignore[arg-type]
    assert i18n.gettext("Đăng nhập") == "Đăng nhập"


def test_negotiation_prefers_the_explicit_choice() -> None:
    assert i18n.negotiate("en", "vi-VN,vi;q=0.9") == "en"
    assert i18n.negotiate(None, "en-GB,en;q=0.8") == "en"
    assert i18n.negotiate(None, "fr-FR") == "vi"
    assert i18n.negotiate("xx", None) == "vi"
