"""Where a section sits in its module: previous, next and position."""

from __future__ import annotations

from dataclasses import dataclass

from app.content.model import Module, Section


@dataclass(frozen=True)
class SectionNavigation:
    position: int  # 1-based
    total: int
    previous: Section | None
    next: Section | None


def section_navigation(module: Module, section: Section) -> SectionNavigation:
    index = module.section_index(section.id)
    sections = module.sections
    return SectionNavigation(
        position=index + 1,
        total=len(sections),
        previous=sections[index - 1] if index > 0 else None,
        next=sections[index + 1] if index + 1 < len(sections) else None,
    )
