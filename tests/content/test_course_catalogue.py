"""The real course in modules/: complete, checked, and built the way the course design asks.

Every rule runs once per module, so a failure names the module (and the rule) that needs work.
"""

from __future__ import annotations

import re
from collections import Counter
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

    def test_takes_30_to_60_minutes_or_up_to_90_for_the_capstone(self, slug):
        upper = 90 if slug == CAPSTONE else 60
        assert 30 <= module(slug).estimated_minutes <= upper
