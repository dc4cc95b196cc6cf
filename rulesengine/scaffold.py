"""Next year's policy: a copy of the latest version with its header moved on a year.

The copy keeps every comment and rule of the latest version (admins change a few numbers each
year); only ``version``, ``effective`` and the year in the title and in the leading comment
change, and a header comment says what is usually edited. The result validates at once.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

from rulesengine.errors import PolicyError
from rulesengine.policy import check_policy_file, load_policy_set

HEADER = """\
# {family} {version}: made by `rulesengine policy new` from {source} ({old}).
# Usually changed for a new year: the numbers (points table, multiplier, bonus, quota
# `minimum`, streak length in `when: streak >= N`, day thresholds, hours), action labels,
# and rules added or removed. Keep each rule's `name` stable: look-backs find last year's rule by
# name. Add a test beside it in tests/ and run: rulesengine validate {path} && rulesengine test
"""


def _shift(d: date, years: int) -> date:
    try:
        return d.replace(year=d.year + years)
    except ValueError:  # 29 February
        return d.replace(year=d.year + years, day=28)


def scaffold_policy(policies: Path, family: str, version: str, force: bool = False) -> Path:
    """Write ``policies/family/version.yaml`` from the latest policy of the family."""
    directory = policies / family
    target = directory / f"{version}.yaml"
    if target.exists() and not force:
        raise PolicyError(f"{target} exists already (use --force to overwrite it)")
    others = [
        p
        for p in load_policy_set(directory, family).policies
        if Path(p.path).resolve() != target.resolve()
    ]
    if not others:
        raise PolicyError(f"no other policy of family '{family}' to start from in {directory}")
    latest = others[-1]
    years = max(1, _shift(latest.effective_to, 0).year - latest.effective_from.year + 1)
    start = _shift(latest.effective_from, years)
    end = _shift(latest.effective_to, years)
    text = Path(latest.path).read_text("utf-8")
    text, n1 = re.subn(r"(?m)^version:.*$", f'version: "{version}"', text, count=1)
    text, n2 = re.subn(
        r"(?m)^effective:.*$", f"effective: {{from: {start}, to: {end}}}", text, count=1
    )
    if n1 != 1 or n2 != 1:
        raise PolicyError(
            f"{latest.path}: cannot find the one-line `version:` and `effective:` "
            "keys to change; copy the file by hand"
        )
    old = latest.version
    if old.isdigit() and version.isdigit():
        text = re.sub(r"(?m)^(title:.*?)" + re.escape(old), r"\g<1>" + version, text, count=1)
    lines = text.splitlines(keepends=True)
    if old.isdigit() and version.isdigit():  # the year in the file's own leading comment block
        for i, line in enumerate(lines):
            if not line.startswith("#"):
                break
            if not line.startswith("# yaml-language-server"):
                lines[i] = re.sub(rf"(?<!\d){old}(?!\d)", version, line)
    keep = 0
    while keep < len(lines) and lines[keep].startswith("# yaml-language-server"):
        keep += 1
    header = HEADER.format(
        family=family,
        version=version,
        source=Path(latest.path).name,
        old=f"version {old}",
        path=target,
    )
    rest = "".join(lines[keep:])
    text = "".join(lines[:keep]) + header + ("" if rest.startswith("#\n") else "#\n") + rest
    target.write_text(text, "utf-8")
    policy, diags = check_policy_file(target)
    if policy is None:
        target.unlink()
        raise PolicyError(f"the new policy would not validate: {target}", diags)
    return target
