"""What every part of the review shares: limits, its refusal, the school day of a moment."""

from __future__ import annotations

from datetime import date, datetime
from typing import overload

from app.models import (
    school_day,
)
from app.services.errors import FieldError

FEEDBACK_LIMIT = 5000
ANSWERS_PER_PAGE = 25


class ReviewError(FieldError):
    """A refusal about review (app/services/errors.py)."""


@overload
def local_day(value: datetime) -> date: ...


@overload
def local_day(value: datetime | None) -> date | None: ...


def local_day(value: datetime | None) -> date | None:
    """Dates by the day only, in the school's time zone: no hour or minute narrows down who wrote it."""
    return school_day(value) if value is not None else None
