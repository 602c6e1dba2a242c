"""Creating users, logging in, changing and resetting passwords."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from sqlmodel import Session, col, func, or_, select

from app.models import PasswordReset, Role, User, aware, stored_id, utcnow
from app.services import passwords
from app.services.errors import FieldError


class AccountError(FieldError):
    """A refusal about accounts (app/services/errors.py)."""


def normalise_email(email: str) -> str:
    return email.strip().lower()


def looks_like_email(email: str) -> bool:
    local, _, domain = email.partition("@")
    # No spaces, line breaks or other control characters: an address goes into mail headers.
    return (
        bool(local)
        and "." in domain
        and len(email) <= 254
        and not any(c.isspace() or ord(c) < 32 or 127 <= ord(c) < 160 for c in email)
    )


def find_by_email(session: Session, email: str) -> User | None:
    return session.exec(select(User).where(col(User.email) == normalise_email(email))).first()


def create_user(
    session: Session, *, email: str, display_name: str, role: Role | str, password: str, verified: bool = True
) -> User:
    """A new account. Accounts made by an admin, a roster import or the demo are verified (the school
    vouches for the address); a sign-up passes verified=False until its owner opens the confirmation link."""
    from app.i18n import gettext as _

    email = normalise_email(email)
    role = Role(role)
    if not looks_like_email(email):
        raise AccountError("email", _("Fill in a valid email address, like name@school.be."))
    if not display_name.strip() or len(display_name) > 120:
        raise AccountError("display_name", _("Fill in a name of at most %(num)s characters.") % {"num": 120})
    if find_by_email(session, email) is not None:
        raise AccountError("email", _("An account with this email address already exists."))
    problem = passwords.password_problem(password, email=email, name=display_name)
    if problem:
        raise AccountError("password", problem)
    user = User(
        email=email,
        display_name=display_name.strip(),
        role=role.value,
        password_hash=passwords.hash_password(password),
        email_verified_at=utcnow() if verified else None,
    )
    session.add(user)
    session.commit()
    session.refresh(user)
    return user


def new_account_problems(session: Session, *, email: str, display_name: str, password: str | None) -> dict[str, str]:
    """Every reason these details cannot make an account, by field, all at once (a form shows them
    together); `password=None` when the person will choose it themselves through a mailed link."""
    from app.i18n import gettext as _

    problems = {}
    email = normalise_email(email)
    if not looks_like_email(email):
        problems["email"] = _("Fill in a valid email address, like name@school.be.")
    elif find_by_email(session, email) is not None:
        problems["email"] = _("An account with this email address already exists.")
    if not display_name.strip() or len(display_name) > 120:
        problems["display_name"] = _("Fill in a name of at most %(num)s characters.") % {"num": 120}
    if password is not None:
        problem = passwords.password_problem(password, email=email, name=display_name)
        if problem:
            problems["password"] = problem
    return problems


def authenticate(session: Session, *, email: str, password: str) -> User | None:
    """The active user with these credentials, or None; the same work is done either way."""
    user = find_by_email(session, email)
    valid = passwords.verify_password(user.password_hash if user else None, password)
    if not valid or user is None or not user.is_active:
        return None
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
        session.add(user)
        session.commit()
    return user


def set_password(session: Session, *, user: User, password: str) -> None:
    problem = passwords.password_problem(password, email=user.email, name=user.display_name)
    if problem:
        raise AccountError("password", problem)
    user.password_hash = passwords.hash_password(password)
    user.password_changed_at = utcnow()
    session.add(user)
    session.commit()


def start_password_reset(session: Session, *, user: User, valid_for: timedelta) -> str:
    """A one-time token for a reset link; earlier unused tokens of this user stop working."""
    for old in session.exec(
        select(PasswordReset).where(col(PasswordReset.user_id) == user.id, col(PasswordReset.used_at).is_(None))
    ):
        old.used_at = utcnow()
        session.add(old)
    token = secrets.token_urlsafe(32)
    session.add(PasswordReset(token_hash=_hash(token), user_id=stored_id(user), expires_at=utcnow() + valid_for))
    session.commit()
    return token


def redeem_password_reset(session: Session, *, token: str) -> tuple[PasswordReset, User] | None:
    row = session.exec(
        select(PasswordReset, User)
        .join(User, col(User.id) == col(PasswordReset.user_id))
        .where(col(PasswordReset.token_hash) == _hash(token))
    ).first()
    if row is None:
        return None
    reset, user = row
    if reset.used_at is not None or aware(reset.expires_at) < utcnow() or not user.is_active:
        return None
    return reset, user


def finish_password_reset(session: Session, *, reset: PasswordReset, user: User, password: str) -> None:
    set_password(session, user=user, password=password)
    reset.used_at = utcnow()
    session.add(reset)
    session.commit()


def search_users(session: Session, *, query: str = "", limit: int = 200) -> list[User]:
    statement = select(User).order_by(col(User.display_name)).limit(limit)
    if query.strip():
        pattern = f"%{query.strip().lower()}%"
        statement = statement.where(or_(func.lower(User.display_name).like(pattern), col(User.email).like(pattern)))
    return list(session.exec(statement).all())


# -- confirming an address ------------------------------------------------------------------------
# A sign-up counts towards a class's k only once its owner opened the link mailed to the address
# (docs/privacy.md): a lecturer cannot fill a class with accounts of their own making. The token is
# signed, not stored: HMAC(secret, user id, address, expiry), so it stops working when the address
# changes, and confirming twice does nothing.

CONFIRM_VALID_DAYS = 7


def confirmation_token(secret: bytes, *, user: User, now: datetime | None = None) -> str:
    expires = int(((now or utcnow()) + timedelta(days=CONFIRM_VALID_DAYS)).timestamp())
    user_id = stored_id(user)
    return f"{user_id}.{expires}.{_confirm_mac(secret, user_id, user.email, expires)}"


def _confirm_mac(secret: bytes, user_id: int, email: str, expires: int) -> str:
    return hmac.new(secret, f"confirm:{user_id}:{email}:{expires}".encode(), hashlib.sha256).hexdigest()[:32]


def user_for_confirmation(session: Session, *, secret: bytes, token: str) -> User | None:
    """The account a confirmation link is for, if the link is genuine, not expired and the account active."""
    parts = token.split(".")
    if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit() or len(token) > 100:
        return None
    user_id, expires = int(parts[0]), int(parts[1])
    if expires < utcnow().timestamp():
        return None
    user = session.get(User, user_id)
    if user is None or not user.is_active:
        return None
    if not hmac.compare_digest(parts[2], _confirm_mac(secret, user_id, user.email, expires)):
        return None
    return user


def confirm_email(session: Session, *, user: User) -> None:
    if user.email_verified_at is None:
        user.email_verified_at = utcnow()
        session.add(user)
        from app.services import notifications  # a class may now reach k (issue 21)

        notifications.on_verified(session, user_id=stored_id(user))
        session.commit()


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
