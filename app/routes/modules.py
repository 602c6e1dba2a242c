from fastapi import HTTPException, Request
from fastapi.responses import FileResponse

from app.auth import OptionalUser
from app.content.markdown import usable_file_name
from app.db import ReadSession
from app.deps import ModuleDep, SectionDep
from app.models import stored_id
from app.reader import is_student, section_page
from app.routing import Router
from app.services import progress as progress_service
from app.templating import render

router = Router(prefix="/modules", tags=["modules"])


@router.get("/{slug}")
def read_module(request: Request, session: ReadSession, module: ModuleDep, user: OptionalUser):
    context: dict[str, object] = {"module": module, "progress": None, "resume_section": None}
    if is_student(user):
        progress = progress_service.module_progress(session, user_id=stored_id(user), module=module)
        context["progress"] = progress
        context["resume_section"] = (
            next((s for s in module.sections if s.id not in progress.sections_visited), None)
            if progress.started
            else None
        )
    return render(request, "modules/overview.html", context, private=is_student(user))


@router.get("/{slug}/media/{path:path}")
def read_media(module: ModuleDep, path: str):
    if not usable_file_name(path):  # a NUL or an over-long name: no file by that name can exist
        raise HTTPException(404)
    folder = module.folder.resolve()
    try:
        target = (folder / path).resolve()
        found = target.is_relative_to(folder) and target.is_file() and target.suffix != ".md"
    except (OSError, ValueError, RuntimeError):
        found = False
    if not found:
        raise HTTPException(404)
    return FileResponse(target, headers={"Cache-Control": "public, max-age=3600"})


@router.get("/{slug}/{section_id}")
def read_section(request: Request, session: ReadSession, module: ModuleDep, section: SectionDep, user: OptionalUser):
    return section_page(request, session, user, module, section)
