"""Search: module content for everyone (catalogue and inside a module), classes and students for lecturers.

One interface, two engines: `search_content` runs on SQLite FTS5 or on PostgreSQL full-text search,
whichever database Nabij runs on. Module content lives in files, not in the database, so the index is
built from the catalogue into a per-connection TEMP table (FTS5 virtual table on SQLite; a table with a
`tsvector` column and a GIN index on PostgreSQL), once per pooled connection and again when a module
changes. No schema of its own, nothing to migrate, and it can never hold anything but module text:
answers, feedback and replies are never indexed (they are encrypted at rest as well, app/crypto.py).

Stemming: PostgreSQL stems Dutch modules with its `dutch` configuration (English with `english`); SQLite's
FTS5 has no Dutch stemmer, so it matches words and word beginnings ("nabij" finds "nabijheid"), with
diacritics folded.
(Not for a pooler in transaction mode: TEMP tables need a session per connection.)
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from markupsafe import Markup, escape
from sqlalchemy import Engine, func, or_, text
from sqlmodel import Session, col, select

from app.content.catalogue import Catalogue
from app.content.model import Module
from app.models import ClassLecturer, CourseClass, Enrolment, Role, User, primary_key

MAX_QUERY = 200
LIMIT = 50
_TAG = re.compile(r"<[^>]+>")
_WORD = re.compile(r"\w+", re.UNICODE)
START, STOP = "\x02", "\x03"
PG_CONFIG = {"nl": "dutch", "en": "english"}


@dataclass(frozen=True)
class ContentHit:
    module_slug: str
    module_title: str
    section_id: str | None  # None: the module itself (title, summary)
    title: str
    snippet: Markup

    @property
    def link(self) -> str:
        return f"/modules/{self.module_slug}" + (f"/{self.section_id}" if self.section_id else "")


def plain(value: str) -> str:
    return " ".join(html.unescape(_TAG.sub(" ", value or "")).split())


def section_text(section) -> str:
    parts = []
    for block in section.blocks:
        kind = block.kind
        if kind == "html":
            parts.append(block.html)
        elif kind == "note":
            parts += [block.title, block.html]
        elif kind == "reflection":
            parts += [block.title, block.prompt_html]
        elif kind == "vignette":
            parts += [block.title, block.intro_html]
            for step in block.steps.values():
                parts.append(step.html)
                parts += [choice.label_text for choice in step.choices]
        elif kind == "check":
            parts.append(block.question_html)
            parts += [option.label_html for option in block.options]
    return plain(" ".join(parts))


def documents(catalogue: Catalogue):
    """(module slug, section id or "", title, body, language) for every published module and section."""
    for module in catalogue.published():
        yield (
            module.slug,
            "",
            module.title,
            plain(module.summary + " " + " ".join(module.learning_goals)),
            module.language,
        )
        for section in module.sections:
            yield module.slug, section.id, section.title, section_text(section), module.language


def words(query: str) -> list[str]:
    return _WORD.findall((query or "")[:MAX_QUERY].lower())[:12]


def _fingerprint(catalogue: Catalogue) -> tuple:
    return tuple((m.slug, m.version, id(m)) for m in catalogue.published())


# -- the two engines -----------------------------------------------------------------------------------

_INDEX_KEY = "nabij_search_index"


def _ensure_index(connection, catalogue: Catalogue) -> None:
    info = connection.info  # the pooled DB-API connection's own dict: survives checkouts, dies with it
    fingerprint = _fingerprint(catalogue)
    if info.get(_INDEX_KEY) == fingerprint:
        return
    rows = [{"slug": s, "section": i, "title": t, "body": b, "lang": lang} for s, i, t, b, lang in documents(catalogue)]
    if connection.dialect.name == "postgresql":
        connection.execute(
            text(
                "CREATE TEMP TABLE IF NOT EXISTS nabij_search (slug text, section text, title text, "
                "body text, cfg regconfig, tsv tsvector)"
            )
        )
        connection.execute(text("CREATE INDEX IF NOT EXISTS nabij_search_tsv ON nabij_search USING gin (tsv)"))
        connection.execute(text("DELETE FROM nabij_search"))
        for row in rows:
            row["cfg"] = PG_CONFIG.get(row.pop("lang"), "simple")
        if rows:
            connection.execute(
                text(
                    "INSERT INTO nabij_search (slug, section, title, body, cfg, tsv) VALUES (:slug, :section, :title, "
                    ":body, CAST(:cfg AS regconfig), setweight(to_tsvector(CAST(:cfg AS regconfig), :title), 'A') || "
                    "to_tsvector(CAST(:cfg AS regconfig), :body))"
                ),
                rows,
            )
    else:
        connection.execute(
            text(
                "CREATE VIRTUAL TABLE IF NOT EXISTS temp.nabij_search USING fts5(slug UNINDEXED, "
                "section UNINDEXED, title, body, tokenize = 'unicode61 remove_diacritics 2')"
            )
        )
        connection.execute(text("DELETE FROM temp.nabij_search"))
        if rows:
            connection.execute(
                text(
                    "INSERT INTO temp.nabij_search (slug, section, title, body) VALUES (:slug, :section, :title, :body)"
                ),
                [{k: v for k, v in row.items() if k != "lang"} for row in rows],
            )
    connection.commit()
    info[_INDEX_KEY] = fingerprint


def _mark(snippet: str) -> Markup:
    return Markup(str(escape(snippet)).replace(START, "<mark>").replace(STOP, "</mark>"))


def search_content(
    engine: Engine, catalogue: Catalogue, query: str, *, module: Module | None = None, limit: int = LIMIT
) -> list[ContentHit]:
    """Module content matching every word of `query` (word beginnings too), best first."""
    terms = words(query)
    if not terms:
        return []
    titles = {m.slug: m.title for m in catalogue.published()}
    with engine.connect() as connection:
        _ensure_index(connection, catalogue)
        params = {"slug": module.slug if module else None, "limit": limit}
        if connection.dialect.name == "postgresql":
            params["q"] = " & ".join(f"{term}:*" for term in terms)
            rows = connection.execute(
                text(
                    "SELECT slug, section, title, ts_headline(cfg, body, to_tsquery(cfg, :q), "
                    "'StartSel=\x02, StopSel=\x03, MaxWords=30, MinWords=12') FROM nabij_search "
                    "WHERE tsv @@ to_tsquery(cfg, :q) AND (CAST(:slug AS text) IS NULL OR slug = :slug) "
                    "ORDER BY ts_rank(tsv, to_tsquery(cfg, :q)) DESC, slug, section LIMIT :limit"
                ),
                params,
            ).all()
        else:
            params["q"] = " AND ".join('"' + term.replace('"', "") + '"*' for term in terms)
            rows = connection.execute(
                text(
                    "SELECT slug, section, title, snippet(nabij_search, 3, '\x02', '\x03', '…', 16) "
                    "FROM temp.nabij_search WHERE nabij_search MATCH :q AND (:slug IS NULL OR slug = :slug) "
                    "ORDER BY bm25(nabij_search, 0, 0, 5.0, 1.0), slug, section LIMIT :limit"
                ),
                params,
            ).all()
        connection.rollback()
    return [
        ContentHit(slug, titles.get(slug, slug), section or None, title, _mark(snippet or ""))
        for slug, section, title, snippet in rows
        if slug in titles
    ]


# -- classes and students, for lecturers (names they already see on their class pages) -------------------


@dataclass(frozen=True)
class PersonHit:
    name: str
    email: str
    class_id: int
    class_name: str


def _like(term: str) -> str:
    return "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def search_classes(session: Session, *, user: User, query: str, limit: int = LIMIT) -> list[CourseClass]:
    terms = words(query)
    if not terms or user.role not in (Role.LECTURER, Role.ADMIN):
        return []
    statement = (
        select(CourseClass)
        .join(ClassLecturer, col(ClassLecturer.class_id) == col(CourseClass.id))
        .where(col(ClassLecturer.user_id) == user.id)
    )
    for term in terms:
        pattern = _like(term)
        statement = statement.where(
            or_(
                func.lower(CourseClass.name).like(pattern, escape="\\"),
                func.lower(CourseClass.programme).like(pattern, escape="\\"),
                func.lower(CourseClass.academic_year).like(pattern, escape="\\"),
            )
        )
    return list(session.exec(statement.order_by(col(CourseClass.name), col(CourseClass.id)).limit(limit)))


def search_students(session: Session, *, user: User, query: str, limit: int = LIMIT) -> list[PersonHit]:
    """Students of the classes this lecturer teaches, by name or address: never anything they wrote."""
    terms = words(query)
    if not terms or user.role not in (Role.LECTURER, Role.ADMIN):
        return []
    statement = (
        select(User.display_name, User.email, CourseClass.id, CourseClass.name)
        .join(Enrolment, col(Enrolment.user_id) == col(User.id))
        .join(CourseClass, col(CourseClass.id) == col(Enrolment.class_id))
        .join(ClassLecturer, col(ClassLecturer.class_id) == col(CourseClass.id))
        .where(col(ClassLecturer.user_id) == user.id)
    )
    for term in terms:
        pattern = _like(term)
        statement = statement.where(
            or_(
                func.lower(User.display_name).like(pattern, escape="\\"),
                func.lower(User.email).like(pattern, escape="\\"),
            )
        )
    rows = session.exec(statement.order_by(func.lower(User.display_name), col(CourseClass.name)).limit(limit))
    return [PersonHit(name, email, primary_key(class_id), class_name) for name, email, class_id, class_name in rows]
