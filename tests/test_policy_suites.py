"""The policy test cases shipped beside the policies run in the pytest suite too, through the
same runner as `rulesengine test`; and the runner itself is tested."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from rulesengine.policy import load_policy_set
from rulesengine.testing import coverage, find_test_files, load_cases, run_case, run_files
from rulesengine_cli.main import main
from tests.conftest import POLICIES, copy_policies, edit

FILES = find_test_files([str(POLICIES)])
CASES = [(f, c) for f in FILES for c in load_cases(f)]


@pytest.mark.parametrize(("file", "case"), CASES, ids=[f"{f.stem}:{c.name}" for f, c in CASES])
def test_shipped_policy_case(file: Path, case) -> None:  # type: ignore[no-untyped-def]
    outcome = run_case(case, load_policy_set(file.parent.parent))
    assert outcome.passed, "\n".join(outcome.differences)


def test_every_rule_of_every_shipped_policy_is_exercised() -> None:
    outcomes = run_files(FILES)
    assert all(not left for left in coverage(FILES, outcomes).values())


def test_cli_reports_pass_fail_and_a_difference(tmp_path: Path) -> None:
    family = copy_policies(tmp_path)
    shutil_tests = POLICIES / "county-department" / "tests"
    (family / "tests").mkdir()
    for f in shutil_tests.glob("*.yaml"):
        text = f.read_text("utf-8").replace(
            "../../../examples/", str(POLICIES.parent / "examples") + "/"
        )
        (family / "tests" / f.name).write_text(text, "utf-8")
    runner = CliRunner()
    ok = runner.invoke(main, ["test", str(family)])
    assert ok.exit_code == 0 and ok.stdout.strip().endswith("24 passed, 0 failed")
    # a deliberate mistake: the 2024 quota back to 2
    edit(family / "2024.yaml", "    minimum: 3\n", "    minimum: 2\n")
    bad = runner.invoke(main, ["test", str(family)])
    assert bad.exit_code == 8
    assert "FAIL 2024 quota is 3, problem pieces count double" in bad.stdout
    assert "missing action {action: interview_section_head, subject: s1, target: h1}" in bad.stdout
    assert bad.stdout.strip().splitlines()[-1].endswith("failed") and " 0 failed" not in bad.stdout


def test_policy_new_scaffolds_a_valid_next_year(tmp_path: Path) -> None:
    family = copy_policies(tmp_path)
    runner = CliRunner()
    args = [
        "policy",
        "new",
        "--family",
        "county-department",
        "--version",
        "2025",
        "--policies",
        str(family.parent),
    ]
    made = runner.invoke(main, args)
    assert made.exit_code == 0, made.output
    text = (family / "2025.yaml").read_text("utf-8")
    assert 'version: "2025"' in text and "effective: {from: 2025-01-01, to: 2025-12-31}" in text
    assert text.startswith("# yaml-language-server: $schema=")
    header = text.split("\nformat:")[0]
    assert "部机关组工信息工作考核办法 (2025)" in header and "(2024)" not in header
    assert runner.invoke(main, ["validate", str(family / "2025.yaml")]).exit_code == 0
    again = runner.invoke(main, args)
    assert again.exit_code == 3 and "exists already" in again.stderr


def test_schema_command_prints_the_schema() -> None:
    import json

    out = CliRunner().invoke(main, ["schema"]).stdout
    assert json.loads(out)["$schema"].endswith("2020-12/schema")
