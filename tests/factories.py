"""Test data through the real services, and a logged-in client helper."""

from __future__ import annotations

import itertools
import json
import re
import uuid
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlmodel import Session

from app.content.model import Module, Vignette
from app.models import Answer, AnswerRevision, CourseClass, Enrolment, Role, User, VignetteRun, utcnow
from app.services import accounts, classes
from app.services.writing import writing_class_id
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
        due_on=utcnow().date() + timedelta(days=max(days, 0)),
    )
    if days < 0:
        assignment.due_on = utcnow().date() + timedelta(days=days)
        session.add(assignment)
    session.commit()  # end the read transaction (SQLite keeps a snapshot until then)
    return assignment


def _fresh(session: Session) -> None:
    """Writes start from a new transaction, after whatever the app committed meanwhile (SQLite)."""
    session.commit()


def add_students(session: Session, course_class: CourseClass, count: int, *, prefix: str = "Student") -> list[User]:
    """Enrolled student accounts with a confirmed address, made in bulk (no password hashing: they never log in)."""
    _fresh(session)
    batch = uuid.uuid4().hex[:8]
    users = [
        User(
            email=f"{prefix.lower()}-{batch}-{n}@school.test",
            display_name=f"{prefix} {batch} {n}",
            role=Role.STUDENT.value,
            password_hash="not-a-password-hash",
            email_verified_at=utcnow(),
        )
        for n in range(count)
    ]
    session.add_all(users)
    session.flush()
    session.add_all([Enrolment(class_id=course_class.id, user_id=user.id) for user in users])
    session.commit()
    return users


def submit(
    session: Session, user: User, module: Module, prompt_id: str, text: str, *, prompt_hash: str | None = None
) -> Answer:
    """A submitted answer with its revision, as the student service stores it (for the class the student
    writes for in the module)."""
    _fresh(session)
    reflection = module.reflections[prompt_id]
    now = utcnow()
    class_id = writing_class_id(session, user_id=user.id, module_slug=module.slug)
    answer = Answer(
        user_id=user.id,
        class_id=class_id,
        module_slug=module.slug,
        prompt_id=prompt_id,
        text=text,
        version=1,
        module_version=module.version,
        prompt_hash=prompt_hash or reflection.prompt_hash,
        submitted_at=now,
    )
    session.add(answer)
    session.flush()
    session.add(
        AnswerRevision(
            answer_id=answer.id,
            text=text,
            module_version=module.version,
            prompt_hash=answer.prompt_hash,
            submitted_at=now,
        )
    )
    session.commit()
    return answer


def submit_all(
    session: Session, users: list[User], module: Module, prompt_id: str, text: str = "Answer {n}"
) -> list[Answer]:
    _fresh(session)
    reflection = module.reflections[prompt_id]
    now = utcnow()
    answers = [
        Answer(
            user_id=user.id,
            class_id=writing_class_id(session, user_id=user.id, module_slug=module.slug),
            module_slug=module.slug,
            prompt_id=prompt_id,
            text=text.format(n=n),
            version=1,
            module_version=module.version,
            prompt_hash=reflection.prompt_hash,
            submitted_at=now,
        )
        for n, user in enumerate(users)
    ]
    session.add_all(answers)
    session.flush()
    session.add_all(
        [
            AnswerRevision(
                answer_id=a.id, text=a.text, module_version=module.version, prompt_hash=a.prompt_hash, submitted_at=now
            )
            for a in answers
        ]
    )
    session.commit()
    return answers


def finish_walk(session: Session, user: User, module: Module, vignette: Vignette, choices: list[int]) -> VignetteRun:
    """A finished run through a branching vignette, taking choice `choices[i]` at the i-th step (else 0)."""
    _fresh(session)
    step, path, index = vignette.steps[vignette.start], [], 0
    while step.choices:
        pick = choices[index] if index < len(choices) else 0
        path.append([step.id, pick])
        step = vignette.steps[step.choices[pick].target]
        index += 1
    run = VignetteRun(
        user_id=user.id,
        module_slug=module.slug,
        vignette_id=vignette.id,
        path=json.dumps(path),
        ending_id=step.id,
        finished_at=utcnow(),
    )
    session.add(run)
    session.commit()
    return run


def review_url(course_class: CourseClass, module: Module, prompt_id: str | None = None) -> str:
    url = f"/classes/{course_class.id}/review/{module.slug}"
    return f"{url}/{prompt_id}" if prompt_id else url


def refs_on(html: str) -> list[str]:
    return re.findall(r'name="ref" value="([0-9a-f]{16})"', html)[::2]  # two forms per answer


CARD = re.compile(
    r'<article class="review-answer[^"]*" id="answer-([0-9a-f]{16})".*?'
    r'class="review-answer__pseudonym"[^>]*>([^<]+)<.*?class="review-answer__text"[^>]*>([^<]*)<',
    re.S,
)


def cards_on(html: str) -> list[tuple[str, str, str]]:
    """(ref, pseudonym, text) of every answer card, in page order."""
    return CARD.findall(html)
