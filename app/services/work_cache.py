"""What is worked out from a class's work, kept per worker until that work changes.

Triggers raise `course_class.work_version` on every change that can move what the rounds of k release
in a class (migration i19_a1): a submission, an answer or revision removed, an address confirmed or
withdrawn. A result keyed by the version it was worked out for is right for as long as the version
stands, in every worker, with no invalidation to forget: a change makes a new key, and the oldest
keys go first. The version is read from the database each time (one indexed row), never from a class
object that may have been loaded before the change.

Each database (each engine's connection pool) has its own cache: tests open a new database per test,
with the same class ids.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from threading import Lock
from typing import TypeVar
from weakref import WeakKeyDictionary

from sqlmodel import Session, col, select

from app.models import CourseClass

T = TypeVar("T")


class WorkCache:
    def __init__(self, *, kept: int = 256) -> None:
        self.kept = kept
        self._by_database: WeakKeyDictionary = WeakKeyDictionary()
        self._lock = Lock()

    def get(self, session: Session, *, class_id: int, key: Hashable, compute: Callable[[], T]) -> T:
        """compute() for this class as its work stands now, or what it gave for the same state before."""
        version = session.exec(select(CourseClass.work_version).where(col(CourseClass.id) == class_id)).one()
        full_key = (class_id, version, key)
        with self._lock:
            cache = self._by_database.setdefault(session.connection().engine.pool, OrderedDict())
            if full_key in cache:
                cache.move_to_end(full_key)
                return cache[full_key]
        value = compute()  # outside the lock: two threads may both compute it, and agree
        with self._lock:
            cache[full_key] = value
            while len(cache) > self.kept:
                cache.popitem(last=False)
        return value
