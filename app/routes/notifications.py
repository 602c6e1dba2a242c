"""Notifications (list, mail settings, signed unsubscribe), the personal calendar feed, "All my feedback"."""

from __future__ import annotations

from fastapi import HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from app.auth import CurrentUser, StudentUser
from app.db import ReadSession, WriteSession, write_for
from app.deps import CatalogueDep, DbId
from app.i18n import gettext as _
from app.models import User, stored_id
from app.routing import Router
from app.services import calendar_feed, dialogue, notifications
from app.templating import notice_text, public_base_url, render

router = Router(tags=["notifications"])

NOTICES = {
    "saved": lambda: _("Your notification settings were saved."),
    "read": lambda: _("All notifications are marked as read."),
    "feed-revoked": lambda: _("The calendar link was switched off. Calendars subscribed to it no longer update."),
}


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


@router.get("/notifications")
def list_notifications(request: Request, session: ReadSession, user: CurrentUser):
    return render(
        request,
        "notifications/index.html",
        {
            "items": notifications.recent(session, user=user),
            "notice": notice_text(NOTICES, request.query_params.get("notice")),
        },
        private=True,
    )


@router.post("/notifications/read")
def read_all(session: WriteSession, user: CurrentUser):
    notifications.mark_read(session, user_id=stored_id(user))
    return _redirect("/notifications?notice=read")


@router.post("/notifications/{notification_id}/open")
def open_notification(notification_id: DbId, session: WriteSession, user: CurrentUser):
    link = notifications.mark_read(session, user_id=stored_id(user), notification_id=notification_id)
    if link is None:
        raise HTTPException(404)
    # Links are written by Nabij itself, always paths on this site; anything else goes home.
    return _redirect(link if link.startswith("/") and not link.startswith("//") else "/")


def _settings_page(
    request: Request,
    session,
    user: User,
    *,
    feed_url: str | None = None,
    status_code: int = 200,
    errors: dict | None = None,
):
    context = {
        "modes": notifications.mail_modes(session, user=user),
        "labels": notifications.kind_label,
        "has_feed": calendar_feed.has_feed(session, user_id=stored_id(user)),
        "feed_url": feed_url,
        "errors": errors or {},
        "notice": notice_text(NOTICES, request.query_params.get("notice")),
    }
    return render(request, "notifications/settings.html", context, status_code=status_code, private=True)


@router.get("/notifications/settings")
def read_settings(request: Request, session: ReadSession, user: CurrentUser):
    return _settings_page(request, session, user)


@router.post("/notifications/settings")
async def save_settings(request: Request, session: WriteSession, user: CurrentUser):
    form = await request.form()
    errors = {}
    for kind in notifications.kinds_for(user):
        mode = form.get(f"mode_{kind}")
        if mode is None:
            continue
        if mode not in notifications.MODES:
            errors[kind] = _("Choose at once, daily overview or off.")
            continue
        notifications.set_mail_mode(session, user_id=stored_id(user), kind=kind, mode=mode)
    if errors:
        session.rollback()
        return _settings_page(request, session, user, status_code=400, errors=errors)
    session.commit()
    return _redirect("/notifications/settings?notice=saved")


def _unsubscribe_target(request: Request, session, token: str) -> tuple[User, str]:
    found = notifications.read_unsubscribe_token(request.app.state.secret, token)
    user = session.get(User, found[0]) if found else None
    if user is None or found is None:
        raise HTTPException(
            404, _("This unsubscribe link is not valid. Log in and change your notification settings there.")
        )
    return user, found[1]


@router.get("/notifications/unsubscribe/{token}")
def unsubscribe_form(request: Request, session: ReadSession, token: str):
    _user, kind = _unsubscribe_target(request, session, token)
    label = _("all mail from Nabij") if kind == "all" else notifications.kind_label(kind)
    return render(
        request, "notifications/unsubscribe.html", {"token": token, "label": label, "done": False}, private=True
    )


@router.post("/notifications/unsubscribe/{token}")
def unsubscribe(request: Request, session: WriteSession, token: str):
    user, kind = _unsubscribe_target(request, session, token)
    notifications.unsubscribe(session, user=user, kind=kind)
    label = _("all mail from Nabij") if kind == "all" else notifications.kind_label(kind)
    return render(
        request, "notifications/unsubscribe.html", {"token": token, "label": label, "done": True}, private=True
    )


# -- the calendar feed --------------------------------------------------------------------------------


@router.post("/calendar/feed")
def create_feed(request: Request, session: WriteSession, user: CurrentUser):
    token = calendar_feed.new_feed(session, user=user)
    url = f"{public_base_url(request).rstrip('/')}/calendar/{token}.ics"
    return _settings_page(request, session, user, feed_url=url)


@router.post("/calendar/feed/revoke")
def revoke_feed(session: WriteSession, user: CurrentUser):
    calendar_feed.revoke_feed(session, user=user)
    return _redirect("/notifications/settings?notice=feed-revoked")


@router.get("/calendar/{token}.ics")
def read_feed(request: Request, session: ReadSession, catalogue: CatalogueDep, token: str):
    owner = calendar_feed.feed_owner(session, token)
    if owner is None:
        raise HTTPException(404)
    body = calendar_feed.build_feed(session, user=owner, catalogue=catalogue, base_url=public_base_url(request))
    return Response(
        body,
        media_type="text/calendar; charset=utf-8",
        headers={"Cache-Control": "private, max-age=900", "Referrer-Policy": "no-referrer"},
    )


# -- all my feedback --------------------------------------------------------------------------------


@router.get("/my/feedback")
def all_my_feedback(request: Request, session: ReadSession, catalogue: CatalogueDep, user: StudentUser):
    items = dialogue.my_feedback(session, user=user, catalogue=catalogue)
    threads = {item.id: dialogue.student_thread(session, user=user, feedback_id=item.id) for item in items}
    response = render(
        request,
        "notifications/my_feedback.html",
        {"items": items, "threads": threads, "errors": {}, "typed": {}},
        private=True,
    )
    with write_for(request, session) as writer:
        dialogue.mark_read(writer, items=items)  # shown as "new" this once
    return response


# -- the count in the navigation ------------------------------------------------------------------------


def unread_for(request: Request) -> int:
    """Unread notices of the logged-in person, for the navigation: counted by the session lookup every
    request makes anyway (app/services/sessions.py), so no query of its own."""
    if getattr(request.state, "user", None) is None:
        return 0
    return getattr(request.state, "unread_notifications", 0)


def install_nav_count() -> None:
    from app.templating import environment

    environment.globals["unread_notifications"] = unread_for
