"""Rate limits kept in the database, so they hold across all workers.

The design (issue 14 item 8, issue 17 item 1): guessing stays slow, but nobody is locked out by what
other people do.

- **Growing delays, not a wall.** A key allows `free` failures per window; after that, each further
  attempt waits since the last failure: `base`, then twice that, and so on, never longer than the
  window. A failure counts for the window, so the key frees itself again.
- **Logins** are counted per account *and device*. A browser that logged in to an account before
  carries a signed "known device" cookie for it (see `device_cookie`), and its failures count only for
  that device. Failures from unknown devices share the account's key. So someone guessing a password
  from elsewhere slows down only the unknown devices, never the owner at their own laptop; and after a
  password reset, the browser that did the reset is a known device.
  Per address, unknown devices get `throttle_address_attempts` (100 by default): a lecture hall behind
  one NAT address does not block itself after five typos, a single address trying many accounts slows.
- **Class codes** are counted per device (a student who keeps mistyping waits, nobody else does) and per
  address with the high limit, where the same wrong code counts once: forty students copying a wrong code
  from the projector are one attempt, not forty. Guessing needs different codes, and each one counts.
- Keys longer than the column are stored as a hash (`stored_key`), so they are still counted.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import TypedDict

from sqlalchemy import delete, func, select
from sqlmodel import Session, col

from app.models import ThrottleEvent, aware, utcnow

KEY_COLUMN = 200  # ThrottleEvent.key
DEVICE_COOKIE = "nabij_device"
MAX_DEVICE_ACCOUNTS = 5  # accounts remembered per browser


class Throttled(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__(retry_after)
        self.retry_after = retry_after


@dataclass(frozen=True)
class Rule:
    free: int  # failures allowed before any wait
    window: timedelta  # how long a failure counts
    base: timedelta = timedelta(minutes=1)  # the first wait; it doubles with each further failure

    def wait_after(self, failures: int) -> timedelta:
        """How long to wait after the last of `failures` failures (zero while they are free)."""
        if failures < self.free:
            return timedelta(0)
        doubling = min(failures - self.free, 20)
        return min(self.base * (2**doubling), self.window)


def stored_key(key: str) -> str:
    """The key as stored: itself when short enough, else its start and a hash of all of it."""
    if len(key) <= KEY_COLUMN:
        return key
    return key[:100] + "#" + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def wait_seconds(session: Session, key: str, rule: Rule) -> int:
    """Seconds until the next attempt on `key` is allowed; 0 when it is allowed now."""
    count, latest = session.execute(
        select(func.count(), func.max(ThrottleEvent.created_at)).where(
            col(ThrottleEvent.key) == stored_key(key), col(ThrottleEvent.created_at) > utcnow() - rule.window
        )
    ).one()
    if not count or latest is None:
        return 0
    remaining = (aware(latest) + rule.wait_after(count) - utcnow()).total_seconds()
    return int(remaining) + 1 if remaining > 0 else 0


def longest_wait(session: Session, checks: list[tuple[str, Rule]]) -> int:
    return max((wait_seconds(session, key, rule) for key, rule in checks), default=0)


def retry_after(session: Session, keys: list[str], *, limit: int, window: timedelta) -> int:
    """A plain limit: seconds until another attempt is allowed for every key; 0 when allowed now."""
    since = utcnow() - window
    wait = 0
    for key in keys:
        count, oldest = session.execute(
            select(func.count(), func.min(ThrottleEvent.created_at)).where(
                col(ThrottleEvent.key) == stored_key(key), col(ThrottleEvent.created_at) > since
            )
        ).one()
        if count >= limit and oldest is not None:
            wait = max(wait, int((aware(oldest) + window - utcnow()).total_seconds()) + 1)
    return wait


def check(session: Session, keys: list[str], *, limit: int, window: timedelta) -> None:
    wait = retry_after(session, keys, limit=limit, window=window)
    if wait > 0:
        raise Throttled(wait)


def record(session: Session, keys: list[str]) -> None:
    for key in keys:
        session.add(ThrottleEvent(key=stored_key(key)))
    session.commit()


def seen(session: Session, key: str, *, window: timedelta) -> bool:
    """Whether `key` was recorded within the window."""
    return (
        session.execute(
            select(col(ThrottleEvent.id))
            .where(col(ThrottleEvent.key) == stored_key(key), col(ThrottleEvent.created_at) > utcnow() - window)
            .limit(1)
        ).first()
        is not None
    )


def clear(session: Session, key: str) -> None:
    session.exec(delete(ThrottleEvent).where(col(ThrottleEvent.key) == stored_key(key)))
    session.commit()


def purge(session: Session, *, older_than: timedelta) -> None:
    session.exec(delete(ThrottleEvent).where(col(ThrottleEvent.created_at) < utcnow() - older_than))
    session.commit()


# -- rules from the settings ------------------------------------------------------------------------


def _hash(value: str) -> str:
    """Emails and codes are not kept in the throttle table as they were typed."""
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def email_fingerprint(email: str) -> str:
    """How an address appears inside throttle keys (erasure finds that account's rows by it)."""
    return _hash(email)


@dataclass(frozen=True)
class Limits:
    per_account: Rule
    per_address: Rule

    @classmethod
    def from_settings(cls, settings) -> Limits:
        window = timedelta(minutes=settings.throttle_window_minutes)
        return cls(Rule(settings.throttle_max_attempts, window), Rule(settings.throttle_address_attempts, window))


# -- known devices ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Device:
    """This browser: a random id, and the accounts it has logged in to (each entry signed)."""

    id: str
    accounts: frozenset[int]

    def knows(self, user_id: int | None) -> bool:
        return user_id is not None and user_id in self.accounts


def _sign(secret: bytes, device_id: str, user_id: int) -> str:
    return hmac.new(secret, f"device:{device_id}:{user_id}".encode(), hashlib.sha256).hexdigest()[:24]


def read_device(secret: bytes, cookie: str | None) -> Device | None:
    """The device in the cookie; entries that do not verify are ignored (a made-up cookie knows nothing)."""
    if not cookie or len(cookie) > 400:
        return None
    device_id, _, rest = cookie.partition(".")
    if not (16 <= len(device_id) <= 64) or not device_id.isascii():
        return None
    accounts = set()
    for entry in rest.split(".") if rest else []:
        user_part, _, signature = entry.partition("-")
        if (
            user_part.isascii()
            and user_part.isdigit()
            and len(user_part) <= 12
            and hmac.compare_digest(signature.encode(), _sign(secret, device_id, int(user_part)).encode())
        ):
            accounts.add(int(user_part))
    return Device(device_id, frozenset(accounts))


def device_cookie(secret: bytes, device: Device | None, user_id: int) -> str:
    """The cookie value after `user_id` logged in on this device (the most recent accounts are kept)."""
    device_id = device.id if device else secrets.token_urlsafe(18)
    others = [a for a in sorted(device.accounts) if a != user_id][-(MAX_DEVICE_ACCOUNTS - 1) :] if device else []
    entries = [f"{a}-{_sign(secret, device_id, a)}" for a in [*others, user_id]]
    return ".".join([device_id, *entries])


# -- logins -----------------------------------------------------------------------------------------


def login_checks(
    *, email: str, address: str, device: Device | None, user_id: int | None, limits: Limits
) -> list[tuple[str, Rule]]:
    """What a login attempt is counted against."""
    if device is not None and device.knows(user_id):
        return [(f"login:device:{device.id}:{user_id}", limits.per_account)]
    return [(f"login:account:{_hash(email)}", limits.per_account), (f"login:address:{address}", limits.per_address)]


def login_wait(session: Session, **kwargs) -> int:
    return longest_wait(session, login_checks(**kwargs))


def login_failed(session: Session, **kwargs) -> None:
    record(session, [key for key, _ in login_checks(**kwargs)])


def login_succeeded(session: Session, *, email: str, device: Device | None, user_id: int) -> None:
    """The owner got in: their own device's failures are forgotten (others' are not)."""
    if device is not None and device.knows(user_id):
        clear(session, f"login:device:{device.id}:{user_id}")


def password_was_reset(session: Session, *, email: str) -> None:
    """Proof of the mailbox: failures from unknown devices no longer hold the account back."""
    clear(session, f"login:account:{_hash(email)}")


# -- class codes ------------------------------------------------------------------------------------


def join_checks(*, address: str, browser: str | None, limits: Limits) -> list[tuple[str, Rule]]:
    """`browser`: the device id, or any other id this browser keeps (its CSRF cookie) when it has none."""
    checks = [(f"join:address:{address}", limits.per_address)]
    if browser:
        checks.append((f"join:browser:{_hash(browser)}", limits.per_account))
    return checks


class JoinAttempt(TypedDict):
    """Who tries a class code: the keyword arguments of join_wait and join_failed."""

    address: str
    browser: str | None
    limits: Limits


def join_wait(session: Session, *, address: str, browser: str | None, limits: Limits) -> int:
    return longest_wait(session, join_checks(address=address, browser=browser, limits=limits))


def join_failed(session: Session, *, address: str, browser: str | None, code: str, limits: Limits) -> None:
    """A wrong code: per browser every time; per address once per distinct code in the window."""
    keys = [f"join:browser:{_hash(browser)}"] if browser else []
    marker = f"join:tried:{_hash(address + chr(0) + code.strip().upper())}"
    if not seen(session, marker, window=limits.per_address.window):
        keys += [marker, f"join:address:{address}"]
    if keys:
        record(session, keys)
