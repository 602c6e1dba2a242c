"""The real course in modules/: complete, checked, and built the way the course design asks.

Every rule runs once per module, so a failure names the module (and the rule) that needs work.
"""

from __future__ import annotations

import re
from collections import Counter
from difflib import SequenceMatcher
from functools import cache

import pytest
from click.testing import CliRunner

from app import PROJECT_ROOT
from app.cli import main
from app.content.catalogue import Catalogue, load_catalogue, module_files
from app.content.model import Module

MODULES = PROJECT_ROOT / "modules"
SLUGS = [path.parent.name for path in module_files(MODULES)]
CAPSTONE = "casusweek"
DESCRIPTIVE = {"beschrijvend", "beschrijvend-reflectief"}


@cache
def catalogue() -> Catalogue:
    return load_catalogue(MODULES)


def module(slug: str) -> Module:
    """The parsed module; a module that could not be read at all fails with its problems."""
    path = MODULES / slug / "module.md"
    parsed = catalogue().parsed.get(path)
    problems = "\n".join(map(str, catalogue().broken.get(path, [])))
    assert parsed is not None, f"{slug} could not be read:\n{problems}"
    return parsed


def text(html: str) -> str:
    return re.sub(r"<[^>]+>", "", html).strip()


def test_nabij_modules_check_finds_no_problems_at_all():
    result = CliRunner().invoke(main, ["modules", "check", str(MODULES)])
    assert result.stdout == "", result.stdout
    assert result.exit_code == 0
    assert f"{len(SLUGS)} module(s) gecontroleerd, 0 probleem/problemen" in result.stderr


def test_the_course_has_at_least_six_modules():
    assert len(SLUGS) >= 6, SLUGS
    assert CAPSTONE in SLUGS


def test_every_block_id_is_unique_across_the_whole_course():
    ids = Counter(
        block_id
        for parsed in catalogue().parsed.values()
        for block_id in [*parsed.reflections, *parsed.vignettes, *parsed.checks]
    )
    assert [block_id for block_id, count in ids.items() if count > 1] == []


def test_every_slug_is_unique_and_matches_its_folder():
    slugs = [parsed.slug for parsed in catalogue().parsed.values()]
    assert sorted(slugs) == sorted(SLUGS)


@pytest.mark.parametrize("slug", SLUGS)
class TestEachModule:
    def test_is_served_without_problems(self, slug):
        path = MODULES / slug / "module.md"
        assert catalogue().broken.get(path, []) == []
        assert slug in catalogue().modules

    def test_ends_with_a_bronnen_section_after_at_least_four_content_sections(self, slug):
        ids = [section.id for section in module(slug).sections]
        assert "bronnen" in ids, f"{slug} has no '## Bronnen {{#bronnen}}' section: {ids}"
        assert ids[-1] == "bronnen", f"{slug}: 'bronnen' must be the last section: {ids}"
        assert len(ids) - 1 >= 4, f"{slug} has {len(ids) - 1} content sections besides bronnen: {ids}"

    def test_has_two_vignettes_of_which_one_branches(self, slug):
        parsed = module(slug)
        assert len(parsed.vignettes) >= 2, f"{slug} has {len(parsed.vignettes)} vignette(s)"
        assert len(parsed.branching_vignettes()) >= 1, f"{slug} has no branching vignette"

    def test_every_choice_in_a_branching_vignette_has_feedback(self, slug):
        empty = [
            (vignette.id, step.id, choice.label_text)
            for vignette in module(slug).branching_vignettes()
            for step in vignette.steps.values()
            for choice in step.choices
            if not text(choice.feedback_html)
        ]
        assert empty == []

    def test_has_four_reflections_with_guidance_and_a_level(self, slug):
        reflections = module(slug).reflections.values()
        assert len(reflections) >= 4, f"{slug} has {len(reflections)} reflection(s)"
        assert [r.id for r in reflections if not text(r.guidance_html)] == [], "reflections without :guidance:"
        assert [r.id for r in reflections if r.level is None] == [], "reflections without :level:"

    def test_reflections_climb_from_descriptive_to_critical(self, slug):
        levels = {r.level for r in module(slug).reflections.values()}
        assert levels & DESCRIPTIVE, f"{slug} has no beschrijvend(-reflectief) reflection: {levels}"
        assert "dialogisch" in levels, f"{slug} has no dialogisch reflection: {levels}"
        assert "kritisch" in levels, f"{slug} has no kritisch reflection: {levels}"

    def test_has_a_knowledge_check(self, slug):
        assert len(module(slug).checks) >= 1

    def test_has_at_least_1800_words(self, slug):
        assert module(slug).words >= 1800

    def test_has_learning_goals(self, slug):
        goals = module(slug).learning_goals
        assert goals and all(goal.strip() for goal in goals)

    def test_is_written_in_dutch(self, slug):
        assert module(slug).language == "nl"

    def test_takes_90_to_120_minutes_and_at_least_the_time_its_reading_and_writing_need(self, slug):
        parsed = module(slug)
        assert 90 <= parsed.estimated_minutes <= 120, f"{slug}: {parsed.estimated_minutes} minutes"
        needed = honest_minutes(parsed)
        assert parsed.estimated_minutes >= needed, (
            f"{slug} says {parsed.estimated_minutes} minutes, but reading and the required words take {needed}"
        )

    def test_every_bronnen_entry_is_an_apa_reference_without_hedges(self, slug):
        entries = bronnen_entries(slug)
        assert len(entries) >= 5, f"{slug} lists only {len(entries)} source(s)"
        not_apa = [entry for entry in entries if not APA_YEAR.search(entry)]
        assert not_apa == [], f"{slug}: entries without '(year).' or '(z.d.).': {not_apa}"
        hedged = [entry for entry in entries if HEDGES.search(entry)]
        assert hedged == [], f"{slug}: entries that admit they could not be checked: {hedged}"

    def test_has_no_in_nederland_parentheses_because_the_glossary_explains_the_terms(self, slug):
        found = re.findall(r"\((?:in )?(?:Nederland|Vlaanderen)[^)]*:[^)]*\)", source(slug))
        assert found == [], f"{slug}: {found}"


# -- The second edition: each module its own young people and its own questions ------------------------

# Every young person in a case is introduced as "Name (age)", e.g. "Selin (15)". Adults in the cases
# (colleagues, parents) are introduced without an age, so this finds exactly the young people.
YOUNG_PERSON = re.compile(r"\b([A-Z][a-zà-ÿ]+) \((\d{1,2})\)")
APA_YEAR = re.compile(r"\((?:\d{4}(?:, [^)]*)?|z\.d\.(?:-[a-z])?)(?:[a-z])?\)[.?]? ")
HEDGES = re.compile(r"niet geverifieerd|aangeleverde bron|niet gevonden|niet zelf", re.IGNORECASE)
WORDS_READ_PER_MINUTE = 200
WORDS_WRITTEN_PER_MINUTE = 10  # thinking included: a reflection is not typing


def source(slug: str) -> str:
    return (MODULES / slug / "module.md").read_text(encoding="utf-8")


def young_people(slug: str) -> set[str]:
    return {name for name, _age in YOUNG_PERSON.findall(source(slug))}


def bronnen_entries(slug: str) -> list[str]:
    text = source(slug).split("## Bronnen {#bronnen}", 1)[1]
    entries = re.split(r"\n- ", "\n" + text.strip())
    return [" ".join(entry.split()) for entry in entries if entry.strip()]


def honest_minutes(parsed: Module) -> int:
    writing = sum(reflection.min_words for reflection in parsed.reflections.values())
    return round(parsed.words / WORDS_READ_PER_MINUTE + writing / WORDS_WRITTEN_PER_MINUTE)


def normalised(html: str) -> str:
    return " ".join(re.sub(r"[^a-zà-ÿ0-9 ]", " ", text(html).lower()).split())


def test_every_module_introduces_its_own_young_people():
    assert all(young_people(slug) for slug in SLUGS), {slug: young_people(slug) for slug in SLUGS}


def test_no_young_person_appears_in_two_modules():
    """Lina appeared in five modules and Amir in three; now each module has its own young people."""
    seen: dict[str, list[str]] = {}
    for slug in SLUGS:
        for name in young_people(slug):
            seen.setdefault(name, []).append(slug)
    shared = {name: slugs for name, slugs in seen.items() if len(slugs) > 1}
    assert shared == {}, shared


def test_a_young_person_of_one_module_is_not_mentioned_by_name_in_another():
    mentions = {
        (name, slug, other)
        for slug in SLUGS
        for name in young_people(slug)
        for other in SLUGS
        if other != slug and re.search(rf"\b{name}\b", source(other))
    }
    assert mentions == set()


def test_no_two_reflection_prompts_are_near_duplicates():
    prompts = [
        (slug, reflection.id, normalised(reflection.prompt_html))
        for slug in SLUGS
        for reflection in module(slug).reflections.values()
    ]
    similar = [
        (first[1], second[1], round(ratio, 2))
        for i, first in enumerate(prompts)
        for second in prompts[i + 1 :]
        if (ratio := SequenceMatcher(None, first[2], second[2]).ratio()) > 0.55
    ]
    assert similar == []


def test_the_navertellen_formula_is_not_repeated_across_the_course():
    """'Hoe zou X dit navertellen aan een vriendin?' appeared nine times; a question is asked once."""
    uses = [
        reflection.id
        for slug in SLUGS
        for reflection in module(slug).reflections.values()
        if "navertellen" in normalised(reflection.prompt_html)
    ]
    assert len(uses) <= 1, uses


def test_each_reflection_level_is_one_the_rubric_knows():
    levels = {r.level for slug in SLUGS for r in module(slug).reflections.values()}
    assert levels <= {"beschrijvend", "beschrijvend-reflectief", "dialogisch", "kritisch"}, levels


# -- The capstone's depth -----------------------------------------------------------------------------


def paths(vignette) -> list[list[tuple[str, str]]]:
    """Every walk from the start to an ending, as (step id, choice target) pairs."""
    walks = []

    def walk(step_id: str, taken: list[tuple[str, str]]) -> None:
        step = vignette.steps[step_id]
        if step.is_ending:
            walks.append(taken)
            return
        for choice in step.choices:
            assert choice.target not in [s for s, _ in taken], f"{vignette.id} loops back to {choice.target}"
            walk(choice.target, [*taken, (step_id, choice.target)])

    walk(vignette.start or next(iter(vignette.steps)), [])
    return walks


@pytest.mark.parametrize(
    "vignette_id",
    sorted(vignette.id for vignette in catalogue().parsed[MODULES / CAPSTONE / "module.md"].branching_vignettes()),
)
class TestCapstoneCase:
    def vignette(self, vignette_id):
        return module(CAPSTONE).vignettes[vignette_id]

    def test_every_path_takes_three_or_four_decisions(self, vignette_id):
        short = [[step for step, _ in path] for path in paths(self.vignette(vignette_id)) if not 3 <= len(path) <= 4]
        assert short == [], f"{vignette_id}: paths with fewer than 3 or more than 4 decisions: {short}"

    def test_every_decision_offers_a_real_choice(self, vignette_id):
        steps = self.vignette(vignette_id).steps.values()
        assert [step.id for step in steps if not step.is_ending and len(step.choices) < 2] == []

    def test_the_ending_depends_on_the_path(self, vignette_id):
        vignette = self.vignette(vignette_id)
        assert len(vignette.endings()) >= 4, f"{vignette_id} has only {vignette.endings()}"
        by_first_choice: dict[str, set[str]] = {}
        for path in paths(vignette):
            by_first_choice.setdefault(path[0][1], set()).add(path[-1][1])
        assert len(by_first_choice) >= 2
        assert len({frozenset(endings) for endings in by_first_choice.values()}) == len(by_first_choice), (
            f"{vignette_id}: different first choices lead to the same endings: {by_first_choice}"
        )

    def test_every_ending_says_what_it_opened_or_cost(self, vignette_id):
        vignette = self.vignette(vignette_id)
        assert [e for e in vignette.endings() if len(text(vignette.steps[e].html).split()) < 30] == []


def test_the_capstone_has_three_cases_in_different_settings():
    cases = module(CAPSTONE).branching_vignettes()
    assert len(cases) >= 3
    intro = " ".join(text(case.intro_html).lower() for case in cases)
    for setting in ("pleeg", "gesloten", "achttiende"):
        assert setting in intro, f"no capstone case about {setting!r}"
