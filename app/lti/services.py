"""LTI Advantage services: OAuth2 client credentials with a signed JWT (the tool's key), Names and Role
Provisioning (roster), Assignment and Grade Services (scores, results).

Calls go out with httpx, never during a student's request: the roster sync and score posts run as jobs
(app/lti/grades.py, app/lti/roster.py), so a slow LMS never makes a page wait."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit, urlunsplit

import httpx
from sqlmodel import Session

from app.db import leave_the_loop
from app.lti import keys
from app.models import LtiPlatform, stored_id

TIMEOUT = 10.0
MAX_PAGES = 100  # a roster of 100 pages is a mistake, not a class

SCOPE_SCORE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
SCOPE_RESULTS = "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly"
SCOPE_LINEITEM = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
SCOPE_ROSTER = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

_tokens: dict[tuple[int, str], tuple[float, str]] = {}
_lock = threading.Lock()


class ServiceError(Exception):
    """The LMS refused or could not be reached; the job retries."""


def access_token(session: Session, platform: LtiPlatform, scopes: list[str]) -> str:
    leave_the_loop("an LMS's token endpoint")
    scope = " ".join(sorted(scopes))
    cache_key = (stored_id(platform), scope)
    with _lock:
        cached = _tokens.get(cache_key)
    if cached and cached[0] > time.time() + 30:
        return cached[1]
    assertion = keys.sign(
        session, {"iss": platform.client_id, "sub": platform.client_id, "aud": platform.auth_token_url}
    )
    session.commit()  # a key made on first use is kept
    try:
        response = httpx.post(
            platform.auth_token_url,
            timeout=TIMEOUT,
            data={
                "grant_type": "client_credentials",
                "client_assertion_type": ASSERTION_TYPE,
                "client_assertion": assertion,
                "scope": scope,
            },
        )
        response.raise_for_status()
        body = response.json()
        token = body["access_token"]
        expires_in = int(body.get("expires_in", 3600))
    except (httpx.HTTPError, ValueError, KeyError, TypeError) as error:
        raise ServiceError(f"token endpoint of {platform.issuer}: {error}") from error
    with _lock:
        _tokens[cache_key] = (time.time() + expires_in, token)
    return token


def clear_tokens() -> None:
    with _lock:
        _tokens.clear()


def _request(
    method: str, url: str, token: str, *, accept: str, json: dict | None = None, content_type: str | None = None
) -> httpx.Response:
    leave_the_loop("an LMS's services")
    headers = {"Authorization": f"Bearer {token}", "Accept": accept}
    if content_type:
        headers["Content-Type"] = content_type
    try:
        response = httpx.request(method, url, headers=headers, timeout=TIMEOUT, json=json)
        response.raise_for_status()
        return response
    except httpx.HTTPError as error:
        raise ServiceError(f"{method} {url}: {error}") from error


def _sub_url(lineitem_url: str, suffix: str) -> str:
    """The scores/results endpoint of a line item: its path + /scores, keeping its query (AGS 3.4)."""
    parts = urlsplit(lineitem_url)
    return urlunsplit(parts._replace(path=parts.path.rstrip("/") + suffix))


# -- NRPS ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Member:
    user_id: str
    roles: frozenset[str]
    status: str
    name: str | None
    given_name: str | None
    family_name: str | None
    email: str | None

    def claims(self) -> dict:
        return {
            key: value
            for key, value in (
                ("name", self.name),
                ("given_name", self.given_name),
                ("family_name", self.family_name),
                ("email", self.email),
            )
            if value
        }


def members(session: Session, platform: LtiPlatform, memberships_url: str) -> list[Member]:
    token = access_token(session, platform, [SCOPE_ROSTER])
    url: str | None = memberships_url
    result: list[Member] = []
    for _page in range(MAX_PAGES):
        if not url:
            break
        response = _request("GET", url, token, accept="application/vnd.ims.lti-nrps.v2.membershipcontainer+json")
        try:
            body = response.json()
        except ValueError as error:
            raise ServiceError(f"roster of {platform.issuer}: not JSON") from error
        for raw in body.get("members", []) or []:
            if not isinstance(raw, dict) or not isinstance(raw.get("user_id"), str):
                continue
            text = {
                key: raw.get(key) if isinstance(raw.get(key), str) else None
                for key in ("name", "given_name", "family_name", "email")
            }
            result.append(
                Member(
                    raw["user_id"],
                    frozenset(r for r in raw.get("roles", []) if isinstance(r, str)),
                    str(raw.get("status") or "Active"),
                    **text,
                )
            )
        url = response.links.get("next", {}).get("url") or body.get("next")
    return result


# -- AGS ----------------------------------------------------------------------------------------


def post_score(session: Session, platform: LtiPlatform, lineitem_url: str, *, user_id: str, score: float) -> None:
    """Completion only: a score of 0..1, whether the activity is complete, nothing else (no comment)."""
    complete = score >= 1.0
    token = access_token(session, platform, [SCOPE_SCORE])
    _request(
        "POST",
        _sub_url(lineitem_url, "/scores"),
        token,
        accept="application/json",
        content_type="application/vnd.ims.lis.v1.score+json",
        json={
            "userId": user_id,
            "scoreGiven": score,
            "scoreMaximum": 1,
            "activityProgress": "Completed" if complete else "InProgress",
            "gradingProgress": "FullyGraded" if complete else "Pending",
            "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        },
    )


def results(session: Session, platform: LtiPlatform, lineitem_url: str) -> list[dict]:
    token = access_token(session, platform, [SCOPE_RESULTS])
    response = _request(
        "GET", _sub_url(lineitem_url, "/results"), token, accept="application/vnd.ims.lis.v2.resultcontainer+json"
    )
    body = response.json()
    return body if isinstance(body, list) else body.get("content", body.get("results", []))
