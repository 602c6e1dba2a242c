"""Shared route dependencies: the catalogue, modules and sections by URL.

They only look things up in memory, so they are `async`: FastAPI then runs them on the event loop
instead of sending each through the thread pool (a hop costs more than the lookup).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Path, Request

from app.content.catalogue import Catalogue
from app.content.model import Check, Module, Reflection, Section, Vignette

# A row id in a URL. Anything else, or a number beyond what the id columns hold, is a page that does not
# exist: 404 (see app.errors), never a database error.
MAX_DB_ID = 2**31 - 1
DbId = Annotated[int, Path(ge=1, le=MAX_DB_ID)]


async def get_catalogue(request: Request) -> Catalogue:
    return request.app.state.catalogue


CatalogueDep = Annotated[Catalogue, Depends(get_catalogue)]


async def module_or_404(slug: str, catalogue: CatalogueDep, request: Request) -> Module:
    """A module by slug; drafts exist only for lecturers and admins (who preview them)."""
    module = catalogue.get(slug)
    user = getattr(request.state, "user", None)
    if module is None or (module.draft and (user is None or user.role == "student")):
        raise HTTPException(404)
    return module


ModuleDep = Annotated[Module, Depends(module_or_404)]


async def section_or_404(section_id: str, module: ModuleDep) -> Section:
    section = module.section(section_id)
    if section is None:
        raise HTTPException(404)
    return section


SectionDep = Annotated[Section, Depends(section_or_404)]


async def prompt_or_404(prompt_id: str, module: ModuleDep) -> Reflection:
    prompt = module.reflections.get(prompt_id)
    if prompt is None:
        raise HTTPException(404)
    return prompt


async def vignette_or_404(vignette_id: str, module: ModuleDep) -> Vignette:
    vignette = module.vignettes.get(vignette_id)
    if vignette is None:
        raise HTTPException(404)
    return vignette


async def check_or_404(check_id: str, module: ModuleDep) -> Check:
    check = module.checks.get(check_id)
    if check is None:
        raise HTTPException(404)
    return check


PromptDep = Annotated[Reflection, Depends(prompt_or_404)]
VignetteDep = Annotated[Vignette, Depends(vignette_or_404)]
CheckDep = Annotated[Check, Depends(check_or_404)]
