"""The "known device" cookie of the login throttle (see app/services/throttle.py), read and written."""

from __future__ import annotations

from fastapi import Request
from starlette.responses import Response

from app.auth import cookie_names
from app.services import throttle

DEVICE_MAX_AGE = 400 * 86400  # browsers cap cookies at 400 days


def device_cookie_name(request: Request) -> str:
    return ("__Host-" if request.app.state.settings.is_production else "") + throttle.DEVICE_COOKIE


def current_device(request: Request) -> throttle.Device | None:
    return throttle.read_device(request.app.state.secret, request.cookies.get(device_cookie_name(request)))


def remember_device(request: Request, response: Response, user_id: int) -> None:
    """After a login (or a password reset) in this browser: it is a known device for the account."""
    value = throttle.device_cookie(request.app.state.secret, current_device(request), user_id)
    response.set_cookie(
        device_cookie_name(request),
        value,
        max_age=DEVICE_MAX_AGE,
        httponly=True,
        samesite="lax",
        secure=request.app.state.settings.is_production,
        path="/",
    )


def browser_id(request: Request) -> str | None:
    """Something this browser keeps between requests: its device id, else its CSRF cookie."""
    device = current_device(request)
    if device is not None:
        return device.id
    return request.cookies.get(cookie_names(request.app.state.settings)[1]) or None


def client_address(request: Request) -> str:
    """The client's address, as app/proxies.py established it from trusted proxies only."""
    return request.client.host if request.client else "unknown"


def limits(request: Request) -> throttle.Limits:
    return throttle.Limits.from_settings(request.app.state.settings)
