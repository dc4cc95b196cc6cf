"""Partitioned evaluation (``--workers N``): the events split by top-level unit (a root of the
unit tree), each part evaluated in a forked process, the results merged into exactly what
:func:`rulesengine.evaluate.evaluate_many` gives (docs/scaling.md; docs/decisions.md, 23).

An event goes with the top-level unit of its unit, person and persons fields (a person's is that
of every unit they are ever in) and of the events it refers to, either way; a roster event with
the unit it creates, or the person's. Each part holds its own roster; each subject's results come
from the part that owns it (checked); rankings and improvement actions are recomputed from the
merged scores; event counts come from all events. Serial, with the reason, whenever exactness is
not certain: one worker; no fork; a unit whose parent changes; a person in two top-level units;
an event touching two top-level units or none (but a retraction of what is not among the events
voids nothing: it goes to every part); a reference to a roster event; an id used twice; a points
or payment rule grouping events of two top-level units; fewer than two parts; a failing part.
"""

from __future__ import annotations

import gc
import multiprocessing
import sys
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from rulesengine.context import void_ids
from rulesengine.evaluate import evaluate_many, evaluate_part, rankings_across
from rulesengine.events import Event
from rulesengine.gcpause import collector_paused
from rulesengine.periods import Period
from rulesengine.policy import Policy, PolicySet
from rulesengine.results import Action, Payment, Result, Score, Warning
from rulesengine.rules import payment, points, ranking
from rulesengine.vocabulary import Vocabulary

NONE, UNSEEN = -1, -2  # NONE: no top-level unit (in every part)
UNIT, PERSON, PERSONS, EVENT = range(4)
Before = dict[str, dict[str, Decimal] | None]
PartOut = tuple[Result, Before]  # a period's result, and what its ranking read the period before


class Serial(Exception):
    """Why the partitioned evaluation would not be exact (the message is the one-line reason)."""


def evaluate_partitioned(
    policies: PolicySet,
    events: Sequence[Event],
    periods: Sequence[Period],
    workers: int,
    forced: Policy | None = None,
) -> tuple[list[Result], str | None]:
    """Exactly ``evaluate_many(policies, events, periods, forced)``, computed on ``workers``
    processes, each evaluating the events of some top-level units; and None, or the one-line
    reason why the evaluation was serial instead. Opens no file and reads no clock."""
    mains = [forced or policies.in_force(p) for p in periods]
    try:
        for bad, why in (
            (workers <= 1, "one worker"),
            (not periods, "no period to evaluate"),
            ("fork" not in multiprocessing.get_all_start_methods(), "no fork on this platform"),
            (None in mains, "a period has no policy in force"),
        ):
            if bad:
                raise Serial(why)
        job = Job(policies, periods, forced, [m for m in mains if m is not None])
        plan = split(job.mains[0].vocabulary, events, (forced,) if forced else policies.policies)
        plan.bin(workers, events)
        return _run(job, plan, events), None
    except Serial as why:
        return evaluate_many(policies, events, periods, forced), str(why)


@dataclass(slots=True)
class Plan:
    """How the events split: top-level units, their parts, and who owns what."""

    vocab: Vocabulary
    roster: list[Event] = field(default_factory=list)
    roots: list[str] = field(default_factory=list)  # top-level unit ids
    root_of: dict[str, int] = field(default_factory=dict)  # unit id -> index in roots
    person_root: dict[str, int] = field(default_factory=dict)
    roster_root: dict[str, int] = field(default_factory=dict)  # roster event id -> root
    event_root: dict[str, int] = field(default_factory=dict)  # other events
    part_of_root: list[int] = field(default_factory=list)
    parts: list[list[Event]] = field(default_factory=list)
    _owners: dict[str, int | None] = field(default_factory=dict)

    def bin(self, workers: int, events: Sequence[Event]) -> None:
        """Group the top-level units into at most ``workers`` parts balanced by event count
        (largest first, each to the least loaded part; ties by index), and fill the parts (in
        the given order; events of no top-level unit in every part)."""
        counts = [0] * len(self.roots)
        for r in self.event_root.values():
            if r != NONE:
                counts[r] += 1
        busy = sorted((i for i, c in enumerate(counts) if c), key=lambda i: (-counts[i], i))
        n = min(workers, len(busy))
        if n < 2:
            raise Serial("fewer than 2 parts: the events belong to one top-level unit")
        loads = [0] * n
        self.part_of_root = [0] * len(self.roots)
        for i in busy + [i for i, c in enumerate(counts) if not c]:
            b = min(range(n), key=lambda b: (loads[b], b))
            self.part_of_root[i], loads[b] = b, loads[b] + counts[i]
        self.parts = parts = [list[Event]() for _ in range(n)]
        part_of_root, where, roster = self.part_of_root, self.event_root, self.roster_root
        for ev in events:
            r = where.get(ev.id, UNSEEN)
            r = roster[ev.id] if r == UNSEEN else r
            if r == NONE:
                for part in parts:
                    part.append(ev)
            else:
                parts[part_of_root[r]].append(ev)

    def check(self, subject: str, index: int) -> None:
        """Raise :class:`Serial` unless part ``index`` owns ``subject`` (unit, person, event)."""
        try:
            found = self._owners[subject]
        except KeyError:
            roots = {m.get(subject) for m in (self.root_of, self.person_root, self.event_root)}
            parts = {self.part_of_root[r] for r in roots if r is not None and r != NONE}
            found = self._owners[subject] = parts.pop() if len(parts) == 1 else None
        if found != index:
            raise Serial(f"part {index + 1} evaluated '{subject}', which it does not own")


def split(vocab: Vocabulary, events: Sequence[Event], policies: Sequence[Policy]) -> Plan:
    """Find each event's top-level unit; raises :class:`Serial` when a split is not exact."""
    plan = Plan(vocab)
    specs = _group_specs(policies)
    try:
        with collector_paused():
            _roster(plan, events)
            found = _events(plan, events, {on for (_, _, on) in specs})
    except KeyError as exc:
        raise Serial(f"an event has an unknown type or lacks a roster field ({exc})") from None
    _groups(plan, specs, found, events)
    return plan


def _roster(plan: Plan, events: Sequence[Event]) -> None:
    """Top-level units from the roster's units, each person's from the units they join."""
    parents: dict[str, Any] = {}
    changes: list[tuple[Event, Any, Any]] = []  # (event, person, unit joined or moved to)
    ops = {name: spec.roster for name, spec in plan.vocab.types.items()}
    for ev in (ev for ev in events if ops[ev.type]):
        if ev.id in plan.roster_root:
            raise Serial(f"event id '{ev.id}' is used twice")
        plan.roster.append(ev)
        plan.roster_root[ev.id], d = NONE, ev.data
        if ops[ev.type] != "create_unit":
            changes.append((ev, d.get("person"), d.get("unit")))
        elif parents.setdefault(d["unit"], d.get("parent")) != d.get("parent"):
            raise Serial(f"unit '{d['unit']}' is created twice with different parents")
    for unit in sorted(parents):
        line = [unit]
        while parents.get(line[-1]) in parents:
            line.append(parents[line[-1]])
            if line[-1] in line[:-1]:
                raise Serial(f"the parents of unit '{unit}' loop")
        plan.root_of[unit] = _root_index(plan, line[-1])
    for _, person, unit in changes:
        if person is not None and unit is not None:
            r = _root_index(plan, unit)
            if (old := plan.person_root.setdefault(person, r)) != r:
                one, two = plan.roots[old], plan.roots[r]
                raise Serial(f"person '{person}' is in two top-level units ('{one}', '{two}')")
    for ev in plan.roster:
        if ops[ev.type] == "create_unit":
            plan.roster_root[ev.id] = plan.root_of[ev.data["unit"]]
    for ev, person, _ in changes:
        plan.roster_root[ev.id] = plan.person_root.get(person, NONE)


def _root_index(plan: Plan, top: str) -> int:
    """The index of a top-level unit (a unit never created is its own top-level unit)."""
    if top not in plan.root_of:
        plan.root_of[top] = len(plan.roots)
        plan.roots.append(top)
    return plan.root_of[top]


def _fields(vocab: Vocabulary, type_name: str) -> tuple[tuple[str, int], ...]:
    """The type's reference fields with their kind (``UNIT``, ``PERSON``, ``PERSONS``,
    ``EVENT``; its ``voids`` field is an event field)."""
    spec = vocab.types[type_name]
    kinds = {"unit": UNIT, "new_unit": UNIT, "person": PERSON, "new_person": PERSON}
    kinds.update(persons=PERSONS, event=EVENT)
    out = [(n, kinds[f.type]) for n, f in spec.fields.items() if f.type in kinds]
    if spec.voids and (spec.voids, EVENT) not in out:
        out.append((spec.voids, EVENT))
    return tuple(out)


def _touches(plan: Plan, ev: Event, a: int, b: int) -> Serial:
    one, two = sorted((plan.roots[a], plan.roots[b]))
    return Serial(f"event '{ev.id}' touches two top-level units ('{one}', '{two}')")


def _events(plan: Plan, events: Sequence[Event], wanted: set[str]) -> dict[str, list[Event]]:
    """Each other event's top-level unit, from its fields and the events it refers to (known at
    once for an earlier event, else by union-find); returns the events of the ``wanted`` types."""
    shapes = {n: None if t.roster else _fields(plan.vocab, n) for n, t in plan.vocab.types.items()}
    own, person_root, root_of = plan.event_root, plan.person_root, plan.root_of
    found: dict[str, list[Event]] = {t: [] for t in wanted}
    later: list[tuple[Event, list[Any]]] = []
    rootless: list[Event] = []
    for ev in events:
        if ev.type in found:
            found[ev.type].append(ev)
        if (shape := shapes[ev.type]) is None:
            continue
        d = ev.data
        r, links = NONE, []
        for f, kind in shape:
            value = d.get(f)
            if value is None:
                continue
            for v in value if kind == PERSONS else (value,):
                node: Any = v
                if kind == EVENT:
                    x = own.get(v, UNSEEN)
                elif kind == UNIT:
                    x = root_of[v] if v in root_of else _root_index(plan, v)
                else:  # a person not on the roster is joined to others by references
                    x, node = person_root.get(v, UNSEEN), ("person", v)
                if x < 0:
                    links.append(node)
                elif x != r:
                    if r != NONE:
                        raise _touches(plan, ev, r, x)
                    r = x
        own[ev.id] = r
        if links:
            later.append((ev, links))
        if r == NONE:
            rootless.append(ev)
    if len(own) + len(plan.roster_root) != len(events) or any(i in own for i in plan.roster_root):
        raise Serial("an event id is used twice")
    _join(plan, later)
    for ev in (ev for ev in rootless if own[ev.id] == NONE):
        # only a retraction naming nobody, of what is not among the events (directly or through
        # other such retractions), may belong to none: it changes nothing in any part
        if not plan.vocab.types[ev.type].voids or any(
            ev.data.get(f) for f, kind in shapes[ev.type] or () if kind != EVENT
        ):
            raise Serial(f"event '{ev.id}' belongs to no top-level unit")
    return found


def _join(plan: Plan, later: list[tuple[Event, list[Any]]]) -> None:
    """Union-find over the events whose references were not resolved in passing."""
    own, up, label = plan.event_root, dict[Any, Any](), dict[Any, int]()

    def find(x: Any) -> Any:
        if x not in up:
            if isinstance(x, str) and x in plan.roster_root:
                raise Serial(f"an event refers to the roster event '{x}'")
            up[x], label[x] = x, own.get(x, NONE) if isinstance(x, str) else NONE
        top = x
        while up[top] != top:
            top = up[top]
        while up[x] != top:
            up[x], x = top, up[x]
        return top

    for ev, links in later:
        a = find(ev.id)
        for link in links:
            b = find(link)
            if a != b:
                la, lb = label[a], label[b]
                if NONE not in (la, lb) and la != lb:
                    raise _touches(plan, ev, la, lb)
                up[b], label[a] = a, la if la != NONE else lb
    for x in up:
        r = label[find(x)]
        if isinstance(x, str) and x in own:
            own[x] = r
        elif isinstance(x, tuple) and r != NONE:
            plan.person_root[x[1]] = r


Specs = dict[tuple[str, str, str], dict[tuple[str, ...], list[Any]]]


def _group_specs(policies: Sequence[Policy]) -> Specs:
    """Groups that carry values across events, per (rule name, group kind, type): the fields of
    each variant (``piece`` is the field it is read through) and the rules selecting for it."""
    specs: Specs = {}
    for rule in (rule for pol in policies for rule in pol.rules):
        if isinstance(rule, points.PointsRule):
            groups: Any = (("best", rule.best_only_per, rule), ("nth", rule.number_per, rule))
        elif isinstance(rule, payment.PaymentRule) and rule.on is not None:
            groups = (("once", rule.once_per, None),)
        else:
            continue
        for what, names, selecting in groups:
            fields = tuple((rule.via or "") if f == "piece" else f for f in names)
            if fields:
                found = specs.setdefault((rule.name, what, str(rule.on)), {})
                found.setdefault(fields, []).append(selecting)
    return specs


def _groups(
    plan: Plan, specs: Specs, found: dict[str, list[Event]], events: Sequence[Event]
) -> None:
    """Every group of ``best_only_per``, ``number_per``, ``once_per`` stays in one top-level unit:
    a key naming a unit, person or event does (the split put all events naming it together); other
    keys are checked on the events the rule's condition may select, across policies."""
    by_id: dict[str, Event] = {}
    for (name, _, on), variants in sorted(specs.items()):
        named = {f for f, _ in _fields(plan.vocab, on)}
        seen: dict[tuple[Any, ...], int] = {}
        for fields, rules in sorted(variants.items()):
            alike = [v for v in variants if len(v) == len(fields)]
            refs = [f for i, f in enumerate(fields) if all(v[i] in named for v in alike)]
            for ev in found.get(on, ()):
                d = ev.data
                if any(d.get(f) not in (None, ()) for f in refs):
                    continue
                if rules != [None] and not by_id:
                    by_id = {e.id: e for e in events}
                if not any(_may_select(rule, ev, by_id) for rule in rules):
                    continue
                r = plan.event_root.get(ev.id, plan.roster_root.get(ev.id, NONE))
                if seen.setdefault(tuple(d.get(f) for f in fields), r) != r:
                    by = ", ".join(fields)
                    raise Serial(f"rule '{name}' groups events of two top-level units by {by}")


def _may_select(rule: points.PointsRule | None, ev: Event, by_id: dict[str, Event]) -> bool:
    """Whether a points rule's ``where`` may select ``ev``, read as the points pass reads it
    (True when it cannot be told here)."""
    where = rule.where if rule is not None else None
    if rule is None or where is None or {"late", "nth"} & set(where.names):
        return True
    values: list[Any] = []
    for n in where.names:
        if n.startswith("piece."):
            piece, f = by_id.get(str(ev.data.get(rule.via or ""))), n[len("piece.") :]
            data = piece.data if piece is not None else {}
            values.append(piece.type if piece is not None and f == "type" else data.get(f))
        else:
            values.append(ev.type if n == "type" else ev.id if n == "id" else ev.data.get(n))
    try:
        return where.evaluate_values(tuple(values)) is True
    except Exception:
        return True


@dataclass(frozen=True, slots=True)
class Job:
    """What every part evaluates."""

    policies: PolicySet
    periods: Sequence[Period]
    forced: Policy | None
    mains: list[Policy]

    def improvements(self, i: int) -> set[str]:
        """The improvement rules of period ``i`` (recomputed across parts by the parent)."""
        return {r.name for r in self.mains[i].rules if isinstance(r, ranking.ImprovementRule)}


def _run(job: Job, plan: Plan, events: Sequence[Event]) -> list[Result]:
    mp, children = multiprocessing.get_context("fork"), list[tuple[Any, Any]]()
    for stream in (sys.stdout, sys.stderr):  # else each child writes what is buffered again
        getattr(stream, "flush", int)()
    frozen = gc.get_freeze_count() == 0  # a caller's own frozen objects stay frozen
    if frozen:
        gc.freeze()  # no process's collector walks the events again (nor touches their pages)
    try:
        try:
            for index in range(1, len(plan.parts)):
                recv, send = mp.Pipe(duplex=False)
                proc = mp.Process(target=_child, args=(job, plan, index, send), daemon=True)
                proc.start()
                send.close()
                children.append((proc, recv))
        except (OSError, AssertionError, ValueError) as exc:
            raise Serial(f"worker processes cannot be started here ({exc})") from None
        outs: list[list[PartOut] | str] = [_part(job, plan, 0)]
        counts = _counts(job, plan.vocab, events)  # while the workers finish
        with collector_paused():  # unpickle, merge (part 1 garbage waits, as serially)
            for proc, recv in children:
                try:
                    outs.append(recv.recv())
                except EOFError:
                    outs.append("a worker process ended without its results")
                proc.join()
            for out in outs:
                if isinstance(out, str):
                    raise Serial(out)
            return _merge(job, plan, counts, [out for out in outs if not isinstance(out, str)])
    finally:
        if frozen:
            gc.unfreeze()
        for proc, _ in children:
            if proc.is_alive():
                proc.terminate()
                proc.join()


def _child(job: Job, plan: Plan, index: int, conn: Any) -> None:
    """A worker process: evaluate one part, send back its results (or why it has none)."""
    try:
        conn.send(_part(job, plan, index))
    except Exception as exc:  # nothing was sent: the results could not be pickled
        conn.send(f"part {index + 1} could not send its results: {type(exc).__name__}")
    conn.close()


def _part(job: Job, plan: Plan, index: int) -> list[PartOut] | str:
    """One part's results (checked to be of subjects it owns), or why the run must be serial."""
    try:
        outs = evaluate_part(job.policies, plan.parts[index], job.periods, job.forced)
        for i, (result, before) in enumerate(outs):
            drop, r = job.improvements(i), result
            for subject in (
                [s.subject for s in r.scores]
                + [g.subject for g in r.grades]
                + [a.subject for a in r.actions if a.rule not in drop]
                + [p.person for p in r.payments]
                + [s for pts in before.values() for s in pts or ()]
            ):
                plan.check(subject, index)
        return [(replace(r, rankings=(), names={}), before) for r, before in outs]
    except Serial as why:
        return str(why)
    except Exception as exc:  # the serial run then says what is wrong
        return f"part {index + 1} failed: {type(exc).__name__}: {exc}".splitlines()[0]


def _counts(job: Job, vocab: Vocabulary, events: Sequence[Event]) -> list[tuple[int, int]]:
    """Per period, the live events before its end and the void ones (as the serial run counts)."""
    void = void_ids(events, vocab)
    live = sorted(ev.at for ev in events if ev.id not in void)
    voided = [ev.at for ev in events if ev.id in void]
    ends = [p.bounds(m.timezone)[1] for p, m in zip(job.periods, job.mains, strict=True)]
    return [(bisect_left(live, end), sum(1 for at in voided if at < end)) for end in ends]


def _merge(
    job: Job, plan: Plan, counts: list[tuple[int, int]], outs: list[list[PartOut]]
) -> list[Result]:
    """One result per period, as the serial run gives it."""
    periods = range(len(job.periods))
    results = [[out[i][0] for out in outs] for i in periods]
    scores = [
        sorted((s for r in results[i] for s in r.scores), key=Score.sort_key) for i in periods
    ]
    before: list[Before] = [{} for _ in periods]
    for i, out in ((i, out) for i in periods for out in outs):
        for name, pts in out[i][1].items():
            before[i][name] = None if pts is None else {**(before[i].get(name) or {}), **pts}
    ranked = rankings_across(job.policies, plan.roster, job.periods, scores, before, job.forced)
    merged = []
    for i in periods:
        parts, (rows, improved, names) = results[i], ranked[i]
        drop, rules = job.improvements(i), job.mains[i].rules
        actions = [a for r in parts for a in r.actions if a.rule not in drop] + improved
        order = {r.name: n for n, r in reversed(list(enumerate(rules)))}
        grades = sorted(
            (g for r in parts for g in r.grades), key=lambda g: (order[g.rule], g.subject)
        )
        paid = sorted((p for r in parts for p in r.payments), key=Payment.sort_key)
        warned: set[Warning] = {w for r in parts for w in r.warnings}
        merged.append(
            replace(
                parts[0],
                scores=tuple(scores[i]),
                rankings=tuple(rows),
                actions=tuple(sorted(actions, key=Action.sort_key)),
                payments=tuple(paid),
                warnings=tuple(sorted(warned, key=Warning.sort_key)),
                grades=tuple(grades),
                names=names,
                events_considered=counts[i][0],
                events_void=counts[i][1],
            )
        )
    return merged
