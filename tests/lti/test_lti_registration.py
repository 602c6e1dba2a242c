"""Registration of platforms (CLI and admin page), the tool's keys and their rotation."""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner
from joserfc import jwt
from joserfc.jwk import KeySet
from sqlmodel import select

from app.cli import main
from app.config import get_settings
from app.lti import keys
from app.models import LtiKey, LtiPlatform
from tests.conftest import TEST_SECRET, csrf_from
from tests.factories import login, make_user
from tests.pages import one, text_of
from tests.pages import select as select_all

VALUES = {
    "issuer": "https://canvas.hogeschool.test",
    "client_id": "10000000000001",
    "auth_login_url": "https://canvas.hogeschool.test/api/lti/authorize_redirect",
    "auth_token_url": "https://canvas.hogeschool.test/login/oauth2/token",
    "jwks_url": "https://canvas.hogeschool.test/api/lti/security/jwks",
    "deployment_id": "7:abc",
}


@pytest.fixture
def cli(settings, session, monkeypatch):
    for name, value in (
        ("NABIJ_DATABASE_URL", settings.effective_database_url),
        ("NABIJ_VAR_DIR", str(settings.var_dir)),
        ("NABIJ_MODULES_DIR", str(settings.modules_dir)),
        ("NABIJ_SECRET_KEY", TEST_SECRET),
        ("NABIJ_ENV", "test"),
    ):
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    runner = CliRunner()

    def run(*args: str):
        session.commit()
        result = runner.invoke(main, list(args))
        session.commit()
        return result

    yield run
    get_settings.cache_clear()


def _options(values: dict) -> list[str]:
    return [part for name, value in values.items() for part in (f"--{name.replace('_', '-')}", value)]


def test_cli_register_list_remove(cli, session):
    result = cli("lti", "register", *_options(VALUES), "--name", "Canvas HoGent")
    assert result.exit_code == 0, result.output
    assert "login initiation URL: http://127.0.0.1:8000/lti/login" in result.stdout
    assert "JWKS URL:             http://127.0.0.1:8000/lti/jwks" in result.stdout
    listed = cli("lti", "list")
    assert "https://canvas.hogeschool.test\t10000000000001\t7:abc\tCanvas HoGent" in listed.stdout
    again = cli("lti", "register", *_options(VALUES))
    assert again.exit_code == 1 and "already registered" in again.stderr and "Traceback" not in again.output
    platform_id = session.exec(select(LtiPlatform)).one().id
    assert cli("lti", "remove", str(platform_id), "--yes").exit_code == 0
    assert cli("lti", "list").stdout.strip() == "no platforms registered"
    missing = cli("lti", "remove", "999", "--yes")
    assert missing.exit_code == 1 and "no platform with id 999" in missing.stderr


def test_cli_refuses_plain_http_urls_in_one_line(cli):
    result = cli("lti", "register", *_options({**VALUES, "jwks_url": "http://lms.example.test/jwks"}))
    assert result.exit_code == 1 and "--jwks-url" in result.stderr and "https://" in result.stderr


def test_rotate_key_keeps_the_old_key_in_the_jwks(cli, session, client):
    first = client.get("/lti/jwks").json()["keys"]
    assert len(first) == 1
    token = keys.sign(session, {"iss": "x"})
    session.commit()
    result = cli("lti", "rotate-key")
    assert result.exit_code == 0 and "kept in the JWKS" in result.stdout
    served = client.get("/lti/jwks").json()
    assert {key["kid"] for key in served["keys"]} >= {first[0]["kid"]} and len(served["keys"]) == 2
    # A token signed before the rotation still verifies against the served set; new ones use the new key.
    assert jwt.decode(token, KeySet.import_key_set(served)).claims["iss"] == "x"
    session.rollback()
    new_token = keys.sign(session, {"iss": "y"})
    assert jwt.decode(new_token, KeySet.import_key_set(served)).header["kid"] != first[0]["kid"]
    assert all("d" not in key for key in served["keys"])
    # The private key is stored encrypted, not as readable JSON.
    raw = session.connection().exec_driver_sql("SELECT private_jwk FROM lti_key").scalars().all()
    assert all(not value.startswith("{") for value in raw)
    assert len(session.exec(select(LtiKey)).all()) == 2
    json.dumps(served)


def test_admin_page_registers_shows_the_tool_urls_and_explains_errors(client, session):
    admin = make_user(session, role="admin")
    login(client, admin)
    page = client.get("/admin/lti")
    assert page.status_code == 200
    for url in ("http://testserver/lti/login", "http://testserver/lti/launch", "http://testserver/lti/jwks"):
        assert url in page.text
    bad = client.post(
        "/admin/lti",
        data={**VALUES, "auth_token_url": "ftp://nope", "client_id": "", "csrf_token": csrf_from(page.text)},
    )
    assert bad.status_code == 422 and "https://" in bad.text and VALUES["issuer"] in bad.text  # kept what was typed
    done = client.post(
        "/admin/lti", data={**VALUES, "name": "Canvas", "csrf_token": csrf_from(page.text)}, follow_redirects=False
    )
    assert done.status_code == 303
    listed = client.get("/admin/lti")
    assert "7:abc" in listed.text and "The platform was registered." in client.get(done.headers["location"]).text


def test_admin_page_is_only_for_admins(client, session):
    login(client, make_user(session, role="lecturer"))
    assert client.get("/admin/lti").status_code == 404


# -- dynamic registration ------------------------------------------------------------------------


def test_dynamic_registration_registers_the_platform_and_it_can_launch(client, session, app):
    from urllib.parse import urlsplit

    from fastapi.testclient import TestClient

    from app.lti import dynamic
    from app.lti import registration as lti_registration
    from tests.lti.platform import LEARNER, Scenario, full_launch, start_platform, stop_platform

    platform = start_platform()
    try:
        admin = make_user(session, role="admin")
        login(client, admin)
        page = client.get("/admin/lti")
        link = text_of(one(page.text, "code#lti-dynamic-link"))
        assert link.startswith("http://testserver/lti/register?t=")
        anonymous = TestClient(app, base_url="https://testserver", headers={"Accept-Language": "en"})
        start = urlsplit(link)
        params = {
            "openid_configuration": f"{platform.issuer}/.well-known/openid-configuration",
            "registration_token": "reg-token-1",
        }
        # Without the admin's token nothing is fetched or stored.
        refused = anonymous.get("/lti/register", params={**params, "t": "1.forged"})
        assert refused.status_code == 403 and not platform.dynamic_registrations
        token = start.query.removeprefix("t=")
        done = anonymous.get(start.path, params={**params, "t": token})
        assert done.status_code == 200, done.text
        assert one(done.text, "section#lti-registered").has_attr("data-lti-close")
        [script] = [s for s in select_all(done.text, "script[src]") if "lti-registration" in s["src"]]
        assert re.fullmatch(r"/static/lti-registration\.[0-9a-f]{10}\.js", script["src"])
        (sent,) = platform.dynamic_registrations
        assert sent["initiate_login_uri"] == "https://testserver/lti/login"
        assert sent["jwks_uri"] == "https://testserver/lti/jwks"
        assert sent["token_endpoint_auth_method"] == "private_key_jwt"
        session.rollback()
        row = session.exec(select(LtiPlatform)).one()
        assert (row.issuer, row.client_id, row.deployment_id) == (platform.issuer, "nabij-tool", "deployment-1")
        assert row.auth_token_url == f"{platform.issuer}/token"
        # The registration works: a launch signs in.
        platform.tool_jwks = anonymous.get("/lti/jwks").json()
        platform.scenarios["s"] = Scenario(
            sub="dyn", roles=[LEARNER], name="D", nrps=False, custom={"nabij_module": "de-relatie-werkt"}
        )
        response, _ = full_launch(anonymous, platform, "s")
        assert response.status_code == 303
        # An expired link is refused.
        old = dynamic.registration_link(app.state.secret, lti_registration.ToolUrls.at("https://testserver"), now=0)
        assert (
            anonymous.get("/lti/register", params={**params, "t": urlsplit(old).query.removeprefix("t=")}).status_code
            == 403
        )
    finally:
        stop_platform(platform)


def test_dynamic_registration_refuses_a_configuration_for_another_issuer(client, app, monkeypatch):
    import httpx as real_httpx

    from app.lti import dynamic
    from app.lti.registration import ToolUrls

    class Answer:
        status_code = 200

        def raise_for_status(self):
            return None

        def json(self):
            return {"issuer": "https://other-lms.test", "registration_endpoint": "https://evil.test/register"}

    monkeypatch.setattr(real_httpx, "get", lambda *a, **k: Answer())
    link = dynamic.registration_link(app.state.secret, ToolUrls.at("http://testserver"))
    from urllib.parse import urlsplit

    response = client.get(
        "/lti/register",
        params={
            "t": urlsplit(link).query.removeprefix("t="),
            "openid_configuration": "https://lms.test/.well-known/openid-configuration",
        },
    )
    assert response.status_code == 400 and "another issuer" in response.text
