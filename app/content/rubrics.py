"""Rubrics: criteria, their levels and a descriptor per level, authored in Markdown like a module.

A rubric lives in `modules/_rubrics/<id>.md` (the leading underscore keeps the folder out of the
catalogue: it is never served as a module). The file name is the id a prompt names with
`:rubric: <id>`. One file holds both languages, in a parallel structure: the Dutch text is the body
and the titles, the English text sits beside it in `-en` options (see modules/_rubrics/README.md).

    ---
    title: Reflectieniveaus volgens Hatton & Smith
    title_en: Levels of reflection after Hatton & Smith
    version: "1.0"
    license: CC BY-SA 4.0
    sources:
      - Hatton, N., & Smith, D. (1995). ...
    ---

    ::::{criterion} Diepgang van de reflectie
    :id: diepgang
    :title-en: Depth of reflection

    :::{level} Beschrijvend schrijven
    :id: beschrijvend
    :title-en: Descriptive writing
    :descriptor-en: The text reports what happened, without reasons.
    :next: Zeg bij elke gebeurtenis waarom ze volgens jou zo liep.
    :next-en: Say for each event why you think it went that way.

    De tekst vertelt wat er gebeurde, zonder redenen of perspectieven.
    :::
    ::::

Levels are listed from lowest to highest. Problems are collected with their line, never raised.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from markdown_it.token import Token

from app.content import markdown as mdx
from app.content.model import Problem
from app.content.parser import DIRECTIVE, read_options

RUBRIC_DIR = "_rubrics"
FRONT_FIELDS = {
    "title": True,
    "title_en": True,
    "version": True,
    "license": True,
    "sources": False,
    "summary": False,
    "summary_en": False,
    "authors": False,
}
CRITERION_OPTIONS = {"id", "title-en", "description-en"}
LEVEL_OPTIONS = {"id", "title-en", "descriptor-en", "next", "next-en"}
MAX_RUBRIC_BYTES = 200_000


@dataclass(frozen=True)
class Level:
    id: str
    title: str
    title_en: str
    descriptor_html: str
    descriptor_en_html: str
    next_html: str
    next_en_html: str
    line: int

    def label(self, lang: str) -> str:
        return self.title_en if lang == "en" and self.title_en else self.title

    def descriptor(self, lang: str) -> str:
        return self.descriptor_en_html if lang == "en" and self.descriptor_en_html else self.descriptor_html

    def next_step(self, lang: str) -> str:
        return self.next_en_html if lang == "en" and self.next_en_html else self.next_html


@dataclass(frozen=True)
class Criterion:
    id: str
    title: str
    title_en: str
    description_html: str
    description_en_html: str
    levels: tuple[Level, ...]
    line: int

    def label(self, lang: str) -> str:
        return self.title_en if lang == "en" and self.title_en else self.title

    def description(self, lang: str) -> str:
        return self.description_en_html if lang == "en" and self.description_en_html else self.description_html

    def level(self, level_id: str) -> Level | None:
        return next((level for level in self.levels if level.id == level_id), None)

    def rank(self, level_id: str) -> int:
        """1 for the lowest level; 0 for an unknown one."""
        return next((n for n, level in enumerate(self.levels, start=1) if level.id == level_id), 0)


@dataclass(frozen=True)
class Rubric:
    id: str
    title: str
    title_en: str
    version: str
    license: str
    sources: tuple[str, ...]
    criteria: tuple[Criterion, ...]
    path: Path

    def label(self, lang: str) -> str:
        return self.title_en if lang == "en" and self.title_en else self.title

    def criterion(self, criterion_id: str) -> Criterion | None:
        return next((c for c in self.criteria if c.id == criterion_id), None)

    def level_ids(self) -> set[str]:
        return {level.id for criterion in self.criteria for level in criterion.levels}


@dataclass
class RubricSet:
    rubrics: dict[str, Rubric] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def get(self, rubric_id: str | None) -> Rubric | None:
        return self.rubrics.get(rubric_id) if rubric_id else None


def rubric_directory(directory: Path) -> Path:
    """Where the rubrics of a modules folder are (for one module folder: beside it)."""
    if (directory / "module.md").is_file():
        return directory.parent / RUBRIC_DIR
    return directory / RUBRIC_DIR


def rubric_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob("*.md") if p.is_file() and p.name.lower() != "readme.md")


def load_rubrics(directory: Path) -> RubricSet:
    """Every rubric of the modules folder `directory`; broken ones are left out and reported."""
    result = RubricSet()
    for path in rubric_files(rubric_directory(directory)):
        try:
            rubric, problems = RubricParser(path).parse()
        except Exception as error:
            rubric, problems = (
                None,
                [Problem(path, 1, f"deze rubric kon niet gecontroleerd worden ({type(error).__name__})")],
            )
        result.problems.extend(problems)
        if rubric is not None and not problems:
            result.rubrics[rubric.id] = rubric
    return result


class RubricParser:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.problems: list[tuple[int, str]] = []
        self.env: dict = {}

    def parse(self) -> tuple[Rubric | None, list[Problem]]:
        rubric_id = self.path.stem
        try:
            if self.path.stat().st_size > MAX_RUBRIC_BYTES:
                return None, [Problem(self.path, 1, "rubric is te groot (maximaal 200 KB)")]
            text = self.path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            return None, [Problem(self.path, 1, "bestand is geen UTF-8-tekst")]
        except OSError as error:
            return None, [Problem(self.path, 1, f"bestand kan niet gelezen worden ({error.strerror or error})")]
        if not mdx.ID_PATTERN.match(rubric_id):
            self.problems.append(
                (
                    1,
                    f"bestandsnaam '{self.path.name}': het id van een rubric (de naam zonder .md) "
                    "mag alleen kleine letters, cijfers en koppeltekens bevatten",
                )
            )
        for line in mdx.raw_html_lines(text):
            self.problems.append((line, "HTML is niet toegestaan in een rubric; gebruik Markdown"))
        tokens = mdx.markdown().parse(text, self.env)
        if not tokens or tokens[0].type != "front_matter":
            self.problems.append((1, "voorpagina ontbreekt: begin het bestand met '---', de velden en weer '---'"))
            return None, self._sorted()
        front = self._front(tokens[0].content)
        criteria = []
        seen: dict[str, int] = {}
        for group in mdx.top_level_groups(tokens[1:]):
            line = mdx.first_line(group) + 1
            if group[0].type != "colon_fence":
                if any(t.type == "inline" and t.content.strip() for t in group):
                    self.problems.append((line, "tekst buiten een {criterion} hoort niet in een rubric"))
                continue
            directive = self._directive(group[0], 0)
            if directive is None:
                continue
            if directive["name"] != "criterion":
                self.problems.append(
                    (
                        directive["line"],
                        f"blok '{{{directive['name']}}}' hoort niet hier: een rubric "
                        "bestaat uit {criterion}-blokken (met '::::') met daarin {level}-blokken",
                    )
                )
                continue
            criterion = self._criterion(directive)
            if criterion is None:
                continue
            if criterion.id in seen:
                self.problems.append(
                    (
                        criterion.line,
                        f"criterium '{criterion.id}' komt twee keer voor (ook op regel {seen[criterion.id]})",
                    )
                )
                continue
            seen[criterion.id] = criterion.line
            criteria.append(criterion)
        if not criteria:
            self.problems.append((1, "de rubric heeft geen criteria: voeg minstens één '::::{criterion}' toe"))
        if front is None:
            return None, self._sorted()
        rubric = Rubric(
            id=rubric_id,
            title=front["title"],
            title_en=front["title_en"],
            version=front["version"],
            license=front["license"],
            sources=tuple(front.get("sources") or ()),
            criteria=tuple(criteria),
            path=self.path,
        )
        return rubric, self._sorted()

    def _sorted(self) -> list[Problem]:
        return sorted({Problem(self.path, line, msg) for line, msg in self.problems}, key=lambda p: (p.line, p.message))

    def _front(self, text: str) -> dict | None:
        try:
            data = yaml.safe_load(text) if text.strip() else None
        except yaml.YAMLError as error:
            mark = getattr(error, "problem_mark", None)
            self.problems.append((2 + (mark.line if mark else 0), "voorpagina: ongeldige YAML"))
            return None
        if not isinstance(data, dict):
            self.problems.append((2, "voorpagina: verwacht velden in de vorm 'naam: waarde'"))
            return None
        ok = True
        for key in data:
            if key not in FRONT_FIELDS:
                self.problems.append((_key_line(text, str(key)), f"voorpagina: '{key}' is geen bekend veld"))
                ok = False
        for key, required in FRONT_FIELDS.items():
            value = data.get(key)
            if key == "sources" or key == "authors":
                if value is not None and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
                    self.problems.append(
                        (
                            _key_line(text, key),
                            f"voorpagina: '{key}' moet een lijst zijn (regels die beginnen met '- ')",
                        )
                    )
                    ok = False
                continue
            if value is None:
                if required:
                    self.problems.append((2, f"voorpagina: '{key}' ontbreekt (verplicht veld)"))
                    ok = False
                continue
            if not isinstance(value, str) or not value.strip():
                hint = " (zet het tussen aanhalingstekens)" if key == "version" else ""
                self.problems.append((_key_line(text, key), f"voorpagina: '{key}' moet tekst zijn{hint}"))
                ok = False
        return data if ok else None

    def _directive(self, token: Token, offset: int) -> dict | None:
        line = offset + mdx.start_line(token) + 1
        match = DIRECTIVE.match(token.info.strip())
        if not match:
            self.problems.append(
                (line, f"onbekend blok '{token.info.strip() or '(leeg)'}' (telt het aantal dubbele punten?)")
            )
            return None
        name, argument = match.group(1), match.group(2).strip()
        allowed = {"criterion": CRITERION_OPTIONS, "level": LEVEL_OPTIONS}.get(name)
        if allowed is None:
            self.problems.append((line, f"onbekend blok '{{{name}}}': een rubric kent alleen criterion en level"))
            return None
        options, option_lines, body, n = read_options(token.content, name, allowed, line, self.problems)
        return {
            "name": name,
            "argument": argument,
            "options": options,
            "option_lines": option_lines,
            "body": body,
            "body_offset": offset + mdx.start_line(token) + 1 + n,
            "line": line,
        }

    def _id(self, d: dict) -> str | None:
        value = d["options"].get("id")
        if not value:
            self.problems.append((d["line"], f"{{{d['name']}}} heeft een ':id:' nodig"))
            return None
        if not mdx.ID_PATTERN.match(value):
            self.problems.append(
                (
                    d["option_lines"]["id"],
                    f"id '{value}' mag alleen kleine letters, cijfers en koppeltekens bevatten (max. 60)",
                )
            )
            return None
        return value

    def _inline(self, text: str) -> str:
        return mdx.render(mdx.markdown().parse(text, self.env), self.env) if text.strip() else ""

    def _criterion(self, d: dict) -> Criterion | None:
        criterion_id = self._id(d)
        if not d["argument"]:
            self.problems.append((d["line"], "{criterion} heeft een titel nodig: '::::{criterion} Titel'"))
        if not d["options"].get("title-en"):
            self.problems.append((d["line"], "{criterion} heeft een Engelse titel nodig (':title-en:')"))
        description: list[Token] = []
        levels: list[Level] = []
        seen: dict[str, int] = {}
        for group in mdx.top_level_groups(mdx.markdown().parse(d["body"], self.env)):
            if group[0].type != "colon_fence":
                if levels:
                    self.problems.append(
                        (d["body_offset"] + mdx.first_line(group) + 1, "tekst tussen de niveaus hoort in een {level}")
                    )
                else:
                    description.extend(group)
                continue
            sub = self._directive(group[0], d["body_offset"])
            if sub is None:
                continue
            if sub["name"] != "level":
                self.problems.append((sub["line"], "in een {criterion} staan alleen {level}-blokken"))
                continue
            level = self._level(sub)
            if level is None:
                continue
            if level.id in seen:
                self.problems.append(
                    (
                        level.line,
                        f"niveau '{level.id}' komt twee keer voor in dit criterium (ook op regel {seen[level.id]})",
                    )
                )
                continue
            seen[level.id] = level.line
            levels.append(level)
        if len(levels) < 2:
            self.problems.append((d["line"], "een criterium heeft minstens twee niveaus nodig (':::{level}')"))
        if levels and levels[-1].next_html:
            self.problems.append((levels[-1].line, "het hoogste niveau heeft geen volgende stap: laat ':next:' weg"))
        if criterion_id is None:
            return None
        return Criterion(
            id=criterion_id,
            title=d["argument"],
            title_en=d["options"].get("title-en", ""),
            description_html=mdx.render(description, self.env),
            description_en_html=self._inline(d["options"].get("description-en", "")),
            levels=tuple(levels),
            line=d["line"],
        )

    def _level(self, d: dict) -> Level | None:
        level_id = self._id(d)
        options = d["options"]
        if not d["argument"]:
            self.problems.append((d["line"], "{level} heeft een titel nodig: ':::{level} Titel'"))
        if not d["body"].strip():
            self.problems.append(
                (d["line"], "{level} heeft geen beschrijving (descriptor): schrijf ze onder de instellingen")
            )
        for key, what in (("title-en", "Engelse titel"), ("descriptor-en", "Engelse beschrijving")):
            if not options.get(key):
                self.problems.append((d["line"], f"{{level}} heeft een {what} nodig (':{key}:')"))
        if options.get("next") and not options.get("next-en"):
            self.problems.append((d["option_lines"]["next"], "':next:' heeft een Engelse versie nodig (':next-en:')"))
        if options.get("next-en") and not options.get("next"):
            self.problems.append(
                (d["option_lines"]["next-en"], "':next-en:' heeft een Nederlandse versie nodig (':next:')")
            )
        if level_id is None:
            return None
        return Level(
            id=level_id,
            title=d["argument"],
            title_en=options.get("title-en", ""),
            descriptor_html=self._inline(d["body"]),
            descriptor_en_html=self._inline(options.get("descriptor-en", "")),
            next_html=self._inline(options.get("next", "")),
            next_en_html=self._inline(options.get("next-en", "")),
            line=d["line"],
        )


def _key_line(text: str, key: str) -> int:
    match = re.search(rf"^{re.escape(key)}\s*:", text, flags=re.MULTILINE)
    return 2 + text.count("\n", 0, match.start()) if match else 2
