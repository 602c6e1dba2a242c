"""The files in static/, served from memory under names that carry their content hash.

Pages link `/static/nabij.3f9c2a1b7d.css` (`url("nabij.css")`): a browser or proxy may keep such a file
forever (`Cache-Control: immutable`), because a changed file gets a new name. The plain name
(`/static/nabij.css`) keeps working for links from outside (an old mail, a bookmark) and is revalidated
(`no-cache` with an ETag). Text files are also kept gzip-compressed, so a request that accepts gzip costs
no compression work.

This sits outside the page middleware (locale, CSRF cookie, input checks, LTI frames, FastAPI's routing
and dependencies): a static file needs none of it. It stays inside the security headers and the access
log, so every response still carries the CSP and nosniff and is counted under `/static/{path}`.

In development the files are read again when they change on disk, so an edited stylesheet shows on the
next reload; in production they are read once, at start.
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
from dataclasses import dataclass
from pathlib import Path

from starlette.types import ASGIApp, Receive, Scope, Send

PREFIX = "/static/"
HASH_LENGTH = 10
COMPRESSIBLE = (".css", ".js", ".svg", ".json", ".txt", ".html")
IMMUTABLE = b"public, max-age=31536000, immutable"
REVALIDATE = b"no-cache"


@dataclass(frozen=True)
class Asset:
    name: str  # as in static/, e.g. "nabij.css"
    hashed_name: str  # "nabij.3f9c2a1b7d.css"
    body: bytes
    gzipped: bytes | None
    content_type: bytes
    etag: bytes
    mtime_ns: int


def _hashed(name: str, digest: str) -> str:
    stem, dot, suffix = name.rpartition(".")
    return f"{stem}.{digest}.{suffix}" if dot else f"{name}.{digest}"


def _load(folder: Path, path: Path) -> Asset:
    body = path.read_bytes()
    digest = hashlib.sha256(body).hexdigest()[:HASH_LENGTH]
    name = path.relative_to(folder).as_posix()
    gzipped = None
    if path.suffix in COMPRESSIBLE:
        # mtime=0: the same bytes on every start and every worker, so the ETag holds across replicas.
        packed = gzip.compress(body, compresslevel=9, mtime=0)
        gzipped = packed if len(packed) < len(body) else None
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    if content_type.startswith("text/") or content_type in ("application/javascript", "image/svg+xml"):
        content_type += "; charset=utf-8"
    return Asset(
        name,
        _hashed(name, digest),
        body,
        gzipped,
        content_type.encode(),
        f'"{digest}"'.encode(),
        path.stat().st_mtime_ns,
    )


class StaticAssets:
    """All files of one folder, by plain and by hashed name."""

    def __init__(self, folder: Path, *, watch: bool = False) -> None:
        self.folder = folder
        self.watch = watch
        self._by_name: dict[str, Asset] = {}
        self._by_hashed: dict[str, Asset] = {}
        for path in sorted(folder.rglob("*")):
            if path.is_file() and not path.name.startswith("."):
                self._add(_load(folder, path))

    def _add(self, asset: Asset) -> None:
        old = self._by_name.get(asset.name)
        if old is not None:
            self._by_hashed.pop(old.hashed_name, None)
        self._by_name[asset.name] = asset
        self._by_hashed[asset.hashed_name] = asset

    def _fresh(self, asset: Asset) -> Asset:
        if not self.watch:
            return asset
        path = self.folder / asset.name
        try:
            if path.stat().st_mtime_ns != asset.mtime_ns:
                asset = _load(self.folder, path)
                self._add(asset)
        except OSError:
            pass  # removed while running: serve what was read
        return asset

    def url(self, name: str) -> str:
        """The URL a page links: the hashed name, or the plain one for a file that is not there."""
        asset = self._by_name.get(name)
        if asset is None:
            return PREFIX + name
        return PREFIX + self._fresh(asset).hashed_name

    def find(self, name: str) -> tuple[Asset, bool] | None:
        """The asset for a requested name, and whether the name was the hashed (immutable) one."""
        asset = self._by_hashed.get(name)
        if asset is not None:
            return asset, True
        asset = self._by_name.get(name)
        if asset is not None:
            return self._fresh(asset), False
        return None


class StaticAssetsMiddleware:
    """Answers GET and HEAD under /static/ from memory; everything else goes on to the app."""

    def __init__(self, app: ASGIApp, *, assets: StaticAssets) -> None:
        self.app = app
        self.assets = assets

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not path.startswith(PREFIX):
            await self.app(scope, receive, send)
            return
        # The access log names the route by its mount point (app/observability.py route_template).
        scope["root_path"] = scope.get("root_path", "") + PREFIX.rstrip("/")
        if scope["method"] not in ("GET", "HEAD"):
            await _plain(send, 405, b"Method Not Allowed", extra=[(b"allow", b"GET, HEAD")])
            return
        found = self.assets.find(path[len(PREFIX) :])
        if found is None:
            await _plain(send, 404, b"Not Found")
            return
        asset, immutable = found
        request_headers = dict(scope["headers"])
        headers = [
            (b"content-type", asset.content_type),
            (b"etag", asset.etag),
            (b"cache-control", IMMUTABLE if immutable else REVALIDATE),
        ]
        if asset.gzipped is not None:
            headers.append((b"vary", b"accept-encoding"))
        if asset.etag in request_headers.get(b"if-none-match", b""):
            await send({"type": "http.response.start", "status": 304, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return
        body = asset.body
        if asset.gzipped is not None and b"gzip" in request_headers.get(b"accept-encoding", b""):
            body = asset.gzipped
            headers.append((b"content-encoding", b"gzip"))
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})


async def _plain(send: Send, status: int, body: bytes, extra: list | None = None) -> None:
    headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers + (extra or [])})
    await send({"type": "http.response.body", "body": body})
