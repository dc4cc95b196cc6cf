"""The score book of one period: points per rule and subject, each subject's kind, and the
contributions that explain them.

Built for a province's year: a quarter or a year adds up the books of its months, so the book
keeps its contributions in chunks and a merge shares the other book's chunks instead of copying
every contribution (each copy touches every object again, and at province scale those objects
are far apart in memory). The order of contributions is the order they were added in.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from itertools import chain
from types import MappingProxyType
from typing import Any

from rulesengine.results import Contribution, Contributions, Score

ZERO = Decimal(0)
_EMPTY: Mapping[str, Decimal] = MappingProxyType({})

# One subject's entry: [points, kind, chunks of contributions, the chunk `add` appends to (None
# when the last chunk is shared with another book)].
_Entry = list[Any]


class Scores:
    """Points per (rule, subject), with the subject's kind and the contributions."""

    __slots__ = ("_index", "_rules")

    def __init__(self) -> None:
        self._rules: dict[str, dict[str, _Entry]] = {}
        self._index: dict[str, Mapping[str, Decimal]] = {}  # of_rule's; reset on change

    def _book(self, rule: str) -> dict[str, _Entry]:
        book = self._rules.get(rule)
        if book is None:
            book = self._rules[rule] = {}
        if self._index:
            self._index = {}
        return book

    def add(self, rule: str, subject: str, kind: str, value: Decimal, c: Contribution) -> None:
        """Add ``value`` to a subject's points, explained by ``c``."""
        book = self._rules.get(rule)
        if book is None:
            book = self._rules[rule] = {}
        if self._index:
            self._index = {}
        entry = book.get(subject)
        if entry is None:
            own = [c]
            book[subject] = [ZERO + value, kind, [own], own]
            return
        entry[0] = entry[0] + value
        entry[1] = kind
        own = entry[3]
        if own is None:
            own = entry[3] = [c]
            entry[2].append(own)
        else:
            own.append(c)

    def merge(self, other: Scores) -> None:
        """Add another book's scores to these. The other book's contributions are shared, not
        copied: it must not change afterwards (its own later additions would start new chunks,
        which this book does not see)."""
        for rule, theirs in other._rules.items():
            book = self._book(rule)
            for subject, entry in theirs.items():
                entry[3] = None  # shared from now on: the other book appends to a new chunk
                mine = book.get(subject)
                if mine is None:
                    book[subject] = [ZERO + entry[0], entry[1], list(entry[2]), None]
                else:
                    mine[0] = mine[0] + entry[0]
                    mine[1] = entry[1]
                    mine[2].extend(entry[2])
                    mine[3] = None

    def put(self, rule: str, subject: str, kind: str, value: Decimal, c: Contribution) -> None:
        """Set (not add to) a subject's points, explained by one contribution."""
        own = [c]
        self._book(rule)[subject] = [value, kind, [own], own]

    def zero(self, rule: str, subject: str, kind: str) -> None:
        """A subject with no points yet gets a score of zero (its kind kept when it has one)."""
        book = self._book(rule)
        if subject not in book:
            book[subject] = [ZERO, kind, [], None]

    def value(self, rule: str, subject: str) -> Decimal:
        """A subject's points under ``rule`` (zero when it has none)."""
        entry = self._rules.get(rule, {}).get(subject)
        return entry[0] if entry is not None else ZERO

    def count(self, rule: str, subject: str) -> int:
        """How many contributions a subject's points under ``rule`` have."""
        entry = self._rules.get(rule, {}).get(subject)
        return sum(map(len, entry[2])) if entry is not None else 0

    def subjects(self, rules: Iterable[str]) -> set[str]:
        """The subjects with a score under any of ``rules``."""
        return {s for r in rules for s in self._rules.get(r, ())}

    def of_rule(self, rule: str) -> Mapping[str, Decimal]:
        """The points of one rule by subject (indexed once the scores are complete)."""
        found = self._index.get(rule)
        if found is None:
            book = self._rules.get(rule)
            found = self._index[rule] = (
                {s: e[0] for s, e in book.items()} if book is not None else _EMPTY
            )
        return found  # shared: callers only read it

    def records(self) -> list[Score]:
        """Every score, by rule, then persons before units, then kind and subject (the order of
        :meth:`Score.sort_key`, sorted as plain texts). The scores share the book's chunks of
        contributions (:class:`Contributions`): the book adds to new chunks from then on."""
        out: list[Score] = []
        for rule in sorted(self._rules):
            book = self._rules[rule]
            persons = sorted(s for s, e in book.items() if e[1] == "person")
            units = sorted((e[1], s) for s, e in book.items() if e[1] != "person")
            for subject in chain(persons, (s for _, s in units)):
                entry = book[subject]
                entry[3] = None  # the score reads the chunks: later additions start a new one
                out.append(Score(rule, subject, entry[1], entry[0], Contributions(entry[2])))
        return out
