"""The one k-gate: every number, list or change a lecturer can see about students' work passes here.

Two tools, used by the review, the progress matrix and the distributions (docs/privacy.md, section 1):

- `rounds`: things that happen one student at a time (a submission, a reply, a finished case) become
  visible only in rounds of at least k, all members of a round at once, dated by the round. What a
  lecturer sees changes only when k students changed together, so no change between two visits
  points to fewer than k of them.
- `small_cells`: counts in a table below k are shown as "fewer than k" (None here), and when only one
  cell of a row with a known total would be hidden, the next smallest is hidden with it, so that no
  hidden cell can be worked out by subtraction.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from app.models import aware

# Never fewer, whatever a class asks for.
K_FLOOR = 3


def k_of(course_class) -> int:
    return max(K_FLOOR, course_class.min_group_size)


@dataclass(frozen=True)
class Released:
    """What `rounds` decided: each released key with the closing time of its round, and the cutoff
    (the closing time of the latest round; None before the first)."""

    closed_at: dict[Hashable, datetime]
    cutoff: datetime | None
    pending: int  # entered, waiting for the next round (never shown as a number to lecturers)

    def __contains__(self, key: Hashable) -> bool:
        return key in self.closed_at

    def __len__(self) -> int:
        return len(self.closed_at)


def rounds(entries: Iterable[tuple], k: int) -> Released:
    """Release (key, entered_at[, person]) entries in rounds of at least k people, in the order they entered.

    A round closes at the moment an entry brings it to k distinct people (without `person`, every entry
    is its own person); members of an unfinished round stay hidden. The outcome depends only on the
    entries, so it is the same on every page and every reload, and it changes only when a whole round
    closes.
    """
    k = max(K_FLOOR, k)
    ordered = sorted(
        ((aware(entry[1]), str(entry[0]), entry[0], entry[2] if len(entry) > 2 else entry[0]) for entry in entries),
        key=lambda item: (item[0], item[1]),
    )
    closed_at: dict[Hashable, datetime] = {}
    group: list = []
    people: set = set()
    cutoff = None
    for item in ordered:
        group.append(item)
        people.add(item[3])
        if len(people) >= k:
            for _at, _sort, key, _person in group:
                closed_at[key] = item[0]
            cutoff = item[0]
            group, people = [], set()
    return Released(closed_at, cutoff, len(group))


def released_count(count: int, k: int) -> int:
    """How many of `count` one-at-a-time events are visible when they are released in rounds of k."""
    k = max(K_FLOOR, k)
    return count - count % k


def gate(count: int, k: int) -> int | None:
    """The count, or None ("fewer than k") when it is below k but not zero-free of meaning.

    Zero is shown as zero only when nobody at all is counted; 1..k-1 is hidden."""
    k = max(K_FLOOR, k)
    return count if count == 0 or count >= k else None


def small_cells(counts: Sequence[int], k: int, *, total_shown: bool = True) -> list[int | None]:
    """Cells of one row or column: each below k (and above 0) hidden; with a known total, never
    exactly one hidden cell (it would be the total minus the others), so the next smallest goes too.
    Zero cells count as hidden when they are the only way to work a hidden one out."""
    k = max(K_FLOOR, k)
    shown: list[int | None] = [count if count == 0 or count >= k else None for count in counts]
    hidden = [index for index, value in enumerate(shown) if value is None]
    if total_shown and len(hidden) == 1:
        others = sorted((count, index) for index, count in enumerate(counts) if shown[index] is not None)
        if others:
            shown[others[0][1]] = None
    return shown
