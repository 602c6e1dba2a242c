"""The class rules live in the services, so that the web and the CLI cannot disagree (issue 18.4)."""

from datetime import timedelta

import pytest
from fastapi import HTTPException

from app.access import _not_archived
from app.models import Role, utcnow
from app.services import classes
from tests.factories import make_class, make_user


def test_an_archived_class_refuses_an_assignment_in_the_service_itself(session):
    course_class = make_class(session)
    classes.archive_class(session, course_class=course_class)
    with pytest.raises(classes.ArchivedClassError) as refusal:
        classes.assign(
            session, course_class=course_class, module_slug="any", due_on=utcnow().date() + timedelta(days=7)
        )
    assert refusal.value.field == "class" and "gearchiveerd" in refusal.value.message  # Dutch, the default


def test_the_web_refuses_an_archived_class_with_the_services_reason(session):
    course_class = make_class(session)
    classes.archive_class(session, course_class=course_class)
    with pytest.raises(HTTPException) as web:
        _not_archived(course_class)
    with pytest.raises(classes.ArchivedClassError) as service:
        classes.ensure_writable(course_class)
    assert web.value.status_code == 409 and web.value.detail == service.value.message


def test_a_class_in_use_is_writable(session):
    course_class = make_class(session)
    assert classes.ensure_writable(course_class) is course_class


def test_only_an_active_lecturer_or_administrator_can_teach_a_class(session):
    student = make_user(session, role=Role.STUDENT)
    with pytest.raises(classes.ClassError) as refusal:
        classes.create_class(session, name="SW2A", lecturer=student)
    assert refusal.value.field == "lecturer"
    retired = make_user(session, role=Role.LECTURER)
    retired.is_active = False
    session.add(retired)
    session.commit()
    with pytest.raises(classes.ClassError):
        classes.create_class(session, name="SW2A", lecturer=retired)
    course_class = make_class(session)
    with pytest.raises(classes.ClassError):
        classes.add_lecturer(session, course_class=course_class, email=retired.email)
    assert classes.create_class(session, name="SW2B", lecturer=make_user(session, role=Role.ADMIN)).id


def test_class_details_are_checked_in_the_service_whoever_calls_it(session):
    course_class = make_class(session)
    details = {"name": "SW2A", "programme": "Sociaal Werk", "academic_year": "2026-2027"}
    with pytest.raises(classes.ClassError) as refusal:
        classes.update_class(session, course_class=course_class, min_group_size=2, **details)
    assert refusal.value.field == "min_group_size"
    with pytest.raises(classes.ClassError) as refusal:
        classes.update_class(session, course_class=course_class, min_group_size=5, **{**details, "name": " "})
    assert refusal.value.field == "name"
    with pytest.raises(classes.ClassError) as refusal:
        classes.update_class(
            session, course_class=course_class, min_group_size=5, **{**details, "programme": "Sociaal\nWerk"}
        )
    assert refusal.value.field == "programme"
    session.refresh(course_class)
    assert course_class.min_group_size != 2 and course_class.name == "SW2A"
    classes.archive_class(session, course_class=course_class)
    with pytest.raises(classes.ArchivedClassError):
        classes.update_class(session, course_class=course_class, min_group_size=5, **details)
