"""Docs that are generated or promised stay in step with the code."""

from __future__ import annotations

import re

from rulesengine_cli.reference import render
from tests.conftest import ROOT


def test_cli_reference_is_current() -> None:
    page = (ROOT / "docs" / "cli.md").read_text("utf-8")
    assert page == render(), (
        "docs/cli.md is stale: python -m rulesengine_cli.reference > docs/cli.md"
    )


def test_every_error_code_is_documented() -> None:
    codes: set[str] = set()
    for path in list((ROOT / "rulesengine").rglob("*.py")) + list((ROOT / "cli").rglob("*.py")):
        codes |= set(re.findall(r'"([EW][0-9]{3})"', path.read_text("utf-8")))
        codes |= set(re.findall(r"\b([EW][0-9]{3}): ", path.read_text("utf-8")))
    page = (ROOT / "docs" / "errors.md").read_text("utf-8")
    missing = sorted(c for c in codes if c not in page)
    assert not missing, f"codes missing from docs/errors.md: {missing}"


def test_readme_links_exist() -> None:
    readme = (ROOT / "README.md").read_text("utf-8")
    for link in re.findall(r"`(docs/[a-z-]+\.md)`", readme):
        assert (ROOT / link).is_file(), link
