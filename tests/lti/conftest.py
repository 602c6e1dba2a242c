"""Fixtures for the LTI tests: a running test platform (tests/lti/platform.py) registered in Nabij."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from app.lti import platform_keys, registration, services
from tests.lti.platform import Platform, start_platform, stop_platform


@pytest.fixture
def lti_client(app):
    # https: the launch cookies are Secure (SameSite=None needs it), and a client only returns those over https.
    with TestClient(app, base_url="https://testserver", headers={"Accept-Language": "en"}) as client:
        yield client


def _register(session, client, platform: Platform):
    row = registration.register(session, platform.nabij_values(), production=False)
    # The platform verifies Nabij's signatures (client assertions, deep-linking responses) with
    # Nabij's public JWKS, exactly as served.
    session.rollback()  # end the read transaction refresh() began: the test sees what the app writes
    platform.tool_jwks = client.get("/lti/jwks").json()
    return row


@pytest.fixture
def platform(session, lti_client):
    platform_keys.clear()
    services.clear_tokens()
    running = start_platform()
    running.nabij = _register(session, lti_client, running)
    yield running
    stop_platform(running)


@pytest.fixture
def other_platform(session, lti_client):
    running = start_platform(client_id="nabij-elsewhere")
    running.nabij = _register(session, lti_client, running)
    yield running
    stop_platform(running)
