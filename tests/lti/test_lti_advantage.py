"""Deep linking, roster (NRPS) and completion to the gradebook (AGS) against the test platform."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
from sqlmodel import select

from app.lti import grades, services
from app.models import (
    ClassLecturer,
    CourseClass,
    Enrolment,
    ExternalIdentity,
    LtiContext,
    LtiGradePost,
    LtiResourceLink,
    User,
)
from app.services import reflections
from tests.lti.platform import INSTRUCTOR, LEARNER, Scenario, full_launch
from tests.pages import error_for, fields, one
from tests.pages import select as select_all

MODULE = "de-relatie-werkt"


def _fields(html: str) -> dict[str, str]:
    """What the page's form carries in hidden fields (the choices are the test's own)."""
    hidden = select_all(one(html, "main form[method=post]"), 'input[type="hidden"]')
    return {str(field["name"]): str(field.get("value", "")) for field in hidden}


def _checked(page: str, name: str) -> list[str]:
    return [choice.value for choice in fields(page, name) if choice.element.has_attr("checked")]


def _fresh(session):
    session.rollback()
    return session


# -- deep linking ---------------------------------------------------------------------------------


def test_deep_linking_round_trip_then_students_launch_the_picked_module(platform, lti_client, session, app):
    platform.scenarios["dl"] = Scenario(
        sub="teacher", roles=[INSTRUCTOR], name="Docent", nrps=False, resource_link_id=None, deep_linking=True
    )
    response, _ = full_launch(lti_client, platform, "dl", headers={"Sec-Fetch-Dest": "iframe"})
    assert response.status_code == 200
    assert one(response.text, 'section#lti-deep-link form[method="post"][action="/lti/deep-link"]')
    assert f"frame-ancestors {platform.issuer}" in response.headers["content-security-policy"]
    hidden = _fields(response.text)
    # A bad date keeps the choice and says what is wrong.
    bad = lti_client.post("/lti/deep-link", data={**hidden, "module": MODULE, "due_on": "next friday", "grades": "1"})
    assert bad.status_code == 422 and "2026-12-20" in error_for(bad.text, "due_on")
    assert _checked(bad.text, "module") == [MODULE] and _checked(bad.text, "grades") == ["1"]
    chosen = lti_client.post(
        "/lti/deep-link", data={**_fields(bad.text), "module": MODULE, "due_on": "2026-12-20", "grades": "1"}
    )
    assert chosen.status_code == 200, chosen.text
    return_form = one(chosen.text, "section#lti-deep-link-return form#lti-return-form")
    action = return_form["action"]
    assert (return_form["method"], action) == ("post", f"{platform.issuer}/deep_link_return")
    assert f"form-action 'self' {platform.issuer}" in chosen.headers["content-security-policy"]
    # The browser posts the signed response to the LMS, which verifies it with Nabij's JWKS.
    answer = httpx.post(action, data={"JWT": _fields(chosen.text)["JWT"]}, timeout=10)
    assert answer.status_code == 200, answer.text
    (item,) = platform.deep_link_items
    assert item["type"] == "ltiResourceLink" and item["url"] == "https://testserver/lti/launch"
    assert item["custom"] == {"nabij_module": MODULE, "nabij_due": "2026-12-20"}
    assert item["lineItem"]["scoreMaximum"] == 1
    # The LMS makes the link (and its line item); a student's launch opens the module.
    lineitem = platform.add_lineitem("li-1")
    platform.scenarios["s"] = Scenario(
        sub="student",
        roles=[LEARNER],
        name="Student",
        nrps=False,
        resource_link_id="placed-1",
        custom=item["custom"],
        lineitem=lineitem,
    )
    from fastapi.testclient import TestClient

    student = TestClient(app, base_url="https://testserver", headers={"Accept-Language": "en"})
    response, _ = full_launch(student, platform, "s")
    assert response.headers["location"] == f"/modules/{MODULE}"
    link = _fresh(session).exec(select(LtiResourceLink)).one()
    assert link.lineitem_url == lineitem and link.assignment_id is not None


def test_deep_link_choice_cannot_be_forged_or_used_by_another_account(platform, lti_client, session):
    from tests.factories import login, make_user

    platform.scenarios["dl"] = Scenario(
        sub="teacher", roles=[INSTRUCTOR], name="Docent", nrps=False, resource_link_id=None, deep_linking=True
    )
    response, _ = full_launch(lti_client, platform, "dl")
    hidden = _fields(response.text)
    # Two characters that differ from the token's own last two: "+ '00'" alone left a token ending in 00 intact.
    tail = "00" if not hidden["pending"].endswith("00") else "11"
    tampered = dict(hidden, pending=hidden["pending"][:-2] + tail)
    assert tampered["pending"] != hidden["pending"]
    refused = lti_client.post("/lti/deep-link", data={**tampered, "module": MODULE})
    assert refused.status_code == 400 and "did not come from a launch" in refused.text
    # Another lecturer, with the real token: refused.
    from fastapi.testclient import TestClient

    other = TestClient(lti_client.app, base_url="https://testserver", headers={"Accept-Language": "en"})
    lecturer = make_user(session, role="lecturer")
    login(other, lecturer)
    from tests.factories import csrf

    token = csrf(other, "/classes")
    refused = other.post("/lti/deep-link", data={"pending": hidden["pending"], "module": MODULE, "csrf_token": token})
    assert refused.status_code == 400 and "another account" in refused.text


def test_deep_linking_launch_by_a_learner_is_refused(platform, lti_client):
    platform.scenarios["dl"] = Scenario(
        sub="pupil", roles=[LEARNER], name="P", nrps=False, resource_link_id=None, deep_linking=True
    )
    response, _ = full_launch(lti_client, platform, "dl")
    assert (
        response.status_code == 403
        and one(response.text, "section#error[data-lti-error]")["data-lti-error"] == "no-role"
    )


# -- NRPS -----------------------------------------------------------------------------------------


def _members(platform):
    platform.members["course-101"] = [
        {"user_id": "teacher", "roles": [INSTRUCTOR], "name": "Docent Peeters", "status": "Active"},
        {"user_id": "s-1", "roles": [LEARNER], "name": "Aya", "email": "aya@school.test", "status": "Active"},
        {"user_id": "s-2", "roles": [LEARNER], "status": "Active"},  # no name, no email: the LMS's privacy setting
        {"user_id": "s-3", "roles": [LEARNER], "name": "Bram", "status": "Active"},
        {"user_id": "s-gone", "roles": [LEARNER], "name": "Weg", "status": "Inactive"},
    ]


def _class_students(session, platform) -> dict[str, User]:
    session.rollback()
    context = session.exec(select(LtiContext)).one()
    rows = session.exec(
        select(ExternalIdentity.subject, User)
        .join(User, User.id == ExternalIdentity.user_id)
        .join(Enrolment, Enrolment.user_id == User.id)
        .where(Enrolment.class_id == context.class_id, ExternalIdentity.issuer == platform.issuer)
    ).all()
    return dict(rows)


def test_roster_syncs_on_a_lecturer_launch_and_on_demand(platform, lti_client, session):
    _members(platform)
    platform.scenarios["t"] = Scenario(
        sub="teacher", roles=[INSTRUCTOR], name="Docent Peeters", custom={"nabij_module": MODULE}
    )
    response, _ = full_launch(lti_client, platform, "t")
    assert response.status_code == 303
    students = _class_students(session, platform)
    assert set(students) == {"s-1", "s-2", "s-3"}  # the inactive member is not enrolled
    assert all(user.email_verified_at is not None for user in students.values())  # verified for k
    assert students["s-2"].display_name.startswith("LMS user ")
    # The progress matrix knows who has not started: all three are in the class.
    context = session.exec(select(LtiContext)).one()
    matrix = lti_client.get(f"/classes/{context.class_id}/progress")
    assert matrix.status_code == 200 and "Aya" in matrix.text and "Bram" in matrix.text
    # On demand: Bram left the LMS course, Chris joined.
    platform.members["course-101"] = [m for m in platform.members["course-101"] if m["user_id"] != "s-3"] + [
        {"user_id": "s-4", "roles": [LEARNER], "name": "Chris", "status": "Active"}
    ]
    page = lti_client.get(f"/lti/classes/{context.class_id}")
    assert page.status_code == 200
    from tests.conftest import csrf_from

    synced = lti_client.post(
        f"/lti/classes/{context.class_id}/sync", data={"csrf_token": csrf_from(page.text)}, follow_redirects=False
    )
    assert synced.status_code == 303 and synced.headers["location"].endswith("notice=synced")
    assert set(_class_students(session, platform)) == {"s-1", "s-2", "s-4"}
    # And every night, without a lecturer: Aya left the LMS course.
    from app.lti import roster

    platform.members["course-101"] = [m for m in platform.members["course-101"] if m["user_id"] != "s-1"]
    assert roster.nightly_roster_sync.call_local() == 1
    assert set(_class_students(session, platform)) == {"s-2", "s-4"}


def test_roster_sync_page_is_only_for_the_class_lecturers(platform, lti_client, session, app):
    _members(platform)
    platform.scenarios["t"] = Scenario(sub="teacher", roles=[INSTRUCTOR], name="Docent")
    full_launch(lti_client, platform, "t")
    context = _fresh(session).exec(select(LtiContext)).one()
    # The lecturer finds the page from the class's settings.
    settings_page = lti_client.get(f"/classes/{context.class_id}/settings").text
    assert one(settings_page, 'section[aria-labelledby="lms-title"] a')["href"] == f"/lti/classes/{context.class_id}"
    platform.scenarios["s"] = Scenario(sub="s-1", roles=[LEARNER], name="Aya", custom={"nabij_module": MODULE})
    from fastapi.testclient import TestClient

    student = TestClient(app, base_url="https://testserver", headers={"Accept-Language": "en"})
    full_launch(student, platform, "s")
    assert student.get(f"/lti/classes/{context.class_id}").status_code == 404


# -- AGS ------------------------------------------------------------------------------------------


def _submit_all(session, app, user_id: int) -> None:
    module = app.state.catalogue.get(MODULE)
    for prompt in module.reflections.values():
        text = "Mijn reflectie over de werkrelatie met deze jongere, uitgebreid genoeg. " * 40
        reflections.submit(session, user_id=user_id, module=module, prompt=prompt, text=text, base_version=0)


def test_completion_reaches_the_gradebook_only_in_rounds_of_k_and_reads_back(platform, lti_client, session, app):
    lineitem = platform.add_lineitem("li-7")
    _members(platform)
    custom = {"nabij_module": MODULE}
    platform.scenarios["t"] = Scenario(
        sub="teacher", roles=[INSTRUCTOR], name="Docent", custom=custom, lineitem=lineitem
    )
    full_launch(lti_client, platform, "t")
    session.rollback()
    course_class = session.get(CourseClass, session.exec(select(LtiContext)).one().class_id)
    course_class.min_group_size = 3
    session.add(course_class)
    session.commit()
    assert course_class.completion_rule == "submitted"  # a link with a line item turns completion on
    students = _class_students(session, platform)
    # Two of three students finish: the matrix shows nothing yet, and neither does the gradebook.
    _submit_all(session, app, students["s-1"].id)
    _submit_all(session, app, students["s-2"].id)
    assert platform.scores.get("li-7", []) == []
    # The third completes the round: all three go at once, as the matrix releases them.
    _submit_all(session, app, students["s-3"].id)
    posted = platform.scores["li-7"]
    assert sorted(score["userId"] for score in posted) == ["s-1", "s-2", "s-3"]
    for score in posted:
        # Completion only: no comment, no text, no level, nothing else.
        assert set(score) == {
            "userId",
            "scoreGiven",
            "scoreMaximum",
            "activityProgress",
            "gradingProgress",
            "timestamp",
        }
        assert score["scoreGiven"] == 1 and score["scoreMaximum"] == 1
        assert score["activityProgress"] == "Completed" and score["gradingProgress"] == "FullyGraded"
    # Read back through AGS results, as Nabij's client reads them.
    session.rollback()
    link = session.exec(select(LtiResourceLink)).one()
    from app.models import LtiPlatform

    results = services.results(session, session.get(LtiPlatform, link.platform_id), link.lineitem_url)
    assert {row["userId"]: row["resultScore"] for row in results} == {"s-1": 1, "s-2": 1, "s-3": 1}
    # Idempotent: a retried job sends nothing twice.
    assert grades.post_completion(session, class_id=course_class.id, module_slug=MODULE) == 0
    assert len(platform.scores["li-7"]) == 3
    assert len(session.exec(select(LtiGradePost)).all()) == 3


def test_the_student_request_never_fails_when_the_lms_is_down(platform, lti_client, session, app, monkeypatch):
    lineitem = platform.add_lineitem("li-8")
    _members(platform)
    platform.scenarios["t"] = Scenario(
        sub="teacher", roles=[INSTRUCTOR], name="Docent", custom={"nabij_module": MODULE}, lineitem=lineitem
    )
    full_launch(lti_client, platform, "t")
    session.rollback()
    course_class = session.get(CourseClass, session.exec(select(LtiContext)).one().class_id)
    course_class.min_group_size = 3
    session.add(course_class)
    session.commit()
    students = _class_students(session, platform)

    def down(*args, **kwargs):
        raise services.ServiceError("LMS down")

    monkeypatch.setattr(services, "post_score", down)
    for key in ("s-1", "s-2", "s-3"):
        _submit_all(session, app, students[key].id)  # no exception reaches the submission
    assert len(session.exec(select(LtiGradePost)).all()) == 0
    monkeypatch.undo()
    # The retry (here: the job run again) sends what was left.
    assert grades.post_completion(session, class_id=course_class.id, module_slug=MODULE) == 3
    assert len(platform.scores["li-8"]) == 3


def test_a_lecturer_is_never_graded_and_the_lms_sees_no_names(platform, lti_client, session):
    lineitem = platform.add_lineitem("li-9")
    platform.scenarios["t"] = Scenario(
        sub="teacher", roles=[INSTRUCTOR], name="Docent", nrps=False, custom={"nabij_module": MODULE}, lineitem=lineitem
    )
    full_launch(lti_client, platform, "t")
    session.rollback()
    context = session.exec(select(LtiContext)).one()
    assert session.exec(select(ClassLecturer).where(ClassLecturer.class_id == context.class_id)).all()
    assert grades.post_completion(session, class_id=context.class_id, module_slug=MODULE) == 0
    assert urlsplit(lineitem).path == "/lineitems/li-9"


def test_a_refused_deep_linking_launch_creates_nothing(platform, lti_client, session):
    from app.models import UserSession

    platform.scenarios["dl"] = Scenario(
        sub="pupil-2", roles=[LEARNER], name="P", nrps=False, resource_link_id=None, deep_linking=True
    )
    full_launch(lti_client, platform, "dl")
    session.rollback()
    assert session.exec(select(ExternalIdentity)).all() == [] and session.exec(select(UserSession)).all() == []
    assert session.exec(select(LtiContext)).all() == []
