"""Friendly error pages (and fragments for htmx) instead of bare JSON."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.i18n import gettext as _
from fastapi.responses import RedirectResponse

from app.auth import DraftLoginRequired, LoginRequired, login_url
from app.templating import is_htmx, render

log = logging.getLogger("nabij.errors")


def error_titles() -> dict[int, str]:
    return {
        400: _("The request could not be understood"),
        403: _("This action is not allowed"),
        404: _("Page not found"),
        401: _("Your session has ended"),
        405: _("This action is not allowed"),
        413: _("What you sent is too large"),
        422: _("Some input was not valid"),
        429: _("Too many attempts"),
        500: _("Something went wrong on our side"),
        503: _("Nabij is temporarily unavailable"),
    }


def error_page(request: Request, status: int, detail: str | None = None, headers: dict | None = None):
    title = error_titles().get(status, _("Something went wrong"))
    response = render(request, "errors/error.html", {"status": status, "title": title, "detail": detail},
                      fragment="errors/_error.html", status_code=status)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        detail = exc.detail if isinstance(exc.detail, str) and exc.status_code not in (404, 405) else None
        return error_page(request, exc.status_code, detail, getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError):
        return error_page(request, 422, _("Check the form and try again."))

    def session_ended(request: Request):
        # An htmx request (an autosave, say) must not navigate away: the page keeps the text.
        response = error_page(request, 401, _("Your session has ended. Log in again; your text is kept."))
        response.headers["HX-Reswap"] = "none"
        return response

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, exc: LoginRequired):
        if is_htmx(request):
            return session_ended(request)
        return RedirectResponse(login_url(request), status_code=303)

    @app.exception_handler(DraftLoginRequired)
    async def draft_login_required(request: Request, exc: DraftLoginRequired):
        if is_htmx(request):
            return session_ended(request)  # the page keeps the text and saves it once they are back
        module = request.app.state.catalogue.get(exc.slug)
        section = module.section_of(exc.prompt_id) if module else None
        target = f"/modules/{exc.slug}/{section.id}#prompt-{exc.prompt_id}" if section else "/"
        pending = {"slug": exc.slug, "prompt_id": exc.prompt_id, "text": exc.text, "version": exc.version}
        return render(request, "auth/login.html", {"next": target, "email": "", "pending": pending,
                                                   "notice": _("Your session had ended. Log in again: "
                                                               "your text below is then saved as a draft.")},
                      status_code=401, private=True)

    @app.exception_handler(Exception)
    async def server_error(request: Request, exc: Exception):
        # The route template, never the path: paths can hold tokens (password reset links).
        route = getattr(request.scope.get("route"), "path_format", "<unmatched>")
        log.exception("unhandled error on %s %s", request.method, route)
        return error_page(request, 500)
