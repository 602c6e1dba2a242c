"""Logging in and out, signing up with a class code, and resetting a forgotten password."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse

from app.auth import OptionalUser, clear_session_cookie, cookie_names, safe_next, set_session_cookie
from app.config import Settings
from app.db import SessionDep
from app.forms import too_long
from app.i18n import gettext as _
from app.i18n import ngettext
from app.locale_middleware import LANGUAGE_COOKIE
from app.models import Role
from app.services import accounts, classes, roster, throttle
from app.services.mail import send_mail
from app.services.sessions import end_session, start_session
from app.templating import notice_text, render

router = APIRouter(tags=["auth"])

NOTICES = {
    "logged-out": lambda: _("You are logged out."),
    "password-reset": lambda: _("Your password was changed. Log in with your new password."),
    "expired": lambda: _("Your session had ended. Log in again to continue where you were."),
}


def _settings(request: Request) -> Settings:
    return request.app.state.settings


def _window(settings: Settings) -> dict:
    return {"limit": settings.throttle_max_attempts, "window": timedelta(minutes=settings.throttle_window_minutes)}


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _try_again(reason: str, seconds: int) -> str:
    minutes = max(1, (seconds + 59) // 60)
    return reason + " " + ngettext("Try again in %(num)s minute.", "Try again in %(num)s minutes.", minutes) % {"num": minutes}


def _throttled(request: Request, template: str, context: dict, wait: int):
    response = render(request, template, context, status_code=429)
    response.headers["Retry-After"] = str(wait)
    return response


def _logged_in(request: Request, session, user, target: str) -> RedirectResponse:
    token = start_session(session, user=user, user_agent=request.headers.get("user-agent", ""))
    response = RedirectResponse(safe_next(target), status_code=303)
    set_session_cookie(response, _settings(request), token)
    if user.locale:
        response.set_cookie(LANGUAGE_COOKIE, user.locale, max_age=365 * 86400, samesite="lax",
                            secure=_settings(request).is_production)
    return response


@router.get("/login")
def login_form(request: Request, user: OptionalUser, next: str = "/", notice: str = ""):
    if user is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    message = notice_text(NOTICES, notice)
    return render(request, "auth/login.html", {"next": safe_next(next), "email": "", "notice": message})


@router.post("/login")
def login(request: Request, session: SessionDep, email: Annotated[str, Form(max_length=254)] = "",
          password: Annotated[str, Form(max_length=256)] = "", next: Annotated[str, Form(max_length=500)] = "/",
          pending_slug: Annotated[str, Form()] = "", pending_prompt: Annotated[str, Form()] = "",
          pending_version: Annotated[str, Form()] = "0", pending_text: Annotated[str | None, Form()] = None):
    settings = _settings(request)
    email = accounts.normalise_email(email)
    keys = [f"login:account:{email}", f"login:address:{_client(request)}"]
    pending = None
    if pending_text is not None and pending_slug and pending_prompt:
        pending = {"slug": pending_slug, "prompt_id": pending_prompt, "version": pending_version, "text": pending_text}
    context = {"next": safe_next(next), "email": email, "pending": pending}
    wait = throttle.retry_after(session, keys, **_window(settings))
    if wait:
        context["error"] = _try_again(_("Too many failed attempts."), wait)
        return _throttled(request, "auth/login.html", context, wait)
    user = accounts.authenticate(session, email=email, password=password)
    if user is None:
        throttle.record(session, keys)
        context["error"] = _("That email address and password do not match an active account.")
        return render(request, "auth/login.html", context, status_code=400)
    throttle.clear(session, keys[0])
    if pending is not None and user.role == Role.STUDENT:
        conflict = _save_pending_draft(request, session, user, pending)
        if conflict is not None:
            return conflict
    return _logged_in(request, session, user, next)


def _save_pending_draft(request: Request, session, user, pending: dict):
    """Save the text that arrived after the session had ended; on a conflict, show both texts."""
    from app.routes.modules import section_page
    from app.services import reflections
    from app.services.sessions import resume_session_by_token

    module = request.app.state.catalogue.get(pending["slug"])
    prompt = module.reflections.get(pending["prompt_id"]) if module else None
    if prompt is None:
        return None
    version = int(pending["version"]) if pending["version"].isdigit() else -1
    try:
        result = reflections.save_draft(session, user_id=user.id, module=module, prompt=prompt,
                                        text=pending["text"], base_version=version)
    except reflections.ReflectionError:
        return None
    if not result.conflict:
        return None
    token = start_session(session, user=user, user_agent=request.headers.get("user-agent", ""))
    # This response is already the logged-in page: its forms must carry the new session's token.
    request.state.user, request.state.user_session = user, resume_session_by_token(session, token=token)
    request.state.csrf_token = request.state.user_session.csrf_token
    response = section_page(request, session, user, module, module.section_of(prompt.id), status_code=409,
                            adjust={prompt.id: {"text_override": pending["text"],
                                                "conflict_text": result.stored_text}})
    set_session_cookie(response, _settings(request), token)
    return response


@router.post("/logout")
def logout(request: Request, session: SessionDep):
    token = request.cookies.get(cookie_names(_settings(request))[0])
    if token:
        end_session(session, token=token)
    response = RedirectResponse("/login?notice=logged-out", status_code=303)
    clear_session_cookie(response, _settings(request))
    return response


SIGNUP_LIMITS = {"join_code": 20, "display_name": 120, "email": 254, "password": 256}


def _invitation_context(session, token: str) -> tuple[dict, dict]:
    """Values and errors for a signup through a roster invitation link (`/signup?invite=…`)."""
    opened = roster.open_invitation(session, token=token)
    if opened is None:
        return {"invite": ""}, {"invite": _("This invitation link is no longer valid. Sign up with the class code "
                                            "from your lecturer, or ask them to invite you again.")}
    invitation, course_class = opened
    return {"invite": token, "invite_class": course_class.name, "display_name": invitation.display_name,
            "email": invitation.email}, {}


@router.get("/signup")
def signup_form(request: Request, session: SessionDep, code: str = "", invite: str = ""):
    values, errors = {"join_code": code[:20]}, {}
    if invite:
        extra, errors = _invitation_context(session, invite[:100])
        values.update(extra)
    return render(request, "auth/signup.html", {"values": values, "errors": errors}, private=bool(invite))


@router.post("/signup")
def signup(request: Request, session: SessionDep, join_code: Annotated[str, Form()] = "",
           display_name: Annotated[str, Form()] = "", email: Annotated[str, Form()] = "",
           password: Annotated[str, Form()] = "", invite: Annotated[str, Form()] = ""):
    values = {"join_code": join_code.strip(), "display_name": display_name.strip(),
              "email": accounts.normalise_email(email)}
    errors = too_long({**values, "password": password}, SIGNUP_LIMITS)
    keys = [f"join:address:{_client(request)}"]
    wait = throttle.retry_after(session, keys, **_window(_settings(request)))
    if wait:
        errors["join_code"] = _try_again(_("Too many wrong class codes."), wait)
        return _throttled(request, "auth/signup.html", {"values": values, "errors": errors}, wait)
    invitation = None
    if invite:
        # A roster invitation stands in for the class code.
        opened = roster.open_invitation(session, token=invite[:100])
        if opened is None:
            throttle.record(session, keys)
            extra, invite_errors = _invitation_context(session, invite[:100])
            values.update(extra)
            errors.update(invite_errors)
            course_class = None
        else:
            invitation, course_class = opened
            values.update(invite=invite, invite_class=course_class.name)
    else:
        course_class = classes.class_by_join_code(session, values["join_code"])
        if course_class is None:
            throttle.record(session, keys)
            errors.setdefault("join_code", _("This class code is not valid. Check it with your lecturer."))
    if not values["display_name"]:
        errors["display_name"] = _("Fill in your name.")
    if not accounts.looks_like_email(values["email"]):
        errors.setdefault("email", _("Fill in a valid email address, like name@school.be."))
    if not errors:
        try:
            user = accounts.create_user(session, email=values["email"], display_name=values["display_name"],
                                        role=Role.STUDENT, password=password)
        except accounts.AccountError as error:
            errors[error.field] = error.message
    if errors:
        return render(request, "auth/signup.html", {"values": values, "errors": errors}, status_code=400,
                      private=bool(invite))
    if invitation is not None:
        roster.accept_invitation(session, invitation=invitation, course_class=course_class, student=user)
    else:
        classes.enrol(session, course_class=course_class, student=user)
    return _logged_in(request, session, user, "/")


@router.get("/password/forgot")
def forgot_form(request: Request):
    return render(request, "auth/forgot.html", {"email": "", "sent": False})


@router.post("/password/forgot")
def forgot_submit(request: Request, session: SessionDep, email: Annotated[str, Form(max_length=254)] = ""):
    settings = _settings(request)
    email = accounts.normalise_email(email)
    keys = [f"reset:address:{_client(request)}", f"reset:account:{email}"]
    wait = throttle.retry_after(session, keys, **_window(settings))
    if wait:
        error = _try_again(_("Too many requests."), wait)
        return _throttled(request, "auth/forgot.html", {"email": email, "error": error}, wait)
    throttle.record(session, keys)
    user = accounts.find_by_email(session, email)
    if user is not None and user.is_active:
        token = accounts.start_password_reset(session, user=user,
                                              valid_for=timedelta(minutes=settings.password_reset_minutes))
        link = f"{settings.base_url.rstrip('/')}/password/reset/{token}"
        body = _("Hello %(name)s,\n\nSomeone (probably you) asked to choose a new Nabij password. "
                 "Open this link within %(minutes)s minutes:\n\n%(link)s\n\n"
                 "If you did not ask for this, you can ignore this message.") % {
            "name": user.display_name, "minutes": settings.password_reset_minutes, "link": link}
        send_mail(settings, to=user.email, subject=_("Choose a new Nabij password"), body=body)
    # The same answer whether or not the account exists: no way to find out who has one.
    return render(request, "auth/forgot.html", {"sent": True, "minutes": settings.password_reset_minutes})


@router.get("/password/reset/{token}")
def reset_form(request: Request, session: SessionDep, token: str):
    valid = accounts.redeem_password_reset(session, token=token) is not None
    return render(request, "auth/reset.html", {"token": token, "invalid": not valid}, private=True)


@router.post("/password/reset/{token}")
def reset_submit(request: Request, session: SessionDep, token: str,
                 password: Annotated[str, Form(max_length=256)] = ""):
    from app.services.sessions import end_all_sessions

    redeemed = accounts.redeem_password_reset(session, token=token)
    if redeemed is None:
        return render(request, "auth/reset.html", {"token": token, "invalid": True}, status_code=400, private=True)
    reset, user = redeemed
    try:
        accounts.finish_password_reset(session, reset=reset, user=user, password=password)
    except accounts.AccountError as error:
        return render(request, "auth/reset.html", {"token": token, "error": error.message}, status_code=400,
                      private=True)
    end_all_sessions(session, user_id=user.id)
    return RedirectResponse("/login?notice=password-reset", status_code=303)
