"""Friendly error pages (and fragments for htmx) instead of bare JSON."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.auth import DRAFT_PATH, DraftLoginRequired, LoginRequired, login_url
from app.i18n import gettext as _
from app.storage import is_storage_error
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
    response = render(
        request,
        "errors/error.html",
        {"status": status, "title": title, "detail": detail},
        fragment="errors/_error.html",
        status_code=status,
    )
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
        if any(error.get("loc", ("",))[0] == "path" for error in exc.errors()):
            return error_page(request, 404)  # /classes/abc or /classes/99999999999: no such page
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
        pending = {"slug": exc.slug, "prompt_id": exc.prompt_id, "text": exc.text, "version": exc.version, "owner": ""}
        if exc.owner_id is not None:  # bound to the account whose session ended (app.routes.auth.login)
            from app.services.sessions import pending_owner_token

            pending["owner"] = pending_owner_token(
                request.app.state.secret, user_id=exc.owner_id, slug=exc.slug, prompt_id=exc.prompt_id
            )
        return render(
            request,
            "auth/login.html",
            {
                "next": target,
                "email": "",
                "pending": pending,
                "notice": _("Your session had ended. Log in again: your text below is then saved as a draft."),
            },
            status_code=401,
            private=True,
        )

    @app.exception_handler(DBAPIError)
    async def database_error(request: Request, exc: DBAPIError):
        if not is_storage_error(exc):
            return await server_error(request, exc)
        # A full disk or a read-only database: nothing the visitor can fix by retrying now. Say so; the
        # autosave's browser copy keeps the text (static/nabij.js shows its own message on 503).
        route = getattr(request.scope.get("route"), "path_format", "<unmatched>")
        log.error("database not writable on %s %s: %s", request.method, route, str(exc.orig).splitlines()[0][:200])
        detail = (
            _(
                "The server could not store your text; it is kept in this browser. "
                "Try again later, or copy your text somewhere safe."
            )
            if DRAFT_PATH.match(request.url.path)
            else _(
                "Nabij could not store this: the server cannot write to its database right now. "
                "Try again later; if it keeps happening, tell your IT staff."
            )
        )
        request.state.user = None  # the failed transaction expired it; the page must not load it again
        response = error_page(request, 503, detail)
        response.headers["Retry-After"] = "60"
        if is_htmx(request):
            response.headers["HX-Reswap"] = "none"
        return response

    @app.exception_handler(Exception)
    async def server_error(request: Request, exc: Exception):
        # The route template, never the path: paths can hold tokens (password reset links).
        route = getattr(request.scope.get("route"), "path_format", "<unmatched>")
        log.exception("unhandled error on %s %s", request.method, route)
        return error_page(request, 500)
