"""The parsed, rendered form of a course module: plain data, built once at start-up."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

REFLECTION_LEVELS = ("beschrijvend", "beschrijvend-reflectief", "dialogisch", "kritisch")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a module, reported as `path:line: message`."""

    path: Path
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"

    def as_dict(self) -> dict:
        return {"path": str(self.path), "line": self.line, "message": self.message}


@dataclass
class HtmlBlock:
    html: str
    kind: Literal["html"] = "html"


@dataclass
class Note:
    title: str
    html: str
    kind: Literal["note"] = "note"


@dataclass
class Reflection:
    id: str
    title: str
    prompt_html: str
    guidance_html: str
    level: str | None
    min_words: int
    refers_to: str | None
    prompt_hash: str
    line: int
    # The rubric it is assessed with (modules/_rubrics/<id>.md), and the line of `:rubric:`.
    rubric: str | None = None
    rubric_line: int = 0
    kind: Literal["reflection"] = "reflection"


@dataclass
class Choice:
    label_html: str
    label_text: str
    target: str
    feedback_html: str
    line: int


@dataclass
class Step:
    id: str
    html: str
    choices: list[Choice]
    is_ending: bool
    line: int


@dataclass
class Vignette:
    id: str
    title: str
    intro_html: str
    steps: dict[str, Step]
    start: str | None
    line: int
    kind: Literal["vignette"] = "vignette"

    @property
    def branching(self) -> bool:
        return bool(self.steps)

    def endings(self) -> list[str]:
        return [step.id for step in self.steps.values() if step.is_ending]


@dataclass
class Option:
    label_html: str
    correct: bool
    feedback_html: str


@dataclass
class Check:
    id: str
    question_html: str
    options: list[Option]
    line: int
    kind: Literal["check"] = "check"

    @property
    def multiple(self) -> bool:
        return sum(option.correct for option in self.options) > 1

    @property
    def correct_indexes(self) -> frozenset[int]:
        return frozenset(i for i, option in enumerate(self.options) if option.correct)


@dataclass(frozen=True)
class Exemplar:
    level: str
    html: str
    line: int


@dataclass
class LecturerNote:
    """A `:::{lecturer}` block: exemplar answers, discussion points, pitfalls. Kept on the Module, never in
    a Section's blocks, so no student template can reach it by walking a section."""

    prompt_id: str | None  # None: about the whole section
    section_id: str
    html: str
    exemplars: list[Exemplar]
    line: int
    for_line: int = 0


Block = HtmlBlock | Note | Reflection | Vignette | Check


@dataclass
class Section:
    id: str
    title: str
    blocks: list[Block]
    line: int

    def __post_init__(self) -> None:
        self._interactive = [b for b in self.blocks if isinstance(b, Reflection | Vignette | Check)]

    def interactive(self) -> list[Reflection | Vignette | Check]:
        # A parsed module never changes (a changed file is parsed anew): computed once, asked per page.
        return self._interactive


@dataclass
class Module:
    slug: str
    title: str
    summary: str
    language: str
    estimated_minutes: int
    learning_goals: list[str]
    authors: list[str]
    version: str
    license: str
    order: int
    draft: bool
    intro_html: str
    sections: list[Section]
    path: Path
    words: int
    reflections: dict[str, Reflection] = field(default_factory=dict)
    vignettes: dict[str, Vignette] = field(default_factory=dict)
    checks: dict[str, Check] = field(default_factory=dict)
    # Lecturer-only material (see LecturerNote): shown in the preview and the review, never to students.
    lecturer_notes: list[LecturerNote] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._sections = {section.id: section for section in self.sections}
        self._section_of = {block.id: section for section in self.sections for block in section.interactive()}
        for section in self.sections:
            for block in section.interactive():
                if block.kind == "reflection":
                    self.reflections[block.id] = block
                elif block.kind == "vignette":
                    self.vignettes[block.id] = block
                else:
                    self.checks[block.id] = block
        # Which ids count as steps of this module: a stored progress summary made for other ids is stale.
        steps = "\n".join(
            [*(s.id for s in self.sections), "", *self.reflections, "", *self.vignettes, "", *self.checks]
        )
        self.steps_fingerprint = hashlib.blake2b(steps.encode(), digest_size=8).hexdigest()

    @property
    def folder(self) -> Path:
        return self.path.parent

    def section(self, section_id: str) -> Section | None:
        return self._sections.get(section_id)

    def section_index(self, section_id: str) -> int:
        return next(i for i, s in enumerate(self.sections) if s.id == section_id)

    def section_of(self, block_id: str) -> Section | None:
        """The section that holds a reflection, vignette or check."""
        return self._section_of.get(block_id)

    def section_holding(self, block_id: str) -> Section:
        """The section of a block that is in this module (KeyError for one that is not)."""
        return self._section_of[block_id]

    def notes_for(self, prompt_id: str) -> list[LecturerNote]:
        return [note for note in self.lecturer_notes if note.prompt_id == prompt_id]

    def section_notes(self, section_id: str) -> list[LecturerNote]:
        return [note for note in self.lecturer_notes if note.prompt_id is None and note.section_id == section_id]

    def branching_vignettes(self) -> list[Vignette]:
        return [v for v in self.vignettes.values() if v.branching]
