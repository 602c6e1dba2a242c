"""Due times and the personal calendar feed (issue 21): parsed back with the same library, icalendar."""

from __future__ import annotations

import re
from datetime import time, timedelta

import pytest
from sqlmodel import select

from app.models import SCHOOL_ZONE, Assignment, Role, utcnow
from app.services import classes
from tests.factories import add_students, csrf, first_module, login, make_class, make_user

icalendar = pytest.importorskip("icalendar", reason="icalendar is not installed (pip install icalendar)")


def test_due_time_defaults_to_23_59_on_the_school_clock():
    due = classes.due_moment(utcnow().date())
    assert (due.hour, due.minute, due.tzinfo) == (23, 59, SCHOOL_ZONE)
    assert classes.due_moment(utcnow().date(), time(17, 0)).hour == 17
    with pytest.raises(classes.ClassError):
        classes.parse_time("half vijf")
    assert classes.parse_time("") is None and classes.parse_time("09:30") == time(9, 30)


def _feed_url(client) -> str:
    page = client.post("/calendar/feed", data={"csrf_token": csrf(client, "/notifications/settings")})
    assert page.status_code == 200
    return re.search(r'value="(http[^"]+\.ics)"', page.text).group(1)


def test_student_feed_has_their_own_due_moments_and_a_renewed_link_revokes_the_old(app, client, session):
    lecturer = make_user(session, role=Role.LECTURER)
    course_class = make_class(session, lecturer=lecturer, name="SW2B")
    module = first_module(app)
    student = make_user(session)
    classes.enrol(session, course_class=course_class, student=student)
    due_on = utcnow().date() + timedelta(days=5)
    assignment = classes.assign(
        session, course_class=course_class, module_slug=module.slug, due_on=due_on, due_time=time(17, 0)
    )
    other = add_students(session, course_class, 1)[0]
    classes.grant_extension(
        session, course_class=course_class, assignment=assignment, user_id=other.id, due_on=due_on + timedelta(days=3)
    )
    session.commit()
    login(client, student)
    url = _feed_url(client)
    client.cookies.clear()  # calendars fetch without a session
    response = client.get(url.replace("http://testserver", ""))
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/calendar")
    calendar = icalendar.Calendar.from_ical(response.content)
    events = list(calendar.walk("VEVENT"))
    assert len(events) == 1
    start = events[0].decoded("dtstart")
    assert start.astimezone(SCHOOL_ZONE).date() == due_on and start.astimezone(SCHOOL_ZONE).hour == 17
    assert module.title in str(events[0]["summary"]) and "SW2B" in str(events[0]["summary"])
    assert other.display_name not in response.text and student.display_name not in response.text
    assert calendar.walk("VTIMEZONE"), "Outlook needs the time zone"
    # A new link: the old one stops working; switching off ends the new one too.
    login(client, student)
    second = _feed_url(client)
    assert client.get(url.replace("http://testserver", "")).status_code == 404
    client.post("/calendar/feed/revoke", data={"csrf_token": csrf(client, "/notifications/settings")})
    assert client.get(second.replace("http://testserver", "")).status_code == 404


def test_extension_moves_the_students_event_and_lecturers_get_their_classes(app, client, session):
    lecturer = make_user(session, role=Role.LECTURER)
    course_class = make_class(session, lecturer=lecturer)
    module = first_module(app)
    student = make_user(session)
    classes.enrol(session, course_class=course_class, student=student)
    due_on = utcnow().date() + timedelta(days=5)
    assignment = classes.assign(session, course_class=course_class, module_slug=module.slug, due_on=due_on)
    classes.grant_extension(
        session, course_class=course_class, assignment=assignment, user_id=student.id, due_on=due_on + timedelta(days=2)
    )
    session.commit()
    login(client, student)
    events = list(
        icalendar.Calendar.from_ical(client.get(_feed_url(client).replace("http://testserver", "")).content).walk(
            "VEVENT"
        )
    )
    assert events[0].decoded("dtstart").astimezone(SCHOOL_ZONE).date() == due_on + timedelta(days=2)
    login(client, lecturer)
    body = client.get(_feed_url(client).replace("http://testserver", "")).content
    lecturer_events = list(icalendar.Calendar.from_ical(body).walk("VEVENT"))
    assert len(lecturer_events) == 1
    assert lecturer_events[0].decoded("dtstart").astimezone(SCHOOL_ZONE).date() == due_on
    assert student.display_name.encode() not in body and student.email.encode() not in body
    assert session.exec(select(Assignment)).one().due_time is None
