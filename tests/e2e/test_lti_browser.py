"""A student opens Nabij from the LMS's course page, in its iframe and in a new window (Chromium).

The LMS is the test platform (PyPI lti1p3platform, tests/lti/platform.py) on `localhost`, Nabij on
127.0.0.1: two sites, so the launch in the iframe is a real third-party context."""

from __future__ import annotations

import httpx
import pytest

pytest.importorskip("lti1p3platform", reason="LTI browser test skipped: install the dev extras for lti1p3platform")

from app.lti import registration
from tests.lti.platform import LEARNER, Scenario, start_platform, stop_platform

MODULE = "de-relatie-werkt"


@pytest.fixture
def lms(live_server):
    platform = start_platform(tool_base=live_server.url, host="localhost")
    with live_server.session() as session:
        registration.register(session, platform.nabij_values(), production=False)
    platform.tool_jwks = httpx.get(f"{live_server.url}/lti/jwks", timeout=10).json()
    yield platform
    stop_platform(platform)


def test_student_launches_from_the_lms_page_in_the_iframe_and_in_a_new_window(lms, live_server, new_page):
    lms.scenarios["s"] = Scenario(
        sub="browser-student", roles=[LEARNER], name="Lotte Maes", custom={"nabij_module": MODULE}, nrps=False
    )
    page = new_page(locale="en-GB")
    page.goto(f"{lms.issuer}/course/s")
    frame = page.frame_locator("#tool")
    # Inside the LMS's iframe: signed in (the log-out button), in the module.
    frame.locator("form[action='/logout']").wait_for()
    tool_frame = next(f for f in page.frames if f.url.startswith(live_server.url))
    assert tool_frame.url == f"{live_server.url}/modules/{MODULE}"
    assert "Lotte Maes" not in page.content()  # the LMS's page itself learns nothing from Nabij's frame

    # A new window: a fresh launch (a new state and nonce), top-level.
    lms.scenarios["w"] = Scenario(
        sub="browser-student",
        roles=[LEARNER],
        name="Lotte Maes",
        custom={"nabij_module": MODULE},
        nrps=False,
        target="window",
    )
    page.goto(f"{lms.issuer}/course/w")
    with page.expect_popup() as popup_info:
        page.click("#new-window")
    popup = popup_info.value
    popup.wait_for_url(f"{live_server.url}/modules/{MODULE}")
    assert popup.locator("form[action='/logout']").count() == 1
