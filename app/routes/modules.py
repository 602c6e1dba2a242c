from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse

from app.content.navigation import section_navigation
from app.deps import ModuleDep, SectionDep
from app.templating import render

router = APIRouter(prefix="/modules", tags=["modules"])


@router.get("/{slug}")
def read_module(request: Request, module: ModuleDep):
    return render(request, "modules/overview.html", {"module": module})


@router.get("/{slug}/media/{path:path}")
def read_media(module: ModuleDep, path: str):
    folder = module.folder.resolve()
    target = (folder / path).resolve()
    if not target.is_relative_to(folder) or not target.is_file() or target.suffix == ".md":
        raise HTTPException(404)
    return FileResponse(target, headers={"Cache-Control": "public, max-age=3600"})


@router.get("/{slug}/{section_id}")
def read_section(request: Request, module: ModuleDep, section: SectionDep):
    context = {"module": module, "section": section, "nav": section_navigation(module, section)}
    return render(request, "modules/section.html", context, fragment="modules/_section.html")
