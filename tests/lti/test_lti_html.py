"""The LTI pages validate with the W3C Nu HTML checker (as tests/test_html_validity.py does for the rest)."""

from __future__ import annotations

import json
import subprocess

from fastapi.testclient import TestClient
from sqlmodel import select

from app.models import LtiContext
from tests.conftest import csrf_from
from tests.factories import login, make_user
from tests.lti.platform import INSTRUCTOR, LEARNER, Scenario, full_launch, launch_form, login_redirect
from tests.test_html_validity import _checker


def test_lti_pages_are_valid_html(platform, lti_client, session, app, tmp_path):
    command = _checker()
    admin_user = make_user(session, role="admin")
    pages: dict[str, str] = {}
    platform.members["course-101"] = []
    platform.scenarios["dl"] = Scenario(
        sub="t", roles=[INSTRUCTOR], name="Docent", resource_link_id=None, deep_linking=True
    )
    picker, _ = full_launch(lti_client, platform, "dl")
    pages["deep-link picker"] = picker.text
    token = csrf_from(picker.text)
    fields = {"pending": picker.text.split('name="pending" value="', 1)[1].split('"', 1)[0], "csrf_token": token}
    pages["deep-link picker with errors"] = lti_client.post("/lti/deep-link", data={**fields, "due_on": "x"}).text
    pages["deep-link return"] = lti_client.post("/lti/deep-link", data={**fields, "module": "de-relatie-werkt"}).text
    context = session.exec(select(LtiContext)).one()
    session.rollback()  # end the test's read: the app writes next
    pages["class LMS page"] = lti_client.get(f"/lti/classes/{context.class_id}").text
    platform.scenarios["s"] = Scenario(sub="s", roles=[LEARNER], name="S", nrps=False)
    other = TestClient(app, base_url="https://testserver", headers={"Accept-Language": "en"})
    pages["error"] = full_launch(other, platform, "s")[0].text
    form = launch_form(login_redirect(other, platform, "s").headers["location"])
    pages["new window"] = (
        TestClient(app, base_url="https://testserver")
        .post("/lti/launch", data={"id_token": form.id_token, "state": form.state})
        .text
    )
    admin = TestClient(app, base_url="http://testserver", headers={"Accept-Language": "en"})
    login(admin, admin_user)
    pages["admin"] = admin.get("/admin/lti").text
    pages["admin with errors"] = admin.post("/admin/lti", data={"csrf_token": csrf_from(pages["admin"])}).text
    files = {}
    for index, (name, html) in enumerate(pages.items()):
        path = tmp_path / f"page{index}.html"
        path.write_text(html)
        files[str(path)] = name
    result = subprocess.run(
        [*command, "--format", "json", "--errors-only", *files], capture_output=True, text=True, timeout=300
    )
    messages = json.loads(result.stderr or result.stdout or '{"messages": []}')["messages"]
    errors = [
        f"{files.get(m.get('url', '').removeprefix('file:'), m.get('url'))}: {m.get('message')}" for m in messages
    ]
    assert not errors, "\n".join(errors)
