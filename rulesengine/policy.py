"""Policies: loading, checking and choosing the one in force.

A policy file is checked in three passes, each reporting every problem it finds with its
``file:line:col``: YAML syntax (and duplicate keys), the JSON Schema of the format, then meaning
(event types, fields, selections, actions and expression names). A policy with any error does not
load; :func:`check_policy_file` returns the diagnostics without raising, for ``validate``.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass, field
from datetime import date
from itertools import pairwise
from pathlib import Path
from typing import Any

from rulesengine.errors import Collector, Diagnostic, PolicyError
from rulesengine.expressions import Expression
from rulesengine.periods import Period
from rulesengine.roster import HeadRule
from rulesengine.rules import deadline, payment, points, ranking, share, tally, total
from rulesengine.rules.common import BuildContext, Selection, build_selection
from rulesengine.schema_check import check_against_schema
from rulesengine.vocabulary import Vocabulary, load_vocabulary
from rulesengine.yamlsrc import load_yaml

Rule = (
    points.PointsRule
    | tally.TallyRule
    | deadline.DeadlineRule
    | ranking.RankingRule
    | share.ShareRule
    | total.TotalRule
    | total.GradeRule
    | payment.PaymentRule
    | ranking.ImprovementRule
)

_BUILDERS: dict[str, Any] = {
    "points": points.build,
    "tally": tally.build,
    "deadline": deadline.build,
    "ranking": ranking.build,
    "share": share.build,
    "total": total.build_total,
    "grade": total.build_grade,
    "payment": payment.build,
    "improvement": ranking.build_improvement,
}


@dataclass(frozen=True, slots=True)
class Eligibility:
    """Who is judged in a period (``roster.eligible``)."""

    unit_kinds: tuple[str, ...]
    roles: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Policy:
    """One checked policy: header, roster settings, labels and rules in file order."""

    family: str
    version: str
    title: str
    effective_from: date
    effective_to: date
    timezone: str
    vocabulary: Vocabulary
    eligibility: Eligibility | None
    heads: tuple[HeadRule, ...]
    actions: dict[str, str]
    rules: tuple[Rule, ...]
    path: str
    sha256: str
    selections: dict[str, Selection] = field(default_factory=dict)
    effective_line: int = 0
    by_name: dict[str, Rule] = field(default_factory=dict, compare=False, repr=False)

    def rule(self, name: str) -> Rule | None:
        """The rule called ``name``, if any."""
        if not self.by_name:
            self.by_name.update((r.name, r) for r in self.rules)
        return self.by_name.get(name)

    def covers(self, period: Period) -> bool:
        """Whether the whole ``period`` lies inside the effective window."""
        return period.first_day() >= self.effective_from and (
            period.next_first_day() <= date.fromordinal(self.effective_to.toordinal() + 1)
        )

    def labels(self) -> dict[str, str]:
        """Chinese labels of the actions and rules, for rendering."""
        out = dict(self.actions)
        for r in self.rules:
            if r.label:
                out[f"rule:{r.name}"] = r.label
        return out


def check_policy_file(
    path: str | Path, display: str | None = None
) -> tuple[Policy | None, list[Diagnostic]]:
    """Load ``path`` and return ``(policy or None, every diagnostic)``; never raises for content."""
    p = Path(path)
    shown = display or str(path)
    problems = Collector(shown)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        problems.error("E001", f"cannot read the file: {exc.strerror}")
        return None, problems.items
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        problems.error(
            "E002", f"the file is not UTF-8 (byte {exc.start})", 1, 1, "save it as UTF-8"
        )
        return None, problems.items
    data, smap = load_yaml(text, shown, problems)
    if data is None:
        return None, problems.items
    if not isinstance(data, dict):
        problems.error("E112", "a policy must be a mapping of keys (format:, family:, ...)", 1, 1)
        return None, problems.items
    if not check_against_schema(data, "policy", smap, problems):
        return None, problems.items
    try:
        vocab = load_vocabulary(
            p.parent / data["vocabulary"], str(Path(shown).parent / data["vocabulary"])
        )
    except PolicyError as exc:
        line, col = smap.where(("vocabulary",))
        problems.error(
            "E140",
            f"vocabulary '{data['vocabulary']}' is invalid or missing: " + "; ".join(exc.lines()),
            line,
            col,
        )
        return None, problems.items
    ctx = BuildContext(smap, vocab, problems)
    policy = _build(data, ctx, shown, hashlib.sha256(raw + vocab.sha256.encode()).hexdigest())
    if problems.errors:
        return None, problems.items
    return policy, problems.items


def load_policy(path: str | Path, display: str | None = None) -> Policy:
    """Load one policy file; raises :class:`PolicyError` with every problem if it is invalid."""
    policy, diags = check_policy_file(path, display)
    if policy is None:
        raise PolicyError(f"{display or path}: invalid policy", diags)
    return policy


def _build(data: dict[str, Any], ctx: BuildContext, shown: str, digest: str) -> Policy:
    try:
        start = date.fromisoformat(data["effective"]["from"])
        end = date.fromisoformat(data["effective"]["to"])
        if end < start:
            ctx.error(("effective", "to"), "E141", "effective 'to' is before 'from'")
    except ValueError as exc:
        ctx.error(("effective",), "E141", f"bad date: {exc}")
        start = end = date(1970, 1, 1)
    try:
        from rulesengine.periods import zone

        zone(data["timezone"])
    except Exception:
        ctx.error(
            ("timezone",),
            "E142",
            f"unknown time zone '{data['timezone']}'",
            "use an IANA name such as Asia/Shanghai",
        )
    ctx.actions = {k: v["label"] for k, v in data.get("actions", {}).items()}
    for name, raw in data.get("selections", {}).items():
        sel = build_selection(raw, ("selections", name), ctx, name)
        if sel is not None:
            ctx.selections[name] = sel
    roster = data.get("roster", {})
    elig = None
    if "eligible" in roster:
        elig = Eligibility(
            tuple(roster["eligible"]["unit_kinds"]), tuple(roster["eligible"]["roles"])
        )
    heads = tuple(
        HeadRule(
            tuple(h["unit_kinds"]) if "unit_kinds" in h else None,
            tuple(h["roles"]),
            h.get("otherwise", "none"),
        )
        for h in roster.get("heads", [])
    )
    for i, raw in enumerate(data["rules"]):
        if raw["name"] in ctx.rule_names:
            ctx.error(
                ("rules", i, "name"),
                "E143",
                f"two rules are called '{raw['name']}'",
                "rule names must be unique",
            )
        ctx.rule_names[raw["name"]] = raw["kind"]
        ctx.rule_order.setdefault(raw["name"], i)
    rules: list[Rule] = []
    for i, raw in enumerate(data["rules"]):
        built = _BUILDERS[raw["kind"]](raw, ("rules", i), ctx)
        if built is not None:
            if getattr(built, "needs_eligibility", False) and elig is None:
                ctx.error(
                    ("rules", i),
                    "E144",
                    f"rule '{raw['name']}' judges eligible persons but "
                    "the policy has no roster.eligible",
                    "add roster: eligible: ...",
                )
            rules.append(built)
    return Policy(
        data["family"],
        str(data["version"]),
        data.get("title", ""),
        start,
        end,
        data["timezone"],
        ctx.vocab,
        elig,
        heads,
        ctx.actions,
        tuple(rules),
        shown,
        digest,
        dict(ctx.selections),
        ctx.at(("effective",))[0],
    )


@dataclass(frozen=True, slots=True)
class PolicySet:
    """The policies of one family, ordered by the start of their window."""

    family: str
    policies: tuple[Policy, ...]

    def in_force(self, period: Period) -> Policy | None:
        """The policy whose window contains the whole ``period``."""
        return next((p for p in self.policies if p.covers(period)), None)

    def names_read(self) -> frozenset[str]:
        """Every field name an expression of these policies reads (``piece.x`` counts as x)."""
        found: set[str] = set()
        for policy in self.policies:
            for item in (*policy.rules, *policy.selections.values()):
                for expr in _expressions(item):
                    found |= {n.split(".")[-1] for n in expr.names}
        return frozenset(found)

    def describe(self) -> str:
        """The versions and windows, for messages."""
        return ", ".join(
            f"{p.version} ({p.effective_from}..{p.effective_to})" for p in self.policies
        )


def _expressions(item: Any) -> list[Expression]:
    """The expressions held by a rule or selection (and by its action specs, selections)."""
    out: list[Expression] = []
    if isinstance(item, Expression):
        return [item]
    if isinstance(item, (list, tuple)):
        for x in item:
            out.extend(_expressions(x))
        return out
    if dataclasses.is_dataclass(item) and not isinstance(item, type):
        for f in dataclasses.fields(item):
            out.extend(_expressions(getattr(item, f.name)))
    return out


def load_policy_set(directory: str | Path, family: str | None = None) -> PolicySet:
    """Load every ``*.yaml`` policy of a family directory (``policies/county-department``)."""
    d = Path(directory)
    files = sorted(f for f in d.glob("*.yaml") if f.is_file())
    if not files:
        raise PolicyError(f"no policy files (*.yaml) in {d}")
    diags: list[Diagnostic] = []
    loaded: list[Policy] = []
    for f in files:
        pol, found = check_policy_file(f)
        diags.extend(x for x in found if x.severity == "error")
        if pol is not None:
            loaded.append(pol)
    if diags:
        raise PolicyError(f"invalid policies in {d}", diags)
    fam = family or loaded[0].family
    chosen = sorted((p for p in loaded if p.family == fam), key=lambda p: p.effective_from)
    if not chosen:
        families = ", ".join(sorted({p.family for p in loaded}))
        raise PolicyError(
            f"no policy of family '{fam}' in {d} (the files there say family: {families})"
        )
    overlaps = window_problems(chosen)
    if overlaps:
        raise PolicyError(f"policies of family '{fam}' overlap in time", overlaps)
    return PolicySet(fam, tuple(chosen))


def window_problems(policies: list[Policy]) -> list[Diagnostic]:
    """An error for each pair of policies of one family whose effective windows overlap."""
    out = []
    by_family: dict[str, list[Policy]] = {}
    for p in policies:
        by_family.setdefault(p.family, []).append(p)
    for group in by_family.values():
        group.sort(key=lambda p: (p.effective_from, p.path))
        for a, b in pairwise(group):
            if b.effective_from <= a.effective_to:
                out.append(
                    Diagnostic(
                        "E145",
                        f"effective {b.effective_from}..{b.effective_to} overlaps {a.path} "
                        f"({a.effective_from}..{a.effective_to}) of the same family",
                        b.path,
                        b.effective_line,
                        1,
                        "each day must be covered by at most one policy of a family",
                    )
                )
    return out
