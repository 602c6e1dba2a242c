"""Lecturers preview any module, drafts included, as a student sees it, with every branch and answer open."""

from __future__ import annotations

from fastapi import HTTPException, Request

from app.auth import LecturerUser
from app.content.navigation import section_navigation
from app.deps import CatalogueDep
from app.routing import Router
from app.templating import render

router = Router(prefix="/preview", tags=["preview"])


def _module_or_404(catalogue, slug: str):
    module = catalogue.get(slug)  # drafts too: that is what a preview is for
    if module is None:
        raise HTTPException(404)
    return module


@router.get("")
def preview_index(request: Request, catalogue: CatalogueDep, user: LecturerUser):
    return render(
        request,
        "preview/index.html",
        {"modules": catalogue.ordered(), "broken": sorted(catalogue.broken.items())},
        private=True,
    )


@router.get("/{slug}")
def preview_module(request: Request, catalogue: CatalogueDep, user: LecturerUser, slug: str):
    module = _module_or_404(catalogue, slug)
    return render(request, "preview/module.html", {"module": module}, private=True)


@router.get("/{slug}/{section_id}")
def preview_section(request: Request, catalogue: CatalogueDep, user: LecturerUser, slug: str, section_id: str):
    module = _module_or_404(catalogue, slug)
    section = module.section(section_id)
    if section is None:
        raise HTTPException(404)
    return render(
        request,
        "preview/section.html",
        {"module": module, "section": section, "nav": section_navigation(module, section)},
        private=True,
    )
