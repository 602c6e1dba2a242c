"""The tool's own RSA keys: generated on first use, rotated with `nabij lti rotate-key`, published at /lti/jwks.

A retired key stays in the JWKS for KEEP_RETIRED, longer than any token signed with it lives (client
assertions and deep-linking responses: 5 minutes), so a platform that cached our JWKS keeps verifying."""

from __future__ import annotations

import json
import time
import uuid
from datetime import timedelta

from joserfc import jwt
from joserfc.jwk import RSAKey
from sqlmodel import Session, col, select

from app.models import LtiKey, aware, utcnow

KEY_BITS = 2048
KEEP_RETIRED = timedelta(hours=24)
TOKEN_LIFETIME = 300  # seconds: client assertions and deep-linking responses


def _new_key(session: Session) -> LtiKey:
    key = RSAKey.generate_key(KEY_BITS, auto_kid=True)
    assert key.kid is not None, "auto_kid gives the key an id"
    row = LtiKey(kid=key.kid, private_jwk=json.dumps(key.as_dict(private=True)))
    session.add(row)
    session.flush()
    return row


def current_key(session: Session) -> LtiKey:
    """The key that signs now; made on first use (and committed by the caller)."""
    row = session.exec(select(LtiKey).where(col(LtiKey.retired_at).is_(None)).order_by(col(LtiKey.id).desc())).first()
    return row if row is not None else _new_key(session)


def ensure_key(session: Session) -> LtiKey:
    row = current_key(session)
    session.commit()
    return row


def rotate(session: Session) -> tuple[LtiKey, list[LtiKey]]:
    """A new signing key; the previous ones are retired (kept in the JWKS for KEEP_RETIRED)."""
    retired = list(session.exec(select(LtiKey).where(col(LtiKey.retired_at).is_(None))))
    now = utcnow()
    for row in retired:
        row.retired_at = now
        session.add(row)
    row = _new_key(session)
    # Keys retired long ago are of no use to anyone: delete them.
    for old in session.exec(select(LtiKey).where(col(LtiKey.retired_at).is_not(None))):
        if old.retired_at is not None and aware(old.retired_at) < now - KEEP_RETIRED:  # as the query asks
            session.delete(old)
    session.commit()
    return row, retired


def public_jwks(session: Session) -> dict:
    """The public set: the signing key and retired keys still within KEEP_RETIRED."""
    now = utcnow()
    keys = []
    for row in session.exec(select(LtiKey).order_by(col(LtiKey.id).desc())):
        if row.retired_at is not None and aware(row.retired_at) < now - KEEP_RETIRED:
            continue
        public = RSAKey.import_key(json.loads(row.private_jwk)).as_dict(private=False)
        keys.append({**public, "kid": row.kid, "alg": "RS256", "use": "sig"})
    return {"keys": keys}


def sign(session: Session, claims: dict, *, lifetime: int = TOKEN_LIFETIME) -> str:
    """A JWT signed with the current key, with iat, exp and a unique jti."""
    row = current_key(session)
    key = RSAKey.import_key(json.loads(row.private_jwk))
    now = int(time.time())
    body = {"iat": now, "exp": now + lifetime, "jti": uuid.uuid4().hex, **claims}
    return jwt.encode({"alg": "RS256", "kid": row.kid, "typ": "JWT"}, body, key)
