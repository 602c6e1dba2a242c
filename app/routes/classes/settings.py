"""A class's settings, its lecturers, archiving and restoring it."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, HTTPException, Request

from app.access import TaughtClassDep, WritableClassDep
from app.auth import LecturerUser
from app.db import ReadSession, WriteSession
from app.deps import DbId
from app.i18n import gettext as _
from app.models import CourseClass, Role
from app.routes.classes.pages import class_url, page_context, redirect
from app.routing import Router
from app.services import classes
from app.services.classes import ClassError
from app.templating import confirm_first, render

router = Router(prefix="/classes", tags=["classes"])


def _settings_page(
    request: Request, session, course_class: CourseClass, *, values: dict | None = None, status_code: int = 200, **extra
):
    values = values or {
        "name": course_class.name,
        "programme": course_class.programme,
        "academic_year": course_class.academic_year,
        "min_group_size": str(course_class.min_group_size),
        "shared_pseudonyms": course_class.shared_pseudonyms,
    }
    context = page_context(
        request,
        course_class,
        "settings",
        values=values,
        lecturers=classes.class_lecturers(session, course_class=course_class),
        **{"lecturer_email": "", "min_k": classes.MIN_GROUP_SIZE, "max_k": classes.MAX_GROUP_SIZE, **extra},
    )
    return render(request, "classes/settings.html", context, status_code=status_code, private=True)


@router.get("/{class_id}/settings")
def class_settings(request: Request, session: ReadSession, course_class: TaughtClassDep):
    return _settings_page(request, session, course_class)


@router.post("/{class_id}/settings")
def save_settings(
    request: Request,
    session: WriteSession,
    course_class: WritableClassDep,
    name: Annotated[str, Form()] = "",
    programme: Annotated[str, Form()] = "",
    academic_year: Annotated[str, Form()] = "",
    min_group_size: Annotated[str, Form()] = "",
    shared_pseudonyms: Annotated[str, Form()] = "",
):
    values = {"name": name.strip(), "programme": programme.strip(), "academic_year": academic_year.strip()}
    shared = shared_pseudonyms == "1"
    errors = classes.class_field_errors(**values)
    size = None
    try:
        size = classes.parse_group_size(min_group_size)
    except ClassError as error:
        errors[error.field] = error.message
    if errors or size is None:  # a size, without errors
        return _settings_page(
            request,
            session,
            course_class,
            values={**values, "min_group_size": min_group_size, "shared_pseudonyms": shared},
            errors=errors,
            status_code=400,
        )
    classes.update_class(session, course_class=course_class, min_group_size=size, shared_pseudonyms=shared, **values)
    return redirect(class_url(course_class, "/settings", notice="saved"))


@router.post("/{class_id}/lecturers")
def add_lecturer(
    request: Request, session: WriteSession, course_class: WritableClassDep, lecturer_email: Annotated[str, Form()] = ""
):
    try:
        classes.add_lecturer(session, course_class=course_class, email=lecturer_email[:254])
    except ClassError as error:
        return _settings_page(
            request,
            session,
            course_class,
            status_code=400,
            lecturer_email=lecturer_email[:254],
            errors={"lecturer_email": error.message},
        )
    return redirect(class_url(course_class, "/settings", notice="lecturer-added"))


@router.post("/{class_id}/lecturers/{lecturer_id}/remove")
def remove_lecturer(
    request: Request, session: WriteSession, user: LecturerUser, course_class: WritableClassDep, lecturer_id: DbId
):
    try:
        removed = classes.remove_lecturer(session, course_class=course_class, user_id=lecturer_id)
    except ClassError as error:
        return _settings_page(request, session, course_class, status_code=400, errors={"lecturers": error.message})
    if not removed:
        raise HTTPException(404)
    if lecturer_id == user.id and user.role != Role.ADMIN:
        return redirect("/classes")  # you no longer teach it
    return redirect(class_url(course_class, "/settings", notice="lecturer-removed"))


@router.post("/{class_id}/archive")
def archive_class(
    request: Request,
    session: WriteSession,
    course_class: TaughtClassDep,
    action: Annotated[str, Form()] = "",
    confirmed: Annotated[str, Form()] = "",
):
    if action == "archive" and course_class.archived_at is None and confirmed != "1":
        return confirm_first(
            request,
            title=_("Archive %(class)s?") % {"class": course_class.name},
            explanation=_(
                "The class becomes read-only: students can no longer submit or join, "
                "and nothing can be assigned. You can still read and export everything, "
                "and restore the class later from its settings."
            ),
            action=f"/classes/{course_class.id}/archive",
            fields={"action": "archive"},
            button=_("Archive the class"),
            back=class_url(course_class, "/settings"),
        )
    if action == "archive" and course_class.archived_at is None:
        classes.archive_class(session, course_class=course_class)
        return redirect(class_url(course_class, notice="archived"))
    if action == "restore" and course_class.archived_at is not None:
        classes.restore_class(session, course_class=course_class)
        return redirect(class_url(course_class, notice="restored"))
    raise HTTPException(400, _("Choose whether to archive or restore the class."))
