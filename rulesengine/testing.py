"""Policy tests: YAML cases beside the policies, run by ``rulesengine test`` and by pytest.

A test file (``policies/<family>/tests/*.yaml``) holds a list of cases::

    cases:
      - name: a section below quota gets its head interviewed
        period: 2023-05
        events_file: ../../../examples/county-department.jsonl   # or events: [ {...}, ... ]
        policy: 2024.yaml          # optional: force this policy (what-if)
        expect:
          scores: {p07: 4.5, sec-d: 4.5}            # subject: points over all its rules
          rule_scores:                             # rule: {subject: points}
            adoption_points: {p07: 4.5}
          grades: {quarter_standard: {u1: 达标}}    # rule: {subject: grade}
          payments: {author_payments: {p07: 300}}  # rule: {person: amount}
          rankings: {sec-d: 1, sec-c: 2}           # subject: rank
          tiers: {c1: 第一方阵}                      # subject: tier label
          actions:                                 # each must be present
            - {action: interview_section_head, subject: sec-b, target: p03}
          absent:                                  # each must not be present
            - {action: group_notice, subject: p07}
          exact_actions: false                     # true: no other actions allowed
          warnings: 0                              # number of warnings

An expectation lists only what it checks. Events are checked like any input: a rejected event
fails the case.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from rulesengine.errors import Collector, PolicyError, RulesEngineError
from rulesengine.evaluate import evaluate
from rulesengine.formats import read_records
from rulesengine.intake import Record, parse_records
from rulesengine.periods import parse_period
from rulesengine.policy import PolicySet, load_policy, load_policy_set
from rulesengine.render import decimal_text
from rulesengine.results import Result
from rulesengine.vocabulary import Vocabulary
from rulesengine.yamlsrc import load_yaml


@dataclass(frozen=True, slots=True)
class Case:
    """One test case, with where it was written."""

    name: str
    file: str
    line: int
    raw: dict[str, Any]


@dataclass(slots=True)
class Outcome:
    """The result of one case: passed or not, the differences, the rules it exercised."""

    case: Case
    passed: bool
    differences: list[str] = field(default_factory=list)
    exercised: set[tuple[str, str]] = field(default_factory=set)  # (policy version, rule)


def find_test_files(paths: list[str]) -> list[Path]:
    """Test files under ``paths`` (directories are searched for ``tests/*.yaml``)."""
    found: list[Path] = []
    for p in map(Path, paths):
        if p.is_file():
            found.append(p)
        elif p.is_dir():
            found.extend(f for f in sorted(p.rglob("*.yaml")) if f.parent.name == "tests")
    return sorted(set(found))


def load_cases(path: Path) -> list[Case]:
    """The cases of one test file; raises :class:`PolicyError` if it is malformed."""
    problems = Collector(str(path))
    data, smap = load_yaml(path.read_text("utf-8"), str(path), problems)
    if problems.errors:
        raise PolicyError(f"{path}: invalid test file", problems.items)
    if not isinstance(data, dict) or not isinstance(data.get("cases"), list):
        raise PolicyError(f"{path}: a test file needs a list under 'cases:'")
    out = []
    for i, raw in enumerate(data["cases"]):
        line = smap.where(("cases", i))[0]
        if not isinstance(raw, dict) or "name" not in raw or "period" not in raw:
            raise PolicyError(f"{path}:{line}: each case needs at least 'name' and 'period'")
        out.append(Case(str(raw["name"]), str(path), line, raw))
    return out


def _family_dir(test_file: Path) -> Path:
    return test_file.parent.parent


def _records(case: Case, base: Path, vocab: Vocabulary) -> Iterator[Record]:
    raw = case.raw
    if "events_file" in raw:
        yield from read_records(base / str(raw["events_file"]), vocab)
    for i, doc in enumerate(raw.get("events") or [], start=1):
        yield (f"{case.file}#{case.name}", i, dict(doc), str(doc))


def run_case(case: Case, policies: PolicySet) -> Outcome:
    """Evaluate the case and compare with its expectation."""
    base = Path(case.file).parent
    vocab = policies.policies[0].vocabulary
    try:
        batch = parse_records(_records(case, base, vocab), vocab)
        if batch.rejects:
            return Outcome(case, False, [f"event rejected: {r.format()}" for r in batch.rejects])
        forced = (
            load_policy(base.parent / str(case.raw["policy"])) if "policy" in case.raw else None
        )
        result = evaluate(policies, batch.events, parse_period(str(case.raw["period"])), forced)
    except (RulesEngineError, OSError) as exc:
        lines = exc.lines() if isinstance(exc, RulesEngineError) else [str(exc)]
        return Outcome(case, False, [f"error: {line}" for line in lines])
    diffs = compare(result, case.raw.get("expect") or {})
    return Outcome(case, not diffs, diffs, exercised(result))


def exercised(result: Result) -> set[tuple[str, str]]:
    """``(policy version, rule)`` of every rule that produced an output in ``result``."""
    version = result.policy.version
    names = {s.rule for s in result.scores if s.points != 0 or s.contributions}
    names |= {r.rule for r in result.rankings} | {a.rule for a in result.actions}
    names |= {g.rule for g in result.grades} | {p.rule for p in result.payments}
    return {(version, n) for n in names}


def _action_matches(a: Any, want: dict[str, Any]) -> bool:
    return all(
        str(getattr(a, k, None)) == str(v) if v is not None else getattr(a, k, 0) is None
        for k, v in want.items()
    )


def compare(result: Result, expect: dict[str, Any]) -> list[str]:
    """Differences between ``result`` and a partial expectation, as lines for people."""
    diffs: list[str] = []
    scores: dict[str, Decimal] = {}
    for s in result.scores:
        scores[s.subject] = scores.get(s.subject, Decimal(0)) + s.points
    for subject, want in (expect.get("scores") or {}).items():
        got = scores.get(str(subject), Decimal(0))
        if got != Decimal(str(want)):
            diffs.append(f"score of {subject}: expected {want}, got {decimal_text(got)}")
    by_rule = {(s.rule, s.subject): s.points for s in result.scores}
    for rule, wanted in (expect.get("rule_scores") or {}).items():
        for subject, want in (wanted or {}).items():
            got = by_rule.get((str(rule), str(subject)), Decimal(0))
            if got != Decimal(str(want)):
                diffs.append(f"{rule} score of {subject}: expected {want}, got {decimal_text(got)}")
    grades = {(g.rule, g.subject): g.grade for g in result.grades}
    for rule, wanted in (expect.get("grades") or {}).items():
        for subject, want in (wanted or {}).items():
            got_grade = grades.get((str(rule), str(subject)))
            if got_grade != str(want):
                diffs.append(f"{rule} grade of {subject}: expected {want}, got {got_grade}")
    paid = {(p.rule, p.person): p.amount for p in result.payments}
    for rule, wanted in (expect.get("payments") or {}).items():
        for person, want in (wanted or {}).items():
            got = paid.get((str(rule), str(person)), Decimal(0))
            if got != Decimal(str(want)):
                diffs.append(
                    f"{rule} payment to {person}: expected {want}, got {decimal_text(got)}"
                )
    tiers = {r.subject: r.tier for r in result.rankings}
    for subject, want in (expect.get("tiers") or {}).items():
        if tiers.get(str(subject)) != want:
            diffs.append(f"tier of {subject}: expected {want}, got {tiers.get(str(subject))}")
    ranks = {r.subject: r.rank for r in result.rankings}
    for subject, want in (expect.get("rankings") or {}).items():
        if ranks.get(str(subject)) != want:
            diffs.append(f"rank of {subject}: expected {want}, got {ranks.get(str(subject))}")
    listed = [dict(w) for w in expect.get("actions") or []]
    for want in listed:
        if not any(_action_matches(a, want) for a in result.actions):
            diffs.append(f"missing action {_show(want)}")
    for unwanted in expect.get("absent") or []:
        for a in result.actions:
            if _action_matches(a, dict(unwanted)):
                diffs.append(f"unexpected action {_show(dict(unwanted))}: {_describe(a)}")
    if expect.get("exact_actions"):
        for a in result.actions:
            if not any(_action_matches(a, w) for w in listed):
                diffs.append(f"unexpected action {_describe(a)}")
    if "warnings" in expect and len(result.warnings) != expect["warnings"]:
        diffs.append(
            f"warnings: expected {expect['warnings']}, got {len(result.warnings)}: "
            + "; ".join(w.message for w in result.warnings)
        )
    return diffs


def _show(want: dict[str, Any]) -> str:
    return "{" + ", ".join(f"{k}: {v}" for k, v in want.items()) + "}"


def _describe(a: Any) -> str:
    return f"{{action: {a.action}, subject: {a.subject}, target: {a.target}}}"


def run_files(files: list[Path]) -> list[Outcome]:
    """Run every case of ``files``, each with the policies of its family directory."""
    outcomes = []
    sets: dict[Path, PolicySet] = {}
    for f in files:
        family = _family_dir(f)
        if family not in sets:
            sets[family] = load_policy_set(family)
        for case in load_cases(f):
            outcomes.append(run_case(case, sets[family]))
    return outcomes


def coverage(files: list[Path], outcomes: list[Outcome]) -> dict[str, list[str]]:
    """For each policy file of the tested families, its rules that no case exercised."""
    missing: dict[str, list[str]] = {}
    done = set().union(*(o.exercised for o in outcomes)) if outcomes else set()
    for family in sorted({_family_dir(f) for f in files}):
        for policy in load_policy_set(family).policies:
            left = [r.name for r in policy.rules if (policy.version, r.name) not in done]
            missing[policy.path] = left
    return missing
