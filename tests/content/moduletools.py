"""Helpers to write small fixture modules and to look at what the parser made of them."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path

import yaml

from app.content.model import Check, HtmlBlock, Module, Note, Problem, Reflection, Vignette
from app.content.parser import parse_module

# A 1x1 transparent PNG, so images in fixtures exist for real.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)

REMOVE = object()  # use as a front matter value to leave the field out


def valid_front(slug: str) -> dict:
    """Front matter with every required field, as a lecturer would write it."""
    return {
        "title": "Nabijheid in de leefgroep",
        "slug": slug,
        "summary": "Een korte module waarmee we de controle van Nabij uitproberen.",
        "language": "nl",
        "estimated_minutes": 30,
        "learning_goals": ["Je herkent professionele nabijheid in de leefgroep."],
        "authors": ["Testredactie"],
        "version": "1.0",
        "license": "CC BY-SA 4.0",
    }


def write_module(
    root: Path,
    slug: str,
    body: str | list[str],
    front: dict | str | None = None,
    files: dict[str, bytes] | None = None,
) -> Path:
    """Write `root/<slug>/module.md` and return its path.

    `front` is None for valid front matter, a dict of fields to change (REMOVE drops one), or the
    raw text to put between the two `---` lines. `body` is text or a list of pieces, each dedented on
    its own and joined with a blank line. `files` (name: bytes) are written beside module.md.
    """
    folder = root / slug
    folder.mkdir(parents=True, exist_ok=True)
    if isinstance(front, str):
        front_text = textwrap.dedent(front).strip("\n") + "\n"
    else:
        fields = valid_front(slug)
        for key, value in (front or {}).items():
            if value is REMOVE:
                fields.pop(key, None)
            else:
                fields[key] = value
        front_text = yaml.safe_dump(fields, sort_keys=False, allow_unicode=True, width=1000)
    pieces = [body] if isinstance(body, str) else body
    text = f"---\n{front_text}---\n" + "\n".join(textwrap.dedent(piece).strip("\n") + "\n" for piece in pieces)
    path = folder / "module.md"
    path.write_text(text, encoding="utf-8")
    for name, content in (files or {}).items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(content)
    return path


def write_raw(root: Path, slug: str, text: str) -> Path:
    """Write a module.md exactly as given (dedented), for files without valid front matter."""
    folder = root / slug
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "module.md"
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def line_of(path: Path, needle: str, occurrence: int = 1) -> int:
    """The 1-based line of the `occurrence`-th line in the file that contains `needle`."""
    hits = [n for n, line in enumerate(path.read_text(encoding="utf-8").split("\n"), start=1) if needle in line]
    assert len(hits) >= occurrence, f"{needle!r} occurs {len(hits)} time(s) in {path}"
    return hits[occurrence - 1]


def parse(path: Path) -> tuple[Module | None, list[Problem]]:
    return parse_module(path)


def parse_clean(path: Path) -> Module:
    """Parse a module that must have no problems at all."""
    module, problems = parse_module(path)
    assert problems == [], "\n".join(map(str, problems))
    assert module is not None
    return module


def expect_problem(path: Path, line: int, fragment: str, *, alone: bool = True) -> Problem:
    """Assert a problem with `fragment` in its message on `line`; with `alone`, the only one."""
    _, problems = parse_module(path)
    shown = "\n".join(map(str, problems)) or "(no problems)"
    if alone:
        assert len(problems) == 1, f"expected exactly one problem, got:\n{shown}"
    matching = [p for p in problems if fragment in p.message]
    assert matching, f"no problem mentions {fragment!r}:\n{shown}"
    assert line in [p.line for p in matching], f"expected {fragment!r} on line {line}:\n{shown}"
    problem = next(p for p in matching if p.line == line)
    assert problem.path == path
    return problem


def rendered_html(module: Module) -> Iterator[tuple[str, str]]:
    """Every piece of HTML the parser rendered, with where it came from."""
    yield "intro", module.intro_html
    for section in module.sections:
        for block in section.blocks:
            where = f"{section.id}/{block.kind}"
            if isinstance(block, HtmlBlock | Note):
                yield where, block.html
            elif isinstance(block, Reflection):
                yield f"{where}/{block.id}/prompt", block.prompt_html
                yield f"{where}/{block.id}/guidance", block.guidance_html
            elif isinstance(block, Check):
                yield f"{where}/{block.id}/question", block.question_html
                for n, option in enumerate(block.options):
                    yield f"{where}/{block.id}/option{n}/label", option.label_html
                    yield f"{where}/{block.id}/option{n}/feedback", option.feedback_html
            elif isinstance(block, Vignette):
                yield f"{where}/{block.id}/intro", block.intro_html
                for step in block.steps.values():
                    yield f"{where}/{block.id}/{step.id}", step.html
                    for n, choice in enumerate(step.choices):
                        yield f"{where}/{block.id}/{step.id}/choice{n}/label", choice.label_html
                        yield f"{where}/{block.id}/{step.id}/choice{n}/feedback", choice.feedback_html
