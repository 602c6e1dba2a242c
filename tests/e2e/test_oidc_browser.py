"""A person signs in through the institution in a real browser (Chromium) and lands on the dashboard."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import TEST_SECRET, make_settings
from tests.oidc.provider import running_provider


@pytest.fixture(scope="session")
def provider(tmp_path_factory):
    yield from running_provider(tmp_path_factory)


@pytest.fixture
def sso_server(tmp_path, provider):
    from app.migrations import upgrade

    settings = make_settings(tmp_path)
    upgrade(settings)
    port = provider.browser_port  # registered at the provider as this server's redirect URI
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "NABIJ_ENV": "test",
        "NABIJ_SECRET_KEY": TEST_SECRET,
        "NABIJ_DATABASE_URL": settings.effective_database_url,
        "NABIJ_VAR_DIR": str(settings.var_dir),
        "NABIJ_MODULES_DIR": str(settings.modules_dir),
        "NABIJ_BASE_URL": url,
        "NABIJ_OIDC_ISSUER": provider.issuer,
        "NABIJ_OIDC_CLIENT_ID": "nabij",
        "NABIJ_OIDC_CLIENT_SECRET": "nabij-secret",
        "NABIJ_OIDC_NAME": "SURFconext",
    }
    log = (tmp_path / "server.log").open("w")
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "nabij"), "serve", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            if process.poll() is not None:
                raise RuntimeError((tmp_path / "server.log").read_text()) from None
            time.sleep(0.1)
    try:
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def test_sign_in_with_the_institution_lands_on_the_dashboard(sso_server, new_page):
    page = new_page()  # Dutch
    page.goto(f"{sso_server}/login")
    button = page.locator("#oidc-login")
    # "Inloggen met SURFconext" once the lead merged /tmp/nabij-i18n/issue15.po into the Dutch catalogue.
    assert button.inner_text() in ("Inloggen met SURFconext", "Sign in with SURFconext")
    button.click()
    # The provider's own (development) pages: any login, then consent.
    page.fill("input[name=login]", "student1")
    page.fill("input[name=password]", "anything")
    page.locator("button[type=submit]").click()
    page.locator("button[type=submit]").first.click()  # consent: "Continue"
    page.wait_for_url(f"{sso_server}/")
    assert "Sanne de Vries" in page.content()
    assert page.locator("form[action='/logout']").count() >= 1
