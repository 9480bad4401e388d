"""Vietnamese first, English second: source strings are Vietnamese, English comes from a gettext catalogue."""

from __future__ import annotations

from contextvars import ContextVar, Token
from functools import cache
from importlib import resources
from pathlib import Path

from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

LOCALES = ("vi", "en")
DEFAULT_LOCALE = "vi"
_locale: ContextVar[str] = ContextVar("egov_locale", default=DEFAULT_LOCALE)


@cache
def _catalogue(locale: str) -> dict[str, str]:
    """The compiled catalogue (.mo, written by the build, see setup.py); the .po only where no build ran yet."""
    if locale == DEFAULT_LOCALE:
        return {}
    folder = resources.files("egov") / "locale" / locale / "LC_MESSAGES"
    mo, po = folder / "messages.mo", folder / "messages.po"
    if mo.is_file() and not _edited_since_compiled(po, mo):
        with mo.open("rb") as fh:
            cat = read_mo(fh)
    elif po.is_file():
        with po.open("rb") as fh:
            cat = read_po(fh, locale=locale)
    else:
        return {}
    return {str(m.id): str(m.string) for m in cat if m.id and m.string and not m.fuzzy}


def _edited_since_compiled(po: object, mo: object) -> bool:
    """A checkout whose .po was edited after `make setup` compiled it: the .po is the truth until recompiled."""
    if not isinstance(po, Path) or not isinstance(mo, Path) or not po.is_file():
        return False
    return po.stat().st_mtime > mo.stat().st_mtime


def set_locale(locale: str) -> Token[str]:
    return _locale.set(locale if locale in LOCALES else DEFAULT_LOCALE)


def reset_locale(token: Token[str]) -> None:
    """Back to the locale before `set_locale` (the request is over)."""
    _locale.reset(token)


def get_locale() -> str:
    return _locale.get()


def gettext(message: str) -> str:
    return _catalogue(get_locale()).get(message, message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return gettext(singular if n == 1 else plural)


def N_(message: str) -> str:
    """Marks a msgid for extraction where it is defined (e.g. a menu label); `gettext` translates it where shown."""
    return message


def pick(vi: str, en: str) -> str:
    """For messages built in code with both languages (errors), choose by the current locale."""
    return en if get_locale() == "en" else vi


def negotiate(cookie: str | None, accept_language: str | None) -> str:
    """An explicit choice (cookie) wins; else the browser's first supported language; else Vietnamese."""
    if cookie in LOCALES:
        return cookie
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().lower()[:2]
        if tag in LOCALES:
            return tag
    return DEFAULT_LOCALE
