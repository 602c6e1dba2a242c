"""Every page type validates with the W3C Nu HTML checker (npm vnu-jar, run on the machine's Java).

The pages are found the way a person finds them: log in as each role on the demo data and follow the
links. One page per route shape (ids replaced) is checked, all in one checker run.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections import deque
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from app.demo import DEMO_PASSWORD, load_demo
from tests.conftest import csrf_from

VNU_JAR = Path(__file__).parent / "html" / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"
ROLES = ["admin@nabij.test", "docent@nabij.test", "sara@student.nabij.test"]
PUBLIC_PAGES = ["/login", "/signup", "/password/forgot", "/toegankelijkheid", "/no-such-page"]
MAX_PAGES_PER_ROLE = 60
SKIP_SUFFIXES = (".csv", ".md", ".json", ".zip", ".css", ".js", ".svg", ".png", ".ics", ".txt")


def _checker() -> list[str]:
    if shutil.which("java") is None:
        pytest.skip("no Java on this machine: the W3C Nu HTML checker cannot run")
    if not VNU_JAR.exists():
        pytest.skip("vnu-jar is not installed (make test runs npm ci in tests/html; Node.js/npm missing?)")
    return ["java", "-Xss4m", "-jar", str(VNU_JAR)]


def _shape(path: str) -> str:
    """A route shape: numbers and opaque tokens replaced, so each page type is checked once."""
    path = re.sub(r"/\d+(?=/|$)", "/{n}", path)
    return re.sub(r"/[0-9a-f]{12,}(?=/|$)", "/{ref}", path)


def _log_in(client: TestClient, email: str) -> None:
    page = client.get("/login")
    response = client.post(
        "/login",
        data={"email": email, "password": DEMO_PASSWORD, "csrf_token": csrf_from(page.text), "next": "/"},
        follow_redirects=False,
    )
    assert response.status_code == 303, f"demo login failed for {email}"


def _crawl(client: TestClient, role: str, start: str, pages: dict[str, str]) -> None:
    seen: set[str] = set()
    queue = deque([start])
    fetched = 0
    while queue and fetched < MAX_PAGES_PER_ROLE:
        url = queue.popleft()
        shape = f"{role} {_shape(urlsplit(url).path)}"
        if url in seen or (shape in pages and url != start) or url.endswith(SKIP_SUFFIXES):
            continue
        seen.add(url)
        if "logout" in url:
            continue
        response = client.get(url, follow_redirects=True)
        fetched += 1
        if "text/html" not in response.headers.get("content-type", ""):
            continue
        pages.setdefault(shape, response.text)
        for link in re.findall(r'href="([^"#]+)', response.text):
            link = link.replace("&amp;", "&")
            if link.startswith("/") and not link.startswith("//") and not link.startswith("/static/"):
                queue.append(link)


def test_every_page_type_is_valid_html(settings, client, tmp_path):
    command = _checker()
    assert load_demo(settings), "the demo data should load into the empty test database"
    pages: dict[str, str] = {}
    for path in PUBLIC_PAGES:
        pages[f"public {path}"] = client.get(path).text
    for email in ROLES:
        _log_in(client, email)
        before = len(pages)
        _crawl(client, email.split("@")[0], "/", pages)
        assert len(pages) > before, f"no new page types found as {email}"
        client.cookies.clear()
    assert len(pages) >= 20, sorted(pages)

    files = {}
    for number, (shape, html) in enumerate(sorted(pages.items())):
        file = tmp_path / f"page{number:03d}.html"
        file.write_text(html, encoding="utf-8")
        files[file.as_uri()] = shape
        files[str(file)] = shape
    result = subprocess.run(
        [*command, "--format", "json", "--errors-only", *map(str, sorted(tmp_path.glob("page*.html")))],
        capture_output=True,
        text=True,
        timeout=300,
    )
    messages = json.loads(result.stderr or result.stdout or '{"messages": []}')["messages"]
    errors = [
        f"{files.get(m.get('url', '').removeprefix('file:'), files.get(m.get('url', ''), m.get('url')))}"
        f" line {m.get('lastLine')}: {m.get('message')}"
        for m in messages
        if m.get("type") in ("error", "non-document-error")
    ]
    assert not errors, f"{len(errors)} HTML errors over {len(pages)} page types:\n" + "\n".join(errors[:80])
