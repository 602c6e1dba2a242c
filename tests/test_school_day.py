"""Dates people read are days on the school's clock (Brussels and Amsterdam), not UTC days."""

from datetime import UTC, date, datetime

from app.models import school_day
from app.services import dashboard
from app.services.dashboard import AssignedModule


def test_half_past_midnight_in_brussels_is_already_the_next_day():
    assert school_day(datetime(2026, 11, 22, 23, 30, tzinfo=UTC)) == date(2026, 11, 23)  # winter: UTC+1
    assert school_day(datetime(2026, 7, 1, 22, 30, tzinfo=UTC)) == date(2026, 7, 2)  # summer: UTC+2
    assert school_day(datetime(2026, 11, 22, 22, 30)) == date(2026, 11, 22)  # SQLite's zone-less UTC


def test_an_assignment_is_overdue_from_midnight_on_the_schools_clock(monkeypatch, app):
    module = app.state.catalogue.published()[0]
    due_yesterday_in_brussels = AssignedModule(module, "Klas", due_on=date(2026, 11, 22), opens_on=None)
    monkeypatch.setattr(dashboard, "school_today", lambda: school_day(datetime(2026, 11, 22, 23, 30, tzinfo=UTC)))
    assert due_yesterday_in_brussels.status == "overdue"


def test_every_date_shown_is_the_day_on_the_schools_clock():
    """23:30 UTC on 1 March is 2 March in Brussels: feedback dates, the class header and the students page
    show it as due dates and "late" count it (issue 18, bug 2)."""
    from app import i18n
    from app.templating import templates

    date_filter = templates.env.filters["date"]
    token = i18n.current_locale.set("en")
    try:
        assert date_filter(datetime(2027, 3, 1, 23, 30, tzinfo=UTC), "long") == "2 March 2027"
        assert date_filter(datetime(2027, 3, 1, 23, 30), "long") == "2 March 2027"  # SQLite: zone-less UTC
        assert date_filter(date(2027, 3, 1), "long") == "1 March 2027"  # a day stays that day
    finally:
        i18n.current_locale.reset(token)
