"""Fuzzing the module checker: shipped modules, mutated, never make it fail (issue 14).

Whatever a lecturer's file holds, checking it ends in a Module and/or problems, each `path:LINE:
message` with a line inside the file; never in an exception. And the work grows with the file:
counted, not timed.
"""

from __future__ import annotations

import sys
import tempfile
from functools import cache
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from app import PROJECT_ROOT
from app.content.catalogue import load_catalogue
from app.content.model import Problem
from app.content.parser import parse_module
from tests.fuzzing import HOSTILE, examples

SNIPPETS = [
    *HOSTILE,
    "[x](a%00b)",
    "![foto](" + "a" * 300 + ".png)",
    "x: " + "[" * 3000,
    "## " + " " * 6000 + "x",
    ":::{reflection}\n:id: r\n:min-words: ²\nVraag?\n:::",
    ":::{check}\n- [x] a\n- [ ] b\n:::",
    "::::{vignette} V\n:id: v\n:::{step} a\nA\n\n- [b](#a)\n  f\n:::\n::::",
    ":::{step} los\n:::",
    "- [ ] geen check",
    "[link](#bestaat-niet)",
    "[link](/absoluut)",
    "[x](mailto:a@b.be)",
    "<div>html</div>",
    "---\n",
    "```\ncode\n",
    "> " * 200 + "diep",
    "[" * 500,
    "*_" * 400,
    ":id: dubbel",
    "{#}",
    "## {#media}",
]


@cache
def shipped_modules() -> list[tuple[str, str]]:
    return [
        (path.parent.name, path.read_text(encoding="utf-8"))
        for path in sorted((PROJECT_ROOT / "modules").glob("*/module.md"))
    ]


mutation = st.tuples(
    st.sampled_from(["insert", "replace", "delete", "duplicate", "truncate"]),
    st.floats(min_value=0, max_value=1),
    st.one_of(st.sampled_from(SNIPPETS), st.text(max_size=80)),
)


def mutate(text: str, mutations: list[tuple[str, float, str]]) -> str:
    lines = text.split("\n")
    for kind, where, payload in mutations:
        at = min(int(where * len(lines)), max(len(lines) - 1, 0))
        if kind == "insert":
            lines.insert(at, payload)
        elif kind == "replace" and lines:
            lines[at] = payload
        elif kind == "delete" and lines:
            del lines[at]
        elif kind == "duplicate" and lines:
            lines[at:at] = lines[at : at + 20]
        elif kind == "truncate":
            lines = lines[: at + 1]
    return "\n".join(lines)


def check_problems(problems: list[Problem], path: Path, line_count: int) -> None:
    for problem in problems:
        assert isinstance(problem, Problem) and problem.path == path
        assert 1 <= problem.line <= line_count + 1, problem
        assert problem.message and "\n" not in problem.message, problem


@examples(250)
@given(source=st.sampled_from(range(7)), mutations=st.lists(mutation, min_size=1, max_size=6), as_bytes=st.booleans())
def test_a_mutated_module_is_checked_into_problems_never_an_exception(source, mutations, as_bytes):
    slug, text = shipped_modules()[source % len(shipped_modules())]
    mutated = mutate(text, mutations)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / slug / "module.md"
        path.parent.mkdir()
        data = mutated.encode("utf-8", "surrogatepass")
        path.write_bytes(
            data[: len(data) // 2] + b"\xff" + data[len(data) // 2 :] if as_bytes and len(data) > 9 else data
        )
        module, problems = parse_module(path)
        check_problems(problems, path, mutated.count("\n") + 1)
        assert module is not None or problems
        catalogue = load_catalogue(Path(folder))  # the same file through the catalogue: never raises
        assert (slug in {m.path.parent.name for m in catalogue.modules.values()}) == (not catalogue.problems)


def _calls(text: str) -> int:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "groei" / "module.md"
        path.parent.mkdir()
        path.write_text(text, encoding="utf-8")
        calls = 0

        def count(frame, event_name, arg):
            nonlocal calls
            if event_name in ("call", "c_call"):
                calls += 1

        sys.setprofile(count)
        try:
            parse_module(path)
        finally:
            sys.setprofile(None)
        return calls


FRONT = (
    "---\ntitle: Groei\nslug: groei\nsummary: Een module die groeit.\nlanguage: nl\nestimated_minutes: 5\n"
    'learning_goals:\n  - Groeien\nauthors:\n  - Test\nversion: "1"\nlicense: CC BY 4.0\n---\n'
)
BLOCKS = {
    "section": "## Sectie {n} {{#sectie-{n}}}\n\nTekst met een [link](#sectie-0) en *nadruk*.\n",
    "check": ":::{{check}} Vraag {n}?\n:id: check-{n}\n- [x] Ja\n  Goed.\n- [ ] Nee\n  Niet goed.\n:::\n",
    "reflection": ":::{{reflection}} Vraag {n}\n:id: reflectie-{n}\n:min-words: 10\nSchrijf iets.\n:::\n",
    "paragraph": "Een alinea {n} met woorden, `code` en een [link](https://example.org/{n}).\n",
    "spaces-heading": "## " + " " * 4000 + "Kop {n}\n\nTekst.\n",
}


@examples(12)
@given(kind=st.sampled_from(sorted(BLOCKS)), count=st.integers(min_value=5, max_value=15))
def test_checking_work_grows_in_proportion_to_the_module(kind, count):
    def module(n: int) -> str:
        body = "".join(BLOCKS[kind].format(n=i) for i in range(n))
        return FRONT + ("## Start {#sectie-0}\n\nBegin.\n\n" if kind != "section" else "") + body

    small, large = _calls(module(count)), _calls(module(count * 4))
    assert large < 6 * small, (kind, count, small, large)
