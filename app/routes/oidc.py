"""Institution sign-in: `GET /auth/oidc/login` starts it, `GET /auth/oidc/callback` is the redirect URI.

What one sign-in needs between the two (Authlib's state, nonce and PKCE verifier, where to go after,
the class code typed on the login page) travels in a short-lived, signed, HttpOnly cookie bound to this
browser: nothing is stored on the server before the person is known. The logic is in
app/services/oidc.py and app/services/identities.py.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Annotated
from urllib.parse import urlencode

from fastapi import Form, Request
from fastapi.responses import RedirectResponse
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from app.auth import AdminUser, safe_next
from app.db import ReadSession, WriteSession, in_thread_pool
from app.deps import DbId
from app.devices import browser_id, client_address, current_device, limits
from app.i18n import gettext as _
from app.models import ExternalIdentity, Role, User, referenced, stored_id
from app.routing import Router
from app.services import accounts, classes, identities, oidc, throttle
from app.signing_in import logged_in, try_again
from app.templating import render, templates

router = Router(tags=["oidc"])

FLOW_COOKIE = "nabij_oidc"
MARKER_COOKIE = "nabij_sso"  # "signed in through the institution": offer its logout after ours
JOIN_CODE_LIMIT = 20


# -- the flow cookie --------------------------------------------------------------------------------


def _cookie_name(request: Request, name: str) -> str:
    return ("__Host-" if request.app.state.settings.is_production else "") + name


def _sign(secret: bytes, payload: bytes) -> str:
    return hmac.new(secret, b"oidc-flow:" + payload, hashlib.sha256).hexdigest()


def _read_flow(request: Request) -> dict:
    raw = request.cookies.get(_cookie_name(request, FLOW_COOKIE), "")
    body, _dot, mac = raw.partition(".")
    if not body or len(raw) > 4000:
        return {}
    try:
        payload = base64.urlsafe_b64decode(body.encode() + b"=" * (-len(body) % 4))
    except ValueError:
        return {}
    if not hmac.compare_digest(mac, _sign(request.app.state.secret, payload)):
        return {}
    try:
        flow = json.loads(payload)
    except ValueError:
        return {}
    if not isinstance(flow, dict) or not isinstance(flow.get("iat"), (int, float)):
        return {}
    if time.time() - flow["iat"] > oidc.FLOW_SECONDS:
        return {}
    return flow


def _write_flow(request: Request, response, flow: dict) -> None:
    flow = {**flow, "iat": int(time.time())}
    payload = json.dumps(flow, separators=(",", ":")).encode()
    value = base64.urlsafe_b64encode(payload).decode().rstrip("=") + "." + _sign(request.app.state.secret, payload)
    # SameSite=Lax: the provider's redirect back is a top-level GET from another site, which Lax allows.
    response.set_cookie(
        _cookie_name(request, FLOW_COOKIE),
        value,
        max_age=oidc.FLOW_SECONDS,
        httponly=True,
        samesite="lax",
        secure=request.app.state.settings.is_production,
        path="/",
    )


def _clear_flow(request: Request, response) -> None:
    response.delete_cookie(
        _cookie_name(request, FLOW_COOKIE),
        path="/",
        httponly=True,
        samesite="lax",
        secure=request.app.state.settings.is_production,
    )


# -- helpers ------------------------------------------------------------------------------------------


def _config(request: Request) -> oidc.OidcConfig:
    return oidc.config_from(request.app.state.settings)


def _client(request: Request) -> oidc.NabijOidcApp:
    """One Authlib client per app (it caches the discovery document and the JWKS)."""
    client = getattr(request.app.state, "oidc_client", None)
    if client is None:
        client = request.app.state.oidc_client = oidc.make_client(request.app.state.settings)
    return client


def oidc_login_info(request: Request) -> dict | None:
    """For the login page: the button's label, whether the password form shows, the provider logout offer."""
    settings = request.app.state.settings
    config = oidc.config_from(settings)
    client = getattr(request.app.state, "oidc_client", None)
    logout = bool(
        config.enabled
        and client is not None
        and client.server_metadata.get("end_session_endpoint")
        and request.cookies.get(_cookie_name(request, MARKER_COOKIE))
    )
    return {
        "enabled": config.enabled,
        "name": config.name,
        "logout": logout,
        "password": settings.password_login or not config.enabled or request.query_params.get("admin") == "1",
    }


def linked_identities(request: Request, user: User) -> dict:
    """For the account page: the institution identities of this account, and whether linking is offered."""
    with Session(request.app.state.engine, expire_on_commit=False) as session:
        linked = identities.identities_of(session, user_id=stored_id(user))
    config = _config(request)
    return {
        "identities": linked,
        "provider": config.name,
        "can_link": config.enabled and not any(item.issuer == config.issuer for item in linked),
    }


templates.env.globals["oidc_login_info"] = oidc_login_info
templates.env.globals["oidc_linked_identities"] = linked_identities


def _error_page(request: Request, error: oidc.OidcError, flow: dict | None = None, *, status_code: int | None = None):
    oidc.log_failure(error, issuer=_config(request).issuer)
    flow = flow or {}
    retry = {"next": flow.get("next", "/")}
    if flow.get("join_code"):
        retry["join_code"] = flow["join_code"]
    status = status_code or {
        "provider-down": 503,
        "bad-config": 503,
        "not-configured": 404,
        "access-denied": 403,
        "not-allowed": 403,
    }.get(error.kind, 400)
    response = render(
        request,
        "auth/oidc_error.html",
        {
            "kind": error.kind,
            "claim": error.claim,
            "provider": _config(request).name,
            "retry_url": "/auth/oidc/login?" + urlencode(retry),
            "join_code": flow.get("join_code", ""),
            "password_login": request.app.state.settings.password_login,
        },
        status_code=status,
        private=True,
    )
    _clear_flow(request, response)
    return response


# -- start --------------------------------------------------------------------------------------------


@router.get("/auth/oidc/login")
async def oidc_login(request: Request, next: str = "/", join_code: str = "", link: str = "", reauth: str = ""):
    config = _config(request)
    flow = {
        "next": safe_next(next[:500]),
        "join_code": join_code.strip()[:JOIN_CODE_LIMIT],
        "link": link == "1" and request.state.user is not None,
    }
    if not config.enabled:
        return _error_page(request, oidc.OidcError("not-configured", "NABIJ_OIDC_ISSUER or _CLIENT_ID is empty"), flow)
    client = _client(request)
    try:
        await oidc.load_metadata(client, config)
        request.scope["session"] = {}  # Authlib keeps state, nonce and the PKCE verifier here
        # reauth=1 (erasing one's account): the provider asks for the credentials again, not its SSO session.
        extra = {"prompt": "login", "max_age": 0} if reauth == "1" else {}
        response = await client.authorize_redirect(request, oidc.redirect_uri(request.app.state.settings), **extra)
    except oidc.OidcError as error:
        return _error_page(request, error, flow)
    response.status_code = 303
    response.headers["Cache-Control"] = "no-store"
    _write_flow(request, response, {**flow, "authlib": request.scope["session"]})
    return response


# -- callback -----------------------------------------------------------------------------------------


@router.get("/auth/oidc/callback")
async def oidc_callback(request: Request, session: WriteSession):
    """A GET that writes (the account, its link, the login session): a write endpoint. Its write
    lock is taken only after the exchange with the provider, at the first statement of _signed_in."""
    config = _config(request)
    flow = _read_flow(request)
    if not config.enabled:
        return _error_page(request, oidc.OidcError("not-configured", "callback while sign-in is off"), flow)
    # The flow is used once: whatever happens next, this browser's cookie is cleared (replay: no state).
    request.scope["session"] = dict(flow.get("authlib") or {})
    try:
        claims = await oidc.finish(_client(request), request, config)
        profile = oidc.profile_from_claims(claims, config)
    except oidc.OidcError as error:
        return _error_page(request, error, flow)
    return await run_in_threadpool(_signed_in, request, session, flow, config, profile)


def _signed_in(request: Request, session: Session, flow: dict, config: oidc.OidcConfig, profile: oidc.Profile):
    current = request.state.user
    if flow.get("link") and current is not None:
        return _link_current(request, session, flow, config, profile, current)
    try:
        result = oidc.sign_in(session, issuer=config.issuer, profile=profile)
    except oidc.OidcError as error:
        return _error_page(request, error, flow)
    except identities.EmailBelongsToAccount as taken:
        # The released address is a password account's: link only after its password is given too.
        pending = {**flow, "authlib": {}, "pending": _pending(profile, stored_id(taken.user))}
        response = _link_page(request, taken.user, flow)
        _write_flow(request, response, pending)
        return response
    user = result.user
    if not user.is_active:
        return _error_page(
            request, oidc.OidcError("not-allowed", "the linked account is deactivated"), flow, status_code=403
        )
    return _finish_sign_in(request, session, user, flow, logged_in)


def _finish_sign_in(request: Request, session: Session, user: User, flow: dict, logged_in):
    code = flow.get("join_code") or ""
    target = flow.get("next") or "/"
    joined = None
    if code and user.role == Role.STUDENT:
        joined = _join(request, session, user, code)
        if joined is True:
            target = "/?notice=joined"
    response = logged_in(request, session, user, target)
    if joined is not None and joined is not True:
        # A wrong class code (or too many): the join page with the code and the reason, logged in.
        response = _join_page_after_login(request, session, user, code, joined, response)
    _clear_flow(request, response)
    response.set_cookie(
        _cookie_name(request, MARKER_COOKIE),
        "1",
        httponly=True,
        samesite="lax",
        secure=request.app.state.settings.is_production,
        path="/",
    )
    return response


def _join(request: Request, session: Session, user: User, code: str):
    """True when enrolled; otherwise the message for the join page."""
    attempt: throttle.JoinAttempt = {
        "address": client_address(request),
        "browser": browser_id(request),
        "limits": limits(request),
    }
    wait = throttle.join_wait(session, **attempt)
    if wait:
        return try_again(_("Too many wrong class codes."), wait)
    course_class = classes.class_by_join_code(session, code)
    if course_class is None:
        throttle.join_failed(session, code=code, **attempt)
        return _("This class code is not valid. Check it with your lecturer.")
    classes.enrol(session, course_class=course_class, student=user)
    return True


def _join_page_after_login(request: Request, session: Session, user: User, code: str, message: str, redirect):
    from app.services.sessions import resume_session_by_token

    token = _session_token(request, redirect)
    request.state.user = user
    request.state.user_session = resume_session_by_token(session, token=token)
    request.state.csrf_token = request.state.user_session.csrf_token  # the page's form posts as the new session
    page = render(request, "auth/join.html", {"join_code": code, "error": message}, status_code=400, private=True)
    for name, value in redirect.headers.items():
        if name.lower() == "set-cookie":
            page.headers.append("set-cookie", value)
    return page


def _session_token(request: Request, response) -> str:
    from app.auth import cookie_names

    name = cookie_names(request.app.state.settings)[0] + "="
    for name_value in response.headers.getlist("set-cookie"):
        if name_value.startswith(name):
            return name_value[len(name) :].split(";", 1)[0].strip('"')
    raise RuntimeError("no session cookie was set")


# -- linking an existing password account ------------------------------------------------------------


def _pending(profile: oidc.Profile, user_id: int) -> dict:
    return {
        "subject": profile.subject,
        "name": profile.display_name,
        "email": profile.email,
        "staff": profile.staff,
        "user_id": user_id,
    }


def _link_page(request: Request, user: User, flow: dict, *, error: str | None = None, status_code: int = 200):
    return render(
        request,
        "auth/oidc_link.html",
        {
            "email": user.email,
            "provider": _config(request).name,
            "error": error,
            "join_code": flow.get("join_code", ""),
        },
        status_code=status_code,
        private=True,
    )


@router.post("/auth/oidc/link")
@in_thread_pool  # argon2 hashing: tens of milliseconds of CPU
def oidc_link(request: Request, session: WriteSession, password: Annotated[str, Form(max_length=256)] = ""):
    """Prove the password account is yours as well: the institution identity is linked to it, once."""

    config = _config(request)
    flow = _read_flow(request)
    pending = flow.get("pending") if isinstance(flow.get("pending"), dict) else None
    if not config.enabled or pending is None:
        return _error_page(request, oidc.OidcError("flow-expired", "no pending link in this browser"), flow)
    user = session.get(User, pending.get("user_id"))
    if user is None:
        return _error_page(request, oidc.OidcError("flow-expired", "the account to link is gone"), flow)
    device = current_device(request)
    attempt = {
        "email": user.email,
        "address": client_address(request),
        "device": device,
        "user_id": user.id if device is not None and device.accounts else None,
        "limits": limits(request),
    }
    wait = throttle.login_wait(session, **attempt)
    if wait:
        response = _link_page(
            request, user, flow, error=try_again(_("Too many failed attempts."), wait), status_code=429
        )
        response.headers["Retry-After"] = str(wait)
        return response
    if accounts.authenticate(session, email=user.email, password=password) is None:
        throttle.login_failed(session, **attempt)
        return _link_page(
            request,
            user,
            flow,
            error=_(
                'That password is not this account\'s. Try again, or use "Forgot your password?" on the login page.'
            ),
            status_code=400,
        )
    throttle.login_succeeded(session, email=user.email, device=device, user_id=stored_id(user))
    try:
        identities.link_identity(
            session,
            user=user,
            issuer=config.issuer,
            subject=pending["subject"],
            lecturer_eligible=bool(pending.get("staff")),
            display_name=pending.get("name") or "",
            email=pending.get("email"),
        )
    except identities.IdentityError as error:
        return _identity_error_page(request, error, flow)
    return _finish_sign_in(request, session, user, flow, logged_in)


def _link_current(
    request: Request, session: Session, flow: dict, config: oidc.OidcConfig, profile: oidc.Profile, user: User
):
    """Logged in with the password and signed in at the institution in the same browser: link them."""
    try:
        identities.link_identity(
            session,
            user=referenced(session, User, user.id),
            issuer=config.issuer,
            subject=profile.subject,
            lecturer_eligible=profile.staff,
            display_name=profile.display_name,
            email=profile.email,
        )
    except identities.IdentityError as error:
        return _identity_error_page(request, error, flow)
    response = RedirectResponse("/account?notice=identity-linked", status_code=303)
    _clear_flow(request, response)
    return response


def _identity_error_page(request: Request, error: identities.IdentityError, flow: dict):
    oidc.log.warning("institution identity not linked: %s (issuer %s)", error.code, _config(request).issuer)
    response = render(
        request,
        "auth/oidc_error.html",
        {
            "kind": error.code,
            "claim": "",
            "provider": _config(request).name,
            "retry_url": "/auth/oidc/login",
            "join_code": flow.get("join_code", ""),
            "password_login": request.app.state.settings.password_login,
        },
        status_code=409,
        private=True,
    )
    _clear_flow(request, response)
    return response


# -- logout at the provider ---------------------------------------------------------------------------


@router.get("/auth/oidc/logout")
async def oidc_logout(request: Request):
    """After Nabij's own logout: also sign out at the institution (RP-initiated logout), when it offers that."""
    config = _config(request)
    client = _client(request) if config.enabled else None
    target = "/login?notice=logged-out"
    try:
        metadata = await oidc.load_metadata(client, config) if client is not None else {}
    except oidc.OidcError as error:
        oidc.log_failure(error, issuer=config.issuer)
        metadata = {}
    endpoint = metadata.get("end_session_endpoint")
    if endpoint:
        base = request.app.state.settings.base_url.rstrip("/")
        params = {"client_id": config.client_id, "post_logout_redirect_uri": f"{base}/login?notice=logged-out"}
        target = endpoint + ("&" if "?" in endpoint else "?") + urlencode(params)
    response = RedirectResponse(target, status_code=303)
    response.delete_cookie(
        _cookie_name(request, MARKER_COOKIE),
        path="/",
        httponly=True,
        samesite="lax",
        secure=request.app.state.settings.is_production,
    )
    return response


# -- admin: link an identity to an existing account (pairwise or changed subjects) -------------------


@router.get("/admin/users/{user_id}/identities")
def admin_identities(request: Request, session: ReadSession, admin: AdminUser, user_id: DbId):
    return _admin_page(request, session, user_id)


def _admin_page(
    request: Request,
    session: Session,
    user_id: int,
    *,
    error: str | None = None,
    subject: str = "",
    status_code: int = 200,
    notice: str | None = None,
):
    from fastapi import HTTPException

    user = session.get(User, user_id)
    if user is None:
        raise HTTPException(404)
    return render(
        request,
        "auth/oidc_admin_identities.html",
        {
            "user": user,
            "identities": identities.identities_of(session, user_id=stored_id(user)),
            "error": error,
            "subject": subject,
            "issuer": _config(request).issuer,
            "notice": notice,
            "eligible": identities.is_lecturer_eligible(session, user_id=stored_id(user)),
        },
        status_code=status_code,
        private=True,
    )


@router.post("/admin/users/{user_id}/identities")
def admin_link_identity(
    request: Request,
    session: WriteSession,
    admin: AdminUser,
    user_id: DbId,
    subject: Annotated[str, Form(max_length=255)] = "",
    issuer: Annotated[str, Form(max_length=255)] = "",
):
    user = session.get(User, user_id)
    issuer = issuer.strip() or _config(request).issuer
    subject = subject.strip()
    if user is None:
        from fastapi import HTTPException

        raise HTTPException(404)
    if not subject or not issuer:
        return _admin_page(
            request,
            session,
            user_id,
            subject=subject,
            status_code=400,
            error=_("Fill in the identifier the institution uses for this person."),
        )
    try:
        identities.link_identity(session, user=user, issuer=issuer, subject=subject, move=True)
    except identities.IdentityError:
        return _admin_page(
            request,
            session,
            user_id,
            subject=subject,
            status_code=400,
            error=_("This identifier cannot be linked: use 1 to 255 characters."),
        )
    return RedirectResponse(f"/admin/users/{user_id}/identities?notice=linked", status_code=303)


@router.post("/admin/users/{user_id}/identities/{identity_id}/unlink")
def admin_unlink_identity(request: Request, session: WriteSession, admin: AdminUser, user_id: DbId, identity_id: DbId):
    from fastapi import HTTPException

    identity = session.get(ExternalIdentity, identity_id)
    if identity is None or identity.user_id != user_id:
        raise HTTPException(404)
    identities.unlink_identity(session, identity_id=identity_id)
    return RedirectResponse(f"/admin/users/{user_id}/identities", status_code=303)
