"""Regression tests for edge cases found in review: ordering at one instant, YAML numbers,
non-number expressions, overlapping windows, lint of impossible enum values, exact numbers."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from rulesengine.errors import Collector, PolicyError
from rulesengine.expressions import ExpressionError, compile_expression
from rulesengine.policy import PolicySet, check_policy_file, load_policy_set
from rulesengine.yamlsrc import load_yaml
from tests.conftest import Stream, copy_policies, edit, points


def test_reference_to_an_event_at_the_same_instant(county: PolicySet, stream: Stream) -> None:
    stream.department()
    stream.person("p", "s1")
    # ids chosen so that plain id order would put the adoption first
    stream.add("submission", "2023-05-03T09:00", id="b1", author="p", category="report", title="t")
    stream.add("adoption", "2023-05-03T09:00", id="a1", ref="b1", level="municipal", form="single")
    stream.add("person_moved", "2023-05-04T09:00", id="m0", person="q", unit="s2")
    stream.add(
        "person_joined", "2023-05-04T09:00", id="z9", person="q", name="q", unit="s1", role="staff"
    )
    batch = stream.batch(county)
    assert batch.rejects == []
    result = stream.evaluate(county, "2023-05")
    assert points(result)["p"] == Decimal(2)


def test_yaml_integers_are_decimal_only() -> None:
    problems = Collector("x.yaml")
    data, _ = load_yaml("a: 010\nb: 1:30\nc: 0x10\nd: 1_000\ne: 1.50\n", "x.yaml", problems)
    assert data == {"a": 10, "b": "1:30", "c": "0x10", "d": 1000, "e": Decimal("1.50")}


def test_non_number_bonus_is_a_located_error(
    county: PolicySet, stream: Stream, tmp_path: Path
) -> None:
    family = copy_policies(tmp_path)
    edit(family / "2023.yaml", 'bonus: "5 if endorsed else 0"', 'bonus: "endorsed"')
    stream.department()
    stream.person("p", "s1")
    piece = stream.submit("p", "2023-05-03T09:00")
    stream.add("adoption", "2023-05-04T09:00", ref=piece, level="municipal", form="single")
    with pytest.raises(ExpressionError, match="E211: expression 'endorsed' gave False"):
        stream.evaluate(load_policy_set(family), "2023-05")


def test_overlapping_windows_are_reported(tmp_path: Path) -> None:
    family = copy_policies(tmp_path)
    edit(family / "2024.yaml", "effective: {from: 2024-01-01,", "effective: {from: 2023-12-01,")
    with pytest.raises(PolicyError) as info:
        load_policy_set(family)
    assert [d.code for d in info.value.diagnostics] == ["E145"]
    assert info.value.diagnostics[0].line > 0


def test_family_folder_mismatch_is_a_policy_error(tmp_path: Path) -> None:
    family = copy_policies(tmp_path)
    with pytest.raises(PolicyError, match="no policy of family 'city'"):
        load_policy_set(family, "city")


def test_impossible_enum_value_is_a_warning(tmp_path: Path) -> None:
    family = copy_policies(tmp_path)
    edit(
        family / "2023.yaml",
        "where: \"category in ('experience', 'problem')\"",
        "where: \"category in ('experience', 'probelm')\"",
    )
    policy, diags = check_policy_file(family / "2023.yaml")
    assert policy is not None
    assert [(d.code, d.severity) for d in diags] == [("W201", "warning")]
    assert "did you mean 'problem'" in diags[0].hint


def test_float_inputs_are_exact_decimals() -> None:
    problems = Collector("x")
    expr = compile_expression("x == 0.8 and x * 3 == 2.4", {"x": "a number"}, problems)
    assert expr is not None and expr.evaluate({"x": 0.8}) is True


def test_a_policy_with_a_duplicate_key_and_a_typo_and_a_duplicate_row(tmp_path: Path) -> None:
    family = copy_policies(tmp_path)
    path = family / "2023.yaml"
    edit(
        path,
        "    credit_units: [section]\n",
        "    credit_units: [section]\n    credit_units: [section]\n",
    )
    edit(
        path,
        "where: \"category in ('experience', 'problem')\"",
        "where: \"category in ('experience', 'probelm')\"",
    )
    edit(
        path,
        "      - {level: municipal, form: combined, points: 1}\n",
        "      - {level: municipal, form: combined, points: 1}\n"
        "      - {level: municipal, form: combined, points: 2}\n",
    )
    policy, diags = check_policy_file(path)
    assert policy is None  # the duplicate key is an error
    assert sorted((d.code, d.severity) for d in diags) == [
        ("E102", "error"),
        ("W150", "warning"),
        ("W201", "warning"),
    ]
    assert all(d.line > 0 and d.file.endswith("2023.yaml") for d in diags)


def test_late_answer_loses_half_and_adoption_rate_counts_referrers(
    county: PolicySet, stream: Stream, tmp_path: Path
) -> None:
    family = copy_policies(tmp_path)
    path = family / "2023.yaml"
    # urgent reports earn 10, half when they answer their incident after the time limit
    edit(
        path,
        "  # 2. Monthly quota",
        """  - name: urgent_report_points
    kind: points
    on: submission
    where: "category == 'urgent'"
    base: 10
    late_for: urgent_reports
    multiplier: "0.5 if late else 1"

  # 2. Monthly quota""",
    )
    # the adoption rate: share of qualifying pieces adopted by the quarter's end
    edit(path, "    part: \"category == 'problem'\"", '    part: "referenced_by.adoption > 0"')
    policies = load_policy_set(family)
    stream.department()
    stream.person("p", "s1")
    i1 = stream.add("incident", "2023-05-03T09:00", unit="s1", severity="major", title="t")
    stream.submit("p", "2023-05-03T09:30", category="urgent", incident=i1)  # on time: 10
    i2 = stream.add("incident", "2023-05-04T09:00", unit="s1", severity="major", title="t")
    stream.submit("p", "2023-05-04T11:00", category="urgent", incident=i2)  # late: 5
    a = stream.submit("p", "2023-05-05T09:00")
    stream.submit("p", "2023-05-06T09:00")
    stream.add("adoption", "2023-06-01T09:00", ref=a, level="municipal", form="single")
    result = stream.evaluate(policies, "2023-05")
    assert {(s.rule, s.subject): s.points for s in result.scores}[
        ("urgent_report_points", "p")
    ] == Decimal(15)
    # 1 of 2 qualifying pieces adopted by the end of Q2: 0.5 < 0.8, a mix warning
    q2 = stream.evaluate(policies, "2023-Q2")
    warning = next(a for a in q2.actions if a.action == "mix_warning")
    assert warning.evidence == {"share": Decimal("0.5"), "part": 1, "total": 2}


def test_points_and_tallies_can_credit_a_unit_directly(tmp_path: Path) -> None:
    from rulesengine.evaluate import evaluate
    from rulesengine.intake import parse_records
    from rulesengine.periods import parse_period
    from tests.conftest import POLICIES

    vocab = (
        (POLICIES / "events.yaml").read_text("utf-8")
        + """
  deduction:
    label: 扣分
    credit: unit
    fields:
      unit: {type: unit}
      amount: {type: integer}
"""
    )
    (tmp_path / "events.yaml").write_text(vocab, "utf-8")
    family = tmp_path / "f"
    family.mkdir()
    (family / "2024.yaml").write_text(
        """format: rulesengine/policy/v1
family: f
version: "2024"
effective: {from: 2024-01-01, to: 2024-12-31}
timezone: Asia/Shanghai
vocabulary: ../events.yaml
actions:
  warn: {label: 提醒}
rules:
  - name: deductions
    kind: points
    on: deduction
    base: "-amount"
    credit_units: [township]
  - name: many_deductions
    kind: tally
    period: month
    per: unit
    unit_kinds: [township]
    counts: {type: deduction}
    award: "-1 if count >= 2 else 0"
""",
        "utf-8",
    )
    policies = load_policy_set(family)
    at = "2024-03-01T00:00:00+08:00"
    docs = [
        {
            "id": "u1",
            "type": "unit_created",
            "at": at,
            "unit": "t1",
            "name": "镇",
            "kind": "township",
        },
        {
            "id": "d1",
            "type": "deduction",
            "at": "2024-03-05T09:00:00+08:00",
            "unit": "t1",
            "amount": 2,
        },
        {
            "id": "d2",
            "type": "deduction",
            "at": "2024-03-06T09:00:00+08:00",
            "unit": "t1",
            "amount": 3,
        },
    ]
    vocab_obj = policies.policies[0].vocabulary
    batch = parse_records([("t", i, d, None) for i, d in enumerate(docs)], vocab_obj)
    assert not batch.rejects
    result = evaluate(policies, batch.events, parse_period("2024-03"))
    got = {(s.rule, s.subject): s.points for s in result.scores}
    # -2 + -3 = -5 to the township itself, and -1 for two deductions in the month
    assert got[("deductions", "t1")] == Decimal(-5)
    assert got[("many_deductions", "t1")] == Decimal(-1)
    assert not [s for s in result.scores if s.subject_kind == "person"]
