"""The code stays typed, lint-clean and free of the reference rules' vocabulary.

mypy (strict) and ruff run as tests so that the README's one test command checks them too.
"""

from __future__ import annotations

import ast
import io
import re
import subprocess
import sys
import tokenize
from pathlib import Path

from tests.conftest import ROOT


def _tool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, check=False
    )


def test_ruff_clean() -> None:
    proc = _tool("ruff", "check", "rulesengine", "cli", "tests", "bench")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_mypy_strict_clean() -> None:
    proc = _tool("mypy")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_events_are_frozen_for_the_type_checker(tmp_path: Path) -> None:
    """Events are built with plain assignments for speed (decision 26); mypy is what keeps
    them immutable, so it must reject an assignment to a field."""
    probe = tmp_path / "probe.py"
    probe.write_text(
        "from rulesengine.events import Event\n"
        "ev = Event('e1', 'submission', None, {})  # type: ignore[arg-type]\n"
        "ev.id = 'e2'\n",
        encoding="utf-8",
    )
    proc = _tool("mypy", "--strict", "--no-incremental", str(probe))
    assert proc.returncode == 1 and 'Property "id" defined in "Event" is read-only' in proc.stdout


# Words of the reference rules that must live in policies/, never in the engine or the CLI.
DOMAIN = re.compile(
    r"provincial|municipal|central|section_head|unit_head|interview|criticism|timeliness|"
    r"topic_plan|commission|incident|adoption|endorsed|'problem'|\"problem\"|experience|"
    r"[\u4e00-\u9fff]"
)


def _code_tokens(path: Path) -> list[tuple[int, str]]:
    """``(line, text)`` of every name and string token that is not a docstring or comment."""
    source = path.read_text("utf-8")
    docstrings: set[int] = set()
    for node in ast.walk(ast.parse(source)):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
            value = body[0].value
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                docstrings.update(range(value.lineno, (value.end_lineno or value.lineno) + 1))
    out = []
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type in (tokenize.NAME, tokenize.STRING) and tok.start[0] not in docstrings:
            out.append((tok.start[0], tok.string))
    return out


def test_no_reference_rule_vocabulary_in_engine_or_cli() -> None:
    hits = []
    for path in sorted((ROOT / "rulesengine").rglob("*.py")) + sorted((ROOT / "cli").rglob("*.py")):
        for number, text in _code_tokens(path):
            if DOMAIN.search(text):
                hits.append(f"{path.relative_to(ROOT)}:{number}: {text}")
    assert not hits, "\n".join(hits)


def test_schema_names_no_reference_vocabulary() -> None:
    schema = (ROOT / "rulesengine" / "schema" / "policy.schema.json").read_text("utf-8")
    for word in ("provincial", "municipal", "interview_section_head"):
        assert word not in schema, word


def test_modules_stay_small() -> None:
    for path in Path(ROOT / "rulesengine").rglob("*.py"):
        assert len(path.read_text("utf-8").splitlines()) <= 500, path
