"""What a lecturer shows a class so students can join: the link with the code in it, and its QR code."""

from __future__ import annotations

import io
from urllib.parse import quote

import segno


def join_url(base_url: str, code: str) -> str:
    """The sign-up page with the class code filled in (`/signup?code=`); logged-in students land on /join."""
    return f"{base_url.rstrip('/')}/signup?code={quote(code)}"


def qr_svg(url: str, *, title: str) -> bytes:
    """A QR code of `url` as SVG (no script, no style: it passes the strict CSP as an image)."""
    buffer = io.BytesIO()
    segno.make(url, error="m").save(
        buffer, kind="svg", scale=10, border=4, xmldecl=False, title=title, dark="#1d1b19", light="#ffffff"
    )
    return buffer.getvalue()
