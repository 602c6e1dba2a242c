"""LTI 1.3 launch: third-party-initiated login, the authentication request, and the signed id_token.

The checks, in order (each failure is a LaunchError with a stable code and a page that says what to do):
state known and unused (consumed at once: single use everywhere), login not older than LOGIN_LIFETIME,
signature against the platform's JWKS (RS256 only), iss, aud/azp, exp/iat, nonce equal to the login's,
deployment registered for this platform, LTI version 1.3.0, a message type we handle, a subject.
Then the browser: the state cookie set at login must come back, or the launch was opened in a frame
whose third-party cookies are blocked (or in another browser): such a launch gets the "open in a new
window" page, which starts a fresh login, never a session.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import date, timedelta
from urllib.parse import urlencode, urlsplit

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwt import JWTClaimsRegistry
from sqlalchemy import update
from sqlmodel import Session, col, select

from app.i18n import gettext as _
from app.lti import platform_keys, registration
from app.models import (
    Assignment,
    ClassLecturer,
    CourseClass,
    Enrolment,
    LtiContext,
    LtiLogin,
    LtiPlatform,
    LtiResourceLink,
    Role,
    User,
    aware,
    referenced,
    school_today,
    stored_id,
    utcnow,
)
from app.services import identities

LOGIN_LIFETIME = timedelta(minutes=10)
LEEWAY = 60  # seconds of clock difference tolerated for exp/iat

CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
DL_CLAIM = "https://purl.imsglobal.org/spec/lti-dl/claim/"
AGS_CLAIM = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
NRPS_CLAIM = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"
RESOURCE_LINK = "LtiResourceLinkRequest"
DEEP_LINKING = "LtiDeepLinkingRequest"
MESSAGE_TYPES = (RESOURCE_LINK, DEEP_LINKING)

# Context roles (LIS vocabulary); the short forms are allowed by LTI 1.3 as deprecated aliases.
MEMBERSHIP = "http://purl.imsglobal.org/vocab/lis/v2/membership"
INSTRUCTOR_ROLES = frozenset(
    {
        f"{MEMBERSHIP}#Instructor",
        f"{MEMBERSHIP}/Instructor#TeachingAssistant",
        f"{MEMBERSHIP}#TeachingAssistant",
        "Instructor",
        "TeachingAssistant",
    }
)
LEARNER_ROLES = frozenset({f"{MEMBERSHIP}#Learner", "Learner"})

# Custom parameters a deep link sets on the resource link (app/lti/deep_linking.py).
CUSTOM_MODULE = "nabij_module"
CUSTOM_DUE = "nabij_due"
DEFAULT_DUE_DAYS = 28


def _messages() -> dict[str, tuple[str, str]]:
    return {
        "unknown-platform": (
            _("This LMS is not registered with Nabij"),
            _("Ask your institution's Nabij administrator to register this LMS (docs/lti.md)."),
        ),
        "bad-target": (
            _("This link does not lead to Nabij"),
            _(
                "The LMS asked Nabij to open an address that is not Nabij's. Ask the LMS administrator to check the tool's settings."
            ),
        ),
        "missing": (_("The LMS sent an incomplete launch"), _("Open the activity in your course again.")),
        "unknown-state": (
            _("This launch did not start here"),
            _("Nabij did not start this sign-in, or it has already ended. Open the activity in your course again."),
        ),
        "replayed": (
            _("This launch was already used"),
            _("Each launch signs in once. Open the activity in your course again."),
        ),
        "login-expired": (_("This launch took too long"), _("Open the activity in your course again.")),
        "jwks": (
            _("Nabij could not check the LMS's signature"),
            _(
                "The LMS's public keys could not be fetched. Try again in a minute; if it keeps happening, tell the LMS administrator."
            ),
        ),
        "signature": (
            _("The launch's signature is not valid"),
            _("This launch was not signed by the registered LMS. Open the activity in your course again."),
        ),
        "issuer": (
            _("The launch came from another LMS"),
            _("The launch names another LMS than the one this sign-in started with."),
        ),
        "audience": (
            _("The launch was meant for another tool"),
            _("The launch is addressed to another client id than Nabij's registration."),
        ),
        "expired": (_("The launch has expired"), _("Open the activity in your course again.")),
        "nonce": (_("The launch does not match this sign-in"), _("Open the activity in your course again.")),
        "unknown-deployment": (
            _("This deployment of Nabij is not registered"),
            _("Ask your Nabij administrator to register this deployment id of the LMS."),
        ),
        "version": (_("This LTI version is not supported"), _("Nabij supports LTI 1.3.")),
        "message-type": (
            _("Nabij cannot handle this kind of launch"),
            _("Nabij handles resource links and deep linking."),
        ),
        "no-subject": (
            _("The LMS did not say who you are"),
            _("Anonymous launches are not supported: the LMS must send a user id."),
        ),
        "no-context": (
            _("The launch is not from a course"),
            _("Add Nabij to a course in the LMS and open it from there."),
        ),
        "no-role": (
            _("Your role in this course has no access to Nabij"),
            _("Nabij opens for students (Learner) and lecturers (Instructor, Teaching Assistant) of a course."),
        ),
        "email-in-use": (
            _("Your email address already has a Nabij account"),
            _(
                "Log in to Nabij with your password once and link your LMS account under Account, or ask an administrator to link it."
            ),
        ),
        "inactive": (_("Your Nabij account is deactivated"), _("Ask an administrator.")),
        "not-set-up": (
            _("This activity is not set up yet"),
            _("Your lecturer has not chosen a module for this link yet."),
        ),
    }


class LaunchError(Exception):
    def __init__(self, code: str, status: int = 400) -> None:
        super().__init__(code)
        self.code, self.status = code, status

    @property
    def title(self) -> str:
        return _messages()[self.code][0]

    @property
    def detail(self) -> str:
        return _messages()[self.code][1]


def state_hash(state: str) -> str:
    return hashlib.sha256(f"lti-state:{state}".encode()).hexdigest()


def state_cookie_name(state: str) -> str:
    """One cookie per login: two tabs launching at once do not overwrite each other's."""
    return "nabij_lti_" + hashlib.sha256(f"lti-cookie:{state}".encode()).hexdigest()[:16]


# -- 1. login initiation ------------------------------------------------------------------------


@dataclass(frozen=True)
class LoginStart:
    state: str
    redirect_url: str


def start_login(session: Session, params: dict[str, str], *, tool: registration.ToolUrls) -> LoginStart:
    issuer = params.get("iss", "")
    login_hint = params.get("login_hint", "")
    target = params.get("target_link_uri", "")
    if not issuer or not login_hint or not target:
        raise LaunchError("missing")
    found = registration.candidates(
        session,
        issuer=issuer,
        client_id=params.get("client_id") or None,
        deployment_id=params.get("lti_deployment_id") or None,
    )
    if not found and params.get("lti_deployment_id"):
        found = [
            row
            for row in registration.candidates(session, issuer=issuer, client_id=params.get("client_id") or None)
            if row.deployment_id == "*"
        ]
    if not found:
        raise LaunchError("unknown-platform")
    platform = found[0]
    if not (target == tool.base or target.startswith(tool.base + "/")):
        raise LaunchError("bad-target")
    state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    session.add(
        LtiLogin(
            state_hash=state_hash(state),
            nonce=nonce,
            platform_id=stored_id(platform),
            login_hint=login_hint[:4000],
            message_hint=params.get("lti_message_hint", "")[:4000],
            target_link_uri=target[:2000],
        )
    )
    session.commit()
    query = {
        "scope": "openid",
        "response_type": "id_token",
        "response_mode": "form_post",
        "prompt": "none",
        "client_id": platform.client_id,
        "redirect_uri": tool.launch,
        "login_hint": login_hint,
        "state": state,
        "nonce": nonce,
    }
    if params.get("lti_message_hint"):
        query["lti_message_hint"] = params["lti_message_hint"]
    separator = "&" if urlsplit(platform.auth_login_url).query else "?"
    return LoginStart(state, f"{platform.auth_login_url}{separator}{urlencode(query)}")


def _registered(session: Session, platform_id: int) -> LtiPlatform:
    """The platform a login started with; gone only when its registration was removed since."""
    platform = session.get(LtiPlatform, platform_id)
    if platform is None:
        raise LaunchError("unknown-platform")
    return platform


def relogin_fields(session: Session, login: LtiLogin) -> dict[str, str]:
    """The login parameters again, for the "open in a new window" form (a fresh state and nonce there)."""
    platform = _registered(session, login.platform_id)
    fields = {
        "iss": platform.issuer,
        "login_hint": login.login_hint,
        "target_link_uri": login.target_link_uri,
        "client_id": platform.client_id,
        "lti_deployment_id": platform.deployment_id,
    }
    if login.message_hint:
        fields["lti_message_hint"] = login.message_hint
    return fields


# -- 2. the launch --------------------------------------------------------------------------------


@dataclass
class Launch:
    platform: LtiPlatform
    claims: dict
    login: LtiLogin

    @property
    def message_type(self) -> str:
        return self.claims[CLAIM + "message_type"]

    @property
    def roles(self) -> set[str]:
        roles = self.claims.get(CLAIM + "roles") or []
        return {role for role in roles if isinstance(role, str)}

    @property
    def is_instructor(self) -> bool:
        return bool(self.roles & INSTRUCTOR_ROLES)

    @property
    def is_learner(self) -> bool:
        return bool(self.roles & LEARNER_ROLES)

    def claim(self, name: str) -> dict:
        value = self.claims.get(CLAIM + name)
        return value if isinstance(value, dict) else {}


@dataclass(frozen=True)
class NeedsNewWindow:
    """The launch was valid, but this browser did not keep the state cookie (third-party cookies)."""

    fields: dict[str, str]


def consume_login(session: Session, state: str) -> LtiLogin:
    login = session.exec(select(LtiLogin).where(col(LtiLogin.state_hash) == state_hash(state))).first()
    if login is None:
        raise LaunchError("unknown-state")
    # One conditional UPDATE: of two requests with the same state, exactly one wins, on any worker.
    result = session.exec(
        update(LtiLogin).where(col(LtiLogin.id) == login.id, col(LtiLogin.used_at).is_(None)).values(used_at=utcnow())
    )
    session.commit()
    if result.rowcount != 1:
        raise LaunchError("replayed")
    if utcnow() - aware(login.created_at) > LOGIN_LIFETIME:
        raise LaunchError("login-expired")
    return login


def _verify(token: str, platform: LtiPlatform) -> dict:
    try:
        keys = platform_keys.key_set(platform.jwks_url)
    except platform_keys.JwksUnavailable:
        raise LaunchError("jwks", 502) from None
    try:
        try:
            decoded = jwt.decode(token, keys, algorithms=["RS256"])
        except (ValueError, JoseError):
            # Perhaps the platform rotated its key since we cached its set: fetch once more.
            decoded = jwt.decode(token, platform_keys.key_set(platform.jwks_url, refresh=True), algorithms=["RS256"])
    except platform_keys.JwksUnavailable:
        raise LaunchError("jwks", 502) from None
    except (ValueError, JoseError):
        raise LaunchError("signature") from None
    return dict(decoded.claims)


def _check_claims(claims: dict, platform: LtiPlatform, nonce: str) -> None:
    if claims.get("iss") != platform.issuer:
        raise LaunchError("issuer")
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    if platform.client_id not in audiences:
        raise LaunchError("audience")
    if (len(audiences) > 1 or "azp" in claims) and claims.get("azp") != platform.client_id:
        raise LaunchError("audience")
    registry = JWTClaimsRegistry(leeway=LEEWAY, exp={"essential": True}, iat={"essential": True})
    try:
        registry.validate(claims)
    except JoseError:
        raise LaunchError("expired") from None
    if not secrets.compare_digest(str(claims.get("nonce", "")), nonce):
        raise LaunchError("nonce")


def validate_launch(
    session: Session, *, id_token: str, state: str, cookie_state: str | None
) -> Launch | NeedsNewWindow:
    if not id_token or not state or len(id_token) > 100_000 or len(state) > 200:
        raise LaunchError("missing")
    login = consume_login(session, state)
    started = _registered(session, login.platform_id)
    claims = _verify(id_token, started)
    _check_claims(claims, started, login.nonce)
    deployment = claims.get(CLAIM + "deployment_id")
    if not isinstance(deployment, str):
        raise LaunchError("unknown-deployment")
    found = registration.candidates(
        session, issuer=started.issuer, client_id=started.client_id, deployment_id=deployment
    )
    if not found:
        # Registered dynamically without a deployment id (Canvas): any deployment of this client.
        found = registration.candidates(session, issuer=started.issuer, client_id=started.client_id, deployment_id="*")
    if not found:
        raise LaunchError("unknown-deployment")
    if claims.get(CLAIM + "version") != "1.3.0":
        raise LaunchError("version")
    if claims.get(CLAIM + "message_type") not in MESSAGE_TYPES:
        raise LaunchError("message-type")
    if not isinstance(claims.get("sub"), str) or not claims["sub"]:
        raise LaunchError("no-subject")
    if not cookie_state or not secrets.compare_digest(cookie_state, state):
        return NeedsNewWindow(relogin_fields(session, login))
    return Launch(found[0], claims, login)


# -- 3. what the launch means in Nabij ------------------------------------------------------------


@dataclass
class Landing:
    user: User
    course_class: CourseClass
    context: LtiContext
    path: str
    resource_link: LtiResourceLink | None = None
    notices: list[str] = field(default_factory=list)


def _name(claims: dict, subject: str) -> str:
    name = identities.clean_name(claims.get("name") if isinstance(claims.get("name"), str) else "")
    if not name:
        parts = [claims.get(part) for part in ("given_name", "family_name")]
        name = identities.clean_name(" ".join(part for part in parts if isinstance(part, str)))
    if not name:
        # No name released (a privacy setting of the LMS): a stable, recognisable placeholder.
        code = hashlib.sha256(subject.encode()).hexdigest()[:6].upper()
        name = _("LMS user %(code)s") % {"code": code}
    return name


def account_for(session: Session, *, platform: LtiPlatform, subject: str, claims: dict, instructor: bool) -> User:
    """The account of (issuer, sub): found, or made; an instructor becomes a lecturer, nobody an admin."""
    email = claims.get("email") if isinstance(claims.get("email"), str) else None
    try:
        sign_in = identities.link_or_create_user(
            session,
            issuer=platform.issuer,
            subject=subject,
            display_name=_name(claims, subject),
            email=email,
            role=Role.LECTURER if instructor else Role.STUDENT,
        )
    except identities.EmailBelongsToAccount:
        raise LaunchError("email-in-use", 409) from None
    except identities.IdentityError:
        raise LaunchError("no-subject") from None
    user = sign_in.user
    if not user.is_active:
        raise LaunchError("inactive", 403)
    if instructor and user.role == Role.STUDENT.value:
        # The LMS vouches for the Instructor role in this course (the platform is registered by an admin).
        user.role = Role.LECTURER.value
        session.add(user)
        session.commit()
    return user


def context_class(session: Session, *, platform: LtiPlatform, claims: dict) -> LtiContext:
    """The Nabij class of this LMS course, made on its first launch and named after the course.

    Keyed on (platform registration, context id): the same context id from another platform is
    another course, and never reaches this one's class."""
    context = claims.get(CLAIM + "context")
    if not isinstance(context, dict) or not isinstance(context.get("id"), str) or not context["id"]:
        raise LaunchError("no-context")
    context_id = context["id"][:255]
    row = session.exec(
        select(LtiContext).where(col(LtiContext.platform_id) == platform.id, col(LtiContext.context_id) == context_id)
    ).first()
    nrps = claims.get(NRPS_CLAIM)
    memberships_url = nrps.get("context_memberships_url", "") if isinstance(nrps, dict) else ""
    if row is None:
        title = next(
            (
                identities.clean_name(context.get(key))
                for key in ("title", "label")
                if isinstance(context.get(key), str) and identities.clean_name(context.get(key))
            ),
            (_("Course from %(lms)s") % {"lms": platform.name})[:120],
        )
        course_class = CourseClass(name=title, programme=platform.name[:120])
        session.add(course_class)
        session.flush()
        row = LtiContext(platform_id=stored_id(platform), context_id=context_id, class_id=stored_id(course_class))
    if isinstance(memberships_url, str) and memberships_url:
        row.memberships_url = memberships_url[:2000]
    session.add(row)
    session.commit()
    return row


def join_class(session: Session, *, course_class: CourseClass, user: User, instructor: bool) -> None:
    if instructor or user.role == Role.ADMIN.value:
        if session.get(ClassLecturer, (course_class.id, user.id)) is None:
            session.add(ClassLecturer(class_id=stored_id(course_class), user_id=stored_id(user)))
    elif session.get(Enrolment, (course_class.id, user.id)) is None:
        session.add(Enrolment(class_id=stored_id(course_class), user_id=stored_id(user)))
    session.commit()


def _due(value) -> date:
    try:
        return (
            date.fromisoformat(value)
            if isinstance(value, str) and value
            else school_today() + timedelta(days=DEFAULT_DUE_DAYS)
        )
    except ValueError:
        return school_today() + timedelta(days=DEFAULT_DUE_DAYS)


def resource_link(
    session: Session, *, launch: Launch, context: LtiContext, course_class: CourseClass, catalogue
) -> LtiResourceLink:
    link_claim = launch.claim("resource_link")
    link_id = link_claim.get("id")
    if not isinstance(link_id, str) or not link_id:
        raise LaunchError("missing")
    row = session.exec(
        select(LtiResourceLink).where(
            col(LtiResourceLink.platform_id) == launch.platform.id,
            col(LtiResourceLink.resource_link_id) == link_id[:255],
        )
    ).first()
    if row is None:
        row = LtiResourceLink(
            platform_id=stored_id(launch.platform), lti_context_id=stored_id(context), resource_link_id=link_id[:255]
        )
    ags = launch.claims.get(AGS_CLAIM)
    if isinstance(ags, dict) and isinstance(ags.get("lineitem"), str):
        row.lineitem_url = ags["lineitem"][:2000]
    custom = launch.claim("custom")
    slug = custom.get(CUSTOM_MODULE)
    if row.assignment_id is None and isinstance(slug, str) and catalogue.get(slug) is not None:
        assignment = session.exec(
            select(Assignment).where(col(Assignment.class_id) == course_class.id, col(Assignment.module_slug) == slug)
        ).first()
        if assignment is None:
            assignment = Assignment(
                class_id=stored_id(course_class), module_slug=slug, due_on=_due(custom.get(CUSTOM_DUE))
            )
            session.add(assignment)
            session.flush()
        row.assignment_id = assignment.id
    if row.lineitem_url and not course_class.completion_rule:
        # The LMS made a gradebook column for this link (the lecturer asked for grades when placing it):
        # completion goes there, by the default rule. A lecturer can change the rule in the class settings.
        course_class.completion_rule = "submitted"
        session.add(course_class)
    session.add(row)
    session.commit()
    return row


def land(session: Session, launch: Launch, *, catalogue) -> Landing:
    """Account, class, membership and assignment for a resource-link launch; where to send the person."""
    instructor = launch.is_instructor
    if not instructor and not launch.is_learner:
        raise LaunchError("no-role", 403)
    context = context_class(session, platform=launch.platform, claims=launch.claims)
    user = account_for(
        session, platform=launch.platform, subject=launch.claims["sub"], claims=launch.claims, instructor=instructor
    )
    course_class = referenced(session, CourseClass, context.class_id)
    join_class(session, course_class=course_class, user=user, instructor=instructor)
    landing = Landing(user, course_class, context, f"/classes/{course_class.id}")
    if launch.message_type == DEEP_LINKING:
        return landing
    link = resource_link(session, launch=launch, context=context, course_class=course_class, catalogue=catalogue)
    landing.resource_link = link
    assignment = session.get(Assignment, link.assignment_id) if link.assignment_id else None
    if assignment is not None and not (instructor or user.role == Role.ADMIN.value):
        landing.path = f"/modules/{assignment.module_slug}"
    elif assignment is None and not (instructor or user.role == Role.ADMIN.value):
        raise LaunchError("not-set-up", 404)
    return landing


def purge_logins(session: Session) -> int:
    """Logins older than a day: used or expired long ago, of no use to anyone (state and nonce are
    unique, so a used one is refused as unknown after this, which is just as final)."""
    from sqlalchemy import delete

    result = session.exec(
        delete(LtiLogin)
        .where(col(LtiLogin.created_at) < utcnow() - timedelta(days=1))
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return result.rowcount or 0
