"""A user's own account: password, sessions, language."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from app.auth import CurrentSession, CurrentUser, safe_next, set_session_cookie
from app.db import ReadSession, WriteSession, in_thread_pool
from app.i18n import LOCALES
from app.i18n import gettext as _
from app.locale_middleware import LANGUAGE_COOKIE
from app.models import stored_id
from app.routing import Router
from app.services import access_log, accounts, erasure, export, passwords
from app.services.sessions import count_sessions, end_all_sessions, end_session_by_id, start_session
from app.templating import notice_text, render

router = Router(tags=["account"])

NOTICES = {
    "password-changed": lambda: _("Your password was changed."),
    "sessions-ended": lambda: _("You were logged out everywhere else."),
    "erasure-cancelled": lambda: _("Your account will not be erased."),
    "class-left": lambda: _("You left the class."),
    "erasure-requested": lambda: _("Your account will be erased in 14 days. Until then you can cancel here."),
}


def _account_page(request: Request, session, user, *, status_code: int = 200, **extra):
    external = erasure.signs_in_externally(session, user_id=stored_id(user))
    context = {
        "user": user,
        "signs_in_externally": external,
        "freshly_signed_in": external and erasure.signed_in_recently(request.state.user_session),
        "other_sessions": count_sessions(session, user_id=user.id) - 1,
        "my_classes": erasure.enrolled_classes(session, user_id=user.id),
        # Who read this student's answers (issue 13): shown to them alone.
        "access_entries": access_log.for_student(session, user=user, catalogue=request.app.state.catalogue),
        "errors": {},
        "notice": notice_text(NOTICES, request.query_params.get("notice")),
    }
    context.update(extra)
    return render(request, "account/index.html", context, status_code=status_code, private=True)


@router.get("/account")
def read_account(request: Request, session: ReadSession, user: CurrentUser):
    return _account_page(request, session, user)


@router.post("/account/password")
@in_thread_pool  # argon2 hashing: tens of milliseconds of CPU
def change_password(
    request: Request,
    session: WriteSession,
    user: CurrentUser,
    current: CurrentSession,
    current_password: Annotated[str, Form()] = "",
    new_password: Annotated[str, Form()] = "",
    end_others: Annotated[str, Form()] = "",
):
    if not passwords.verify_password(user.password_hash, current_password):
        return _account_page(
            request,
            session,
            user,
            status_code=400,
            errors={"current_password": _("This is not your current password.")},
            end_others=bool(end_others),
        )
    try:
        accounts.set_password(session, user=user, password=new_password)
    except accounts.AccountError as error:
        return _account_page(
            request, session, user, status_code=400, errors={"new_password": error.message}, end_others=bool(end_others)
        )
    # The old session ends with the old password (ASVS 7.4.3); the user continues in a fresh one.
    if end_others:
        end_all_sessions(session, user_id=stored_id(user))
    else:
        end_session_by_id(session, session_id=stored_id(current))
    token = start_session(session, user=user, user_agent=request.headers.get("user-agent", ""))
    response = RedirectResponse("/account?notice=password-changed", status_code=303)
    set_session_cookie(response, request.app.state.settings, token)
    return response


@router.post("/account/sessions/end-others")
def end_other_sessions(session: WriteSession, user: CurrentUser, current: CurrentSession):
    end_all_sessions(session, user_id=stored_id(user), except_id=current.id)
    return RedirectResponse("/account?notice=sessions-ended", status_code=303)


@router.post("/language")
def choose_language(
    request: Request, session: WriteSession, lang: Annotated[str, Form()] = "nl", next: Annotated[str, Form()] = "/"
):
    if lang not in LOCALES:
        lang = "nl"
    user = request.state.user
    if user is not None:
        user.locale = lang
        session.add(user)
        session.commit()
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(
        LANGUAGE_COOKIE, lang, max_age=365 * 86400, samesite="lax", secure=request.app.state.settings.is_production
    )
    return response


@router.get("/account/my-data.json")
def export_json(request: Request, session: ReadSession, user: CurrentUser):
    data = export.student_data(
        session, user=user, catalogue=request.app.state.catalogue, secret=request.app.state.secret
    )
    return Response(
        json.dumps(data, ensure_ascii=False, indent=2),
        media_type="application/json",
        headers={"Content-Disposition": 'attachment; filename="nabij-mijn-gegevens.json"', "Cache-Control": "no-store"},
    )


@router.get("/account/my-data.zip")
def export_zip(request: Request, session: ReadSession, user: CurrentUser):
    data = export.student_data(
        session, user=user, catalogue=request.app.state.catalogue, secret=request.app.state.secret
    )
    return Response(
        export.zip_bytes(data),
        media_type="application/zip",
        headers={"Content-Disposition": 'attachment; filename="nabij-mijn-gegevens.zip"', "Cache-Control": "no-store"},
    )


@router.post("/account/erase")
@in_thread_pool  # argon2 hashing: tens of milliseconds of CPU
def request_erasure(
    request: Request,
    session: WriteSession,
    user: CurrentUser,
    current: CurrentSession,
    password: Annotated[str, Form()] = "",
    confirm: Annotated[str, Form()] = "",
):
    """Erase my account: the password again, or for an institution/LMS account a sign-in of the last
    minutes (re-authentication), then 14 days to change one's mind."""
    fresh_external = erasure.signs_in_externally(session, user_id=stored_id(user)) and erasure.signed_in_recently(
        current
    )
    if fresh_external and not password:
        if not confirm:
            return _account_page(
                request, session, user, status_code=400, errors={"erase_confirm": _("Tick the box to confirm.")}
            )
    elif not passwords.verify_password(user.password_hash, password):
        return _account_page(
            request, session, user, status_code=400, errors={"erase_password": _("This is not your current password.")}
        )
    erasure.request_erasure(session, user=user)
    return RedirectResponse("/account?notice=erasure-requested", status_code=303)


@router.post("/account/erase/cancel")
def cancel_erasure(session: WriteSession, user: CurrentUser):
    erasure.cancel_erasure(session, user=user)
    return RedirectResponse("/account?notice=erasure-cancelled", status_code=303)


@router.post("/account/classes/{class_id}/leave")
def leave_class(session: WriteSession, user: CurrentUser, class_id: int, keep_answers: Annotated[str, Form()] = ""):
    if not erasure.leave_class(session, user=user, class_id=class_id, keep_answers=bool(keep_answers)):
        raise HTTPException(status_code=404)  # not a class of this student: as if it did not exist
    return RedirectResponse("/account?notice=class-left", status_code=303)
