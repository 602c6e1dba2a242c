"""Static files: hashed names a browser keeps forever, revalidated plain names, gzip done once (issue 19)."""

from __future__ import annotations

import gzip
import re

from app import PROJECT_ROOT
from app.static_assets import StaticAssets

HASHED_CSS = re.compile(r'href="(/static/nabij\.[0-9a-f]{10}\.css)"')


def test_pages_link_hashed_names_that_may_be_cached_forever(client):
    page = client.get("/login").text
    (css,) = HASHED_CSS.findall(page)
    for script in ("htmx-2.0.11.min", "nabij", "privacy-guard"):
        assert re.search(rf'src="/static/{re.escape(script)}\.[0-9a-f]{{10}}\.js"', page), script
    response = client.get(css)
    assert response.status_code == 200 and response.text == (PROJECT_ROOT / "static" / "nabij.css").read_text()
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert response.headers["Content-Type"] == "text/css; charset=utf-8"
    # Outside the page layers, still with the security headers.
    assert response.headers["X-Content-Type-Options"] == "nosniff" and "Content-Security-Policy" in response.headers
    assert "set-cookie" not in response.headers


def test_an_unchanged_file_is_not_sent_again(client):
    css = HASHED_CSS.findall(client.get("/login").text)[0]
    etag = client.get(css).headers["ETag"]
    again = client.get(css, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert client.get(css, headers={"If-None-Match": '"something-else"'}).status_code == 200


def test_text_files_go_out_compressed_when_the_browser_accepts_it(client):
    css = HASHED_CSS.findall(client.get("/login").text)[0]
    raw = client.get(css, headers={"Accept-Encoding": "identity"})
    packed = client.stream("GET", css, headers={"Accept-Encoding": "gzip, br"})
    with packed as response:
        body = b"".join(response.iter_raw())
        assert response.headers["Content-Encoding"] == "gzip" and response.headers["Vary"] == "accept-encoding"
    assert gzip.decompress(body) == raw.content and len(body) < len(raw.content) / 2
    assert "Content-Encoding" not in raw.headers


def test_the_plain_name_still_works_and_is_revalidated(client):
    response = client.get("/static/nabij.css")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-cache"
    assert client.get("/static/nabij.0000000000.css").status_code == 404  # an old hash is not another file
    assert client.get("/static/not-there.js").status_code == 404
    assert client.get("/static/../app/config.py").status_code == 404
    head = client.head("/static/nabij.css")
    assert head.status_code == 200 and head.content == b"" and int(head.headers["Content-Length"]) > 1000
    assert client.post("/static/nabij.css").status_code == 405


def test_in_development_an_edited_file_gets_a_new_name_on_the_next_page(tmp_path):
    (tmp_path / "site.css").write_text("body { color: black; }")
    assets = StaticAssets(tmp_path, watch=True)
    first = assets.url("site.css")
    (tmp_path / "site.css").write_text("body { color: rebeccapurple; }")
    import os

    stat = (tmp_path / "site.css").stat()
    os.utime(tmp_path / "site.css", ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    second = assets.url("site.css")
    assert first != second and re.fullmatch(r"/static/site\.[0-9a-f]{10}\.css", second)
    found = assets.find(second.removeprefix("/static/"))
    assert found is not None and found[0].body == b"body { color: rebeccapurple; }" and found[1] is True
    assert assets.find(first.removeprefix("/static/")) is None
    # Production reads once, at start.
    fixed = StaticAssets(tmp_path, watch=False)
    name = fixed.url("site.css")
    (tmp_path / "site.css").write_text("changed")
    assert fixed.url("site.css") == name
