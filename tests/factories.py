"""Test data through the real services, and a logged-in client helper."""

from __future__ import annotations

import itertools

from fastapi.testclient import TestClient
from sqlmodel import Session

from app.models import Role, User
from app.services import accounts, classes
from tests.conftest import csrf_from

PASSWORD = "correct horse battery staple"
_numbers = itertools.count(1)


def make_user(
    session: Session,
    *,
    role: Role | str = Role.STUDENT,
    email: str | None = None,
    name: str | None = None,
    password: str = PASSWORD,
) -> User:
    n = next(_numbers)
    # A read this session began earlier holds a snapshot older than what the app has since written; SQLite
    # refuses a write from it ("database is locked"), so it ends first.
    session.commit()
    user = accounts.create_user(
        session,
        email=email or f"user{n}@school.test",
        display_name=name or f"Test User {n}",
        role=role,
        password=password,
    )
    session.commit()
    return user


def make_class(session: Session, *, lecturer: User | None = None, name: str = "SW2A"):
    lecturer = lecturer or make_user(session, role=Role.LECTURER)
    course_class = classes.create_class(
        session, name=name, lecturer=lecturer, programme="Sociaal Werk", academic_year="2026-2027"
    )
    session.commit()
    return course_class


def login(client: TestClient, user: User, password: str = PASSWORD) -> TestClient:
    page = client.get("/login")
    response = client.post(
        "/login",
        data={"email": user.email, "password": password, "csrf_token": csrf_from(page.text), "next": "/"},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return client


def csrf(client: TestClient, path: str = "/modules") -> str:
    """The CSRF token the client would find in a form on `path`."""
    return csrf_from(client.get(path).text)
