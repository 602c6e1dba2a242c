"""Demo data for a first look: a lecturer, a class with students, assigned modules."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, func, select

from app.config import Settings
from app.content.catalogue import load_catalogue
from app.db import make_engine
from app.models import Role, User, school_today
from app.services import accounts, classes

DEMO_PASSWORD = "nabij-demo-2026"
DEMO_USERS = [
    ("admin@nabij.test", "Ada Beheer", Role.ADMIN),
    ("docent@nabij.test", "Dirk Docent", Role.LECTURER),
    ("sara@student.nabij.test", "Sara El Amrani", Role.STUDENT),
    ("jonas@student.nabij.test", "Jonas Peeters", Role.STUDENT),
    ("lotte@student.nabij.test", "Lotte de Vries", Role.STUDENT),
    ("mehmet@student.nabij.test", "Mehmet Yilmaz", Role.STUDENT),
    ("noor@student.nabij.test", "Noor Janssens", Role.STUDENT),
]


def load_demo(settings: Settings) -> list[str] | None:
    """Create the demo data in an empty database; None when there are users already."""
    engine = make_engine(settings)
    try:
        with Session(engine) as session:
            if session.exec(select(func.count()).select_from(User)).one() > 0:
                return _existing_demo_accounts(session)
            users = {
                email: accounts.create_user(session, email=email, display_name=name, role=role, password=DEMO_PASSWORD)
                for email, name, role in DEMO_USERS
            }
            lecturer = users["docent@nabij.test"]
            course_class = classes.create_class(
                session,
                name="SW2A Professionele nabijheid",
                lecturer=lecturer,
                programme="Bachelor Sociaal Werk",
                academic_year="2026-2027",
            )
            for email, _, role in DEMO_USERS:
                if role == Role.STUDENT:
                    classes.enrol(session, course_class=course_class, student=users[email])
            today = school_today()
            modules = load_catalogue(settings.modules_dir).published()
            for weeks, module in enumerate(modules[:3], start=1):
                classes.assign(
                    session,
                    course_class=course_class,
                    module_slug=module.slug,
                    due_on=today + timedelta(weeks=2 * weeks),
                )
            code = classes.format_join_code(course_class.join_code)
    finally:
        engine.dispose()
    return [*_account_lines(DEMO_USERS), f"class '{course_class.name}' join code: {code}"]


def _account_lines(users) -> list[str]:
    return [f"{role.value:<9} {email:<28} password: {DEMO_PASSWORD}" for email, _, role in users]


def _existing_demo_accounts(session: Session) -> list[str] | None:
    """On later runs: the demo accounts again, if this database was made by `nabij demo`."""
    present = [(email, name, role) for email, name, role in DEMO_USERS if accounts.find_by_email(session, email)]
    return _account_lines(present) if present else None
