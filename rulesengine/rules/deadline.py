"""Rule kind ``deadline``: a task (an event such as a commission or an incident) must be answered
by another event by a due time.

The due time is a timestamp field of the task, or the task's time plus a number of hours computed
by an expression. Answers are live events of ``met_by.type`` whose ``link`` field names the task,
that pass ``where``, and (optionally) come from the person in the task's ``by`` field or from a
member of the unit in its ``within`` field (or a unit below it) at the answer's time. An answer
exactly at the due time is on time.

- ``late``: the first answer comes after the due time; actions in the month of that answer.
- ``missing``: no answer by the due time (``by: due``) or by the end of the month that contains
  it (``by: end_of_due_month``); actions in the month that contains the due time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from rulesengine.events import Event
from rulesengine.expressions import Expression
from rulesengine.periods import Period, period_of
from rulesengine.results import Action
from rulesengine.roster import end_instant
from rulesengine.rules.acting import head_of, make_action
from rulesengine.rules.common import ActionSpec, BuildContext, Selection, build_actions, field_names
from rulesengine.yamlsrc import Path

if TYPE_CHECKING:
    from rulesengine.context import Context
    from rulesengine.policy import Policy


@dataclass(frozen=True, slots=True)
class DeadlineRule:
    """A checked ``deadline`` rule."""

    name: str
    label: str
    on: str
    due_field: str | None
    due_hours: Expression | None
    answer: Selection
    link: str
    by: str | None
    within: str | None
    late: tuple[ActionSpec, ...]
    missing: tuple[ActionSpec, ...]
    missing_by: str
    field_kinds: dict[str, str]
    credit: str | None = None
    late_points: Decimal | None = None
    missing_points: Decimal | None = None
    kind: str = "deadline"


def build(raw: dict[str, Any], path: Path, ctx: BuildContext) -> DeadlineRule | None:
    """Build a deadline rule from its checked YAML mapping."""
    on = ctx.event_type(raw["on"], (*path, "on"))
    mb = raw["met_by"]
    answer_type = ctx.event_type(mb["type"], (*path, "met_by", "type"))
    if on is None or answer_type is None:
        return None
    ok = True
    due_field = raw["due"].get("field")
    due_hours = None
    if due_field is not None:
        ok &= ctx.field_of(on, due_field, (*path, "due", "field"), ("timestamp",))
    else:
        due_hours = ctx.expression(
            raw["due"]["hours_after"], (*path, "due", "hours_after"), field_names(ctx.vocab, on)
        )
        ok &= due_hours is not None
    ok &= ctx.field_of(answer_type, mb["link"], (*path, "met_by", "link"), ("event",))
    if "by" in mb:
        ok &= ctx.field_of(on, mb["by"], (*path, "met_by", "by"), ("person",))
    if "within" in mb:
        ok &= ctx.field_of(on, mb["within"], (*path, "met_by", "within"), ("unit",))
    where = None
    if "where" in mb:
        where = ctx.expression(
            mb["where"], (*path, "met_by", "where"), field_names(ctx.vocab, answer_type)
        )
        ok &= where is not None
    refs = {
        n: s.type for n, s in ctx.vocab.types[on].fields.items() if s.type in ("person", "unit")
    }
    subjects = ("task", *refs)
    late: list[ActionSpec] = []
    missing: list[ActionSpec] = []
    for key, dest in (("late", late), ("missing", missing)):
        if key in raw:
            raws = raw[key].get("actions", [])
            dest.extend(
                build_actions(raws, (*path, key, "actions"), ctx, None, subjects, tuple(refs))
            )
            ok &= len(dest) == len(raws)
            for i, a in enumerate(dest):
                if not a.target.head and refs.get(a.target.ref) != "person":
                    ctx.error(
                        (*path, key, "actions", i, "target"),
                        "E170",
                        f"'{a.target.ref}' is not a person: write 'head of {a.target.ref}'",
                    )
                    ok = False
    credit = raw.get("credit")
    if credit is not None and credit not in refs:
        ctx.error(
            (*path, "credit"),
            "E171",
            f"'{credit}' is not a person or unit field of '{on}'",
            "name the field that receives the points, e.g. assignee or unit",
        )
        ok = False
    pts = {
        k: Decimal(str(raw[k]["points"]))
        for k in ("late", "missing")
        if k in raw and "points" in raw[k]
    }
    if pts and credit is None:
        ctx.error(path, "E171", "points on late or missing answers need credit: (who gets them)")
        ok = False
    if not ok:
        return None
    return DeadlineRule(
        raw["name"],
        raw.get("label", ""),
        on,
        due_field,
        due_hours,
        Selection(f"{raw['name']}.met_by", answer_type, where),
        mb["link"],
        mb.get("by"),
        mb.get("within"),
        tuple(late),
        tuple(missing),
        raw.get("missing", {}).get("by", "due"),
        refs,
        credit,
        pts.get("late"),
        pts.get("missing"),
    )


def due_time(rule: DeadlineRule, task: Event) -> datetime:
    """When the task is due."""
    if rule.due_field is not None:
        value: datetime = task.data[rule.due_field]
        return value
    assert rule.due_hours is not None
    hours = rule.due_hours.number(
        tuple(task.data.get(n) if n != "type" else task.type for n in rule.due_hours.names)
    )
    return task.at + timedelta(hours=float(hours))


def answers(ctx: Context, rule: DeadlineRule, task: Event) -> list[Event]:
    """The task's valid answers, in time order."""
    index_key = ("deadline-answers", rule.answer.type, rule.link)
    index = ctx.memo.get(index_key)
    if index is None:
        index = {}
        for ev in ctx.by_type.get(rule.answer.type, ()):
            task_id = ev.data.get(rule.link)
            if task_id is not None:  # most pieces answer no task
                index.setdefault(task_id, []).append(ev)
        ctx.memo[index_key] = index
    out = []
    for ev in index.get(task.id, ()):
        if not rule.answer.matches(ev):
            continue
        _, person = ctx.credit(ev)
        if rule.by is not None and person != task.data.get(rule.by):
            continue
        if rule.within is not None:
            home = ctx.roster.unit_at(person, ev.at) if person else None
            if task.data.get(rule.within) not in ctx.roster.lineage(home):
                continue
        out.append(ev)
    return out


Outcome = tuple[str, Event, datetime, "Event | None", dict[str, Any]]


def outcomes(ctx: Context, rule: DeadlineRule, period: Period, policy: Policy) -> list[Outcome]:
    """``(late|missing, task, due, first answer, explanation)`` falling in the month ``period``."""
    if period.kind != "month":
        return []
    start, end = period.bounds(policy.timezone)
    out: list[Outcome] = []
    key = ("deadline-tasks", id(rule))
    tasks = ctx.memo.get(key)
    if tasks is None:  # due times and answers do not depend on the month asked for
        tasks = ctx.memo[key] = [
            (task, due_time(rule, task), answers(ctx, rule, task))
            for task in ctx.by_type.get(rule.on, ())
        ]
    for task, due, found in tasks:
        first = found[0] if found else None
        explanation: dict[str, Any] = {
            "task": task.id,
            "due": due.isoformat(),
            "answers": [a.id for a in found],
        }
        if first is not None and first.at > due and start <= first.at < end:
            out.append(("late", task, due, first, {**explanation, "first_answer": first.id}))
        if not (start <= due < end):
            continue
        if rule.missing_by == "due":
            on_time = any(a.at <= due for a in found)
        else:
            limit = period_of(due, "month", policy.timezone).bounds(policy.timezone)[1]
            on_time = any(a.at < limit for a in found)
        if not on_time:
            out.append(("missing", task, due, None, explanation))
    return out


def evaluate(ctx: Context, rule: DeadlineRule, period: Period, policy: Policy) -> list[Action]:
    """The actions of ``rule`` that fall in the month ``period``."""
    last = end_instant(period.bounds(policy.timezone)[1])
    out: list[Action] = []
    for what, task, due, first, explanation in outcomes(ctx, rule, period, policy):
        specs = rule.late if what == "late" else rule.missing
        for spec in specs:
            answer = first.id if first is not None else None
            out.append(_act(ctx, policy, rule, spec, period, task, due, last, answer, explanation))
    return out


def awards(
    ctx: Context, rule: DeadlineRule, period: Period, policy: Policy
) -> dict[str, tuple[Decimal, dict[str, Any]]]:
    """Points (usually deductions) for late or missing answers in the month ``period``, credited
    to the task's ``credit`` field (a person or a unit)."""
    if rule.credit is None:
        return {}
    out: dict[str, tuple[Decimal, dict[str, Any]]] = {}
    for what, task, _due, _first, explanation in outcomes(ctx, rule, period, policy):
        value = rule.late_points if what == "late" else rule.missing_points
        subject = task.data.get(rule.credit)
        if value is None or value == 0 or subject is None:
            continue
        old = out.get(subject, (Decimal(0), {"tasks": []}))
        old[1]["tasks"].append({**explanation, "outcome": what, "points": value})
        out[subject] = (old[0] + value, old[1])
    return out


def _act(
    ctx: Context,
    policy: Policy,
    rule: DeadlineRule,
    spec: ActionSpec,
    period: Period,
    task: Event,
    due: datetime,
    last: datetime,
    answer: str | None,
    explanation: dict[str, Any],
) -> Action:
    at = due if spec.target.at == "due" else last
    if spec.subject == "task":
        subject, subject_kind = task.id, task.type
    else:
        subject = str(task.data.get(spec.subject))
        subject_kind = (
            "person"
            if rule.field_kinds[spec.subject] == "person"
            else ctx.roster.units[subject].kind
        )
    ref = task.data.get(spec.target.ref)
    kind = rule.field_kinds[spec.target.ref]
    target = head_of(ctx, policy, ref, kind, at) if spec.target.head else ref
    evidence = [task.id] + ([answer] if answer else [])
    return make_action(
        ctx,
        policy,
        rule.name,
        spec,
        period.id,
        subject,
        subject_kind,
        target,
        evidence,
        dict(explanation),
    )
