"""Institution sign-in (issue 15) against a real, certified OpenID provider: npm `oidc-provider` (panva).

Nabij runs in-process (TestClient); the provider runs as a Node subprocess. Nabij's server-side calls
(discovery, JWKS, token, userinfo) go to the provider over real HTTP; the person's browser is played by
an httpx client driving the provider's development login and consent pages with POSTs.
"""

from __future__ import annotations

import logging
import time
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey
from sqlmodel import Session, select

from app.main import create_app
from app.models import Enrolment, ExternalIdentity, Role, User
from app.services import identities, oidc
from tests.conftest import csrf_from
from tests.factories import PASSWORD, login, make_class, make_user
from tests.oidc.provider import TESTSERVER_CALLBACK, running_provider, sign_in_at_provider
from tests.pages import field, fields, one, text_of
from tests.pages import select as select_all


def kind_of(page: str) -> str:
    """What went wrong, as the sign-in error page names it (its `data-kind`)."""
    return one(page, "section.oidc-error#oidc-error")["data-kind"]


def password_form(page: str):
    """The form that logs in with an email address and a password."""
    return one(page, 'form[method="post"][action="/login"]')


@pytest.fixture(scope="session")
def provider(tmp_path_factory):
    yield from running_provider(tmp_path_factory)


def _oidc_settings(settings, provider, **overrides):
    values = {
        "oidc_issuer": provider.issuer,
        "oidc_client_id": "nabij",
        "oidc_client_secret": "nabij-secret",
        "oidc_name": "TestConext",
        "base_url": "http://testserver",
    }
    values.update(overrides)
    return type(settings)(**{**settings.model_dump(), **values})  # validated, as from the environment


@pytest.fixture
def make_oidc_client(settings, provider):
    made = []

    def make(**overrides) -> TestClient:
        app = create_app(_oidc_settings(settings, provider, **overrides))
        client = TestClient(app, base_url="http://testserver", headers={"Accept-Language": "en"})
        client.__enter__()
        made.append((client, app))
        return client

    yield make
    for client, app in made:
        client.__exit__(None, None, None)
        app.state.engine.dispose()


@pytest.fixture
def oidc_client(make_oidc_client):
    return make_oidc_client()


def start(client: TestClient, query: str = "") -> str:
    response = client.get("/auth/oidc/login" + query, follow_redirects=False)
    assert response.status_code == 303, response.text
    return response.headers["location"]


def callback(client: TestClient, url: str):
    assert url.startswith("http://testserver/auth/oidc/callback?"), url
    return client.get(url.removeprefix("http://testserver"), follow_redirects=False)


def full_sign_in(client: TestClient, account: str, query: str = ""):
    return callback(client, sign_in_at_provider(start(client, query), account))


def user_by_subject(session: Session, issuer: str, subject: str) -> User | None:
    session.rollback()  # see what the app committed since
    return identities.find_user(session, issuer=issuer, subject=subject)


# -- the full sign-in over HTTP ---------------------------------------------------------------------


def test_first_sign_in_creates_a_verified_student_and_lands_on_the_dashboard(oidc_client, provider, session):
    authorize = start(oidc_client)
    query = parse_qs(urlsplit(authorize).query)
    assert query["code_challenge_method"] == ["S256"] and query["code_challenge"][0]
    assert query["state"][0] and query["nonce"][0] and query["response_type"] == ["code"]
    assert query["redirect_uri"] == [TESTSERVER_CALLBACK]
    response = callback(oidc_client, sign_in_at_provider(authorize, "student1"))
    assert response.status_code == 303 and response.headers["location"] == "/"
    assert "nabij_session=" in response.headers.get("set-cookie", "")
    user = user_by_subject(session, provider.issuer, "student1")
    assert user is not None and user.role == Role.STUDENT.value
    assert user.display_name == "Sanne de Vries" and user.email == "sanne@student.hogeschool.test"
    assert user.email_verified_at is not None  # an institution sign-in is a verified identity
    assert not identities.is_lecturer_eligible(session, user_id=user.id)
    dashboard = oidc_client.get("/")
    assert dashboard.status_code == 200 and "Sanne de Vries" in dashboard.text


def test_second_sign_in_updates_name_and_email_and_starts_a_new_session(oidc_client, provider, session):
    provider.add_accounts(
        {"student2": {"name": "Old Name", "email": "old@student.hogeschool.test", "eduperson_affiliation": ["student"]}}
    )
    full_sign_in(oidc_client, "student2")
    first_token = oidc_client.cookies.get("nabij_session")
    provider.add_accounts(
        {"student2": {"name": "New Name", "email": "new@student.hogeschool.test", "eduperson_affiliation": ["student"]}}
    )
    oidc_client.cookies.clear()
    response = full_sign_in(oidc_client, "student2")
    assert response.status_code == 303
    assert oidc_client.cookies.get("nabij_session") not in (None, first_token)
    user = user_by_subject(session, provider.issuer, "student2")
    assert (user.display_name, user.email) == ("New Name", "new@student.hogeschool.test")
    assert session.exec(select(ExternalIdentity).where(ExternalIdentity.subject == "student2")).all().__len__() == 1


def test_staff_become_eligible_lecturers_never_admin_or_lecturer_by_claims(oidc_client, provider, session):
    provider.add_accounts(
        {
            "boss": {
                "name": "Baas",
                "email": "baas@hogeschool.test",
                "eduperson_affiliation": ["employee", "faculty", "admin"],
            }
        }
    )
    full_sign_in(oidc_client, "staff1")
    full_sign_in(oidc_client, "boss")
    for subject in ("staff1", "boss"):
        user = user_by_subject(session, provider.issuer, subject)
        assert user.role == Role.STUDENT.value
        assert identities.is_lecturer_eligible(session, user_id=user.id)
    staff = user_by_subject(session, provider.issuer, "staff1")
    assert identities.make_lecturer_if_eligible(session, user=staff) and staff.role == Role.LECTURER.value


def test_affiliation_that_is_neither_student_nor_staff_is_refused(oidc_client, provider, session):
    provider.add_accounts(
        {"alum": {"name": "Oud Student", "email": "alum@hogeschool.test", "eduperson_affiliation": ["alum"]}}
    )
    response = full_sign_in(oidc_client, "alum")
    assert response.status_code == 403 and kind_of(response.text) == "not-allowed"
    assert user_by_subject(session, provider.issuer, "alum") is None


def test_missing_email_still_creates_an_account(oidc_client, provider, session):
    provider.add_accounts({"noemail": {"name": "Zonder Mail", "eduperson_affiliation": ["student"]}})
    response = full_sign_in(oidc_client, "noemail")
    assert response.status_code == 303
    user = user_by_subject(session, provider.issuer, "noemail")
    assert user.display_name == "Zonder Mail" and not identities.has_email(user)


@pytest.mark.parametrize(
    "claims, missing",
    [
        ({"email": "x@hogeschool.test", "eduperson_affiliation": ["student"]}, "name"),
        ({"name": "Geen Rol", "email": "geenrol@hogeschool.test"}, "eduperson_affiliation"),
    ],
)
def test_missing_claim_gives_a_page_and_one_log_line_without_personal_data(
    oidc_client, provider, session, caplog, claims, missing
):
    login_name = f"missing-{missing}"
    provider.add_accounts({login_name: claims})
    with caplog.at_level(logging.WARNING, logger="nabij.oidc"):
        response = full_sign_in(oidc_client, login_name)
    assert response.status_code == 400 and kind_of(response.text) == "missing-claim"
    assert missing in response.text and "Traceback" not in response.text
    assert user_by_subject(session, provider.issuer, login_name) is None
    lines = [record.getMessage() for record in caplog.records if record.name == "nabij.oidc"]
    assert len(lines) == 1 and "missing-claim" in lines[0]
    for personal in (login_name, "hogeschool.test", "Geen Rol"):
        assert personal not in lines[0]


def test_pairwise_subject_is_the_key_and_an_admin_can_link_it(make_oidc_client, provider, session):
    public = make_oidc_client()
    full_sign_in(public, "student1")
    original = user_by_subject(session, provider.issuer, "student1")
    pairwise = make_oidc_client(oidc_client_id="nabij-pairwise", oidc_client_secret="nabij-pairwise-secret")
    authorize = start(pairwise)
    # The same person, seen through the pairwise client: another subject. Keyed on (issuer, subject),
    # never on email: the account is NOT taken over; the email already belongs to an account.
    response = callback(pairwise, sign_in_at_provider(authorize, "student1"))
    assert response.status_code == 200
    link_form = one(response.text, 'form[method="post"][action="/auth/oidc/link"]')
    assert field(link_form, "password").element["type"] == "password"
    session.rollback()
    pairwise_ids = [i for i in session.exec(select(ExternalIdentity)).all() if i.subject != "student1"]
    assert pairwise_ids == []
    # An admin links the pairwise identifier (as the institution reports it) to the existing account.
    subject = _pairwise_subject(provider, "student1")
    admin = make_user(session, role=Role.ADMIN)
    admin_client = make_oidc_client()
    login(admin_client, admin)
    assert one(admin_client.get("/admin/users").text, f'a.button[href="/admin/users/{original.id}/identities"]')
    page = admin_client.get(f"/admin/users/{original.id}/identities")
    assert page.status_code == 200
    linked = admin_client.post(
        f"/admin/users/{original.id}/identities",
        data={"subject": subject, "csrf_token": csrf_from(page.text)},
        follow_redirects=False,
    )
    assert linked.status_code == 303
    pairwise.cookies.clear()
    response = full_sign_in(pairwise, "student1")
    assert response.status_code == 303
    assert user_by_subject(session, provider.issuer, subject).id == original.id


def _pairwise_subject(provider, login_name: str) -> str:
    """The pairwise sub the provider issues, read from a token response by a plain client."""
    import base64
    import hashlib
    import secrets

    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    authorize = httpx.Request(
        "GET",
        f"{provider.issuer}/auth",
        params={
            "client_id": "nabij-pairwise",
            "response_type": "code",
            "scope": "openid",
            "redirect_uri": TESTSERVER_CALLBACK,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "nonce": "n",
            "state": "s",
        },
    ).url
    back = sign_in_at_provider(str(authorize), login_name)
    code = parse_qs(urlsplit(back).query)["code"][0]
    token = httpx.post(
        f"{provider.issuer}/token",
        auth=("nabij-pairwise", "nabij-pairwise-secret"),
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": TESTSERVER_CALLBACK,
            "code_verifier": verifier,
        },
    ).json()
    subject = jwt.decode(token["id_token"], KeySet.import_key_set(httpx.get(f"{provider.issuer}/jwks").json())).claims[
        "sub"
    ]
    assert subject != login_name
    return subject


def test_existing_password_account_is_linked_once_by_signing_in_with_both(oidc_client, provider, session):
    existing = make_user(session, email="linker@hogeschool.test", name="Linker")
    provider.add_accounts(
        {"linker": {"name": "Linker Inst", "email": "linker@hogeschool.test", "eduperson_affiliation": ["student"]}}
    )
    page = full_sign_in(oidc_client, "linker")
    assert page.status_code == 200 and "linker@hogeschool.test" in page.text
    wrong = oidc_client.post(
        "/auth/oidc/link", data={"password": "not it", "csrf_token": csrf_from(page.text)}, follow_redirects=False
    )
    assert wrong.status_code == 400
    error = one(wrong.text, "#link-error")
    assert error.get("role") == "alert" and text_of(error)
    right = oidc_client.post(
        "/auth/oidc/link", data={"password": PASSWORD, "csrf_token": csrf_from(wrong.text)}, follow_redirects=False
    )
    assert right.status_code == 303
    assert user_by_subject(session, provider.issuer, "linker").id == existing.id
    oidc_client.cookies.clear()
    assert full_sign_in(oidc_client, "linker").status_code == 303  # from now on the institution is enough


def test_class_code_enrols_a_student_signing_in_through_the_institution(oidc_client, provider, session):
    course_class = make_class(session)
    response = full_sign_in(oidc_client, "student1", f"?join_code={course_class.join_code}")
    assert response.status_code == 303 and response.headers["location"] == "/?notice=joined"
    user = user_by_subject(session, provider.issuer, "student1")
    assert session.get(Enrolment, (course_class.id, user.id)) is not None


def test_wrong_class_code_keeps_the_code_and_signs_in(oidc_client, provider, session):
    response = full_sign_in(oidc_client, "student1", "?join_code=ZZZZ-ZZZZ")
    assert response.status_code == 400 and "ZZZZ-ZZZZ" in response.text and "not valid" in response.text
    assert oidc_client.get("/join").status_code == 200  # logged in: the form posts with the new session
    join = oidc_client.post(
        "/join",
        data={"join_code": make_class(session).join_code, "csrf_token": csrf_from(response.text)},
        follow_redirects=False,
    )
    assert join.status_code == 303


def test_join_page_after_login_for_a_logged_out_student(oidc_client, provider, session):
    course_class = make_class(session)
    response = full_sign_in(oidc_client, "student1", f"?next=/join%3Fcode%3D{course_class.join_code}")
    assert response.headers["location"] == f"/join?code={course_class.join_code}"


def test_denied_consent_gives_a_page_that_says_what_to_do(oidc_client, provider, session):
    back = sign_in_at_provider(start(oidc_client, "?join_code=K7QM-2XPA"), "student1", consent=False)
    assert "error=access_denied" in back
    response = callback(oidc_client, back)
    assert response.status_code == 403 and kind_of(response.text) == "access-denied"
    assert "K7QM-2XPA" in response.text  # what was typed is kept (and in the retry link)
    assert user_by_subject(session, provider.issuer, "student1") is None


def test_provider_down_and_bad_configuration_give_pages(make_oidc_client, provider):
    down = make_oidc_client(oidc_issuer=f"http://127.0.0.1:{_closed_port()}")
    response = down.get("/auth/oidc/login", follow_redirects=False)
    assert response.status_code == 503 and kind_of(response.text) == "provider-down"
    wrong_issuer = make_oidc_client(oidc_issuer=provider.issuer + "/")
    response = wrong_issuer.get("/auth/oidc/login", follow_redirects=False)
    assert response.status_code in (404, 503) and kind_of(response.text) == "bad-config"
    wrong_secret = make_oidc_client(oidc_client_secret="not-the-secret")
    response = full_sign_in(wrong_secret, "student1")
    assert kind_of(response.text) in ("bad-config", "provider-error")
    off = make_oidc_client(oidc_issuer="")
    assert off.get("/auth/oidc/login").status_code == 404


def _closed_port() -> int:
    from tests.oidc.provider import free_port

    return free_port()


# -- attacks over HTTP: state ---------------------------------------------------------------------------


def test_replayed_callback_is_refused(oidc_client, provider):
    back = sign_in_at_provider(start(oidc_client), "student1")
    flow_cookie = oidc_client.cookies.get("nabij_oidc")
    assert callback(oidc_client, back).status_code == 303
    # The same callback again: the flow cookie was cleared, so no state matches.
    again = callback(oidc_client, back)
    assert again.status_code == 400 and kind_of(again.text) == "flow-expired"
    # Even with the old flow cookie put back, the code was used once: the provider refuses it.
    oidc_client.cookies.set("nabij_oidc", flow_cookie)
    replay = callback(oidc_client, back)
    assert replay.status_code >= 400 and "nabij_session" not in replay.headers.get("set-cookie", "").split("=")[0]
    assert kind_of(replay.text) == "provider-error"


def test_missing_or_foreign_state_is_refused(oidc_client, make_oidc_client, provider, session):
    back = sign_in_at_provider(start(oidc_client), "student1")
    no_state = back.replace("state=", "ignored=")
    assert kind_of(callback(oidc_client, no_state).text) == "flow-expired"
    # Another browser (the attacker's own flow) cannot finish this one: login CSRF.
    other = make_oidc_client()
    response = callback(other, back)
    assert response.status_code == 400 and kind_of(response.text) == "flow-expired"
    assert user_by_subject(session, provider.issuer, "student1") is None


def test_wrong_issuer_in_the_callback_is_refused(oidc_client, provider):
    back = sign_in_at_provider(start(oidc_client), "student1")
    parts = urlsplit(back)
    query = parse_qs(parts.query)
    query["iss"] = ["https://evil.example"]
    from urllib.parse import urlencode

    tampered = f"http://testserver{parts.path}?{urlencode(query, doseq=True)}"
    response = callback(oidc_client, tampered)
    assert response.status_code == 400 and kind_of(response.text) == "invalid-token"


def test_tampered_flow_cookie_is_ignored(oidc_client, provider):
    back = sign_in_at_provider(start(oidc_client), "student1")
    value = oidc_client.cookies.get("nabij_oidc")
    body, mac = value.split(".")
    oidc_client.cookies.clear()
    oidc_client.cookies.set("nabij_oidc", body + "." + ("0" if mac[0] != "0" else "1") + mac[1:])
    assert kind_of(callback(oidc_client, back).text) == "flow-expired"


def test_logout_offers_sign_out_at_the_provider(oidc_client, provider):
    full_sign_in(oidc_client, "student1")
    page = oidc_client.get("/account")
    oidc_client.post("/logout", data={"csrf_token": csrf_from(page.text)})
    login_page = oidc_client.get("/login?notice=logged-out")
    assert one(login_page.text, 'p.oidc-logout a.button[href="/auth/oidc/logout"]')
    response = oidc_client.get("/auth/oidc/logout", follow_redirects=False)
    target = response.headers["location"]
    assert target.startswith(provider.issuer + "/session/end?")
    assert "post_logout_redirect_uri=http%3A%2F%2Ftestserver%2Flogin%3Fnotice%3Dlogged-out" in target
    # The provider accepts it: its logout confirmation page.
    assert httpx.get(target).status_code == 200


def test_login_page_button_and_password_login_switch(make_oidc_client, provider):
    normal = make_oidc_client()
    page = normal.get("/login")
    assert "Sign in with TestConext" in page.text and field(password_form(page.text), "password")
    sso_only = make_oidc_client(password_login=False)
    page = sso_only.get("/login")
    assert "Sign in with TestConext" in page.text
    assert select_all(page.text, '[action="/login"], [formaction="/login"]') == []  # no way to send a password
    assert field(password_form(sso_only.get("/login?admin=1").text), "password")


def test_without_password_login_only_admins_can_log_in_with_a_password(make_oidc_client, provider, session):
    from tests.factories import PASSWORD, make_user

    student = make_user(session, email="sam@student.test")
    admin = make_user(session, role="admin", email="ada@school.test")
    sso_only = make_oidc_client(password_login=False)

    def password_login(user):
        page = sso_only.get("/login?admin=1")
        return sso_only.post(
            "/login",
            data={"email": user.email, "password": PASSWORD, "next": "/", "csrf_token": csrf_from(page.text)},
            follow_redirects=False,
        )

    refused = password_login(student)
    assert refused.status_code == 403 and "you sign in through TestConext" in refused.text
    assert password_login(admin).status_code == 303
    signup = sso_only.get("/signup?code=ABCD-EFGH", follow_redirects=False)
    assert signup.headers["location"] == "/auth/oidc/login?join_code=ABCD-EFGH"


# -- attacks on the ID token: every sign-in goes through validate_id_token ------------------------------

ISSUER, CLIENT = "https://idp.example", "nabij"


@pytest.fixture(scope="module")
def keys():
    provider_key = RSAKey.generate_key(2048, parameters={"kid": "provider", "alg": "RS256", "use": "sig"})
    attacker_key = RSAKey.generate_key(2048, parameters={"kid": "provider", "alg": "RS256", "use": "sig"})
    jwks = KeySet([provider_key]).as_dict(private=False)
    return provider_key, attacker_key, jwks


def _token(key, **changes) -> str:
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": CLIENT, "sub": "s-1", "iat": now, "exp": now + 300, "nonce": "n-1"}
    claims.update(changes)
    claims = {name: value for name, value in claims.items() if value is not None}
    return jwt.encode({"alg": "RS256", "kid": "provider"}, claims, key)


def _validate(token: str, jwks, **changes) -> dict:
    arguments = {"jwks": jwks, "issuer": ISSUER, "client_id": CLIENT, "nonce": "n-1", "algorithms": ["RS256"]}
    arguments.update(changes)
    return oidc.validate_id_token(token, **arguments)


def test_a_good_token_passes_and_a_minute_of_clock_skew_is_tolerated(keys):
    provider_key, _attacker, jwks = keys
    assert _validate(_token(provider_key), jwks)["sub"] == "s-1"
    now = int(time.time())
    assert _validate(_token(provider_key, exp=now - 50), jwks)["sub"] == "s-1"
    assert _validate(_token(provider_key, iat=now + 50), jwks)["sub"] == "s-1"


@pytest.mark.parametrize(
    "attack",
    [
        "wrong-issuer",
        "other-key",
        "other-nonce",
        "no-nonce",
        "no-nonce-sent",
        "expired",
        "other-audience",
        "other-audience-azp-us",
        "extra-audience-azp-other",
        "no-exp",
        "alg-none",
        "alg-none-advertised",
        "hs256-with-secret",
        "garbage",
    ],
)
def test_forged_and_stale_id_tokens_are_refused(keys, attack):
    provider_key, attacker_key, jwks = keys
    now = int(time.time())
    token, changes = _token(provider_key), {}
    if attack == "wrong-issuer":
        token = _token(provider_key, iss="https://evil.example")
    elif attack == "other-key":
        token = _token(attacker_key)  # the same kid, another key
    elif attack == "other-nonce":
        token = _token(provider_key, nonce="n-from-an-earlier-sign-in")  # a replayed ID token
    elif attack == "no-nonce":
        token = _token(provider_key, nonce=None)
    elif attack == "no-nonce-sent":
        changes = {"nonce": None}
    elif attack == "expired":
        token = _token(provider_key, exp=now - 61 - 5, iat=now - 600)
    elif attack == "other-audience":
        token = _token(provider_key, aud="another-client")
    elif attack == "other-audience-azp-us":
        token = _token(provider_key, aud="another-client", azp=CLIENT)  # Authlib alone would accept this
    elif attack == "extra-audience-azp-other":
        token = _token(provider_key, aud=["another-client", CLIENT], azp="another-client")
    elif attack == "no-exp":
        token = _token(provider_key, exp=None)
    elif attack in ("alg-none", "alg-none-advertised"):
        import base64
        import json

        def part(value):
            return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

        token = (
            part({"alg": "none", "typ": "JWT"})
            + "."
            + part({"iss": ISSUER, "aud": CLIENT, "sub": "s-1", "iat": now, "exp": now + 300, "nonce": "n-1"})
            + "."
        )
        if attack == "alg-none-advertised":
            changes = {"algorithms": ["none", "RS256"]}
    elif attack == "hs256-with-secret":
        from joserfc.jwk import OctKey

        secret = OctKey.import_key("nabij-secret-" + "x" * 32)
        token = jwt.encode(
            {"alg": "HS256"},
            {"iss": ISSUER, "aud": CLIENT, "sub": "s-1", "iat": now, "exp": now + 300, "nonce": "n-1"},
            secret,
        )
        changes = {"algorithms": ["HS256", "RS256"], "jwks": {"keys": [*jwks["keys"], secret.as_dict()]}}
    elif attack == "garbage":
        token = "not.a.token"
    with pytest.raises(oidc.OidcError) as refused:
        _validate(token, changes.pop("jwks", jwks), **changes)
    assert refused.value.kind == "invalid-token"


def test_unsafe_algorithms_advertised_by_a_provider_are_never_used():
    assert oidc.signing_algorithms({"id_token_signing_alg_values_supported": ["none", "HS256", "RS256"]}) == ["RS256"]
    assert oidc.signing_algorithms({"id_token_signing_alg_values_supported": ["none"]}) == []


def test_the_client_checks_tokens_with_validate_id_token(oidc_client, provider, monkeypatch):
    """The HTTP flow uses the validation above (not Authlib's default): break it, and sign-in fails."""

    def refuse(*args, **kwargs):
        raise oidc.OidcError("invalid-token", "refused by the test")

    monkeypatch.setattr(oidc, "validate_id_token", refuse)
    response = full_sign_in(oidc_client, "student1")
    assert response.status_code == 400 and kind_of(response.text) == "invalid-token"


# -- `nabij oidc check` ---------------------------------------------------------------------------------


def test_oidc_check_command(settings, provider):
    from click.testing import CliRunner

    from app.cli import main

    good = {"NABIJ_OIDC_ISSUER": provider.issuer, "NABIJ_OIDC_CLIENT_ID": "nabij"}
    result = CliRunner().invoke(main, ["oidc", "check"], env=good)
    assert result.exit_code == 0, result.output
    assert "ok" in result.output.lower()
    result = CliRunner().invoke(main, ["oidc", "check"], env={**good, "NABIJ_OIDC_ISSUER": provider.issuer + "/x"})
    assert result.exit_code == 1 and len(result.output.strip().splitlines()) == 1
    result = CliRunner().invoke(main, ["oidc", "check"], env={**good, "NABIJ_OIDC_ISSUER": ""})
    assert result.exit_code == 1 and "NABIJ_OIDC_ISSUER" in result.output


def test_logged_in_password_user_links_the_institution_account(oidc_client, provider, session):
    existing = make_user(session, email="own@hogeschool.test", name="Eigen")
    login(oidc_client, existing)
    assert one(oidc_client.get("/account").text, 'a.button[href="/auth/oidc/login?link=1&next=/account"]')
    provider.add_accounts({"own-inst": {"name": "Eigen Inst", "eduperson_affiliation": ["student"]}})
    response = full_sign_in(oidc_client, "own-inst", "?link=1&next=/account")
    assert response.status_code == 303 and response.headers["location"].startswith("/account")
    assert user_by_subject(session, provider.issuer, "own-inst").id == existing.id
    page = oidc_client.get("/account").text
    assert provider.issuer in page and "link=1" not in page


def test_an_institution_account_erases_itself_after_signing_in_again(oidc_client, provider, session):
    """No password to type: a sign-in at the institution in the last minutes confirms it is them (issue 13)."""
    from datetime import timedelta

    from app.models import UserSession, utcnow
    from app.services.erasure import REAUTH_WINDOW_MINUTES

    assert full_sign_in(oidc_client, "student1").status_code == 303
    user = user_by_subject(session, provider.issuer, "student1")
    account = oidc_client.get("/account").text
    erase_form = one(account, 'form[method="post"][action="/account/erase"]')
    assert field(erase_form, "confirm").element["type"] == "checkbox" and fields(erase_form, "password") == []
    token = csrf_from(account)
    refused = oidc_client.post("/account/erase", data={"csrf_token": token})
    assert refused.status_code == 400 and "Tick the box to confirm." in refused.text

    # Signed in longer ago: the page asks to sign in again, with the provider asked to re-prompt.
    for row in session.exec(select(UserSession).where(UserSession.user_id == user.id)):
        row.created_at = utcnow() - timedelta(minutes=REAUTH_WINDOW_MINUTES + 1)
        session.add(row)
    session.commit()
    stale = oidc_client.get("/account").text
    assert "sign in again with your institution" in stale and fields(stale, "confirm") == []
    assert oidc_client.post("/account/erase", data={"csrf_token": token, "confirm": "1"}).status_code == 400
    authorize = start(oidc_client, "?reauth=1&next=/account")
    assert parse_qs(urlsplit(authorize).query)["prompt"] == ["login"]
    assert callback(oidc_client, sign_in_at_provider(authorize, "student1")).status_code == 303

    fresh = oidc_client.get("/account").text
    asked = oidc_client.post(
        "/account/erase", data={"csrf_token": csrf_from(fresh), "confirm": "1"}, follow_redirects=True
    )
    assert "will be erased in 14 days" in asked.text
    session.expire_all()
    assert session.get(User, user.id).erasure_due_at is not None
