"""What the class pages share: their notices, URLs, the context every tab starts from, what can be assigned."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import RedirectResponse

from app.i18n import gettext as _
from app.models import CourseClass
from app.services import classes
from app.templating import notice_text

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


def class_url(course_class: CourseClass, tail: str = "", notice: str | None = None) -> str:
    url = f"/classes/{course_class.id}{tail}"
    return f"{url}?notice={notice}" if notice else url


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def page_context(request: Request, course_class: CourseClass, tab: str, **extra) -> dict:
    context = {
        "course_class": course_class,
        "tab": tab,
        "notice": notice_text(NOTICES, request.query_params.get("notice")),
        "errors": {},
    }
    context.update(extra)
    return context


def assignable_modules(session, catalogue, course_class: CourseClass):
    taken = {a.module_slug for a in classes.class_assignments(session, course_class=course_class)}
    return [module for module in catalogue.published() if module.slug not in taken]
