"""The list of classes, a new class, one class's overview and its join code (projector page, QR code)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, HTTPException, Request
from fastapi.responses import Response

from app.access import TaughtClassDep, WritableClassDep
from app.auth import LecturerUser
from app.db import ReadSession, WriteSession
from app.deps import CatalogueDep
from app.i18n import gettext as _
from app.models import CourseClass, Role
from app.routes.classes.pages import assignable_modules, class_url, page_context, redirect
from app.routing import Router
from app.services import classes, join_links
from app.services.dashboard import lecturer_classes
from app.templating import confirm_first, public_base_url, render

router = Router(prefix="/classes", tags=["classes"])


@router.get("")
def list_classes(request: Request, session: ReadSession, user: LecturerUser):
    taught = lecturer_classes(session, user=user)
    others = []
    if user.role == Role.ADMIN:
        mine = {item.course_class.id for item in taught}
        others = [
            item for item in lecturer_classes(session, user=user, every_class=True) if item.course_class.id not in mine
        ]
    return render(request, "classes/index.html", {"classes": taught, "other_classes": others}, private=True)


@router.get("/new")
def new_class_form(request: Request, user: LecturerUser):
    return render(request, "classes/new.html", {"values": {}, "errors": {}}, private=True)


@router.post("/new")
def create_class(
    request: Request,
    session: WriteSession,
    user: LecturerUser,
    name: Annotated[str, Form()] = "",
    programme: Annotated[str, Form()] = "",
    academic_year: Annotated[str, Form()] = "",
):
    values = {"name": name.strip(), "programme": programme.strip(), "academic_year": academic_year.strip()}
    errors = classes.class_field_errors(**values)
    if errors:
        return render(request, "classes/new.html", {"values": values, "errors": errors}, status_code=400, private=True)
    course_class = classes.create_class(session, lecturer=user, **values)
    return redirect(class_url(course_class, notice="created"))


@router.get("/{class_id}")
def class_overview(request: Request, session: ReadSession, catalogue: CatalogueDep, course_class: TaughtClassDep):
    assignments = [
        (a, catalogue.get(a.module_slug)) for a in classes.class_assignments(session, course_class=course_class)
    ]
    students = len(classes.class_students(session, course_class=course_class))
    context = page_context(
        request,
        course_class,
        "overview",
        assignments=assignments,
        students=students,
        join_url=_join_url(request, course_class),
        can_assign=bool(assignable_modules(session, catalogue, course_class)),
    )
    return render(request, "classes/overview.html", context, private=True)


def _join_url(request: Request, course_class: CourseClass) -> str | None:
    if not course_class.join_code:
        return None
    return join_links.join_url(public_base_url(request), course_class.join_code)


@router.get("/{class_id}/join")
def projector_page(request: Request, course_class: TaughtClassDep):
    """The code, the link and a QR code, large, for the projector in the first lesson."""
    return render(
        request,
        "classes/projector.html",
        {"course_class": course_class, "join_url": _join_url(request, course_class)},
        private=True,
    )


@router.get("/{class_id}/join-code.svg")
def join_qr_code(request: Request, course_class: TaughtClassDep):
    url = _join_url(request, course_class)
    if url is None:
        raise HTTPException(404, _("This class has no open class code."))
    svg = join_links.qr_svg(url, title=_("QR code to join %(class)s") % {"class": course_class.name})
    return Response(svg, media_type="image/svg+xml", headers={"Cache-Control": "no-store"})


@router.post("/{class_id}/join-code")
def change_join_code(
    request: Request,
    session: WriteSession,
    course_class: WritableClassDep,
    action: Annotated[str, Form()] = "",
    confirmed: Annotated[str, Form()] = "",
):
    if action not in ("rotate", "close"):
        raise HTTPException(400, _("Choose whether to renew or close the class code."))
    if action == "rotate" and course_class.join_code and confirmed != "1":
        return confirm_first(
            request,
            title=_("A new class code for %(class)s?") % {"class": course_class.name},
            explanation=_(
                "The current code stops working at once: students who have not joined "
                "yet need the new one. Students already in the class stay in it."
            ),
            action=f"/classes/{course_class.id}/join-code",
            fields={"action": "rotate"},
            button=_("Make a new code"),
            back=class_url(course_class),
        )
    if action == "close" and confirmed != "1":
        return confirm_first(
            request,
            title=_("Close the class code of %(class)s?") % {"class": course_class.name},
            explanation=_(
                "Nobody can join with a code any more until you open it again with a "
                "new code. Students already in the class stay in it."
            ),
            action=f"/classes/{course_class.id}/join-code",
            fields={"action": "close"},
            button=_("Close the code"),
            back=class_url(course_class),
        )
    if action == "rotate":
        classes.rotate_join_code(session, course_class=course_class)
        notice = "code-rotated"
    else:
        classes.close_join_code(session, course_class=course_class)
        notice = "code-closed"
    return redirect(class_url(course_class, notice=notice))
