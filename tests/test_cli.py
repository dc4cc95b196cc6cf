"""The command line as an operator meets it: output, exit codes, and no tracebacks."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from rulesengine_cli.main import main
from tests.conftest import ROOT

STREAM = str(ROOT / "examples" / "county-department.jsonl")
POLICIES = str(ROOT / "policies")


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def evaluate_file(events: str, *extra: str) -> tuple[int, str, str]:
    return run(
        "evaluate",
        "--events",
        events,
        "--policies",
        POLICIES,
        "--family",
        "county-department",
        *extra,
    )


def evaluate(*extra: str) -> tuple[int, str, str]:
    return evaluate_file(STREAM, *extra)


def test_table_shows_ranking_and_actions_with_labels() -> None:
    code, out, err = evaluate("--period", "2023-05")
    assert code == 0
    assert "股室月度排名" in out and "约谈股室长" in out and "sec-d 办公室" in out
    assert "read 345, accepted 345, duplicates 0, rejected 0" in err


def test_table_columns_align_by_display_width() -> None:
    import re

    from wcwidth import wcswidth

    _, out, _ = evaluate("--period", "2023-05")
    lines = out.splitlines()
    start = lines.index(next(line for line in lines if line.startswith("rank")))
    block = [lines[start], *lines[start + 2 : start + 6]]

    def starts(line: str) -> list[int]:
        return [wcswidth(line[: m.start()]) for m in re.finditer(r"\S+(?: \S+)*", line)]

    assert any(re.search(r"[\u4e00-\u9fff]", line) for line in block)
    assert len({tuple(starts(line)) for line in block}) == 1, block


def test_json_contract_and_byte_identical_runs() -> None:
    code, out1, _ = evaluate("--period", "2023-05", "--format", "json")
    _, out2, _ = evaluate("--period", "2023-05", "--format", "json")
    assert code == 0 and out1 == out2
    doc = json.loads(out1)
    assert doc["policy"]["family"] == "county-department" and doc["policy"]["version"] == "2023"
    assert len(doc["policy"]["sha256"]) == 64
    assert doc["period"]["id"] == "2023-05"
    assert {"scores", "rankings", "actions", "payments", "warnings"} <= set(doc)
    score = next(s for s in doc["scores"] if s["subject"] == "p07")
    assert score == {
        "rule": "adoption_points",
        "subject": "p07",
        "subject_kind": "person",
        "points": 4.5,
    }
    assert '"points": 4.5' in out1
    action = doc["actions"][0]
    assert set(action) == {
        "id",
        "action",
        "label",
        "rule",
        "period",
        "subject",
        "subject_kind",
        "target",
        "evidence",
    }


def test_explain_adds_reasons() -> None:
    _, out, _ = evaluate("--period", "2023-05", "--format", "json", "--explain")
    doc = json.loads(out)
    assert all("explanation" in a for a in doc["actions"])
    p07 = next(s for s in doc["scores"] if s["subject"] == "p07")
    assert p07["contributions"][0]["earlier_best"] == 3


def test_null_target_is_json_null(tmp_path: Path) -> None:
    events = tmp_path / "e.jsonl"
    events.write_text(
        "\n".join(
            [
                '{"id":"u1","type":"unit_created","at":"2023-01-01T00:00:00+08:00","unit":"d",'
                '"name":"部","kind":"department"}',
                '{"id":"u2","type":"unit_created","at":"2023-01-01T00:00:00+08:00","unit":"s",'
                '"name":"股","kind":"section","parent":"d"}',
                '{"id":"p1","type":"person_joined","at":"2023-01-01T00:00:00+08:00","person":"a",'
                '"name":"甲","unit":"s","role":"staff"}',
            ]
        ),
        "utf-8",
    )
    code, out, _ = evaluate_file(str(events), "--period", "2023-05", "--format", "json")
    assert code == 0
    doc = json.loads(out)
    interview = next(a for a in doc["actions"] if a["action"] == "interview_section_head")
    assert interview["target"] is None and '"target": null' in out


def test_bad_lines_reported_and_strict_exit() -> None:
    bad = str(ROOT / "examples" / "bad-events.jsonl")
    code, _, err = evaluate_file(bad, "--period", "2023-05")
    assert code == 0
    assert "bad-events.jsonl:10: E303: field 'id'" in err
    assert "read 31, accepted 7, duplicates 1, rejected 23" in err
    code, _, _ = evaluate_file(bad, "--period", "2023-05", "--strict")
    assert code == 6


@pytest.mark.parametrize(
    ("args", "code", "words"),
    [
        (("--period", "2023-13"), 2, "is not a period"),
        (("--period", "2022-05"), 2, "no policy of family 'county-department' is in force"),
        (("--period", "2023-05", "--family", "nope"), 3, "no family 'nope'"),
    ],
)
def test_operator_errors_are_messages(args: tuple[str, ...], code: int, words: str) -> None:
    got, out, err = evaluate(*args)
    assert got == code and words in err and "Traceback" not in err + out


def test_missing_events_file() -> None:
    code, _, err = evaluate_file("nope.jsonl", "--period", "2023-05")
    assert code == 4 and "cannot read events" in err


def test_forced_policy_applies_to_every_month() -> None:
    forced = str(ROOT / "policies" / "county-department" / "2024.yaml")
    _, normal, _ = evaluate("--period", "2023-05", "--format", "json")
    code, what_if, _ = evaluate("--period", "2023-05", "--format", "json", "--policy", forced)
    assert code == 0
    assert json.loads(what_if)["policy"]["version"] == "2024"
    # quota 3 instead of 2: more persons are below quota in May 2023
    assert len(json.loads(what_if)["actions"]) > len(json.loads(normal)["actions"])


def test_validate_ok_and_broken() -> None:
    code, _, err = run("validate", POLICIES)
    assert code == 0 and "0 error(s)" in err
    bad = str(ROOT / "tests" / "data" / "bad-policies")
    code, _, err = run("validate", bad)
    assert code == 3 and "5 error(s)" in err
    assert len([line for line in err.splitlines() if ": E" in line]) == 5


def test_installed_command_runs() -> None:
    import shutil
    import subprocess

    exe = shutil.which(
        "rulesengine", path=str(Path(os.__file__).parent) + os.pathsep + os.environ.get("PATH", "")
    )
    exe = exe or str(Path(__import__("sys").executable).parent / "rulesengine")
    proc = subprocess.run([exe, "--help"], capture_output=True, text=True, check=False)
    assert proc.returncode == 0 and "evaluate" in proc.stdout
