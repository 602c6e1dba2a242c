"""The security baseline: headers, cookies, CSRF, throttling, password storage, sessions."""

import json
import logging
import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from app.main import create_app
from app.models import Role, User, UserSession, utcnow
from app.services import classes
from tests.conftest import csrf_from
from tests.factories import PASSWORD, csrf, login, make_class, make_user
from tests.pages import error_for, field, has, one
from tests.pages import select as select_all

EN = {"Accept-Language": "en"}


# -- headers -------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/modules", "/login", "/healthz", "/static/nabij.css", "/bestaat-niet"])
def test_every_response_carries_the_security_headers(client, path):
    response = client.get(path)
    csp = response.headers["Content-Security-Policy"]
    script_src = re.search(r"script-src ([^;]+)", csp).group(1)
    assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src
    assert "'unsafe-inline'" not in csp
    for directive in ("object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'"):
        assert directive in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"]
    assert "camera=()" in response.headers["Permissions-Policy"]
    assert "Strict-Transport-Security" not in response.headers


def test_htmx_is_configured_without_eval(client):
    page = client.get("/modules").text
    config = json.loads(one(page, 'head meta[name="htmx-config"]')["content"])
    assert config["allowEval"] is False
    assert config["includeIndicatorStyles"] is False
    assert config["historyCacheSize"] == 0
    inline = [script for script in select_all(page, "script:not([src])") if script.get("type") != "application/json"]
    assert inline == []  # no inline code (JSON data blocks are data): the CSP forbids it
    assert select_all(page, "[style], style") == []  # nor inline styles


def test_production_adds_hsts_and_host_only_secure_cookies(settings, session):
    production = settings.model_copy(update={"env": "production"})
    user = make_user(session)
    with TestClient(create_app(production), base_url="https://testserver") as client:
        page = client.get("/login")
        assert "max-age=31536000" in page.headers["Strict-Transport-Security"]
        assert "__Host-nabij_csrf=" in page.headers["set-cookie"]
        response = client.post(
            "/login",
            data={"email": user.email, "password": PASSWORD, "csrf_token": csrf_from(page.text)},
            follow_redirects=False,
        )
        cookie = response.headers["set-cookie"]
        assert cookie.startswith("__Host-nabij_session=")
        assert "Secure" in cookie and "HttpOnly" in cookie and "Path=/" in cookie


# -- sessions ------------------------------------------------------------------------------------


def test_login_sets_an_httponly_samesite_session_cookie(client, session):
    user = make_user(session)
    page = client.get("/login")
    response = client.post(
        "/login",
        data={"email": user.email, "password": PASSWORD, "csrf_token": csrf_from(page.text)},
        follow_redirects=False,
    )
    assert response.status_code == 303
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("nabij_session=")
    assert "HttpOnly" in cookie and "samesite=lax" in cookie.lower()


def test_login_issues_a_new_token_whatever_the_browser_sent(client, session):
    user = make_user(session)
    client.cookies.set("nabij_session", "attacker-chosen-value", domain="testserver.local")
    login(client, user)
    assert client.cookies.get("nabij_session") != "attacker-chosen-value"
    assert client.get("/account").status_code == 200


def test_email_is_case_insensitive_at_login(client, session):
    user = make_user(session, email="An.Peeters@School.be")
    assert user.email == "an.peeters@school.be"
    user.email = "AN.PEETERS@SCHOOL.BE"
    login(client, user)


def test_logout_revokes_the_session_on_the_server(client, session):
    user = make_user(session)
    login(client, user)
    token = client.cookies.get("nabij_session")
    client.post("/logout", data={"csrf_token": csrf(client)})
    assert session.exec(select(UserSession).where(UserSession.user_id == user.id)).first() is None
    client.cookies.set("nabij_session", token, domain="testserver.local")  # the back button, or a stolen cookie
    assert client.get("/account", follow_redirects=False).status_code == 303


def test_idle_session_expires(client, session, settings):
    user = make_user(session)
    login(client, user)
    row = session.exec(select(UserSession).where(UserSession.user_id == user.id)).one()
    row.last_seen_at = utcnow() - timedelta(minutes=settings.session_idle_minutes + 1)
    session.add(row)
    session.commit()
    response = client.get("/account", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login?next=")


def test_session_has_an_absolute_lifetime(client, session, settings):
    user = make_user(session)
    login(client, user)
    row = session.exec(select(UserSession).where(UserSession.user_id == user.id)).one()
    row.created_at = utcnow() - timedelta(hours=settings.session_max_hours, minutes=1)
    session.add(row)
    session.commit()
    assert client.get("/account", follow_redirects=False).status_code == 303


def test_password_change_ends_the_other_sessions(app, session):
    user = make_user(session)
    with TestClient(app, headers=EN) as laptop, TestClient(app, headers=EN) as phone:
        login(laptop, user)
        login(phone, user)
        response = laptop.post(
            "/account/password",
            data={
                "current_password": PASSWORD,
                "new_password": "a brand new passphrase",
                "end_others": "1",
                "csrf_token": csrf(laptop, "/account"),
            },
            follow_redirects=False,
        )
        assert response.status_code == 303
        assert laptop.get("/account").status_code == 200
        assert phone.get("/account", follow_redirects=False).status_code == 303


def test_user_can_end_their_other_sessions(app, session):
    user = make_user(session)
    with TestClient(app, headers=EN) as laptop, TestClient(app, headers=EN) as phone:
        login(laptop, user)
        login(phone, user)
        assert "1 other device" in laptop.get("/account").text
        laptop.post("/account/sessions/end-others", data={"csrf_token": csrf(laptop, "/account")})
        assert laptop.get("/account").status_code == 200
        assert phone.get("/account", follow_redirects=False).status_code == 303


def test_deactivating_an_account_ends_its_sessions_at_once(app, session):
    admin = make_user(session, role=Role.ADMIN)
    student = make_user(session)
    with TestClient(app, headers=EN) as admin_client, TestClient(app, headers=EN) as student_client:
        login(admin_client, admin)
        login(student_client, student)
        asked = admin_client.post(
            f"/admin/users/{student.id}/active", data={"active": "0", "csrf_token": csrf(admin_client, "/admin/users")}
        )
        assert "can no longer log in" in asked.text  # first what it does, then the confirmation
        assert student_client.get("/account", follow_redirects=False).status_code == 200
        admin_client.post(
            f"/admin/users/{student.id}/active",
            data={"active": "0", "confirmed": "1", "csrf_token": csrf(admin_client, "/admin/users")},
        )
        assert student_client.get("/account", follow_redirects=False).status_code == 303
        page = student_client.get("/login")
        response = student_client.post(
            "/login", data={"email": student.email, "password": PASSWORD, "csrf_token": csrf_from(page.text)}
        )
        assert response.status_code == 400


# -- passwords -----------------------------------------------------------------------------------


def test_passwords_are_stored_with_argon2id_at_owasp_strength(session):
    user = make_user(session)
    stored = session.get(User, user.id).password_hash
    match = re.match(r"^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$", stored)
    assert match, stored
    memory, time_cost, _ = map(int, match.groups())
    assert memory >= 19 * 1024 and time_cost >= 2
    assert PASSWORD not in stored


@pytest.mark.parametrize(
    "password,reason",
    [
        ("kort", "at least 10"),
        ("password123", "too common"),
        ("1234567890", "too common"),
        ("aaaaaaaaaaaa", "too common"),
    ],
)
def test_weak_passwords_are_refused_with_a_reason(client, session, password, reason):
    course_class = make_class(session)
    page = client.get("/signup")
    response = client.post(
        "/signup",
        data={
            "join_code": course_class.join_code,
            "display_name": "Sam",
            "email": "sam@school.test",
            "password": password,
            "csrf_token": csrf_from(page.text),
        },
    )
    assert response.status_code == 400
    assert reason in response.text
    assert password not in response.text.replace(f'value="{password}"', "")
    assert f'value="{password}"' not in response.text


def test_passwords_never_reach_the_logs(client, session, caplog):
    course_class = make_class(session)
    secret_password = "unique passphrase 8c1f2e"
    with caplog.at_level(logging.DEBUG):
        page = client.get("/signup")
        client.post(
            "/signup",
            data={
                "join_code": course_class.join_code,
                "display_name": "Sam",
                "email": "sam@school.test",
                "password": secret_password,
                "csrf_token": csrf_from(page.text),
            },
        )
        client.post("/logout", data={"csrf_token": csrf(client)})
        page = client.get("/login")
        client.post(
            "/login",
            data={"email": "sam@school.test", "password": secret_password + "x", "csrf_token": csrf_from(page.text)},
        )
    assert all(secret_password not in record.getMessage() for record in caplog.records)


# -- CSRF ----------------------------------------------------------------------------------------


def test_login_without_a_csrf_token_is_refused_with_a_friendly_page(client, session):
    user = make_user(session)
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 403
    assert has(response.text, "html > body") and "Reload the page" in response.text  # a whole page, not a bare text
    assert "nabij_session" not in response.headers.get("set-cookie", "")


def test_login_with_a_token_from_another_browser_is_refused(app, session):
    user = make_user(session)
    with TestClient(app) as attacker, TestClient(app) as victim:
        token = csrf_from(attacker.get("/login").text)
        victim.get("/login")
        response = victim.post("/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token})
        assert response.status_code == 403


def test_signup_needs_a_csrf_token(client, session):
    course_class = make_class(session)
    response = client.post(
        "/signup",
        data={
            "join_code": course_class.join_code,
            "display_name": "Sam",
            "email": "sam@school.test",
            "password": "a long passphrase",
        },
    )
    assert response.status_code == 403


def test_htmx_requests_carry_the_token_in_a_header(client, session):
    user = make_user(session)
    login(client, user)
    page = client.get("/account").text
    token = one(page, 'head meta[name="csrf-token"]')["content"]
    assert token
    assert json.loads(one(page, "body")["data-hx-headers"]) == {"X-CSRF-Token": token}
    refused = client.post("/language", data={"lang": "en"}, headers={"HX-Request": "true"})
    assert refused.status_code == 403
    accepted = client.post(
        "/language", data={"lang": "en"}, headers={"HX-Request": "true", "X-CSRF-Token": token}, follow_redirects=False
    )
    assert accepted.status_code == 303


def test_the_session_token_changes_the_csrf_token(client, session):
    user = make_user(session)
    before = csrf(client, "/login")
    login(client, user)
    assert csrf(client, "/account") != before


# -- throttling ----------------------------------------------------------------------------------


def _attempt_login(client, email, password):
    page = client.get("/login")
    return client.post("/login", data={"email": email, "password": password, "csrf_token": csrf_from(page.text)})


def test_failed_logins_are_throttled_per_account(client, session, settings):
    user = make_user(session)
    for _ in range(settings.throttle_max_attempts):
        assert _attempt_login(client, user.email, "wrong password!").status_code == 400
    response = _attempt_login(client, user.email, PASSWORD)  # from this unknown browser, even the right one waits
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
    assert "Try again in 1 minute." in response.text  # a delay that grows, not a lock for the whole window
    assert field(response.text, "email").value == user.email


@pytest.mark.parametrize("settings", [{"throttle_address_attempts": 8}], indirect=True)
def test_failed_logins_are_throttled_per_address_across_accounts_at_the_address_limit(client, session, settings):
    # One address trying many accounts slows down, but only at the (much higher) address limit.
    for n in range(settings.throttle_address_attempts):
        _attempt_login(client, f"nobody{n}@school.test", "wrong password!")
    user = make_user(session)
    assert _attempt_login(client, user.email, PASSWORD).status_code == 429


def test_throttling_holds_across_app_instances(settings, session):
    user = make_user(session)
    with TestClient(create_app(settings)) as worker_one:
        for _ in range(settings.throttle_max_attempts):
            _attempt_login(worker_one, user.email, "wrong password!")
    with TestClient(create_app(settings)) as worker_two:
        assert _attempt_login(worker_two, user.email, PASSWORD).status_code == 429


def test_guessing_join_codes_is_throttled(client, session, settings):
    make_class(session)
    for n in range(settings.throttle_max_attempts):
        page = client.get("/signup")
        response = client.post(
            "/signup",
            data={
                "join_code": f"AAAA-AAA{n}",
                "display_name": "Sam",
                "email": "sam@school.test",
                "password": "a long passphrase",
                "csrf_token": csrf_from(page.text),
            },
        )
        assert response.status_code == 400
    page = client.get("/signup")
    response = client.post(
        "/signup",
        data={
            "join_code": "AAAA-AAAA",
            "display_name": "Sam",
            "email": "sam@school.test",
            "password": "a long passphrase",
            "csrf_token": csrf_from(page.text),
        },
    )
    assert response.status_code == 429 and "Retry-After" in response.headers


def test_password_reset_requests_are_throttled(client, session, settings):
    user = make_user(session)
    for _ in range(settings.throttle_max_attempts):
        page = client.get("/password/forgot")
        assert (
            client.post("/password/forgot", data={"email": user.email, "csrf_token": csrf_from(page.text)}).status_code
            == 200
        )
    page = client.get("/password/forgot")
    response = client.post("/password/forgot", data={"email": user.email, "csrf_token": csrf_from(page.text)})
    assert response.status_code == 429


# -- getting an account --------------------------------------------------------------------------


def test_student_signs_up_with_a_join_code_and_is_enrolled(client, session):
    course_class = make_class(session)
    page = client.get("/signup")
    response = client.post(
        "/signup",
        data={
            "join_code": classes.format_join_code(course_class.join_code).lower(),
            "display_name": "Sam Student",
            "email": "Sam@School.test",
            "password": "a long passphrase",
            "csrf_token": csrf_from(page.text),
        },
        follow_redirects=False,
    )
    # Issue 12/14: "check your mail" (the same page as for an address that has an account), then the link.
    assert response.status_code == 200 and "Check your mail" in response.text
    from app.models import Enrolment

    user = session.exec(select(User).where(User.email == "sam@school.test")).one()
    assert user.role == "student" and user.email_verified_at is None
    assert session.get(Enrolment, (course_class.id, user.id)) is not None
    mail = next((client.app.state.settings.var_dir / "outbox").glob("*.eml")).read_text()
    link = re.search(r"http://[^/\s]+(/signup/confirm/[\w.]+)", mail).group(1)
    confirm = client.get(link)
    response = client.post(link, data={"csrf_token": csrf_from(confirm.text)}, follow_redirects=False)
    assert response.status_code == 303
    assert "Sam Student" in client.get("/").text


def test_signup_errors_keep_what_was_typed_except_a_rejected_password(client, session):
    page = client.get("/signup")
    response = client.post(
        "/signup",
        data={
            "join_code": "WRONG-CODE",
            "display_name": "Sam Student",
            "email": "sam@school.test",
            "password": "a long passphrase",
            "csrf_token": csrf_from(page.text),
        },
    )
    assert response.status_code == 400
    assert field(response.text, "display_name").value == "Sam Student"
    assert field(response.text, "email").value == "sam@school.test"
    # Fixing the class code does not mean typing the password again; the page is never stored.
    assert field(response.text, "password").value == "a long passphrase"
    assert response.headers["Cache-Control"] == "no-store"
    course_class = make_class(session)
    rejected = client.post(
        "/signup",
        data={
            "join_code": course_class.join_code,
            "display_name": "Sam Student",
            "email": "sam@school.test",
            "password": "password12",
            "csrf_token": csrf_from(page.text),
        },
    )
    assert rejected.status_code == 400 and error_for(rejected.text, "password")
    assert "password12" not in rejected.text
    empty = client.post(
        "/signup",
        data={
            "join_code": "",
            "display_name": "Sam",
            "email": "sam@school.test",
            "password": "a long passphrase",
            "csrf_token": csrf_from(page.text),
        },
    )
    assert "Fill in the class code you got from your lecturer." in empty.text and "not valid" not in empty.text
    join_code = field(response.text, "join_code").element
    assert join_code["aria-describedby"] == "field-join_code-help field-join_code-error"
    assert error_for(response.text, "join_code")


def test_overlong_input_returns_the_form_with_a_message(client, session):
    page = client.get("/signup")
    response = client.post(
        "/signup",
        data={
            "join_code": "X",
            "display_name": "S" * 500,
            "email": "sam@school.test",
            "password": "a long passphrase",
            "csrf_token": csrf_from(page.text),
        },
    )
    assert response.status_code == 400
    assert error_for(response.text, "display_name")


def test_password_reset_link_works_once_and_ends_sessions(client, session, settings):
    user = make_user(session)
    page = client.get("/password/forgot")
    client.post("/password/forgot", data={"email": user.email.upper(), "csrf_token": csrf_from(page.text)})
    mails = list((settings.var_dir / "outbox").glob("*.eml"))
    assert len(mails) == 1
    link = re.search(r"/password/reset/[\w-]+", mails[0].read_text()).group(0)
    page = client.get(link)
    assert page.headers["Cache-Control"] == "no-store"
    response = client.post(
        link, data={"password": "my fresh passphrase", "csrf_token": csrf_from(page.text)}, follow_redirects=False
    )
    assert response.status_code == 303
    assert "no longer valid" in client.get(link).text
    user.email = user.email
    login(client, user, password="my fresh passphrase")


def test_reset_for_an_unknown_address_looks_the_same_and_sends_nothing(client, settings):
    page = client.get("/password/forgot")
    response = client.post("/password/forgot", data={"email": "nobody@school.test", "csrf_token": csrf_from(page.text)})
    assert response.status_code == 200
    assert not (settings.var_dir / "outbox").exists() or not list((settings.var_dir / "outbox").glob("*"))


def test_expired_reset_link_is_refused(client, session):
    from app.services import accounts

    user = make_user(session)
    token = accounts.start_password_reset(session, user=user, valid_for=timedelta(minutes=-1))
    assert "no longer valid" in client.get(f"/password/reset/{token}").text


def test_login_page_works_without_javascript(client):
    page = client.get("/login").text
    form = one(page, 'form[method="post"][action="/login"]')
    assert field(form, "email").element["type"] == "email"
    password = field(form, "password").element
    assert (password["type"], password["autocomplete"]) == ("password", "current-password")
    assert one(form, 'button[type="submit"]')  # sent by the browser itself


def test_private_pages_are_not_cached(client, session):
    login(client, make_user(session))
    assert client.get("/account").headers["Cache-Control"] == "no-store"
    assert client.get("/").headers["Cache-Control"] == "no-store"


def test_login_redirects_only_to_local_pages(client, session):
    user = make_user(session)
    page = client.get("/login")
    response = client.post(
        "/login",
        data={
            "email": user.email,
            "password": PASSWORD,
            "next": "//evil.example/x",
            "csrf_token": csrf_from(page.text),
        },
        follow_redirects=False,
    )
    assert response.headers["location"] == "/"


def test_admin_creates_a_lecturer_in_the_web_ui(client, session):
    login(client, make_user(session, role=Role.ADMIN))
    response = client.post(
        "/admin/users/new",
        data={
            "display_name": "Lies Lector",
            "email": "lies@school.test",
            "role": "lecturer",
            "password": "a long passphrase",
            "csrf_token": csrf(client, "/admin/users/new"),
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert session.exec(select(User).where(User.email == "lies@school.test")).one().role == "lecturer"
    assert "Lies Lector" in client.get("/admin/users?q=lies").text


def test_admin_creates_an_account_whose_owner_chooses_the_password_by_mail(client, session, settings):
    login(client, make_user(session, role=Role.ADMIN, name="Ada Admin"))
    response = client.post(
        "/admin/users/new",
        data={
            "display_name": "Lies Lector",
            "email": "lies@school.test",
            "role": "lecturer",
            "password": "",
            "csrf_token": csrf(client, "/admin/users/new"),
        },
    )
    assert "mailed a link to choose a password" in response.text
    mail = next((settings.var_dir / "outbox").glob("*.eml")).read_text()
    assert "lies@school.test" in mail and "Ada Admin" in mail
    link = re.search(r"http\S+/password/reset/(\S+)", mail).group(0)
    path = link.split("://", 1)[1].split("/", 1)[1]
    with TestClient(client.app, headers=EN) as owner:
        page = owner.get("/" + path)
        assert page.status_code == 200 and field(page.text, "password").element["type"] == "password"


def test_the_new_account_form_shows_every_problem_at_once(client, session):
    admin = make_user(session, role=Role.ADMIN)
    login(client, admin)
    response = client.post(
        "/admin/users/new",
        data={
            "display_name": "",
            "email": admin.email,
            "role": "lecturer",
            "password": "kort",
            "csrf_token": csrf(client, "/admin/users/new"),
        },
    )
    assert response.status_code == 400
    for name in ("display_name", "email", "password"):
        assert error_for(response.text, name), name


def test_admin_changes_a_role(client, session):
    login(client, make_user(session, role=Role.ADMIN))
    student = make_user(session)
    client.post(
        f"/admin/users/{student.id}/role", data={"role": "lecturer", "csrf_token": csrf(client, "/admin/users")}
    )
    session.refresh(student)
    assert student.role == "lecturer"
