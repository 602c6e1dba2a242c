"""What every way of signing in ends with (the password form, the institution's provider, a class code):
the new session's cookie and the redirect, and the message when too many attempts must wait."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import RedirectResponse

from app.auth import safe_next, set_session_cookie
from app.devices import remember_device
from app.i18n import ngettext
from app.locale_middleware import LANGUAGE_COOKIE
from app.services.sessions import start_session


def try_again(reason: str, seconds: int) -> str:
    minutes = max(1, (seconds + 59) // 60)
    return (
        reason
        + " "
        + ngettext("Try again in %(num)s minute.", "Try again in %(num)s minutes.", minutes) % {"num": minutes}
    )


def logged_in(request: Request, session, user, target: str, *, remember: bool = False) -> RedirectResponse:
    token = start_session(session, user=user, user_agent=request.headers.get("user-agent", ""))
    response = RedirectResponse(safe_next(target), status_code=303)
    set_session_cookie(response, request.app.state.settings, token, remember=remember)
    remember_device(request, response, user.id)  # a known device from now on (app/services/throttle.py)
    if user.locale:
        response.set_cookie(
            LANGUAGE_COOKIE,
            user.locale,
            max_age=365 * 86400,
            samesite="lax",
            secure=request.app.state.settings.is_production,
        )
    return response
