"""Pieces shared by the rule kinds: build context, selections, targets and action specs."""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from rulesengine.errors import Collector
from rulesengine.events import Event
from rulesengine.expressions import Expression, compile_expression
from rulesengine.vocabulary import Vocabulary
from rulesengine.yamlsrc import Path, SourceMap


@dataclass(slots=True)
class BuildContext:
    """What a rule builder needs: the raw document's positions, the vocabulary, names declared
    elsewhere in the policy, and where problems go."""

    smap: SourceMap
    vocab: Vocabulary
    problems: Collector
    selections: dict[str, Selection] = field(default_factory=dict)
    actions: dict[str, str] = field(default_factory=dict)
    rule_names: dict[str, str] = field(default_factory=dict)  # name -> kind
    rule_order: dict[str, int] = field(default_factory=dict)  # name -> position in rules:

    def at(self, path: Path) -> tuple[int, int]:
        """Line and column of the value at ``path``."""
        return self.smap.where(path)

    def error(self, path: Path, code: str, message: str, hint: str = "") -> None:
        """Record an error located at ``path``."""
        line, col = self.at(path)
        self.problems.error(code, message, line, col, hint)

    def expression(self, raw: Any, path: Path, provided: Mapping[str, str]) -> Expression | None:
        """Compile the expression at ``path`` against the names in ``provided``."""
        line, col = self.at(path)
        if path in self.smap.quoted:
            col += 1  # columns inside the expression count from after the opening quote
        enums = {n: v for n, v in self.enum_names().items() if n in provided}
        return compile_expression(raw, provided, self.problems, line, col, enums)

    def enum_names(self) -> dict[str, tuple[str, ...]]:
        """Allowed values of every enum field name (``category``, ``piece.category``).

        A name used by several types with different values gets the union of them."""
        out: dict[str, set[str]] = {}
        for et in self.vocab.types.values():
            for fs in et.fields.values():
                if fs.type == "enum":
                    for name in (fs.name, f"piece.{fs.name}"):
                        out.setdefault(name, set()).update(fs.values)
        return {k: tuple(sorted(v)) for k, v in out.items()}

    def event_type(self, name: Any, path: Path) -> str | None:
        """Check that ``name`` is an event type of the vocabulary."""
        if name in self.vocab.types:
            return str(name)
        close = difflib.get_close_matches(str(name), list(self.vocab.types), n=1)
        self.error(
            path,
            "E131",
            f"unknown event type '{name}'",
            f"did you mean '{close[0]}'?"
            if close
            else "types: " + ", ".join(sorted(self.vocab.types)),
        )
        return None

    def field_of(self, type_name: str, fname: Any, path: Path, types: tuple[str, ...] = ()) -> bool:
        """Check that ``fname`` is a field of ``type_name`` (of one of ``types`` if given)."""
        spec = self.vocab.types[type_name].fields.get(str(fname))
        if spec is None:
            close = difflib.get_close_matches(
                str(fname), list(self.vocab.types[type_name].fields), n=1
            )
            self.error(
                path,
                "E132",
                f"'{type_name}' has no field '{fname}'",
                f"did you mean '{close[0]}'?" if close else "",
            )
            return False
        if types and spec.type not in types:
            self.error(
                path,
                "E133",
                f"field '{type_name}.{fname}' is a {spec.type}; expected " + " or ".join(types),
            )
            return False
        return True


def field_names(vocab: Vocabulary, type_name: str, prefix: str = "") -> dict[str, str]:
    """The names an expression may read for events of ``type_name``: its fields (and ``type``)."""
    fields = vocab.types[type_name].fields
    out = {f"{prefix}{name}": f"{type_name}.{name} ({spec.type})" for name, spec in fields.items()}
    out[f"{prefix}type"] = "the event type"
    return out


def unit_names(vocab: Vocabulary) -> dict[str, str]:
    """Names for the unit of a subject: ``unit.id``, ``unit.kind``, and ``unit.FIELD`` for every
    field of the vocabulary's ``create_unit`` type (e.g. a unit ``category``)."""
    out = {"unit.id": "the unit's id", "unit.kind": "the unit's kind", "unit.name": "its name"}
    for et in vocab.types.values():
        if et.roster == "create_unit":
            for name, spec in et.fields.items():
                if name not in ("unit", "parent"):
                    out.setdefault(f"unit.{name}", f"the unit's {name} ({spec.type})")
    return out


def unit_value(unit: Any, dotted: str) -> Any:
    """The value of a ``unit.X`` name for a roster unit (None when there is no unit)."""
    if unit is None:
        return None
    name = dotted[len("unit.") :]
    if name in ("id", "kind", "name"):
        return getattr(unit, name)
    return unit.attrs.get(name)


def getter(name: str) -> Callable[[Event], Any]:
    """A function reading ``name`` (a field, or ``type``) from an event."""
    if name == "type":
        return lambda ev: ev.type
    if name == "id":
        return lambda ev: ev.id
    return lambda ev: ev.data.get(name)


@dataclass(frozen=True, slots=True)
class Selection:
    """Events of one type that pass an optional condition."""

    name: str
    type: str
    where: Expression | None

    def filter(self, events: Iterable[Event]) -> list[Event]:
        """The selected events among ``events``, in their order (what :meth:`matches` keeps,
        with the condition's inputs read by C-level ``map``)."""
        where = self.where
        if where is None or "type" in where.names:
            return [e for e in events if self.matches(e)]
        names, run, kind = where.names, where.evaluate_values, self.type
        return [e for e in events if e.type == kind and run(tuple(map(e.data.get, names)))]

    def matches(self, ev: Event) -> bool:
        """Whether ``ev`` is selected (its type matches and the condition holds)."""
        if ev.type != self.type:
            return False
        if self.where is None:
            return True
        return bool(
            self.where.evaluate_values(
                tuple(ev.data.get(n) if n != "type" else ev.type for n in self.where.names)
            )
        )


def build_selection(raw: Any, path: Path, ctx: BuildContext, name: str = "") -> Selection | None:
    """A selection written in place (a mapping) or named (a text naming one in ``selections``)."""
    if isinstance(raw, str):
        sel = ctx.selections.get(raw)
        if sel is None:
            close = difflib.get_close_matches(raw, list(ctx.selections), n=1)
            ctx.error(
                path,
                "E134",
                f"unknown selection '{raw}'",
                f"did you mean '{close[0]}'?" if close else "declare it under selections:",
            )
        return sel
    tname = ctx.event_type(raw["type"], (*path, "type"))
    if tname is None:
        return None
    where = None
    if "where" in raw:
        where = ctx.expression(raw["where"], (*path, "where"), field_names(ctx.vocab, tname))
        if where is None:
            return None
    return Selection(name or tname, tname, where)


_TARGET = re.compile(r"^(head of )?([a-z_][a-z0-9_]*)$")


@dataclass(frozen=True, slots=True)
class Target:
    """Who must act: ``ref`` (``subject`` or a field of the task), or the head of it."""

    ref: str
    head: bool
    at: str  # period_end | due

    def __str__(self) -> str:
        return ("head of " if self.head else "") + self.ref


@dataclass(frozen=True, slots=True)
class ActionSpec:
    """One action a rule takes, with its condition, subject and target."""

    action: str
    label: str
    target: Target
    when: Expression | None = None
    one_per: str | None = None
    subject: str = "subject"


def build_actions(
    raws: list[dict[str, Any]],
    path: Path,
    ctx: BuildContext,
    provided: Mapping[str, str] | None,
    subjects: tuple[str, ...] = ("subject",),
    target_fields: tuple[str, ...] = ("subject",),
) -> list[ActionSpec]:
    """Build the action list at ``path``; ``provided`` is what ``when`` may read (None: no when)."""
    out: list[ActionSpec] = []
    for i, raw in enumerate(raws):
        p = (*path, i)
        name = raw["action"]
        if name not in ctx.actions:
            close = difflib.get_close_matches(name, list(ctx.actions), n=1)
            ctx.error(
                (*p, "action"),
                "E130",
                f"action '{name}' is not declared under actions:",
                f"did you mean '{close[0]}'?" if close else "add it with its label",
            )
            continue
        m = _TARGET.match(raw["target"])
        if not m or m.group(2) not in target_fields:
            ctx.error(
                (*p, "target"),
                "E135",
                f"target '{raw['target']}' is not available here",
                "use one of: " + ", ".join(x for f in target_fields for x in (f, f"head of {f}")),
            )
            continue
        subject = raw.get("subject", "subject")
        if subject not in subjects:
            ctx.error(
                (*p, "subject"),
                "E136",
                f"subject '{subject}' is not available here",
                "use one of: " + ", ".join(subjects),
            )
            continue
        when = None
        if "when" in raw:
            if provided is None:
                ctx.error((*p, "when"), "E137", "this rule kind takes no 'when' on its actions")
                continue
            when = ctx.expression(raw["when"], (*p, "when"), provided)
            if when is None:
                continue
        out.append(
            ActionSpec(
                name,
                ctx.actions[name],
                Target(m.group(2), bool(m.group(1)), raw.get("at", "period_end")),
                when,
                raw.get("one_per"),
                subject,
            )
        )
    return out


def build_award_and_actions(
    raw: dict[str, Any],
    path: Path,
    ctx: BuildContext,
    award_names: Mapping[str, str],
    when_names: Mapping[str, str] | None,
    unit_subject: Callable[[ActionSpec], bool],
) -> tuple[bool, Expression | None, list[ActionSpec]]:
    """The ``award`` and ``actions`` of a counting rule (tally, share): at least one of them;
    actions whose subject is a unit must target ``head of subject``. Returns ``(ok, award,
    actions)``."""
    award = None
    if "award" in raw:
        award = ctx.expression(raw["award"], (*path, "award"), award_names)
        if award is None:
            return False, None, []
    raw_actions = raw.get("actions", [])
    if not raw_actions and award is None:
        ctx.error(path, "E162", f"a {raw['kind']} rule needs actions:, award:, or both")
        return False, None, []
    actions = build_actions(raw_actions, (*path, "actions"), ctx, when_names)
    for i, a in enumerate(actions):
        if unit_subject(a) and not a.target.head:
            ctx.error(
                (*path, "actions", i, "target"),
                "E161",
                "the subject here is a unit: the target must be 'head of subject'",
            )
            return False, None, []
    return len(actions) == len(raw_actions), award, actions
