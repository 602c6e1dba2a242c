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
