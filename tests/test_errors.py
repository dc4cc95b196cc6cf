"""Bad policies and bad event lines give one located, readable error each, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from rulesengine.loading import read_events
from rulesengine.policy import PolicySet, check_policy_file
from tests.conftest import ROOT

BAD = ROOT / "tests" / "data" / "bad-policies"


def bad_text(name: str) -> str:
    """A broken policy's text, with its vocabulary path made absolute for use elsewhere."""
    text = (BAD / name).read_text("utf-8")
    return text.replace("../../../policies/events.yaml", str(ROOT / "policies" / "events.yaml"))


CASES = {
    "yaml-syntax.yaml": ("E100", 81, "YAML syntax error"),
    "unknown-key.yaml": ("E110", 71, "unknown key 'best_onyl_per' (did you mean 'best_only_per'?)"),
    "wrong-type.yaml": ("E112", 57, "'ten' should be a number"),
    "unknown-name.yaml": ("E201", 67, "unknown name 'endorsd'"),
    "escape.yaml": ("E202", 67, "is not allowed"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_broken_policy_gives_one_located_error(name: str) -> None:
    code, line, words = CASES[name]
    policy, diags = check_policy_file(BAD / name)
    assert policy is None
    assert len(diags) == 1, [d.format() for d in diags]
    d = diags[0]
    assert (d.code, d.line) == (code, line)
    assert words in d.message or words in d.format()
    assert d.format().startswith(f"{BAD / name}:{line}:")


def test_unknown_name_points_at_the_name(tmp_path: Path) -> None:
    _, diags = check_policy_file(BAD / "unknown-name.yaml")
    line = (BAD / "unknown-name.yaml").read_text("utf-8").splitlines()[diags[0].line - 1]
    assert line[diags[0].column - 1 :].startswith("endorsd")


def test_every_problem_reported_at_once(tmp_path: Path) -> None:
    text = bad_text("unknown-key.yaml")
    text = text.replace("points: 10}", "points: ten}", 1)
    text = text.replace("5 if endorsed else 0", "5 if endorsd else 0")
    (tmp_path / "p.yaml").write_text(text, "utf-8")
    _, diags = check_policy_file(tmp_path / "p.yaml")
    # Schema errors stop before expressions are checked: the two schema problems come together.
    assert sorted(d.code for d in diags) == ["E110", "E112"]


def test_duplicate_key_is_an_error(tmp_path: Path) -> None:
    text = bad_text("unknown-key.yaml").replace(
        "    best_onyl_per: [piece]\n", "    best_only_per: [piece]\n"
    )
    (tmp_path / "p.yaml").write_text(text, "utf-8")
    _, diags = check_policy_file(tmp_path / "p.yaml")
    assert [d.code for d in diags] == ["E102"]
    assert "duplicate key 'best_only_per' (first at line 70)" in diags[0].message


def test_duplicate_table_row_is_a_warning(tmp_path: Path) -> None:
    text = bad_text("unknown-key.yaml").replace("    best_onyl_per: [piece]\n", "")
    text = text.replace(
        "      - {level: municipal, form: combined, points: 1}\n",
        "      - {level: municipal, form: combined, points: 1}\n"
        "      - {level: municipal, form: combined, points: 3}\n"
        "      - {level: munciipal, form: single, points: 3}\n",
    )
    (tmp_path / "p.yaml").write_text(text, "utf-8")
    policy, diags = check_policy_file(tmp_path / "p.yaml")
    assert policy is not None
    assert sorted(d.code for d in diags) == ["W150", "W151"]
    assert all(d.severity == "warning" for d in diags)


EVENT_CASES = {
    8: ("E301", ""),
    9: ("E302", ""),
    10: ("E303", "id"),
    11: ("E304", "type"),
    12: ("E306", "at"),
    13: ("E305", "at"),
    14: ("E307", "words"),
    15: ("E308", "category"),
    16: ("E309", "endorsed"),
    17: ("E310", "category"),
    18: ("E311", "id"),
    20: ("E312", "ref"),
    21: ("E313", "ref"),
    22: ("E314", "ref"),
    23: ("E315", "author"),
    24: ("E315", "author"),
    25: ("E316", "unit"),
    26: ("E317", "unit"),
    27: ("E317", "person"),
    28: ("E300", ""),
    29: ("E308", "at"),
    30: ("E306", "due"),
    31: ("E312", "ref"),
}


def test_bad_event_lines_are_each_rejected_with_line_and_field(county: PolicySet) -> None:
    batch = read_events(
        [str(ROOT / "examples" / "bad-events.jsonl")], county.policies[0].vocabulary
    )
    got = {r.line: (r.code, r.field) for r in batch.rejects}
    assert got == EVENT_CASES
    assert batch.duplicates == 1  # line 19 re-sends line 5 identically: a no-op
    assert batch.read == len(batch.events) + batch.duplicates + len(batch.rejects)
    for r in batch.rejects:
        assert "\n" not in r.format()
        assert r.format().startswith(f"{ROOT / 'examples' / 'bad-events.jsonl'}:{r.line}: {r.code}")
