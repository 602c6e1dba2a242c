"""What Nabij does with control characters in anything a visitor sends: one rule, applied once.

The rule (the same on SQLite and PostgreSQL, for every text field):

- TAB, LF and CR are text: they are kept.
- Every other control character is removed: NUL and the rest of C0 (U+0000-U+001F), DEL (U+007F)
  and C1 (U+0080-U+009F). They cannot be typed, they are invisible, and they only arrive by pasting
  from odd sources or on purpose. PostgreSQL cannot store NUL in text at all, and a NUL or a CR/LF
  in the wrong place breaks file names and mail headers. Everything else the visitor typed is kept.

`InputNormaliser` applies it before any route runs, as pure ASGI middleware, to:

- form bodies (`application/x-www-form-urlencoded`, and the text fields of `multipart/form-data`;
  uploaded files are left as they are: they are decoded, and cleaned with `clean_text`, where they
  are read);
- the query string and the request path (in the path, a control character becomes U+FFFD, so a
  path with one never names a real page or file: it ends in a 404);
- header values (control characters except TAB are dropped).

Services that take text from elsewhere (a CSV upload, the command line) call `clean_text` themselves.
Over-long bodies end here with 413, before they are held in memory.
"""

from __future__ import annotations

import re

from starlette.responses import HTMLResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.i18n import gettext as _

CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# The same characters as bytes of UTF-8 text (C1 is two bytes, starting with 0xC2) ...
_RAW = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]|\xc2[\x80-\x9f]")
# ... and percent-encoded, as they arrive in a URL or an urlencoded form.
_ESCAPED = re.compile(rb"%(?:0[0-8bcef]|1[0-9a-f]|7f)|%c2%[89][0-9a-f]", re.IGNORECASE)
_HEADER_CONTROL = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")

MAX_FORM_BYTES = 4 * 1024 * 1024  # a 50,000-character answer is at most 600 KB once urlencoded
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def clean_text(value: str) -> str:
    """The rule above, for one string."""
    return CONTROL.sub("", value) if CONTROL.search(value) else value


def clean_urlencoded(data: bytes) -> bytes:
    return _RAW.sub(b"", _ESCAPED.sub(b"", data))


def clean_multipart(data: bytes, boundary: bytes) -> bytes:
    """Clean the text fields of a multipart body; file parts pass unchanged."""
    delimiter = b"--" + boundary
    parts = data.split(delimiter)
    for index, part in enumerate(parts):
        head_end = part.find(b"\r\n\r\n")
        if head_end < 0:
            continue
        head = part[:head_end]
        if b"filename=" in head.lower():
            continue
        body = part[head_end + 4 :]
        if _RAW.search(body):
            parts[index] = head + b"\r\n\r\n" + _RAW.sub(b"", body)
    return delimiter.join(parts)


def _boundary(content_type: str) -> bytes | None:
    match = re.search(r'boundary="?([^";]+)"?', content_type)
    return match.group(1).encode("latin-1") if match else None


class InputNormaliser:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if CONTROL.search(scope["path"]):
            scope["path"] = CONTROL.sub("\ufffd", scope["path"])
        query = scope.get("query_string", b"")
        if query and (b"%" in query or _RAW.search(query)):
            scope["query_string"] = clean_urlencoded(query)
        headers = scope["headers"]
        if any(_HEADER_CONTROL.search(value) for _, value in headers):
            scope["headers"] = [(name, _HEADER_CONTROL.sub(b"", value)) for name, value in headers]
        raw_type = ""
        if scope["method"] not in SAFE_METHODS:
            raw_type = next((v.decode("latin-1") for n, v in scope["headers"] if n == b"content-type"), "")
        content_type = raw_type.lower()
        if content_type.startswith("application/x-www-form-urlencoded"):
            await self._with_body(scope, receive, send, clean_urlencoded)
        elif content_type.startswith("multipart/form-data") and (boundary := _boundary(raw_type)):
            await self._with_body(scope, receive, send, lambda data: clean_multipart(data, boundary))
        else:
            await self.app(scope, receive, send)

    async def _with_body(self, scope: Scope, receive: Receive, send: Send, clean) -> None:
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > MAX_FORM_BYTES:
                response = HTMLResponse(
                    f"<!doctype html><title>413</title><p>{_('What you sent is too large')}.</p>", status_code=413
                )
                await response(scope, receive, send)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = clean(b"".join(chunks))
        if len(body) != size:
            scope["headers"] = [
                (name, str(len(body)).encode() if name == b"content-length" else value)
                for name, value in scope["headers"]
            ]
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)
