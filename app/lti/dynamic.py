"""LTI Dynamic Registration 1.0 (Moodle, Canvas, Brightspace): the LMS admin pastes one URL, the LMS and
Nabij exchange their configuration, and the platform appears in `nabij lti list`.

Flow (https://www.imsglobal.org/spec/lti-dr/v1p0): the LMS opens our registration URL with
``openid_configuration`` (its OpenID configuration URL) and ``registration_token``; we fetch the
configuration, check that its issuer is the same host as that URL, POST our client registration to its
``registration_endpoint`` with the token, and store the returned client id (and deployment id, when the
LMS sends one) with the LMS's endpoints. The page then asks the LMS to close its dialog
(``org.imsglobal.lti.close``, static/lti-registration.js).

Who may register: anybody who can open the URL could otherwise make Nabij trust their "LMS". So the URL
carries a token that a Nabij administrator makes on the admin page (HMAC, valid REGISTRATION_LINK_HOURS);
without a valid one nothing is fetched or stored."""

from __future__ import annotations

import hashlib
import hmac
import time
from urllib.parse import urlsplit

import httpx
from sqlmodel import Session

from app.db import leave_the_loop
from app.i18n import gettext as _
from app.lti import registration
from app.lti.registration import ToolUrls
from app.models import LtiPlatform

REGISTRATION_LINK_HOURS = 24
TIMEOUT = 10.0
ANY_DEPLOYMENT = "*"  # the LMS did not say (Canvas makes deployments later): any deployment of this client
TOOL_CONFIGURATION = "https://purl.imsglobal.org/spec/lti-tool-configuration"
PLATFORM_CONFIGURATION = "https://purl.imsglobal.org/spec/lti-platform-configuration"
SCOPES = (
    "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem "
    "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly "
    "https://purl.imsglobal.org/spec/lti-ags/scope/score "
    "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
)
# The claims Nabij asks for; name and email are optional (docs/lti.md: what each is for).
CLAIMS = ["iss", "sub", "name", "given_name", "family_name", "email"]


class DynamicRegistrationError(Exception):
    pass


def _mac(secret: bytes, expires: int) -> str:
    return hmac.new(secret, f"lti-dynamic-registration:{expires}".encode(), hashlib.sha256).hexdigest()[:32]


def registration_link(secret: bytes, tool: ToolUrls, *, now: float | None = None) -> str:
    expires = int((time.time() if now is None else now) + REGISTRATION_LINK_HOURS * 3600)
    return f"{tool.base}/lti/register?t={expires}.{_mac(secret, expires)}"


def link_valid(secret: bytes, token: str) -> bool:
    expires, _dot, mac = (token or "").partition(".")
    if not expires.isdigit() or int(expires) < time.time():
        return False
    return hmac.compare_digest(mac, _mac(secret, int(expires)))


def tool_configuration(tool: ToolUrls) -> dict:
    return {
        "application_type": "web",
        "response_types": ["id_token"],
        "grant_types": ["implicit", "client_credentials"],
        "initiate_login_uri": tool.login,
        "redirect_uris": [tool.launch],
        "client_name": "Nabij",
        "jwks_uri": tool.jwks,
        "token_endpoint_auth_method": "private_key_jwt",
        "scope": SCOPES,
        TOOL_CONFIGURATION: {
            "domain": urlsplit(tool.base).netloc,
            "target_link_uri": tool.launch,
            "claims": CLAIMS,
            "description": "Nabij: modules over professionele nabijheid",
            "messages": [
                {"type": "LtiDeepLinkingRequest", "target_link_uri": tool.deep_linking, "label": "Nabij"},
                {"type": "LtiResourceLinkRequest", "target_link_uri": tool.launch, "label": "Nabij"},
            ],
        },
    }


def _json(response: httpx.Response, what: str) -> dict:
    try:
        response.raise_for_status()
        body = response.json()
    except (httpx.HTTPError, ValueError) as error:
        raise DynamicRegistrationError(_("The LMS's %(what)s could not be read.") % {"what": what}) from error
    if not isinstance(body, dict):
        raise DynamicRegistrationError(_("The LMS's %(what)s could not be read.") % {"what": what})
    return body


def register(
    session: Session, *, openid_configuration: str, registration_token: str, tool: ToolUrls, production: bool
) -> LtiPlatform:
    if not registration._url_ok(openid_configuration, production=production):
        raise DynamicRegistrationError(_("The LMS's configuration address must start with https://."))
    leave_the_loop("an LMS's registration endpoints")
    try:
        config = _json(httpx.get(openid_configuration, timeout=TIMEOUT), _("configuration"))
    except httpx.HTTPError as error:
        raise DynamicRegistrationError(_("The LMS could not be reached. Try again in a minute.")) from error
    issuer = config.get("issuer")
    if not isinstance(issuer, str) or urlsplit(issuer).netloc != urlsplit(openid_configuration).netloc:
        # Spec: the issuer must match the configuration URL's host; otherwise one LMS could speak for another.
        raise DynamicRegistrationError(_("The LMS's configuration names another issuer than its own address."))
    endpoint = config.get("registration_endpoint")
    if not isinstance(endpoint, str) or not registration._url_ok(endpoint, production=production):
        raise DynamicRegistrationError(_("The LMS offers no registration endpoint."))
    headers = {"Authorization": f"Bearer {registration_token}"} if registration_token else {}
    try:
        answer = _json(
            httpx.post(endpoint, json=tool_configuration(tool), headers=headers, timeout=TIMEOUT),
            _("registration answer"),
        )
    except httpx.HTTPError as error:
        raise DynamicRegistrationError(_("The LMS could not be reached. Try again in a minute.")) from error
    client_id = answer.get("client_id")
    if not isinstance(client_id, str) or not client_id:
        raise DynamicRegistrationError(_("The LMS did not give Nabij a client id."))
    tool_config = found if isinstance(found := answer.get(TOOL_CONFIGURATION), dict) else {}
    deployment = tool_config.get("deployment_id") if isinstance(tool_config.get("deployment_id"), str) else ""
    platform_config = found if isinstance(found := config.get(PLATFORM_CONFIGURATION), dict) else {}
    name = str(platform_config.get("product_family_code") or urlsplit(issuer).netloc)[:120]
    values = {
        "issuer": issuer,
        "client_id": client_id,
        "deployment_id": deployment or ANY_DEPLOYMENT,
        "auth_login_url": str(config.get("authorization_endpoint") or ""),
        "auth_token_url": str(config.get("token_endpoint") or ""),
        "jwks_url": str(config.get("jwks_uri") or ""),
        "name": name,
    }
    try:
        return registration.register(session, values, production=production)
    except registration.RegistrationError as error:
        raise DynamicRegistrationError("; ".join(error.errors.values())) from None
