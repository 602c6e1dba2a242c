"""Each route declares what it does with the database (app/db.py): ReadSession or WriteSession.

A read endpoint's transactions never take SQLite's write lock, so pages never queue behind writers; its
few writes go through write_for. A write endpoint takes the lock at its first statement, after the login
check. tests/conftest.py also watches every request of the suite: a read transaction that writes fails
the test that made it.
"""

from __future__ import annotations

import inspect

import pytest
from sqlmodel import Session

from app.db import Intent, declared_intent
from tests.conftest import POSTGRES_URL
from tests.factories import first_module, login, make_user
from tests.querycount import count_queries
from tests.test_access_matrix import api_routes


def _endpoints(app):
    return [original for original, _route in api_routes(app)]


def test_every_endpoint_with_a_session_declares_read_or_write(app):
    undeclared = []
    for route in _endpoints(app):
        parameters = inspect.signature(route.endpoint).parameters.values()
        takes_session = any("Session" in str(parameter.annotation) for parameter in parameters)
        if takes_session and declared_intent(route.endpoint) is None:
            undeclared.append(f"{sorted(route.methods)} {route.path}")
    assert not undeclared, f"declare ReadSession or WriteSession (app/db.py) on: {undeclared}"


def test_endpoints_that_change_things_declare_a_write(app):
    """A form post that reads only is possible, but none of ours is: each changes something."""
    reading_posts = [
        route.path
        for route in _endpoints(app)
        if route.methods & {"POST", "PUT", "PATCH", "DELETE"} and declared_intent(route.endpoint) is Intent.READ
    ]
    assert reading_posts == []


def _begins(counter) -> list[str]:
    return [statement for statement in counter.statements if statement.startswith("BEGIN")]


@pytest.mark.skipif(bool(POSTGRES_URL), reason="SQLite's transaction modes; PostgreSQL locks rows, not the database")
def test_a_page_reads_without_the_write_lock_and_records_its_visit_in_a_short_write_of_its_own(app, client, session):
    student = make_user(session)
    login(client, student)
    module = first_module(app)
    url = f"/modules/{module.slug}/{module.sections[1].id}"
    with count_queries(app.state.engine) as first:
        assert client.get(url).status_code == 200
    assert _begins(first)[0] == "BEGIN DEFERRED", str(first)  # the login check and the page
    assert "BEGIN IMMEDIATE" in _begins(first), str(first)  # the first visit, recorded on its own
    with count_queries(app.state.engine) as again:
        assert client.get(url).status_code == 200
    assert set(_begins(again)) == {"BEGIN DEFERRED"}, str(again)  # nothing new to record


@pytest.mark.skipif(bool(POSTGRES_URL), reason="SQLite's transaction modes; PostgreSQL locks rows, not the database")
def test_a_get_that_writes_is_declared_a_write_and_takes_the_lock_up_front(app, client):
    with count_queries(app.state.engine) as counter:
        assert client.get("/lti/jwks").status_code == 200  # writes the tool's first key
    assert _begins(counter) and set(_begins(counter)) == {"BEGIN IMMEDIATE"}, str(counter)
    with Session(app.state.engine) as check:
        from app.lti import keys

        assert keys.public_jwks(check)["keys"]
