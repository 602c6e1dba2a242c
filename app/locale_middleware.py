"""Pick the UI language per request: the `lang` cookie, else Accept-Language."""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from app import i18n
from app.asgi import HttpMiddleware, request_cookies

LANGUAGE_COOKIE = "nabij_lang"


class LocaleMiddleware(HttpMiddleware):
    def __init__(self, app: ASGIApp, *, default: str = i18n.DEFAULT_LOCALE) -> None:
        super().__init__(app)
        self.default = default

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        chosen = request_cookies(scope).get(LANGUAGE_COOKIE)
        if chosen not in i18n.LOCALES:
            header = Headers(scope=scope).get("accept-language")
            chosen = i18n.negotiate(header) if header else self.default
        token = i18n.current_locale.set(chosen)
        try:
            await self.app(scope, receive, send)
        finally:
            i18n.current_locale.reset(token)
