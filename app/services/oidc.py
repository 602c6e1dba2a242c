"""Institution sign-in with OpenID Connect (SURFconext, Microsoft Entra ID): the client and the rules.

Built on Authlib's Starlette client (authorization code flow, PKCE S256, `state`, `nonce`). The ID token
is checked here, by `validate_id_token`, for every sign-in: signature against the provider's JWKS (only
asymmetric algorithms, never `none` and never a shared secret, whatever the provider advertises),
issuer, audience, expiry and nonce, with a minute of clock skew. Claims come from the ID token and the
userinfo endpoint (SURFconext releases most claims there); the userinfo `sub` must be the ID token's.

Errors are `OidcError` with a stable `kind`; the route turns each kind into a page a person can act on
and one log line for IT staff that carries no personal data (see `log_failure`).
"""

from __future__ import annotations

import logging
import types
from dataclasses import dataclass, field
from typing import Any

import httpx
from authlib.integrations.base_client import OAuthError
from authlib.integrations.starlette_client import OAuth, StarletteOAuth2App
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, KeySetSerialization
from joserfc.jws import JWSRegistry
from sqlmodel import Session

from app.config import Settings
from app.models import Role
from app.services import identities

log = logging.getLogger("nabij.oidc")

# Authlib's client is built on httpx2 where that is installed, else on httpx: catch the errors of both.
httpx2: types.ModuleType
try:
    import httpx2
except ImportError:  # pragma: no cover - depends on what pip resolved
    httpx2 = httpx
HTTP_ERRORS = tuple({httpx.HTTPError, httpx2.HTTPError})
STATUS_ERRORS = tuple({httpx.HTTPStatusError, httpx2.HTTPStatusError})

LEEWAY_SECONDS = 60  # clock skew tolerated between Nabij and the provider
HTTP_TIMEOUT = 10.0
FLOW_SECONDS = 600  # how long a started sign-in may take at the provider
# Signatures with the provider's public keys only: `none` is no signature, and HS* would be keyed with
# the client secret, which is not a key the provider publishes.
SAFE_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA", "Ed25519")
DISCOVERY_PATH = "/.well-known/openid-configuration"
CALLBACK_PATH = "/auth/oidc/callback"

KINDS = (
    "not-configured",
    "bad-config",
    "provider-down",
    "access-denied",
    "provider-error",
    "flow-expired",
    "invalid-token",
    "missing-claim",
    "not-allowed",
)


class OidcError(Exception):
    """A sign-in that cannot go on. `kind` picks the page; `detail` is for the log (never personal data)."""

    def __init__(self, kind: str, detail: str = "", *, claim: str = "") -> None:
        assert kind in KINDS, kind
        super().__init__(f"{kind}: {detail}" if detail else kind)
        self.kind, self.detail, self.claim = kind, detail, claim


def log_failure(error: OidcError, *, issuer: str) -> None:
    """The one line for IT staff. Only the kind, the issuer and a technical reason: no subject, name,
    email or token (the reason is the library's message about a claim or key, or the name of a claim)."""
    log.warning("institution sign-in failed: %s (issuer %s): %s", error.kind, issuer or "-", error.detail or "-")


# -- configuration --------------------------------------------------------------------------------


def _values(text: str) -> frozenset[str]:
    return frozenset(part.strip().lower() for part in text.split(",") if part.strip())


@dataclass(frozen=True)
class OidcConfig:
    issuer: str
    client_id: str
    client_secret: str
    name: str
    scopes: str
    role_claim: str
    student_values: frozenset[str]
    staff_values: frozenset[str]
    id_claim: str

    @property
    def enabled(self) -> bool:
        return bool(self.issuer and self.client_id)

    @property
    def discovery_url(self) -> str:
        return self.issuer.rstrip("/") + DISCOVERY_PATH


def config_from(settings: Settings) -> OidcConfig:
    secret = settings.oidc_client_secret.get_secret_value() if settings.oidc_client_secret else ""
    return OidcConfig(
        issuer=settings.oidc_issuer.strip(),
        client_id=settings.oidc_client_id.strip(),
        client_secret=secret,
        name=settings.oidc_name.strip() or "SURFconext",
        scopes=" ".join(settings.oidc_scopes.replace(",", " ").split()) or "openid",
        role_claim=settings.oidc_role_claim.strip(),
        student_values=_values(settings.oidc_student_values),
        staff_values=_values(settings.oidc_staff_values),
        id_claim=settings.oidc_id_claim.strip() or "sub",
    )


def redirect_uri(settings: Settings) -> str:
    """The redirect URI to register at the provider: from NABIJ_BASE_URL, not from the request (behind
    a proxy the request's own address is not the public one)."""
    return settings.base_url.rstrip("/") + CALLBACK_PATH


def metadata_problem(metadata: dict, config: OidcConfig) -> str | None:
    """What is wrong with a discovery document for this configuration, in one line, or None."""
    if not isinstance(metadata, dict):
        return "the discovery document is not a JSON object"
    if metadata.get("issuer") != config.issuer:
        return (
            f"the discovery document names issuer {metadata.get('issuer')!r}, but NABIJ_OIDC_ISSUER is "
            f"{config.issuer!r}: they must be exactly the same"
        )
    for key in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        if not isinstance(metadata.get(key), str) or not metadata[key]:
            return f"the discovery document has no {key}"
    if "openid" not in config.scopes.split():
        return "NABIJ_OIDC_SCOPES must contain openid"
    if not signing_algorithms(metadata):
        return (
            "the provider signs ID tokens with none of "
            + ", ".join(SAFE_ALGORITHMS[:9])
            + f" (it offers {metadata.get('id_token_signing_alg_values_supported')})"
        )
    methods = metadata.get("code_challenge_methods_supported")
    if isinstance(methods, list) and "S256" not in methods:
        return "the provider does not support PKCE with S256"
    return None


def signing_algorithms(metadata: dict) -> list[str]:
    """The ID-token algorithms accepted: what the provider advertises, minus anything unsafe."""
    offered = metadata.get("id_token_signing_alg_values_supported") or ["RS256"]
    if not isinstance(offered, list):
        return []
    return [alg for alg in offered if alg in SAFE_ALGORITHMS]


# -- the ID token -----------------------------------------------------------------------------------


def validate_id_token(
    id_token: str,
    *,
    jwks: KeySetSerialization,
    issuer: str,
    client_id: str,
    nonce: str | None,
    algorithms: list[str] | tuple[str, ...] = ("RS256",),
    access_token: str | None = None,
    leeway: int = LEEWAY_SECONDS,
    now: int | None = None,
) -> dict:
    """The verified claims of an ID token, or OidcError("invalid-token").

    Every sign-in passes here: a token that is unsigned, signed by a key not in the provider's JWKS,
    issued by another issuer or for another client, expired, or without this flow's nonce is refused."""
    if not nonce:
        raise OidcError("invalid-token", "no nonce was sent for this sign-in")
    allowed = [alg for alg in algorithms if alg in SAFE_ALGORITHMS]
    if not allowed:
        raise OidcError("invalid-token", "no safe signing algorithm")
    try:
        key_set = KeySet.import_key_set(jwks)
        token = jwt.decode(id_token, key=key_set, registry=JWSRegistry(algorithms=allowed))
    except (JoseError, ValueError, TypeError, KeyError) as error:
        raise OidcError("invalid-token", f"signature: {type(error).__name__}: {error}") from None
    options = {
        "iss": {"essential": True, "value": issuer},
        "aud": {"essential": True, "value": client_id},
        "exp": {"essential": True},
    }
    params = {"nonce": nonce, "client_id": client_id}
    if access_token:
        params["access_token"] = access_token
    claims = CodeIDToken(token.claims, token.header, options, params)
    try:
        claims.validate(now=now, leeway=leeway)
    except (JoseError, ValueError, TypeError) as error:
        raise OidcError("invalid-token", f"claims: {type(error).__name__}: {error}") from None
    return dict(claims)


class NabijOidcApp(StarletteOAuth2App):
    """Authlib's Starlette client, with the ID-token check above instead of its default one (which
    would accept whatever algorithm the provider advertises, `none` included, and checks no audience
    unless told)."""

    async def save_authorize_data(self, request, **kwargs):
        kwargs.pop("url", None)  # the flow cookie keeps what the callback needs, not the whole URL
        await super().save_authorize_data(request, **kwargs)

    async def parse_id_token(self, token, nonce, claims_options=None, claims_cls=None, leeway=LEEWAY_SECONDS):
        if "id_token" not in token:
            raise OidcError("invalid-token", "the token response has no id_token")
        metadata = await self.load_server_metadata()
        algorithms = signing_algorithms(metadata)
        jwks = await self.fetch_jwk_set()
        arguments = {
            "issuer": metadata["issuer"],
            "client_id": self.client_id,
            "nonce": nonce,
            "algorithms": algorithms,
            "access_token": token.get("access_token"),
            "leeway": leeway,
        }
        try:
            return validate_id_token(token["id_token"], jwks=jwks, **arguments)
        except OidcError:
            # A rotated key: fetch the JWKS once more, then decide.
            fresh = await self.fetch_jwk_set(force=True)
            if fresh == jwks:
                raise
            return validate_id_token(token["id_token"], jwks=fresh, **arguments)


def make_client(settings: Settings) -> NabijOidcApp:
    config = config_from(settings)
    oauth = OAuth()
    oauth.oauth2_client_cls = NabijOidcApp
    return oauth.register(
        "institution",
        client_id=config.client_id,
        client_secret=config.client_secret or None,
        server_metadata_url=config.discovery_url,
        client_kwargs={"scope": config.scopes, "code_challenge_method": "S256", "timeout": HTTP_TIMEOUT},
    )


async def load_metadata(client: NabijOidcApp, config: OidcConfig) -> dict:
    """The discovery document, checked; OidcError provider-down or bad-config."""
    try:
        metadata = await client.load_server_metadata()
    except STATUS_ERRORS as error:
        kind = "provider-down" if error.response.status_code >= 500 else "bad-config"
        raise OidcError(kind, f"discovery {config.discovery_url} answered {error.response.status_code}") from None
    except HTTP_ERRORS as error:
        raise OidcError("provider-down", f"discovery {config.discovery_url}: {type(error).__name__}") from None
    except ValueError:
        raise OidcError("bad-config", f"discovery {config.discovery_url} is not JSON") from None
    problem = metadata_problem(metadata, config)
    if problem:
        client.server_metadata.pop("_loaded_at", None)  # read it again next time: IT may fix it
        raise OidcError("bad-config", problem)
    return metadata


async def finish(client: NabijOidcApp, request, config: OidcConfig) -> dict:
    """The callback: the code exchanged (PKCE, state), the ID token validated, userinfo read.

    Returns the merged claims; raises OidcError for every failure."""
    error = request.query_params.get("error")
    if error:
        if error == "access_denied":
            raise OidcError("access-denied", "the person (or the provider's policy) declined")
        raise OidcError("provider-error", f"the provider answered error={error[:60]!r}")
    returned_issuer = request.query_params.get("iss")
    if returned_issuer is not None and returned_issuer != config.issuer:
        # RFC 9207: the answer names another issuer (a mix-up attack, or a wrong configuration).
        raise OidcError("invalid-token", "the callback's iss is not the configured issuer")
    if not request.query_params.get("state") or not request.query_params.get("code"):
        raise OidcError("flow-expired", "the callback has no state or no code")
    await load_metadata(client, config)
    try:
        token = await client.authorize_access_token(request, leeway=LEEWAY_SECONDS)
    except OidcError:
        raise
    except OAuthError as failure:
        # MismatchingStateError (no or another flow in this browser) or the token endpoint's refusal
        # (a code used twice, a wrong client secret).
        if failure.error == "mismatching_state":
            raise OidcError("flow-expired", "state does not match a sign-in started in this browser") from None
        if failure.error in ("invalid_client", "unauthorized_client"):
            raise OidcError("bad-config", f"token endpoint: {failure.error} (check the client id and secret)") from None
        raise OidcError("provider-error", f"token endpoint: {failure.error}") from None
    except HTTP_ERRORS as failure:
        raise OidcError("provider-down", f"token endpoint: {type(failure).__name__}") from None
    id_claims = token.get("userinfo")
    if not id_claims:
        raise OidcError("invalid-token", "no ID token was checked")
    userinfo = await _userinfo(client, token)
    if userinfo and userinfo.get("sub") != id_claims.get("sub"):
        raise OidcError("invalid-token", "the userinfo sub is not the ID token's sub")
    return merge_claims(dict(id_claims), userinfo)


async def _userinfo(client: NabijOidcApp, token: dict) -> dict:
    metadata = await client.load_server_metadata()
    if not metadata.get("userinfo_endpoint"):
        return {}
    try:
        return dict(await client.userinfo(token=token))
    except STATUS_ERRORS as error:
        kind = "provider-down" if error.response.status_code >= 500 else "provider-error"
        raise OidcError(kind, f"userinfo answered {error.response.status_code}") from None
    except HTTP_ERRORS as error:
        raise OidcError("provider-down", f"userinfo: {type(error).__name__}") from None
    except ValueError:
        raise OidcError("provider-error", "userinfo is not JSON (a signed userinfo is not supported)") from None


def merge_claims(id_claims: dict, userinfo: dict | None) -> dict:
    """Userinfo first, the signed ID token over it (the ID claim comes from the token when it has it)."""
    return {**(userinfo or {}), **id_claims}


# -- who the person is ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Profile:
    """What Nabij keeps from the claims: data-minimal (see app/services/identities.py)."""

    subject: str
    display_name: str
    email: str | None
    affiliations: frozenset[str] = field(default_factory=frozenset)
    student: bool = False
    staff: bool = False


def _affiliations(value: Any) -> frozenset[str]:
    items = value if isinstance(value, list) else [value] if isinstance(value, str) else []
    found = set()
    for item in items:
        if isinstance(item, str) and item.strip():
            item = item.strip().lower()
            found.add(item)
            found.add(item.split("@", 1)[0])  # eduperson_scoped_affiliation: student@school.nl
    return frozenset(found)


def profile_from_claims(claims: dict, config: OidcConfig) -> Profile:
    subject = claims.get(config.id_claim)
    if isinstance(subject, (int, float)) and not isinstance(subject, bool):
        subject = str(subject)
    if not isinstance(subject, str) or not subject.strip():
        raise OidcError("missing-claim", f"the ID claim {config.id_claim!r} was not released", claim=config.id_claim)
    name = found if isinstance(found := claims.get("name"), str) else ""
    if not name.strip():
        parts = [claims.get(key) for key in ("given_name", "family_name")]
        name = " ".join(part for part in parts if isinstance(part, str) and part.strip())
    email = claims.get("email") if isinstance(claims.get("email"), str) else None
    if not config.role_claim:  # role mapping switched off: everyone who signs in is a student
        return Profile(subject.strip(), identities.clean_name(name), identities.clean_email(email), student=True)
    if config.role_claim not in claims:
        raise OidcError(
            "missing-claim", f"the role claim {config.role_claim!r} was not released", claim=config.role_claim
        )
    affiliations = _affiliations(claims.get(config.role_claim))
    student, staff = bool(affiliations & config.student_values), bool(affiliations & config.staff_values)
    if not student and not staff:
        raise OidcError("not-allowed", f"no affiliation in {config.role_claim!r} is a student or staff value")
    return Profile(
        subject.strip(), identities.clean_name(name), identities.clean_email(email), affiliations, student, staff
    )


def sign_in(session: Session, *, issuer: str, profile: Profile) -> identities.SignIn:
    """The account for this identity: created on first sign-in, name and email updated later.

    Always the student role for a new account; a staff affiliation only makes the person eligible to
    become a lecturer (granted per class or by an admin), never admin. Raises EmailBelongsToAccount
    when a new identity's email is already a password account's (linked by signing in with both)."""
    try:
        return identities.link_or_create_user(
            session,
            issuer=issuer,
            subject=profile.subject,
            display_name=profile.display_name,
            email=profile.email,
            role=Role.STUDENT,
            lecturer_eligible=profile.staff,
        )
    except identities.EmailBelongsToAccount:
        raise
    except identities.IdentityError as error:
        if error.code == "missing-name":
            raise OidcError("missing-claim", "no name, given_name or family_name was released", claim="name") from None
        raise OidcError("missing-claim", f"identity: {error.code}", claim=config_safe(error.code)) from None


def config_safe(text: str) -> str:
    return "".join(ch for ch in text if ch.isalnum() or ch in "-_")[:40]


# -- `nabij oidc check` -----------------------------------------------------------------------------


def check_provider(settings: Settings, *, transport: httpx.BaseTransport | None = None) -> str | None:
    """Fetch the discovery document and the JWKS; what is wrong in one line, or None when all is well."""
    config = config_from(settings)
    if not config.issuer:
        return "NABIJ_OIDC_ISSUER is not set"
    if not config.issuer.startswith("https://") and settings.is_production:
        return "NABIJ_OIDC_ISSUER must be an https:// address"
    if not config.client_id:
        return "NABIJ_OIDC_CLIENT_ID is not set"
    if config.id_claim == "sub" and "login.microsoftonline.com" in config.issuer:
        return "Entra ID: set NABIJ_OIDC_ID_CLAIM=oid (its sub differs per application)"
    try:
        with httpx.Client(timeout=HTTP_TIMEOUT, transport=transport, follow_redirects=False) as http:
            answer = http.get(config.discovery_url)
            if answer.status_code != 200:
                return f"{config.discovery_url} answered HTTP {answer.status_code}"
            metadata = answer.json()
            problem = metadata_problem(metadata, config)
            if problem:
                return problem
            keys = http.get(metadata["jwks_uri"])
            if keys.status_code != 200:
                return f"{metadata['jwks_uri']} answered HTTP {keys.status_code}"
            jwks = keys.json()
    except httpx.HTTPError as error:
        return f"cannot reach {config.discovery_url}: {type(error).__name__}: {error}"
    except ValueError:
        return "the discovery document or the JWKS is not JSON"
    try:
        key_set = KeySet.import_key_set(jwks)
    except (JoseError, ValueError, TypeError, KeyError) as error:
        return f"the JWKS at {metadata['jwks_uri']} cannot be read: {error}"
    if not [key for key in key_set.keys if key.key_type in ("RSA", "EC", "OKP")]:
        return f"the JWKS at {metadata['jwks_uri']} has no public signing key"
    missing = [
        scope
        for scope in config.scopes.split()
        if isinstance(metadata.get("scopes_supported"), list) and scope not in metadata["scopes_supported"]
    ]
    if missing:
        return f"the provider does not offer the scope(s) {', '.join(missing)} (NABIJ_OIDC_SCOPES)"
    return None
