"""WCAG 2.1 A/AA with axe-core on every page type, for every role, in Dutch and English; reflow at 320 px."""

import itertools

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from app.models import Role, school_today
from app.services import classes
from tests.e2e.conftest import log_in, screenshot
from tests.factories import make_class, make_user

WCAG = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}
MODULE = "de-relatie-werkt"

PAGES = {
    None: [
        "/",
        "/modules",
        f"/modules/{MODULE}",
        f"/modules/{MODULE}/bordin",
        "/login",
        "/signup",
        "/password/forgot",
        "/password/reset/not-a-valid-token",
        "/toegankelijkheid",
        "/bestaat-niet",
    ],
    Role.STUDENT: [
        "/",
        f"/modules/{MODULE}",
        f"/modules/{MODULE}/bordin",
        f"/modules/{MODULE}/gedwongen-kader",
        "/account",
        "/my/reflections",
        "/my/feedback",
        "/notifications",
        "/notifications/settings",
        "/search?q=nabijheid",
        f"/print/modules/{MODULE}",
    ],
    Role.LECTURER: [
        "/",
        f"/modules/{MODULE}/bordin",
        "/account",
        "/classes",
        "/classes/new",
        "/classes/{class_id}",
        "/classes/{class_id}/students",
        "/classes/{class_id}/settings",
        "/classes/{class_id}/assignments/new",
        "/classes/{class_id}/progress",
        "/classes/{class_id}/review",
        f"/classes/{{class_id}}/review/{MODULE}",
        f"/classes/{{class_id}}/review/{MODULE}/relatie-bordin-stage",
        f"/preview/{MODULE}",
        f"/preview/{MODULE}/gedwongen-kader",
        "/classes/{class_id}/join",
        "/safeguarding",
        "/lti/classes/{class_id}",
    ],
    Role.ADMIN: [
        "/",
        "/admin/users",
        "/admin/users/new",
        "/account",
        "/admin/lti",
        "/safeguarding",
        "/admin/classes/{class_id}/access-log",
    ],
}


@pytest.fixture
def people(live_server):
    with live_server.session() as session:
        users = {
            role: make_user(session, role=role, email=f"{role.value}@school.test")
            for role in (Role.STUDENT, Role.LECTURER, Role.ADMIN)
        }
        course_class = make_class(session, lecturer=users[Role.LECTURER])
        classes.enrol(session, course_class=course_class, student=users[Role.STUDENT])
        classes.assign(session, course_class=course_class, module_slug=MODULE, due_on=school_today())
        session.commit()
        users["class_id"] = course_class.id
    return users


@pytest.mark.parametrize("locale", ["nl-BE", "en-GB"])
@pytest.mark.parametrize("role", list(PAGES), ids=lambda r: r.value if r else "anonymous")
def test_no_wcag_violations_on_any_page(live_server, people, new_page, role, locale):
    page = new_page(locale=locale)
    if role is not None:
        log_in(page, live_server, people[role].email)
    axe = Axe()
    failures = []
    for path in PAGES[role]:
        path = path.format(class_id=people["class_id"])
        page.goto(f"{live_server.url}{path}")
        expect(page.locator("html")).to_have_attribute("lang", locale[:2])
        result = axe.run(page, options=WCAG)
        if result.violations_count:
            failures.append(f"{path}:\n{result.generate_report()}")
        name = f"{role.value if role else 'anonymous'}{path.replace('/', '_') or '_home'}-{locale[:2]}"
        if locale.startswith("nl"):
            screenshot(page, name)
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("role", [None, Role.STUDENT, Role.LECTURER], ids=["anonymous", "student", "lecturer"])
def test_pages_reflow_at_320_pixels_without_horizontal_scrolling(live_server, people, new_page, role):
    page = new_page(width=320, height=640)
    if role is not None:
        log_in(page, live_server, people[role].email)
    too_wide = []
    for path in PAGES[role]:
        page.goto(f"{live_server.url}{path.format(class_id=people['class_id'])}")
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > 320:
            too_wide.append(f"{path}: {width}px")
    assert not too_wide


def test_skip_link_and_landmarks(live_server, new_page):
    page = new_page()
    page.goto(f"{live_server.url}/modules/{MODULE}/bordin")
    page.keyboard.press("Tab")
    expect(page.locator(".skip-link")).to_be_focused()
    expect(page.locator(".skip-link")).to_be_visible()
    for landmark in ("header", "nav", "main", "footer"):
        expect(page.locator(landmark).first).to_be_attached()
    headings = page.evaluate("[...document.querySelectorAll('h1,h2,h3,h4')].map(h => +h.tagName[1])")
    assert headings[0] == 1 and all(b - a <= 1 for a, b in itertools.pairwise(headings))


def test_language_can_be_switched_on_every_page_and_is_remembered(live_server, people, new_page):
    page = new_page(locale="nl-BE")
    log_in(page, live_server, people[Role.STUDENT].email)
    page.goto(f"{live_server.url}/modules/{MODULE}")
    expect(page.locator("html")).to_have_attribute("lang", "nl")
    page.locator(".language-switch button").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    assert page.url.endswith(f"/modules/{MODULE}")
    # Another browser, Dutch by default: the account remembers English.
    other = new_page(locale="nl-BE")
    log_in(other, live_server, people[Role.STUDENT].email)
    expect(other.locator("html")).to_have_attribute("lang", "en")
