"""Security headers on every response, as pure ASGI middleware (no per-request overhead of BaseHTTPMiddleware)."""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.asgi import HttpMiddleware, request_cookies

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()"


class SecurityHeaders(HttpMiddleware):
    """The fixed headers, and `Cache-Control: no-store` on everything answered to a logged-in visitor.

    A page for a logged-in user carries their name and CSRF token: no shared cache and no back/forward
    cache may keep it, error pages included. Only static files and responses that call themselves
    `public` (module images) keep their caching.
    """

    def __init__(self, app: ASGIApp, *, production: bool) -> None:
        super().__init__(app)
        self.session_cookie = f"{'__Host-' if production else ''}nabij_session"
        self.fixed = [
            ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
            ("X-Content-Type-Options", "nosniff"),
            ("Referrer-Policy", "same-origin"),
            ("Permissions-Policy", PERMISSIONS_POLICY),
            ("Cross-Origin-Opener-Policy", "same-origin"),
        ]
        if production:
            self.fixed.append(("Strict-Transport-Security", "max-age=31536000; includeSubDomains"))

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        has_session = self.session_cookie in request_cookies(scope) and not scope["path"].startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.fixed:
                    headers.setdefault(name, value)
                user = scope.get("state", {}).get("user")
                if (has_session or user is not None) and "public" not in headers.get("cache-control", ""):
                    headers["Cache-Control"] = "no-store"
            await send(message)

        await self.app(scope, receive, send_with_headers)
