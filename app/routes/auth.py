"""Logging in and out, signing up with a class code, and resetting a forgotten password."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated
from urllib.parse import quote

from fastapi import BackgroundTasks, Form, Request
from fastapi.responses import RedirectResponse

from app.auth import OptionalUser, StudentUser, clear_session_cookie, cookie_names, safe_next, set_session_cookie
from app.config import Settings
from app.db import ReadSession, WriteSession, in_thread_pool
from app.devices import browser_id, client_address, current_device, limits, remember_device
from app.forms import parse_int, too_long
from app.i18n import gettext as _
from app.models import Role, stored_id
from app.routing import Router
from app.services import accounts, classes, oidc, password_reset, passwords, roster, throttle
from app.services.mail import send_mail
from app.services.sessions import end_session, start_session
from app.signing_in import logged_in, try_again
from app.templating import notice_text, render

router = Router(tags=["auth"])

NOTICES = {
    "logged-out": lambda: _("You are logged out."),
    "password-reset": lambda: _("Your password was changed. Log in with your new password."),
    "expired": lambda: _("Your session had ended. Log in again to continue where you were."),
    "invitation": lambda: _("You have an account already: log in to accept the invitation to the class."),
}


def _settings(request: Request) -> Settings:
    return request.app.state.settings


def _window(settings: Settings) -> dict:
    return {"limit": settings.throttle_max_attempts, "window": timedelta(minutes=settings.throttle_window_minutes)}


def _throttled(request: Request, template: str, context: dict, wait: int):
    response = render(request, template, context, status_code=429)
    response.headers["Retry-After"] = str(wait)
    return response


@router.get("/login")
def login_form(request: Request, user: OptionalUser, next: str = "/", notice: str = ""):
    if user is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    message = notice_text(NOTICES, notice)
    return render(request, "auth/login.html", {"next": safe_next(next), "email": "", "notice": message})


@router.post("/login")
@in_thread_pool  # argon2 hashing: tens of milliseconds of CPU
def login(
    request: Request,
    session: WriteSession,
    email: Annotated[str, Form(max_length=254)] = "",
    password: Annotated[str, Form(max_length=256)] = "",
    next: Annotated[str, Form(max_length=500)] = "/",
    pending_slug: Annotated[str, Form()] = "",
    pending_prompt: Annotated[str, Form()] = "",
    pending_version: Annotated[str, Form()] = "0",
    pending_text: Annotated[str | None, Form()] = None,
    pending_owner: Annotated[str, Form(max_length=80)] = "",
    remember: Annotated[str, Form()] = "",
):
    email = accounts.normalise_email(email)
    device = current_device(request)
    known = accounts.find_by_email(session, email) if device is not None and device.accounts else None
    attempt = {
        "email": email,
        "address": client_address(request),
        "device": device,
        "user_id": known.id if known else None,
        "limits": limits(request),
    }
    pending = None
    if pending_text is not None and pending_slug and pending_prompt:
        pending = {
            "slug": pending_slug,
            "prompt_id": pending_prompt,
            "version": pending_version,
            "text": pending_text,
            "owner": pending_owner,
        }
    context = {"next": safe_next(next), "email": email, "pending": pending, "remember": remember == "1"}
    wait = throttle.login_wait(session, **attempt)
    if wait:
        context["error"] = try_again(_("Too many failed attempts."), wait)
        return _throttled(request, "auth/login.html", context, wait)
    user = accounts.authenticate(session, email=email, password=password)
    if user is None:
        throttle.login_failed(session, **attempt)
        context["error"] = _("That email address and password do not match an active account.")
        return render(request, "auth/login.html", context, status_code=400)
    if not _password_login_allowed(request, user):
        # NABIJ_PASSWORD_LOGIN=false: the institution's sign-in is the way in; passwords are for admins.
        context["error"] = _("At this school you sign in through %(provider)s. Use the button above.") % {
            "provider": oidc.config_from(_settings(request)).name
        }
        return render(request, "auth/login.html", context, status_code=403)
    throttle.login_succeeded(session, email=email, device=device, user_id=stored_id(user))
    if pending is not None and user.role == Role.STUDENT and _pending_is_theirs(request, user, pending):
        conflict = _save_pending_draft(request, session, user, pending, remember=remember == "1")
        if conflict is not None:
            return conflict
    # Text carried from another account's ended session is never saved here: that browser keeps its
    # copy under the other account (static/nabij.js), restored when that student logs in again.
    return logged_in(request, session, user, next, remember=remember == "1")


def _password_login_allowed(request: Request, user) -> bool:
    settings = _settings(request)
    return settings.password_login or user.role == Role.ADMIN or not oidc.config_from(settings).enabled


def _pending_is_theirs(request: Request, user, pending: dict) -> bool:
    from app.services.sessions import pending_owner_id

    owner = pending_owner_id(
        request.app.state.secret, token=pending.get("owner", ""), slug=pending["slug"], prompt_id=pending["prompt_id"]
    )
    return owner == user.id


def _save_pending_draft(request: Request, session, user, pending: dict, *, remember: bool = False):
    """Save the text that arrived after the session had ended; on a conflict, show both texts; a text
    that cannot be saved (too long) is shown again with the reason, never dropped (issue 14 item 6)."""
    from app.reader import section_page
    from app.services import reflections
    from app.services.sessions import resume_session_by_token
    from app.services.workspace import ShownAgain

    module = request.app.state.catalogue.get(pending["slug"])
    prompt = module.reflections.get(pending["prompt_id"]) if module else None
    if prompt is None:
        return None
    version = parse_int(pending["version"])
    version = -1 if version is None else version
    try:
        result = reflections.save_draft(
            session, user_id=user.id, module=module, prompt=prompt, text=pending["text"], base_version=version
        )
    except reflections.ReflectionError as error:
        status_code, shown = 422, ShownAgain.refused(prompt.id, text=pending["text"], error=str(error))
    else:
        if not result.conflict:
            return None
        status_code, shown = (
            409,
            ShownAgain.in_conflict(prompt.id, text=pending["text"], stored_text=result.stored_text),
        )
    token = start_session(session, user=user, user_agent=request.headers.get("user-agent", ""))
    # This response is already the logged-in page: its forms must carry the new session's token.
    request.state.user, request.state.user_session = user, resume_session_by_token(session, token=token)
    request.state.csrf_token = request.state.user_session.csrf_token
    response = section_page(
        request,
        session,
        user,
        module,
        module.section_of(prompt.id),
        status_code=status_code,
        shown_again=shown,
    )
    set_session_cookie(response, _settings(request), token, remember=remember)
    return response


@router.post("/logout")
def logout(request: Request, session: WriteSession):
    token = request.cookies.get(cookie_names(_settings(request))[0])
    if token:
        end_session(session, token=token)
    response = RedirectResponse("/login?notice=logged-out", status_code=303)
    clear_session_cookie(response, _settings(request))
    # Shared computers: what this browser kept for the account (unsaved drafts) goes with the session.
    response.headers["Clear-Site-Data"] = '"storage"'
    return response


SIGNUP_LIMITS = {"join_code": 20, "display_name": 120, "email": 254, "password": 256}


def _invitation_context(session, token: str) -> tuple[dict, dict]:
    """Values and errors for a signup through a roster invitation link (`/signup?invite=…`)."""
    opened = roster.open_invitation(session, token=token)
    if opened is None:
        return {"invite": ""}, {
            "invite": _(
                "This invitation link is no longer valid. Sign up with the class code "
                "from your lecturer, or ask them to invite you again."
            )
        }
    invitation, course_class = opened
    return {
        "invite": token,
        "invite_class": course_class.name,
        "display_name": invitation.display_name,
        "email": invitation.email,
    }, {}


@router.get("/signup")
def signup_form(request: Request, session: ReadSession, user: OptionalUser, code: str = "", invite: str = ""):
    if invite and user is not None:
        return _invitation_page(request, session, user, invite[:100])
    settings = _settings(request)
    if not settings.password_login and oidc.config_from(settings).enabled and not invite:
        # Accounts come from the institution: the class code goes along with its sign-in.
        return RedirectResponse(f"/auth/oidc/login?join_code={quote(code[:20])}", status_code=303)
    if code and user is not None and user.role == Role.STUDENT:
        # A join link opened by a student who already has an account: join, do not sign up again.
        return RedirectResponse(f"/join?code={quote(code[:20])}", status_code=303)
    if invite:
        opened = roster.open_invitation(session, token=invite[:100])
        if opened is not None and accounts.find_by_email(session, opened[0].email) is not None:
            # The link was mailed to this address, which has an account: log in to accept it.
            return RedirectResponse(f"/login?next=/signup%3Finvite%3D{invite[:100]}&notice=invitation", status_code=303)
    values: dict[str, str] = {"join_code": code[:20]}
    errors: dict[str, str] = {}
    if invite:
        extra, errors = _invitation_context(session, invite[:100])
        values.update(extra)
    return render(request, "auth/signup.html", {"values": values, "errors": errors}, private=bool(invite))


@router.post("/signup")
@in_thread_pool  # argon2 hashing: tens of milliseconds of CPU
def signup(
    request: Request,
    session: WriteSession,
    join_code: Annotated[str, Form()] = "",
    display_name: Annotated[str, Form()] = "",
    email: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    invite: Annotated[str, Form()] = "",
):
    values = {
        "join_code": join_code.strip(),
        "display_name": display_name.strip(),
        "email": accounts.normalise_email(email),
    }
    errors = too_long({**values, "password": password}, SIGNUP_LIMITS)
    attempt: throttle.JoinAttempt = {
        "address": client_address(request),
        "browser": browser_id(request),
        "limits": limits(request),
    }
    wait = throttle.join_wait(session, **attempt)
    if wait:
        errors["join_code"] = try_again(_("Too many wrong class codes."), wait)
        return _throttled(request, "auth/signup.html", {"values": values, "errors": errors}, wait)
    invitation = None
    if invite:
        # A roster invitation stands in for the class code.
        opened = roster.open_invitation(session, token=invite[:100])
        if opened is None:
            throttle.join_failed(session, code=invite[:100], **attempt)
            extra, invite_errors = _invitation_context(session, invite[:100])
            values.update(extra)
            errors.update(invite_errors)
            course_class = None
        else:
            invitation, course_class = opened
            values.update(invite=invite, invite_class=course_class.name)
    else:
        course_class = classes.class_by_join_code(session, values["join_code"]) if values["join_code"] else None
        if not values["join_code"]:
            errors["join_code"] = _("Fill in the class code you got from your lecturer.")
        elif course_class is None:
            throttle.join_failed(session, code=values["join_code"], **attempt)
            errors.setdefault("join_code", _("This class code is not valid. Check it with your lecturer."))
    if not values["display_name"]:
        errors["display_name"] = _("Fill in your name.")
    if not accounts.looks_like_email(values["email"]):
        errors.setdefault("email", _("Fill in a valid email address, like name@school.be."))
    if not errors:
        problem = passwords.password_problem(password, email=values["email"], name=values["display_name"])
        if problem:
            errors["password"] = problem
    if errors:
        # A password that passed its own check is kept, so fixing the name does not mean typing it again
        # (the page is never cached).
        kept = {**values, "password": "" if "password" in errors else password}
        return render(request, "auth/signup.html", {"values": kept, "errors": errors}, status_code=400, private=True)
    # Both ways to a class (invitation, class code) set an error when they find none.
    assert course_class is not None, "no class, yet no error"
    settings = _settings(request)
    existing = accounts.find_by_email(session, values["email"])
    if existing is not None:
        # The same page as for a new account, and a mail to the owner instead: a sign-up form must not
        # tell who has an account (issue 14 item 7). The hash evens out the time a new account takes.
        passwords.hash_password(password)
        _mail_existing_owner(settings, existing)
        return _check_your_mail(request, values["email"])
    # An invitation link was mailed to its address: signing up through it with that address proves it.
    proven = invitation is not None and invitation.email == values["email"]
    user = accounts.create_user(
        session,
        email=values["email"],
        display_name=values["display_name"],
        role=Role.STUDENT,
        password=password,
        verified=proven,
    )
    if invitation is not None:
        roster.accept_invitation(session, invitation=invitation, course_class=course_class, student=user)
    else:
        classes.enrol(session, course_class=course_class, student=user)
    if proven:
        return logged_in(request, session, user, "/")
    _mail_confirmation(request, settings, user)
    return _check_your_mail(request, values["email"])


def _check_your_mail(request: Request, email: str):
    return render(request, "auth/check_mail.html", {"email": email}, private=True)


def _mail_confirmation(request: Request, settings: Settings, user) -> None:
    token = accounts.confirmation_token(request.app.state.secret, user=user)
    link = f"{settings.base_url.rstrip('/')}/signup/confirm/{token}"
    body = _(
        "Hello %(name)s,\n\nWelcome to Nabij. Open this link to confirm that this address is yours; "
        "you are then logged in:\n\n%(link)s\n\nThe link works for %(days)s days. Until you confirm, "
        "your answers are kept but not yet shown to your lecturers.\n\n"
        "If you did not sign up, you can ignore this message."
    ) % {"name": user.display_name, "link": link, "days": accounts.CONFIRM_VALID_DAYS}
    _send(settings, to=user.email, subject=_("Confirm your Nabij account"), body=body)


def _mail_existing_owner(settings: Settings, user) -> None:
    base = settings.base_url.rstrip("/")
    body = _(
        "Hello %(name)s,\n\nSomeone (probably you) tried to create a Nabij account with this address, "
        "but you already have one. Log in here:\n\n%(login)s\n\nForgot your password? Choose a new "
        'one here:\n\n%(forgot)s\n\nTo join a class, log in and use "Join a class" with the class '
        "code. If it was not you, you can ignore this message: nothing was changed."
    ) % {"name": user.display_name, "login": f"{base}/login", "forgot": f"{base}/password/forgot"}
    _send(settings, to=user.email, subject=_("You already have a Nabij account"), body=body)


def _send(settings: Settings, *, to: str, subject: str, body: str) -> None:
    import smtplib

    try:
        send_mail(settings, to=to, subject=subject, body=body)
    except (OSError, smtplib.SMTPException):
        import logging

        logging.getLogger("nabij.auth").warning("a sign-up mail could not be sent")


@router.post("/signup/confirm/resend")
def resend_confirmation(request: Request, session: WriteSession, user: StudentUser):
    if user.email_verified_at is None:
        _mail_confirmation(request, _settings(request), user)
    return RedirectResponse("/?notice=confirmation-sent", status_code=303)


@router.get("/signup/confirm/{token}")
def confirm_form(request: Request, session: ReadSession, token: str):
    """A page with a button, not a confirmation on GET: mail scanners open links too."""
    user = accounts.user_for_confirmation(session, secret=request.app.state.secret, token=token[:100])
    return render(
        request,
        "auth/confirm.html",
        {"token": token[:100], "invalid": user is None},
        private=True,
        status_code=200 if user is not None else 400,
    )


@router.post("/signup/confirm/{token}")
def confirm_submit(request: Request, session: WriteSession, token: str):
    user = accounts.user_for_confirmation(session, secret=request.app.state.secret, token=token[:100])
    if user is None:
        return render(
            request, "auth/confirm.html", {"token": token[:100], "invalid": True}, private=True, status_code=400
        )
    accounts.confirm_email(session, user=user)
    return logged_in(request, session, user, "/")


def _invitation_page(request: Request, session, user, token: str, *, status_code: int = 200):
    opened = roster.open_invitation(session, token=token)
    context: dict[str, object] = {"token": token, "invitation": None, "course_class": None, "wrong_account": False}
    if opened is not None:
        invitation, course_class = opened
        context.update(
            invitation=invitation,
            course_class=course_class,
            wrong_account=invitation.email != user.email or user.role != Role.STUDENT,
        )
    return render(request, "auth/invitation.html", context, status_code=status_code, private=True)


@router.post("/invitations/accept")
def accept_invitation(
    request: Request, session: WriteSession, user: StudentUser, invite: Annotated[str, Form(max_length=100)] = ""
):
    """A logged-in student accepts an invitation that was mailed to their own address."""
    opened = roster.open_invitation(session, token=invite)
    if opened is None or opened[0].email != user.email:
        return _invitation_page(request, session, user, invite, status_code=400)
    invitation, course_class = opened
    roster.accept_invitation(session, invitation=invitation, course_class=course_class, student=user)
    accounts.confirm_email(session, user=user)  # the link reached this address
    return RedirectResponse("/?notice=joined", status_code=303)


@router.get("/join")
def join_form(request: Request, user: StudentUser, code: str = ""):
    return render(request, "auth/join.html", {"join_code": code[:20], "error": None}, private=True)


@router.post("/join")
def join_class(
    request: Request, session: WriteSession, user: StudentUser, join_code: Annotated[str, Form(max_length=20)] = ""
):
    """ "Join a class" for a student who already has an account: the class code, as at sign-up."""
    attempt: throttle.JoinAttempt = {
        "address": client_address(request),
        "browser": browser_id(request),
        "limits": limits(request),
    }
    wait = throttle.join_wait(session, **attempt)
    if wait:
        context = {"join_code": join_code, "error": try_again(_("Too many wrong class codes."), wait)}
        return _throttled(request, "auth/join.html", context, wait)
    if not join_code.strip():
        return render(
            request,
            "auth/join.html",
            {"join_code": "", "error": _("Fill in the class code you got from your lecturer.")},
            status_code=400,
            private=True,
        )
    course_class = classes.class_by_join_code(session, join_code)
    if course_class is None:
        throttle.join_failed(session, code=join_code, **attempt)
        return render(
            request,
            "auth/join.html",
            {"join_code": join_code, "error": _("This class code is not valid. Check it with your lecturer.")},
            status_code=400,
            private=True,
        )
    classes.enrol(session, course_class=course_class, student=user)
    return RedirectResponse("/?notice=joined", status_code=303)


@router.get("/password/forgot")
def forgot_form(request: Request):
    return render(request, "auth/forgot.html", {"email": "", "sent": False})


@router.post("/password/forgot")
def forgot_submit(
    request: Request,
    session: WriteSession,
    background: BackgroundTasks,
    email: Annotated[str, Form(max_length=254)] = "",
):
    settings = _settings(request)
    email = accounts.normalise_email(email)
    rules = limits(request)
    checks = [
        (f"reset:address:{client_address(request)}", rules.per_address),
        (f"reset:account:{email}", rules.per_account),
    ]
    wait = throttle.longest_wait(session, checks)
    if wait:
        error = try_again(_("Too many requests."), wait)
        return _throttled(request, "auth/forgot.html", {"email": email, "error": error}, wait)
    throttle.record(session, [key for key, _rule in checks])
    # The same work whether or not the account exists (app/services/password_reset.py): no answer, and
    # no difference in time, tells anyone who has an account.
    password_reset.queue_reset_mail(settings, email, background=background, engine=request.app.state.write_engine)
    return render(request, "auth/forgot.html", {"sent": True, "minutes": settings.password_reset_minutes})


@router.get("/password/reset/{token}")
def reset_form(request: Request, session: ReadSession, token: str):
    valid = accounts.redeem_password_reset(session, token=token) is not None
    return render(request, "auth/reset.html", {"token": token, "invalid": not valid}, private=True)


@router.post("/password/reset/{token}")
@in_thread_pool  # argon2 hashing: tens of milliseconds of CPU
def reset_submit(
    request: Request, session: WriteSession, token: str, password: Annotated[str, Form(max_length=256)] = ""
):
    from app.services.sessions import end_all_sessions

    redeemed = accounts.redeem_password_reset(session, token=token)
    if redeemed is None:
        return render(request, "auth/reset.html", {"token": token, "invalid": True}, status_code=400, private=True)
    reset, user = redeemed
    try:
        accounts.finish_password_reset(session, reset=reset, user=user, password=password)
    except accounts.AccountError as error:
        return render(
            request, "auth/reset.html", {"token": token, "error": error.message}, status_code=400, private=True
        )
    end_all_sessions(session, user_id=stored_id(user))
    throttle.password_was_reset(session, email=user.email)
    response = RedirectResponse("/login?notice=password-reset", status_code=303)
    remember_device(request, response, stored_id(user))  # this browser proved the mailbox: it may log in
    return response
