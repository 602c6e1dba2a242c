"""Search (module content for everyone; classes and students for lecturers) and the whole-module print page."""

from __future__ import annotations

from fastapi import Request
from sqlmodel import col, select

from app.auth import OptionalUser
from app.db import ReadSession
from app.deps import CatalogueDep, ModuleDep
from app.models import Answer
from app.routing import Router
from app.services import search
from app.templating import render

router = Router(tags=["search"])


@router.get("/search")
def read_search(
    request: Request, session: ReadSession, catalogue: CatalogueDep, user: OptionalUser, q: str = "", module: str = ""
):
    query = q[: search.MAX_QUERY]
    within = catalogue.get(module) if module else None
    if within is not None and within.draft:
        within = None
    hits = search.search_content(request.app.state.engine, catalogue, query, module=within)
    classes = students = []
    if user is not None and user.role in ("lecturer", "admin") and within is None:
        classes = search.search_classes(session, user=user, query=query)
        students = search.search_students(session, user=user, query=query)
    context = {
        "q": query,
        "within": within,
        "hits": hits,
        "classes": classes,
        "students": students,
        "searched": bool(search.words(query)),
        "too_long": len(q) > search.MAX_QUERY,
    }
    return render(request, "search/index.html", context, private=user is not None)


@router.get("/print/modules/{slug}")
def print_module(request: Request, session: ReadSession, module: ModuleDep, user: OptionalUser, answers: str = ""):
    can_show = user is not None and user.role == "student"
    with_answers = can_show and answers == "1"
    own: dict[str, str] = {}
    if with_answers and user is not None:
        # The student's own texts only; the newest per prompt when they wrote for two classes.
        for answer in session.exec(
            select(Answer)
            .where(col(Answer.user_id) == user.id, col(Answer.module_slug) == module.slug)
            .order_by(col(Answer.updated_at))
        ):
            if answer.text:
                own[answer.prompt_id] = answer.text
    return render(
        request,
        "print/module.html",
        {"module": module, "answers": own, "with_answers": with_answers, "can_show_answers": can_show},
        private=can_show,
    )
