"""The class rules live in the services, so that the web and the CLI cannot disagree (issue 18.4)."""

from datetime import timedelta

import pytest
from fastapi import HTTPException

from app.access import _not_archived
from app.models import utcnow
from app.services import classes
from tests.factories import make_class


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
