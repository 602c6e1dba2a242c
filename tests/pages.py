"""Pages read as a tree, the way a browser or a screen reader sees them, rather than as strings of markup.

An assertion such as `'value="0"' in html` passes when the attribute sits on any element of the page and
breaks when the template orders its attributes differently; `field(html, "progress").value == "0"` says what
the user sees and fails only when that changes.
"""

from __future__ import annotations

from dataclasses import dataclass

from bs4 import BeautifulSoup, Tag


def parse(html: str) -> BeautifulSoup:
    return BeautifulSoup(html, "html.parser")


def _soup(page: str | BeautifulSoup | Tag) -> BeautifulSoup | Tag:
    return parse(page) if isinstance(page, str) else page


def text_of(element: Tag) -> str:
    """The element's text as read aloud: runs of white space (template indentation) count as one space."""
    return " ".join(element.get_text(" ").split())


def select(page: str | BeautifulSoup | Tag, selector: str) -> list[Tag]:
    return list(_soup(page).select(selector))


def one(page: str | BeautifulSoup | Tag, selector: str) -> Tag:
    """The single element `selector` matches; fails, with what it found, when there are none or several."""
    found = select(page, selector)
    assert len(found) == 1, f"{selector!r} matches {len(found)} elements: {[str(f)[:120] for f in found]}"
    return found[0]


def texts(page: str | BeautifulSoup | Tag, selector: str) -> list[str]:
    """The text of every element `selector` matches, in page order."""
    return [text_of(element) for element in select(page, selector)]


def has(page: str | BeautifulSoup | Tag, selector: str) -> bool:
    return _soup(page).select_one(selector) is not None


@dataclass(frozen=True)
class Field:
    """A form control as the browser would submit it."""

    name: str
    value: str
    element: Tag


def fields(page: str | BeautifulSoup | Tag, name: str) -> list[Field]:
    found = []
    for element in select(page, f'[name="{name}"]'):
        if element.name == "textarea":
            value = element.get_text()
        elif element.name == "select":
            chosen = element.select_one("option[selected]") or element.select_one("option")
            value = str(chosen.get("value", chosen.get_text())) if chosen is not None else ""
        else:
            value = str(element.get("value", ""))
        found.append(Field(name, value, element))
    return found


def field(page: str | BeautifulSoup | Tag, name: str) -> Field:
    """The one control named `name` on the page (or in the part of it given)."""
    found = fields(page, name)
    assert len(found) == 1, f"{len(found)} controls named {name!r}"
    return found[0]
