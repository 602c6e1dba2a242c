"""The module's YAML front matter: what it must hold, with messages a lecturer understands."""

from __future__ import annotations

import re
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from app.content.markdown import ID_PATTERN

REQUIRED_MESSAGES = {
    "missing": "ontbreekt (verplicht veld)",
    "string_type": "moet tekst zijn",
    "int_type": "moet een geheel getal zijn",
    "int_parsing": "moet een geheel getal zijn",
    "list_type": "moet een lijst zijn (regels die beginnen met '- ')",
    "bool_type": "moet true of false zijn",
    "bool_parsing": "moet true of false zijn",
    "literal_error": "moet 'nl' of 'en' zijn",
    "too_short": "mag niet leeg zijn",
    "greater_than_equal": "moet minstens 1 zijn",
    "less_than_equal": "is te groot",
    "string_too_short": "mag niet leeg zijn",
    "extra_forbidden": "is geen bekend veld",
}


MAX_FRONT_MATTER_CHARS = 20_000
MAX_NESTING = 20


class FrontMatter(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    title: str = Field(min_length=1, max_length=200)
    slug: str
    summary: str = Field(min_length=1, max_length=600)
    language: Literal["nl", "en"]
    estimated_minutes: int = Field(ge=1, le=600)
    learning_goals: list[str] = Field(min_length=1)
    authors: list[str] = Field(min_length=1)
    version: str = Field(min_length=1, max_length=40)
    license: str = Field(min_length=1, max_length=100)
    order: int = 1000
    draft: bool = False

    @field_validator("slug")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not ID_PATTERN.match(value):
            raise ValueError("slug")
        return value


def parse_front_matter(text: str, first_line: int) -> tuple[FrontMatter | None, list[tuple[int, str]]]:
    """Validate front matter text that starts at 1-based `first_line` of the file."""
    if len(text) > MAX_FRONT_MATTER_CHARS:
        return None, [(first_line, f"voorpagina is te lang (maximaal {MAX_FRONT_MATTER_CHARS} tekens)")]
    if _nesting_depth(text) > MAX_NESTING:
        return None, [(first_line, f"voorpagina: de YAML is te diep genest (maximaal {MAX_NESTING} niveaus)")]
    try:
        data = yaml.safe_load(text) if text.strip() else None
    except RecursionError:
        return None, [(first_line, f"voorpagina: de YAML is te diep genest (maximaal {MAX_NESTING} niveaus)")]
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = first_line + (mark.line if mark else 0)
        problem = getattr(error, "problem", None) or "ongeldige YAML"
        return None, [(line, f"voorpagina: ongeldige YAML ({problem})")]
    if not isinstance(data, dict):
        return None, [(first_line, "voorpagina: verwacht velden in de vorm 'naam: waarde'")]
    if isinstance(data.get("version"), int | float):
        return None, [
            (
                key_line(text, "version", first_line),
                "voorpagina: 'version' moet tussen aanhalingstekens staan, bv. version: \"1.0\"",
            )
        ]
    try:
        return FrontMatter.model_validate(data), []
    except ValidationError as error:
        problems = []
        for item in error.errors():
            key = str(item["loc"][0]) if item["loc"] else ""
            if key == "slug" and item["type"] == "value_error":
                message = "moet bestaan uit kleine letters, cijfers en koppeltekens"
            else:
                message = REQUIRED_MESSAGES.get(item["type"], item["msg"])
            problems.append((key_line(text, key, first_line), f"voorpagina: '{key}' {message}"))
        return None, problems


def _nesting_depth(text: str) -> int:
    """An upper bound of how deep the YAML nests: open flow brackets, or indentation steps (linear).

    PyYAML builds nested values recursively; thousands of levels would exhaust the stack.
    """
    depth = deepest = 0
    for char in text:
        if char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}" and depth:
            depth -= 1
    indents = {len(line) - len(line.lstrip(" -")) for line in text.split("\n") if line.strip()}
    return max(deepest, len(indents))


def key_line(text: str, key: str, first_line: int) -> int:
    match = re.search(rf"^{re.escape(key)}\s*:", text, flags=re.MULTILINE)
    if not match:
        return first_line
    return first_line + text.count("\n", 0, match.start())
