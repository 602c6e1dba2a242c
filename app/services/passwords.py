"""Password hashing (argon2id) and the password policy (ASVS 6.2)."""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from app.db import leave_the_loop
from app.i18n import gettext as _

MIN_LENGTH = 10
MAX_LENGTH = 256

# OWASP's minimum for argon2id: 19 MiB, 2 iterations, 1 lane.
hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)

# Verifying against this keeps unknown accounts as slow as known ones (no user enumeration by timing).
DUMMY_HASH = hasher.hash("nabij-timing-equaliser")


@cache
def common_passwords() -> frozenset[str]:
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


def password_problem(password: str, *, email: str = "", name: str = "") -> str | None:
    """Why a new password is refused, or None. No composition rules (ASVS 6.2.5)."""
    if len(password) < MIN_LENGTH:
        return _("Use at least %(num)s characters.") % {"num": MIN_LENGTH}
    if len(password) > MAX_LENGTH:
        return _("Use at most %(num)s characters.") % {"num": MAX_LENGTH}
    lowered = password.lower()
    if lowered in common_passwords() or len(set(lowered)) < 4:
        return _("This password is too common. Choose something others would not guess.")
    for personal in (email.lower(), email.lower().split("@")[0], name.lower()):
        if personal and len(personal) >= 4 and personal in lowered:
            return _("Do not use your name or email address in your password.")
    return None


def hash_password(password: str) -> str:
    leave_the_loop("an argon2 hash")  # tens of milliseconds, and it releases the GIL: a thread's work
    return hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    leave_the_loop("an argon2 hash")
    try:
        return hasher.verify(stored_hash or DUMMY_HASH, password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return hasher.check_needs_rehash(stored_hash)
