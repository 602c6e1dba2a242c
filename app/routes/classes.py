"""Lecturers manage their classes: join codes, rosters, co-lecturers, assignments, extensions, progress."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import RedirectResponse, Response

from app.access import AssignmentDep, LecturedClassDep, TaughtClassDep, WritableClassDep
from app.auth import LecturerUser
from app.db import SessionDep
from app.deps import CatalogueDep, DbId
from app.forms import parse_int
from app.i18n import gettext as _
from app.models import CourseClass, Role, school_today, stored_id
from app.services import classes, erasure, join_links, roster
from app.services.classes import ClassError
from app.services.dashboard import lecturer_classes
from app.templating import confirm_first, notice_text, public_base_url, render

router = APIRouter(prefix="/classes", tags=["classes"])

NOTICES = {
    "created": lambda: _("The class was created. Give your students the class code, or import a roster."),
    "code-rotated": lambda: _("The class has a new code. The old code no longer works."),
    "code-closed": lambda: _("The class code is closed: nobody can join with a code until you open it again."),
    "saved": lambda: _("The changes were saved."),
    "lecturer-added": lambda: _("The lecturer was added to the class."),
    "lecturer-removed": lambda: _("The lecturer was removed from the class."),
    "archived": lambda: _("The class is archived. It can still be read, but not changed."),
    "restored": lambda: _("The class is in use again. Open its code when students need to join."),
    "assigned": lambda: _("The module was assigned. Students see it on their dashboard."),
    "assignment-saved": lambda: _("The assignment was changed."),
    "cancelled": lambda: _("The assignment was cancelled. The students' work in the module is kept."),
    "extension-granted": lambda: _("The extension was granted."),
    "extension-removed": lambda: _("The extension was removed."),
    "invitation-withdrawn": lambda: _("The invitation was withdrawn; its link no longer works."),
    "student-removed": lambda: _("The student was removed from the class."),
}


def _class_url(course_class: CourseClass, tail: str = "", notice: str | None = None) -> str:
    url = f"/classes/{course_class.id}{tail}"
    return f"{url}?notice={notice}" if notice else url


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _context(request: Request, course_class: CourseClass, tab: str, **extra) -> dict:
    context = {
        "course_class": course_class,
        "tab": tab,
        "notice": notice_text(NOTICES, request.query_params.get("notice")),
        "errors": {},
    }
    context.update(extra)
    return context


# -- the list and a new class -------------------------------------------------------------------


@router.get("")
def list_classes(request: Request, session: SessionDep, user: LecturerUser):
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
    session: SessionDep,
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
    return _redirect(_class_url(course_class, notice="created"))


# -- one class ----------------------------------------------------------------------------------


@router.get("/{class_id}")
def class_overview(request: Request, session: SessionDep, catalogue: CatalogueDep, course_class: TaughtClassDep):
    assignments = [
        (a, catalogue.get(a.module_slug)) for a in classes.class_assignments(session, course_class=course_class)
    ]
    students = len(classes.class_students(session, course_class=course_class))
    context = _context(
        request,
        course_class,
        "overview",
        assignments=assignments,
        students=students,
        join_url=_join_url(request, course_class),
        can_assign=bool(_assignable(session, catalogue, course_class)),
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
    session: SessionDep,
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
            back=_class_url(course_class),
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
            back=_class_url(course_class),
        )
    if action == "rotate":
        classes.rotate_join_code(session, course_class=course_class)
        notice = "code-rotated"
    else:
        classes.close_join_code(session, course_class=course_class)
        notice = "code-closed"
    return _redirect(_class_url(course_class, notice=notice))


# -- students, invitations and roster import ----------------------------------------------------


def _students_page(request: Request, session, course_class: CourseClass, *, status_code: int = 200, **extra):
    counts = {
        key: request.query_params.get(key, "") for key in ("enrolled", "invited", "reinvited", "already", "unsent")
    }
    imported = {key: number for key, value in counts.items() if (number := parse_int(value)) is not None}
    context = _context(
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
def class_students(request: Request, session: SessionDep, course_class: TaughtClassDep):
    return _students_page(request, session, course_class)


@router.post("/{class_id}/students/import")
def import_roster(
    request: Request,
    session: SessionDep,
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
    return _redirect(_class_url(course_class, f"/students?{query}"))


@router.post("/{class_id}/students/{user_id}/remove")
def remove_student(
    request: Request,
    session: SessionDep,
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
            back=_class_url(course_class, "/students"),
        )
    erasure.leave_class(session, user=student, class_id=stored_id(course_class), keep_answers=True)
    return _redirect(_class_url(course_class, "/students", notice="student-removed"))


@router.post("/{class_id}/invitations/{invitation_id}/withdraw")
def withdraw_invitation(session: SessionDep, course_class: WritableClassDep, invitation_id: DbId):
    if not classes.withdraw_invitation(session, course_class=course_class, invitation_id=invitation_id):
        raise HTTPException(404)
    return _redirect(_class_url(course_class, "/students", notice="invitation-withdrawn"))


# -- settings, lecturers, archive ---------------------------------------------------------------


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
    context = _context(
        request,
        course_class,
        "settings",
        values=values,
        lecturers=classes.class_lecturers(session, course_class=course_class),
        **{"lecturer_email": "", "min_k": classes.MIN_GROUP_SIZE, "max_k": classes.MAX_GROUP_SIZE, **extra},
    )
    return render(request, "classes/settings.html", context, status_code=status_code, private=True)


@router.get("/{class_id}/settings")
def class_settings(request: Request, session: SessionDep, course_class: TaughtClassDep):
    return _settings_page(request, session, course_class)


@router.post("/{class_id}/settings")
def save_settings(
    request: Request,
    session: SessionDep,
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
    return _redirect(_class_url(course_class, "/settings", notice="saved"))


@router.post("/{class_id}/lecturers")
def add_lecturer(
    request: Request, session: SessionDep, course_class: WritableClassDep, lecturer_email: Annotated[str, Form()] = ""
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
    return _redirect(_class_url(course_class, "/settings", notice="lecturer-added"))


@router.post("/{class_id}/lecturers/{lecturer_id}/remove")
def remove_lecturer(
    request: Request, session: SessionDep, user: LecturerUser, course_class: WritableClassDep, lecturer_id: DbId
):
    try:
        removed = classes.remove_lecturer(session, course_class=course_class, user_id=lecturer_id)
    except ClassError as error:
        return _settings_page(request, session, course_class, status_code=400, errors={"lecturers": error.message})
    if not removed:
        raise HTTPException(404)
    if lecturer_id == user.id and user.role != Role.ADMIN:
        return _redirect("/classes")  # you no longer teach it
    return _redirect(_class_url(course_class, "/settings", notice="lecturer-removed"))


@router.post("/{class_id}/archive")
def archive_class(
    request: Request,
    session: SessionDep,
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
            back=_class_url(course_class, "/settings"),
        )
    if action == "archive" and course_class.archived_at is None:
        classes.archive_class(session, course_class=course_class)
        return _redirect(_class_url(course_class, notice="archived"))
    if action == "restore" and course_class.archived_at is not None:
        classes.restore_class(session, course_class=course_class)
        return _redirect(_class_url(course_class, notice="restored"))
    raise HTTPException(400, _("Choose whether to archive or restore the class."))


# -- assignments and extensions -----------------------------------------------------------------


def _assignable(session, catalogue, course_class: CourseClass):
    taken = {a.module_slug for a in classes.class_assignments(session, course_class=course_class)}
    return [module for module in catalogue.published() if module.slug not in taken]


def _new_assignment_page(
    request: Request, session, catalogue, course_class, *, values: dict, errors: dict, status_code: int = 200
):
    context = _context(
        request,
        course_class,
        "overview",
        modules=_assignable(session, catalogue, course_class),
        values=values,
        errors=errors,
    )
    return render(request, "classes/assignment_new.html", context, status_code=status_code, private=True)


@router.get("/{class_id}/assignments/new")
def new_assignment_form(
    request: Request, session: SessionDep, catalogue: CatalogueDep, course_class: WritableClassDep, module: str = ""
):
    return _new_assignment_page(request, session, catalogue, course_class, values={"module": module[:60]}, errors={})


@router.post("/{class_id}/assignments/new")
def create_assignment(
    request: Request,
    session: SessionDep,
    catalogue: CatalogueDep,
    course_class: WritableClassDep,
    module: Annotated[str, Form()] = "",
    opens_on: Annotated[str, Form()] = "",
    due_on: Annotated[str, Form()] = "",
    due_time: Annotated[str, Form()] = "",
):
    values = {"module": module, "opens_on": opens_on, "due_on": due_on, "due_time": due_time}
    errors = {}
    chosen = catalogue.get(module)
    if chosen is None or chosen.draft:
        errors["module"] = _("Choose a published module.")
    elif classes.assignment_for_module(session, course_class=course_class, module_slug=module) is not None:
        errors["module"] = _("This module is already assigned to the class; change its dates instead.")
    due, opens = _dates(due_on, opens_on, errors)
    at = _due_time(due_time, errors)
    if not errors:
        try:
            classes.check_dates(due_on=due, opens_on=opens)
        except ClassError as error:
            errors[error.field] = error.message
    if errors:
        return _new_assignment_page(
            request, session, catalogue, course_class, values=values, errors=errors, status_code=400
        )
    classes.assign(session, course_class=course_class, module_slug=module, due_on=due, opens_on=opens, due_time=at)
    return _redirect(_class_url(course_class, notice="assigned"))


def _due_time(value: str, errors: dict):
    try:
        return classes.parse_time(value)
    except ClassError as error:
        errors[error.field] = error.message
        return None


def _dates(due_on: str, opens_on: str, errors: dict):
    due = opens = None
    try:
        due = classes.parse_date(due_on, field="due_on", required=True)
    except ClassError as error:
        errors[error.field] = error.message
    try:
        opens = classes.parse_date(opens_on, field="opens_on", required=False)
    except ClassError as error:
        errors[error.field] = error.message
    return due, opens


def _assignment_page(
    request: Request,
    session,
    catalogue,
    course_class,
    assignment,
    *,
    values: dict | None = None,
    extension_values: dict | None = None,
    errors: dict | None = None,
    status_code: int = 200,
):
    values = values or {
        "opens_on": assignment.opens_on.isoformat() if assignment.opens_on else "",
        "due_on": assignment.due_on.isoformat(),
        "due_time": assignment.due_time.strftime("%H:%M") if assignment.due_time else "",
    }
    context = _context(
        request,
        course_class,
        "overview",
        assignment=assignment,
        module=catalogue.get(assignment.module_slug),
        values=values,
        extension_values=extension_values or {},
        extensions=classes.extensions(session, assignment=assignment),
        students=classes.class_students(session, course_class=course_class),
    )
    context["errors"] = errors or {}
    return render(request, "classes/assignment.html", context, status_code=status_code, private=True)


@router.get("/{class_id}/assignments/{assignment_id}")
def read_assignment(
    request: Request,
    session: SessionDep,
    catalogue: CatalogueDep,
    course_class: TaughtClassDep,
    assignment: AssignmentDep,
):
    return _assignment_page(request, session, catalogue, course_class, assignment)


@router.post("/{class_id}/assignments/{assignment_id}")
def update_assignment(
    request: Request,
    session: SessionDep,
    catalogue: CatalogueDep,
    course_class: WritableClassDep,
    assignment: AssignmentDep,
    opens_on: Annotated[str, Form()] = "",
    due_on: Annotated[str, Form()] = "",
    due_time: Annotated[str, Form()] = "",
):
    values = {"opens_on": opens_on, "due_on": due_on, "due_time": due_time}
    errors: dict = {}
    due, opens = _dates(due_on, opens_on, errors)
    at = _due_time(due_time, errors)
    if not errors:
        try:
            classes.update_assignment(session, assignment=assignment, due_on=due, opens_on=opens, due_time=at)
        except ClassError as error:
            errors[error.field] = error.message
    if errors:
        return _assignment_page(
            request, session, catalogue, course_class, assignment, values=values, errors=errors, status_code=400
        )
    return _redirect(_class_url(course_class, f"/assignments/{assignment.id}", notice="assignment-saved"))


@router.post("/{class_id}/assignments/{assignment_id}/extensions")
def grant_extension(
    request: Request,
    session: SessionDep,
    catalogue: CatalogueDep,
    course_class: WritableClassDep,
    assignment: AssignmentDep,
    student: Annotated[str, Form()] = "",
    extension_due_on: Annotated[str, Form()] = "",
):
    extension_values = {"student": student, "extension_due_on": extension_due_on}
    errors: dict[str, str] = {}
    user_id = parse_int(student)
    if user_id is None:
        errors["student"] = _("Choose a student.")
    due = None
    try:
        due = classes.parse_date(extension_due_on, field="extension_due_on", required=True)
    except ClassError as error:
        errors[error.field] = error.message
    if not errors and user_id is not None and due is not None:  # both are, without errors
        try:
            classes.grant_extension(
                session, course_class=course_class, assignment=assignment, user_id=user_id, due_on=due
            )
        except ClassError as error:
            errors[error.field] = error.message
    if errors:
        return _assignment_page(
            request,
            session,
            catalogue,
            course_class,
            assignment,
            extension_values=extension_values,
            errors=errors,
            status_code=400,
        )
    return _redirect(_class_url(course_class, f"/assignments/{assignment.id}", notice="extension-granted"))


@router.post("/{class_id}/assignments/{assignment_id}/extensions/{user_id}/remove")
def remove_extension(session: SessionDep, course_class: WritableClassDep, assignment: AssignmentDep, user_id: DbId):
    if not classes.is_enrolled(session, course_class=course_class, user_id=user_id):
        raise HTTPException(404)
    classes.remove_extension(session, assignment=assignment, user_id=user_id)
    return _redirect(_class_url(course_class, f"/assignments/{assignment.id}", notice="extension-removed"))


@router.post("/{class_id}/assignments/{assignment_id}/cancel")
def cancel_assignment(
    request: Request,
    session: SessionDep,
    catalogue: CatalogueDep,
    course_class: WritableClassDep,
    assignment: AssignmentDep,
    confirmed: Annotated[str, Form()] = "",
):
    if confirmed != "1":
        module = catalogue.get(assignment.module_slug)
        title = module.title if module else assignment.module_slug
        return confirm_first(
            request,
            title=_("Withdraw %(module)s from %(class)s?") % {"module": title, "class": course_class.name},
            explanation=_(
                "Students no longer see it as an assignment of this class, and its "
                "extensions are removed. What students already wrote is kept."
            ),
            action=f"/classes/{course_class.id}/assignments/{assignment.id}/cancel",
            fields={},
            button=_("Withdraw the assignment"),
            back=_class_url(course_class, f"/assignments/{assignment.id}"),
        )
    classes.cancel_assignment(session, assignment=assignment)
    return _redirect(_class_url(course_class, notice="cancelled"))


# -- progress -----------------------------------------------------------------------------------


@router.get("/{class_id}/progress")
def class_progress(
    request: Request,
    session: SessionDep,
    catalogue: CatalogueDep,
    course_class: LecturedClassDep,
    sort: str = "name",
    show: str = "all",
    page: str = "1",
):
    progress = classes.class_progress(
        session, course_class=course_class, catalogue=catalogue, sort=sort, show=show, page=page[:12]
    )
    context = _context(
        request,
        course_class,
        "progress",
        progress=progress,
        today=school_today(),
        page=progress.page,
        page_path=_class_url(course_class, "/progress"),
        page_query={"sort": progress.sort, "show": progress.show},
        # Translated once per page, filled in per cell (hundreds of cells).
        sections_label=_("%(done)s of %(total)s sections read"),
        checks_label=_("%(done)s of %(total)s checks done"),
    )
    return render(request, "classes/progress.html", context, fragment="classes/_progress_table.html", private=True)


@router.get("/{class_id}/progress.csv")
def class_progress_csv(
    session: SessionDep, catalogue: CatalogueDep, course_class: LecturedClassDep, sort: str = "name", show: str = "all"
):
    """Every student the page's filter shows, in its order: not one page of them."""
    progress = classes.class_progress(
        session, course_class=course_class, catalogue=catalogue, sort=sort, show=show, per_page=None
    )
    filename = f"progress-class-{course_class.id}.csv"
    # The byte-order mark makes spreadsheet programs read names with accents correctly.
    return Response(
        "\ufeff" + classes.progress_csv(progress),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )
