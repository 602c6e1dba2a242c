"""Hardening (issue 14, and issue 17 item 1): every bad input gets a clear answer, one bad module never
stops the platform, nothing typed is lost, and the security edges hold. One story per finding."""

from __future__ import annotations

import re
import sys
from datetime import timedelta

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from markdown_it import MarkdownIt
from sqlalchemy import event, text, update
from sqlmodel import select

from app.config import ConfigError
from app.content.catalogue import load_catalogue
from app.content.checking import check_directory
from app.main import create_app
from app.models import Answer, CourseClass, Role, ThrottleEvent
from app.proxies import TrustedProxies
from app.services import classes
from app.services.markdown_text import escape_markdown, quote_markdown
from tests.conftest import POSTGRES_URL, csrf_from
from tests.content.moduletools import line_of, write_module
from tests.factories import PASSWORD, csrf, login, make_class, make_user
from tests.pages import field, one

SECTION = "## Kennismaken {#kennismaken}\n\nYusuf (14) woont sinds twee weken in de leefgroep.\n"


# -- 1, 2: module files ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad_line",
    [
        "Zie [de bijlage](a%00b).",
        "![Een foto van de leefgroep](" + "a" * 300 + ".png)",
    ],
)
def test_a_bad_file_name_is_one_problem_line_and_the_other_modules_are_served(tmp_path, settings, bad_line):
    good = write_module(tmp_path, "goede-module", SECTION)
    bad = write_module(tmp_path, "kapotte-module", [SECTION, bad_line])
    report = check_directory(tmp_path)
    assert [(e["path"], e["line"]) for e in report["errors"]] == [(str(bad), line_of(bad, bad_line[:10]))]
    assert "geen geldige bestandsnaam" in report["errors"][0]["message"]
    app = create_app(settings.model_copy(update={"modules_dir": tmp_path}))
    with TestClient(app) as client:
        assert client.get("/modules/goede-module").status_code == 200
        assert client.get("/modules/kapotte-module").status_code == 404
    assert good.exists()


def test_deeply_nested_front_matter_is_one_problem_not_a_traceback(tmp_path):
    path = write_module(tmp_path, "diep", SECTION, front="title: x\nx: " + "[" * 3000 + "\n")
    (problem,) = check_directory(tmp_path)["errors"]
    assert problem["path"] == str(path) and problem["line"] == 2 and "te diep genest" in problem["message"]


def test_whatever_breaks_in_one_module_stays_that_modules_one_problem(tmp_path, monkeypatch):
    write_module(tmp_path, "goede-module", SECTION)
    broken = write_module(tmp_path, "andere-module", SECTION)
    from app.content import catalogue as catalogue_module

    real = catalogue_module.parse_module

    def parser_bug(path):
        if path == broken:
            raise IndexError("a bug in the parser")
        return real(path)

    monkeypatch.setattr(catalogue_module, "parse_module", parser_bug)
    catalogue = load_catalogue(tmp_path)
    assert list(catalogue.modules) == ["goede-module"]
    (problem,) = catalogue.problems
    assert problem.path == broken and problem.line == 1 and "IndexError" in problem.message


def test_nabij_modules_check_reports_a_bad_module_as_one_line(tmp_path):
    from app.cli import main

    write_module(tmp_path, "goede-module", SECTION)
    bad = write_module(tmp_path, "kapotte-module", [SECTION, "[x](a%00b)"])
    result = CliRunner().invoke(main, ["modules", "check", str(tmp_path)])
    assert (result.exit_code == 1 and result.exception is None) or isinstance(result.exception, SystemExit)
    assert result.stdout.strip().splitlines() == [
        f"{bad}:{line_of(bad, '[x](a%00b)')}: link 'a%00b' is geen geldige bestandsnaam "
        "(geen stuurtekens, elk deel van het pad hoogstens 255 bytes)"
    ]


def test_an_overlong_line_or_file_is_refused_with_a_clear_message(tmp_path):
    path = write_module(tmp_path, "lange-kop", ["## " + " " * 50_000 + "x", SECTION])
    (problem,) = check_directory(tmp_path)["errors"]
    assert (
        problem["line"] == line_of(path, "     x") and "regel is te lang (maximaal 5000 tekens)" in problem["message"]
    ), path
    big = write_module(tmp_path / "groot", "grote-module", [SECTION] + ["Een zin die vaak terugkomt.\n"] * 80_000)
    (problem,) = check_directory(big.parent)["errors"]
    assert problem["line"] == 1 and "bestand is te groot" in problem["message"]


def _chain(steps: int) -> str:
    parts = ["::::{vignette} Een lange casus\n:id: lange-casus\n\nHet begin.\n"]
    for n in range(steps):
        target = f"stap-{n + 1}" if n + 1 < steps else "einde"
        parts.append(f":::{{step}} stap-{n}\nStap {n}.\n\n- [Verder](#{target})\n  Dat helpt.\n:::\n")
    parts.append(":::{ending} einde\nHet einde.\n:::\n::::\n")
    return SECTION + "\n" + "\n".join(parts)


def _calls_to_parse(path) -> int:
    from app.content.parser import parse_module

    calls = 0

    def count(frame, event_name, arg):
        nonlocal calls
        if event_name in ("call", "c_call"):
            calls += 1

    sys.setprofile(count)
    try:
        module, problems = parse_module(path)
    finally:
        sys.setprofile(None)
    assert problems == [] and module is not None
    return calls


def test_checking_a_long_vignette_takes_work_in_proportion_to_its_length(tmp_path):
    # Counted work, not time: four times the steps may take about four times the calls, not sixteen.
    small = _calls_to_parse(write_module(tmp_path, "kort", _chain(100)))
    large = _calls_to_parse(write_module(tmp_path, "lang", _chain(400)))
    assert large < 6 * small, (small, large)


def test_heading_ids_are_found_without_a_regex_that_backtracks():
    from app.content.parser import heading_id

    assert heading_id("Kennismaken {#kennismaken}  ") == ("Kennismaken", "kennismaken")
    assert heading_id(" " * 4000 + "x") is None
    assert heading_id("{#" * 2000) is None


# -- 3: control characters, the same on both databases ---------------------------------------------


def _student_in_module(app, client, session):
    module = next(m for m in app.state.catalogue.published() if m.reflections)
    prompt = next(iter(module.reflections.values()))
    student = make_user(session)
    course_class = make_class(session)
    classes.enrol(session, course_class=course_class, student=student)
    session.commit()
    login(client, student)
    section = module.section_of(prompt.id)
    return module, prompt, student, f"/modules/{module.slug}/{section.id}"


def test_a_reflection_with_a_nul_is_saved_without_it_and_nothing_else_is_lost(app, client, session):
    module, prompt, student, page = _student_in_module(app, client, session)
    token = csrf(client, page)
    typed = "Ik merkte\x00 dat ik\ttwijfelde.\r\nDaarna\x07 vroeg ik het\x85 haar."
    response = client.post(
        f"/modules/{module.slug}/prompts/{prompt.id}/draft",
        data={"text": typed, "version": "0", "csrf_token": token},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200, response.text
    session.expire_all()
    answer = session.exec(select(Answer).where(Answer.user_id == student.id)).one()
    assert answer.text == "Ik merkte dat ik\ttwijfelde.\r\nDaarna vroeg ik het haar."


def test_a_nul_in_other_text_fields_is_no_server_error(client, session):
    lecturer = make_user(session, role=Role.LECTURER)
    page = client.get("/login")
    response = client.post(
        "/login", data={"email": "an\x00@school.test", "password": "x\x00", "csrf_token": csrf_from(page.text)}
    )
    assert response.status_code == 400
    page = client.get("/password/forgot")
    assert (
        client.post(
            "/password/forgot", data={"email": "an\x00@school.test", "csrf_token": csrf_from(page.text)}
        ).status_code
        == 200
    )
    login(client, lecturer)
    response = client.post(
        "/classes/new",
        data={"name": "SW2A", "programme": "Sociaal\x00 Werk", "csrf_token": csrf(client, "/classes/new")},
        follow_redirects=False,
    )
    assert response.status_code == 303
    session.expire_all()
    assert session.exec(select(CourseClass).where(CourseClass.name == "SW2A")).one().programme == "Sociaal Werk"
    assert client.get("/password/reset/ab%00cd").status_code in (200, 400)


# -- 4: malformed requests -------------------------------------------------------------------------


def test_a_csrf_token_with_non_ascii_characters_is_refused_not_a_crash(client, session):
    client.get("/login")
    assert client.post("/login", data={"email": "a@b.be", "password": "x", "csrf_token": "tökén"}).status_code == 403
    assert client.post("/logout", headers={"X-CSRF-Token": "tökén".encode()}).status_code == 403


def test_ids_in_urls_beyond_the_columns_range_are_404(client, session):
    admin = make_user(session, role=Role.ADMIN)
    login(client, admin)
    token = csrf(client, "/admin/users")
    for path in ("/classes/99999999999", "/classes/abc", "/classes/0", "/classes/2147483648/students"):
        assert client.get(path).status_code == 404, path
    assert (
        client.post("/admin/users/99999999999/role", data={"role": "lecturer", "csrf_token": token}).status_code == 404
    )


def test_numbers_in_forms_are_ascii_digits_only(app, client, session):
    module, prompt, _student, page = _student_in_module(app, client, session)
    token = csrf(client, page)
    response = client.post(
        f"/modules/{module.slug}/prompts/{prompt.id}/draft",
        data={"text": "Een tekst.", "version": "²", "csrf_token": token},
        headers={"HX-Request": "true"},
    )
    assert response.status_code < 500
    check_module = next(m for m in app.state.catalogue.published() if m.checks)
    check = next(iter(check_module.checks.values()))
    response = client.post(
        f"/modules/{check_module.slug}/checks/{check.id}", data={"option": ["1²", "٣"], "csrf_token": token}
    )
    assert response.status_code < 500
    from app.forms import parse_int

    assert [parse_int(v) for v in ("12", "²", "١", "-1", "+1", " 1", "2147483648", "")] == [12] + [None] * 7


def test_media_names_with_a_nul_or_over_255_bytes_are_404(app, client):
    slug = app.state.catalogue.published()[0].slug
    assert client.get(f"/modules/{slug}/media/a%00b.png").status_code == 404
    assert client.get(f"/modules/{slug}/media/{'a' * 300}.png").status_code == 404


def test_a_200_character_email_is_still_throttled(client, session, settings):
    email = "x" * 200 + "@school.test"
    for _ in range(settings.throttle_max_attempts):
        page = client.get("/login")
        assert (
            client.post(
                "/login", data={"email": email, "password": "wrong password!", "csrf_token": csrf_from(page.text)}
            ).status_code
            == 400
        )
    page = client.get("/login")
    assert (
        client.post(
            "/login", data={"email": email, "password": "wrong password!", "csrf_token": csrf_from(page.text)}
        ).status_code
        == 429
    )


def test_a_long_forwarded_address_from_a_trusted_proxy_is_still_throttled(app, session, settings):
    with TestClient(
        app, client=("127.0.0.1", 5000), headers={"Accept-Language": "en", "X-Forwarded-For": "203.0.113." + "9" * 300}
    ) as proxied:
        for n in range(settings.throttle_max_attempts + 1):
            page = proxied.get("/signup")
            response = proxied.post(
                "/signup",
                data={
                    "join_code": f"WRONG-{n:04d}",
                    "display_name": "Sam",
                    "email": "sam@school.test",
                    "password": "a long passphrase",
                    "csrf_token": csrf_from(page.text),
                },
            )
        assert response.status_code == 429


def test_a_line_break_in_a_class_name_is_refused_at_the_form(client, session):
    login(client, make_user(session, role=Role.LECTURER))
    response = client.post(
        "/classes/new", data={"name": "SW2A\r\nBcc: iedereen@school.be", "csrf_token": csrf(client, "/classes/new")}
    )
    assert response.status_code == 400 and "Write it on one line, without line breaks." in response.text


def test_a_line_break_in_a_roster_email_is_a_line_problem(client, session):
    lecturer = make_user(session, role=Role.LECTURER)
    course_class = make_class(session, lecturer=lecturer)
    login(client, lecturer)
    roster = 'name,email\nSam,"sam@school.test\nBcc: x@evil.example"\n'
    response = client.post(
        f"/classes/{course_class.id}/students/import",
        data={"roster_text": roster, "csrf_token": csrf(client, f"/classes/{course_class.id}/students")},
    )
    assert response.status_code == 400 and "is not a valid email address" in response.text


def test_invitations_that_cannot_be_mailed_are_reported_not_a_crash(client, session):
    lecturer = make_user(session, role=Role.LECTURER)
    course_class = make_class(session, lecturer=lecturer)
    session.exec(update(CourseClass).where(CourseClass.id == course_class.id).values(name="SW2A\nvan vroeger"))
    session.commit()  # a name from before the form refused line breaks
    login(client, lecturer)
    response = client.post(
        f"/classes/{course_class.id}/students/import",
        data={
            "roster_text": "Sam,sam@school.test\nNoor,noor@school.test\n",
            "csrf_token": csrf(client, f"/classes/{course_class.id}/students"),
        },
        follow_redirects=False,
    )
    assert response.status_code == 303 and "unsent=2" in response.headers["location"]


# -- 5: a full disk, a read-only database, an unknown revision -------------------------------------


def _make_read_only(engine) -> None:
    statement = (
        "SET default_transaction_read_only = on" if engine.dialect.name == "postgresql" else "PRAGMA query_only = ON"
    )

    def read_only(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        cursor.execute(statement)
        cursor.close()
        if engine.dialect.name == "postgresql":
            dbapi_connection.commit()

    event.listen(engine, "connect", read_only)
    engine.dispose()


def test_when_the_database_cannot_be_written_the_autosave_says_so_and_health_fails(app, client, session):
    module, prompt, _student, page = _student_in_module(app, client, session)
    token = csrf(client, page)
    _make_read_only(app.state.engine)
    response = client.post(
        f"/modules/{module.slug}/prompts/{prompt.id}/draft",
        data={"text": "Mijn tekst.", "version": "0", "csrf_token": token},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 503
    assert "The server could not store your text; it is kept in this browser." in response.text
    health = client.get("/healthz")
    assert health.status_code == 503 and health.json()["database"] == "not writable"
    form = one(client.get(page).text, f"section#prompt-{prompt.id} form.reflection-form")
    message = field(form, "text").element["data-msg-storage"]  # what the script says when it happens again
    assert message.startswith("The server could not store your text; it is kept in this browser.")


@pytest.mark.skipif(bool(POSTGRES_URL), reason="a full disk is simulated with SQLite's max_page_count")
def test_a_full_disk_during_an_autosave_is_a_clear_503(app, client, session):
    module, prompt, _student, page = _student_in_module(app, client, session)
    token = csrf(client, page)

    def full(dbapi_connection, _record):
        pages = dbapi_connection.execute("PRAGMA page_count").fetchone()[0]
        dbapi_connection.execute(f"PRAGMA max_page_count = {pages}")

    event.listen(app.state.engine, "connect", full)
    app.state.engine.dispose()
    response = client.post(
        f"/modules/{module.slug}/prompts/{prompt.id}/draft",
        data={"text": "Een lange tekst. " * 2000, "version": "0", "csrf_token": token},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 503 and "it is kept in this browser" in response.text


def test_a_read_only_database_at_start_is_one_line_saying_what_to_do(settings):
    app = create_app(settings, check_schema=False)
    _make_read_only(app.state.engine)
    from app.migrations import ensure_current

    with pytest.raises(ConfigError, match=r"cannot be written to .*free disk space, or make the database"):
        ensure_current(settings, app.state.engine)
    app.state.engine.dispose()


def test_a_database_from_a_newer_version_is_one_line(settings, monkeypatch):
    from app.db import make_engine

    engine = make_engine(settings)
    with engine.begin() as connection:
        current = connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
        connection.execute(text("UPDATE alembic_version SET version_num = 'from_the_future'"))
    try:
        with pytest.raises(ConfigError, match="revision from_the_future, which this version of Nabij does not know"):
            create_app(settings)
        from app import cli
        from app.cli import operations

        monkeypatch.setattr(operations, "get_settings", lambda: settings)
        result = CliRunner().invoke(cli.main, ["migrate"])
        assert result.exit_code == 1
        assert result.stderr.strip().splitlines() == [
            "error: the database is at revision from_the_future, which this version of Nabij does not know (a newer "
            "version migrated it): run that newer version, or restore the backup made before the upgrade"
        ]
    finally:
        with engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": current})
        engine.dispose()


# -- 7: forgotten passwords ------------------------------------------------------------------------


def test_forgot_password_does_the_same_work_for_known_and_unknown_addresses(settings, session, monkeypatch):
    from app.services import password_reset

    monkeypatch.setenv("NABIJ_COUNT_QUERIES", "1")
    queued = []
    real_queue = password_reset.queue_reset_mail
    monkeypatch.setattr(password_reset, "queue_reset_mail", lambda *args, **kwargs: queued.append((args, kwargs)))
    app = create_app(settings)
    user = make_user(session)
    counts = {}
    with TestClient(app, headers={"Accept-Language": "en"}) as client:
        for email in (user.email, "nobody@school.test"):
            page = client.get("/password/forgot")
            response = client.post("/password/forgot", data={"email": email, "csrf_token": csrf_from(page.text)})
            assert response.status_code == 200
            counts[email] = (int(response.headers["X-Query-Count"]), response.text.replace(email, "…"))
    assert counts[user.email] == counts["nobody@school.test"]  # the same statements, the same page
    assert [args[1] for args, _ in queued] == [user.email, "nobody@school.test"]  # the lookup is the job's
    from fastapi import BackgroundTasks

    for args, kwargs in queued:  # the queued work: a mail to the owner only
        tasks = BackgroundTasks()
        real_queue(*args, **{**kwargs, "background": tasks})
        for task in tasks.tasks:
            task.func(*task.args, **task.kwargs)
    assert len(list((settings.var_dir / "outbox").glob("*.eml"))) == 1
    app.state.engine.dispose()


# -- 8 and issue 17 item 1: throttling that a lecture hall survives --------------------------------


def _login(client, email, password):
    page = client.get("/login")
    return client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": csrf_from(page.text)},
        follow_redirects=False,
    )


def test_the_owner_gets_in_from_their_own_device_while_someone_guesses_their_password(app, session, settings):
    owner = make_user(session, role=Role.LECTURER)
    with TestClient(app) as laptop, TestClient(app) as attacker:
        assert _login(laptop, owner.email, PASSWORD).status_code == 303
        laptop.post("/logout", data={"csrf_token": csrf(laptop, "/account")})
        for _ in range(settings.throttle_max_attempts + 1):
            last = _login(attacker, owner.email, "guess guess guess")
        assert last.status_code == 429
        assert _login(laptop, owner.email, PASSWORD).status_code == 303


def test_after_a_password_reset_the_owner_gets_in_from_a_new_device(app, session, settings):
    owner = make_user(session)
    with TestClient(app) as attacker, TestClient(app) as phone:
        for _ in range(settings.throttle_max_attempts + 1):
            _login(attacker, owner.email, "guess guess guess")
        assert _login(phone, owner.email, PASSWORD).status_code == 429
        page = phone.get("/password/forgot")
        phone.post("/password/forgot", data={"email": owner.email, "csrf_token": csrf_from(page.text)})
        mail = next((settings.var_dir / "outbox").glob("*.eml")).read_text()
        link = re.search(r"/password/reset/[\w-]+", mail).group(0)
        page = phone.get(link)
        phone.post(link, data={"password": "a brand new passphrase", "csrf_token": csrf_from(page.text)})
        assert _login(phone, owner.email, "a brand new passphrase").status_code == 303


def test_failed_logins_of_a_lecture_hall_do_not_lock_out_the_lecturer(app, session, settings):
    lecturer = make_user(session, role=Role.LECTURER)
    for n in range(settings.throttle_max_attempts * 2):  # ten students, one campus address, each a typo
        with TestClient(app) as student_laptop:
            assert _login(student_laptop, f"student{n}@school.test", "typo typo typo").status_code == 400
    with TestClient(app) as lecturer_laptop:
        assert _login(lecturer_laptop, lecturer.email, PASSWORD).status_code == 303


def test_the_wait_grows_with_each_further_failure(client, session, settings):
    user = make_user(session)
    for _ in range(settings.throttle_max_attempts):
        _login(client, user.email, "wrong password!")
    first = int(_login(client, user.email, "wrong password!").headers["Retry-After"])
    assert 0 < first <= 61
    for row in session.exec(select(ThrottleEvent)).all():
        row.created_at = row.created_at - timedelta(seconds=61)
        session.add(row)
    session.commit()
    assert _login(client, user.email, "wrong password!").status_code == 400  # the wait is over: one more try
    second = int(_login(client, user.email, "wrong password!").headers["Retry-After"])
    assert 61 < second <= 121


def _signup(client, code):
    page = client.get("/signup")
    return client.post(
        "/signup",
        data={
            "join_code": code,
            "display_name": "Sam",
            "email": "sam@school.test",
            "password": "a long passphrase",
            "csrf_token": csrf_from(page.text),
        },
    )


@pytest.mark.parametrize("settings", [{"throttle_address_attempts": 3}], indirect=True)
def test_a_class_copying_the_same_wrong_code_counts_once_for_the_address(app, session, settings):
    course_class = make_class(session)
    for _ in range(10):  # the code on the projector had a typo
        with TestClient(app) as student:
            assert _signup(student, "ABCD-EFGH").status_code == 400
    with TestClient(app) as student:
        page = student.get("/signup")
        response = student.post(
            "/signup",
            data={
                "join_code": course_class.join_code,
                "display_name": "Sam",
                "email": "sam@school.test",
                "password": "a long passphrase",
                "csrf_token": csrf_from(page.text),
            },
        )
        assert response.status_code in (200, 303)


@pytest.mark.parametrize("settings", [{"throttle_address_attempts": 3}], indirect=True)
def test_guessing_different_codes_from_one_address_is_slowed(app, session, settings):
    make_class(session)
    for n in range(3):
        with TestClient(app) as guesser:  # a fresh browser each time: only the address counts
            assert _signup(guesser, f"GUES-S{n:03d}").status_code == 400
    with TestClient(app) as guesser:
        assert _signup(guesser, "GUES-S999").status_code == 429


# -- 9: trusted proxies ----------------------------------------------------------------------------


def test_the_right_most_address_that_is_not_a_trusted_proxy_is_the_client():
    trusted = TrustedProxies.parse("127.0.0.1, 10.0.0.0/8")
    assert trusted.client("127.0.0.1", ["6.6.6.6", "198.51.100.7", "10.0.0.3"]) == "198.51.100.7"
    assert trusted.client("203.0.113.1", ["6.6.6.6"]) == "203.0.113.1"  # not from a proxy: the header is ignored
    assert trusted.client("127.0.0.1", []) == "127.0.0.1"
    assert TrustedProxies.parse("*").client("172.18.0.4", ["6.6.6.6", "198.51.100.7"]) == "198.51.100.7"
    with pytest.raises(ValueError, match=r"'proxy\.school\.be' is not an IP address"):
        TrustedProxies.parse("proxy.school.be")


@pytest.mark.parametrize("settings", [{"throttle_address_attempts": 3}], indirect=True)
def test_a_made_up_forwarded_for_does_not_escape_the_address_limit(app, session, settings):
    make_class(session)
    for n in range(4):
        with TestClient(app, client=("203.0.113.9", 4000), headers={"X-Forwarded-For": f"198.51.100.{n}"}) as guesser:
            response = _signup(guesser, f"GUES-S{n:03d}")
    assert response.status_code == 429


# -- 10: caching -----------------------------------------------------------------------------------


def test_every_page_for_a_logged_in_user_is_no_store_error_pages_included(app, client, session):
    module = app.state.catalogue.published()[0]
    login(client, make_user(session, role=Role.LECTURER))
    for path in (
        "/modules",
        f"/modules/{module.slug}",
        f"/modules/{module.slug}/{module.sections[0].id}",
        "/bestaat-niet",
        "/classes/99999",
    ):
        assert client.get(path).headers.get("Cache-Control") == "no-store", path
    assert "no-store" not in client.get("/static/nabij.css").headers.get("Cache-Control", "")


# -- 11: the Origin check --------------------------------------------------------------------------


def test_a_cross_site_post_cannot_plant_text_in_a_draft_through_the_login_page(app, client, session):
    module = next(m for m in app.state.catalogue.published() if m.reflections)
    prompt = next(iter(module.reflections))
    for headers in ({"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}):
        response = client.post(
            f"/modules/{module.slug}/prompts/{prompt}/draft",
            data={"text": "geplante tekst", "version": "0"},
            headers=headers,
        )
        assert response.status_code == 403, headers
        assert "geplante tekst" not in response.text and "another website" in response.text


def test_same_origin_posts_and_programs_without_the_headers_pass_the_origin_check(client, session):
    user = make_user(session)
    page = client.get("/login")
    response = client.post(
        "/login",
        data={"email": user.email, "password": PASSWORD, "csrf_token": csrf_from(page.text)},
        headers={"Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"},
        follow_redirects=False,
    )
    assert response.status_code == 303


def test_the_lti_endpoints_and_one_click_unsubscribe_are_the_only_cross_site_exemptions():
    from app.auth import CROSS_SITE_POST_PATHS, CROSS_SITE_POST_PREFIXES

    assert {"/lti/login", "/lti/launch"} == CROSS_SITE_POST_PATHS
    assert CROSS_SITE_POST_PREFIXES == ("/notifications/unsubscribe/",)


# -- 12: Markdown exports --------------------------------------------------------------------------

HOSTILE = (
    "# Kop\n\n---\n<img src=x onerror=alert(1)>\n[klik](javascript:alert(1)) ![spoor](https://evil.example/p.png)\n"
    "    code\n1. lijst\n- punt\n:::{note}\n*vet* `code` &amp; | tabel |\nTitel\n==="
)


def _structure(markdown: str) -> set[str]:
    tokens = MarkdownIt("commonmark").enable("table").parse(markdown)
    kinds = {t.type for t in tokens}
    for token in tokens:
        kinds |= {c.type for c in token.children or []}
    return kinds - {
        "paragraph_open",
        "paragraph_close",
        "inline",
        "text",
        "softbreak",
        "blockquote_open",
        "blockquote_close",
    }


def test_student_text_in_a_markdown_export_stays_text():
    assert _structure(escape_markdown(HOSTILE)) == set()
    assert _structure(quote_markdown(HOSTILE)) == set()
    rendered = MarkdownIt("commonmark").render(escape_markdown("Ik & jij: <b>samen</b> *nu*"))
    assert rendered == "<p>Ik &amp; jij: &lt;b&gt;samen&lt;/b&gt; *nu*</p>\n"


def test_the_my_data_markdown_escapes_what_was_written():
    from app.services.export import markdown_files

    data = {
        "modules": [
            {
                "slug": "m",
                "title": "Module",
                "vignettes": [],
                "reflections": [
                    {
                        "prompt_title": "Vraag",
                        "prompt_id": "v",
                        "current_text": HOSTILE,
                        "submissions": [{"submitted_at": "2026-12-01", "text": HOSTILE}],
                        "feedback": [{"given_at": "2026-12-02", "feedback": HOSTILE, "your_reply": HOSTILE}],
                    }
                ],
            }
        ]
    }
    document = markdown_files(data)["m.md"]
    assert "<img" not in MarkdownIt("commonmark").render(document)
    assert not {
        "image",
        "link_open",
        "html_block",
        "html_inline",
        "hr",
        "code_block",
        "bullet_list_open",
        "ordered_list_open",
    } & _structure(document)


def test_control_characters_in_an_uploaded_roster_and_in_multipart_fields_go_as_in_every_form(client, session):
    from app.models import Invitation

    lecturer = make_user(session, role=Role.LECTURER)
    course_class = make_class(session, lecturer=lecturer)
    login(client, lecturer)
    token = csrf(client, f"/classes/{course_class.id}/students")
    response = client.post(
        f"/classes/{course_class.id}/students/import",
        data={"csrf_token": token},
        files={"roster_file": ("klas.csv", b"name,email\nSa\x00m Peeters,sam@school.test\n")},
        follow_redirects=False,
    )
    assert response.status_code == 303
    response = client.post(
        f"/classes/{course_class.id}/students/import",
        data={"csrf_token": token, "roster_text": "No\x00or,noor@school.test\n"},
        files={"roster_file": ("", b"")},
        follow_redirects=False,
    )
    assert response.status_code == 303
    session.expire_all()
    names = sorted(i.display_name for i in session.exec(select(Invitation)).all())
    assert names == ["Noor", "Sam Peeters"]


def test_with_the_job_queue_the_reset_mail_is_a_job(client, session, settings, monkeypatch):
    from app import jobs

    monkeypatch.setattr(jobs.huey, "_immediate", jobs.huey._immediate)  # restored after the test
    monkeypatch.setattr(jobs.huey, "storage", jobs.huey.storage)
    monkeypatch.setitem(jobs._context, "settings", jobs._context["settings"])
    jobs.configure(settings)  # NABIJ_ENV=test: immediate mode, the job runs at once in this process
    user = make_user(session)
    page = client.get("/password/forgot")
    assert (
        client.post("/password/forgot", data={"email": user.email, "csrf_token": csrf_from(page.text)}).status_code
        == 200
    )
    mail = next((settings.var_dir / "outbox").glob("*.eml")).read_text()
    assert "/password/reset/" in mail
