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


def error_for(page: str | BeautifulSoup | Tag, name: str) -> str:
    """The error message announced with the control named `name`: the control is marked invalid, and the message
    is the `.field__error` its aria-describedby points to. Fails when the control is not marked, or has no message."""
    soup = _soup(page)
    control = field(soup, name).element
    assert control.get("aria-invalid") == "true", f"{name!r} is not marked invalid: {str(control)[:160]}"
    described = [soup.find(id=ref) for ref in str(control.get("aria-describedby", "")).split()]
    messages = [
        text_of(element)
        for element in described
        if element is not None and element.has_attr("class") and "field__error" in element["class"]
    ]
    assert len(messages) == 1 and messages[0], f"{name!r} points to {len(messages)} error messages"
    return messages[0]


def top_level(page: str | BeautifulSoup | Tag) -> list[Tag]:
    """The elements at the top of a page or fragment (what an htmx swap puts in), in order; text between them
    is left out."""
    return [child for child in _soup(page).children if isinstance(child, Tag)]


def pager_links(page: str | BeautifulSoup | Tag) -> dict[str, str]:
    """rel ("prev", "next") -> href of the links in the page navigation (`nav.page-nav`), {} when there is none.
    A long list has the navigation above and below it: every one of them must offer the same links."""
    navs = [{" ".join(a["rel"]): str(a["href"]) for a in nav.select("a[rel]")} for nav in select(page, "nav.page-nav")]
    assert all(links == navs[0] for links in navs), f"the page navigations differ: {navs}"
    return navs[0] if navs else {}


def inner_html(element: Tag) -> str:
    """The element's content as markup, serialised as `as_markup` serialises a fragment, so that the two compare."""
    return element.decode_contents().strip()


def as_markup(fragment: str) -> str:
    """A fragment of HTML (rendered Markdown, say) serialised by the parser: compare it with `inner_html`."""
    return parse(fragment).decode().strip()


def table_rows(table: Tag) -> list[dict[str, str]]:
    """Every body row of `table` as {column heading: text of its cell}, the headings read from the table's head;
    a row heading (`th scope="row"`) is the cell of its column. Fails when a row has more or fewer cells."""
    headings = [text_of(th) for th in table.select("thead th")]
    rows = []
    for row in table.select("tbody tr"):
        cells = [text_of(cell) for cell in row.find_all(["th", "td"], recursive=False)]
        assert len(cells) == len(headings), f"{len(cells)} cells under {len(headings)} headings: {str(row)[:160]}"
        rows.append(dict(zip(headings, cells, strict=True)))
    return rows
