"""The one shape of a user-facing refusal from a service: which form field it is about, and why.

Routes put `message` beside the field named `field` (and keep what the user typed); the CLI prints
`error: field: message`. The areas subclass it (AccountError, ClassError, ReviewError) only so that a
caller can catch one area's refusals; they add nothing.
"""

from __future__ import annotations


class FieldError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message
