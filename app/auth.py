"""Who is asking: the session cookie, CSRF tokens, and role checks, all as dependencies."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import timedelta
from typing import Annotated
from urllib.parse import quote, urlsplit

from fastapi import Depends, HTTPException, Request
from starlette.datastructures import MutableHeaders
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.asgi import HttpMiddleware, request_cookies
from app.config import Settings
from app.db import SessionDep, read_only, run_step, write_for
from app.i18n import gettext as _
from app.models import Role, User, UserSession
from app.services.sessions import SessionPolicy, end_session_by_id, resume_session, touch_session

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def cookie_names(settings: Settings) -> tuple[str, str]:
    """Session and anonymous-CSRF cookie names; `__Host-` pins them to this host over HTTPS."""
    prefix = "__Host-" if settings.is_production else ""
    return f"{prefix}nabij_session", f"{prefix}nabij_csrf"


def set_session_cookie(response: Response, settings: Settings, token: str, *, remember: bool = False) -> None:
    """A browser-session cookie (gone when the browser closes: the next person on a shared computer
    does not find the previous one logged in), unless the user ticked "remember me" on their own device."""
    response.set_cookie(
        cookie_names(settings)[0],
        token,
        httponly=True,
        samesite="lax",
        secure=settings.is_production,
        path="/",
        max_age=settings.session_max_hours * 3600 if remember else None,
    )


def clear_session_cookie(response: Response, settings: Settings) -> None:
    response.delete_cookie(
        cookie_names(settings)[0], path="/", secure=settings.is_production, httponly=True, samesite="lax"
    )


class CsrfCookieMiddleware(HttpMiddleware):
    """Gives every visitor a random CSRF seed cookie, so forms work before login (login CSRF)."""

    def __init__(self, app: ASGIApp, *, settings: Settings) -> None:
        super().__init__(app)
        self.name = cookie_names(settings)[1]
        self.secure = settings.is_production

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        if request_cookies(scope).get(self.name):
            await self.app(scope, receive, send)
            return
        seed = secrets.token_urlsafe(32)
        scope.setdefault("state", {})["csrf_seed"] = seed
        cookie = f"{self.name}={seed}; Path=/; HttpOnly; SameSite=Lax" + ("; Secure" if self.secure else "")

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).append("set-cookie", cookie)
            await send(message)

        await self.app(scope, receive, send_with_cookie)


def _anonymous_csrf(request: Request) -> str:
    settings: Settings = request.app.state.settings
    seed = request.cookies.get(cookie_names(settings)[1]) or getattr(request.state, "csrf_seed", "")
    return hmac.new(request.app.state.secret, f"csrf:{seed}".encode(), hashlib.sha256).hexdigest()


async def load_auth(request: Request, session: SessionDep) -> None:
    """Runs for every route: sets request.state.user, .user_session and .csrf_token."""
    settings: Settings = request.app.state.settings
    request.state.user = None
    request.state.user_session = None
    request.state.ended_user_id = None  # whose session just ended, for the text carried through login
    token = request.cookies.get(cookie_names(settings)[0])
    if token:
        policy = SessionPolicy(
            idle=timedelta(minutes=settings.session_idle_minutes), absolute=timedelta(hours=settings.session_max_hours)
        )
        resumed = await run_step(_resume, request, session, token, policy)
        if resumed is not None and not resumed.live:
            request.state.ended_user_id = resumed.user.id
            await run_step(_write, request, session, end_session_by_id, resumed.user_session.id)
        elif resumed is not None:
            if resumed.needs_touch:
                await run_step(_write, request, session, touch_session, resumed.user_session.id)
            request.state.user_session, request.state.user = resumed.user_session, resumed.user
            request.state.csrf_token = resumed.user_session.csrf_token
            request.state.unread_notifications = resumed.unread_notifications
            return
    request.state.csrf_token = _anonymous_csrf(request)


def _resume(request: Request, session, token: str, policy: SessionPolicy):
    with read_only(request, session):
        return resume_session(session, token=token, policy=policy)


def _write(request: Request, session, operation, session_id: int) -> None:
    with write_for(request, session) as writer:
        operation(writer, session_id=session_id)


DRAFT_PATH = re.compile(r"^/modules/(?P<slug>[a-z0-9-]+)/prompts/(?P<prompt>[a-z0-9-]+)(?:/draft)?$")


class DraftLoginRequired(Exception):
    """A reflection arrived after the session ended: keep the text and ask to log in again."""

    def __init__(self, *, slug: str, prompt_id: str, text: str, version: str, owner_id: int | None = None) -> None:
        super().__init__(slug)
        self.slug, self.prompt_id, self.text, self.version = slug, prompt_id, text, version
        self.owner_id = owner_id  # the account whose session ended, when known


# The ONE list of endpoints that other sites may POST to (an LMS launching Nabij). They are exempt from
# both checks below, the Origin check and the CSRF token, and must protect themselves (LTI: a signed,
# single-use id_token and state). Exact paths; add to it only with a reason beside the entry.
CROSS_SITE_POST_PATHS = frozenset(
    {
        "/lti/login",  # LTI 1.3 third-party-initiated login: the platform POSTs from its own origin
        "/lti/launch",  # LTI 1.3 launch: the id_token arrives as a cross-site form post
    }
)
# Paths under which the URL itself carries a signed token that authorises the one thing it does.
CROSS_SITE_POST_PREFIXES = (
    "/notifications/unsubscribe/",  # RFC 8058 one-click unsubscribe: the mail provider POSTs, with no cookie
)
CROSS_SITE_FETCH = frozenset({"cross-site", "same-site"})


def _same_origin(request: Request) -> bool:
    """False when the browser says the request comes from another site (Origin, Sec-Fetch-Site).

    A request with neither header comes from a program or an old browser: it passes here and still
    needs the CSRF token. `same-site` (another host of the same site) counts as another site.
    """
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None and fetch_site.lower() in CROSS_SITE_FETCH:
        return False
    origin = request.headers.get("origin")
    if origin is None:
        return True
    # Host and port only: behind a TLS proxy that is not (yet) trusted, the scheme seen here is http while
    # the browser's Origin says https; that is still this site.
    given = urlsplit(origin.strip().lower()).netloc
    own = {request.headers.get("host", "").lower(), urlsplit(request.app.state.settings.base_url.lower()).netloc}
    return bool(given) and given in own


def _tokens_match(given: object, expected: str) -> bool:
    """Compared as bytes: a token with characters outside ASCII is simply wrong, never an error."""
    if not isinstance(given, str) or not expected:
        return False
    return hmac.compare_digest(given.encode("utf-8", "surrogatepass"), expected.encode())


async def csrf_protect(request: Request) -> None:
    """Every state-changing request comes from Nabij's own pages and carries the token (a form
    field, or htmx's header); see CROSS_SITE_POST_PATHS for the only exceptions."""
    path = request.url.path
    if request.method in SAFE_METHODS or path in CROSS_SITE_POST_PATHS or path.startswith(CROSS_SITE_POST_PREFIXES):
        return
    if not _same_origin(request):
        raise HTTPException(
            403,
            _(
                "This form was sent from another website. Nabij only accepts forms "
                "from its own pages: open Nabij and try again there."
            ),
        )
    form = None
    given = request.headers.get("X-CSRF-Token")
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        if given is None:
            field = form.get("csrf_token")
            given = field if isinstance(field, str) else None  # a file is no token
    expected = getattr(request.state, "csrf_token", "")
    if _tokens_match(given, expected):
        return
    draft = DRAFT_PATH.match(request.url.path)
    if draft and request.state.user is None and form is not None and isinstance(text := form.get("text"), str):
        # The session ended while the student was writing. Nothing is saved here; the text goes back
        # to the browser on the login page, and is saved only after the student logs in.
        raise DraftLoginRequired(
            slug=draft["slug"],
            prompt_id=draft["prompt"],
            text=text,
            version=str(form.get("version", "0")),
            owner_id=getattr(request.state, "ended_user_id", None),
        )
    raise HTTPException(
        403,
        _("Your form had expired or did not come from Nabij. Reload the page and try again."),
        headers=_fresh_token_for_the_same_account(request, expected),
    )


def _fresh_token_for_the_same_account(request: Request, expected: str) -> dict[str, str] | None:
    """A page open since before the student logged in again (in another tab) holds the old session's
    token, and every autosave would fail for ever. Its script may have the new token, but only when the
    page belongs to the account now logged in (its drafts' owner key says so): another student logging in
    on this computer must never receive the first one's text. Only our own script can send these headers
    (a cross-site form cannot) and read the answer."""
    from app.services.sessions import draft_owner

    user = request.state.user
    page_owner = request.headers.get("X-Draft-Owner", "")
    if user is None or not expected or not request.headers.get("HX-Request") or not page_owner:
        return None
    if not hmac.compare_digest(page_owner, draft_owner(request.app.state.secret, user_id=user.id)):
        return None
    return {"X-CSRF-Refresh": expected}


class LoginRequired(Exception):
    """Handled by sending the visitor to the login page, with the way back."""


# These only read request.state, so they are `async`: no thread-pool hop for a lookup in memory.
async def current_user_or_none(request: Request) -> User | None:
    return request.state.user


def _logged_in(request: Request) -> User:
    user = request.state.user
    if user is None:
        raise LoginRequired()
    return user


async def require_user(request: Request) -> User:
    return _logged_in(request)


def require_role(*roles: Role):
    allowed = {role.value for role in roles}

    async def dependency(user: Annotated[User, Depends(require_user)]) -> User:
        # 404, not 403: pages of other roles do not reveal that they exist.
        if user.role not in allowed:
            raise HTTPException(404)
        return user

    return dependency


async def current_session(request: Request) -> UserSession:
    _logged_in(request)
    return request.state.user_session


def login_url(request: Request) -> str:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return f"/login?next={quote(target, safe='')}"


def safe_next(target: str | None) -> str:
    """Only local paths: no open redirects to other sites."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


OptionalUser = Annotated[User | None, Depends(current_user_or_none)]
CurrentUser = Annotated[User, Depends(require_user)]
StudentUser = Annotated[User, Depends(require_role(Role.STUDENT))]
LecturerUser = Annotated[User, Depends(require_role(Role.LECTURER, Role.ADMIN))]
AdminUser = Annotated[User, Depends(require_role(Role.ADMIN))]
CurrentSession = Annotated[UserSession, Depends(current_session)]
