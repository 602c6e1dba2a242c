"""LTI 1.3 tool endpoints (app/lti): JWKS, login initiation, launch, deep linking, roster sync, and the
admin page where platforms are registered. Logic lives in app/lti; these only translate HTTP."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Annotated

from fastapi import Form, HTTPException, Request
from fastapi.responses import JSONResponse, RedirectResponse
from sqlmodel import col, select

from app import jobs
from app.access import LecturedClassDep
from app.auth import AdminUser, LecturerUser
from app.db import ReadSession, WriteSession
from app.deps import DbId
from app.i18n import gettext as _
from app.lti import deep_linking, frames, grades, keys, registration, roster, tasks  # noqa: F401  (register the jobs and the submission listener)
from app.lti import launch as lti
from app.models import LtiContext, LtiPlatform, Role, stored_id
from app.routing import Router
from app.services.sessions import end_session_by_id, start_session
from app.templating import notice_text, public_base_url, render

router = Router(tags=["lti"])

STATE_COOKIE_SECONDS = int(lti.LOGIN_LIFETIME.total_seconds())


def tool_urls(request: Request) -> registration.ToolUrls:
    return registration.ToolUrls.at(public_base_url(request))


def _lti_page(
    request: Request, session, name: str, context: dict, *, status_code: int = 200, form_targets: Sequence[str] = ()
):
    """An LTI page: framable by the registered platforms only, never cached."""
    response = render(request, name, context, status_code=status_code, private=True)
    response.headers["Content-Security-Policy"] = frames.csp_for(
        registration.frame_origins(session), form_targets=list(form_targets)
    )
    return response


def _refused(request: Request, session, error: lti.LaunchError):
    return _lti_page(
        request,
        session,
        "lti/error.html",
        {"title": error.title, "detail": error.detail, "code": error.code, "status": error.status},
        status_code=error.status,
    )


@router.get("/lti/jwks")
def jwks(session: WriteSession):  # writes the first key when there is none yet
    body = keys.public_jwks(session)
    if not body["keys"]:
        keys.ensure_key(session)
        body = keys.public_jwks(session)
    return JSONResponse(body, headers={"Cache-Control": "public, max-age=300"})


@router.api_route("/lti/login", methods=["GET", "POST"])
async def login(request: Request, session: WriteSession):
    params = dict(request.query_params)
    if request.method == "POST":
        form = await request.form()
        params.update({key: value for key, value in form.items() if isinstance(value, str)})
    params = {key: value[:4000] for key, value in params.items()}
    try:
        started = lti.start_login(session, params, tool=tool_urls(request))
    except lti.LaunchError as error:
        return _refused(request, session, error)
    response = RedirectResponse(started.redirect_url, status_code=302)
    # The launch comes back as a cross-site POST: only a SameSite=None cookie returns with it.
    frames.add_cookie(
        response, lti.state_cookie_name(started.state), started.state, path="/lti/", max_age=STATE_COOKIE_SECONDS
    )
    return response


@router.post("/lti/launch")
async def launch(request: Request, session: WriteSession):
    form = await request.form()
    id_token, state = str(form.get("id_token") or ""), str(form.get("state") or "")
    settings = request.app.state.settings
    try:
        result = lti.validate_launch(
            session,
            id_token=id_token,
            state=state,
            cookie_state=request.cookies.get(lti.state_cookie_name(state)) if state else None,
        )
        if isinstance(result, lti.NeedsNewWindow):
            return _lti_page(request, session, "lti/new_window.html", {"fields": result.fields})
        if result.message_type == lti.DEEP_LINKING:
            # Checked before anything is created: only lecturers place modules, and only where the LMS
            # accepts a resource link back.
            if not result.is_instructor:
                raise lti.LaunchError("no-role", 403)
            try:
                deep_linking.pending_token(request.app.state.secret, result, user_id=0)
            except deep_linking.DeepLinkError:
                raise lti.LaunchError("message-type") from None
        landing = lti.land(session, result, catalogue=request.app.state.catalogue)
    except lti.LaunchError as error:
        return _refused(request, session, error)
    if landing.context.memberships_url and result.is_instructor:
        # A job, queued once the session below is committed: the lecturer does not wait for the LMS.
        jobs.after_commit(session, roster.sync_roster, landing.context.id)
    if request.state.user_session is not None:
        # Whoever was signed in in this browser (frame) before: a launch is a new sign-in, not theirs.
        end_session_by_id(session, session_id=request.state.user_session.id)
    token = start_session(session, user=landing.user, user_agent=request.headers.get("user-agent", ""))
    framed = frames.is_framed(request)
    origins = registration.origins_of(result.platform)
    return_url = result.claim("launch_presentation").get("return_url")
    if isinstance(return_url, str) and frames.ORIGIN.fullmatch(registration.origin_of(return_url)):
        origins.append(registration.origin_of(return_url))  # signed by the platform: where it shows the course
    if result.message_type == lti.DEEP_LINKING:
        pending = deep_linking.pending_token(request.app.state.secret, result, user_id=stored_id(landing.user))
        response = _lti_page(
            request,
            session,
            "lti/deep_link.html",
            {
                "pending": pending,
                "modules": _modules(request),
                "values": {},
                "errors": {},
                "csrf": _session_csrf(session, token),
            },
        )
    else:
        response = RedirectResponse(landing.path, status_code=303)
    frames.set_launch_cookies(response, settings, request.app.state.secret, token=token, origins=origins, framed=framed)
    frames.add_cookie(response, lti.state_cookie_name(state), "", path="/lti/", max_age=0)
    return response


def _session_csrf(session, token: str) -> str:
    from app.services.sessions import resume_session_by_token

    started = resume_session_by_token(session, token=token)
    assert started is not None, "the session was started just before"
    return started.csrf_token


def _modules(request: Request) -> list:
    return sorted(request.app.state.catalogue.modules.values(), key=lambda module: module.title.lower())


@router.post("/lti/deep-link")
def deep_link(
    request: Request,
    session: WriteSession,
    user: LecturerUser,
    pending: Annotated[str, Form()] = "",
    module: Annotated[str, Form()] = "",
    due_on: Annotated[str, Form()] = "",
    grades_wanted: Annotated[str, Form(alias="grades")] = "",
):
    due_text, wants_grades = due_on.strip(), bool(grades_wanted)
    values = {"module": module, "due_on": due_text, "grades": wants_grades}
    try:
        waiting = deep_linking.read_pending(request.app.state.secret, pending, user_id=stored_id(user))
    except (deep_linking.DeepLinkError, ValueError, KeyError) as error:
        message = (
            str(error)
            if isinstance(error, deep_linking.DeepLinkError)
            else _("This choice is damaged. Open the selection from the LMS again.")
        )
        return _refused_text(request, session, _("The selection cannot be sent"), message)
    errors: dict[str, str] = {}
    chosen = request.app.state.catalogue.get(module)
    if chosen is None:
        errors["module"] = _("Choose a module.")
    due = None
    if due_text:
        try:
            due = date.fromisoformat(due_text)
        except ValueError:
            errors["due_on"] = _("Give a date like 2026-12-20, or leave it empty.")
    if errors:
        return _lti_page(
            request,
            session,
            "lti/deep_link.html",
            {
                "pending": pending,
                "modules": _modules(request),
                "values": values,
                "errors": errors,
                "csrf": request.state.csrf_token,
            },
            status_code=422,
        )
    platform = session.get(LtiPlatform, waiting.platform_id)
    if platform is None:
        return _refused(request, session, lti.LaunchError("unknown-platform"))
    token = deep_linking.response_jwt(
        session,
        waiting,
        platform=platform,
        launch_url=tool_urls(request).launch,
        module=chosen,
        due_on=due,
        grades=wants_grades,
    )
    return _lti_page(
        request,
        session,
        "lti/deep_link_return.html",
        {"return_url": waiting.return_url, "jwt": token, "module": chosen},
        form_targets=[registration.origin_of(waiting.return_url)],
    )


def _refused_text(request: Request, session, title: str, detail: str, *, status: int = 400):
    return _lti_page(
        request,
        session,
        "lti/error.html",
        {"title": title, "detail": detail, "code": "refused", "status": status},
        status_code=status,
    )


# -- the class's LMS page: linked courses and the roster sync ------------------------------------

ClassNotices = {
    "synced": lambda: _("The roster was fetched from the LMS."),
    "not-synced": lambda: _("The LMS could not be reached; the roster was not changed. Try again later."),
}


@router.get("/lti/classes/{class_id}")
def class_lms(request: Request, session: ReadSession, course_class: LecturedClassDep):
    contexts = list(
        session.exec(
            select(LtiContext, LtiPlatform)
            .join(LtiPlatform, col(LtiPlatform.id) == col(LtiContext.platform_id))
            .where(col(LtiContext.class_id) == course_class.id)
        )
    )
    return render(
        request,
        "lti/class.html",
        {
            "course_class": course_class,
            "contexts": contexts,
            "notice": notice_text(ClassNotices, request.query_params.get("notice")),
        },
        private=True,
    )


@router.post("/lti/classes/{class_id}/sync")
def class_sync(session: WriteSession, course_class: LecturedClassDep):
    from app.lti.services import ServiceError

    notice = "synced"
    for context in session.exec(select(LtiContext).where(col(LtiContext.class_id) == course_class.id)).all():
        try:
            roster.sync(session, context_id=stored_id(context))
        except ServiceError:
            notice = "not-synced"
    return RedirectResponse(f"/lti/classes/{course_class.id}?notice={notice}", status_code=303)


# -- LTI Dynamic Registration -------------------------------------------------------------------


@router.get("/lti/register")
def dynamic_register(  # a GET that writes: the LMS opens it to register itself
    request: Request, session: WriteSession, t: str = "", openid_configuration: str = "", registration_token: str = ""
):
    from app.lti import dynamic

    secret = request.app.state.secret
    if not dynamic.link_valid(secret, t[:100]):
        return _refused_text(
            request,
            session,
            _("This registration link is not valid"),
            _("Ask a Nabij administrator for a new registration link (Administration, LMS platforms)."),
            status=403,
        )
    if not openid_configuration:
        return _refused_text(
            request,
            session,
            _("Open this link from the LMS"),
            _(
                'Paste this address into the LMS\'s dynamic registration ("register a tool by URL"); the LMS opens it with its configuration.'
            ),
        )
    try:
        platform = dynamic.register(
            session,
            openid_configuration=openid_configuration[:2000],
            registration_token=registration_token[:4000],
            tool=tool_urls(request),
            production=request.app.state.settings.is_production,
        )
    except dynamic.DynamicRegistrationError as error:
        return _refused_text(request, session, _("The LMS could not be registered"), str(error), status=400)
    response = render(request, "lti/registered.html", {"platform": platform}, private=True)
    response.headers["Content-Security-Policy"] = frames.csp_for([registration.origin_of(openid_configuration)])
    return response


# -- admin: registering platforms ----------------------------------------------------------------

AdminNotices = {
    "registered": lambda: _("The platform was registered."),
    "removed": lambda: _("The registration was removed."),
    "rotated": lambda: _("A new key signs from now on; the previous one stays in the JWKS for a day."),
}


def _admin_page(request: Request, session, *, values: dict, errors: dict, status_code: int = 200):
    return render(
        request,
        "admin/lti.html",
        {
            "platforms": registration.platforms(session),
            "urls": tool_urls(request),
            "values": values,
            "dynamic_link": dynamic_link(request),
            "errors": errors,
            "fields": registration.FIELDS,
            "notice": notice_text(AdminNotices, request.query_params.get("notice")),
        },
        status_code=status_code,
        private=True,
    )


def dynamic_link(request: Request) -> str:
    from app.lti import dynamic

    return dynamic.registration_link(request.app.state.secret, tool_urls(request))


@router.get("/admin/lti")
def admin_lti(request: Request, session: ReadSession, admin: AdminUser):
    return _admin_page(request, session, values={}, errors={})


@router.post("/admin/lti")
async def admin_register(request: Request, session: WriteSession, admin: AdminUser):
    form = await request.form()
    values = {name: str(form.get(name) or "")[:2100] for name in (*registration.FIELDS, "name", "frame_origins")}
    try:
        registration.register(session, values, production=request.app.state.settings.is_production)
    except registration.RegistrationError as error:
        return _admin_page(request, session, values=values, errors=error.errors, status_code=422)
    return RedirectResponse("/admin/lti?notice=registered", status_code=303)


@router.post("/admin/lti/{platform_id}/remove")
def admin_remove(session: WriteSession, admin: AdminUser, platform_id: DbId):
    if not registration.remove(session, platform_id=platform_id):
        raise HTTPException(404)
    return RedirectResponse("/admin/lti?notice=removed", status_code=303)


@router.post("/admin/lti/rotate-key")
def admin_rotate(session: WriteSession, admin: AdminUser):
    keys.rotate(session)
    return RedirectResponse("/admin/lti?notice=rotated", status_code=303)


__all__ = ["Role", "router"]
