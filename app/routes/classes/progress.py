"""The progress matrix of a class and its CSV."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response

from app.access import LecturedClassDep
from app.db import ReadSession, write_for
from app.deps import CatalogueDep
from app.models import school_today
from app.routes.classes.pages import class_url, page_context
from app.routing import Router
from app.services import classes, progress_summary
from app.templating import render

router = Router(prefix="/classes", tags=["classes"])


@router.get("/{class_id}/progress")
def class_progress(
    request: Request,
    session: ReadSession,
    catalogue: CatalogueDep,
    course_class: LecturedClassDep,
    sort: str = "name",
    show: str = "all",
    page: str = "1",
):
    progress = classes.class_progress(
        session, course_class=course_class, catalogue=catalogue, sort=sort, show=show, page=page[:12]
    )
    _store_stale(request, session, progress)
    context = page_context(
        request,
        course_class,
        "progress",
        progress=progress,
        today=school_today(),
        page=progress.page,
        page_path=class_url(course_class, "/progress"),
        page_query={"sort": progress.sort, "show": progress.show},
    )
    return render(request, "classes/progress.html", context, fragment="classes/_progress_table.html", private=True)


@router.get("/{class_id}/progress.csv")
def class_progress_csv(
    request: Request,
    session: ReadSession,
    catalogue: CatalogueDep,
    course_class: LecturedClassDep,
    sort: str = "name",
    show: str = "all",
):
    """Every student the page's filter shows, in its order: not one page of them."""
    progress = classes.class_progress(
        session, course_class=course_class, catalogue=catalogue, sort=sort, show=show, per_page=None
    )
    _store_stale(request, session, progress)
    filename = f"progress-class-{course_class.id}.csv"
    # The byte-order mark makes spreadsheet programs read names with accents correctly.
    return Response(
        "\ufeff" + classes.progress_csv(progress),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )


def _store_stale(request: Request, session, progress: classes.ClassProgress) -> None:
    if progress.stale:
        with write_for(request, session) as writer:
            progress_summary.store_stale(writer, user_ids=progress.stale, modules=progress.modules)
