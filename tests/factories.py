"""Test data through the real services, and a logged-in client helper."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import replace
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlmodel import Session

from app.content.model import Module, Vignette
from app.models import Answer, CourseClass, Role, User, VignetteRun, school_today, stored_id
from app.services import accounts, classes, reflections, vignettes
from tests.conftest import csrf_from
from tests.pages import one, select, text_of

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


# -- students' work in bulk, for the review, matrix and anonymity tests ---------------------------


def first_module(app) -> Module:
    return app.state.catalogue.published()[0]


def first_prompt(module: Module) -> str:
    return next(iter(module.reflections))


def assign(session: Session, course_class: CourseClass, module: Module, *, days: int = 14):
    """Assigned through the service; `days` < 0: assigned earlier, and that due date has passed since."""
    assignment = classes.assign(
        session,
        course_class=course_class,
        module_slug=module.slug,
        due_on=school_today() + timedelta(days=max(days, 0)),
    )
    if days < 0:
        assignment.due_on = school_today() + timedelta(days=days)
        session.add(assignment)
    session.commit()  # end the read transaction (SQLite keeps a snapshot until then)
    return assignment


def _fresh(session: Session) -> None:
    """Writes start from a new transaction, after whatever the app committed meanwhile (SQLite)."""
    session.commit()


def add_students(session: Session, course_class: CourseClass, count: int, *, prefix: str = "Student") -> list[User]:
    """Student accounts made as an admin makes them (a confirmed address), each enrolled as the class's join
    code or roster enrols them."""
    _fresh(session)
    batch = uuid.uuid4().hex[:8]
    users = []
    for n in range(count):
        user = accounts.create_user(
            session,
            email=f"{prefix.lower()}-{batch}-{n}@school.test",
            display_name=f"{prefix} {batch} {n}",
            role=Role.STUDENT,
            password=PASSWORD,
        )
        classes.enrol(session, course_class=course_class, student=user)
        users.append(user)
    return users


def submit(
    session: Session, user: User, module: Module, prompt_id: str, text: str, *, prompt_hash: str | None = None
) -> Answer:
    """Submitted through the reflections service, as the student's submit button does (revision, class,
    notification hooks). The one rule relaxed is the word minimum, so the texts here stay short enough to read
    in an assertion; tests/test_reflections.py holds that rule. `prompt_hash`: written for another wording."""
    _fresh(session)
    prompt = replace(module.reflections[prompt_id], min_words=0)
    if prompt_hash is not None:
        prompt = replace(prompt, prompt_hash=prompt_hash)
    stored = reflections.find_answer(session, user_id=stored_id(user), module_slug=module.slug, prompt_id=prompt_id)
    result = reflections.submit(
        session,
        user_id=stored_id(user),
        module=module,
        prompt=prompt,
        text=text,
        base_version=stored.version if stored is not None else 0,
    )
    return result.answer


def submit_all(
    session: Session, users: list[User], module: Module, prompt_id: str, text: str = "Answer {n}"
) -> list[Answer]:
    return [submit(session, user, module, prompt_id, text.format(n=n)) for n, user in enumerate(users)]


def finish_walk(session: Session, user: User, module: Module, vignette: Vignette, choices: list[int]) -> VignetteRun:
    """A finished run through a branching vignette, walked through the vignette service one choice at a time,
    taking choice `choices[i]` at the i-th step (else 0)."""
    _fresh(session)
    walk = vignettes.restart(session, user_id=stored_id(user), module=module, vignette=vignette)
    index = 0
    while walk.current is not None and not walk.current.is_ending:
        pick = choices[index] if index < len(choices) else 0
        walk = vignettes.choose(
            session,
            user_id=stored_id(user),
            module=module,
            vignette=vignette,
            step_id=walk.current.id,
            choice_index=pick,
        )
        index += 1
    assert walk.run is not None and walk.run.finished_at is not None
    return walk.run


def review_url(course_class: CourseClass, module: Module, prompt_id: str | None = None) -> str:
    url = f"/classes/{course_class.id}/review/{module.slug}"
    return f"{url}/{prompt_id}" if prompt_id else url


def refs_on(html: str) -> list[str]:
    """The reference of every answer card, in page order."""
    return [card["id"].removeprefix("answer-") for card in select(html, "article.review-answer")]


def cards_on(html: str) -> list[tuple[str, str, str]]:
    """(ref, pseudonym, text) of every answer card, in page order."""
    return [
        (
            card["id"].removeprefix("answer-"),
            text_of(one(card, ".review-answer__pseudonym")),
            one(card, ".review-answer__text").get_text(),
        )
        for card in select(html, "article.review-answer")
    ]
