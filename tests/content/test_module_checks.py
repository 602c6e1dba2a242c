"""What `nabij modules check` tells a lecturer about a module, rule by rule.

Each story writes a small module to a temporary folder, with valid front matter unless the story is
about the front matter, and expects one problem on the exact line a lecturer has to fix, with a
recognisable part of the Dutch message. The second half shows what a valid module turns into.
"""

from __future__ import annotations

import re
import textwrap

import pytest

from app import PROJECT_ROOT
from app.content.catalogue import load_catalogue
from app.content.checking import check_directory
from app.content.model import Problem
from app.content.parser import prompt_hash
from tests.content.moduletools import (
    PNG,
    REMOVE,
    expect_problem,
    line_of,
    parse,
    parse_clean,
    rendered_html,
    write_module,
    write_raw,
)

SLUG = "nabijheid-test"

SECTION = """
## Kennismaken {#kennismaken}

Yusuf (14) woont sinds twee weken in de leefgroep.
"""


def vignette(*steps: str) -> str:
    """A branching vignette `sanne-bericht` around the given `:::{step}` and `:::{ending}` blocks."""
    return (
        "::::{vignette} Sanne stuurt 's avonds een bericht\n"
        ":id: sanne-bericht\n\n"
        "Sanne (15) woont sinds drie maanden in de leefgroep. Jij bent haar mentor.\n\n"
        + "\n".join(textwrap.dedent(step).strip() + "\n" for step in steps)
        + "::::\n"
    )


ENDING = """
:::{ending} einde
Het team spreekt af hoe jongeren 's avonds iemand kunnen bereiken die ze kennen.
:::
"""


# -- front matter -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "## Kennismaken\n\nGeen voorpagina.\n",
        "# Nabijheid\n\n---\ntitle: Nabijheid\n---\n## Kennismaken\n\nDe voorpagina staat niet bovenaan.\n",
    ],
    ids=["no-front-matter", "title-above-the-front-matter"],
)
def test_a_module_without_front_matter_is_reported_on_line_1(tmp_path, text):
    path = write_raw(tmp_path, SLUG, text)
    expect_problem(path, 1, "voorpagina ontbreekt")
    module, _ = parse(path)
    assert module is None


def test_invalid_yaml_is_reported_on_the_line_of_the_yaml_error(tmp_path):
    path = write_module(
        tmp_path,
        SLUG,
        SECTION,
        front=f"""
        title: Nabijheid in de leefgroep
        slug: {SLUG}
        summary: Nabijheid: wat is dat eigenlijk?
        language: nl
    """,
    )
    problem = expect_problem(path, 4, "ongeldige YAML")
    assert line_of(path, "summary:") == 4
    assert problem.message.startswith("voorpagina:")


@pytest.mark.parametrize("field", ["title", "slug"])
def test_a_missing_required_field_is_reported_at_the_start_of_the_front_matter(tmp_path, field):
    path = write_module(tmp_path, SLUG, SECTION, front={field: REMOVE})
    expect_problem(path, 2, f"'{field}' ontbreekt")


@pytest.mark.parametrize(
    ("field", "value", "fragment"),
    [
        ("estimated_minutes", "dertig minuten", "'estimated_minutes' moet een geheel getal zijn"),
        ("estimated_minutes", "45", "'estimated_minutes' moet een geheel getal zijn"),
        ("learning_goals", "Je leert iets over nabijheid.", "'learning_goals' moet een lijst zijn"),
    ],
    ids=["minutes-as-words", "minutes-as-quoted-text", "goals-not-a-list"],
)
def test_a_field_of_the_wrong_type_is_reported_on_its_line(tmp_path, field, value, fragment):
    path = write_module(tmp_path, SLUG, SECTION, front={field: value})
    expect_problem(path, line_of(path, f"{field}:"), fragment)


@pytest.mark.parametrize("version", [1.0, 2], ids=["float", "int"])
def test_a_version_written_as_a_number_must_be_quoted(tmp_path, version):
    path = write_module(tmp_path, SLUG, SECTION, front={"version": version})
    expect_problem(path, line_of(path, "version:"), "'version' moet tussen aanhalingstekens staan")


def test_a_slug_different_from_the_folder_name_is_reported_on_the_slug_line(tmp_path):
    path = write_module(tmp_path, SLUG, SECTION, front={"slug": "andere-module"})
    problem = expect_problem(path, line_of(path, "slug: andere-module"), "moet gelijk zijn aan de mapnaam")
    assert f"'{SLUG}'" in problem.message


# -- ids ----------------------------------------------------------------------------------------


def test_an_id_used_twice_in_one_module_is_reported_at_the_second_use(tmp_path):
    path = write_module(
        tmp_path,
        SLUG,
        [
            SECTION,
            """
        :::{reflection} Jouw eerste indruk
        :id: dubbel

        Wat viel je op toen Yusuf wegkeek?
        :::

        :::{check} Wat zegt wegkijken?
        :id: dubbel

        - [x] Niet meteen iets: vraag het hem.

          Juist, gedrag heeft vele betekenissen.

        - [ ] Dat hij je niet vertrouwt.

          Dat weet je nog niet.
        :::
    """,
        ],
    )
    first, second = line_of(path, ":id: dubbel", 1), line_of(path, ":id: dubbel", 2)
    problem = expect_problem(path, second, "id 'dubbel' komt twee keer voor in deze module")
    assert f"(ook op regel {first})" in problem.message


def test_an_id_used_in_two_modules_is_reported_in_the_second_which_is_not_served(tmp_path):
    body = [
        SECTION,
        """
        :::{reflection} Jouw eerste indruk
        :id: gedeelde-vraag

        Wat viel je op?
        :::
    """,
    ]
    first = write_module(tmp_path, "a-module", body)
    second = write_module(tmp_path, "b-module", body)
    # Each module on its own is fine; only the catalogue sees both.
    parse_clean(first)
    parse_clean(second)

    catalogue = load_catalogue(tmp_path)

    assert catalogue.problems == [
        Problem(
            second,
            line_of(second, ":::{reflection}"),
            "id 'gedeelde-vraag' wordt al gebruikt in a-module/module.md",
        )
    ]
    assert "a-module" in catalogue.modules
    assert "b-module" not in catalogue.modules
    assert list(catalogue.broken) == [second]
    assert [m.slug for m in catalogue.published()] == ["a-module"]


# -- blocks and options -------------------------------------------------------------------------


def test_an_unknown_block_is_reported_on_its_opening_line(tmp_path):
    path = write_module(
        tmp_path,
        SLUG,
        [
            SECTION,
            """
        :::{quiz} Test je kennis
        :id: quiz-een

        Wat is nabijheid?
        :::
    """,
        ],
    )
    expect_problem(path, line_of(path, ":::{quiz}"), "onbekend blok '{quiz}'")


def test_an_unknown_setting_is_reported_on_its_line(tmp_path):
    path = write_module(
        tmp_path,
        SLUG,
        [
            SECTION,
            """
        :::{reflection} Jouw eerste indruk
        :id: eerste-indruk
        :kleur: rood

        Wat viel je op toen Yusuf wegkeek?
        :::
    """,
        ],
    )
    problem = expect_problem(path, line_of(path, ":kleur: rood"), "onbekende instelling ':kleur:'")
    assert ":guidance:" in problem.message  # it lists what is allowed


# -- branching vignettes ------------------------------------------------------------------------


def test_a_choice_without_feedback_is_reported_on_the_choice(tmp_path):
    path = write_module(
        tmp_path,
        SLUG,
        [
            SECTION,
            vignette(
                """
        :::{step} bericht
        Het is 22.30 uur. Sanne vraagt of ze je even kan bellen.

        - [Je belt haar meteen terug.](#einde)

          Sanne klinkt opgelucht.

        - [Je reageert niet.](#einde)
        :::
    """,
                ENDING,
            ),
        ],
    )
    expect_problem(path, line_of(path, "[Je reageert niet.]"), "keuze 'Je reageert niet.' heeft geen feedback")


def test_a_choice_pointing_to_an_unknown_step_is_reported_on_the_choice(tmp_path):
    path = write_module(
        tmp_path,
        SLUG,
        [
            SECTION,
            vignette(
                """
        :::{step} bericht
        Het is 22.30 uur. Sanne vraagt of ze je even kan bellen.

        - [Je belt haar meteen terug.](#gesprekk)

          Sanne klinkt opgelucht.

        - [Je antwoordt morgen.](#einde)

          Sanne stuurt een duim.
        :::
    """,
                ENDING,
            ),
        ],
    )
    expect_problem(
        path, line_of(path, "(#gesprekk)"), "keuze 'Je belt haar meteen terug.' verwijst naar onbekende stap 'gesprekk'"
    )


def test_a_step_no_choice_leads_to_is_unreachable(tmp_path):
    path = write_module(
        tmp_path,
        SLUG,
        [
            SECTION,
            vignette(
                """
        :::{step} bericht
        Het is 22.30 uur. Sanne vraagt of ze je even kan bellen.

        - [Je belt haar meteen terug.](#einde)

          Sanne klinkt opgelucht.
        :::

        :::{step} vergeten
        Niemand komt ooit hier.

        - [Verder.](#einde)

          Het verhaal gaat verder.
        :::
    """,
                ENDING,
            ),
        ],
    )
    expect_problem(path, line_of(path, ":::{step} vergeten"), "stap 'vergeten' is onbereikbaar")


def test_a_step_without_choices_is_a_dead_end(tmp_path):
    path = write_module(
        tmp_path,
        SLUG,
        [
            SECTION,
            vignette(
                """
        :::{step} bericht
        Het is 22.30 uur. Sanne vraagt of ze je even kan bellen.

        - [Je belt haar meteen terug.](#gesprek)

          Sanne klinkt opgelucht.

        - [Je antwoordt morgen.](#einde)

          Sanne stuurt een duim.
        :::

        :::{step} gesprek
        Sanne vertelt over de ruzie met haar moeder.
        :::
    """,
                ENDING,
            ),
        ],
    )
    expect_problem(path, line_of(path, ":::{step} gesprek"), "stap 'gesprek' loopt dood")


def test_a_vignette_without_an_ending_is_reported_on_its_opening_line(tmp_path):
    path = write_module(
        tmp_path,
        SLUG,
        [
            SECTION,
            vignette("""
        :::{step} bericht
        Het is 22.30 uur. Sanne vraagt of ze je even kan bellen.

        - [Je belt terug.](#gesprek)

          Sanne klinkt opgelucht.
        :::

        :::{step} gesprek
        Sanne vertelt over de ruzie.

        - [Je vraagt of ze morgen weer belt.](#bericht)

          Ze belt de volgende avond weer.
        :::
    """),
        ],
    )
    expect_problem(path, line_of(path, "::::{vignette}"), "de casus heeft geen {ending}", alone=False)


def test_a_loop_without_a_way_out_is_reported_on_every_step_in_it(tmp_path):
    path = write_module(
        tmp_path,
        SLUG,
        [
            SECTION,
            vignette(
                """
        :::{step} bericht
        Het is 22.30 uur. Sanne vraagt of ze je even kan bellen.

        - [Je belt terug.](#gesprek)

          Sanne klinkt opgelucht.

        - [Je antwoordt morgen.](#einde)

          Sanne stuurt een duim.
        :::

        :::{step} gesprek
        Sanne vertelt over de ruzie.

        - [Je vraagt door.](#doorvragen)

          Ze vertelt meer.
        :::

        :::{step} doorvragen
        Het gesprek draait in cirkels.

        - [Je begint opnieuw.](#gesprek)

          Jullie beginnen opnieuw.
        :::
    """,
                ENDING,
            ),
        ],
    )
    _, problems = parse(path)
    no_way_out = "vanaf stap '{}' is geen einde bereikbaar (een lus zonder uitweg)"
    assert [(p.line, p.message) for p in problems] == [
        (line_of(path, ":::{step} gesprek"), no_way_out.format("gesprek")),
        (line_of(path, ":::{step} doorvragen"), no_way_out.format("doorvragen")),
    ]


# -- knowledge checks ---------------------------------------------------------------------------


def test_a_check_without_a_correct_option_is_reported_on_its_opening_line(tmp_path):
    path = write_module(
        tmp_path,
        SLUG,
        [
            SECTION,
            """
        :::{check} Welke drie elementen vormen volgens Bordin de werkalliantie?
        :id: bordin-elementen

        - [ ] Empathie, echtheid en acceptatie.

          Die basishoudingen komen van Carl Rogers.

        - [ ] Nabijheid, afstand en grenzen.

          Die woorden gebruikt Bordin niet.
        :::
    """,
        ],
    )
    expect_problem(path, line_of(path, ":::{check}"), "heeft geen juist antwoord")


def test_an_option_without_feedback_is_reported_on_the_option(tmp_path):
    path = write_module(
        tmp_path,
        SLUG,
        [
            SECTION,
            """
        :::{check} Welke drie elementen vormen volgens Bordin de werkalliantie?
        :id: bordin-elementen

        - [x] Doelen, taken en een band.

          Juist.

        - [ ] Empathie, echtheid en acceptatie.
        :::
    """,
        ],
    )
    expect_problem(path, line_of(path, "- [ ] Empathie"), "antwoordmogelijkheid zonder feedback")


def test_a_check_needs_at_least_two_options(tmp_path):
    path = write_module(
        tmp_path,
        SLUG,
        [
            SECTION,
            """
        :::{check} Welke drie elementen vormen volgens Bordin de werkalliantie?
        :id: bordin-elementen

        - [x] Doelen, taken en een band.

          Juist.
        :::
    """,
        ],
    )
    expect_problem(path, line_of(path, ":::{check}"), "minstens twee antwoordmogelijkheden")


# -- links and images ---------------------------------------------------------------------------


def test_a_broken_relative_link_is_reported_on_its_own_line_in_a_paragraph(tmp_path):
    path = write_module(
        tmp_path,
        SLUG,
        [
            SECTION,
            """
        Lees voor je begint de afspraken van de leefgroep
        in [het groepsreglement](groepsreglement.pdf), en bespreek ze met je mentor.
    """,
        ],
    )
    expect_problem(path, line_of(path, "(groepsreglement.pdf)"), f"link 'groepsreglement.pdf' bestaat niet in {SLUG}/")


def test_a_missing_image_is_reported(tmp_path):
    path = write_module(
        tmp_path,
        SLUG,
        [
            SECTION,
            """
        ![Tijdlijn van de jeugdzorg](tijdlijn.png)
    """,
        ],
    )
    expect_problem(path, line_of(path, "![Tijdlijn"), f"afbeelding 'tijdlijn.png' bestaat niet in {SLUG}/")


def test_an_image_without_alt_text_is_reported(tmp_path):
    path = write_module(
        tmp_path,
        SLUG,
        [
            SECTION,
            """
        Zo zag de leefgroep er in 1970 uit:

        ![](tijdlijn.png)
    """,
        ],
        files={"tijdlijn.png": PNG},
    )
    expect_problem(path, line_of(path, "![](tijdlijn.png)"), "heeft geen beschrijving (alt-tekst)")


def test_a_link_to_an_unknown_section_is_reported(tmp_path):
    path = write_module(
        tmp_path,
        SLUG,
        [
            SECTION,
            """
        Meer daarover lees je [verderop](#verderop).
    """,
        ],
    )
    expect_problem(path, line_of(path, "(#verderop)"), "verwijst naar een onbekende sectie 'verderop'")


@pytest.mark.parametrize("target", ["/login", "//example.org/pagina"], ids=["absolute-path", "protocol-relative"])
def test_a_link_to_an_absolute_path_is_not_allowed(tmp_path, target):
    path = write_module(
        tmp_path,
        SLUG,
        [
            SECTION,
            f"""
        Log eerst [hier]({target}) in.
    """,
        ],
    )
    expect_problem(path, line_of(path, f"({target})"), "gebruik een volledige link (https://…)")


def test_a_link_with_another_protocol_is_not_allowed(tmp_path):
    path = write_module(
        tmp_path,
        SLUG,
        [
            SECTION,
            """
        Het archief staat op [de oude server](ftp://example.org/archief).
    """,
        ],
    )
    expect_problem(path, line_of(path, "(ftp://"), "gebruikt een niet-toegelaten protocol")


# -- HTML and headings --------------------------------------------------------------------------


def test_a_script_block_is_reported(tmp_path):
    path = write_module(
        tmp_path,
        SLUG,
        [
            SECTION,
            """
        <script>alert('hallo')</script>
    """,
        ],
    )
    expect_problem(path, line_of(path, "<script>"), "HTML is niet toegestaan")


def test_inline_html_is_reported_on_its_own_line(tmp_path):
    path = write_module(
        tmp_path,
        SLUG,
        [
            SECTION,
            """
        Een begeleider is geen vriend,
        maar wel <b>iemand die er is</b>.
    """,
        ],
    )
    expect_problem(path, line_of(path, "<b>"), "HTML is niet toegestaan")


def test_a_level_1_heading_is_reported(tmp_path):
    path = write_module(
        tmp_path,
        SLUG,
        [
            """
        # Nabijheid in de leefgroep

        Deze module gaat over nabijheid.
    """,
            SECTION,
        ],
    )
    expect_problem(path, line_of(path, "# Nabijheid"), "gebruik geen kop '#'")


# -- reflections --------------------------------------------------------------------------------


@pytest.mark.parametrize("later", [False, True], ids=["unknown-vignette", "vignette-comes-later"])
def test_refers_to_needs_a_vignette_earlier_in_the_module(tmp_path, later):
    reflection = """
        :::{reflection} Terugblik
        :id: terugblik
        :refers-to: yusuf-kijkt-weg

        Kijk terug op wat je deed.
        :::
    """
    vignette_text = """
        :::{vignette} Yusuf kijkt weg
        :id: yusuf-kijkt-weg

        Als jij binnenkomt, kijkt Yusuf weg.
        :::
    """
    path = write_module(tmp_path, SLUG, [SECTION, reflection, vignette_text if later else ""])
    expect_problem(
        path,
        line_of(path, ":refers-to:"),
        "':refers-to:' verwijst naar 'yusuf-kijkt-weg', maar er staat geen casus met dat id eerder",
    )


def test_refers_to_a_vignette_earlier_in_the_module_is_fine(tmp_path):
    path = write_module(
        tmp_path,
        SLUG,
        [
            SECTION,
            """
        :::{vignette} Yusuf kijkt weg
        :id: yusuf-kijkt-weg

        Als jij binnenkomt, kijkt Yusuf weg.
        :::

        :::{reflection} Terugblik
        :id: terugblik
        :refers-to: yusuf-kijkt-weg

        Kijk terug op wat je deed.
        :::
    """,
        ],
    )
    assert parse_clean(path).reflections["terugblik"].refers_to == "yusuf-kijkt-weg"


def test_a_reflection_without_a_question_is_reported_on_its_opening_line(tmp_path):
    path = write_module(
        tmp_path,
        SLUG,
        [
            SECTION,
            """
        :::{reflection} Jouw eerste indruk
        :id: eerste-indruk
        :level: beschrijvend
        :::
    """,
        ],
    )
    expect_problem(path, line_of(path, ":::{reflection}"), "{reflection} heeft geen vraag")


def test_an_unknown_reflection_level_is_reported(tmp_path):
    path = write_module(
        tmp_path,
        SLUG,
        [
            SECTION,
            """
        :::{reflection} Jouw eerste indruk
        :id: eerste-indruk
        :level: diep

        Wat viel je op?
        :::
    """,
        ],
    )
    problem = expect_problem(path, line_of(path, ":level: diep"), "onbekend niveau 'diep'")
    assert "beschrijvend-reflectief" in problem.message


def test_min_words_must_be_a_number(tmp_path):
    path = write_module(
        tmp_path,
        SLUG,
        [
            SECTION,
            """
        :::{reflection} Jouw eerste indruk
        :id: eerste-indruk
        :min-words: tachtig

        Wat viel je op?
        :::
    """,
        ],
    )
    expect_problem(path, line_of(path, ":min-words:"), "':min-words:' moet een geheel getal zijn, niet 'tachtig'")


# -- links in feedback and guidance are checked like any other link ------------------------------


def test_a_broken_link_in_feedback_right_under_an_option_is_reported(tmp_path):
    path = write_module(
        tmp_path,
        SLUG,
        [
            SECTION,
            """
        :::{check} Wie beschreef de werkalliantie?
        :id: alliantie-auteur

        - [x] Edward Bordin.
          Juist, lees ook [zijn artikel](bordin.pdf).
        - [ ] Carl Rogers.
          Nee, Rogers beschreef de basishoudingen.
        :::
    """,
        ],
    )
    expect_problem(path, line_of(path, "(bordin.pdf)"), "link 'bordin.pdf' bestaat niet")


def test_a_broken_link_in_feedback_right_under_a_choice_is_reported(tmp_path):
    path = write_module(
        tmp_path,
        SLUG,
        [
            SECTION,
            vignette(
                """
        :::{step} bericht
        Sanne vraagt of ze je even kan bellen.

        - [Je belt terug.](#einde)
          Sanne klinkt opgelucht; zie ook [het protocol](protocol.pdf).
        :::
    """,
                ENDING,
            ),
        ],
    )
    expect_problem(path, line_of(path, "(protocol.pdf)"), "link 'protocol.pdf' bestaat niet")


def test_a_broken_link_in_guidance_is_reported(tmp_path):
    path = write_module(
        tmp_path,
        SLUG,
        [
            SECTION,
            """
        :::{reflection}
        :id: eerste-indruk
        :guidance: Gebruik [het model](reflectiemodel.pdf).

        Wat viel je op?
        :::
    """,
        ],
    )
    expect_problem(path, line_of(path, ":guidance:"), "link 'reflectiemodel.pdf' bestaat niet")


# ================================================================================================
# What a valid module becomes
# ================================================================================================

# The complete example of modules/README.md, put together as one module, with a closing Bronnen section.
README_EXAMPLE = """
Misschien kreeg je het al te horen: hou professionele afstand. Deze module onderzoekt die spanning.

![Tijdlijn van professionele afstand](tijdlijn.png)

## Waar komt 'professionele afstand' vandaan? {#herkomst}

Gewone Markdown werkt zoals je gewend bent: **vet**, *cursief*, lijsten en [links](https://example.org).

> Een citaat van een jongere.

:::{reflection} Jouw eerste indruk
:id: afstand-eerste-indruk
:level: beschrijvend
:min-words: 80
:guidance: Beschrijf eerst wat er gebeurde en wat je zelf deed, pas daarna wat je ervan vond.

Denk aan een moment waarop een begeleider (of jij zelf) bewust afstand hield van een jongere.
Wat gebeurde er, en hoe reageerde de jongere?
:::

## Casussen {#casussen}

:::{vignette} Yusuf kijkt weg
:id: yusuf-kijkt-weg

Yusuf (14) woont sinds twee weken in de leefgroep. Als jij binnenkomt, kijkt hij weg …
:::

::::{vignette} Sanne stuurt 's avonds een bericht
:id: sanne-bericht
:start: bericht

Sanne (15) woont sinds drie maanden in de leefgroep. Jij bent haar mentor.

:::{step} bericht
Het is 22.30 uur. Sanne stuurt je een bericht op je privénummer: “Kan ik je even bellen?”

- [Je belt haar meteen terug.](#gesprek)

  Sanne klinkt opgelucht. Ze vertelt dat ze ruzie had met haar moeder. De volgende dag vraagt een
  collega waarom Sanne jouw privénummer heeft.

- [Je antwoordt dat je morgen op de groep tijd voor haar maakt.](#volgende-dag)

  Sanne stuurt een duim. Je weet niet of ze vannacht iemand nodig had.
:::

:::{step} gesprek
De teamleider vraagt je wat je afspraken met Sanne zijn.

- [Je bespreekt het open in het teamoverleg.](#einde-team)

  Je collega's herkennen het: meer jongeren sturen berichten na de dienst.
:::

:::{step} volgende-dag
Sanne komt na school meteen naar je toe.

- [Je neemt de tijd en vraagt wat er gisteravond was.](#einde-team)

  Ze vertelt over de ruzie. “Ik wist niet of ik de nachtdienst mocht storen.”
:::

:::{ending} einde-team
Het team spreekt af hoe jongeren ’s avonds iemand kunnen bereiken die ze kennen.
:::
::::

:::{reflection} Jouw keuze bij Sanne
:id: sanne-terugblik
:level: dialogisch
:refers-to: sanne-bericht

Kijk terug op de weg die je koos. Wat zou je team ervan vinden?
:::

## Theorie {#theorie}

:::{check} Welke drie elementen vormen volgens Bordin de werkalliantie?
:id: bordin-elementen

- [x] Overeenstemming over doelen, over taken en een affectieve band.

  Juist. Bordin beschrijft de werkalliantie als overeenstemming over doelen en taken, gedragen door een band.

- [ ] Empathie, echtheid en onvoorwaardelijke acceptatie.

  Die drie basishoudingen komen van Carl Rogers, niet van Bordin.
:::

:::{note} Begrip: presentie
Andries Baart beschrijft presentie als …
:::

Terug naar [de herkomst](#herkomst).

## Bronnen {#bronnen}

- Baart, A. (2001). *Een theorie van de presentie*. Utrecht: Lemma.
- Bordin, E. S. (1979). The generalizability of the psychoanalytic concept of the working alliance.
"""

README_FRONT = """
title: Van professionele afstand naar professionele nabijheid
slug: van-afstand-naar-nabijheid
summary: Wat jongeren in de jeugdhulp zeggen nodig te hebben, en wat 'professionele afstand' kost.
language: nl
estimated_minutes: 45
order: 1
learning_goals:
  - Je beschrijft wat jongeren in de jeugdhulp van hun begeleiders verwachten.
  - Je legt uit waar het idee van professionele afstand vandaan komt.
authors:
  - Nabij-redactie
version: "1.0"
license: CC BY-SA 4.0
"""


@pytest.fixture
def example(tmp_path):
    """The README's complete example, as a module folder with its image."""
    return write_module(
        tmp_path, "van-afstand-naar-nabijheid", README_EXAMPLE, front=README_FRONT, files={"tijdlijn.png": PNG}
    )


def test_the_complete_example_from_the_author_guide_has_no_problems(example):
    module = parse_clean(example)
    assert module.slug == "van-afstand-naar-nabijheid"
    assert module.title == "Van professionele afstand naar professionele nabijheid"
    assert module.language == "nl"
    assert module.estimated_minutes == 45
    assert module.order == 1
    assert module.version == "1.0"
    assert module.draft is False
    assert len(module.learning_goals) == 2
    assert [s.id for s in module.sections] == ["herkomst", "casussen", "theorie", "bronnen"]
    assert set(module.reflections) == {"afstand-eerste-indruk", "sanne-terugblik"}
    assert set(module.vignettes) == {"yusuf-kijkt-weg", "sanne-bericht"}
    assert set(module.checks) == {"bordin-elementen"}
    assert [v.id for v in module.branching_vignettes()] == ["sanne-bericht"]
    assert module.words > 300
    assert check_directory(example.parent.parent)["errors"] == []


def test_the_examples_in_the_author_guide_itself_are_valid_module_content(tmp_path):
    """The ```yaml and ```markdown blocks of modules/README.md, pasted into one module, are valid."""
    guide = (PROJECT_ROOT / "modules" / "README.md").read_text(encoding="utf-8")
    yaml_blocks = re.findall(r"^```yaml\n(.*?)^```$", guide, flags=re.MULTILINE | re.DOTALL)
    markdown_blocks = re.findall(r"^```markdown\n(.*?)^```$", guide, flags=re.MULTILINE | re.DOTALL)
    assert len(yaml_blocks) == 1 and len(markdown_blocks) >= 5
    front = yaml_blocks[0].strip()
    assert front.startswith("---\n") and front.endswith("\n---")
    slug = re.search(r"^slug: (.+)$", front, flags=re.MULTILINE).group(1).strip()
    body = "\n".join(markdown_blocks)
    if not body.lstrip().startswith("## "):
        body = "## Voorbeeld\n\n" + body
    path = write_raw(tmp_path, slug, front + "\n" + body + "\n## Bronnen {#bronnen}\n\nBaart (2001).\n")
    module = parse_clean(path)
    assert module.vignettes and module.checks and module.reflections


def test_section_ids_come_from_braces_or_from_the_heading(tmp_path):
    path = write_module(
        tmp_path,
        SLUG,
        """
        ## Waar komt 'professionele afstand' vandaan? {#herkomst}

        Tekst.

        ## Cliëntgericht werken in het team

        Tekst.

        ## Wat jongeren *zeggen* nodig te hebben?!

        Tekst.
    """,
    )
    module = parse_clean(path)
    assert [(s.id, s.title) for s in module.sections] == [
        ("herkomst", "Waar komt 'professionele afstand' vandaan?"),
        ("clientgericht-werken-in-het-team", "Cliëntgericht werken in het team"),
        ("wat-jongeren-zeggen-nodig-te-hebben", "Wat jongeren *zeggen* nodig te hebben?!"),
    ]
    assert [s.line for s in module.sections] == [
        line_of(path, "## Waar komt"),
        line_of(path, "## Cliëntgericht"),
        line_of(path, "## Wat jongeren"),
    ]


def test_text_before_the_first_section_is_the_introduction(example):
    module = parse_clean(example)
    assert "Misschien kreeg je het al te horen" in module.intro_html
    assert module.intro_html.startswith("<p>")
    assert all("Misschien kreeg je" not in html for where, html in rendered_html(module) if where != "intro")
    assert module.sections[0].title == "Waar komt 'professionele afstand' vandaan?"


def test_a_choice_carries_its_target_and_its_feedback_as_html(example):
    sanne = parse_clean(example).vignettes["sanne-bericht"]
    assert sanne.title == "Sanne stuurt 's avonds een bericht"
    assert sanne.start == "bericht"
    assert list(sanne.steps) == ["bericht", "gesprek", "volgende-dag", "einde-team"]
    assert sanne.endings() == ["einde-team"]
    assert "Jij bent haar mentor." in sanne.intro_html
    first, second = sanne.steps["bericht"].choices
    assert first.label_text == "Je belt haar meteen terug."
    assert first.target == "gesprek"
    assert first.feedback_html.startswith("<p>Sanne klinkt opgelucht.")
    assert "waarom Sanne jouw privénummer heeft." in first.feedback_html
    assert second.target == "volgende-dag"
    assert second.feedback_html == "<p>Sanne stuurt een duim. Je weet niet of ze vannacht iemand nodig had.</p>\n"
    assert "Het is 22.30 uur." in sanne.steps["bericht"].html
    assert "Je belt haar" not in sanne.steps["bericht"].html  # choices are not part of the story text


def test_an_open_vignette_has_no_steps(example):
    yusuf = parse_clean(example).vignettes["yusuf-kijkt-weg"]
    assert not yusuf.branching
    assert "Als jij binnenkomt" in yusuf.intro_html


def test_a_check_knows_which_options_are_correct(example):
    check = parse_clean(example).checks["bordin-elementen"]
    assert "Welke drie elementen vormen volgens Bordin de werkalliantie?" in check.question_html
    assert [option.correct for option in check.options] == [True, False]
    assert check.correct_indexes == frozenset({0})
    assert check.multiple is False
    assert check.options[0].label_html == "Overeenstemming over doelen, over taken en een affectieve band."
    assert check.options[1].feedback_html.startswith("<p>Die drie basishoudingen komen van Carl Rogers")


def test_a_check_with_several_correct_options_asks_for_all_of_them(tmp_path):
    path = write_module(
        tmp_path,
        SLUG,
        [
            SECTION,
            """
        :::{check} Wat hebben jongeren volgens Cachet nodig?
        :id: wat-jongeren-nodig-hebben

        Kies alle juiste antwoorden.

        - [x] Betrouwbare begeleiders.

          Ja.

        - [ ] Begeleiders op afstand.

          Nee, juist niet.

        - [X] Voorspelbare begeleiders.

          Ja.
        :::
    """,
        ],
    )
    check = parse_clean(path).checks["wat-jongeren-nodig-hebben"]
    assert check.multiple is True
    assert check.correct_indexes == frozenset({0, 2})
    assert "Kies alle juiste antwoorden." in check.question_html


def test_a_reflection_keeps_its_settings(example):
    reflection = parse_clean(example).reflections["afstand-eerste-indruk"]
    assert reflection.title == "Jouw eerste indruk"
    assert reflection.level == "beschrijvend"
    assert reflection.min_words == 80
    assert reflection.refers_to is None
    assert "Beschrijf eerst wat er gebeurde" in reflection.guidance_html
    assert "Wat gebeurde er, en hoe reageerde de jongere?" in reflection.prompt_html
    assert reflection.line == line_of(example, ":::{reflection} Jouw eerste indruk")


REFLECTION = """
:::{{reflection}} Jouw eerste indruk
:id: eerste-indruk
:level: beschrijvend

{prompt}
:::
"""


def _hash_of(tmp_path, name, prompt):
    path = write_module(tmp_path / name, SLUG, [SECTION, REFLECTION.format(prompt=prompt)])
    return parse_clean(path).reflections["eerste-indruk"].prompt_hash


def test_the_prompt_fingerprint_ignores_whitespace_but_not_wording(tmp_path):
    prompt = "Denk aan een moment waarop een begeleider afstand hield.\nWat gebeurde er?"
    original = _hash_of(tmp_path, "a", prompt)
    rewrapped = _hash_of(
        tmp_path, "b", prompt.replace(" een begeleider ", "\neen begeleider   ").replace("\nWat", " Wat") + "\n\n"
    )
    reworded = _hash_of(tmp_path, "c", prompt.replace("afstand hield", "nabij bleef"))
    assert original == rewrapped
    assert original != reworded
    assert original == prompt_hash("Jouw eerste indruk", " ".join(prompt.split()))
    assert prompt_hash("Andere titel", prompt) != prompt_hash("Jouw eerste indruk", prompt)


def test_relative_images_point_at_the_module_media_url(tmp_path):
    path = write_module(
        tmp_path,
        SLUG,
        [
            SECTION,
            """
        ![Tijdlijn van de jeugdzorg](tijdlijn.png)

        ![Foto van de leefgroep](beelden/leefgroep.jpg)

        ::::{vignette} Sanne
        :id: sanne

        :::{step} begin
        Sanne wacht.

        - [Je gaat naar haar toe.](#einde)

          ![Sanne lacht](tijdlijn.png)
        :::

        :::{ending} einde
        Klaar.
        :::
        ::::
    """,
        ],
        files={"tijdlijn.png": PNG, "beelden/leefgroep.jpg": PNG},
    )
    module = parse_clean(path)
    html = module.sections[0].blocks[0].html
    assert f'src="/modules/{SLUG}/media/tijdlijn.png"' in html
    assert f'src="/modules/{SLUG}/media/beelden/leefgroep.jpg"' in html
    assert 'alt="Tijdlijn van de jeugdzorg"' in html
    feedback = module.vignettes["sanne"].steps["begin"].choices[0].feedback_html
    assert f'src="/modules/{SLUG}/media/tijdlijn.png"' in feedback


def test_the_introduction_image_is_rewritten_too(example):
    intro = parse_clean(example).intro_html
    assert 'src="/modules/van-afstand-naar-nabijheid/media/tijdlijn.png"' in intro


def test_links_to_a_section_point_at_the_section_page(example):
    module = parse_clean(example)
    html = "".join(block.html for block in module.section("theorie").blocks if block.kind == "html")
    assert 'href="/modules/van-afstand-naar-nabijheid/herkomst"' in html
    assert 'href="#herkomst"' not in html


def test_section_links_in_feedback_right_under_an_option_are_rewritten(tmp_path):
    path = write_module(
        tmp_path,
        SLUG,
        [
            SECTION,
            """
        :::{check} Wie beschreef de werkalliantie?
        :id: alliantie-auteur

        - [x] Edward Bordin.
          Juist, zie [de kennismaking](#kennismaken).
        - [ ] Carl Rogers.
          Nee, lees [de bron](https://example.org/rogers).
        :::
    """,
        ],
    )
    check = parse_clean(path).checks["alliantie-auteur"]
    assert check.options[0].label_html == "Edward Bordin."
    assert f'href="/modules/{SLUG}/kennismaken"' in check.options[0].feedback_html
    assert 'rel="noopener noreferrer"' in check.options[1].feedback_html


def test_external_links_get_rel_noopener_noreferrer_everywhere(tmp_path):
    path = write_module(
        tmp_path,
        SLUG,
        """
        Lees [de richtlijn](https://www.richtlijnenjeugdhulp.nl) vooraf.

        ## Kennismaken {#kennismaken}

        Zie <https://www.cachet.be> en [SOS Kinderdorpen](http://www.sos-kinderdorpen.be).

        :::{reflection}
        :id: eerste-indruk
        :guidance: Gebruik [het model](https://example.org/model).

        Wat viel je op? Zie ook [Baart](https://example.org/baart).
        :::

        :::{check} Wat zegt [Bordin](https://example.org/bordin)?
        :id: bordin

        - [x] Doelen, taken en band.

          Juist, zie [het artikel](https://example.org/artikel).

        - [ ] Empathie.

          Nee.
        :::

        :::{note} Begrip
        Zie [presentie.nl](https://www.presentie.nl).
        :::

        ::::{vignette} Sanne
        :id: sanne

        Lees [het verhaal](https://example.org/verhaal).

        :::{step} begin
        Sanne wacht ([achtergrond](https://example.org/achtergrond)).

        - [Je gaat naar haar toe.](#einde)

          Ze vertelt over [haar school](https://example.org/school).
        :::

        :::{ending} einde
        Klaar, zie [het team](https://example.org/team).
        :::
        ::::

        Mail [de redactie](mailto:redactie@example.org).
    """,
    )
    module = parse_clean(path)
    anchors = [(where, a) for where, html in rendered_html(module) for a in re.findall(r"<a [^>]*>", html)]
    external = [(where, a) for where, a in anchors if 'href="http' in a]
    assert len(external) == 12
    for where, anchor in external:
        assert 'rel="noopener noreferrer"' in anchor, where
    mail = [a for _, a in anchors if "mailto:" in a]
    assert mail and "rel=" not in mail[0]


def test_raw_html_is_reported_and_never_rendered(tmp_path):
    path = write_module(
        tmp_path,
        SLUG,
        """
        <script>alert('intro')</script>

        ## Kennismaken {#kennismaken}

        Dit is <b>vet</b> en <img src=x onerror=alert(1)>.

        <div class="kader">
        Een kader.
        </div>

        :::{reflection} Jouw indruk
        :id: eerste-indruk
        :guidance: Schrijf <b>eerlijk</b>.

        Wat viel je op? <script>alert('vraag')</script>
        :::

        :::{check} Wat is <b>nabijheid</b>?
        :id: nabijheid

        - [x] Er <b>zijn</b>.

          Juist <script>alert('feedback')</script>

        - [ ] Afstand.

          Nee <b>niet</b>.
        :::

        :::{note} Kader
        Tekst <b>vet</b>.
        :::

        ::::{vignette} Sanne
        :id: sanne

        Inleiding <b>vet</b>.

        :::{step} begin
        <script>alert('stap')</script>

        - [Je gaat <b>naar</b> haar toe.](#einde)

          Ze <b>lacht</b>.
        :::

        :::{ending} einde
        Klaar <b>vet</b>.
        :::
        ::::
    """,
    )
    module, problems = parse(path)
    assert module is not None
    assert problems and all(p.message.startswith("HTML is niet toegestaan") for p in problems)
    reported = {p.line for p in problems}
    for needle in [
        "<script>alert('intro')",
        "Dit is <b>",
        '<div class="kader">',
        ":guidance:",
        "<script>alert('vraag')",
        "Wat is <b>",
        "Er <b>",
        "<script>alert('feedback')",
        "Nee <b>",
        "Tekst <b>",
        "Inleiding <b>",
        "<script>alert('stap')",
        "Je gaat <b>",
        "Ze <b>",
        "Klaar <b>",
    ]:
        assert line_of(path, needle) in reported, f"HTML on the line with {needle!r} is not reported"
    pieces = list(rendered_html(module))
    for where, html in pieces:
        for tag in ("<script", "<b>", "<div", "<img"):
            assert tag not in html, f"raw {tag} rendered in {where}: {html}"
    assert any("&lt;script&gt;" in html for _, html in pieces)  # shown as text, not run


def test_a_javascript_link_is_never_rendered_as_a_link(tmp_path):
    path = write_module(
        tmp_path,
        SLUG,
        [
            SECTION,
            """
        Klik [hier](javascript:alert(1)) of ![hier](javascript:alert(2)).
    """,
        ],
    )
    module, _ = parse(path)
    html = "".join(h for _, h in rendered_html(module))
    assert 'href="javascript' not in html
    assert 'src="javascript' not in html


def test_each_problem_is_reported_once_in_file_order(tmp_path):
    path = write_module(
        tmp_path,
        SLUG,
        [
            SECTION,
            """
        Zie [verderop](#verderop) en [hier](/login).

        :::{reflection}
        :id: eerste-indruk
        :level: diep
        :min-words: veel
        :::
    """,
        ],
    )
    _, problems = parse(path)
    assert [p.line for p in problems] == sorted(p.line for p in problems)
    assert len(problems) == len(set(problems)) == 5
