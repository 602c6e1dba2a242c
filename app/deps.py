"""Shared route dependencies: the catalogue, modules and sections by URL."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request

from app.content.catalogue import Catalogue
from app.content.model import Module, Section


def get_catalogue(request: Request) -> Catalogue:
    return request.app.state.catalogue


CatalogueDep = Annotated[Catalogue, Depends(get_catalogue)]


def module_or_404(slug: str, catalogue: CatalogueDep) -> Module:
    module = catalogue.get(slug)
    if module is None:
        raise HTTPException(404)
    return module


ModuleDep = Annotated[Module, Depends(module_or_404)]


def section_or_404(section_id: str, module: ModuleDep) -> Section:
    section = module.section(section_id)
    if section is None:
        raise HTTPException(404)
    return section


SectionDep = Annotated[Section, Depends(section_or_404)]
