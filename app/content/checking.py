"""The report behind `nabij modules check`: problems and a summary per module."""

from __future__ import annotations

from pathlib import Path

from app.content.catalogue import load_catalogue, module_files


def check_directory(directory: Path) -> dict:
    """{"modules": [...], "errors": [...]}: every module file, valid or not."""
    catalogue = load_catalogue(directory)
    by_path = catalogue.parsed
    modules = []
    for path in module_files(directory):
        module = by_path.get(path)
        errors = [p.as_dict() for p in catalogue.broken.get(path, [])]
        if module is None:
            modules.append(
                {
                    "slug": path.parent.name,
                    "title": None,
                    "sections": 0,
                    "prompts": 0,
                    "vignettes": 0,
                    "checks": 0,
                    "words": 0,
                    "errors": errors,
                }
            )
            continue
        modules.append(
            {
                "slug": module.slug,
                "title": module.title,
                "sections": len(module.sections),
                "prompts": len(module.reflections),
                "vignettes": len(module.vignettes),
                "branching_vignettes": len(module.branching_vignettes()),
                "checks": len(module.checks),
                "words": module.words,
                "errors": errors,
            }
        )
    # Rubric problems (modules/_rubrics) are among the errors, with their own path and line.
    return {"modules": modules, "errors": [p.as_dict() for p in catalogue.problems]}
