"""Every UI string marked in the code and templates is translated, in both languages.

The strings are extracted afresh from the working tree (with the method map of babel.cfg), so a
string added without running `pybabel extract` / `pybabel update` makes this test fail with the
list of what is missing. See app/locale/README.md for the workflow.
"""

from __future__ import annotations

import re
from functools import cache

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from fastapi.testclient import TestClient

from app import PROJECT_ROOT, i18n

BABEL_CFG = PROJECT_ROOT / "babel.cfg"
LOCALE_DIR = PROJECT_ROOT / "app" / "locale"
# The same keywords as the documented `pybabel extract -k _ -k gettext -k ngettext:1,2`.
KEYWORDS = {**DEFAULT_KEYWORDS, "_": None, "gettext": None, "ngettext": (1, 2)}
# %(name)s-style placeholders, plus bare %s / %d (which must not be used, but must then match).
PLACEHOLDER = re.compile(r"%(?:\((?P<name>\w+)\))?[-#0 +]*\d*(?:\.\d+)?(?P<kind>[diouxXeEfFgGcrsa%])")


@cache
def extracted() -> dict[str | tuple[str, ...], list[str]]:
    """msgid (a tuple for singular/plural) -> where it occurs, from the current working tree."""
    with BABEL_CFG.open(encoding="utf-8") as handle:
        method_map, options_map = parse_mapping_cfg(handle, filename=str(BABEL_CFG))
    found: dict[str | tuple[str, ...], list[str]] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        str(PROJECT_ROOT), method_map, options_map, keywords=KEYWORDS
    ):
        msgid = tuple(message) if isinstance(message, (tuple, list)) else message
        if not (msgid[0] if isinstance(msgid, tuple) else msgid):
            continue
        found.setdefault(msgid, []).append(f"{filename}:{lineno}")
    return found


@cache
def catalogue(locale: str) -> Catalog:
    path = LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"
    assert path.exists(), f"{path.relative_to(PROJECT_ROOT)} is missing"
    with path.open("rb") as handle:
        return read_po(handle, locale=locale)


def test_extraction_finds_the_marked_strings():
    """Guard against a babel.cfg that silently extracts nothing (wrong patterns, no plurals)."""
    found = extracted()
    assert "Log in" in found
    assert any(where.startswith("app/") for places in found.values() for where in places)
    assert any(where.startswith("templates/") for places in found.values() for where in places)
    assert ("Write at least %(num)s word.", "Write at least %(num)s words.") in found


@pytest.mark.parametrize("locale", i18n.LOCALES)
def test_catalogue_header(locale):
    catalog = catalogue(locale)
    assert str(catalog.locale) == locale
    assert catalog.num_plurals == 2
    assert catalog.plural_expr.replace(" ", "") == "(n!=1)"


@pytest.mark.parametrize("locale", i18n.LOCALES)
def test_every_marked_string_is_translated(locale):
    catalog = catalogue(locale)
    problems = []
    for msgid, places in sorted(extracted().items(), key=lambda item: str(item[0])):
        key = msgid[0] if isinstance(msgid, tuple) else msgid
        message = catalog.get(key)
        where = ", ".join(places[:3])
        if message is None:
            problems.append(f"missing: {msgid!r} ({where})")
            continue
        if isinstance(msgid, tuple) != message.pluralizable or (
            isinstance(msgid, tuple) and tuple(message.id) != msgid
        ):
            problems.append(f"singular/plural mismatch: {msgid!r} ({where})")
            continue
        forms = message.string if isinstance(message.string, (tuple, list)) else (message.string,)
        if message.pluralizable and len(forms) != catalog.num_plurals:
            problems.append(f"wrong number of plural forms: {msgid!r}")
        elif not all(forms):
            problems.append(f"untranslated: {msgid!r} ({where})")
        elif message.fuzzy:
            problems.append(f"fuzzy: {msgid!r} ({where})")
    assert not problems, (
        f"{len(problems)} problem(s) in app/locale/{locale}/LC_MESSAGES/messages.po "
        "(see app/locale/README.md for the workflow):\n" + "\n".join(problems)
    )


def _placeholders(text: str) -> set[str]:
    return {match[0] for match in PLACEHOLDER.finditer(text) if match["kind"] != "%"}


@pytest.mark.parametrize("locale", i18n.LOCALES)
def test_placeholders_match(locale):
    problems = []
    for message in catalogue(locale):
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, (tuple, list)) else (message.id,)
        strings = message.string if isinstance(message.string, (tuple, list)) else (message.string,)
        expected = set().union(*(_placeholders(text) for text in ids))
        for form, text in enumerate(strings):
            if text and _placeholders(text) != expected:
                problems.append(
                    f"{ids[0]!r} [form {form}]: {' '.join(sorted(_placeholders(text)))} "
                    f"instead of {' '.join(sorted(expected))}"
                )
    assert not problems, f"placeholders differ in {locale}:\n" + "\n".join(problems)


@pytest.mark.parametrize(("locale", "expected", "absent"), [("nl", "Inloggen", "Log in"), ("en", "Log in", "Inloggen")])
def test_login_page_is_rendered_in_the_requested_language(client, locale, expected, absent):
    response = client.get("/login", headers={"Accept-Language": locale})
    assert response.status_code == 200
    html = response.text
    assert f'<html lang="{locale}">' in html
    assert f"<h1>{expected}</h1>" in html
    assert f"<title>{expected} · Nabij</title>" in html
    assert absent not in html


def test_dutch_is_the_default_language(app):
    # A client of its own: the shared `client` fixture may send a default Accept-Language.
    with TestClient(app, base_url="http://testserver") as plain_client:
        response = plain_client.get("/login")
    assert '<html lang="nl">' in response.text
    assert "<h1>Inloggen</h1>" in response.text


@pytest.mark.parametrize(
    ("locale", "singular", "plural"),
    [
        ("nl", "Schrijf minstens 1 woord.", "Schrijf minstens 5 woorden."),
        ("en", "Write at least 1 word.", "Write at least 5 words."),
    ],
)
def test_python_side_gettext_and_plurals(locale, singular, plural):
    token = i18n.current_locale.set(locale)
    try:
        assert i18n.gettext("Page not found") == {"nl": "Pagina niet gevonden", "en": "Page not found"}[locale]
        one, many = "Write at least %(num)s word.", "Write at least %(num)s words."
        assert i18n.ngettext(one, many, 1) % {"num": 1} == singular
        assert i18n.ngettext(one, many, 5) % {"num": 5} == plural
    finally:
        i18n.current_locale.reset(token)


def _rendered(source: str, locale: str, **context) -> str:
    from app.templating import environment

    token = i18n.current_locale.set(locale)
    try:
        return environment.from_string(source).render(**context)
    finally:
        i18n.current_locale.reset(token)


def test_literal_messages_in_templates_are_looked_up_not_called_as_the_i18n_extension_would():
    """Templates translate `_("…")` with a literal message from a table made once per language; the
    output is what the i18n extension's gettext gives: translated, `%`-formatted, arguments escaped."""
    from jinja2 import Environment

    from app.templating import environment

    source = (
        '{{ _("Save level") }}|{{ _("Feedback for %(pseudonym)s", pseudonym=who) }}|{{ _("100%% sure") }}'
        '|{% set label = _("Save level") %}{{ label ~ who }}|{{ _(message) }}'
    )
    compiled = environment.compile(source, raw=True)
    assert "environment.translated('Save level', True)" in compiled
    assert "environment.translation('Feedback for %(pseudonym)s', True) %" in compiled
    assert compiled.count("context.call(") == 1  # only the message made at render time
    plain = Environment(extensions=["jinja2.ext.i18n"], autoescape=True)
    plain.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]
    context = {"who": "<b>x</b>", "message": "Save level"}
    for locale in ("nl", "en"):
        token = i18n.current_locale.set(locale)
        try:
            expected = plain.from_string(source).render(**context)
        finally:
            i18n.current_locale.reset(token)
        assert _rendered(source, locale, **context) == expected
    assert _rendered(source, "nl", **context).startswith("Niveau opslaan|Feedback voor &lt;b&gt;x&lt;/b&gt;|100% sure|")
