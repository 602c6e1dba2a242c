"""The LMS for the LTI tests: PyPI `lti1p3platform` (an LTI 1.3 platform implementation nobody here
wrote), served over real HTTP by uvicorn on a free port in a thread.

It serves what a platform serves: its JWKS, the OIDC authentication endpoint (which answers with the
auto-submitting launch form, built and signed by lti1p3platform), the token endpoint (which checks Nabij's
signed client assertion against Nabij's JWKS), NRPS memberships, AGS line items, scores and results,
and the deep-linking return endpoint (which verifies Nabij's signed response).

What a launch contains is set by the test: `platform.scenarios[hint] = Scenario(...)`; the hint travels
as lti_message_hint through Nabij's login, as in a real LMS."""

from __future__ import annotations

import re
import socket
import threading
import time
import typing as t
from dataclasses import dataclass, field
from html import unescape
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

lti1p3platform = pytest.importorskip(
    "lti1p3platform", reason="LTI tests skipped: install the dev extras (pip install -e '.[dev]') for lti1p3platform"
)
import uvicorn  # noqa: E402
from cryptography.hazmat.primitives import serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import rsa  # noqa: E402
from fastapi import FastAPI, Request  # noqa: E402
from fastapi.responses import HTMLResponse, JSONResponse, Response  # noqa: E402
from lti1p3platform.framework.fastapi.message_launch import FastapiMessageLaunch  # noqa: E402
from lti1p3platform.ltiplatform import LTI1P3PlatformConfAbstract  # noqa: E402
from lti1p3platform.membership import Context  # noqa: E402
from lti1p3platform.message_launch import LTIAdvantageMessageLaunchAbstract  # noqa: E402
from lti1p3platform.oidc_login import OIDCLoginAbstract  # noqa: E402
from lti1p3platform.registration import Registration  # noqa: E402
from lti1p3platform.request import Request as LtiRequest  # noqa: E402
from lti1p3platform.score import UpdateScoreStatus  # noqa: E402
from lti1p3platform.service_connector import AssignmentsGradesService, NamesRoleProvisioningService  # noqa: E402

ROLE = "http://purl.imsglobal.org/vocab/lis/v2/membership#"
LEARNER, INSTRUCTOR = ROLE + "Learner", ROLE + "Instructor"
FORM_FIELD = re.compile(r'name="(id_token|state)" value="([^"]*)"')
FORM_ACTION = re.compile(r'<form[^>]*action="([^"]+)"')


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def private_pem() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


@dataclass
class Scenario:
    """One launch, as the LMS would build it."""

    sub: str
    roles: list[str]
    context_id: str = "course-101"
    context_title: str = "Jeugdzorg 2B"
    resource_link_id: str | None = "link-1"
    name: str | None = None
    email: str | None = None
    custom: dict | None = None
    lineitem: str | None = None  # an AGS line item URL on this platform
    nrps: bool = True
    deep_linking: bool = False
    target: str = "iframe"


class _Request(LtiRequest):
    def build_metadata(self, request: dict) -> dict:
        return request


class PlatformConf(LTI1P3PlatformConfAbstract):
    def init_platform_config(self, **kwargs: t.Any) -> None:
        self.registration_obj: Registration = kwargs["registration"]

    def get_registration_by_params(self, **kwargs: t.Any) -> Registration:
        return self.registration_obj


class Login(OIDCLoginAbstract):
    def set_lti_message_hint(self, **kwargs: t.Any) -> None:
        self._lti_message_hint = kwargs["hint"]

    def get_redirect(self, url: str) -> str:
        return url


class AdvantageLaunch(LTIAdvantageMessageLaunchAbstract):
    def get_preflight_response(self) -> dict:
        return dict(self._request.query_params)

    def render_launch_form(self, launch_data: dict, **kwargs: t.Any) -> HTMLResponse:
        return FastapiMessageLaunch.render_launch_form(self, launch_data)


@dataclass
class Platform:
    """A running platform. `issuer` is its base URL; the tool is registered as `client_id`."""

    issuer: str
    client_id: str
    deployment_id: str
    private_key: str
    public_key: str
    tool_base: str
    scenarios: dict[str, Scenario] = field(default_factory=dict)
    members: dict[str, list[dict]] = field(default_factory=dict)  # context id -> NRPS members
    lineitems: dict[str, dict] = field(default_factory=dict)  # id -> line item
    scores: dict[str, list[dict]] = field(default_factory=dict)  # line item id -> scores posted
    deep_link_items: list[dict] = field(default_factory=list)
    dynamic_registrations: list[dict] = field(default_factory=list)
    server: uvicorn.Server | None = None

    # -- the registration, as lti1p3platform keeps it --------------------------------------------
    def registration(self) -> Registration:
        reg = (
            Registration()
            .set_iss(self.issuer)
            .set_client_id(self.client_id)
            .set_deployment_id(self.deployment_id)
            .set_oidc_login_url(f"{self.tool_base}/lti/login")
            .set_launch_url(f"{self.tool_base}/lti/launch")
            .set_deeplink_launch_url(f"{self.tool_base}/lti/launch")
            .set_platform_private_key(self.private_key)
            .set_platform_public_key(self.public_key)
        )
        if getattr(self, "tool_jwks", None):
            reg.set_tool_key_set(self.tool_jwks)
        return reg

    def conf(self) -> PlatformConf:
        return PlatformConf(registration=self.registration())

    def nabij_values(self) -> dict[str, str]:
        """What an admin types into Nabij's registration form for this platform."""
        return {
            "name": "Test-LMS",
            "issuer": self.issuer,
            "client_id": self.client_id,
            "deployment_id": self.deployment_id,
            "auth_login_url": f"{self.issuer}/auth",
            "auth_token_url": f"{self.issuer}/token",
            "jwks_url": f"{self.issuer}/jwks",
        }

    def login_url(self, hint: str, user: str = "opaque-login-hint") -> str:
        """The third-party-initiated login the LMS sends the browser to (built by lti1p3platform)."""
        login = Login(None, self.conf())
        login.set_lti_message_hint(hint=hint)
        return login.initiate_login(user)

    def lineitem_url(self, lineitem_id: str) -> str:
        return f"{self.issuer}/lineitems/{lineitem_id}"

    def add_lineitem(self, lineitem_id: str, label: str = "Nabij", resource_link_id: str = "link-1") -> str:
        self.lineitems[lineitem_id] = {
            "id": self.lineitem_url(lineitem_id),
            "label": label,
            "scoreMaximum": 1,
            "resourceLinkId": resource_link_id,
        }
        return self.lineitem_url(lineitem_id)

    # -- crafting launches by hand, for the attacks ----------------------------------------------
    def sign(self, claims: dict, *, expiration: int | None = 300) -> str:
        return self.registration().platform_encode_and_sign(dict(claims), expiration=expiration)

    def claims_for(self, hint: str, *, nonce: str) -> dict:
        launch = self._launch(hint, {"nonce": nonce})
        message = launch.get_launch_message()
        message["nonce"] = nonce
        return message

    def _launch(self, hint: str, preflight: dict) -> AdvantageLaunch:
        scenario = self.scenarios[hint]

        class _Q:
            query_params = preflight

        launch = AdvantageLaunch(_Q(), self.conf())
        launch._registration = launch._platform_config.get_registration()
        launch.set_user_data(scenario.sub, scenario.roles, full_name=scenario.name, email_address=scenario.email)
        launch.set_launch_context_claim(scenario.context_id, context_title=scenario.context_title)
        if scenario.resource_link_id:
            launch.set_resource_link_claim(scenario.resource_link_id, title="Nabij")
        launch.set_launch_presentation_claim(document_target=scenario.target)
        if scenario.custom:
            launch.set_custom_parameters_claim(scenario.custom)
        if scenario.nrps:
            launch.set_nrps(f"{self.issuer}/nrps/{scenario.context_id}")
        if scenario.lineitem:
            launch.set_ags(lineitems_url=f"{self.issuer}/lineitems", lineitem_url=scenario.lineitem)
        if scenario.deep_linking:
            launch.set_dl(f"{self.issuer}/deep_link_return", title="Nabij", accept_types={"ltiResourceLink"})
        return launch

    def app(self) -> FastAPI:
        app = FastAPI()
        platform = self

        @app.get("/course/{hint}")
        def course_page(hint: str):
            """The LMS's course page: the tool in an iframe, and a link that opens it in a new window."""
            url = platform.login_url(hint)
            from html import escape

            return HTMLResponse(f"""<!doctype html><html lang="en"><head><title>LMS course</title></head><body>
<h1>LMS course</h1><iframe id="tool" title="Nabij" src="{escape(url)}" width="1000" height="700"></iframe>
<p><a id="new-window" href="{escape(url)}" target="_blank">Open Nabij in a new window</a></p></body></html>""")

        # LTI Dynamic Registration (not part of lti1p3platform): the platform's half, written for the test.
        @app.get("/.well-known/openid-configuration")
        def openid_configuration():
            return {
                "issuer": platform.issuer,
                "authorization_endpoint": f"{platform.issuer}/auth",
                "token_endpoint": f"{platform.issuer}/token",
                "jwks_uri": f"{platform.issuer}/jwks",
                "registration_endpoint": f"{platform.issuer}/register",
                "https://purl.imsglobal.org/spec/lti-platform-configuration": {
                    "product_family_code": "test-lms",
                    "version": "1",
                },
            }

        @app.post("/register")
        async def register(request: Request):
            if request.headers.get("authorization") != "Bearer reg-token-1":
                return JSONResponse({"error": "invalid_token"}, status_code=401)
            body = await request.json()
            platform.dynamic_registrations.append(body)
            return {
                **body,
                "client_id": platform.client_id,
                "https://purl.imsglobal.org/spec/lti-tool-configuration": {
                    **body["https://purl.imsglobal.org/spec/lti-tool-configuration"],
                    "deployment_id": platform.deployment_id,
                },
            }

        @app.get("/jwks")
        def jwks():
            conf = platform.conf()
            conf.get_registration()
            return conf.get_jwks()

        @app.get("/auth")
        def auth(request: Request):
            hint = request.query_params.get("lti_message_hint", "")
            if hint not in platform.scenarios:
                return Response("unknown launch", status_code=400)
            launch = platform._launch(hint, dict(request.query_params))
            return launch.lti_launch()

        @app.post("/token")
        async def token(request: Request):
            form = dict((await request.form()).items())
            conf = platform.conf()
            conf.get_registration()
            try:
                return conf.get_access_token(form)
            except Exception as error:  # lti1p3platform raises for a bad assertion
                return JSONResponse({"error": "invalid_client", "detail": str(error)}, status_code=400)

        async def meta(request: Request) -> _Request:
            body = await request.body()
            json_body = None
            if body and "json" in request.headers.get("content-type", ""):
                import json

                json_body = json.loads(body)
            return _Request(
                {
                    "method": request.method,
                    "form_data": {},
                    "get_data": dict(request.query_params),
                    "headers": request.headers,
                    "content_type": request.headers.get("content-type"),
                    "path": request.url.path,
                    "json": json_body,
                }
            )

        def answer(result) -> Response:
            if result.result is None:
                return Response(status_code=result.code, content=result.message, media_type=result.media_type)
            return JSONResponse(result.result, status_code=result.code, media_type=result.media_type)

        @app.get("/nrps/{context_id}")
        async def nrps(context_id: str, request: Request):
            conf = platform.conf()
            conf.get_registration()

            class Roster(NamesRoleProvisioningService):
                def get_member_data_page(self, **kwargs):
                    return {"content": [dict(m) for m in platform.members.get(context_id, [])], "has_next": False}

                def get_context_by_id(self):
                    return Context(id=context_id, label=context_id, title=context_id)

            service = Roster(await meta(request), conf, f"{platform.issuer}/nrps/{context_id}")
            return answer(service.handle_resp(service.handle_get_members))

        def grades_service(request_meta, lineitem_id: str):
            conf = platform.conf()
            conf.get_registration()

            class Grades(AssignmentsGradesService):
                def find_lineitems(self, **kwargs):
                    return {"content": list(platform.lineitems.values()), "has_next": False}

                def find_lineitem(self, line_item_id):
                    return platform.lineitems[line_item_id]

                def create_lineitem(self, lineitem):
                    new_id = f"li-{len(platform.lineitems) + 1}"
                    platform.lineitems[new_id] = {**lineitem, "id": platform.lineitem_url(new_id)}
                    return platform.lineitems[new_id]

                def update_lineitem(self, lineitem):
                    return lineitem

                def delete_lineitem(self, line_item_id):
                    platform.lineitems.pop(line_item_id, None)

                def update_score(self, line_item_id, score):
                    platform.scores.setdefault(line_item_id, []).append(score)
                    return UpdateScoreStatus.SUCCESS

                def get_results(self, line_item_id, **kwargs):
                    latest: dict[str, dict] = {}
                    for score in platform.scores.get(line_item_id, []):
                        latest[score["userId"]] = score
                    return {
                        "content": [
                            {
                                "userId": user,
                                "resultScore": score["scoreGiven"],
                                "resultMaximum": score["scoreMaximum"],
                                "scoreOf": platform.lineitem_url(line_item_id),
                            }
                            for user, score in latest.items()
                        ],
                        "has_next": False,
                    }

            return Grades(request_meta, conf, f"{platform.issuer}/lineitems", platform.lineitem_url(lineitem_id))

        @app.post("/lineitems/{lineitem_id}/scores")
        async def scores(lineitem_id: str, request: Request):
            service = grades_service(await meta(request), lineitem_id)
            return answer(service.handle_resp(service.handle_update_score, line_item_id=lineitem_id))

        @app.get("/lineitems/{lineitem_id}/results")
        async def results(lineitem_id: str, request: Request):
            service = grades_service(await meta(request), lineitem_id)
            return answer(service.handle_resp(service.handle_get_results, line_item_id=lineitem_id))

        @app.post("/deep_link_return")
        async def deep_link_return(request: Request):
            form = dict((await request.form()).items())
            conf = platform.conf()
            conf.get_registration()
            conf.set_accepted_deeplinking_types(["ltiResourceLink"])
            try:
                items = conf.validate_deeplinking_resp(form)
            except Exception as error:
                return Response(f"refused: {error}", status_code=400)
            platform.deep_link_items.extend(items)
            return HTMLResponse("<p>Added</p>")

        return app


def start_platform(
    *,
    tool_base: str = "https://testserver",
    client_id: str = "nabij-tool",
    deployment_id: str = "deployment-1",
    host: str = "127.0.0.1",
) -> Platform:
    """`host`: the name in the issuer; "localhost" makes the LMS another site than Nabij on 127.0.0.1."""
    port = free_port()
    private, public = private_pem()
    platform = Platform(
        issuer=f"http://{host}:{port}",
        client_id=client_id,
        deployment_id=deployment_id,
        private_key=private,
        public_key=public,
        tool_base=tool_base,
    )
    config = uvicorn.Config(platform.app(), host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    platform.server = uvicorn.Server(config)
    thread = threading.Thread(target=platform.server.run, daemon=True)
    thread.start()
    for _ in range(200):
        if platform.server.started:
            break
        time.sleep(0.02)
    else:
        raise RuntimeError("the test platform did not start")
    return platform


def stop_platform(platform: Platform) -> None:
    if platform.server is not None:
        platform.server.should_exit = True


# -- the browser's part, driven with Nabij's TestClient and httpx ---------------------------------


@dataclass
class LaunchForm:
    action: str
    id_token: str
    state: str


def login_redirect(client, platform: Platform, hint: str):
    """The browser follows the LMS's login initiation to Nabij, which redirects to the LMS's auth URL."""
    url = platform.login_url(hint)
    parts = urlsplit(url)
    response = client.get(f"{parts.path}?{parts.query}", follow_redirects=False)
    return response


def auth_params(response) -> dict[str, str]:
    assert response.status_code == 302, response.text
    return {key: values[0] for key, values in parse_qs(urlsplit(response.headers["location"]).query).items()}


def launch_form(platform_auth_url: str) -> LaunchForm:
    """The LMS's authentication endpoint answers with its auto-submitting form (lti1p3platform's)."""
    page = httpx.get(platform_auth_url, timeout=10)
    assert page.status_code == 200, page.text
    fields = dict(FORM_FIELD.findall(page.text))
    return LaunchForm(unescape(FORM_ACTION.search(page.text).group(1)), fields["id_token"], fields["state"])


def full_launch(client, platform: Platform, hint: str, *, headers: dict | None = None):
    """Login initiation → authentication request → signed id_token POST; Nabij's answer to the POST."""
    redirect = login_redirect(client, platform, hint)
    form = launch_form(redirect.headers["location"])
    return client.post(
        urlsplit(form.action).path,
        data={"id_token": form.id_token, "state": form.state},
        headers=headers or {},
        follow_redirects=False,
    ), form
