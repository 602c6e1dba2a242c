"""Platform registrations, one row per platform (issuer + client id) and deployment."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.i18n import gettext as _
from app.models import LtiPlatform

FIELDS = ("issuer", "client_id", "deployment_id", "auth_login_url", "auth_token_url", "jwks_url")
URL_FIELDS = ("auth_login_url", "auth_token_url", "jwks_url")
LIMIT = 255
URL_LIMIT = 2000


class RegistrationError(ValueError):
    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{name}: {message}" for name, message in errors.items()))
        self.errors = errors


@dataclass(frozen=True)
class ToolUrls:
    """What an LMS admin types into the LMS (shown on the registration page and in docs/lti.md)."""

    login: str
    launch: str
    jwks: str
    deep_linking: str
    base: str

    @classmethod
    def at(cls, base: str) -> ToolUrls:
        base = base.rstrip("/")
        return cls(
            login=f"{base}/lti/login",
            launch=f"{base}/lti/launch",
            jwks=f"{base}/lti/jwks",
            deep_linking=f"{base}/lti/launch",
            base=base,
        )


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _url_ok(value: str, *, production: bool) -> bool:
    parts = urlsplit(value)
    if parts.scheme == "https" and parts.netloc:
        return True
    # Plain http only for a platform on this machine during development and tests.
    return not production and parts.scheme == "http" and (parts.hostname or "") in ("127.0.0.1", "localhost", "::1")


def validate(values: dict[str, str], *, production: bool) -> dict[str, str]:
    cleaned = {name: (values.get(name) or "").strip() for name in FIELDS}
    cleaned["name"] = (values.get("name") or "").strip()
    errors: dict[str, str] = {}
    for name in FIELDS:
        if not cleaned[name]:
            errors[name] = _("Fill this in: the LMS shows it on its page for this tool.")
        elif len(cleaned[name]) > (URL_LIMIT if name in URL_FIELDS else LIMIT):
            errors[name] = _("This is too long.")
    for name in URL_FIELDS:
        if name not in errors and not _url_ok(cleaned[name], production=production):
            errors[name] = _("Give an address that starts with https://.")
    if "issuer" not in errors and not _url_ok(cleaned["issuer"], production=production):
        errors["issuer"] = _("The issuer is the LMS's address, starting with https://.")
    origins = []
    for value in (values.get("frame_origins") or "").replace(",", " ").split():
        origin = origin_of(value)
        if not _url_ok(value, production=production) or len(value) > 255:
            errors["frame_origins"] = _("Give addresses that start with https://, separated by spaces.")
            break
        origins.append(origin)
    cleaned["frame_origins"] = " ".join(dict.fromkeys(origins))
    if len(cleaned["name"]) > 120:
        errors["name"] = _("This is too long.")
    if errors:
        raise RegistrationError(errors)
    return cleaned


def register(session: Session, values: dict[str, str], *, production: bool) -> LtiPlatform:
    cleaned = validate(values, production=production)
    platform = LtiPlatform(
        name=cleaned["name"] or urlsplit(cleaned["issuer"]).netloc,
        frame_origins=cleaned["frame_origins"],
        issuer=cleaned["issuer"],
        client_id=cleaned["client_id"],
        deployment_id=cleaned["deployment_id"],
        auth_login_url=cleaned["auth_login_url"],
        auth_token_url=cleaned["auth_token_url"],
        jwks_url=cleaned["jwks_url"],
    )  # the FIELDS
    session.add(platform)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise RegistrationError({"deployment_id": _("This platform and deployment are already registered.")}) from None
    session.refresh(platform)
    return platform


def platforms(session: Session) -> list[LtiPlatform]:
    return list(session.exec(select(LtiPlatform).order_by(col(LtiPlatform.issuer), col(LtiPlatform.deployment_id))))


def remove(session: Session, *, platform_id: int) -> bool:
    platform = session.get(LtiPlatform, platform_id)
    if platform is None:
        return False
    session.delete(platform)
    session.commit()
    return True


def candidates(
    session: Session, *, issuer: str, client_id: str | None = None, deployment_id: str | None = None
) -> list[LtiPlatform]:
    statement = select(LtiPlatform).where(col(LtiPlatform.issuer) == issuer)
    if client_id:
        statement = statement.where(col(LtiPlatform.client_id) == client_id)
    if deployment_id:
        statement = statement.where(col(LtiPlatform.deployment_id) == deployment_id)
    return list(session.exec(statement.order_by(col(LtiPlatform.id))))


def origins_of(platform: LtiPlatform) -> list[str]:
    """Where this platform's pages may frame Nabij: its issuer, its login endpoint, and the origins the
    admin added (a school's own LMS domain)."""
    return list(
        dict.fromkeys([origin_of(platform.issuer), origin_of(platform.auth_login_url), *platform.frame_origins.split()])
    )


def frame_origins(session: Session) -> list[str]:
    """Origins allowed to frame LTI pages: those of every registered platform."""
    return sorted({origin for platform in platforms(session) for origin in origins_of(platform)})
