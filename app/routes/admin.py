"""Administrators manage accounts: find, create, change role, deactivate."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import Form, HTTPException, Request
from fastapi.responses import RedirectResponse

from app.auth import AdminUser
from app.db import ReadSession, WriteSession, in_thread_pool
from app.deps import DbId
from app.forms import too_long
from app.i18n import gettext as _
from app.models import Role, User, stored_id
from app.routing import Router
from app.services import accounts, password_reset
from app.services.sessions import end_all_sessions
from app.templating import confirm_first, notice_text, render

router = Router(prefix="/admin", tags=["admin"])

NOTICES = {
    "created": lambda: _("The account was created."),
    "invited": lambda: _("The account was created, and its owner was mailed a link to choose a password."),
    "role": lambda: _("The role was changed."),
    "deactivated": lambda: _("The account was deactivated and logged out everywhere."),
    "activated": lambda: _("The account was activated again."),
}


def _user_or_404(session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise HTTPException(404)
    return user


@router.get("/users")
def list_users(request: Request, session: ReadSession, admin: AdminUser, q: str = ""):
    users = accounts.search_users(session, query=q[:100])
    notice = notice_text(NOTICES, request.query_params.get("notice"))
    return render(
        request, "admin/users.html", {"users": users, "q": q[:100], "roles": list(Role), "notice": notice}, private=True
    )


@router.get("/users/new")
def new_user_form(request: Request, admin: AdminUser):
    return render(
        request,
        "admin/user_new.html",
        {"values": {"role": "lecturer"}, "errors": {}, "roles": list(Role)},
        private=True,
    )


@router.post("/users/new")
@in_thread_pool  # argon2 hashing: tens of milliseconds of CPU
def create_user(
    request: Request,
    session: WriteSession,
    admin: AdminUser,
    email: Annotated[str, Form()] = "",
    display_name: Annotated[str, Form()] = "",
    role: Annotated[str, Form()] = "lecturer",
    password: Annotated[str, Form()] = "",
):
    """A new account; without a password, its owner gets a link to choose one (the usual way)."""
    values = {"email": email.strip(), "display_name": display_name.strip(), "role": role}
    errors = too_long({**values, "password": password}, {"email": 254, "display_name": 120, "password": 256})
    if role not in {r.value for r in Role}:
        errors["role"] = _("Choose a role.")
    for field, problem in accounts.new_account_problems(
        session, email=email, display_name=display_name, password=password or None
    ).items():
        errors.setdefault(field, problem)
    if errors:
        return render(
            request,
            "admin/user_new.html",
            {"values": values, "errors": errors, "roles": list(Role)},
            status_code=400,
            private=True,
        )
    user = accounts.create_user(
        session, email=email, display_name=display_name, role=role, password=password or secrets.token_urlsafe(32)
    )
    if not password:
        password_reset.send_welcome_mail(
            session, settings=request.app.state.settings, user=user, created_by=admin.display_name
        )
        return RedirectResponse("/admin/users?notice=invited", status_code=303)
    return RedirectResponse("/admin/users?notice=created", status_code=303)


@router.post("/users/{user_id}/role")
def change_role(session: WriteSession, admin: AdminUser, user_id: DbId, role: Annotated[str, Form()] = ""):
    user = _user_or_404(session, user_id)
    if role in {r.value for r in Role} and user.id != admin.id:
        user.role = role
        session.add(user)
        session.commit()
        end_all_sessions(session, user_id=stored_id(user))  # new rights take effect at the next login
    return RedirectResponse("/admin/users?notice=role", status_code=303)


@router.post("/users/{user_id}/active")
def set_active(
    request: Request,
    session: WriteSession,
    admin: AdminUser,
    user_id: DbId,
    active: Annotated[str, Form()] = "",
    confirmed: Annotated[str, Form()] = "",
):
    user = _user_or_404(session, user_id)
    if user.id == admin.id:
        raise HTTPException(400, _("You cannot deactivate your own account."))
    if active != "1" and user.is_active and confirmed != "1":
        return confirm_first(
            request,
            title=_("Deactivate %(name)s?") % {"name": user.display_name},
            explanation=_(
                "%(email)s is logged out everywhere and can no longer log in. Nothing is "
                "deleted: you can activate the account again."
            )
            % {"email": user.email},
            action=f"/admin/users/{user.id}/active",
            fields={"active": "0"},
            button=_("Deactivate"),
            back="/admin/users",
        )
    user.is_active = active == "1"
    session.add(user)
    session.commit()
    if not user.is_active:
        end_all_sessions(session, user_id=stored_id(user))
    return RedirectResponse(f"/admin/users?notice={'activated' if user.is_active else 'deactivated'}", status_code=303)
