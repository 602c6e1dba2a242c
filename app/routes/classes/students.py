"""A class's students: the roster, invitations, roster import, removing a student."""

from __future__ import annotations

from typing import Annotated

from fastapi import File, Form, HTTPException, Request, UploadFile

from app.access import TaughtClassDep, WritableClassDep
from app.auth import LecturerUser
from app.db import ReadSession, WriteSession
from app.deps import DbId
from app.forms import parse_int
from app.i18n import gettext as _
from app.models import CourseClass, stored_id
from app.routes.classes.pages import class_url, page_context, redirect
from app.routing import Router
from app.services import classes, erasure, roster
from app.templating import confirm_first, render

router = Router(prefix="/classes", tags=["classes"])


def _students_page(request: Request, session, course_class: CourseClass, *, status_code: int = 200, **extra):
    counts = {
        key: request.query_params.get(key, "") for key in ("enrolled", "invited", "reinvited", "already", "unsent")
    }
    imported = {key: number for key, value in counts.items() if (number := parse_int(value)) is not None}
    context = page_context(
        request,
        course_class,
        "students",
        students=classes.class_students(session, course_class=course_class),
        invitations=classes.pending_invitations(session, course_class=course_class),
        imported=imported,
        **{"roster_text": "", "problems": [], **extra},
    )
    return render(request, "classes/students.html", context, status_code=status_code, private=True)


@router.get("/{class_id}/students")
def class_students(request: Request, session: ReadSession, course_class: TaughtClassDep):
    return _students_page(request, session, course_class)


@router.post("/{class_id}/students/import")
def import_roster(
    request: Request,
    session: WriteSession,
    user: LecturerUser,
    course_class: WritableClassDep,
    roster_file: Annotated[UploadFile | None, File()] = None,
    roster_text: Annotated[str, Form()] = "",
):
    text = roster_text
    if roster_file is not None and roster_file.filename:
        data = roster_file.file.read(roster.MAX_BYTES + 1)
        text = roster.decode_upload(data)
    if not text.strip():
        return _students_page(
            request,
            session,
            course_class,
            status_code=400,
            roster_text=roster_text,
            errors={"roster": _("Choose a CSV file or paste the lines of your roster.")},
        )
    parsed = roster.parse_roster(text)
    problems = parsed.problems or roster.check_accounts(session, lines=parsed.lines)
    if problems:
        return _students_page(
            request,
            session,
            course_class,
            status_code=400,
            roster_text=roster_text or text,
            problems=problems,
            errors={"roster": _("Nothing was imported. Correct these lines and import again.")},
        )
    result = roster.import_roster(
        session,
        course_class=course_class,
        lines=parsed.lines,
        settings=request.app.state.settings,
        lecturer_name=user.display_name,
    )
    counts = {
        "enrolled": len(result.enrolled),
        "invited": len(result.invited),
        "reinvited": len(result.reinvited),
        "already": len(result.already),
        "unsent": len(result.unsent),
    }
    query = "&".join(f"{key}={value}" for key, value in counts.items())
    return redirect(class_url(course_class, f"/students?{query}"))


@router.post("/{class_id}/students/{user_id}/remove")
def remove_student(
    request: Request,
    session: WriteSession,
    course_class: WritableClassDep,
    user_id: DbId,
    confirmed: Annotated[str, Form()] = "",
):
    student = next((s for s in classes.class_students(session, course_class=course_class) if s.id == user_id), None)
    if student is None:
        raise HTTPException(404)
    if confirmed != "1":
        return confirm_first(
            request,
            title=_("Remove %(name)s from %(class)s?") % {"name": student.display_name, "class": course_class.name},
            explanation=_(
                "They no longer see the class's assignments and leave its progress "
                "overview; their extensions go. Answers they already submitted stay in "
                "the review as they are: making them disappear would show which "
                "answers were theirs. They can join again with the class code."
            ),
            action=f"/classes/{course_class.id}/students/{student.id}/remove",
            fields={},
            button=_("Remove from the class"),
            back=class_url(course_class, "/students"),
        )
    erasure.leave_class(session, user=student, class_id=stored_id(course_class), keep_answers=True)
    return redirect(class_url(course_class, "/students", notice="student-removed"))


@router.post("/{class_id}/invitations/{invitation_id}/withdraw")
def withdraw_invitation(session: WriteSession, course_class: WritableClassDep, invitation_id: DbId):
    if not classes.withdraw_invitation(session, course_class=course_class, invitation_id=invitation_id):
        raise HTTPException(404)
    return redirect(class_url(course_class, "/students", notice="invitation-withdrawn"))
