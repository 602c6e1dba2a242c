"""The lecturer's journey: classes, join codes, rosters, co-lecturers, assignments, extensions, progress."""

from __future__ import annotations

import csv
import hashlib
import io
import random
import re
from dataclasses import replace
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from app.models import (
    Answer,
    Assignment,
    CheckAnswer,
    ClassLecturer,
    CourseClass,
    Enrolment,
    Extension,
    Invitation,
    Role,
    SectionVisit,
    User,
    VignetteRun,
    school_today,
    utcnow,
)
from app.services import classes
from app.services.dashboard import student_assignments
from app.services.progress import progress_counts, progress_matrix
from tests.conftest import csrf_from
from tests.factories import (
    add_students,
    assign,
    csrf,
    first_module,
    first_prompt,
    login,
    make_class,
    make_user,
    submit,
    submit_all,
)
from tests.pages import (
    as_markup,
    error_for,
    field,
    fields,
    inner_html,
    one,
    pager_links,
    text_of,
    texts,
    top_level,
)
from tests.pages import select as select_all
from tests.querycount import count_queries
from tests.test_access_matrix import app_routes

EN = {"Accept-Language": "en"}


@pytest.fixture
def lecturer(client, session):
    user = make_user(session, role=Role.LECTURER, name="Lena Lector")
    login(client, user)
    return user


def _post(client, url: str, data: dict | None = None, *, form_page: str | None = None, **kwargs):
    return client.post(
        url,
        data={**(data or {}), "csrf_token": csrf(client, form_page or "/classes")},
        follow_redirects=False,
        **kwargs,
    )


def _today():
    return school_today()


def _reload(session, row):
    """See what the app committed: end this session's read transaction first (SQLite snapshots)."""
    session.commit()
    session.refresh(row)
    return row


# -- creating a class and its join code ---------------------------------------------------------


def test_a_lecturer_creates_a_class_and_gets_a_join_code(client, session, lecturer):
    page = client.get("/classes/new")
    assert page.headers["Cache-Control"] == "no-store"
    refused = _post(client, "/classes/new", {"name": "  ", "programme": "Sociaal Werk", "academic_year": "2026-2027"})
    assert refused.status_code == 400 and error_for(refused.text, "name")
    assert field(refused.text, "programme").value == "Sociaal Werk"
    assert field(refused.text, "academic_year").value == "2026-2027"
    response = _post(
        client, "/classes/new", {"name": "SW2A", "programme": "Sociaal Werk", "academic_year": "2026-2027"}
    )
    assert response.status_code == 303
    course_class = session.exec(select(CourseClass).where(CourseClass.name == "SW2A")).one()
    assert response.headers["location"] == f"/classes/{course_class.id}?notice=created"
    assert session.get(ClassLecturer, (course_class.id, lecturer.id)) is not None
    overview = client.get(f"/classes/{course_class.id}").text
    assert classes.format_join_code(course_class.join_code) in overview
    assert "SW2A" in client.get("/classes").text and "SW2A" in client.get("/").text


def test_the_join_code_can_be_renewed_closed_and_opened_again(client, session, lecturer):
    course_class = make_class(session, lecturer=lecturer)
    old_code = course_class.join_code
    url = f"/classes/{course_class.id}/join-code"

    # A new code first says what it does; only the confirmation changes it.
    asked = _post(client, url, {"action": "rotate"})
    assert asked.status_code == 200 and "The current code stops working at once" in asked.text
    assert field(one(asked.text, f'form[action="{url}"]'), "confirmed").value == "1"
    _reload(session, course_class)
    assert course_class.join_code == old_code

    assert _post(client, url, {"action": "rotate", "confirmed": "1"}).status_code == 303
    _reload(session, course_class)
    assert course_class.join_code and course_class.join_code != old_code
    assert classes.class_by_join_code(session, old_code) is None
    assert classes.class_by_join_code(session, course_class.join_code).id == course_class.id

    assert "Nobody can join with a code any more" in _post(client, url, {"action": "close"}).text
    closed = client.post(url, data={"action": "close", "confirmed": "1", "csrf_token": csrf(client, "/classes")})
    assert "nobody can join" in closed.text
    _reload(session, course_class)
    assert course_class.join_code is None

    _post(client, url, {"action": "rotate"})  # opening a closed code needs no confirmation
    _reload(session, course_class)
    assert course_class.join_code is not None
    assert _post(client, url, {"action": "bogus"}).status_code == 400


def test_the_class_page_gives_a_join_link_a_qr_code_and_a_projector_page(client, session, lecturer):
    course_class = make_class(session, lecturer=lecturer)
    code = course_class.join_code
    overview = client.get(f"/classes/{course_class.id}").text
    assert (
        one(overview, "#join-code input#join-url")["value"] == f"http://testserver/signup?code={code}"
    )  # the address this request came in on
    projector = client.get(f"/classes/{course_class.id}/join").text
    assert (
        f"http://testserver/signup?code={code}" in projector
        and f"/classes/{course_class.id}/join-code.svg" in projector
    )
    qr = client.get(f"/classes/{course_class.id}/join-code.svg")
    assert (
        qr.headers["content-type"].startswith("image/svg+xml")
        and b"<svg" in qr.content
        and b"<script" not in qr.content
    )


def test_a_join_link_takes_a_logged_in_student_to_join(app, session):
    course_class = make_class(session)
    student = make_user(session)
    with TestClient(app, headers=EN) as visitor:
        login(visitor, student)
        response = visitor.get(f"/signup?code={course_class.join_code}", follow_redirects=False)
        assert response.headers["location"] == f"/join?code={course_class.join_code}"
        assert field(visitor.get(response.headers["location"]).text, "join_code").value == course_class.join_code


def test_a_closed_code_stops_signups(app, session):
    course_class = make_class(session)
    code = course_class.join_code
    classes.close_join_code(session, course_class=course_class)
    session.commit()  # the app's lifespan disposes the engine on exit: hold no connection
    with TestClient(app, headers=EN) as visitor:
        page = visitor.get("/signup")
        response = visitor.post(
            "/signup",
            data={
                "join_code": code,
                "display_name": "Sam",
                "email": "sam@school.test",
                "password": "a long passphrase",
                "csrf_token": csrf_from(page.text),
            },
        )
    assert response.status_code == 400 and "not valid" in response.text


def test_joining_and_asking_for_a_new_link_say_what_happened_on_the_dashboard(app, session):
    course_class = make_class(session, name="Groep B")
    student = make_user(session, email="sam@school.test")  # not yet confirmed
    with TestClient(app, headers=EN) as visitor:
        login(visitor, student)
        form = visitor.get("/join")
        joined = visitor.post("/join", data={"join_code": course_class.join_code, "csrf_token": csrf_from(form.text)})
        assert "You joined the class. Its assignments are below." in joined.text
        assert "You joined the class." not in visitor.get("/").text  # once, after the redirect
        resent = visitor.post("/signup/confirm/resend", data={"csrf_token": csrf_from(joined.text)})
        assert "We sent you a new link to confirm your email address." in resent.text


# -- roster import and invitations --------------------------------------------------------------


def test_roster_errors_are_listed_by_line_and_nothing_is_imported(client, session, lecturer, settings):
    course_class = make_class(session, lecturer=lecturer)
    make_user(session, role=Role.LECTURER, email="colleague@school.test")
    roster = (
        "name,email\n"
        "An Peeters,an@school.test\n"
        ",nobody@school.test\n"
        "Bo Claes,not-an-address\n"
        "\n"
        "An Again,AN@school.test\n"
        "Col League,colleague@school.test\n"
    )
    url = f"/classes/{course_class.id}/students/import"
    response = client.post(url, data={"roster_text": roster, "csrf_token": csrf(client, "/classes")})
    assert response.status_code == 400
    assert "Nothing was imported" in response.text
    problems = texts(one(response.text, '#roster-problems[role="alert"]'), "ul.flash__list > li")
    assert "Line 3: The name is missing." in problems
    assert "Line 4: 'not-an-address' is not a valid email address." in problems
    assert "Line 6: an@school.test is also on line 2." in problems
    assert field(response.text, "roster_text").value == roster  # the pasted text is kept
    assert session.exec(select(Invitation)).first() is None
    assert not (settings.var_dir / "outbox").exists()

    account_problem = client.post(
        url, data={"roster_text": "Col League,colleague@school.test\n", "csrf_token": csrf(client, "/classes")}
    )
    assert account_problem.status_code == 400
    assert "Line 1: colleague@school.test belongs to a lecturer or administrator account." in account_problem.text


def test_a_roster_invites_everyone_and_existing_students_accept_logged_in(client, session, lecturer, settings):
    """Issue 12: nobody is enrolled without knowing; an existing account gets an invitation too."""
    course_class = make_class(session, lecturer=lecturer)
    existing = make_user(session, email="sara@school.test", name="Sara El Amrani")
    csv_file = "Naam;E-mail\nSara El Amrani;SARA@school.test\nJonas Peeters;jonas@school.test\nNoor Janssens;noor@school.test\n"
    response = client.post(
        f"/classes/{course_class.id}/students/import",
        data={"csrf_token": csrf(client, "/classes")},
        files={"roster_file": ("klas.csv", ("\ufeff" + csv_file).encode(), "text/csv")},
        follow_redirects=False,
    )
    assert response.status_code == 303
    page = client.get(response.headers["location"]).text
    assert "3 invitations were sent by email." in page
    assert "Jonas Peeters" in page and "noor@school.test" in page
    assert session.get(Enrolment, (course_class.id, existing.id)) is None
    invitations = session.exec(select(Invitation).order_by(Invitation.email)).all()
    assert [i.email for i in invitations] == ["jonas@school.test", "noor@school.test", "sara@school.test"]
    mails = sorted((settings.var_dir / "outbox").glob("*.eml"))
    assert len(mails) == 3
    tokens = [re.search(r"/signup\?invite=([\w-]+)", mail.read_text()).group(1) for mail in mails]
    hashes = {hashlib.sha256(token.encode()).hexdigest() for token in tokens}
    assert hashes == {i.token_hash for i in invitations}  # only the hash is stored
    assert all(token not in i.token_hash for token in tokens for i in invitations)
    assert "http://127.0.0.1:8000/signup?invite=" in mails[0].read_text()

    # Sara, logged in, opens her link and accepts; only then is she in the class.
    sara_mail = next(m.read_text() for m in mails if "sara@school.test" in m.read_text())
    link = re.search(r"http://127\.0\.0\.1:8000(/signup\?invite=[\w-]+)", sara_mail).group(1)
    session.commit()
    with TestClient(client.app, headers=EN) as sara:
        assert sara.get(link, follow_redirects=False).headers["location"].startswith("/login?next=/signup")
        login(sara, existing)
        offer = sara.get(link)
        assert "You are invited to the class" in offer.text
        accepted = sara.post(
            "/invitations/accept",
            data={"invite": link.split("=", 1)[1], "csrf_token": csrf_from(offer.text)},
            follow_redirects=False,
        )
        assert accepted.status_code == 303
    session.commit()
    assert session.get(Enrolment, (course_class.id, existing.id)) is not None

    # Importing the same roster again sends fresh links to those not in the class and enrols no one twice.
    client.post(
        f"/classes/{course_class.id}/students/import",
        data={"roster_text": csv_file, "csrf_token": csrf(client, "/classes")},
    )
    assert len(list((settings.var_dir / "outbox").glob("*.eml"))) == 5
    assert len(session.exec(select(Enrolment).where(Enrolment.class_id == course_class.id)).all()) == 1


def test_an_invitation_link_fills_in_the_signup_and_enrols_without_a_code(app, client, session, lecturer, settings):
    course_class = make_class(session, lecturer=lecturer, name="SW3C")
    classes.close_join_code(session, course_class=course_class)  # no code needed with an invitation
    client.post(
        f"/classes/{course_class.id}/students/import",
        data={"roster_text": "Jonas Peeters,jonas@school.test", "csrf_token": csrf(client, "/classes")},
    )
    mail = next((settings.var_dir / "outbox").glob("*.eml")).read_text()
    link = re.search(r"http://127\.0\.0\.1:8000(/signup\?invite=[\w-]+)", mail).group(1)
    session.commit()  # the app's lifespan disposes the engine on exit: hold no connection
    with TestClient(app, headers=EN) as student:
        page = student.get(link)
        assert page.headers["Cache-Control"] == "no-store"
        assert field(page.text, "display_name").value == "Jonas Peeters"
        assert field(page.text, "email").value == "jonas@school.test"
        assert "You are invited to the class SW3C" in page.text and fields(page.text, "join_code") == []
        token = link.split("=", 1)[1]
        response = student.post(
            "/signup",
            data={
                "invite": token,
                "display_name": "Jonas Peeters",
                "email": "jonas@school.test",
                "password": "a long passphrase",
                "csrf_token": csrf_from(page.text),
            },
            follow_redirects=False,
        )
        assert response.status_code == 303
    session.commit()
    user = session.exec(select(User).where(User.email == "jonas@school.test")).one()
    assert session.get(Enrolment, (course_class.id, user.id)) is not None
    assert session.exec(select(Invitation)).one().accepted_at is not None
    session.commit()  # the app's lifespan disposes the engine on exit: hold no connection
    with TestClient(app, headers=EN) as again:
        reused = again.get(link)
        assert "no longer valid" in reused.text and field(reused.text, "join_code").element.name == "input"


def test_a_pending_invitation_can_be_withdrawn(client, session, lecturer):
    course_class = make_class(session, lecturer=lecturer)
    client.post(
        f"/classes/{course_class.id}/students/import",
        data={"roster_text": "Jonas Peeters,jonas@school.test", "csrf_token": csrf(client, "/classes")},
    )
    invitation = session.exec(select(Invitation)).one()
    response = _post(client, f"/classes/{course_class.id}/invitations/{invitation.id}/withdraw")
    assert response.status_code == 303
    session.commit()
    assert session.exec(select(Invitation)).first() is None


# -- co-lecturers, settings, archive ------------------------------------------------------------


def test_a_co_lecturer_is_added_by_email_and_then_reaches_the_class(app, client, session, lecturer):
    course_class = make_class(session, lecturer=lecturer)
    colleague = make_user(session, role=Role.LECTURER, email="co@school.test", name="Co Lega")
    student = make_user(session, email="stud@school.test")
    url = f"/classes/{course_class.id}/lecturers"
    form_page = f"/classes/{course_class.id}/settings"
    refused = _post(client, url, {"lecturer_email": "stud@school.test"}, form_page=form_page)
    assert refused.status_code == 400 and "no lecturer account" in refused.text
    assert field(refused.text, "lecturer_email").value == "stud@school.test"
    assert _post(client, url, {"lecturer_email": "CO@school.test"}, form_page=form_page).status_code == 303
    session.commit()  # the app's lifespan disposes the engine on exit: hold no connection
    with TestClient(app, headers=EN) as co_client:
        login(co_client, colleague)
        assert co_client.get(f"/classes/{course_class.id}").status_code == 200
    duplicate = _post(client, url, {"lecturer_email": "co@school.test"}, form_page=form_page)
    assert duplicate.status_code == 400 and "already teaches" in duplicate.text
    removed = _post(client, f"{url}/{colleague.id}/remove", form_page=form_page)
    assert removed.status_code == 303
    last = _post(client, f"{url}/{lecturer.id}/remove", form_page=form_page)
    assert last.status_code == 400 and "at least one lecturer" in last.text
    assert _post(client, f"{url}/{student.id}/remove", form_page=form_page).status_code == 404


def test_class_details_are_edited_with_messages_next_to_the_fields(client, session, lecturer):
    course_class = make_class(session, lecturer=lecturer)
    url = f"/classes/{course_class.id}/settings"
    response = _post(
        client,
        url,
        {"name": "", "programme": "P" * 200, "academic_year": "2026-2027", "min_group_size": "five"},
        form_page=url,
    )
    assert response.status_code == 400
    for name in ("name", "programme", "min_group_size"):
        assert error_for(response.text, name)
    assert field(response.text, "min_group_size").value == "five"
    assert (
        _post(
            client,
            url,
            {"name": "SW2A-bis", "programme": "", "academic_year": "2027-2028", "min_group_size": "6"},
            form_page=url,
        ).status_code
        == 303
    )
    _reload(session, course_class)
    assert (course_class.name, course_class.academic_year, course_class.min_group_size) == ("SW2A-bis", "2027-2028", 6)


def test_an_archived_class_is_read_only_and_closed_to_joining(app, client, session, lecturer):
    course_class = make_class(session, lecturer=lecturer)
    module = first_module(app)
    assignment = assign(session, course_class, module)
    asked = _post(client, f"/classes/{course_class.id}/archive", {"action": "archive"})
    assert asked.status_code == 200 and "The class becomes read-only" in asked.text
    _reload(session, course_class)
    assert course_class.archived_at is None
    response = _post(client, f"/classes/{course_class.id}/archive", {"action": "archive", "confirmed": "1"})
    assert response.status_code == 303
    _reload(session, course_class)
    assert course_class.archived_at is not None and course_class.join_code is None
    page = client.get(f"/classes/{course_class.id}").text
    assert "archived" in page and "Assign a module" not in page
    for url, data in [
        (f"/classes/{course_class.id}/join-code", {"action": "rotate"}),
        (f"/classes/{course_class.id}/settings", {"name": "X", "min_group_size": "5"}),
        (f"/classes/{course_class.id}/assignments/new", {"module": module.slug}),
        (f"/classes/{course_class.id}/assignments/{assignment.id}/cancel", {}),
        (f"/classes/{course_class.id}/students/import", {"roster_text": "A,a@school.test"}),
    ]:
        assert _post(client, url, data).status_code == 409, url
    assert client.get(f"/classes/{course_class.id}/progress").status_code == 200
    assert _post(client, f"/classes/{course_class.id}/archive", {"action": "restore"}).status_code == 303
    _reload(session, course_class)
    assert course_class.archived_at is None and course_class.join_code is None  # opened only on purpose


# -- assignments and extensions -----------------------------------------------------------------


def test_a_module_is_assigned_edited_and_cancelled(app, client, session, lecturer):
    course_class = make_class(session, lecturer=lecturer)
    module = first_module(app)
    url = f"/classes/{course_class.id}/assignments/new"
    due = (_today() + timedelta(days=21)).isoformat()
    past = _post(
        client, url, {"module": module.slug, "due_on": (_today() - timedelta(days=1)).isoformat()}, form_page=url
    )
    assert past.status_code == 400 and error_for(past.text, "due_on")
    backwards = _post(
        client,
        url,
        {"module": module.slug, "due_on": due, "opens_on": (_today() + timedelta(days=30)).isoformat()},
        form_page=url,
    )
    assert backwards.status_code == 400 and error_for(backwards.text, "opens_on")
    assert field(backwards.text, "due_on").value == due
    unknown = _post(client, url, {"module": "no-such-module", "due_on": due}, form_page=url)
    assert unknown.status_code == 400 and error_for(unknown.text, "module")
    assert _post(client, url, {"module": module.slug, "due_on": due}, form_page=url).status_code == 303
    assignment = session.exec(select(Assignment)).one()
    assert (assignment.module_slug, assignment.due_on.isoformat()) == (module.slug, due)
    assert module.slug not in client.get(url).text  # not offered twice

    edit = f"/classes/{course_class.id}/assignments/{assignment.id}"
    new_due = (_today() + timedelta(days=28)).isoformat()
    opens = (_today() + timedelta(days=7)).isoformat()
    assert _post(client, edit, {"due_on": new_due, "opens_on": opens}, form_page=edit).status_code == 303
    _reload(session, assignment)
    assert (assignment.due_on.isoformat(), assignment.opens_on.isoformat()) == (new_due, opens)
    assert _post(client, edit, {"due_on": "tomorrow"}, form_page=edit).status_code == 400

    asked = _post(client, f"{edit}/cancel", form_page=edit)
    assert asked.status_code == 200 and "What students already wrote is kept." in asked.text
    assert session.exec(select(Assignment)).first() is not None
    assert _post(client, f"{edit}/cancel", {"confirmed": "1"}, form_page=edit).status_code == 303
    session.commit()
    assert session.exec(select(Assignment)).first() is None


def test_an_extension_moves_one_students_due_date(app, client, session, lecturer):
    course_class = make_class(session, lecturer=lecturer)
    module = first_module(app)
    assignment = assign(session, course_class, module, days=-2)  # already past due
    late, extended = add_students(session, course_class, 2)
    stranger = make_user(session)
    url = f"/classes/{course_class.id}/assignments/{assignment.id}"
    later = (_today() + timedelta(days=5)).isoformat()
    too_early = _post(
        client,
        f"{url}/extensions",
        {"student": str(extended.id), "extension_due_on": assignment.due_on.isoformat()},
        form_page=url,
    )
    assert too_early.status_code == 400 and "after the due date" in too_early.text
    not_in_class = _post(
        client, f"{url}/extensions", {"student": str(stranger.id), "extension_due_on": later}, form_page=url
    )
    assert not_in_class.status_code == 400
    assert (
        _post(
            client, f"{url}/extensions", {"student": str(extended.id), "extension_due_on": later}, form_page=url
        ).status_code
        == 303
    )
    assert session.get(Extension, (assignment.id, extended.id)).due_on.isoformat() == later
    assert extended.display_name in client.get(url).text

    catalogue = app.state.catalogue
    session.commit()
    mine = student_assignments(session, user=extended, catalogue=catalogue)[0]
    assert mine.due_on.isoformat() == later and mine.extended and mine.status != "overdue"
    assert student_assignments(session, user=late, catalogue=catalogue)[0].status == "overdue"
    progress = client.get(f"/classes/{course_class.id}/progress?show=late").text
    assert late.display_name in progress and extended.display_name not in progress

    assert _post(client, f"{url}/extensions/{extended.id}/remove", form_page=url).status_code == 303
    session.commit()
    assert session.get(Extension, (assignment.id, extended.id)) is None
    assert _post(client, f"{url}/extensions/{stranger.id}/remove", form_page=url).status_code == 404


def test_students_see_when_an_assignment_opens(app, session):
    course_class = make_class(session)
    module = first_module(app)
    student = add_students(session, course_class, 1)[0]
    classes.assign(
        session,
        course_class=course_class,
        module_slug=module.slug,
        due_on=_today() + timedelta(days=30),
        opens_on=_today() + timedelta(days=10),
    )
    session.commit()
    [assigned] = student_assignments(session, user=student, catalogue=app.state.catalogue)
    assert assigned.status == "not-open"


# -- progress overview ---------------------------------------------------------------------------


def _progress_world(app, session, lecturer):
    course_class = make_class(session, lecturer=lecturer)
    module = first_module(app)
    assign(session, course_class, module, days=-1)  # due yesterday
    ada, bram, cas = (add_students(session, course_class, 1, prefix=name)[0] for name in ("Ada", "Bram", "Cas"))
    prompt_id = first_prompt(module)
    submit(session, bram, module, prompt_id, "A private reflection that must not appear in progress")
    session.add(SectionVisit(user_id=bram.id, module_slug=module.slug, section_id=module.sections[0].id))
    session.commit()
    return course_class, module, (ada, bram, cas)


def test_the_progress_matrix_shows_completion_prompts_and_lateness_but_no_text(app, client, session, lecturer):
    course_class, module, (ada, bram, cas) = _progress_world(app, session, lecturer)
    page = client.get(f"/classes/{course_class.id}/progress")
    assert page.headers["Cache-Control"] == "no-store"
    html = page.text
    assert "A private reflection" not in html
    # Issue 12: no per-prompt counts beside a name; whether all reflections are in, per round of k.
    assert f"1 of {len(module.sections)} sections read" in html
    assert "reflections not all in" in html and f"of {len(module.reflections)} reflections" not in html
    assert texts(html, "table.matrix td.matrix__cell .badge") == ["late"] * 3  # due yesterday, nobody complete
    assert len(select_all(html, "table.matrix td.matrix__cell--late")) == 3
    names = [ada.display_name, bram.display_name, cas.display_name]
    assert _row_names(html) == names

    by_progress = client.get(f"/classes/{course_class.id}/progress?sort=-progress").text
    assert _row_names(by_progress)[0] == bram.display_name
    z_to_a = client.get(f"/classes/{course_class.id}/progress?sort=-name").text
    assert _row_names(z_to_a) == names[::-1]
    not_started = client.get(f"/classes/{course_class.id}/progress?show=not-started").text
    assert _row_names(not_started) == [ada.display_name, cas.display_name]
    fragment = client.get(f"/classes/{course_class.id}/progress?show=late", headers={"HX-Request": "true"}).text
    assert [(element.name, element.get("id")) for element in top_level(fragment)] == [("div", "progress-table")]
    assert not select_all(fragment, "html, head, body")
    assert client.get(f"/classes/{course_class.id}/progress?sort=evil&show=evil").status_code == 200


def test_alike_cells_of_the_matrix_are_rendered_once_and_each_still_shows_its_own_state(app, client, session, lecturer):
    """The matrix renders each different cell once per page (ProgressCell.shown_as): every cell on the
    page is still the one its own student's state gives, in students whose state differs by one thing."""
    from app import i18n
    from app.templating import environment

    course_class = make_class(session, lecturer=lecturer)
    past, later = app.state.catalogue.published()[:2]
    past_due = assign(session, course_class, past, days=-1)
    due_later = assign(session, course_class, later, days=14)
    _ada, bram, cas, dirk = (add_students(session, course_class, 1, prefix=name)[0] for name in ("A", "B", "C", "D"))
    for student in (cas, dirk):  # cas and dirk the same work; bram and dirk an extension
        session.add(SectionVisit(user_id=student.id, module_slug=past.slug, section_id=past.sections[0].id))
    for student in (bram, dirk):
        session.add(Extension(assignment_id=past_due.id, user_id=student.id, due_on=_today() + timedelta(days=5)))
    # Not late either way: bram's cell of the later module differs from the others by the extension alone.
    session.add(Extension(assignment_id=due_later.id, user_id=bram.id, due_on=_today() + timedelta(days=20)))
    session.commit()

    on_page = [
        str(cell) for cell in select_all(client.get(f"/classes/{course_class.id}/progress").text, "td.matrix__cell")
    ]
    progress = classes.class_progress(session, course_class=course_class, catalogue=app.state.catalogue)
    cell_template = environment.get_template("classes/_progress_cell.html")
    token = i18n.current_locale.set("en")
    try:
        one_by_one = [
            str(select_all(cell_template.render(cell=cell), "td")[0])
            for row in progress.page.items
            for cell in row.cells
        ]
    finally:
        i18n.current_locale.reset(token)
    assert on_page == one_by_one
    # Rows A, B, C, D; per row the past-due module, then the later one: four different cells, then two.
    assert len(set(on_page[0::2])) == 4 and len(set(on_page[1::2])) == 2
    assert texts(on_page[0], ".badge") == ["late"] and "extended to" in on_page[2] and "late" not in on_page[2]


def test_progress_exports_as_csv(app, client, session, lecturer):
    course_class, module, (ada, bram, cas) = _progress_world(app, session, lecturer)
    response = client.get(f"/classes/{course_class.id}/progress.csv")
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:2] == ["name", "email"]
    # Issue 12: the CSV holds what the matrix shows, no per-prompt counts.
    assert rows[0][2:] == [
        f"{module.title}: {label}"
        for label in (
            "started",
            "sections read",
            "sections total",
            "checks done",
            "checks total",
            "all reflections submitted",
            "due",
            "late",
        )
    ]
    bram_row = next(row for row in rows if row[0] == bram.display_name)
    assert bram_row[1] == bram.email
    assert bram_row[2:5] == ["yes", "1", str(len(module.sections))]
    assert bram_row[7] == "no" and bram_row[9] == "yes"
    assert "A private reflection" not in response.text
    assert [row[0] for row in rows[1:]] == [ada.display_name, bram.display_name, cas.display_name]


def test_a_name_that_looks_like_a_formula_stays_text_in_the_progress_csv(app, client, session, lecturer):
    course_class, _module, (ada, _bram, _cas) = _progress_world(app, session, lecturer)
    ada.display_name = '=HYPERLINK("http://evil")'
    session.add(ada)
    session.commit()
    rows = list(
        csv.reader(io.StringIO(client.get(f"/classes/{course_class.id}/progress.csv").content.decode("utf-8-sig")))
    )
    assert '\'=HYPERLINK("http://evil")' in [row[0] for row in rows]


def test_the_progress_matrix_uses_a_fixed_number_of_queries(app, client, session, lecturer):
    course_class = make_class(session, lecturer=lecturer)
    published = app.state.catalogue.published()
    for module in published[:3]:
        assign(session, course_class, module)
    url = f"/classes/{course_class.id}/progress"
    # By name: progress for one page of students; by progress or with a filter: for all of them.
    views = ("", "?sort=-progress", "?show=not-started&sort=progress")

    def grow(count: int) -> None:
        students = add_students(session, course_class, count)
        submit_all(session, students, published[0], first_prompt(published[0]))
        session.add_all(
            [
                SectionVisit(user_id=s.id, module_slug=published[1].slug, section_id=published[1].sections[0].id)
                for s in students
            ]
        )
        session.commit()

    def measure() -> dict:
        counted = {}
        for view in views:
            client.get(url + view)
            with count_queries(app.state.engine) as counter:
                page = client.get(url + view)
            counted[view] = (counter, len(_row_names(page.text)))
        return counted

    grow(30)
    small = measure()
    grow(270)
    large = measure()
    assert small[""][1] == small["?sort=-progress"][1] == 30
    assert large[""][1] == large["?sort=-progress"][1] == classes.PROGRESS_PER_PAGE
    for view in views:
        assert small[view][0].count == large[view][0].count, (
            f"30 students:\n{small[view][0]}\n300 students:\n{large[view][0]}"
        )
        assert large[view][0].count <= 12, str(large[view][0])  # measured: 7 on SQLite (with BEGIN)
    with count_queries(app.state.engine) as export:
        client.get(f"{url}.csv")
    assert export.count == large[""][0].count


def _row_names(html: str) -> list[str]:
    """The student named at the head of each row of the progress matrix, in page order."""
    return texts(html, '#progress-table table.matrix tbody th[scope="row"]')


def _big_class(app, session, lecturer, count: int = 60):
    """A class of `count` students; the five last by name have done something, nobody else has."""
    course_class = make_class(session, lecturer=lecturer)
    module = first_module(app)
    assign(session, course_class, module)
    students = add_students(session, course_class, count)
    by_name = sorted(students, key=lambda s: (s.display_name.lower(), s.id))
    busy = by_name[-5:]
    submit_all(session, busy, module, first_prompt(module))
    # Issue 12: a submission alone does not show in the matrix (answers show per round of k); reading does.
    session.add_all(
        [SectionVisit(user_id=s.id, module_slug=module.slug, section_id=module.sections[0].id) for s in busy]
    )
    session.commit()
    return course_class, module, by_name, busy


def test_a_big_class_is_shown_fifty_students_a_page(app, client, session, lecturer):
    course_class, _module, by_name, _busy = _big_class(app, session, lecturer)
    url = f"/classes/{course_class.id}/progress"
    first = client.get(url, headers=EN).text
    assert _row_names(first) == [s.display_name for s in by_name[: classes.PROGRESS_PER_PAGE]]
    assert "60 students" in first and "Page 1 of 2" in first
    links = pager_links(first)
    assert "prev" not in links and links["next"] == f"{url}?sort=name&show=all&page=2"
    second = client.get(links["next"], headers=EN).text
    assert _row_names(second) == [s.display_name for s in by_name[classes.PROGRESS_PER_PAGE :]]
    assert "Page 2 of 2" in second and "next" not in pager_links(second)
    assert "Students 1–50 of 60" in first and "Students 51–60 of 60" in second  # where am I, above the table
    assert pager_links(second)["prev"] == f"{url}?sort=name&show=all"
    # Z to A: the same students, the other way round, cut into the same sizes.
    z_to_a = [_row_names(client.get(f"{url}?sort=-name&page={n}").text) for n in (1, 2)]
    assert [len(names) for names in z_to_a] == [50, 10]
    assert z_to_a[0] + z_to_a[1] == [s.display_name for s in reversed(by_name)]
    # The table header's sort links and the filter form start again at page 1.
    student_column = one(second, "table.matrix thead th:first-child")
    assert one(student_column, "a.sort-link")["href"] == f"/classes/{course_class.id}/progress?sort=-name&show=all"
    form = one(second, 'form.filter-bar[method="get"]')
    assert fields(form, "page") == []


def test_sorting_by_progress_orders_the_whole_class_before_paging(app, client, session, lecturer):
    course_class, _module, by_name, busy = _big_class(app, session, lecturer)
    url = f"/classes/{course_class.id}/progress"
    assert not {s.display_name for s in busy} & set(_row_names(client.get(url).text))  # on page 2 by name
    most = client.get(f"{url}?sort=-progress").text
    assert _row_names(most)[:5] == [s.display_name for s in busy]
    least = [_row_names(client.get(f"{url}?sort=progress&page={n}").text) for n in (1, 2)]
    assert least[1][-5:] == [s.display_name for s in busy]
    assert sorted(least[0] + least[1]) == sorted(s.display_name for s in by_name)  # each student once


def test_paging_keeps_the_filter_and_the_sort(app, client, session, lecturer):
    course_class, _module, by_name, busy = _big_class(app, session, lecturer, count=58)
    url = f"/classes/{course_class.id}/progress"
    first = client.get(f"{url}?show=not-started&sort=-name", headers=EN).text
    assert "53 of 58 students" in first and "Page 1 of 2" in first
    links = pager_links(first)
    assert links["next"] == f"{url}?sort=-name&show=not-started&page=2"
    second = client.get(links["next"], headers=EN).text
    names = _row_names(first) + _row_names(second)
    assert names == [s.display_name for s in reversed(by_name) if s not in busy]
    assert [(text_of(th), th["aria-sort"]) for th in select_all(second, "th[aria-sort]")] == [("Student", "descending")]
    assert "53 of 58 students" in second
    # The htmx fragment the filter form swaps in carries the pager too.
    fragment = client.get(f"{url}?show=not-started&sort=-name", headers={"HX-Request": "true", **EN}).text
    assert [(element.name, element.get("id")) for element in top_level(fragment)] == [("div", "progress-table")]
    assert "next" in pager_links(fragment)
    assert pager_links(fragment)["next"] == links["next"]


def test_a_wrong_page_number_shows_the_nearest_page(app, client, session, lecturer):
    course_class, _module, by_name, _busy = _big_class(app, session, lecturer)
    url = f"/classes/{course_class.id}/progress"
    for page, expected in (
        ("abc", by_name[:50]),
        ("0", by_name[:50]),
        ("-3", by_name[:50]),
        ("999", by_name[50:]),
        ("9" * 40, by_name[50:]),
    ):
        response = client.get(f"{url}?page={page}")
        assert response.status_code == 200, page
        assert _row_names(response.text) == [s.display_name for s in expected], page


def test_the_csv_holds_every_student_not_one_page(app, client, session, lecturer):
    course_class, _module, by_name, busy = _big_class(app, session, lecturer)
    url = f"/classes/{course_class.id}/progress.csv"
    rows = list(csv.reader(io.StringIO(client.get(url).content.decode("utf-8-sig"))))[1:]
    assert [row[0] for row in rows] == [s.display_name for s in by_name]
    by_progress = list(csv.reader(io.StringIO(client.get(f"{url}?sort=-progress&page=2").content.decode("utf-8-sig"))))[
        1:
    ]
    assert len(by_progress) == 60 and [row[0] for row in by_progress[:5]] == [s.display_name for s in busy]
    assert [row[3] for row in by_progress[:5]] == ["1"] * 5 and {row[3] for row in by_progress[5:]} == {"0"}
    not_started = list(csv.reader(io.StringIO(client.get(f"{url}?show=not-started").content.decode("utf-8-sig"))))[1:]
    assert len(not_started) == 55


def test_the_class_overview_counts_progress_as_a_students_own_page_does(app, session):
    """progress_counts (the lecturer's matrix) and progress_matrix (the student's pages) agree on every
    pair, also with ids no longer in a module, vignettes ended twice, drafts and unfinished walks."""
    rng = random.Random(7)
    modules = app.state.catalogue.published()[:4]
    course_class = make_class(session)
    students = add_students(session, course_class, 40)
    now = utcnow()
    for n, student in enumerate(students):
        for module in modules:
            everything = n % 10 == 0  # some students finish every module
            share = 1.0 if everything else rng.choice([0.0, 0.3, 0.7])

            def pick(ids, everything=everything, share=share):
                return list(ids) if everything else [i for i in ids if rng.random() < share]

            for section_id in pick(s.id for s in module.sections) + (["a-removed-section"] if n % 3 == 0 else []):
                session.add(SectionVisit(user_id=student.id, module_slug=module.slug, section_id=section_id))
            for prompt_id in pick(module.reflections) + (["a-removed-prompt"] if n % 4 == 0 else []):
                session.add(
                    Answer(user_id=student.id, module_slug=module.slug, prompt_id=prompt_id, text="x", submitted_at=now)
                )
            drafts = [p for p in module.reflections if n % 5 == 1]
            for prompt_id in drafts:
                if (
                    session.exec(
                        select(Answer).where(
                            Answer.user_id == student.id,
                            Answer.module_slug == module.slug,
                            Answer.prompt_id == prompt_id,
                        )
                    ).first()
                    is None
                ):
                    session.add(Answer(user_id=student.id, module_slug=module.slug, prompt_id=prompt_id, text="draft"))
            for vignette_id in pick(module.vignettes) + (["a-removed-case"] if n % 6 == 0 else []):
                for _ in range(1 + n % 2):  # ended once or twice
                    session.add(
                        VignetteRun(
                            user_id=student.id, module_slug=module.slug, vignette_id=vignette_id, finished_at=now
                        )
                    )
            for vignette_id in list(module.vignettes)[:1]:
                session.add(VignetteRun(user_id=student.id, module_slug=module.slug, vignette_id=vignette_id))
            for check_id in pick(module.checks) + (["a-removed-check"] if n % 7 == 0 else []):
                session.add(
                    CheckAnswer(
                        user_id=student.id, module_slug=module.slug, check_id=check_id, selected="0", correct=True
                    )
                )
            session.flush()
    session.commit()
    ids = [student.id for student in students]
    counts = progress_counts(session, user_ids=ids, modules=modules)
    matrix = progress_matrix(session, user_ids=ids, modules=modules)
    assert counts.keys() == matrix.keys()
    seen = set()
    for key, full in matrix.items():
        lean = counts[key]
        assert (lean.percent, lean.complete, lean.started, lean.prompts, lean.prompts_total) == (
            full.percent,
            full.complete,
            full.started,
            len(full.prompts_submitted),
            full.prompts_total,
        ), key
        assert (lean.sections, lean.vignettes, lean.checks) == (
            len(full.sections_visited),
            len(full.vignettes_completed),
            len(full.checks_answered),
        ), key
        seen.add((full.complete, full.started, 0 < full.percent < 100))
    assert {(True, True, False), (False, True, True), (False, False, False)} <= seen  # the cases occurred
    # A module with no steps of some kind (here: none at all) binds empty lists of ids.
    empty = replace(modules[0], slug="nothing-to-do", sections=[], reflections={}, vignettes={}, checks={})
    lean, full = (
        progress_counts(session, user_ids=ids[:2], modules=[empty])[ids[0], empty.slug],
        progress_matrix(session, user_ids=ids[:2], modules=[empty])[ids[0], empty.slug],
    )
    assert (
        (lean.percent, lean.complete, lean.started) == (full.percent, full.complete, full.started) == (0, True, False)
    )
    assert progress_counts(session, user_ids=[], modules=modules) == {}
    assert progress_counts(session, user_ids=ids[:1], modules=[]) == {}


# -- who reaches what ----------------------------------------------------------------------------


def _class_routes(app):
    return [(method, path) for method, path in app_routes(app) if "{class_id}" in path]


def test_every_page_of_another_lecturers_class_is_404(app, client, session, lecturer):
    other_lecturer = make_user(session, role=Role.LECTURER)
    theirs = make_class(session, lecturer=other_lecturer, name="Not yours")
    module = first_module(app)
    assignment = assign(session, theirs, module)
    student = add_students(session, theirs, 5)[0]
    answers = submit_all(session, add_students(session, theirs, 5), module, first_prompt(module))
    invitation = Invitation(class_id=theirs.id, email="x@school.test", display_name="X", token_hash="f" * 64)
    session.add(invitation)
    session.commit()
    from app.services.pseudonyms import answer_ref

    ref = answer_ref(app.state.secret, class_id=theirs.id, answer_id=answers[0].id)
    values = {
        "{class_id}": theirs.id,
        "{assignment_id}": assignment.id,
        "{slug}": module.slug,
        "{prompt_id}": first_prompt(module),
        "{user_id}": student.id,
        "{lecturer_id}": other_lecturer.id,
        "{invitation_id}": invitation.id,
    }
    token = csrf(client, "/classes")
    routes = sorted(_class_routes(app))
    assert len(routes) >= 25
    for method, template in routes:
        path = template
        for name, value in values.items():
            path = path.replace(name, str(value))
        assert "{" not in path, path
        if method == "GET":
            response = client.get(path, follow_redirects=False)
        else:
            response = client.post(
                path,
                data={
                    "csrf_token": token,
                    "ref": ref,
                    "feedback": "x",
                    "action": "archive",
                    "lecturer_email": lecturer.email,
                    "name": "Mine now",
                    "min_group_size": "3",
                },
                follow_redirects=False,
            )
        assert response.status_code == 404, f"{method} {path}: {response.status_code}"
    _reload(session, theirs)
    assert theirs.archived_at is None and theirs.name == "Not yours"
    assert "Not yours" not in client.get("/classes").text


def test_an_administrator_reaches_every_class(app, session):
    theirs = make_class(session, name="Somebody's class")
    admin = make_user(session, role=Role.ADMIN)
    session.commit()  # the app's lifespan disposes the engine on exit: hold no connection
    with TestClient(app, headers=EN) as admin_client:
        login(admin_client, admin)
        assert admin_client.get(f"/classes/{theirs.id}").status_code == 200
        listing = admin_client.get("/classes").text
        others = one(listing, 'section[aria-labelledby="others-title"]')
        assert text_of(one(others, "h2")) == "Other classes"
        assert one(others, f'tbody th[scope="row"] a[href="/classes/{theirs.id}"]').get_text() == "Somebody's class"


def test_students_reach_no_class_page(app, session):
    course_class = make_class(session)
    add_students(session, course_class, 1)[0]
    student_with_password = make_user(session)
    classes.enrol(session, course_class=course_class, student=student_with_password)
    session.commit()  # the app's lifespan disposes the engine on exit: hold no connection
    with TestClient(app, headers=EN) as student_client:
        login(student_client, student_with_password)
        for path in (
            "/classes",
            f"/classes/{course_class.id}",
            f"/classes/{course_class.id}/progress",
            f"/classes/{course_class.id}/review",
            "/preview",
        ):
            assert student_client.get(path).status_code == 404, path


# -- preview ---------------------------------------------------------------------------------------


def test_a_lecturer_previews_a_module_with_every_branch_and_answer_open(app, client, session, lecturer):
    module = next(m for m in app.state.catalogue.published() if m.branching_vignettes() and m.checks)
    vignette = module.branching_vignettes()[0]
    section = module.section_of(vignette.id)
    page = client.get(f"/preview/{module.slug}/{section.id}")
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    html = page.text
    for step in vignette.steps.values():
        shown = one(html, f"#vignette-{vignette.id} li.preview-step#step-{vignette.id}-{step.id}")
        choices = select_all(shown, "ul.preview-choices > li")
        assert len(choices) == len(step.choices)
        for choice, item in zip(step.choices, choices, strict=True):
            assert inner_html(one(item, ".preview-choice__label")) == as_markup(choice.label_html)
            if choice.feedback_html:
                assert inner_html(one(item, ".preview-option__feedback")) == as_markup(choice.feedback_html)
            assert one(item, ".preview-meta a")["href"] == f"#step-{vignette.id}-{choice.target}"
    check_section = module.section_of(next(iter(module.checks)))
    html = client.get(f"/preview/{module.slug}/{check_section.id}").text
    check = next(c for c in module.checks.values() if module.section_of(c.id) is check_section)
    options = select_all(one(html, f"section#check-{check.id}"), "ol.preview-options > li.preview-option")
    assert len(options) == len(check.options)
    for index, (option, item) in enumerate(zip(check.options, options, strict=True)):
        correct = index in check.correct_indexes
        assert ("preview-option--correct" in item["class"]) is correct
        assert texts(item, ".preview-option__label .badge") == ["right" if correct else "not right"]
        if option.feedback_html:
            feedback = one(item, ".preview-option__feedback")
            one(feedback, "p.preview-meta").extract()  # "Feedback the student sees", then the feedback itself
            assert inner_html(feedback) == as_markup(option.feedback_html)
    overview = client.get(f"/preview/{module.slug}").text
    assert [a["href"] for a in select_all(overview, "nav.toc a")] == [
        f"/preview/{module.slug}/{s.id}" for s in module.sections
    ]
    assert client.get(f"/preview/{module.slug}/no-such-section").status_code == 404
    assert client.get("/preview/no-such-module").status_code == 404


def test_drafts_can_be_previewed_but_not_assigned(app, client, session, lecturer):
    module = app.state.catalogue.published()[-1]
    module.draft = True  # this test's own catalogue, loaded by its app
    listing = client.get("/preview").text
    [card] = [
        c for c in select_all(listing, "li.card") if one(c, ".card__title a")["href"] == f"/preview/{module.slug}"
    ]
    assert texts(card, ".card__meta .badge") == ["draft"]
    assert "students cannot see it" in client.get(f"/preview/{module.slug}").text
    course_class = make_class(session, lecturer=lecturer)
    url = f"/classes/{course_class.id}/assignments/new"
    assert not select_all(client.get(url).text, f'[value="{module.slug}"]')  # not offered, by no control
    refused = _post(
        client, url, {"module": module.slug, "due_on": (_today() + timedelta(days=7)).isoformat()}, form_page=url
    )
    assert refused.status_code == 400 and "Choose a published module." in refused.text


def test_a_lecturer_removes_a_student_and_the_review_does_not_change(app, client, session, lecturer):
    from app.models import Enrolment
    from tests.factories import add_students, assign, first_module, first_prompt, review_url, submit

    course_class = make_class(session, lecturer=lecturer)
    module = first_module(app)
    assign(session, course_class, module)
    students = add_students(session, course_class, 5)
    prompt_id = first_prompt(module)
    for student in students:
        submit(session, student, module, prompt_id, f"Antwoord van iemand {student.id}")
    review_before = client.get(review_url(course_class, module, prompt_id)).text
    leaving = students[0]
    url = f"/classes/{course_class.id}/students/{leaving.id}/remove"
    asked = _post(client, url, {}, form_page=f"/classes/{course_class.id}/students")
    assert "stay in the review as they are" in asked.text
    assert _post(client, url, {"confirmed": "1"}, form_page=f"/classes/{course_class.id}/students").status_code == 303
    session.expire_all()
    assert session.get(Enrolment, (course_class.id, leaving.id)) is None
    assert leaving.email not in client.get(f"/classes/{course_class.id}/students").text
    # Removing a named student must not make "their" answers vanish: that would name the author.
    assert _answers_on(client.get(review_url(course_class, module, prompt_id)).text) == _answers_on(review_before)


def _answers_on(html: str) -> list[str]:
    import re

    return sorted(re.findall(r"Antwoord van iemand \d+", html))


def test_a_due_date_can_be_kept_but_not_moved_into_the_past(app, client, session, lecturer):
    """One rule in the service (classes.check_dates), for the new-assignment form, this form and the CLI."""
    course_class = make_class(session, lecturer=lecturer)
    assignment = assign(session, course_class, first_module(app), days=-2)  # past due already
    url = f"/classes/{course_class.id}/assignments/{assignment.id}"
    past = assignment.due_on.isoformat()
    kept = _post(
        client, url, {"due_on": past, "opens_on": (assignment.due_on - timedelta(days=7)).isoformat()}, form_page=url
    )
    assert kept.status_code == 303  # the opening date changed; the passed due date stays as it was
    moved = _post(client, url, {"due_on": (assignment.due_on - timedelta(days=1)).isoformat()}, form_page=url)
    assert moved.status_code == 400 and "The due date has passed" in moved.text
    session.expire_all()
    assert session.get(Assignment, assignment.id).due_on.isoformat() == past
