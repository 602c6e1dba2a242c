"""Rubrics as files (modules/_rubrics/<id>.md), `:rubric:` on prompts, `:::{lecturer}` blocks, and what
`nabij modules check` says about them (issue 20)."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from app.cli import main
from app.content.catalogue import load_catalogue
from app.content.model import REFLECTION_LEVELS
from app.content.rubrics import RubricParser, load_rubrics
from tests.content.moduletools import line_of, parse_clean, rendered_html, write_module

PROJECT_MODULES = Path(__file__).resolve().parent.parent / "modules"

RUBRIC = """\
---
title: Diepgang
title_en: Depth
version: "1.0"
license: CC BY-SA 4.0
---

::::{criterion} Diepgang
:id: diepgang
:title-en: Depth

:::{level} Laag
:id: laag
:title-en: Low
:descriptor-en: Only tells what happened.
:next: Zeg waarom.
:next-en: Say why.

Vertelt alleen wat er gebeurde.
:::

:::{level} Hoog
:id: hoog
:title-en: High
:descriptor-en: Weighs several perspectives.

Weegt meer perspectieven af.
:::
::::
"""

PROMPT = """
## Kennismaken {#kennismaken}

:::{reflection} Jouw eerste indruk
:id: %(prefix)s-indruk
:rubric: %(rubric)s
:level: beschrijvend

Wat viel je op toen Yusuf wegkeek?
:::

::::{lecturer}
Bespreek in de klas: wie kijkt er eigenlijk weg? GEHEIM-VOOR-STUDENTEN

:::{exemplar}
:level: %(level)s

Ik zag dat Yusuf wegkeek en ik ging naast hem zitten.
:::
::::
"""


def write_rubric(root: Path, name: str, text: str = RUBRIC) -> Path:
    folder = root / "_rubrics"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.md"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def problems_of(path: Path) -> list:
    return RubricParser(path).parse()[1]


def test_the_shipped_rubrics_parse_complete_in_dutch_and_english():
    rubrics = load_rubrics(PROJECT_MODULES)
    assert rubrics.problems == []
    hatton = rubrics.get("hatton-smith")
    assert hatton is not None and len(hatton.criteria) == 1
    # The four levels of Hatton & Smith, lowest first, with the ids `:level:` already uses.
    assert [level.id for level in hatton.criteria[0].levels] == list(REFLECTION_LEVELS)
    alact = rubrics.get("alact")
    assert alact is not None and [c.id for c in alact.criteria] == [
        "handelen",
        "terugblikken",
        "bewustwording",
        "alternatieven",
        "uitproberen",
    ]
    for rubric in (hatton, alact):
        assert rubric.title and rubric.title_en and rubric.sources
        for criterion in rubric.criteria:
            assert criterion.title_en
            for level in criterion.levels:
                assert level.descriptor_html and level.descriptor_en_html and level.title_en
                assert level.label("en") == level.title_en and level.label("nl") == level.title
            # Every level but the highest says how to reach the next one.
            assert all(level.next_html and level.next_en_html for level in criterion.levels[:-1])
            assert not criterion.levels[-1].next_html


def test_every_shipped_prompt_names_a_shipped_rubric_and_the_check_is_clean():
    catalogue = load_catalogue(PROJECT_MODULES)
    assert catalogue.problems == [], "\n".join(map(str, catalogue.problems))
    prompts = [r for m in catalogue.modules.values() for r in m.reflections.values()]
    assert len(prompts) >= 30
    assert all(r.rubric in catalogue.rubrics.rubrics for r in prompts), [r.id for r in prompts if not r.rubric]
    result = CliRunner().invoke(main, ["modules", "check", str(PROJECT_MODULES)])
    assert result.exit_code == 0, result.output


def test_the_rubric_folder_is_never_served_as_a_module(tmp_path, client):
    catalogue = load_catalogue(PROJECT_MODULES)
    assert "_rubrics" not in catalogue.modules and all(not s.startswith("_") for s in catalogue.modules)
    assert client.get("/modules/_rubrics").status_code == 404
    assert client.get("/modules/_rubrics/hatton-smith").status_code == 404


def test_a_prompt_can_name_a_rubric_and_keeps_its_intended_level(tmp_path):
    write_rubric(tmp_path, "diepte")
    write_module(tmp_path, "een", PROMPT % {"prefix": "een", "rubric": "diepte", "level": "hoog"})
    catalogue = load_catalogue(tmp_path)
    assert catalogue.problems == [], "\n".join(map(str, catalogue.problems))
    module = catalogue.get("een")
    prompt = module.reflections["een-indruk"]
    assert prompt.rubric == "diepte" and prompt.level == "beschrijvend"
    assert catalogue.rubrics.get("diepte").criteria[0].rank("hoog") == 2


def test_an_unknown_rubric_is_reported_at_the_rubric_line(tmp_path):
    write_rubric(tmp_path, "diepte")
    path = write_module(tmp_path, "een", PROMPT % {"prefix": "een", "rubric": "hatton", "level": "hoog"})
    catalogue = load_catalogue(tmp_path)
    assert "een" not in catalogue.modules
    [problem] = catalogue.problems
    assert problem.path == path and problem.line == line_of(path, ":rubric: hatton")
    assert "'hatton'" in problem.message and "diepte" in problem.message  # names what exists
    result = CliRunner().invoke(main, ["modules", "check", str(tmp_path)])
    assert result.exit_code == 1 and f"{path}:{problem.line}: " in result.output


def test_an_exemplar_must_name_a_level_of_the_prompts_rubric(tmp_path):
    write_rubric(tmp_path, "diepte")
    path = write_module(tmp_path, "een", PROMPT % {"prefix": "een", "rubric": "diepte", "level": "kritisch"})
    [problem] = load_catalogue(tmp_path).problems
    assert problem.line == line_of(path, ":level: kritisch") and "hoog, laag" in problem.message


@pytest.mark.parametrize(
    ("change", "needle", "fragment"),
    [
        (
            lambda t: t.replace(":descriptor-en: Only tells what happened.\n", ""),
            ":::{level} Laag",
            "Engelse beschrijving",
        ),
        (lambda t: t.replace(":id: hoog", ":id: laag"), ":::{level} Hoog", "komt twee keer voor"),
        (lambda t: t.replace(":title-en: Depth\n\n", "\n"), "::::{criterion}", "Engelse titel"),
        (lambda t: t.replace(":next-en: Say why.\n", ""), ":next: Zeg waarom.", "Engelse versie"),
        (lambda t: t.replace(":id: laag", ":id: laag\n:colour: red"), ":colour: red", "onbekende instelling"),
        (lambda t: t.replace('version: "1.0"\n', ""), "title: Diepgang", "'version' ontbreekt"),
        (lambda t: t.replace('version: "1.0"', "version: 1.0"), "version: 1.0", "tekst"),
        (lambda t: t.split(":::{level} Hoog")[0] + "::::\n", "::::{criterion}", "minstens twee niveaus"),
        (
            lambda t: t.replace("Weegt meer perspectieven af.", "Weegt af.\n:next: Nog hoger.\n").replace(
                ":descriptor-en: Weighs several perspectives.",
                ":descriptor-en: Weighs.\n:next: Hoger.\n:next-en: Higher.",
            ),
            ":::{level} Hoog",
            "hoogste niveau",
        ),
        (lambda t: t + "\nLosse tekst.\n", "Losse tekst.", "buiten een {criterion}"),
    ],
)
def test_an_incomplete_rubric_is_reported_with_its_line(tmp_path, change, needle, fragment):
    path = write_rubric(tmp_path, "diepte", change(RUBRIC))
    problems = problems_of(path)
    shown = "\n".join(map(str, problems)) or "(no problems)"
    matching = [p for p in problems if fragment in p.message]
    assert matching, shown
    assert line_of(path, needle) in [p.line for p in matching], shown


def test_a_rubric_file_name_is_its_id_and_must_be_one(tmp_path):
    path = write_rubric(tmp_path, "Diepte Rubric")
    assert any("bestandsnaam" in p.message and p.line == 1 for p in problems_of(path))


def test_a_broken_rubric_is_left_out_and_its_prompts_are_reported(tmp_path):
    write_rubric(tmp_path, "diepte", RUBRIC.replace(":id: hoog", ":id: laag"))
    path = write_module(tmp_path, "een", PROMPT % {"prefix": "een", "rubric": "diepte", "level": "laag"})
    catalogue = load_catalogue(tmp_path)
    assert catalogue.rubrics.get("diepte") is None and "een" not in catalogue.modules
    paths = {problem.path.name for problem in catalogue.problems}
    assert paths == {"diepte.md", "module.md"}
    assert any(p.path == path and p.line == line_of(path, ":rubric: diepte") for p in catalogue.problems)


def test_lecturer_blocks_stay_out_of_the_sections_students_read(tmp_path):
    write_rubric(tmp_path, "diepte")
    path = write_module(tmp_path, "een", PROMPT % {"prefix": "een", "rubric": "diepte", "level": "laag"})
    module = parse_clean(path)
    [note] = module.lecturer_notes
    assert note.prompt_id == "een-indruk" and "GEHEIM-VOOR-STUDENTEN" in note.html
    assert [e.level for e in note.exemplars] == ["laag"] and "naast hem zitten" in note.exemplars[0].html
    assert module.notes_for("een-indruk") == [note]
    assert all(block.kind != "lecturer" for section in module.sections for block in section.blocks)
    assert not any("GEHEIM" in html or "naast hem zitten" in html for _where, html in rendered_html(module))


def test_a_lecturer_block_for_an_unknown_prompt_or_in_the_intro_is_reported(tmp_path):
    path = write_module(
        tmp_path,
        "een",
        [
            """
        ::::{lecturer}
        In de inleiding.
        ::::
        """,
            """
        ## Sectie {#sectie}

        Tekst.

        :::{lecturer}
        :for: bestaat-niet

        Discussiepunt.
        :::
        """,
        ],
    )
    _module, problems = __import__("app.content.parser", fromlist=["parse_module"]).parse_module(path)
    messages = {(p.line, p.message.split(":")[0]) for p in problems}
    assert any(line == line_of(path, "::::{lecturer}") for line, _m in messages), problems
    assert any(p.line == line_of(path, ":for: bestaat-niet") and "bestaat-niet" in p.message for p in problems)


def test_a_section_level_lecturer_block_is_kept_for_the_section(tmp_path):
    path = write_module(
        tmp_path,
        "een",
        """
        ## Sectie {#sectie}

        :::{lecturer}
        Valkuil: studenten denken dat afstand altijd veilig is.
        :::

        Tekst.
        """,
    )
    module = parse_clean(path)
    assert [n.html for n in module.section_notes("sectie")] == [
        "<p>Valkuil: studenten denken dat afstand altijd veilig is.</p>\n"
    ]


def test_the_check_of_one_module_folder_finds_the_rubrics_beside_it(tmp_path):
    shutil.copytree(PROJECT_MODULES / "_rubrics", tmp_path / "_rubrics")
    write_module(tmp_path, "een", PROMPT % {"prefix": "een", "rubric": "hatton-smith", "level": "kritisch"})
    result = CliRunner().invoke(main, ["modules", "check", str(tmp_path / "een")])
    assert result.exit_code == 0, result.output


def test_lecturer_blocks_do_not_count_towards_the_study_time(tmp_path):
    body = """
        ## Sectie {#sectie}

        Een twee drie vier vijf.

        ::::{lecturer}
        Zes zeven acht negen tien elf twaalf.

        :::{exemplar}
        :level: kritisch

        Dertien veertien vijftien.
        :::
        ::::
        """
    assert (
        parse_clean(write_module(tmp_path, "een", body)).words
        == parse_clean(write_module(tmp_path, "twee", body.split("::::{lecturer}")[0])).words
    )
