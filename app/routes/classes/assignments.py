"""Assignments of a class: assigning a module, its dates, extensions, cancelling."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, HTTPException, Request

from app.access import AssignmentDep, TaughtClassDep, WritableClassDep
from app.db import ReadSession, WriteSession
from app.deps import CatalogueDep, DbId
from app.forms import parse_int
from app.i18n import gettext as _
from app.routes.classes.pages import assignable_modules, class_url, page_context, redirect
from app.routing import Router
from app.services import classes
from app.services.classes import ClassError
from app.templating import confirm_first, render

router = Router(prefix="/classes", tags=["classes"])


def _new_assignment_page(
    request: Request, session, catalogue, course_class, *, values: dict, errors: dict, status_code: int = 200
):
    context = page_context(
        request,
        course_class,
        "overview",
        modules=assignable_modules(session, catalogue, course_class),
        values=values,
        errors=errors,
    )
    return render(request, "classes/assignment_new.html", context, status_code=status_code, private=True)


@router.get("/{class_id}/assignments/new")
def new_assignment_form(
    request: Request, session: ReadSession, catalogue: CatalogueDep, course_class: WritableClassDep, module: str = ""
):
    return _new_assignment_page(request, session, catalogue, course_class, values={"module": module[:60]}, errors={})


@router.post("/{class_id}/assignments/new")
def create_assignment(
    request: Request,
    session: WriteSession,
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
    return redirect(class_url(course_class, notice="assigned"))


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
    context = page_context(
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
    session: ReadSession,
    catalogue: CatalogueDep,
    course_class: TaughtClassDep,
    assignment: AssignmentDep,
):
    return _assignment_page(request, session, catalogue, course_class, assignment)


@router.post("/{class_id}/assignments/{assignment_id}")
def update_assignment(
    request: Request,
    session: WriteSession,
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
    return redirect(class_url(course_class, f"/assignments/{assignment.id}", notice="assignment-saved"))


@router.post("/{class_id}/assignments/{assignment_id}/extensions")
def grant_extension(
    request: Request,
    session: WriteSession,
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
    return redirect(class_url(course_class, f"/assignments/{assignment.id}", notice="extension-granted"))


@router.post("/{class_id}/assignments/{assignment_id}/extensions/{user_id}/remove")
def remove_extension(session: WriteSession, course_class: WritableClassDep, assignment: AssignmentDep, user_id: DbId):
    if not classes.is_enrolled(session, course_class=course_class, user_id=user_id):
        raise HTTPException(404)
    classes.remove_extension(session, assignment=assignment, user_id=user_id)
    return redirect(class_url(course_class, f"/assignments/{assignment.id}", notice="extension-removed"))


@router.post("/{class_id}/assignments/{assignment_id}/cancel")
def cancel_assignment(
    request: Request,
    session: WriteSession,
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
            back=class_url(course_class, f"/assignments/{assignment.id}"),
        )
    classes.cancel_assignment(session, assignment=assignment)
    return redirect(class_url(course_class, notice="cancelled"))
