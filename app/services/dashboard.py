"""What a user sees first: their assignments (students) or their classes (lecturers)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time

from sqlalchemy import and_, bindparam
from sqlmodel import Session, col, func, select

from app.content.catalogue import Catalogue
from app.content.model import Module
from app.models import Assignment, ClassLecturer, CourseClass, Enrolment, Extension, Role, User, school_today

DUE_SOON_DAYS = 7


@dataclass(frozen=True)
class AssignedModule:
    module: Module
    class_name: str
    due_on: date  # the student's own due date: an extension replaces the class's date
    opens_on: date | None
    extended: bool = False
    due_time: time | None = None  # on the school's clock; None: 23:59 (app.services.classes.due_moment)

    @property
    def status(self) -> str:
        today = school_today()
        if self.opens_on and self.opens_on > today:
            return "not-open"
        if self.due_on < today:
            return "overdue"
        if (self.due_on - today).days <= DUE_SOON_DAYS:
            return "due-soon"
        return "open"


# Every student's dashboard runs this: built once (building a statement costs more than running it).
STUDENT_ASSIGNMENTS = (
    select(Assignment, col(CourseClass.name), col(Extension.due_on))
    .join(CourseClass, col(CourseClass.id) == col(Assignment.class_id))
    .join(Enrolment, col(Enrolment.class_id) == col(CourseClass.id))
    .outerjoin(
        Extension,
        and_(col(Extension.assignment_id) == col(Assignment.id), col(Extension.user_id) == bindparam("user_id")),
    )
    .where(col(Enrolment.user_id) == bindparam("user_id"), col(CourseClass.archived_at).is_(None))
)


def student_assignments(session: Session, *, user: User, catalogue: Catalogue) -> list[AssignedModule]:
    """The modules assigned to this student's classes, with their own due date, soonest first."""
    rows = session.exec(STUDENT_ASSIGNMENTS, params={"user_id": user.id}).all()
    assigned = []
    for assignment, class_name, extended_to in rows:
        module = catalogue.get(assignment.module_slug)
        if module is not None:
            assigned.append(
                AssignedModule(
                    module,
                    class_name,
                    extended_to or assignment.due_on,
                    assignment.opens_on,
                    extended=extended_to is not None,
                    due_time=assignment.due_time,
                )
            )
    # Open assignments first (by due date), then those that open later (by opening date).
    today = school_today()
    assigned.sort(
        key=lambda item: (
            item.opens_on is not None and item.opens_on > today,
            item.opens_on if item.opens_on and item.opens_on > today else item.due_on,
            item.module.title,
        )
    )
    return assigned


@dataclass(frozen=True)
class TaughtClass:
    course_class: CourseClass
    students: int
    assignments: int = 0


def lecturer_classes(session: Session, *, user: User, every_class: bool = False) -> list[TaughtClass]:
    """The classes a lecturer teaches (with `every_class`, an administrator gets all), archived last."""
    students = select(Enrolment.class_id, func.count().label("n")).group_by(col(Enrolment.class_id)).subquery()
    assigned = select(Assignment.class_id, func.count().label("n")).group_by(col(Assignment.class_id)).subquery()
    statement = (
        select(CourseClass, func.coalesce(students.c.n, 0), func.coalesce(assigned.c.n, 0))
        .outerjoin(students, students.c.class_id == col(CourseClass.id))
        .outerjoin(assigned, assigned.c.class_id == col(CourseClass.id))
        .order_by(col(CourseClass.archived_at).is_not(None), col(CourseClass.name), col(CourseClass.id))
    )
    if not (every_class and user.role == Role.ADMIN):
        statement = statement.join(ClassLecturer, col(ClassLecturer.class_id) == col(CourseClass.id)).where(
            col(ClassLecturer.user_id) == user.id
        )
    return [
        TaughtClass(course_class, count, assignments) for course_class, count, assignments in session.exec(statement)
    ]


def safeguarding_reveals(session: Session, *, user: User, catalogue: Catalogue | None = None) -> list:
    """The break-glass reveals of this student's answers (app/services/break_glass.py): never silent."""
    from app.services import access_log, break_glass

    notices = break_glass.reveals_of(session, user=user)
    return [(notice, access_log.prompt_title(catalogue, notice.module_slug, notice.prompt_id)) for notice in notices]
