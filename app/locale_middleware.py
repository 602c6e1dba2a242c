"""Pick the UI language per request: the `lang` cookie, else Accept-Language."""

from __future__ import annotations

from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Receive, Scope, Send

from app import i18n

LANGUAGE_COOKIE = "nabij_lang"


class LocaleMiddleware:
    def __init__(self, app: ASGIApp, *, default: str = i18n.DEFAULT_LOCALE) -> None:
        self.app = app
        self.default = default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        connection = HTTPConnection(scope)
        chosen = connection.cookies.get(LANGUAGE_COOKIE)
        if chosen not in i18n.LOCALES:
            header = connection.headers.get("accept-language")
            chosen = i18n.negotiate(header) if header else self.default
        token = i18n.current_locale.set(chosen)
        try:
            await self.app(scope, receive, send)
        finally:
            i18n.current_locale.reset(token)
