"""The roster over time: units with kinds and parents, persons with a unit and a role.

Built once per evaluation from the roster events (those whose vocabulary type has a ``roster:``
operation). "At t" includes every change at or before ``t``; "at the end of a period" is just
before the next period's first instant.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rulesengine.events import Event
from rulesengine.periods import ONE_MICROSECOND
from rulesengine.vocabulary import Vocabulary


@dataclass(frozen=True, slots=True)
class Unit:
    """An org unit."""

    id: str
    name: str
    kind: str
    parent: str | None
    created: datetime
    attrs: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class State:
    """A person's place from some instant on; ``unit`` is None once they have left."""

    unit: str | None
    role: str | None
    last_unit: str | None


@dataclass(frozen=True, slots=True)
class HeadRule:
    """How the head of a unit is found (from a policy's ``roster.heads``)."""

    unit_kinds: tuple[str, ...] | None
    roles: tuple[str, ...]
    otherwise: str = "none"


@dataclass(slots=True)
class Roster:
    """Units and the timeline of every person."""

    units: dict[str, Unit] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)
    _times: dict[str, list[datetime]] = field(default_factory=dict)
    _states: dict[str, list[State]] = field(default_factory=dict)
    _ever_in: dict[str, set[str]] = field(default_factory=dict)
    _kind_cache: dict[tuple[str | None, tuple[str, ...]], str | None] = field(default_factory=dict)
    _fixed: dict[str, tuple[datetime, str | None]] = field(default_factory=dict)
    _homes: dict[tuple[tuple[str, ...], datetime], dict[str, str | None]] = field(
        default_factory=dict
    )
    _persons: list[str] = field(default_factory=list)  # sorted, once built

    @classmethod
    def build(cls, events: Iterable[Event], vocab: Vocabulary) -> Roster:
        """The roster from roster events (any order; applied by time, then id)."""
        roster = cls()
        kinds = {name: spec.roster for name, spec in vocab.types.items() if spec.roster}
        ops = [(kinds[e.type], e) for e in events if e.type in kinds]
        ranks = vocab.ranks()
        for op, ev in sorted(ops, key=lambda p: (p[1].at, ranks[p[1].type], p[1].id)):
            d = ev.data
            if op == "create_unit":
                roster.units[d["unit"]] = Unit(
                    d["unit"], d.get("name", d["unit"]), d["kind"], d.get("parent"), ev.at, d
                )
                continue
            pid = d["person"]
            cur = roster.state_at(pid, ev.at)
            if op == "join":
                roster.names[pid] = d.get("name", pid)
                new = State(d["unit"], d["role"], d["unit"])
            elif cur is None or cur.unit is None:
                continue  # a change for someone not on the roster: nothing to apply
            elif op == "move":
                new = State(d["unit"], cur.role, d["unit"])
            elif op == "change_role":
                new = State(cur.unit, d["role"], cur.last_unit)
            else:  # leave
                new = State(None, None, cur.last_unit)
            roster._times.setdefault(pid, []).append(ev.at)
            roster._states.setdefault(pid, []).append(new)
            if new.unit:
                roster._ever_in.setdefault(new.unit, set()).add(pid)
        # Most people never change: their unit without a search. Equal start times share one
        # object, so comparing with them reads a few hot objects, not one per person.
        starts: dict[datetime, datetime] = {}
        roster._fixed = {
            pid: (starts.setdefault(times[0], times[0]), states[0].unit)
            for pid, times in roster._times.items()
            if len(times) == 1
            for states in (roster._states[pid],)
        }
        roster._persons = sorted(roster._states)
        return roster

    def persons(self) -> list[str]:
        """Every person who was ever on the roster, sorted (a new list: sorted once per roster,
        not once per period asked about)."""
        return list(self._persons)

    def state_at(self, pid: str, t: datetime) -> State | None:
        """The person's state after every change at or before ``t`` (None before joining)."""
        times = self._times.get(pid)
        if not times:
            return None
        i = bisect_right(times, t)
        return self._states[pid][i - 1] if i else None

    def unit_at(self, pid: str, t: datetime) -> str | None:
        """The unit the person is in at ``t`` (None if not on the roster)."""
        fixed = self._fixed.get(pid)
        if fixed is not None:
            return fixed[1] if fixed[0] <= t else None
        times = self._times.get(pid)  # state_at, inlined: called for most events
        if not times:
            return None
        i = bisect_right(times, t)
        return self._states[pid][i - 1].unit if i else None

    def homes(self, kinds: tuple[str, ...], since: datetime) -> dict[str, str | None]:
        """For every person whose one place on the roster began at or before ``since`` and never
        changed: the unit of ``kinds`` at or above it (``unit_of_kind(unit_at(p, t), kinds)``
        for every ``t >= since``). Memoised. Persons not in it need :meth:`unit_at`.

        One look-up per event instead of a timeline, a time comparison and a walk up the
        units, for rules that place a month's or a quarter's events in units."""
        key = (kinds, since)
        found = self._homes.get(key)
        if found is None:
            found = self._homes[key] = {
                pid: self.unit_of_kind(unit, kinds)
                for pid, (start, unit) in self._fixed.items()
                if start <= since
            }
        return found

    def last_unit_at(self, pid: str, t: datetime) -> str | None:
        """The unit at ``t``, or the last one they were in if they have left."""
        st = self.state_at(pid, t)
        return st.last_unit if st else None

    def exists(self, unit: str, t: datetime) -> bool:
        """Whether the unit has been created at or before ``t``."""
        u = self.units.get(unit)
        return u is not None and u.created <= t

    def units_of_kinds(self, kinds: Sequence[str], t: datetime) -> list[str]:
        """Units of these kinds existing at ``t``, sorted by id."""
        return sorted(u.id for u in self.units.values() if u.kind in kinds and u.created <= t)

    def lineage(self, unit: str | None) -> list[str]:
        """The unit and its ancestors, nearest first."""
        out: list[str] = []
        while unit is not None and unit in self.units and unit not in out:
            out.append(unit)
            unit = self.units[unit].parent
        return out

    def unit_of_kind(self, unit: str | None, kinds: Sequence[str]) -> str | None:
        """The nearest unit at or above ``unit`` whose kind is in ``kinds``."""
        key = (unit, tuple(kinds))
        try:
            return self._kind_cache[key]
        except KeyError:
            pass
        found = next((u for u in self.lineage(unit) if self.units[u].kind in kinds), None)
        self._kind_cache[key] = found
        return found

    def members_at(self, unit: str, t: datetime) -> list[tuple[str, str]]:
        """``(person, role)`` of everyone in ``unit`` at ``t``, sorted by person id."""
        out = []
        for pid in sorted(self._ever_in.get(unit, ())):
            st = self.state_at(pid, t)
            if st is not None and st.unit == unit and st.role is not None:
                out.append((pid, st.role))
        return out

    def eligible(
        self,
        pid: str,
        start: datetime,
        end: datetime,
        unit_kinds: Sequence[str],
        roles: Sequence[str],
    ) -> bool:
        """Whether in a unit of ``unit_kinds`` with a role in ``roles`` for all of [start, end)."""
        st = self.state_at(pid, start)
        if not self._fits(st, unit_kinds, roles):
            return False
        times = self._times[pid]
        i = bisect_right(times, start)
        while i < len(times) and times[i] < end:
            if not self._fits(self._states[pid][i], unit_kinds, roles):
                return False
            i += 1
        return True

    def _fits(self, st: State | None, unit_kinds: Sequence[str], roles: Sequence[str]) -> bool:
        if st is None or st.unit is None or st.role not in roles:
            return False
        unit = self.units.get(st.unit)
        return unit is not None and unit.kind in unit_kinds

    def head_of(self, unit: str | None, t: datetime, rules: Sequence[HeadRule]) -> str | None:
        """The head of ``unit`` at ``t`` under ``rules`` (None when nobody qualifies)."""
        seen: set[str] = set()
        while unit is not None and unit in self.units and unit not in seen:
            seen.add(unit)
            kind = self.units[unit].kind
            rule = next((r for r in rules if r.unit_kinds is None or kind in r.unit_kinds), None)
            if rule is None:
                return None
            holders = [p for p, role in self.members_at(unit, t) if role in rule.roles]
            if holders:
                return holders[0]
            if rule.otherwise != "parent":
                return None
            unit = self.units[unit].parent
        return None


def end_instant(end: datetime) -> datetime:
    """ "At the end of a period": just before the next period's first instant."""
    return end - ONE_MICROSECOND
