"""CSV that is safe to open in a spreadsheet: the exports of the progress matrix and of the review."""

from __future__ import annotations

# Spreadsheets run a cell that starts with one of these as a formula (CSV injection, OWASP).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell(value: str) -> str:
    """The value as a spreadsheet shows it, never as a formula it runs."""
    return f"'{value}" if value[:1] in FORMULA_STARTS else value
