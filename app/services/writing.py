"""Which class a student writes for in a module: answers belong to the class they were written for.

Of the student's classes that have an assignment of the module, the one they joined most recently
(ties: the newer class). With none, the text belongs to no class: it is the student's own, and no
review shows it. A student in two classes with the same module writes once per class: joining the
second class gives a fresh answer there, and the first class keeps the text written for it.
"""

from __future__ import annotations

from sqlalchemy import and_, bindparam
from sqlmodel import Session, col, select

from app.models import Assignment, Enrolment

# As a scalar subquery inside the statements that load or save a student's answers (no extra query
# per page or autosave); bound to the same "user_id" and "slug" parameters as those statements.
_WRITING = (
    select(Enrolment.class_id)
    .join(
        Assignment,
        and_(col(Assignment.class_id) == col(Enrolment.class_id), col(Assignment.module_slug) == bindparam("slug")),
    )
    .where(col(Enrolment.user_id) == bindparam("user_id"))
    .order_by(col(Enrolment.created_at).desc(), col(Enrolment.class_id).desc())
    .limit(1)
)
WRITING_CLASS = _WRITING.scalar_subquery()


def writing_class_id(session: Session, *, user_id: int, module_slug: str) -> int | None:
    return session.exec(_WRITING, params={"user_id": user_id, "slug": module_slug}).first()
