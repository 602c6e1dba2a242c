"""Launches inside the LMS's iframe: their cookies, and which origins may frame which pages.

* A launch whose request says it is loading a frame (``Sec-Fetch-Dest: iframe``) gets its session cookie
  with ``SameSite=None; Secure; Partitioned``: a third-party cookie, kept in a jar partitioned by the LMS's
  site (CHIPS) where the browser supports it. A launch in a new window gets the normal ``SameSite=Lax``
  cookie. Passwords logins never change: only sessions *started by a launch in a frame* are framable.
* ``frame-ancestors``: ``'none'`` on every page (app/headers.py), except pages of such a session, which
  allow exactly the launching platform's origin, and the LTI pages themselves (the launch response,
  deep-linking picker, "open in a new window"), which allow the registered platforms' origins.
  The origins a session may be framed by (the platform's registered ones, and the origin of the signed
  ``launch_presentation.return_url``, which is where the LMS shows the course: Canvas's issuer is
  canvas.instructure.com, its course pages are on the school's own domain) are carried in the
  ``nabij_lti_frame`` cookie, bound with an HMAC to the session token, so no page view needs a
  database query for it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Sequence
from http.cookies import SimpleCookie

from starlette.datastructures import MutableHeaders
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.auth import cookie_names
from app.config import Settings
from app.headers import CONTENT_SECURITY_POLICY

FRAME_COOKIE = "nabij_lti_frame"
FRAMED_DESTINATIONS = frozenset({"iframe", "frame"})
ORIGIN = re.compile(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?")


def is_framed(request) -> bool:
    return request.headers.get("sec-fetch-dest", "") in FRAMED_DESTINATIONS


def csp_for(origins: list[str], *, form_targets: Sequence[str] = ()) -> str:
    """The CSP with frame-ancestors = these origins (or 'none'), and forms also to `form_targets`."""
    ancestors = " ".join(origins) if origins else "'none'"
    policy = CONTENT_SECURITY_POLICY.replace("frame-ancestors 'none'", f"frame-ancestors {ancestors}")
    if form_targets:
        policy = policy.replace("form-action 'self'", "form-action 'self' " + " ".join(form_targets))
    return policy


def _mac(secret: bytes, origins: str, token: str) -> str:
    return hmac.new(secret, f"lti-frame:{origins}:{token}".encode(), hashlib.sha256).hexdigest()[:32]


def add_cookie(
    response: Response,
    name: str,
    value: str,
    *,
    path: str = "/",
    max_age: int | None = None,
    samesite: str = "None",
    secure: bool = True,
    partitioned: bool = True,
) -> None:
    """Set-Cookie written out: Python's http.cookies knows `Partitioned` only from 3.14 on."""
    parts = [f"{name}={value}", f"Path={path}", "HttpOnly", f"SameSite={samesite}"]
    if max_age is not None:
        parts.append(f"Max-Age={max_age}")
    if secure:
        parts.append("Secure")
    if partitioned:
        parts.append("Partitioned")
    response.headers.append("set-cookie", "; ".join(parts))


def _encode(origins: list[str]) -> str:
    return base64.urlsafe_b64encode(" ".join(origins).encode()).decode().rstrip("=")


def set_launch_cookies(
    response: Response, settings: Settings, secret: bytes, *, token: str, origins: list[str], framed: bool
) -> None:
    name = cookie_names(settings)[0]
    if not framed:
        response.set_cookie(name, token, httponly=True, samesite="lax", secure=settings.is_production, path="/")
        return
    # A third-party context: the cookie must be SameSite=None, which browsers accept only with Secure.
    add_cookie(response, name, token)
    encoded = _encode(origins)
    add_cookie(response, FRAME_COOKIE, f"{encoded}.{_mac(secret, encoded, token)}")


def frame_origins(cookie_header: str, session_cookie: str, secret: bytes) -> list[str]:
    cookies = SimpleCookie()
    try:
        cookies.load(cookie_header)
    except Exception:  # a malformed Cookie header frames nothing
        return []
    marker, token = cookies.get(FRAME_COOKIE), cookies.get(session_cookie)
    if marker is None or token is None:
        return []
    encoded, _dot, mac = marker.value.rpartition(".")
    if not hmac.compare_digest(mac, _mac(secret, encoded, token.value)):
        return []
    try:
        origins = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode().split()
    except ValueError:
        return []
    return [origin for origin in origins if ORIGIN.fullmatch(origin)]


class LtiFrames:
    """Pages of a session started by a launch in a frame may be framed by that platform (only)."""

    def __init__(self, app: ASGIApp, *, settings: Settings, secret: bytes) -> None:
        self.app = app
        self.secret = secret
        self.session_cookie = cookie_names(settings)[0]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cookie = next((value for name, value in scope["headers"] if name == b"cookie"), b"")
        origins = []
        if FRAME_COOKIE.encode() in cookie:
            origins = frame_origins(cookie.decode("latin-1"), self.session_cookie, self.secret)
        if not origins:
            await self.app(scope, receive, send)
            return
        policy = csp_for(origins)

        async def send_with_policy(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if "content-security-policy" not in headers:
                    headers["Content-Security-Policy"] = policy
            await send(message)

        await self.app(scope, receive, send_with_policy)
