"""Translation for everything outside Django's request cycle (the CLI and the diagnostics library).

The desk and the CLI share one set of gettext catalogues (``casework/locale/<lang>/LC_MESSAGES/django.po``):
Django reads them through ``LOCALE_PATHS`` and this module reads the very same compiled ``.mo`` files with the
standard library, so a finding's title is translated once and reads the same in a terminal and on a ticket.

The active language is a context variable, so the desk can render a report in the viewer's language without
touching global state, and the CLI sets it once from ``--lang``.
"""

from __future__ import annotations

import gettext as _gettext
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from pathlib import Path

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "django"

# Accepted spellings of the two shipped languages, mapped to the catalogue folder name.
_ALIASES = {
    "en": "en",
    "en-us": "en",
    "en_us": "en",
    "zh": "zh_Hans",
    "zh-cn": "zh_Hans",
    "zh_cn": "zh_Hans",
    "zh-hans": "zh_Hans",
    "zh_hans": "zh_Hans",
}
SUPPORTED = ("en", "zh")

_language: ContextVar[str] = ContextVar("casework_language", default="en")


class UnknownLanguage(ValueError):
    """Raised for a ``--lang`` value that names no shipped catalogue."""


def normalize(lang: str) -> str:
    """Map ``zh``, ``zh-CN``, ``zh-Hans`` … to the catalogue folder name; raise for anything else."""
    key = lang.strip().lower()
    if key not in _ALIASES:
        raise UnknownLanguage(lang)
    return _ALIASES[key]


@cache
def _translations(folder: str) -> _gettext.NullTranslations:
    if folder == "en":
        return _gettext.NullTranslations()
    # fallback=True: a checkout whose catalogues were not compiled yet still runs, in English.
    return _gettext.translation(DOMAIN, localedir=str(LOCALE_DIR), languages=[folder], fallback=True)


def set_language(lang: str) -> None:
    _language.set(normalize(lang))


def get_language() -> str:
    return _language.get()


@contextmanager
def use_language(lang: str) -> Iterator[None]:
    token = _language.set(normalize(lang))
    try:
        yield
    finally:
        _language.reset(token)


def gettext(message: str) -> str:
    return _translations(_language.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return _translations(_language.get()).ngettext(singular, plural, n)


def gettext_noop(message: str) -> str:
    """Mark a string for extraction without translating it now (e.g. module-level constants)."""
    return message


_ = gettext
