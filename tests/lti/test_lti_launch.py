"""Launches from a real platform implementation (lti1p3platform) into Nabij, over HTTP."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

from fastapi.testclient import TestClient
from sqlmodel import select

from app.models import Assignment, ClassLecturer, CourseClass, Enrolment, ExternalIdentity, LtiContext, Role, User
from tests.conftest import csrf_from
from tests.factories import PASSWORD, make_user
from tests.lti.platform import INSTRUCTOR, LEARNER, Scenario, auth_params, full_launch, launch_form, login_redirect
from tests.pages import one
from tests.pages import select as select_all

MODULE = "de-relatie-werkt"


def _identity_user(session, platform, sub) -> User | None:
    session.rollback()
    row = session.exec(
        select(ExternalIdentity).where(ExternalIdentity.issuer == platform.issuer, ExternalIdentity.subject == sub)
    ).first()
    return session.get(User, row.user_id) if row else None


def _error_code(response) -> str | None:
    """What the launch error page names as the problem (its `data-lti-error`); None on any other page."""
    found = select_all(response.text, "[data-lti-error]")
    if not found:
        return None
    assert len(found) == 1, f"{len(found)} launch errors on one page"
    assert (found[0].name, found[0].get("id"), found[0].get("role")) == ("section", "error", "alert")
    return found[0]["data-lti-error"]


def test_student_launch_lands_in_the_module_signed_in(platform, lti_client, session):
    platform.scenarios["s1"] = Scenario(
        sub="lms-student-1",
        roles=[LEARNER],
        name="Sara Janssens",
        email="sara@hogeschool.test",
        custom={"nabij_module": MODULE, "nabij_due": "2026-12-24"},
        nrps=False,
    )
    response, _form = full_launch(lti_client, platform, "s1")
    assert response.status_code == 303, response.text
    assert response.headers["location"] == f"/modules/{MODULE}"
    user = _identity_user(session, platform, "lms-student-1")
    assert user is not None and user.role == Role.STUDENT.value and user.display_name == "Sara Janssens"
    assert user.email_verified_at is not None  # the LMS vouches: counts for k
    context = session.exec(select(LtiContext)).one()
    course_class = session.get(CourseClass, context.class_id)
    assert course_class.name == "Jeugdzorg 2B"
    assert session.get(Enrolment, (course_class.id, user.id)) is not None
    assignment = session.exec(select(Assignment).where(Assignment.class_id == course_class.id)).one()
    assert assignment.module_slug == MODULE and assignment.due_on.isoformat() == "2026-12-24"
    page = lti_client.get(response.headers["location"])
    assert page.status_code == 200 and one(page.text, 'nav.site-nav form[method="post"][action="/logout"]')  # signed in


def test_launch_cookie_in_a_frame_is_partitioned_and_normal_cookies_stay_lax(platform, lti_client, session, client):
    platform.scenarios["s"] = Scenario(
        sub="framed", roles=[LEARNER], name="In Frame", nrps=False, custom={"nabij_module": MODULE}
    )
    response, _ = full_launch(lti_client, platform, "s", headers={"Sec-Fetch-Dest": "iframe"})
    cookies = [value for key, value in response.headers.multi_items() if key == "set-cookie"]
    session_cookie = next(c for c in cookies if c.startswith("nabij_session="))
    assert "SameSite=none" in session_cookie or "samesite=none" in session_cookie.lower()
    assert "Secure" in session_cookie and "Partitioned" in session_cookie
    # Pages of this session may be framed by this platform only.
    page = lti_client.get(response.headers["location"])
    assert f"frame-ancestors {platform.issuer}" in page.headers["content-security-policy"]
    # A page outside that session: frame-ancestors 'none'; a password login's cookie stays Lax.
    assert "frame-ancestors 'none'" in client.get("/login").headers["content-security-policy"]
    user = make_user(session)
    answer = client.post(
        "/login",
        data={
            "email": user.email,
            "password": PASSWORD,
            "csrf_token": csrf_from(client.get("/login").text),
            "next": "/",
        },
        follow_redirects=False,
    )
    normal = answer.headers["set-cookie"].lower()
    assert "samesite=lax" in normal and "partitioned" not in normal and "samesite=none" not in normal


def test_new_window_launch_gets_a_lax_cookie_and_no_frame_permission(platform, lti_client):
    platform.scenarios["s"] = Scenario(
        sub="window", roles=[LEARNER], name="New Window", nrps=False, custom={"nabij_module": MODULE}, target="window"
    )
    response, _ = full_launch(lti_client, platform, "s", headers={"Sec-Fetch-Dest": "document"})
    cookie = next(v for k, v in response.headers.multi_items() if k == "set-cookie" and v.startswith("nabij_session="))
    assert "samesite=lax" in cookie.lower() and "partitioned" not in cookie.lower()
    page = lti_client.get(response.headers["location"])
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]


def test_lecturer_launch_lands_in_the_class_and_is_never_admin(platform, lti_client, session):
    platform.scenarios["t"] = Scenario(sub="lms-teacher", roles=[INSTRUCTOR], name="Docent Peeters", nrps=False)
    response, _ = full_launch(lti_client, platform, "t")
    assert response.status_code == 303
    user = _identity_user(session, platform, "lms-teacher")
    assert user.role == Role.LECTURER.value
    context = session.exec(select(LtiContext)).one()
    assert response.headers["location"] == f"/classes/{context.class_id}"
    assert session.get(ClassLecturer, (context.class_id, user.id)) is not None
    assert lti_client.get(response.headers["location"]).status_code == 200


def test_missing_name_and_email_are_normal(platform, lti_client, session):
    platform.scenarios["anon"] = Scenario(sub="no-name", roles=[LEARNER], nrps=False, custom={"nabij_module": MODULE})
    response, _ = full_launch(lti_client, platform, "anon")
    assert response.status_code == 303
    user = _identity_user(session, platform, "no-name")
    assert user.display_name.startswith("LMS user ")
    assert user.email.endswith("@no-email.invalid")


def test_same_sub_is_the_same_account_even_when_the_email_changes(platform, lti_client, session):
    platform.scenarios["a"] = Scenario(
        sub="stable", roles=[LEARNER], name="A", email="a@school.test", nrps=False, custom={"nabij_module": MODULE}
    )
    full_launch(lti_client, platform, "a")
    platform.scenarios["b"] = Scenario(
        sub="stable", roles=[LEARNER], name="A", email="a.new@school.test", nrps=False, custom={"nabij_module": MODULE}
    )
    full_launch(TestClient(lti_client.app, base_url="https://testserver"), platform, "b")
    session.rollback()
    assert len(session.exec(select(ExternalIdentity)).all()) == 1


def test_unknown_link_tells_the_student_it_is_not_set_up(platform, lti_client):
    platform.scenarios["s"] = Scenario(sub="x", roles=[LEARNER], name="X", nrps=False)
    response, _ = full_launch(lti_client, platform, "s")
    assert response.status_code == 404 and _error_code(response) == "not-set-up"


# -- third-party cookies blocked ---------------------------------------------------------------


def test_blocked_cookies_get_an_open_in_new_window_page(platform, lti_client, app):
    platform.scenarios["s"] = Scenario(
        sub="cookieless", roles=[LEARNER], name="C", nrps=False, custom={"nabij_module": MODULE}
    )
    redirect = login_redirect(lti_client, platform, "s")
    form = launch_form(redirect.headers["location"])
    # The browser did not keep (or send) the state cookie: another, cookie-less client posts the form.
    cookieless = TestClient(app, base_url="https://testserver", headers={"Accept-Language": "en"})
    response = cookieless.post(
        "/lti/launch", data={"id_token": form.id_token, "state": form.state}, follow_redirects=False
    )
    assert response.status_code == 200
    form = one(response.text, 'section#lti-new-window form[action="/lti/login"]')
    assert (form["method"], form["target"]) == ("get", "_blank")
    assert "nabij_session" not in response.headers.get("set-cookie", "")
    assert f"frame-ancestors {platform.issuer}" in response.headers["content-security-policy"]
    # The form starts a fresh login in a top-level window, which then works.
    again = lti_client.get("/lti/login", params=_hidden_fields(response.text), follow_redirects=False)
    assert again.status_code == 302 and again.headers["location"].startswith(f"{platform.issuer}/auth")


def _hidden_fields(html: str) -> dict[str, str]:
    """What the open-in-a-new-window form sends."""
    hidden = select_all(one(html, "section#lti-new-window form"), 'input[type="hidden"]')
    assert hidden
    return {str(field["name"]): str(field.get("value", "")) for field in hidden}


# -- attacks: each refused with a clear page, and nobody signed in -----------------------------


def _login_state(client, platform, hint):
    redirect = login_redirect(client, platform, hint)
    params = auth_params(redirect)
    return params["state"], params["nonce"]


def _post(client, token, state):
    return client.post("/lti/launch", data={"id_token": token, "state": state}, follow_redirects=False)


def _refused(response, code):
    assert _error_code(response) == code, response.text[:2000]
    assert response.status_code in (400, 403, 404, 409, 502)
    assert "nabij_session=" not in "".join(v for k, v in response.headers.multi_items() if k == "set-cookie")
    assert "Traceback" not in response.text


def _setup(platform):
    platform.scenarios["s"] = Scenario(
        sub="victim", roles=[LEARNER], name="V", nrps=False, custom={"nabij_module": MODULE}
    )


def test_tampered_signature_is_refused(platform, lti_client, session):
    _setup(platform)
    state, nonce = _login_state(lti_client, platform, "s")
    token = platform.sign(platform.claims_for("s", nonce=nonce))
    header, payload, signature = token.split(".")
    import base64
    import json

    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["sub"] = "someone-else"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    _refused(_post(lti_client, f"{header}.{forged}.{signature}", state), "signature")
    assert _identity_user(session, platform, "someone-else") is None


def test_token_signed_by_another_key_is_refused(platform, lti_client):
    from lti1p3platform.registration import Registration

    from tests.lti.platform import private_pem

    _setup(platform)
    state, nonce = _login_state(lti_client, platform, "s")
    attacker_key, _public = private_pem()
    # The platform's own key id, an attacker's key: not the key the platform's JWKS publishes.
    token = Registration.encode_and_sign(
        platform.claims_for("s", nonce=nonce),
        attacker_key,
        headers={"kid": platform.registration().get_kid()},
        expiration=300,
    )
    _refused(_post(lti_client, token, state), "signature")


def test_wrong_issuer_is_refused(platform, lti_client):
    _setup(platform)
    state, nonce = _login_state(lti_client, platform, "s")
    claims = platform.claims_for("s", nonce=nonce)
    claims["iss"] = "https://lms.elsewhere.test"
    _refused(_post(lti_client, platform.sign(claims), state), "issuer")


def test_wrong_audience_is_refused(platform, lti_client):
    _setup(platform)
    state, nonce = _login_state(lti_client, platform, "s")
    claims = platform.claims_for("s", nonce=nonce)
    claims["aud"], claims["azp"] = "another-tool", "another-tool"
    _refused(_post(lti_client, platform.sign(claims), state), "audience")


def test_unknown_deployment_is_refused(platform, lti_client):
    _setup(platform)
    state, nonce = _login_state(lti_client, platform, "s")
    claims = platform.claims_for("s", nonce=nonce)
    claims["https://purl.imsglobal.org/spec/lti/claim/deployment_id"] = "deployment-nobody-registered"
    _refused(_post(lti_client, platform.sign(claims), state), "unknown-deployment")


def test_expired_token_is_refused(platform, lti_client):
    _setup(platform)
    state, nonce = _login_state(lti_client, platform, "s")
    claims = platform.claims_for("s", nonce=nonce)
    claims["iat"], claims["exp"] = int(time.time()) - 3600, int(time.time()) - 1800
    _refused(_post(lti_client, platform.sign(claims, expiration=None), state), "expired")


def test_wrong_nonce_is_refused(platform, lti_client):
    _setup(platform)
    state, _nonce = _login_state(lti_client, platform, "s")
    _refused(
        _post(lti_client, platform.sign(platform.claims_for("s", nonce="a-nonce-we-never-issued")), state), "nonce"
    )


def test_replayed_launch_is_refused_in_the_same_browser_and_in_another(platform, lti_client, app):
    _setup(platform)
    redirect = login_redirect(lti_client, platform, "s")
    form = launch_form(redirect.headers["location"])
    first = _post(lti_client, form.id_token, form.state)
    assert first.status_code == 303
    lti_client.cookies.delete("nabij_session")
    _refused(_post(lti_client, form.id_token, form.state), "replayed")  # the same browser, state cookie and all
    other = TestClient(app, base_url="https://testserver", headers={"Accept-Language": "en"})
    _refused(_post(other, form.id_token, form.state), "replayed")


def test_wrong_state_is_refused(platform, lti_client):
    _setup(platform)
    redirect = login_redirect(lti_client, platform, "s")
    form = launch_form(redirect.headers["location"])
    _refused(_post(lti_client, form.id_token, "a-state-nabij-never-issued"), "unknown-state")
    _refused(_post(lti_client, form.id_token, ""), "missing")


def test_login_for_an_unregistered_platform_is_refused(lti_client, platform):
    response = lti_client.get(
        "/lti/login",
        params={
            "iss": "https://unknown.lms.test",
            "login_hint": "x",
            "target_link_uri": "https://testserver/lti/launch",
        },
    )
    _refused(response, "unknown-platform")
    response = lti_client.get(
        "/lti/login",
        params={"iss": platform.issuer, "login_hint": "x", "target_link_uri": "https://evil.test/lti/launch"},
    )
    _refused(response, "bad-target")


def test_a_context_of_another_platform_never_reaches_this_platforms_class(
    platform, other_platform, lti_client, session, app
):
    platform.scenarios["t"] = Scenario(
        sub="teacher-a", roles=[INSTRUCTOR], name="Docent A", nrps=False, context_id="course-101"
    )
    full_launch(lti_client, platform, "t")
    # Platform B sends the same context id (and the same sub): another course, another person.
    other_platform.scenarios["t"] = Scenario(
        sub="teacher-a", roles=[INSTRUCTOR], name="Docent B", nrps=False, context_id="course-101"
    )
    other = TestClient(app, base_url="https://testserver", headers={"Accept-Language": "en"})
    response, _ = full_launch(other, other_platform, "t")
    assert response.status_code == 303
    session.rollback()
    contexts = session.exec(select(LtiContext).order_by(LtiContext.id)).all()
    assert len(contexts) == 2 and contexts[0].class_id != contexts[1].class_id
    lecturer_b = _identity_user(session, other_platform, "teacher-a")
    assert session.get(ClassLecturer, (contexts[0].class_id, lecturer_b.id)) is None
    assert other.get(f"/classes/{contexts[0].class_id}").status_code == 404
    # And a token signed by platform B, claiming to be platform A, fails A's signature check.
    platform.scenarios["s"] = Scenario(sub="teacher-a", roles=[INSTRUCTOR], nrps=False, context_id="course-101")
    state, nonce = _login_state(lti_client, platform, "s")
    claims = platform.claims_for("s", nonce=nonce)
    _refused(_post(lti_client, other_platform.sign(claims), state), "signature")


def test_jwks_serves_public_keys_only(lti_client):
    body = lti_client.get("/lti/jwks").json()
    assert body["keys"] and all("d" not in key and key["alg"] == "RS256" and key["kid"] for key in body["keys"])
    assert urlsplit("https://testserver/lti/jwks").path == "/lti/jwks"


def test_frame_origins_are_the_platforms_and_a_forged_frame_cookie_grants_nothing(platform, lti_client, session, app):
    platform.nabij.frame_origins = "https://hogeschool.instructure.test"
    session.add(platform.nabij)
    session.commit()
    platform.scenarios["s"] = Scenario(
        sub="framed-2", roles=[LEARNER], name="F", nrps=False, custom={"nabij_module": MODULE}
    )
    response, _ = full_launch(lti_client, platform, "s", headers={"Sec-Fetch-Dest": "iframe"})
    policy = lti_client.get(response.headers["location"]).headers["content-security-policy"]
    assert f"frame-ancestors {platform.issuer} https://hogeschool.instructure.test;" in policy
    # Someone sets a frame cookie of their own making next to a normal session: 'none' stays.
    from app.lti.frames import FRAME_COOKIE, _encode
    from tests.factories import login

    other = TestClient(app, base_url="https://testserver", headers={"Accept-Language": "en"})
    login(other, make_user(session))
    other.cookies.set(FRAME_COOKIE, f"{_encode(['https://evil.test'])}.{'0' * 32}")
    assert "frame-ancestors 'none'" in other.get("/modules").headers["content-security-policy"]


def test_old_logins_are_purged(platform, lti_client, session):
    from datetime import timedelta

    from app.lti.launch import purge_logins
    from app.models import LtiLogin, utcnow

    _setup(platform)
    _login_state(lti_client, platform, "s")
    _login_state(lti_client, platform, "s")
    session.rollback()
    rows = session.exec(select(LtiLogin)).all()
    rows[0].created_at = utcnow() - timedelta(days=2)
    session.add(rows[0])
    session.commit()
    assert purge_logins(session) == 1
    assert len(session.exec(select(LtiLogin)).all()) == 1


def test_a_launch_ends_the_session_that_was_signed_in_before(platform, lti_client, session):
    from app.models import UserSession
    from tests.factories import login

    earlier = make_user(session)
    login(lti_client, earlier)
    _setup(platform)
    response, _ = full_launch(lti_client, platform, "s")
    assert response.status_code == 303
    session.rollback()
    assert session.exec(select(UserSession).where(UserSession.user_id == earlier.id)).all() == []
