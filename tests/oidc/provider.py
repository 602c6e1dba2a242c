"""The real OpenID provider for the tests: npm `oidc-provider` (panva) on the machine's Node.js.

`make test` installs it (`npm ci` in tests/oidc). Without node or node_modules the tests skip, in one line.
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx
import pytest

HERE = Path(__file__).parent
TESTSERVER_CALLBACK = "http://testserver/auth/oidc/callback"
SUBMIT_FORM = re.compile(r'<form[^>]*action="([^"]+)"[^>]*method="post"', re.I)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class RunningProvider:
    issuer: str
    process: subprocess.Popen
    browser_port: int  # the port the browser test's Nabij server must use (registered as redirect URI)
    log: object = None

    def add_accounts(self, accounts: dict) -> None:
        httpx.post(f"{self.issuer}/__test__/accounts", json=accounts, timeout=5).raise_for_status()


def start_provider(log_path: Path) -> RunningProvider:
    node = shutil.which("node")
    if node is None:
        pytest.skip("OIDC provider tests skipped: no Node.js (`node`) on this machine")
    if not (HERE / "node_modules" / "oidc-provider").is_dir():
        pytest.skip("OIDC provider tests skipped: run `make test` (npm ci in tests/oidc) to install oidc-provider")
    browser_port = free_port()
    options = {
        "redirect_uris": [TESTSERVER_CALLBACK, f"http://127.0.0.1:{browser_port}/auth/oidc/callback"],
        "post_logout_redirect_uris": [
            "http://testserver/login?notice=logged-out",
            f"http://127.0.0.1:{browser_port}/login?notice=logged-out",
        ],
    }
    log = log_path.open("w")
    process = subprocess.Popen(
        [node, str(HERE / "provider.mjs"), json.dumps(options)], cwd=HERE, stdout=subprocess.PIPE, stderr=log, text=True
    )
    line = process.stdout.readline()
    if not line:
        process.wait(timeout=5)
        process.stdout.close()
        log.close()
        raise RuntimeError("oidc-provider did not start: " + log_path.read_text())
    return RunningProvider(json.loads(line)["issuer"], process, browser_port, log)


def running_provider(tmp_path_factory):
    """For a session-scoped `provider` fixture: `yield from running_provider(tmp_path_factory)`."""
    running = start_provider(tmp_path_factory.mktemp("oidc") / "provider.log")
    yield running
    stop_provider(running)


def stop_provider(provider: RunningProvider) -> None:
    provider.process.terminate()
    try:
        provider.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        provider.process.kill()
        provider.process.wait()
    provider.process.stdout.close()
    provider.log.close()


def sign_in_at_provider(
    authorize_url: str, login: str, *, consent: bool = True, http: httpx.Client | None = None
) -> str:
    """Drive the provider's development pages with POSTs, as a person would with the forms.

    Returns the URL the provider finally sends the browser to (Nabij's callback, with code and state).
    `consent=False` presses "Cancel" on the consent page instead (error=access_denied)."""
    own = http is None
    http = http or httpx.Client(timeout=10)
    try:
        url = authorize_url
        for _step in range(20):
            response = http.get(url) if not isinstance(url, tuple) else http.post(url[0], data=url[1])
            if response.is_redirect:
                target = urljoin(str(response.url), response.headers["location"])
                if not target.startswith(_origin(authorize_url)):
                    return target  # leaving the provider: back to Nabij
                url = target
                continue
            response.raise_for_status()
            page = response.text
            action = SUBMIT_FORM.search(page)
            assert action, page[:2000]
            submit = urljoin(str(response.url), action.group(1))
            if 'name="prompt" value="login"' in page:
                url = (submit, {"prompt": "login", "login": login, "password": "anything"})
            elif 'name="prompt" value="consent"' in page:
                url = (submit, {"prompt": "consent"}) if consent else submit.rstrip("/") + "/abort"
            else:
                raise AssertionError("unexpected provider page: " + page[:2000])
        raise AssertionError("too many steps at the provider")
    finally:
        if own:
            http.close()


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
