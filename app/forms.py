"""Small helpers for HTML forms: trimmed values and length limits with messages."""

from __future__ import annotations

from app.i18n import gettext as _


def too_long(values: dict[str, str], limits: dict[str, int]) -> dict[str, str]:
    """An error per field that is longer than its limit (the browser normally prevents this)."""
    return {
        name: _("Use at most %(num)s characters.") % {"num": limit}
        for name, limit in limits.items()
        if len(values.get(name) or "") > limit
    }


MAX_INT = 2**31 - 1  # what an integer column holds on every database


def parse_int(raw: object, *, maximum: int = MAX_INT) -> int | None:
    """A whole number written in ASCII digits (0-9 only: no '²', no '٣', no sign), at most `maximum`;
    None for anything else. `str.isdigit()` says yes to '²', which `int()` then refuses."""
    if not isinstance(raw, str) or not raw or len(raw) > len(str(maximum)) or not (raw.isascii() and raw.isdigit()):
        return None
    value = int(raw)
    return value if value <= maximum else None
