"""Each student's step counts per module, kept as they work, so that a whole class is one indexed read.

The progress matrix needs, for every student of a class and every assigned module, how many sections
they read, prompts they submitted, vignettes they ended and checks they answered: ProgressCounts.
Counted from the four work tables, that is a scan of the whole class's work on every view, sorted or
not. The `progress_summary` table keeps the counts instead, one row per student and module.

It is derived data, never the truth, and it is right or marked stale, never silently wrong:

- **Triggers** on section_visit, answer, vignette_run and check_answer (migration i19_a1) mark a row
  stale on every change that can move its counts, whichever path makes it: a service, a cascade from a
  deleted class or account, the retention job, a bulk load. A stale row is never read as counts.
- **The module's shape**: a row holds the `steps_fingerprint` of the module it was counted for. When a
  module's sections or blocks change, its rows no longer match and count as stale.
- **Refresh**: the paths that record a student's work (a first visit, a submission, a walk ended, a
  check answered) count that student's module again in their own transaction (`refresh`), so the
  row is ready before the lecturer looks. Whatever is still stale when a lecturer looks is counted
  from the work tables for that view (`counts`) and then stored (`refresh`, in a write transaction).

Concurrency: on PostgreSQL a trigger's upsert takes the row's lock, and `refresh` takes it first (an
upsert) before it counts, so two transactions for the same student and module count one after the
other, the second seeing what the first committed. SQLite has one writer at a time.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import bindparam
from sqlalchemy import select as sa_select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from app.content.model import Module
from app.models import ProgressSummary
from app.services.progress import ProgressCounts, progress_counts

STALE = ""  # the fingerprint of a row whose counts must be made again

_ROWS = sa_select(
    col(ProgressSummary.user_id),
    col(ProgressSummary.module_slug),
    col(ProgressSummary.fingerprint),
    col(ProgressSummary.sections),
    col(ProgressSummary.prompts),
    col(ProgressSummary.vignettes),
    col(ProgressSummary.checks),
).where(
    col(ProgressSummary.user_id).in_(bindparam("user_ids", expanding=True)),
    col(ProgressSummary.module_slug).in_(bindparam("slugs", expanding=True)),
)


def counts(
    session: Session, *, user_ids: Sequence[int], modules: Sequence[Module]
) -> tuple[dict[tuple[int, str], ProgressCounts], set[int]]:
    """The counts for every (user, module) pair, as progress_counts gives them, and the users whose
    counts were stale or missing (counted here from the work tables; `refresh` them to store them).

    One indexed read when nothing is stale, one more statement for the stale users when something is."""
    by_slug = {module.slug: module for module in modules}
    result: dict[tuple[int, str], ProgressCounts] = {}
    if not user_ids or not modules:
        return result, set()
    # fetchall: one call for a page's hundreds of rows, not one each
    rows = session.connection().execute(_ROWS, {"user_ids": list(user_ids), "slugs": list(by_slug)}).all()
    for user_id, slug, fingerprint, sections, prompts, vignettes, checks in rows:
        module = by_slug[slug]
        if fingerprint == module.steps_fingerprint:
            result[user_id, slug] = ProgressCounts(module, sections, prompts, vignettes, checks)
    stale = {user_id for user_id in user_ids for slug in by_slug if (user_id, slug) not in result}
    if stale:
        counted = progress_counts(session, user_ids=sorted(stale), modules=list(modules))
        for pair, value in counted.items():
            result.setdefault(pair, value)
    return result, stale


def refresh(session: Session, *, user_ids: Iterable[int], modules: Sequence[Module]) -> None:
    """Count these students' modules from the work tables and store the counts, in the session's
    transaction (not committed here)."""
    user_ids = sorted(set(user_ids))
    if not user_ids or not modules:
        return
    rows: list[dict] = [
        {"user_id": user_id, "module_slug": module.slug, "fingerprint": STALE}
        for user_id in user_ids
        for module in modules
    ]
    if session.connection().dialect.name == "postgresql":
        # The rows' locks first, then the count: a concurrent writer of the same row waits for this
        # transaction, or this one for it, and the later one counts what the earlier one committed.
        _upsert(session, rows, ("fingerprint",))
    counted = progress_counts(session, user_ids=user_ids, modules=list(modules))
    for row in rows:
        value = counted[row["user_id"], row["module_slug"]]
        row.update(
            fingerprint=value.module.steps_fingerprint,
            sections=value.sections,
            prompts=value.prompts,
            vignettes=value.vignettes,
            checks=value.checks,
        )
    _upsert(session, rows, ("fingerprint", "sections", "prompts", "vignettes", "checks"))


def recount(session: Session, *, user_id: int, module: Module) -> None:
    """After a step a student just took in a module (a first visit, a first submission, a walk ended,
    a check answered for the first time): its row, counted again in the same transaction."""
    session.flush()  # the step itself first: the trigger takes the row's lock, the count sees the step
    refresh(session, user_ids=[user_id], modules=[module])


def _upsert_of(dialect, columns: tuple[str, ...]):
    statement = dialect.insert(ProgressSummary)
    return statement.on_conflict_do_update(
        index_elements=["user_id", "module_slug"], set_={column: statement.excluded[column] for column in columns}
    )


# Built once per dialect, sent with many rows at a time (executemany): compiling an upsert costs more
# than running it.
_UPSERTS: dict[tuple[str, tuple[str, ...]], Any] = {
    (dialect.__name__.rsplit(".", 1)[-1], columns): _upsert_of(dialect, columns)
    for dialect in (postgresql, sqlite)
    for columns in (("fingerprint",), ("fingerprint", "sections", "prompts", "vignettes", "checks"))
}


def _upsert(session: Session, rows: list[dict], columns: tuple[str, ...]) -> None:
    connection = session.connection()
    values = [{"sections": 0, "prompts": 0, "vignettes": 0, "checks": 0, **row} for row in rows]
    connection.execute(_UPSERTS[connection.dialect.name, columns], values)


def store_stale(write_session: Session, *, user_ids: Iterable[int], modules: Sequence[Module]) -> None:
    """After a lecturer's view counted stale rows: store them, so that the next view only reads.

    Counted again in the write transaction rather than copied from the view's read, which may be older
    than a change committed since. An account erased in the meantime leaves nothing to store."""
    try:
        with write_session.begin_nested():
            refresh(write_session, user_ids=user_ids, modules=modules)
    except IntegrityError:
        pass
