"""Browser tests: the real server (a fresh database each test) driven by Debian's Chromium via Playwright."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlmodel import Session

from app import PROJECT_ROOT
from app.db import make_engine
from app.migrations import upgrade
from tests.conftest import POSTGRES_URL, TEST_SECRET, make_settings
from tests.factories import PASSWORD

CHROMIUM = os.environ.get("NABIJ_CHROMIUM", "/usr/bin/chromium")
OUTPUT = PROJECT_ROOT / "test-output"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]

if not Path(CHROMIUM).exists():
    pytest.skip(
        f"browser tests skipped: no Chromium at {CHROMIUM} (install Debian's chromium package)", allow_module_level=True
    )
if POSTGRES_URL:
    pytest.skip(
        "browser tests run once, in the SQLite run (each test needs its own fresh database)", allow_module_level=True
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class LiveServer:
    url: str
    settings: object
    process: subprocess.Popen

    def session(self) -> Session:
        """A database session on the server's database, for setting up what a test needs."""
        return Session(make_engine(self.settings), expire_on_commit=False)


@pytest.fixture
def live_server(tmp_path, request):
    settings = make_settings(tmp_path, **(getattr(request, "param", {}) or {}))
    upgrade(settings)
    port = free_port()
    env = {
        **os.environ,
        "NABIJ_ENV": "test",
        "NABIJ_SECRET_KEY": TEST_SECRET,
        "NABIJ_DATABASE_URL": settings.effective_database_url,
        "NABIJ_VAR_DIR": str(settings.var_dir),
        "NABIJ_MODULES_DIR": str(settings.modules_dir),
    }
    log = (tmp_path / "server.log").open("w")
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "nabij"), "serve", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError as error:
            if process.poll() is not None:
                raise RuntimeError((tmp_path / "server.log").read_text()) from error
            time.sleep(0.1)
    try:
        yield LiveServer(url, settings, process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def new_page(browser):
    """Pages in fresh browser contexts (separate cookies), Dutch unless asked otherwise."""
    contexts = []

    def make(locale: str = "nl-BE", width: int = 1280, height: int = 900):
        context = browser.new_context(locale=locale, viewport={"width": width, "height": height})
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def screenshot(page, name: str) -> None:
    """Save the page at desktop and phone width, for people to look at."""
    folder = OUTPUT / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    original = page.viewport_size
    for width in (1280, 375):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(folder / f"{name}-{width}.png"), full_page=True)
    page.set_viewport_size(original)


def log_in(page, server, email: str, password: str = PASSWORD) -> None:
    """Log in through the real form and wait for the dashboard."""
    page.goto(f"{server.url}/login")
    page.fill("#field-email", email)
    page.fill("#field-password", password)
    page.locator("form[action='/login'] button[type=submit]").click()
    page.wait_for_url(f"{server.url}/")


def clean_output() -> None:
    shutil.rmtree(OUTPUT / "screenshots", ignore_errors=True)
