"""Break-glass reveal (issue 13): two people, never the one who asked alone; the student is told."""

from __future__ import annotations

import re

import pytest
from sqlmodel import select

from app.models import AccessLog, RevealRequest, Role, utcnow
from app.services import break_glass, classes
from app.services.pseudonyms import answer_ref
from tests.factories import (
    add_students,
    csrf,
    first_prompt,
    login,
    make_user,
    refs_on,
    review_url,
    submit,
    submit_all,
)
from tests.pages import error_for, field, one
from tests.pages import select as select_all
from tests.test_access_log import _student_who_logs_in

REASON = "De jongere schrijft dat hij thuis geslagen wordt en niet meer naar huis durft."


def _outbox(settings):
    return [path.read_text() for path in sorted((settings.var_dir / "outbox").glob("*.eml"))]


@pytest.fixture
def world(app, client, session, taught):
    lecturer, course_class, module = taught
    prompt_id = first_prompt(module)
    student = _student_who_logs_in(session, course_class, name="Sam Student")
    student.locale = "en"
    session.add(student)
    session.commit()
    submit_all(session, add_students(session, course_class, 4), module, prompt_id)
    answer = submit(session, student, module, prompt_id, "Ik maak me zorgen over de jongere.")
    url = review_url(course_class, module, prompt_id)
    ref = answer_ref(app.state.secret, class_id=course_class.id, answer_id=answer.id)
    return {
        "lecturer": lecturer,
        "class": course_class,
        "module": module,
        "student": student,
        "url": url,
        "ref": ref,
        "prompt_id": prompt_id,
    }


def _ask(client, world, reason=REASON):
    return client.post(
        f"{world['url']}/reveal?ref={world['ref']}",
        data={"reason": reason, "csrf_token": csrf(client, world["url"])},
        follow_redirects=False,
    )


def _decide(client, request_id, decision):
    return client.post(
        f"/safeguarding/{request_id}/decide",
        data={"decision": decision, "csrf_token": csrf(client, "/safeguarding")},
        follow_redirects=False,
    )


def test_the_review_has_a_reveal_form_per_answer_and_a_short_reason_is_refused_keeping_the_text(client, world):
    page = client.get(world["url"]).text
    refs = refs_on(page)
    assert len(refs) == 5
    for ref in refs:  # in each answer's card, posting that answer's reference
        form = one(page, f"article#answer-{ref} details.review-answer__reveal form")
        assert (form["method"], form["action"]) == ("post", f"{world['url']}/reveal?ref={ref}")
        assert field(form, "reason").element.name == "textarea"
    assert len(select_all(page, '[action*="/reveal?ref="]')) == 5
    response = _ask(client, world, reason="Zorgen")
    assert response.status_code == 400 and "at least 20 characters" in error_for(response.text, "reason")
    assert field(response.text, "reason").value == "Zorgen"


def test_the_requester_cannot_approve_and_sees_no_name_until_a_second_person_approves(
    app, client, session, world, settings
):
    response = _ask(client, world)
    assert response.status_code == 303
    request = session.exec(select(RevealRequest)).one()
    assert request.status == "pending" and request.reason == REASON
    # The id, not the object: reading an expired object would start a read whose snapshot the app's later
    # writes make stale, and SQLite refuses this session's next write from it.
    request_id = request.id
    page = client.get(f"/safeguarding/{request_id}").text
    assert "Sam Student" not in page and "waiting for a decision" in page
    assert _decide(client, request_id, "approve").status_code == 400  # a lecturer may not decide at all

    # An admin who asks (as a lecturer of the class) still needs another person.
    admin = make_user(session, role=Role.ADMIN, name="Ada Admin")
    classes.add_lecturer(session, course_class=world["class"], email=admin.email)
    session.commit()
    login(client, admin)
    own = _ask(client, world)
    assert own.status_code == 303
    own_id = int(own.headers["location"].split("/")[2].split("?")[0])
    refused = _decide(client, own_id, "approve")
    assert refused.status_code == 400 and "another person must decide" in refused.text
    session.expire_all()
    assert session.get(RevealRequest, own_id).status == "pending"
    assert session.exec(select(AccessLog).where(AccessLog.kind == "reveal")).all() == []
    session.commit()  # ends this read, for the same reason

    # A lecturer who is not involved cannot see the request at all.
    login(client, make_user(session, role=Role.LECTURER))
    assert client.get(f"/safeguarding/{request_id}").status_code == 404

    # The admin approves the lecturer's request: now both see the name; nobody else does.
    login(client, admin)
    assert _decide(client, request_id, "approve").status_code == 303
    assert "Sam Student" in client.get(f"/safeguarding/{request_id}").text
    login(client, world["lecturer"])
    assert "Sam Student" in client.get(f"/safeguarding/{request_id}").text
    other_admin = make_user(session, role=Role.ADMIN)
    login(client, other_admin)
    assert client.get(f"/safeguarding/{request_id}").status_code == 404

    # In the access log, and the student is told on their dashboard and by mail: who, when, why.
    session.expire_all()
    row = session.exec(select(AccessLog).where(AccessLog.kind == "reveal")).one()
    assert (row.lecturer_id, row.student_id) == (world["lecturer"].id, world["student"].id)
    login(client, world["student"])
    dashboard = client.get("/").text
    assert "Your name was shown as the author of an answer" in dashboard
    assert "Lena Lector" in dashboard and "Ada Admin" in dashboard and REASON in dashboard
    assert "(safeguarding)" in client.get("/account").text
    mails = [m for m in _outbox(settings) if world["student"].email in m]
    assert len(mails) == 1 and "Lena Lector" in mails[0] and "Ada Admin" in mails[0]
    # The question by its title and the day in words, in the student's language (English here).
    prompt = world["module"].reflections[world["prompt_id"]]
    assert (prompt.title or prompt.id) in mails[0] and world["prompt_id"] not in mails[0].split("\n\n", 1)[1]
    assert re.search(r"agreed on \d{1,2} [A-Z][a-z]+ 20\d\d", mails[0])


def test_a_safeguarding_officer_may_decide_and_a_refusal_reveals_nothing(app, client, session, world, settings):
    _ask(client, world)
    request = session.exec(select(RevealRequest)).one()
    officer = make_user(session, role=Role.LECTURER, name="Olga Officer")
    officer.safeguarding_officer = True
    session.add(officer)
    session.commit()
    login(client, officer)
    listing = client.get("/safeguarding").text
    assert f"/safeguarding/{request.id}" in listing
    assert _decide(client, request.id, "maybe").status_code == 400
    assert _decide(client, request.id, "refuse").status_code == 303
    page = client.get(f"/safeguarding/{request.id}").text
    assert "Sam Student" not in page and "refused by Olga Officer" in page
    assert _decide(client, request.id, "approve").status_code == 400  # decided already
    session.expire_all()
    assert session.exec(select(AccessLog).where(AccessLog.kind == "reveal")).all() == []
    login(client, world["student"])
    assert "Your name was shown" not in client.get("/").text
    assert not [m for m in _outbox(settings) if world["student"].email in m]


def test_a_decider_never_decides_alone_in_the_service_either(session, world, settings):
    lecturer = world["lecturer"]
    answer_id = session.exec(select(RevealRequest.id)).first()
    assert answer_id is None
    from app.models import Answer, AnswerRevision

    answer = session.exec(select(Answer).where(Answer.user_id == world["student"].id)).one()
    revision = session.exec(select(AnswerRevision).where(AnswerRevision.answer_id == answer.id)).one()
    request = break_glass.ask(
        session,
        settings=settings,
        requester=lecturer,
        course_class=world["class"],
        module_slug=world["module"].slug,
        prompt_id=answer.prompt_id,
        answer_id=answer.id,
        revision_id=revision.id,
        reason=REASON,
    )
    with pytest.raises(break_glass.BreakGlassError):  # asking twice while one waits
        break_glass.ask(
            session,
            settings=settings,
            requester=lecturer,
            course_class=world["class"],
            module_slug=world["module"].slug,
            prompt_id=answer.prompt_id,
            answer_id=answer.id,
            revision_id=revision.id,
            reason=REASON,
        )
    session.rollback()
    lecturer.safeguarding_officer = True  # even as an officer: not on their own request
    with pytest.raises(break_glass.BreakGlassError):
        break_glass.decide(session, settings=settings, request=request, decider=lecturer, approve=True)
    assert request.status == "pending" and request.decided_at is None and utcnow()


def test_an_admin_names_a_safeguarding_officer_from_the_command_line(app, session, settings, monkeypatch):
    from click.testing import CliRunner

    from app.cli import main
    from app.config import get_settings
    from app.models import User
    from tests.conftest import TEST_SECRET

    lecturer = make_user(session, role=Role.LECTURER, email="olga@school.test")
    student = make_user(session, email="sam@student.test")
    for name, value in {
        "NABIJ_DATABASE_URL": settings.effective_database_url,
        "NABIJ_VAR_DIR": str(settings.var_dir),
        "NABIJ_SECRET_KEY": TEST_SECRET,
        "NABIJ_ENV": "test",
    }.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        named = runner.invoke(main, ["user", "safeguarding-officer", lecturer.email])
        refused = runner.invoke(main, ["user", "safeguarding-officer", student.email])
        session.expire_all()
        assert session.get(User, lecturer.id).safeguarding_officer is True
        session.commit()
        taken = runner.invoke(main, ["user", "safeguarding-officer", lecturer.email, "--off"])
    finally:
        get_settings.cache_clear()
    assert named.exit_code == 0 and "is now a safeguarding officer" in named.output
    assert refused.exit_code == 1 and "only an active lecturer or admin" in refused.stderr
    assert taken.exit_code == 0
    session.expire_all()
    assert session.get(User, lecturer.id).safeguarding_officer is False
    assert session.get(User, student.id).safeguarding_officer is False
