"""What a user sees first: their assignments (students) or their classes (lecturers)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlmodel import Session, col, func, select

from app.content.catalogue import Catalogue
from app.content.model import Module
from app.models import Assignment, ClassLecturer, CourseClass, Enrolment, User, utcnow

DUE_SOON_DAYS = 7


@dataclass(frozen=True)
class AssignedModule:
    module: Module
    class_name: str
    due_on: date
    opens_on: date | None

    @property
    def status(self) -> str:
        today = utcnow().date()
        if self.opens_on and self.opens_on > today:
            return "not-open"
        if self.due_on < today:
            return "overdue"
        if (self.due_on - today).days <= DUE_SOON_DAYS:
            return "due-soon"
        return "open"


def student_assignments(session: Session, *, user: User, catalogue: Catalogue) -> list[AssignedModule]:
    rows = session.exec(
        select(Assignment, CourseClass.name)
        .join(CourseClass, CourseClass.id == Assignment.class_id)
        .join(Enrolment, Enrolment.class_id == CourseClass.id)
        .where(Enrolment.user_id == user.id, col(CourseClass.archived_at).is_(None))
        .order_by(Assignment.due_on)
    ).all()
    assigned = []
    for assignment, class_name in rows:
        module = catalogue.get(assignment.module_slug)
        if module is not None:
            assigned.append(AssignedModule(module, class_name, assignment.due_on, assignment.opens_on))
    return assigned


@dataclass(frozen=True)
class TaughtClass:
    course_class: CourseClass
    students: int


def lecturer_classes(session: Session, *, user: User) -> list[TaughtClass]:
    students = (select(Enrolment.class_id, func.count().label("n")).group_by(Enrolment.class_id).subquery())
    rows = session.exec(
        select(CourseClass, func.coalesce(students.c.n, 0))
        .join(ClassLecturer, ClassLecturer.class_id == CourseClass.id)
        .outerjoin(students, students.c.class_id == CourseClass.id)
        .where(ClassLecturer.user_id == user.id)
        .order_by(CourseClass.archived_at.is_not(None), CourseClass.name)
    ).all()
    return [TaughtClass(course_class, count) for course_class, count in rows]
