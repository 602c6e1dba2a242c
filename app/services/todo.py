"""What to do next, on top of each dashboard.

Students: their open assignments that are not complete, due soonest first (overdue marked), and unread
feedback. Lecturers: per class, answers released for review without feedback yet, new replies (from the
review's own released totals: whole rounds of k, never one student's doing), and students not started a
week before a due date (a count with a link to the progress matrix, which names them already).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session

from app.content.catalogue import Catalogue
from app.i18n import gettext as _
from app.i18n import ngettext
from app.models import User, school_today, utcnow
from app.services import classes as classes_service
from app.services.classes import due_moment
from app.services.dashboard import lecturer_classes
from app.services.student_home import StudentHome

NOT_STARTED_DAYS = 7


@dataclass(frozen=True)
class Todo:
    text: str
    link: str
    due: datetime | None = None
    overdue: bool = False


def student_todo(home: StudentHome) -> list[Todo]:
    now = utcnow()
    today = school_today()
    dated: list[tuple[datetime, Todo]] = []
    for assigned, progress in home.assigned:
        if progress.complete or (assigned.opens_on and assigned.opens_on > today):
            continue
        due = due_moment(assigned.due_on, assigned.due_time)
        overdue = due < now
        dated.append(
            (
                due,
                Todo(
                    _("Finish “%(module)s” (%(class)s)")
                    % {"module": assigned.module.title, "class": assigned.class_name},
                    f"/modules/{assigned.module.slug}",
                    due,
                    overdue,
                ),
            )
        )
    items = [todo for _due, todo in sorted(dated, key=lambda pair: pair[0])]
    unread = sum(home.new_feedback.values())
    if unread:
        items.append(
            Todo(
                ngettext("Read %(num)s new feedback", "Read %(num)s new pieces of feedback", unread) % {"num": unread},
                "/my/feedback",
            )
        )
    return items


def lecturer_todo(session: Session, *, user: User, catalogue: Catalogue) -> list[Todo]:
    from app.services.review import assignment_review

    today = school_today()
    items: list[Todo] = []
    for taught in lecturer_classes(session, user=user):
        course_class = taught.course_class
        if course_class.archived_at is not None or not taught.assignments:
            continue
        assignments = classes_service.class_assignments(session, course_class=course_class)
        soon = [a for a in assignments if today <= a.due_on <= today + timedelta(days=NOT_STARTED_DAYS)]
        for assignment in assignments:
            module = catalogue.get(assignment.module_slug)
            if module is None:
                continue
            summary = assignment_review(session, course_class=course_class, module=module)
            for prompt in summary.prompts:
                if not prompt.visible:
                    continue
                link = f"/classes/{course_class.id}/review/{module.slug}/{prompt.reflection.id}"
                values = {"prompt": prompt.reflection.title, "class": course_class.name}
                waiting = max(0, prompt.submitted - prompt.feedback)
                if waiting:
                    items.append(
                        Todo(
                            ngettext(
                                "%(num)s answer to “%(prompt)s” (%(class)s) has no feedback yet",
                                "%(num)s answers to “%(prompt)s” (%(class)s) have no feedback yet",
                                waiting,
                            )
                            % dict(values, num=waiting),
                            link,
                        )
                    )
                if prompt.replies:
                    items.append(
                        Todo(
                            ngettext(
                                "%(num)s reply to feedback on “%(prompt)s” (%(class)s)",
                                "%(num)s replies to feedback on “%(prompt)s” (%(class)s)",
                                prompt.replies,
                            )
                            % dict(values, num=prompt.replies),
                            link,
                        )
                    )
        if soon:
            progress = classes_service.class_progress(
                session, course_class=course_class, catalogue=catalogue, show="not-started", per_page=None
            )
            for assignment in soon:
                module = catalogue.get(assignment.module_slug)
                if module is None:
                    continue
                count = sum(
                    1
                    for row in progress.rows
                    for cell in row.cells
                    if cell.assignment.id == assignment.id and not cell.started
                )
                if count:
                    items.append(
                        Todo(
                            ngettext(
                                "%(num)s student has not started “%(module)s” (%(class)s)",
                                "%(num)s students have not started “%(module)s” (%(class)s)",
                                count,
                            )
                            % {"num": count, "module": module.title, "class": course_class.name},
                            f"/classes/{course_class.id}/progress?show=not-started",
                            due_moment(assignment.due_on, assignment.due_time),
                        )
                    )
    return items
