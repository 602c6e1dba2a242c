"""What every pure-ASGI layer of Nabij starts with, written once.

A layer only looks at HTTP requests (lifespan and other scopes pass through untouched), and several of them
read the request's cookies: they are parsed once per request and shared (`request_cookies`), not again in
each layer.
"""

from __future__ import annotations

from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Receive, Scope, Send

_COOKIES = "nabij_cookies"  # in scope["state"], where Starlette keeps request.state


def request_cookies(scope: Scope) -> dict[str, str]:
    state = scope.setdefault("state", {})
    cookies = state.get(_COOKIES)
    if cookies is None:
        header = next((value for name, value in scope["headers"] if name == b"cookie"), b"")
        cookies = state[_COOKIES] = cookie_parser(header.decode("latin-1"))
    return cookies


class HttpMiddleware:
    """Subclasses implement `handle`, for HTTP requests only."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self.handle(scope, receive, send)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        raise NotImplementedError
