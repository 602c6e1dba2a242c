"""Count the SQL statements an engine runs: `with count_queries(engine) as counter: ...; counter.count`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy import event
from sqlalchemy.engine import Engine


@dataclass
class QueryCounter:
    count: int = 0
    statements: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        """All statements, numbered: handy in an assertion message."""
        return "\n".join(f"{n}. {statement}" for n, statement in enumerate(self.statements, start=1))


@contextmanager
def count_queries(engine: Engine) -> Iterator[QueryCounter]:
    """Every statement sent to the database while the block runs (including BEGIN on SQLite)."""
    counter = QueryCounter()

    def before_cursor_execute(conn, cursor, statement, parameters, context, executemany):
        counter.count += 1
        counter.statements.append(" ".join(statement.split()))

    event.listen(engine, "before_cursor_execute", before_cursor_execute)
    try:
        yield counter
    finally:
        event.remove(engine, "before_cursor_execute", before_cursor_execute)
