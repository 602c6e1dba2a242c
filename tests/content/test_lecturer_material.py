"""Every reflection prompt of the shipped course is tied to a shipped rubric and carries lecturer material:
a lecturer note (what to look for, typical pitfalls) and one exemplar answer for each level of its rubric.

Issue 22, item 15. The checks run on the parsed modules and rubrics, never on the Markdown text, so a
block that the parser would not attach to the prompt does not count.
"""

from __future__ import annotations

import re
from functools import cache

import pytest

from app import PROJECT_ROOT
from app.content.catalogue import Catalogue, load_catalogue, module_files
from app.content.model import Module, Reflection

MODULES = PROJECT_ROOT / "modules"
SLUGS = [path.parent.name for path in module_files(MODULES)]
HATTON_SMITH = ("beschrijvend", "beschrijvend-reflectief", "dialogisch", "kritisch")


@cache
def catalogue() -> Catalogue:
    return load_catalogue(MODULES)


def module(slug: str) -> Module:
    parsed = catalogue().parsed.get(MODULES / slug / "module.md")
    assert parsed is not None, f"{slug} could not be read"
    return parsed


def prompts(slug: str) -> list[Reflection]:
    return list(module(slug).reflections.values())


def text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_the_course_has_prompts_to_check():
    assert SLUGS and sum(len(prompts(slug)) for slug in SLUGS) >= 30


@pytest.mark.parametrize("slug", SLUGS)
class TestEveryPrompt:
    def test_names_a_shipped_rubric_and_a_target_level(self, slug):
        missing = [r.id for r in prompts(slug) if not r.rubric or catalogue().rubrics.get(r.rubric) is None]
        assert missing == [], f"{slug}: prompts without a shipped :rubric: {missing}"
        unlabelled = [r.id for r in prompts(slug) if r.level not in HATTON_SMITH]
        assert unlabelled == [], f"{slug}: prompts without a Hatton & Smith :level: {unlabelled}"

    def test_has_a_lecturer_note_with_text_of_its_own(self, slug):
        """The note itself (what to look for, pitfalls), not only exemplars."""
        missing = [r.id for r in prompts(slug) if not any(text(note.html) for note in module(slug).notes_for(r.id))]
        assert missing == [], f"{slug}: prompts without a lecturer note: {missing}"

    def test_has_one_exemplar_for_each_level_of_its_rubric(self, slug):
        gaps = {}
        for reflection in prompts(slug):
            rubric = catalogue().rubrics.get(reflection.rubric)
            if rubric is None:
                continue  # reported by the rubric test above
            exemplars = [e for note in module(slug).notes_for(reflection.id) for e in note.exemplars]
            levels = [e.level for e in exemplars if text(e.html)]
            lacking = sorted(rubric.level_ids() - set(levels))
            doubled = sorted({level for level in levels if levels.count(level) > 1})
            if lacking or doubled:
                gaps[reflection.id] = {"lacking": lacking, "twice": doubled}
        assert gaps == {}, f"{slug}: exemplars per rubric level: {gaps}"

    def test_exemplars_are_concise(self, slug):
        long = {
            (r.id, e.level): len(text(e.html).split())
            for r in prompts(slug)
            for note in module(slug).notes_for(r.id)
            for e in note.exemplars
            if not 30 <= len(text(e.html).split()) <= 170
        }
        assert long == {}, f"{slug}: exemplars should be short student texts (number of words): {long}"
