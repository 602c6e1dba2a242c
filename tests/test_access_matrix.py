"""Who gets in where: every route, walked with every role. A new route must be classified here."""

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from app.models import Role
from tests.factories import csrf, login, make_user

PUBLIC, USER, ADMIN = "public", "user", "admin"
# Admins, or a scraper with NABIJ_METRICS_TOKEN (tests/test_observability.py); 404 for everyone else.
ADMIN_OR_TOKEN = "admin-or-token"
STUDENT = "student"  # students only: others get 404
# Lecturers and administrators; students get 404. Class pages are walked in a class the lecturer
# teaches (an administrator: one they do not teach); tests/test_classes.py checks the 404s across classes.
LECTURER = "lecturer"
# The class's own lecturers only (issue 12): an administrator who does not teach the class gets 404
# on its progress matrix and review, like a student.
CLASS_LECTURER = "class-lecturer"
# The class's own students only (leaving a class): the walk's actor is never enrolled in the
# walked class, so everyone gets 404; tests/test_erasure.py covers a student leaving.
ENROLLED = "enrolled"
# Anyone, but only with a signed link an administrator handed out (LTI dynamic registration): without
# one, everybody gets the same 403 page, logged in or not.
SIGNED_LINK = "signed-link"

ACCESS = {
    ("GET", "/healthz"): PUBLIC,
    # Institution sign-in (issue 15): without a configured provider these answer with a clear page.
    ("GET", "/auth/oidc/login"): PUBLIC,
    ("GET", "/auth/oidc/callback"): PUBLIC,
    ("GET", "/auth/oidc/logout"): PUBLIC,
    ("POST", "/auth/oidc/link"): PUBLIC,
    # LTI 1.3 (issue 16): the LMS posts to login and launch from its own origin.
    ("GET", "/lti/jwks"): PUBLIC,
    ("GET", "/lti/login"): PUBLIC,
    ("POST", "/lti/login"): PUBLIC,
    ("POST", "/lti/launch"): PUBLIC,
    ("GET", "/lti/register"): SIGNED_LINK,
    ("POST", "/lti/deep-link"): LECTURER,
    ("GET", "/lti/classes/{class_id}"): CLASS_LECTURER,
    ("POST", "/lti/classes/{class_id}/sync"): CLASS_LECTURER,
    ("GET", "/admin/lti"): ADMIN,
    ("POST", "/admin/lti"): ADMIN,
    ("POST", "/admin/lti/rotate-key"): ADMIN,
    ("POST", "/admin/lti/{platform_id}/remove"): ADMIN,
    ("GET", "/admin/users/{user_id}/identities"): ADMIN,
    ("POST", "/admin/users/{user_id}/identities"): ADMIN,
    ("POST", "/admin/users/{user_id}/identities/{identity_id}/unlink"): ADMIN,
    ("GET", "/"): PUBLIC,
    ("GET", "/modules"): PUBLIC,
    ("GET", "/toegankelijkheid"): PUBLIC,
    ("GET", "/modules/{slug}"): PUBLIC,
    ("GET", "/modules/{slug}/{section_id}"): PUBLIC,
    ("GET", "/modules/{slug}/media/{path:path}"): PUBLIC,
    ("GET", "/login"): PUBLIC,
    ("POST", "/login"): PUBLIC,
    ("POST", "/logout"): PUBLIC,
    ("GET", "/signup"): PUBLIC,
    ("POST", "/signup"): PUBLIC,
    ("GET", "/signup/confirm/{token}"): PUBLIC,
    ("POST", "/signup/confirm/{token}"): PUBLIC,
    ("POST", "/signup/confirm/resend"): STUDENT,
    ("POST", "/invitations/accept"): STUDENT,
    ("GET", "/join"): STUDENT,
    ("POST", "/join"): STUDENT,
    ("GET", "/password/forgot"): PUBLIC,
    ("POST", "/password/forgot"): PUBLIC,
    ("GET", "/password/reset/{token}"): PUBLIC,
    ("POST", "/password/reset/{token}"): PUBLIC,
    ("POST", "/language"): PUBLIC,
    ("GET", "/account"): USER,
    ("GET", "/account/my-data.json"): USER,
    ("GET", "/account/my-data.zip"): USER,
    ("POST", "/modules/{slug}/prompts/{prompt_id}/draft"): STUDENT,
    ("POST", "/modules/{slug}/prompts/{prompt_id}"): STUDENT,
    ("POST", "/modules/{slug}/vignettes/{vignette_id}/choose"): STUDENT,
    ("POST", "/modules/{slug}/vignettes/{vignette_id}/restart"): STUDENT,
    ("POST", "/modules/{slug}/vignettes/{vignette_id}/read"): STUDENT,
    ("POST", "/modules/{slug}/checks/{check_id}"): STUDENT,
    ("POST", "/feedback/{feedback_id}/reply"): STUDENT,
    ("GET", "/my/reflections"): STUDENT,
    ("GET", "/my/reflections/print"): STUDENT,
    ("GET", "/my/reflections/portfolio.zip"): STUDENT,
    ("POST", "/account/password"): USER,
    ("POST", "/account/classes/{class_id}/leave"): ENROLLED,
    ("POST", "/account/erase"): USER,
    ("POST", "/account/erase/cancel"): USER,
    ("POST", "/account/sessions/end-others"): USER,
    # Notifications, calendar feed, all my feedback (issue 21). Unsubscribe and feed: signed or secret URLs.
    ("GET", "/notifications"): USER,
    ("POST", "/notifications/read"): USER,
    ("POST", "/notifications/{notification_id}/open"): USER,
    ("GET", "/notifications/settings"): USER,
    ("POST", "/notifications/settings"): USER,
    ("GET", "/notifications/unsubscribe/{token}"): PUBLIC,
    ("POST", "/notifications/unsubscribe/{token}"): PUBLIC,
    ("POST", "/calendar/feed"): USER,
    ("POST", "/calendar/feed/revoke"): USER,
    ("GET", "/calendar/{token}.ics"): PUBLIC,
    ("GET", "/my/feedback"): STUDENT,
    ("GET", "/search"): PUBLIC,
    ("POST", "/my/feedback/{feedback_id}/messages"): STUDENT,
    ("POST", "/my/feedback/messages/{message_id}"): STUDENT,
    ("GET", "/classes/{class_id}/review/{slug}/{prompt_id}/dialogue"): CLASS_LECTURER,
    ("POST", "/classes/{class_id}/review/{slug}/{prompt_id}/dialogue"): CLASS_LECTURER,
    ("GET", "/print/modules/{slug}"): PUBLIC,
    ("GET", "/admin/users"): ADMIN,
    ("GET", "/admin/users/new"): ADMIN,
    ("POST", "/admin/users/new"): ADMIN,
    ("POST", "/admin/users/{user_id}/role"): ADMIN,
    ("POST", "/admin/users/{user_id}/active"): ADMIN,
    ("GET", "/metrics"): ADMIN_OR_TOKEN,
    # Classes, progress, anonymised review and preview (issue 5). Routes that delete come last.
    ("GET", "/classes"): LECTURER,
    ("GET", "/classes/new"): LECTURER,
    ("POST", "/classes/new"): LECTURER,
    ("GET", "/classes/{class_id}"): LECTURER,
    ("POST", "/classes/{class_id}/join-code"): LECTURER,
    ("GET", "/classes/{class_id}/join"): LECTURER,
    ("POST", "/classes/{class_id}/students/{user_id}/remove"): LECTURER,
    ("GET", "/classes/{class_id}/join-code.svg"): LECTURER,
    ("GET", "/classes/{class_id}/students"): LECTURER,
    ("POST", "/classes/{class_id}/students/import"): LECTURER,
    ("GET", "/classes/{class_id}/settings"): LECTURER,
    ("POST", "/classes/{class_id}/settings"): LECTURER,
    ("POST", "/classes/{class_id}/lecturers"): LECTURER,
    ("POST", "/classes/{class_id}/archive"): LECTURER,
    ("GET", "/classes/{class_id}/assignments/new"): LECTURER,
    ("POST", "/classes/{class_id}/assignments/new"): LECTURER,
    ("GET", "/classes/{class_id}/assignments/{assignment_id}"): LECTURER,
    ("POST", "/classes/{class_id}/assignments/{assignment_id}"): LECTURER,
    ("POST", "/classes/{class_id}/assignments/{assignment_id}/extensions"): LECTURER,
    ("GET", "/classes/{class_id}/progress"): CLASS_LECTURER,
    ("GET", "/classes/{class_id}/progress.csv"): CLASS_LECTURER,
    ("GET", "/classes/{class_id}/review"): CLASS_LECTURER,
    ("GET", "/classes/{class_id}/review/{slug}"): CLASS_LECTURER,
    ("GET", "/classes/{class_id}/review/{slug}/{prompt_id}"): CLASS_LECTURER,
    ("GET", "/classes/{class_id}/review/{slug}/{prompt_id}/export.md"): CLASS_LECTURER,
    ("GET", "/classes/{class_id}/review/{slug}/{prompt_id}/export.csv"): CLASS_LECTURER,
    ("POST", "/classes/{class_id}/review/{slug}/{prompt_id}/feedback"): CLASS_LECTURER,
    ("POST", "/classes/{class_id}/review/{slug}/{prompt_id}/discuss"): CLASS_LECTURER,
    ("POST", "/classes/{class_id}/review/completion"): CLASS_LECTURER,
    # Break-glass reveal (issue 13): asked from the review; decided by a second person. Without an answer's
    # ref the ask answers 400; a request id that is not theirs, 404; the access log of a class: admins.
    ("GET", "/classes/{class_id}/review/{slug}/{prompt_id}/reveal"): CLASS_LECTURER,
    ("POST", "/classes/{class_id}/review/{slug}/{prompt_id}/reveal"): CLASS_LECTURER,
    ("GET", "/safeguarding"): LECTURER,
    ("GET", "/safeguarding/{request_id}"): LECTURER,
    ("POST", "/safeguarding/{request_id}/decide"): LECTURER,
    ("GET", "/admin/classes/{class_id}/access-log"): ADMIN,
    ("GET", "/preview"): LECTURER,
    ("GET", "/preview/{slug}"): LECTURER,
    ("GET", "/preview/{slug}/{section_id}"): LECTURER,
    ("POST", "/classes/{class_id}/lecturers/{lecturer_id}/remove"): LECTURER,
    ("POST", "/classes/{class_id}/invitations/{invitation_id}/withdraw"): LECTURER,
    ("POST", "/classes/{class_id}/assignments/{assignment_id}/extensions/{user_id}/remove"): LECTURER,
    ("POST", "/classes/{class_id}/assignments/{assignment_id}/cancel"): LECTURER,
}
ROLES = [None, Role.STUDENT, Role.LECTURER, Role.ADMIN]


def api_routes(app):
    """(the APIRoute, its route as included) of every API route, also of routers FastAPI includes lazily."""
    try:
        from fastapi.routing import iter_route_contexts  # FastAPI >= 0.165 wraps included routers
    except ImportError:
        routes = [(route, route) for route in app.routes]
    else:
        routes = [(context.original_route, context) for context in iter_route_contexts(app.routes)]
    return [(original, route) for original, route in routes if isinstance(original, APIRoute)]


def app_routes(app):
    """(method, path template) of every API route."""
    for _original, route in api_routes(app):
        for method in route.methods - {"HEAD"}:
            yield method, route.path


def test_every_route_is_classified(app):
    unclassified = set(app_routes(app)) - set(ACCESS)
    assert not unclassified, f"classify these routes in ACCESS: {sorted(unclassified)}"


def make_class_world(session, app, *, actor, target) -> dict[str, int]:
    """A class with an assignment, an invitation, a co-lecturer and the target as a student.
    Taught by the actor when they are a lecturer; otherwise by someone else (admins reach it anyway)."""
    from datetime import timedelta

    from app.models import ExternalIdentity, Invitation, utcnow
    from app.services import classes
    from tests.factories import make_class

    teacher = actor if actor is not None and actor.role == Role.LECTURER else make_user(session, role=Role.LECTURER)
    course_class = make_class(session, lecturer=teacher)
    co_lecturer = make_user(session, role=Role.LECTURER)
    classes.add_lecturer(session, course_class=course_class, email=co_lecturer.email)
    classes.enrol(session, course_class=course_class, student=target)
    module = app.state.catalogue.published()[0]
    assignment = classes.assign(
        session, course_class=course_class, module_slug=module.slug, due_on=utcnow().date() + timedelta(days=14)
    )
    invitation = Invitation(
        class_id=course_class.id, email="invited@school.test", display_name="Invited Person", token_hash="0" * 64
    )
    session.add(invitation)
    identity = ExternalIdentity(issuer="https://idp.school.test", subject=f"s-{target.id}", user_id=target.id)
    session.add(identity)
    session.commit()
    return {
        "class_id": course_class.id,
        "assignment_id": assignment.id,
        "invitation_id": invitation.id,
        "lecturer_id": co_lecturer.id,
        "identity_id": identity.id,
    }


def fill(path: str, app, target_user_id: int, world: dict[str, int] | None = None) -> str:
    module = app.state.catalogue.published()[0]
    for name, value in (world or {}).items():
        path = path.replace("{" + name + "}", str(value))
    return (
        path.replace("{slug}", module.slug)
        .replace("{section_id}", module.sections[0].id)
        .replace("{path:path}", "nothing.png")
        .replace("{token}", "not-a-token")
        .replace("{user_id}", str(target_user_id))
        .replace("{prompt_id}", next(iter(module.reflections)))
        .replace("{vignette_id}", next(v.id for v in module.vignettes.values() if not v.branching))
        .replace("{check_id}", next(iter(module.checks)))
        .replace("{feedback_id}", "999999")
        .replace("{notification_id}", "999999")
        .replace("{platform_id}", "999999")
        .replace("{message_id}", "999999")
        .replace("{request_id}", "999999")
    )


def _is_login_redirect(response) -> bool:
    return response.status_code == 303 and response.headers["location"].startswith("/login?next=")


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.value if r else "anonymous")
def test_role_route_matrix(app, session, role):
    target = make_user(session, name="Target Person")
    with TestClient(app) as client:
        actor = None
        if role is not None:
            actor = make_user(session, role=role)
            login(client, actor)
        world = make_class_world(session, app, actor=actor, target=target)
        for (method, template), level in ACCESS.items():
            if template == "/logout":
                continue  # would end the walk; covered in test_security
            path = fill(template, app, target.id, world)
            if method == "GET":
                response = client.get(path, follow_redirects=False)
            else:
                response = client.post(path, data={"csrf_token": csrf(client, "/modules")}, follow_redirects=False)
            where = f"{role} {method} {path}: {response.status_code}"
            if level == ADMIN_OR_TOKEN:
                assert response.status_code == (200 if role == Role.ADMIN else 404), where
            elif level == PUBLIC:
                assert not _is_login_redirect(response), where
                assert response.status_code != 403, where
            elif level == SIGNED_LINK:
                assert response.status_code == 403, where
            elif role is None:
                assert _is_login_redirect(response), where
            elif (
                (level == ADMIN and role != Role.ADMIN)
                or level == ENROLLED
                or (level == STUDENT and role != Role.STUDENT)
                or (level in (LECTURER, CLASS_LECTURER) and role == Role.STUDENT)
            ):
                assert response.status_code == 404, where
            elif level == CLASS_LECTURER and role == Role.ADMIN:
                assert response.status_code == 404, where  # not one of the class's lecturers
            elif "999999" in path:
                assert response.status_code == 404, where  # an id that is not theirs
            else:
                assert not _is_login_redirect(response) and response.status_code not in (403, 404), where
