"""A personal iCalendar feed of due dates, at a secret URL the owner can renew (which revokes the old one).

Built with `icalendar` (RFC 5545), so Outlook, Google and Apple calendars subscribe to it. Students get
their own due moments (an extension replaces the class's date); lecturers the due moments of the classes
they teach. The feed holds no student's name or work: only module titles, class names and times.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from icalendar import Calendar, Event
from sqlalchemy import and_
from sqlmodel import Session, col, select

from app.content.catalogue import Catalogue
from app.i18n import gettext as _
from app.models import (
    Assignment,
    CalendarFeed,
    ClassLecturer,
    CourseClass,
    Enrolment,
    Extension,
    User,
    stored_id,
    utcnow,
)
from app.services.classes import due_moment

PRODID = "-//Nabij//due dates//NL"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def has_feed(session: Session, *, user_id: int) -> bool:
    return session.get(CalendarFeed, user_id) is not None


def new_feed(session: Session, *, user: User) -> str:
    """A new secret feed token for this person; any earlier URL stops working. Shown once."""
    token = secrets.token_urlsafe(32)
    feed = session.get(CalendarFeed, user.id) or CalendarFeed(user_id=stored_id(user), token_hash=_hash(token))
    feed.token_hash = _hash(token)
    feed.created_at = utcnow()
    session.add(feed)
    session.commit()
    return token


def revoke_feed(session: Session, *, user: User) -> None:
    feed = session.get(CalendarFeed, user.id)
    if feed is not None:
        session.delete(feed)
        session.commit()


def feed_owner(session: Session, token: str) -> User | None:
    if not token or len(token) > 100:
        return None
    feed = session.exec(select(CalendarFeed).where(col(CalendarFeed.token_hash) == _hash(token))).first()
    if feed is None:
        return None
    user = session.get(User, feed.user_id)
    return user if user is not None and user.is_active else None


def _rows(session: Session, user: User):
    if user.role == "student":
        return session.exec(
            select(Assignment, CourseClass, col(Extension.due_on))
            .join(CourseClass, col(CourseClass.id) == col(Assignment.class_id))
            .join(Enrolment, and_(col(Enrolment.class_id) == col(CourseClass.id), col(Enrolment.user_id) == user.id))
            .outerjoin(
                Extension, and_(col(Extension.assignment_id) == col(Assignment.id), col(Extension.user_id) == user.id)
            )
            .where(col(CourseClass.archived_at).is_(None))
        ).all()
    return session.exec(
        select(Assignment, CourseClass, None)
        .join(CourseClass, col(CourseClass.id) == col(Assignment.class_id))
        .join(
            ClassLecturer,
            and_(col(ClassLecturer.class_id) == col(CourseClass.id), col(ClassLecturer.user_id) == user.id),
        )
        .where(col(CourseClass.archived_at).is_(None))
    ).all()


def build_feed(session: Session, *, user: User, catalogue: Catalogue, base_url: str) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", _("Nabij due dates"))
    calendar.add("refresh-interval", timedelta(hours=6), parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", "PT6H")
    now = utcnow()
    for assignment, course_class, extended in _rows(session, user):
        module = catalogue.get(assignment.module_slug)
        if module is None:
            continue
        due = due_moment(extended or assignment.due_on, assignment.due_time)
        event = Event()
        # Stable per assignment and person: a changed due date moves the event instead of adding one.
        event.add("uid", f"assignment-{assignment.id}-{hashlib.sha256(f'{user.id}'.encode()).hexdigest()[:12]}@nabij")
        event.add("dtstamp", now)
        event.add("dtstart", due)
        event.add("dtend", due)
        event.add("summary", _("Due: %(module)s (%(class)s)") % {"module": module.title, "class": course_class.name})
        link = f"{base_url.rstrip('/')}/modules/{module.slug}"
        if user.role != "student":
            link = f"{base_url.rstrip('/')}/classes/{course_class.id}"
        event.add("url", link)
        event.add("description", link)
        event.add("transp", "TRANSPARENT")
        calendar.add_component(event)
    calendar.add_missing_timezones()
    return calendar.to_ical()
