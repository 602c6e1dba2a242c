"""Deep linking (LTI-DL 2.0): a lecturer in the LMS picks a module, Nabij answers with a signed
LtiDeepLinkingResponse holding one ltiResourceLink (and a line item when grades are wanted).

Between the validated LtiDeepLinkingRequest and the lecturer's choice, the request's settings travel in
the picker form, signed with the tool's secret (HMAC) and bound to the lecturer's account and a
deadline, so nobody can make Nabij sign a response for another platform, deployment or return URL."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from datetime import date

from sqlmodel import Session

from app.i18n import gettext as _
from app.lti import keys
from app.lti.launch import CLAIM, CUSTOM_DUE, CUSTOM_MODULE, DL_CLAIM, Launch
from app.models import LtiPlatform

PICK_LIFETIME = 3600  # seconds a lecturer may take to choose


class DeepLinkError(ValueError):
    pass


@dataclass(frozen=True)
class Pending:
    platform_id: int
    user_id: int
    return_url: str
    data: str | None
    deployment_id: str
    accept_line_item: bool


def _sign(secret: bytes, payload: bytes) -> str:
    return hmac.new(secret, b"lti-deep-link:" + payload, hashlib.sha256).hexdigest()


def pending_token(secret: bytes, launch: Launch, *, user_id: int) -> str:
    settings = launch.claims.get(DL_CLAIM + "deep_linking_settings") or {}
    if not isinstance(settings, dict) or not isinstance(settings.get("deep_link_return_url"), str):
        raise DeepLinkError("no return url")
    accept = settings.get("accept_types") or []
    if "ltiResourceLink" not in accept:
        raise DeepLinkError("ltiResourceLink not accepted")
    body = {
        "p": launch.platform.id,
        "u": user_id,
        "r": settings["deep_link_return_url"],
        "d": settings.get("data") if isinstance(settings.get("data"), str) else None,
        "dep": launch.claims[CLAIM + "deployment_id"],
        "li": bool(settings.get("accept_lineitem", True)),
        "x": int(time.time()) + PICK_LIFETIME,
    }
    raw = base64.urlsafe_b64encode(json.dumps(body, separators=(",", ":")).encode())
    return f"{raw.decode()}.{_sign(secret, raw)}"


def read_pending(secret: bytes, token: str, *, user_id: int) -> Pending:
    raw, _dot, mac = (token or "").partition(".")
    if not raw or not hmac.compare_digest(mac, _sign(secret, raw.encode())):
        raise DeepLinkError(
            _("This choice did not come from a launch of your LMS. Open the selection from the LMS again.")
        )
    body = json.loads(base64.urlsafe_b64decode(raw.encode()))
    if body["u"] != user_id:
        raise DeepLinkError(_("This choice belongs to another account. Open the selection from the LMS again."))
    if body["x"] < time.time():
        raise DeepLinkError(_("This choice has expired. Open the selection from the LMS again."))
    return Pending(body["p"], body["u"], body["r"], body["d"], body["dep"], body["li"])


def response_jwt(
    session: Session,
    pending: Pending,
    *,
    platform: LtiPlatform,
    launch_url: str,
    module,
    due_on: date | None,
    grades: bool,
) -> str:
    custom = {CUSTOM_MODULE: module.slug}
    if due_on is not None:
        custom[CUSTOM_DUE] = due_on.isoformat()
    item: dict = {"type": "ltiResourceLink", "title": module.title, "url": launch_url, "custom": custom}
    if grades and pending.accept_line_item:
        item["lineItem"] = {"scoreMaximum": 1, "label": module.title, "resourceId": module.slug}
    claims = {
        "iss": platform.client_id,
        "aud": platform.issuer,
        "azp": platform.client_id,
        "nonce": keys.uuid.uuid4().hex,
        CLAIM + "message_type": "LtiDeepLinkingResponse",
        CLAIM + "version": "1.3.0",
        CLAIM + "deployment_id": pending.deployment_id,
        DL_CLAIM + "content_items": [item],
        DL_CLAIM + "msg": _("Nabij module added: %(title)s") % {"title": module.title},
    }
    if pending.data is not None:
        claims[DL_CLAIM + "data"] = pending.data
    token = keys.sign(session, claims)
    session.commit()
    return token
