"""All modules of a folder, loaded, validated and rendered once."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from app.content.model import REFLECTION_LEVELS, Check, Module, Problem, Reflection, Vignette
from app.content.parser import parse_module
from app.content.rubrics import RubricSet, load_rubrics

log = logging.getLogger("nabij.modules")

MODULE_FILE = "module.md"


@dataclass
class Catalogue:
    modules: dict[str, Module] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    broken: dict[Path, list[Problem]] = field(default_factory=dict)
    parsed: dict[Path, Module] = field(default_factory=dict)  # including broken ones, for reports
    rubrics: RubricSet = field(default_factory=RubricSet)

    def get(self, slug: str) -> Module | None:
        return self.modules.get(slug)

    def published(self) -> list[Module]:
        """Modules students may see, in catalogue order."""
        return [m for m in self.ordered() if not m.draft]

    def ordered(self) -> list[Module]:
        return sorted(self.modules.values(), key=lambda m: (m.order, m.title))


def module_files(directory: Path) -> list[Path]:
    """module.md files under `directory`, or the one in it when it is a module folder itself."""
    if (directory / MODULE_FILE).is_file():
        return [directory / MODULE_FILE]
    if not directory.is_dir():
        return []
    return sorted(
        p / MODULE_FILE
        for p in directory.iterdir()
        if p.is_dir() and not p.name.startswith((".", "_")) and (p / MODULE_FILE).is_file()
    )


def load_catalogue(directory: Path) -> Catalogue:
    """Parse every module; modules with problems are left out and reported."""
    catalogue = Catalogue(rubrics=load_rubrics(directory))
    catalogue.problems.extend(catalogue.rubrics.problems)
    owners: dict[str, tuple[Path, str]] = {}
    for path in module_files(directory):
        module, problems = _parse_safely(path)
        if module is not None and not problems:
            problems = _clashes(module, owners, catalogue) + _rubric_problems(module, catalogue.rubrics)
        catalogue.problems.extend(problems)
        if problems:
            catalogue.broken[path] = problems
        elif module is not None:
            catalogue.modules[module.slug] = module
        if module is not None:
            catalogue.parsed[path] = module
    return catalogue


def _parse_safely(path: Path) -> tuple[Module | None, list[Problem]]:
    """One file's module and problems. Whatever goes wrong in one file stays that file's one problem:
    it never stops the check, or the server, from handling every other module."""
    try:
        return parse_module(path)
    except Exception as error:
        log.debug("parsing %s failed", path, exc_info=True)
        return None, [
            Problem(
                path,
                1,
                f"deze module kon niet gecontroleerd worden ({type(error).__name__}); "
                "meld dit aan de beheerders van Nabij, met dit bestand",
            )
        ]


def _clashes(module: Module, owners: dict[str, tuple[Path, str]], catalogue: Catalogue) -> list[Problem]:
    """Ids of reflections, vignettes and checks must be unique across all modules."""
    problems = []
    if module.slug in catalogue.modules:
        problems.append(Problem(module.path, 2, f"slug '{module.slug}' wordt al gebruikt"))
    blocks: list[Reflection | Vignette | Check] = [
        *module.reflections.values(),
        *module.vignettes.values(),
        *module.checks.values(),
    ]
    for block in blocks:
        if block.id in owners:
            other, _ = owners[block.id]
            problems.append(
                Problem(
                    module.path, block.line, f"id '{block.id}' wordt al gebruikt in {other.parent.name}/{MODULE_FILE}"
                )
            )
    if not problems:
        for block in blocks:
            owners[block.id] = (module.path, module.slug)
    return problems


def _rubric_problems(module: Module, rubrics: RubricSet) -> list[Problem]:
    """Every `:rubric:` names a rubric that exists (and parses); exemplars name a level of it."""
    known = ", ".join(sorted(rubrics.rubrics)) or "geen: voeg er een toe in modules/_rubrics/"
    problems = [
        Problem(
            module.path,
            reflection.rubric_line or reflection.line,
            f"':rubric:' verwijst naar '{reflection.rubric}', maar die rubric bestaat niet "
            f"of heeft fouten (beschikbaar: {known})",
        )
        for reflection in module.reflections.values()
        if reflection.rubric and rubrics.get(reflection.rubric) is None
    ]
    for note in module.lecturer_notes:
        reflection = module.reflections.get(note.prompt_id) if note.prompt_id else None
        rubric = rubrics.get(reflection.rubric) if reflection else None
        if reflection is not None and reflection.rubric and rubric is None:
            continue  # the unknown rubric is the problem already reported
        allowed = rubric.level_ids() if rubric else set(REFLECTION_LEVELS)
        problems.extend(
            Problem(
                module.path,
                exemplar.line,
                f"voorbeeldantwoord met onbekend niveau '{exemplar.level}' (kies uit: {', '.join(sorted(allowed))})",
            )
            for exemplar in note.exemplars
            if exemplar.level and exemplar.level not in allowed
        )
    return problems


def log_broken(catalogue: Catalogue) -> None:
    """One clear line per module that is not served."""
    for problem in catalogue.rubrics.problems:
        log.warning("rubric not used: %s; run `nabij modules check`", problem)
    for path, problems in catalogue.broken.items():
        first = problems[0]
        more = f" (+{len(problems) - 1} meer)" if len(problems) > 1 else ""
        log.warning(
            "module not served: %s: %s%s; run `nabij modules check`", path, f"line {first.line}: {first.message}", more
        )
