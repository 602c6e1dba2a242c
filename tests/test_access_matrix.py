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

ACCESS = {
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/"): PUBLIC,
    ("GET", "/modules"): PUBLIC,
    ("GET", "/modules/{slug}"): PUBLIC,
    ("GET", "/modules/{slug}/{section_id}"): PUBLIC,
    ("GET", "/modules/{slug}/media/{path:path}"): PUBLIC,
    ("GET", "/login"): PUBLIC,
    ("POST", "/login"): PUBLIC,
    ("POST", "/logout"): PUBLIC,
    ("GET", "/signup"): PUBLIC,
    ("POST", "/signup"): PUBLIC,
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
    ("POST", "/account/password"): USER,
    ("POST", "/account/sessions/end-others"): USER,
    ("GET", "/admin/users"): ADMIN,
    ("GET", "/admin/users/new"): ADMIN,
    ("POST", "/admin/users/new"): ADMIN,
    ("POST", "/admin/users/{user_id}/role"): ADMIN,
    ("POST", "/admin/users/{user_id}/active"): ADMIN,
    ("GET", "/metrics"): ADMIN_OR_TOKEN,
}
ROLES = [None, Role.STUDENT, Role.LECTURER, Role.ADMIN]


def app_routes(app):
    for route in app.routes:
        if isinstance(route, APIRoute):
            for method in route.methods - {"HEAD"}:
                yield method, route.path


def test_every_route_is_classified(app):
    unclassified = set(app_routes(app)) - set(ACCESS)
    assert not unclassified, f"classify these routes in ACCESS: {sorted(unclassified)}"


def fill(path: str, app, target_user_id: int) -> str:
    module = app.state.catalogue.published()[0]
    return (path.replace("{slug}", module.slug).replace("{section_id}", module.sections[0].id)
            .replace("{path:path}", "nothing.png").replace("{token}", "not-a-token")
            .replace("{user_id}", str(target_user_id))
            .replace("{prompt_id}", next(iter(module.reflections)))
            .replace("{vignette_id}", next(v.id for v in module.vignettes.values() if not v.branching))
            .replace("{check_id}", next(iter(module.checks)))
            .replace("{feedback_id}", "999999"))


def _is_login_redirect(response) -> bool:
    return response.status_code == 303 and response.headers["location"].startswith("/login?next=")


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.value if r else "anonymous")
def test_role_route_matrix(app, session, role):
    target = make_user(session, name="Target Person")
    with TestClient(app) as client:
        if role is not None:
            login(client, make_user(session, role=role))
        for (method, template), level in ACCESS.items():
            if template == "/logout":
                continue  # would end the walk; covered in test_security
            path = fill(template, app, target.id)
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
            elif role is None:
                assert _is_login_redirect(response), where
            elif level == ADMIN and role != Role.ADMIN:
                assert response.status_code == 404, where
            elif level == STUDENT and role != Role.STUDENT:
                assert response.status_code == 404, where
            elif "999999" in path:
                assert response.status_code == 404, where  # an id that is not theirs
            else:
                assert not _is_login_redirect(response) and response.status_code not in (403, 404), where
