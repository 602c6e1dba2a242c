"""UI translations: msgids in English, Dutch the default; one catalogue per language, loaded once."""

from __future__ import annotations

import contextvars
import io
from functools import cache, lru_cache

from babel import Locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

from app import PROJECT_ROOT

LOCALES = ("nl", "en")
DEFAULT_LOCALE = "nl"
LOCALE_DIR = PROJECT_ROOT / "app" / "locale"

current_locale: contextvars.ContextVar[str] = contextvars.ContextVar("locale", default=DEFAULT_LOCALE)


@cache
def translations(locale: str) -> Translations:
    """Compile the .po catalogue in memory, so no compiled files live in the repository."""
    path = LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"
    if not path.exists():
        return Translations()
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=locale)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer)


def gettext(message: str) -> str:
    return translations(current_locale.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(current_locale.get()).ngettext(singular, plural, n)


def negotiate(accept_language: str | None) -> str:
    """The best supported language for an Accept-Language header, else the default."""
    if not accept_language:
        return DEFAULT_LOCALE
    ranked = []
    for part in accept_language.split(","):
        piece = part.strip().split(";q=")
        tag = piece[0].strip().lower()
        try:
            quality = float(piece[1]) if len(piece) > 1 else 1.0
        except ValueError:
            quality = 0.0
        ranked.append((quality, tag))
    for _, tag in sorted(ranked, key=lambda item: -item[0]):
        base = tag.split("-")[0]
        if base in LOCALES:
            return base
    return DEFAULT_LOCALE


@cache
def babel_locale(locale: str) -> Locale:
    return Locale.parse({"nl": "nl_NL", "en": "en_GB"}[locale])


def format_number(value: int) -> str:
    """A whole number as the reader's language writes it (50.000 in Dutch, 50,000 in English)."""
    from babel.numbers import format_decimal

    return format_decimal(value, locale=babel_locale(current_locale.get()))


def format_day(value, style: str = "long") -> str:
    """A day as the school counts it, in the reader's language: a moment is first taken to the school's clock
    (app.models.school_day), so 23:30 UTC on 1 March shows as 2 March, as due dates and "late" count it."""
    from datetime import datetime

    from app.models import school_day

    if not value:
        return ""
    day = school_day(value) if isinstance(value, datetime) else value
    return _formatted_day(day, style, current_locale.get())


@lru_cache(maxsize=4096)
def _formatted_day(day, style: str, locale: str) -> str:
    # Babel takes tens of microseconds per date, and a review or progress page shows the same few days
    # dozens of times (rounds, due dates, feedback): a day's text in a language never changes.
    from babel.dates import format_date

    return format_date(day, style, locale=babel_locale(locale))


_ = gettext
