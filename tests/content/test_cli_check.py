"""`nabij modules check`: what a lecturer sees in the terminal, and what a script gets with --json."""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner

from app.cli import main
from tests.content.moduletools import line_of, write_module, write_raw

GOOD = """
Deze module gaat over nabijheid.

## Kennismaken {#kennismaken}

Yusuf (14) woont sinds twee weken in de leefgroep. Als jij binnenkomt, kijkt hij weg.

:::{reflection} Jouw eerste indruk
:id: {prefix}-indruk
:level: beschrijvend

Wat viel je op toen Yusuf wegkeek?
:::

::::{vignette} Sanne stuurt een bericht
:id: {prefix}-sanne

Sanne (15) stuurt je 's avonds een bericht.

:::{step} bericht
Wat doe je?

- [Je belt terug.](#einde)

  Sanne klinkt opgelucht.
:::

:::{ending} einde
Het team maakt afspraken.
:::
::::

:::{check} Wie beschreef de werkalliantie?
:id: {prefix}-alliantie

- [x] Edward Bordin.

  Juist.

- [ ] Carl Rogers.

  Rogers beschreef de basishoudingen.
:::

## Bronnen {#bronnen}

Bordin, E. S. (1979).
"""

LINE = re.compile(r"^(?P<path>.+/(?P<slug>[a-z0-9-]+)/module\.md):(?P<line>\d+): (?P<message>.+)$")


def good(prefix: str) -> str:
    return GOOD.replace("{prefix}", prefix)


def run(*args: str):
    result = CliRunner().invoke(main, ["modules", "check", *map(str, args)])
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def problem_lines(result) -> list[dict]:
    """Every `path:line: message` line on standard output, parsed."""
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    parsed = [LINE.match(line) for line in lines]
    assert all(parsed), f"not every output line is path:line: message:\n{result.stdout}"
    return [{**m.groupdict(), "line": int(m["line"])} for m in parsed]


@pytest.fixture
def modules(tmp_path):
    folder = tmp_path / "modules"
    write_module(folder, "eerste-module", good("eerste"))
    write_module(folder, "tweede-module", good("tweede"))
    return folder


def test_a_clean_folder_exits_0_and_prints_no_problems(modules):
    result = run(modules)
    assert result.exit_code == 0
    assert result.stdout.strip() == ""
    assert "2 module(s) gecontroleerd, 0 probleem/problemen" in result.stderr


def test_broken_yaml_is_printed_as_path_line_message_and_exits_1(modules):
    path = write_module(
        modules,
        "kapotte-yaml",
        good("yaml"),
        front="""
        title: Kapotte voorpagina
        slug: kapotte-yaml
        summary: Nabijheid: wat is dat?
    """,
    )
    result = run(modules)
    assert result.exit_code == 1
    [problem] = problem_lines(result)
    assert problem["path"] == str(path)
    assert problem["line"] == line_of(path, "summary:") == 4
    assert "ongeldige YAML" in problem["message"]
    assert "3 module(s) gecontroleerd, 1 probleem/problemen" in result.stderr


def test_duplicate_ids_are_printed_with_the_line_of_the_second_use(modules):
    path = write_module(modules, "dubbel", good("dubbel").replace(":id: dubbel-alliantie", ":id: dubbel-indruk"))
    result = run(modules)
    assert result.exit_code == 1
    [problem] = problem_lines(result)
    assert problem["slug"] == "dubbel"
    assert problem["line"] == line_of(path, ":id: dubbel-indruk", 2)
    assert "id 'dubbel-indruk' komt twee keer voor" in problem["message"]


def test_an_id_taken_by_another_module_is_printed_for_the_later_module(modules):
    path = write_module(modules, "zzz-kopie", good("eerste"))
    result = run(modules)
    assert result.exit_code == 1
    problems = problem_lines(result)
    assert {p["slug"] for p in problems} == {"zzz-kopie"}
    assert {p["line"] for p in problems} == {
        line_of(path, ":::{reflection}"),
        line_of(path, "::::{vignette}"),
        line_of(path, ":::{check}"),
    }
    assert all("wordt al gebruikt in eerste-module/module.md" in p["message"] for p in problems)


def test_a_script_tag_is_printed_and_exits_1(modules):
    path = write_module(
        modules,
        "met-script",
        good("script").replace("Wat viel je op toen Yusuf wegkeek?", "Wat viel je op?\n<script>alert('hoi')</script>"),
    )
    result = run(modules)
    assert result.exit_code == 1
    [problem] = problem_lines(result)
    assert problem["path"] == str(path)
    assert problem["line"] == line_of(path, "<script>")
    assert "HTML is niet toegestaan" in problem["message"]


def test_json_gives_a_summary_per_module_and_every_error(modules):
    extra_choice = "(#eind)\n\n  Je belt.\n\n- [Je wacht.](#einde)"  # one choice to an unknown step
    broken = write_module(modules, "met-fout", good("fout").replace("(#einde)", extra_choice))
    write_raw(modules, "geen-voorpagina", "## Alleen een sectie\n\nTekst.\n")

    result = run(modules, "--json")

    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert set(report) == {"modules", "errors"}
    required = {"slug", "title", "sections", "prompts", "vignettes", "checks", "words", "errors"}
    for entry in report["modules"]:
        assert required <= set(entry), entry
    by_slug = {entry["slug"]: entry for entry in report["modules"]}
    assert set(by_slug) == {"eerste-module", "tweede-module", "met-fout", "geen-voorpagina"}

    first = by_slug["eerste-module"]
    assert first["title"] == "Nabijheid in de leefgroep"
    assert (first["sections"], first["prompts"], first["vignettes"], first["checks"]) == (2, 1, 1, 1)
    assert first["words"] > 40
    assert first["errors"] == []

    for error in report["errors"]:
        assert set(error) == {"path", "line", "message"}
        assert isinstance(error["line"], int) and error["line"] >= 1
    assert {(e["path"], e["line"]) for e in by_slug["met-fout"]["errors"]} == {
        (str(broken), line_of(broken, "(#eind)")),
    }
    assert "verwijst naar onbekende stap 'eind'" in by_slug["met-fout"]["errors"][0]["message"]
    assert by_slug["geen-voorpagina"]["title"] is None
    assert by_slug["geen-voorpagina"]["errors"][0]["line"] == 1
    assert sorted(map(json.dumps, report["errors"])) == sorted(
        json.dumps(e) for entry in report["modules"] for e in entry["errors"]
    )


def test_json_for_a_clean_folder_exits_0(modules):
    result = run(modules, "--json")
    assert result.exit_code == 0
    report = json.loads(result.stdout)
    assert report["errors"] == []
    assert [m["slug"] for m in report["modules"]] == ["eerste-module", "tweede-module"]


def test_a_folder_that_does_not_exist_gives_a_clear_message(tmp_path):
    missing = tmp_path / "bestaat-niet"
    result = run(missing)
    assert result.exit_code not in (0, 1)
    assert f"{missing}: map bestaat niet" in result.stderr
    assert result.stdout == ""


def test_a_single_module_folder_can_be_checked(modules):
    result = run(modules / "eerste-module")
    assert result.exit_code == 0
    assert "1 module(s) gecontroleerd, 0 probleem/problemen" in result.stderr


def test_a_single_broken_module_folder_reports_its_problems(modules):
    path = write_module(modules, "met-fout", good("fout").replace(":level: beschrijvend", ":level: diep"))
    result = run(modules / "met-fout")
    assert result.exit_code == 1
    [problem] = problem_lines(result)
    assert problem["path"] == str(path)
    assert problem["line"] == line_of(path, ":level: diep")
    assert "onbekend niveau 'diep'" in problem["message"]


def test_a_module_with_problems_does_not_stop_the_others_from_being_checked(modules):
    write_module(modules, "aaa-kapot", good("kapot"), front={"estimated_minutes": "veel"})
    result = run(modules, "--json")
    report = json.loads(result.stdout)
    errors = {m["slug"]: m["errors"] for m in report["modules"]}
    assert errors["aaa-kapot"] and errors["eerste-module"] == [] and errors["tweede-module"] == []
