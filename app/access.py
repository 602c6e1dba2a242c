"""Who may reach a class, its assignments and its review: the authorisation dependencies, in one place.

Every route that works on a class takes one of these instead of checking by hand, so that a route cannot
forget a rule and no two routes phrase the same rule differently. Anything a user may not see is a 404,
as if it did not exist; an archived class that is read but not changed is a 409 on writes.

- `TaughtClassDep`: a class the user teaches (administrators: every class; the class's pages, settings,
  roster and assignments).
- `LecturedClassDep`: only a class the user is a lecturer of: the progress matrix and the review are
  for the people who teach the class. An administrator reads them only after adding themselves as a
  lecturer (and then appears in the class's lecturer list).
- `WritableClassDep` / `WritableLecturedClassDep`: the same, not archived.
- `AssignmentDep`, `AssignedModuleDep`, `ReviewedPromptDep`: an assignment of the class, a module
  assigned to it, a reflection prompt of that module.
- `answer_for_ref`: an answer of the review by its opaque ref, only among this class's submitted answers.

The user-level dependencies (`CurrentUser`, `LecturerUser`, `AdminUser`…) are in app/auth.py; the
catalogue's (`ModuleDep`, `SectionDep`…) in app/deps.py.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request

from app.auth import LecturerUser
from app.content.model import Module, Reflection
from app.db import SessionDep, as_step
from app.deps import CatalogueDep, DbId
from app.i18n import gettext as _
from app.models import Assignment, CourseClass
from app.services import classes, review


@as_step
def taught_class_or_404(class_id: DbId, session: SessionDep, user: LecturerUser) -> CourseClass:
    course_class = classes.taught_class(session, user=user, class_id=class_id)
    if course_class is None:
        raise HTTPException(404)
    return course_class


TaughtClassDep = Annotated[CourseClass, Depends(taught_class_or_404)]


@as_step
def lectured_class_or_404(class_id: DbId, session: SessionDep, user: LecturerUser) -> CourseClass:
    course_class = classes.taught_class(session, user=user, class_id=class_id, as_lecturer=True)
    if course_class is None:
        raise HTTPException(404)
    return course_class


LecturedClassDep = Annotated[CourseClass, Depends(lectured_class_or_404)]


def _not_archived(course_class: CourseClass) -> CourseClass:
    try:
        return classes.ensure_writable(course_class)
    except classes.ArchivedClassError as refusal:
        raise HTTPException(409, refusal.message) from None


async def writable_class(course_class: TaughtClassDep) -> CourseClass:
    return _not_archived(course_class)


WritableClassDep = Annotated[CourseClass, Depends(writable_class)]


async def writable_lectured_class(course_class: LecturedClassDep) -> CourseClass:
    return _not_archived(course_class)


WritableLecturedClassDep = Annotated[CourseClass, Depends(writable_lectured_class)]


@as_step
def assignment_or_404(assignment_id: DbId, session: SessionDep, course_class: TaughtClassDep) -> Assignment:
    assignment = classes.class_assignment(session, course_class=course_class, assignment_id=assignment_id)
    if assignment is None:
        raise HTTPException(404)
    return assignment


AssignmentDep = Annotated[Assignment, Depends(assignment_or_404)]


@as_step
def assigned_module_or_404(
    slug: str, session: SessionDep, catalogue: CatalogueDep, course_class: LecturedClassDep
) -> Module:
    """Only modules assigned to this class are reviewed."""
    module = catalogue.get(slug)
    if module is None or classes.assignment_for_module(session, course_class=course_class, module_slug=slug) is None:
        raise HTTPException(404)
    return module


AssignedModuleDep = Annotated[Module, Depends(assigned_module_or_404)]


async def reviewed_prompt_or_404(prompt_id: str, module: AssignedModuleDep) -> Reflection:
    reflection = module.reflections.get(prompt_id)
    if reflection is None:
        raise HTTPException(404)
    return reflection


# Not app.deps.PromptDep (a prompt of any module a student reads): a prompt of a module assigned to the class.
ReviewedPromptDep = Annotated[Reflection, Depends(reviewed_prompt_or_404)]


def answer_for_ref(
    request: Request, session, course_class: CourseClass, module: Module, reflection: Reflection, ref: str
):
    """The review's answer behind `ref`: 400 without one, 404 when it is not a submitted answer shown here."""
    if not ref:
        raise HTTPException(400, _("Choose an answer."))
    found = review.resolve_ref(
        session,
        secret=request.app.state.secret,
        course_class=course_class,
        module=module,
        prompt_id=reflection.id,
        ref=ref[:64],
    )
    if found is None:
        raise HTTPException(404)
    return found
