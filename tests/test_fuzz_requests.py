"""Fuzzing the HTTP surface: every route, as every role, with hostile form fields, path parameters
and headers, never answers with a 5xx (issue 14). Runs on the test database: SQLite, or PostgreSQL
with NABIJ_TEST_DATABASE_URL.
"""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from app.models import Role
from app.services import classes
from tests.conftest import csrf_from
from tests.factories import login, make_class, make_user
from tests.fuzzing import HOSTILE, examples

# Routes that would end the fuzzer's own login (the requests after them would all be anonymous).
SESSION_ENDING = {("POST", "/logout"), ("POST", "/account/sessions/end-others"), ("POST", "/account/password")}
PARAM = re.compile(r"{(\w+)(?::\w+)?}")


def _form_fields(dependant) -> set[str]:
    names = {field.alias for field in dependant.body_params}
    for sub in dependant.dependencies:
        names |= _form_fields(sub)
    return names


def every_route(app) -> list[tuple[str, str, list[str], list[str]]]:
    """(method, path template, path parameters, form fields) of every route."""
    try:
        from fastapi.routing import iter_route_contexts  # FastAPI >= 0.165 wraps included routers
    except ImportError:
        pairs = [(route, route) for route in app.routes]
    else:
        pairs = [(context.original_route, context) for context in iter_route_contexts(app.routes)]
    routes = []
    for original, route in pairs:
        if not isinstance(original, APIRoute):
            continue
        for method in sorted(route.methods - {"HEAD"}):
            if (method, route.path) in SESSION_ENDING:
                continue
            routes.append((method, route.path, PARAM.findall(route.path), sorted(_form_fields(original.dependant))))
    return sorted(routes)


@pytest.fixture
def world(app, session):
    """Clients for every role, and real ids and slugs for path parameters to pick from."""
    lecturer = make_user(session, role=Role.LECTURER)
    course_class = make_class(session, lecturer=lecturer)
    student = make_user(session)
    classes.enrol(session, course_class=course_class, student=student)
    session.commit()
    clients = {"anonymous": TestClient(app, headers={"Accept-Language": "en"})}
    for role, user in (("student", student), ("lecturer", lecturer), ("admin", make_user(session, role=Role.ADMIN))):
        clients[role] = login(TestClient(app, headers={"Accept-Language": "en"}), user)
    tokens = {
        role: csrf_from(client.get("/login" if role == "anonymous" else "/account").text)
        for role, client in clients.items()
    }
    catalogue = app.state.catalogue
    known = {
        "slug": [m.slug for m in catalogue.ordered()],
        "section_id": [s.id for m in catalogue.ordered() for s in m.sections],
        "prompt_id": [p for m in catalogue.ordered() for p in m.reflections],
        "vignette_id": [v for m in catalogue.ordered() for v in m.vignettes],
        "check_id": [c for m in catalogue.ordered() for c in m.checks],
        "id": [str(course_class.id), str(student.id), str(lecturer.id), "1"],
    }
    yield {"clients": clients, "tokens": tokens, "known": known, "routes": every_route(app)}
    for client in clients.values():
        client.close()


hostile_text = st.one_of(st.sampled_from(HOSTILE), st.text(max_size=60), st.integers().map(str))


@examples(300)
@given(data=st.data())
def test_no_request_from_any_role_gets_a_server_error(world, data):
    role = data.draw(st.sampled_from(sorted(world["clients"])), label="role")
    method, template, params, fields = data.draw(st.sampled_from(world["routes"]), label="route")
    path = template
    for name in params:
        kind = "id" if name.endswith("_id") and name not in world["known"] else name
        choices = world["known"].get(kind, [])
        value = data.draw(st.one_of(st.sampled_from(choices), hostile_text) if choices else hostile_text, label=name)
        # Servers refuse URLs of many kilobytes before Nabij sees them (and so does the test client).
        path = re.sub(
            rf"{{{name}(?::\w+)?}}", (quote(value, safe="") or "x")[:2000].replace("\\", "%5C"), path, count=1
        )
    form = {
        name: data.draw(hostile_text, label=name) for name in fields if data.draw(st.booleans(), label=f"send {name}")
    }
    headers = {}
    if method != "GET" and data.draw(st.integers(0, 9), label="token") > 0:
        form["csrf_token"] = world["tokens"][role]  # usually right, so the request reaches the route
    elif method != "GET":
        form["csrf_token"] = data.draw(hostile_text, label="csrf_token")
    for header in ("X-CSRF-Token", "Origin", "Sec-Fetch-Site", "X-Forwarded-For", "HX-Request", "Accept-Language"):
        if data.draw(st.integers(0, 5), label=f"use {header}") == 0:
            value = data.draw(
                st.one_of(st.sampled_from(HOSTILE), st.sampled_from(["true", "same-origin", "cross-site"])),
                label=header,
            )
            headers[header] = value.encode("utf-8")
    query = data.draw(
        st.sampled_from(
            [
                "",
                "?page=²",
                "?q=%00",
                "?next=//evil.example",
                "?notice=x&enrolled=9" * 3,
                "?code=%0d%0a",
                "?invite=" + "x" * 300,
            ]
        ),
        label="query",
    )
    client = world["clients"][role]
    if method == "GET":
        response = client.get(path + query, headers=headers, follow_redirects=False)
    else:
        response = client.request(method, path + query, data=form, headers=headers, follow_redirects=False)
    assert response.status_code < 500, (role, method, path, form, headers, response.text[:500])
