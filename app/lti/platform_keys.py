"""The platforms' public keys, fetched from their JWKS URLs over HTTPS and cached briefly.

A platform rotates its keys by publishing a new one: a token whose key is not in the cached set makes
one fresh fetch (at most every MIN_REFETCH seconds per URL, so forged tokens cannot make us hammer it)."""

from __future__ import annotations

import threading
import time

import httpx
from joserfc.jwk import KeySet

from app.db import leave_the_loop

CACHE_SECONDS = 300
MIN_REFETCH = 10
TIMEOUT = 5.0

_cache: dict[str, tuple[float, KeySet]] = {}
_lock = threading.Lock()


class JwksUnavailable(Exception):
    pass


def _fetch(url: str) -> KeySet:
    leave_the_loop("an LMS's key set")
    try:
        response = httpx.get(url, timeout=TIMEOUT, follow_redirects=False, headers={"Accept": "application/json"})
        response.raise_for_status()
        data = response.json()
        keys = [key for key in data.get("keys", []) if key.get("kty") == "RSA"]
        return KeySet.import_key_set({"keys": keys})
    except (httpx.HTTPError, ValueError, TypeError, AttributeError) as error:
        raise JwksUnavailable(f"{url}: {error}") from error


def key_set(url: str, *, refresh: bool = False) -> KeySet:
    now = time.monotonic()
    with _lock:
        cached = _cache.get(url)
    if cached is not None:
        fetched_at, keys = cached
        if not refresh and now - fetched_at < CACHE_SECONDS:
            return keys
        if refresh and now - fetched_at < MIN_REFETCH:
            return keys
    keys = _fetch(url)
    with _lock:
        _cache[url] = (now, keys)
    return keys


def clear() -> None:
    with _lock:
        _cache.clear()
