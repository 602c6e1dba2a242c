"""Text that people wrote, put into a Markdown document as text: never as structure or HTML.

A student's answer in the lecturer's review export, or feedback in a student's "my data" export,
must read as what was typed. Without escaping, `# Title`, `---`, `<img src=…>`, `[a](javascript:…)`
or a line of `:::` in an answer would change the document it is pasted into.

- Every character that Markdown (CommonMark, GFM, and Nabij's own `:::` blocks) can give a meaning
  inside a line is backslash-escaped: \\ ` * _ [ ] < > & # ! | ~ { } $
- At the start of a line, what would begin a list, a quote, a heading underline or a block is
  escaped too (- + = : and "1." / "1)"), and indentation (which would start a code block) is dropped.

`escape_markdown` gives paragraphs for the top level of a document; `quote_markdown` the same as a
block quote (each line starts with `> `).
"""

from __future__ import annotations

import re

_INLINE = re.compile(r"([\\`*_\[\]<>&#!|~{}$])")
_LINE_START = re.compile(r"^([-+=:])")
_ORDERED = re.compile(r"^(\d{1,9})([.)])")


def _line(line: str) -> str:
    line = _INLINE.sub(r"\\\1", line.lstrip(" \t").rstrip())
    line = _LINE_START.sub(r"\\\1", line)
    return _ORDERED.sub(r"\1\\\2", line)


def escape_markdown(text: str) -> str:
    """`text` as Markdown paragraphs that render exactly as the words typed."""
    return "\n".join(_line(line) for line in (text or "").replace("\r\n", "\n").replace("\r", "\n").split("\n"))


def quote_markdown(text: str) -> str:
    """`text` as a Markdown block quote; blank lines stay inside the quote."""
    lines = escape_markdown(text.strip()).split("\n")
    return "\n".join(f"> {line}" if line else ">" for line in lines)
