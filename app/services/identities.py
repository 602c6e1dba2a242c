"""External identities: who an institution's provider says someone is, and which Nabij account that is.

An identity is the pair (issuer, subject): the OpenID provider's issuer and the configured ID claim
(`sub`, or `oid` for Entra ID), or an LTI platform's issuer and the launch's `sub`. Accounts are found by
that pair only, never by email alone: an email address can be reassigned by an institution, released by
another provider, or typed by anyone into a sign-up form.

What is stored is data-minimal: the pair, the display name and the email address (if released) on the
account, whether a staff affiliation was released (which makes the person *eligible* to be a lecturer,
never a lecturer or admin by itself), and when the identity was first and last used.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.models import ExternalIdentity, Role, User, referenced, stored_id, utcnow
from app.services import passwords
from app.services.accounts import find_by_email, looks_like_email, normalise_email

# Accounts from a provider that released no email address get a unique, undeliverable placeholder
# (RFC 2606 reserves `.invalid`): the users.email column is required and unique.
NO_EMAIL_DOMAIN = "no-email.invalid"
NAME_LIMIT = 120
KEY_LIMIT = 255
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class IdentityError(ValueError):
    """A reason an identity cannot be linked; `code` is stable for callers and tests."""

    def __init__(self, code: str, message: str = "") -> None:
        super().__init__(message or code)
        self.code = code


class EmailBelongsToAccount(IdentityError):
    """A new identity released an email address that an existing account already has.

    The identity is NOT linked on the strength of the email alone: the owner proves the account is
    theirs by also logging in with its password (`link_identity`), or an admin links it."""

    def __init__(self, user: User) -> None:
        super().__init__("email-belongs-to-account")
        self.user = user


@dataclass(frozen=True)
class SignIn:
    user: User
    identity: ExternalIdentity
    created: bool


def has_email(user: User) -> bool:
    """False for the placeholder of an account whose provider released no address (send no mail there)."""
    return bool(user.email) and not user.email.endswith("@" + NO_EMAIL_DOMAIN)


def clean_name(value: str | None) -> str:
    return " ".join(_CONTROL.sub(" ", value or "").split())[:NAME_LIMIT]


def clean_email(value: str | None) -> str | None:
    """The normalised address, or None when it is missing or not an address."""
    if not isinstance(value, str):
        return None
    email = normalise_email(_CONTROL.sub("", value))
    return email if looks_like_email(email) and not email.endswith("@" + NO_EMAIL_DOMAIN) else None


def _check_key(issuer: str, subject: str) -> None:
    if not issuer or not subject or len(issuer) > KEY_LIMIT or len(subject) > KEY_LIMIT:
        raise IdentityError("bad-key", "issuer and subject must be 1 to 255 characters")


def find_identity(session: Session, *, issuer: str, subject: str) -> ExternalIdentity | None:
    return session.exec(
        select(ExternalIdentity).where(col(ExternalIdentity.issuer) == issuer, col(ExternalIdentity.subject) == subject)
    ).first()


def find_user(session: Session, *, issuer: str, subject: str) -> User | None:
    """The account this identity signs in as, or None (also for an unknown identity)."""
    row = session.exec(
        select(User)
        .join(ExternalIdentity, col(ExternalIdentity.user_id) == col(User.id))
        .where(col(ExternalIdentity.issuer) == issuer, col(ExternalIdentity.subject) == subject)
    ).first()
    return row


def identities_of(session: Session, *, user_id: int) -> list[ExternalIdentity]:
    return list(
        session.exec(
            select(ExternalIdentity)
            .where(col(ExternalIdentity.user_id) == user_id)
            .order_by(col(ExternalIdentity.created_at))
        )
    )


def is_lecturer_eligible(session: Session, *, user_id: int) -> bool:
    return (
        session.exec(
            select(ExternalIdentity.id).where(
                col(ExternalIdentity.user_id) == user_id, ExternalIdentity.lecturer_eligible
            )
        ).first()
        is not None
    )


def _mark_verified(user: User) -> None:
    # An institution (or LMS) vouches for this person: a verified identity (docs/privacy.md).
    if hasattr(user, "email_verified_at") and getattr(user, "email_verified_at", None) is None:
        user.email_verified_at = utcnow()


def _unusable_password() -> str:
    # A hash of a secret nobody knows: the password form can never log in to this account, and
    # trying takes as long as for any other account.
    return passwords.hash_password(secrets.token_urlsafe(32))


def _update_profile(session: Session, user: User, *, display_name: str, email: str | None) -> None:
    if display_name:
        user.display_name = display_name
    if email and email != user.email:
        owner = find_by_email(session, email)
        if owner is None:  # an address another account already uses is not taken over
            user.email = email
    _mark_verified(user)
    session.add(user)


def link_or_create_user(
    session: Session,
    *,
    issuer: str,
    subject: str,
    display_name: str,
    email: str | None = None,
    role: Role | str = Role.STUDENT,
    lecturer_eligible: bool = False,
) -> SignIn:
    """Sign-in by an external identity: the linked account (name and email updated), or a new one.

    `role` is used only for a new account and may not be admin; it never changes an existing
    account's role. Raises EmailBelongsToAccount when a new identity's email is already an account's,
    and IdentityError("missing-name") when a new account would have no name."""
    _check_key(issuer, subject)
    role = Role(role)
    if role == Role.ADMIN:
        raise IdentityError("admin-from-claims", "an external identity never makes an admin")
    display_name, email = clean_name(display_name), clean_email(email)
    identity = find_identity(session, issuer=issuer, subject=subject)
    if identity is not None:
        user = referenced(session, User, identity.user_id)
        _update_profile(session, user, display_name=display_name, email=email)
        identity.last_seen_at = utcnow()
        identity.lecturer_eligible = lecturer_eligible
        session.add(identity)
        session.commit()
        return SignIn(user, identity, created=False)
    if not display_name:
        raise IdentityError("missing-name", "no display name for a new account")
    if email is not None:
        existing = find_by_email(session, email)
        if existing is not None:
            raise EmailBelongsToAccount(existing)
    user = User(
        email=email or f"{secrets.token_hex(10)}@{NO_EMAIL_DOMAIN}",
        display_name=display_name,
        role=role.value,
        password_hash=_unusable_password(),
    )
    _mark_verified(user)
    try:
        session.add(user)
        session.flush()
        identity = ExternalIdentity(
            issuer=issuer, subject=subject, user_id=stored_id(user), lecturer_eligible=lecturer_eligible
        )
        session.add(identity)
        session.commit()
    except IntegrityError:
        # The same person's second tab won the race: use the account it made.
        session.rollback()
        identity = find_identity(session, issuer=issuer, subject=subject)
        if identity is None:
            raise
        return SignIn(referenced(session, User, identity.user_id), identity, created=False)
    session.refresh(user)
    return SignIn(user, identity, created=True)


def link_identity(
    session: Session,
    *,
    user: User,
    issuer: str,
    subject: str,
    lecturer_eligible: bool = False,
    move: bool = False,
    display_name: str = "",
    email: str | None = None,
) -> ExternalIdentity:
    """Link an identity to an existing account.

    A person may do this once per issuer, after proving both (institution sign-in and password):
    raises IdentityError("already-linked") when the account already has an identity at this issuer,
    or IdentityError("identity-in-use") when the identity signs in as another account. An admin passes
    move=True to re-link (pairwise or changed subjects): the identity moves, the old link goes."""
    _check_key(issuer, subject)
    identity = find_identity(session, issuer=issuer, subject=subject)
    if identity is not None and identity.user_id == user.id:
        return identity
    if identity is not None and not move:
        raise IdentityError("identity-in-use")
    if not move and any(other.issuer == issuer for other in identities_of(session, user_id=stored_id(user))):
        raise IdentityError("already-linked")
    if identity is None:
        identity = ExternalIdentity(
            issuer=issuer, subject=subject, user_id=stored_id(user), lecturer_eligible=lecturer_eligible
        )
    else:
        identity.user_id = stored_id(user)
        identity.lecturer_eligible = identity.lecturer_eligible or lecturer_eligible
    identity.last_seen_at = utcnow()
    session.add(identity)
    _update_profile(session, user, display_name=clean_name(display_name), email=clean_email(email))
    session.commit()
    session.refresh(identity)
    return identity


def unlink_identity(session: Session, *, identity_id: int) -> bool:
    identity = session.get(ExternalIdentity, identity_id)
    if identity is None:
        return False
    session.delete(identity)
    session.commit()
    return True


def make_lecturer_if_eligible(session: Session, *, user: User) -> bool:
    """Grant the lecturer role to a student whose institution released a staff affiliation.

    Called when a lecturer adds them to a class or an admin grants it; True when the role changed."""
    if user.role != Role.STUDENT or not user.is_active or not is_lecturer_eligible(session, user_id=stored_id(user)):
        return False
    user.role = Role.LECTURER.value
    session.add(user)
    session.commit()
    return True
