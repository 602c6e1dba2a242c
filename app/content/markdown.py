"""The one configured Markdown parser, and helpers to walk and render its tokens."""

from __future__ import annotations

import re
from collections.abc import Iterator
from copy import copy
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from urllib.parse import unquote, urlsplit

from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from mdit_py_plugins.colon_fence import colon_fence_plugin
from mdit_py_plugins.front_matter import front_matter_plugin

SAFE_SCHEMES = frozenset({"http", "https", "mailto"})
ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,59}$")
# What counts as a word, for the minimum length of a reflection: letters and digits, joined by an
# apostrophe or hyphen ("cliënt", "zo'n", "ex-partner"); dashes, dots and emoji alone are not words.
# The browser counts with the same rule while the student types (sent as data-word-pattern, with the
# flags "gu"): Python's [^\W_] is exactly the letters and digits, which JavaScript spells \p{L}\p{N}.
# tests/test_first_lesson.py runs both on the same texts.
WORD = re.compile(r"[^\W_]+(?:['’-][^\W_]+)*")
WORD_PATTERN_FOR_BROWSERS = r"[\p{L}\p{N}]+(?:['’\-][\p{L}\p{N}]+)*"


@cache
def markdown() -> MarkdownIt:
    """Lecturer Markdown: raw HTML off (js-default), plus directives and front matter."""
    md = MarkdownIt("js-default").use(colon_fence_plugin).use(front_matter_plugin)
    md.add_render_rule("heading_open", _section_heading)
    md.add_render_rule("heading_close", _section_heading)
    return md


def _section_heading(self, tokens, idx, options, env) -> str:
    """A section's `##` title is the page's h1, so the `###` under it is an h2 (and so on): the
    outline has no skipped level, which screen-reader users navigate by."""
    token = copy(tokens[idx])
    token.tag = f"h{max(2, int(token.tag[1]) - 1)}"
    return self.renderToken([token], 0, options, env)


@cache
def html_detector() -> MarkdownIt:
    """A parser with HTML on, used only to find raw HTML that the real one would drop."""
    return MarkdownIt("commonmark").use(front_matter_plugin)


def raw_html_lines(text: str) -> list[int]:
    """1-based line numbers where the source contains raw HTML."""
    if "<" not in text:  # raw HTML needs a "<": most modules are spared a second full parse at start-up
        return []
    lines = []
    for token in html_detector().parse(text):
        if token.type == "html_block" and token.map:
            lines.append(token.map[0] + 1)
        elif token.type == "inline" and token.map and token.children:
            line = token.map[0] + 1
            for child in token.children:
                if child.type == "html_inline" and line not in lines:
                    lines.append(line)
                line += _line_breaks(child)
    return lines


def _line_breaks(child: Token) -> int:
    """How many source lines an inline token ends, so a problem gets its own line."""
    if child.type in ("softbreak", "hardbreak"):
        return 1
    return child.content.count("\n") if child.type == "html_inline" else 0


def top_level_groups(tokens: list[Token]) -> Iterator[list[Token]]:
    """Split a token stream into its top-level blocks (an open token up to its close)."""
    group: list[Token] = []
    depth = 0
    for token in tokens:
        group.append(token)
        depth += token.nesting
        if depth == 0:
            yield group
            group = []
    if group:
        yield group


def first_line(tokens: list[Token]) -> int:
    """The 0-based source line where a group of tokens starts (relative to its parse)."""
    for token in tokens:
        if token.map:
            return token.map[0]
    return 0


def count_words(text: str) -> int:
    return len(WORD.findall(text))


@dataclass
class LinkContext:
    """What a module's links may point at, and where to report problems."""

    folder: Path
    slug: str
    section_ids: set[str]
    problems: list[tuple[int, str]] = field(default_factory=list)

    def media_url(self, relative: str) -> str:
        return f"/modules/{self.slug}/media/{relative}"


def check_and_rewrite_links(tokens: list[Token], ctx: LinkContext, line_offset: int) -> None:
    """Validate links and images; point relative ones at the served module folder."""
    for token in tokens:
        if token.type != "inline" or not token.children:
            continue
        line = line_offset + (token.map[0] if token.map else 0) + 1
        check_and_rewrite_inline(token.children, ctx, line)


def check_and_rewrite_inline(children: list[Token], ctx: LinkContext, line: int, skip: int = 0) -> None:
    """Links and images among inline tokens; `line` is where the first one starts.

    The first `skip` tokens only count towards the line number (e.g. a choice's own step link).
    """
    for index, child in enumerate(children):
        if index >= skip:
            _check_and_rewrite_child(child, ctx, line)
        line += _line_breaks(child)


def _check_and_rewrite_child(child: Token, ctx: LinkContext, line: int) -> None:
    if child.type == "link_open":
        href = str(child.attrGet("href") or "")
        new = _resolve(href, ctx, line, is_image=False)
        if new is not None:
            child.attrSet("href", new)
        elif urlsplit(href).scheme.lower() in ("http", "https"):
            child.attrSet("rel", "noopener noreferrer")
    elif child.type == "image":
        src = str(child.attrGet("src") or "")
        if not child.content.strip():
            ctx.problems.append(
                (line, f"afbeelding '{src}' heeft geen beschrijving (alt-tekst): ![beschrijving]({src})")
            )
        new = _resolve(src, ctx, line, is_image=True)
        if new is not None:
            child.attrSet("src", new)


def _resolve(target: str, ctx: LinkContext, line: int, *, is_image: bool) -> str | None:
    parts = urlsplit(target)
    what = "afbeelding" if is_image else "link"
    if parts.scheme:
        if parts.scheme.lower() not in SAFE_SCHEMES:
            ctx.problems.append((line, f"{what} '{target}' gebruikt een niet-toegelaten protocol"))
        return None
    if parts.netloc or target.startswith("/"):
        ctx.problems.append(
            (line, f"{what} '{target}': gebruik een volledige link (https://…) of een bestand in de modulemap")
        )
        return None
    if not parts.path:
        anchor = parts.fragment
        if anchor not in ctx.section_ids:
            ctx.problems.append((line, f"link '{target}' verwijst naar een onbekende sectie '{anchor}'"))
            return None
        return f"/modules/{ctx.slug}/{anchor}"
    relative = unquote(parts.path)
    if not usable_file_name(relative):
        ctx.problems.append(
            (
                line,
                f"{what} '{target}' is geen geldige bestandsnaam (geen stuurtekens, "
                f"elk deel van het pad hoogstens {MAX_NAME_BYTES} bytes)",
            )
        )
        return None
    try:
        candidate = (ctx.folder / relative).resolve()
        inside = candidate.is_relative_to(ctx.folder.resolve())
        exists = inside and candidate.is_file()
    except (OSError, ValueError, RuntimeError):  # a name the file system refuses, a symlink loop
        ctx.problems.append((line, f"{what} '{target}' kan niet gelezen worden als bestand in {ctx.folder.name}/"))
        return None
    if not inside:
        ctx.problems.append((line, f"{what} '{target}' wijst buiten de modulemap"))
        return None
    if not exists:
        ctx.problems.append((line, f"{what} '{target}' bestaat niet in {ctx.folder.name}/"))
        return None
    return ctx.media_url(candidate.relative_to(ctx.folder.resolve()).as_posix())


MAX_NAME_BYTES = 255  # what file systems allow per path component


def usable_file_name(relative: str) -> bool:
    """A relative path any file system can look up: no control characters, no over-long component.

    Shared by the module checker and the media route, so what one accepts the other can serve.
    """
    if not relative or len(relative) > 4 * MAX_NAME_BYTES or any(ord(c) < 32 or 127 <= ord(c) < 160 for c in relative):
        return False
    return all(len(part.encode("utf-8", "surrogatepass")) <= MAX_NAME_BYTES for part in relative.split("/"))


def render(tokens: list[Token], env: dict) -> str:
    md = markdown()
    return md.renderer.render(tokens, md.options, env)


def render_inline(children: list[Token], env: dict) -> str:
    md = markdown()
    renderer = md.renderer  # typed as the protocol, which has no renderInline
    assert isinstance(renderer, RendererHTML), "markdown() renders HTML"
    return renderer.renderInline(children, md.options, env)


def start_line(token: Token) -> int:
    """The 0-based line a block token starts on (block tokens have a map; 0 for one without)."""
    return token.map[0] if token.map else 0


def plain_text(children: list[Token]) -> str:
    return "".join(child.content for child in children if child.type in ("text", "code_inline"))
