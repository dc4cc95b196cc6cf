"""IO at the edge: reading event files and finding policy files. The evaluator never opens files;
the CLI (and tests) use these helpers to feed it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from rulesengine.errors import EventError, PolicyError
from rulesengine.formats import read_records
from rulesengine.intake import Batch, Record, parse_records
from rulesengine.policy import PolicySet, load_policy, load_policy_set
from rulesengine.vocabulary import Vocabulary


def iter_lines(path: str | Path) -> Iterator[tuple[str, int, bytes]]:
    """``(file, line number, raw bytes)`` for each line of a JSON Lines file.

    Lines stay bytes so that the JSON decoder, not this reader, rejects bad UTF-8 (as a located
    reject, never by silently replacing characters).
    """
    p = Path(path)
    try:
        with p.open("rb") as fh:
            yield from ((str(path), number, raw) for number, raw in enumerate(fh, start=1))
    except OSError as exc:
        raise EventError(f"{path}: cannot read events: {exc.strerror}") from exc


def read_events(paths: list[str], vocab: Vocabulary) -> Batch:
    """Decode and check the events of ``paths`` (JSON Lines, CSV or XLSX) as one batch."""
    for p in paths:
        if not Path(p).is_file():
            raise EventError(f"{p}: cannot read events: no such file")

    def records() -> Iterator[Record]:
        for p in paths:
            yield from read_records(p, vocab)

    return parse_records(records(), vocab)


def family_directory(policies: str | Path, family: str | None) -> tuple[Path, str]:
    """The directory of ``family`` under ``policies`` (the only family if not given)."""
    root = Path(policies)
    if not root.is_dir():
        raise PolicyError(f"policy directory '{policies}' not found", [])
    families = sorted(
        d.name
        for d in root.iterdir()
        if d.is_dir() and d.name != "vocabularies" and any(d.glob("*.yaml"))
    )
    if family is None:
        if len(families) != 1:
            raise PolicyError(
                f"choose a family with --family: {', '.join(families) or 'none found'}"
            )
        family = families[0]
    if family not in families:
        raise PolicyError(f"no family '{family}' in {policies}; families: {', '.join(families)}")
    return root / family, family


def load_policies(
    policies: str | Path, family: str | None, forced: str | None
) -> tuple[PolicySet, object]:
    """The policy set of the family, and the forced policy (or None) for a what-if."""
    if forced is not None:
        pol = load_policy(forced)
        return PolicySet(pol.family, (pol,)), pol
    directory, fam = family_directory(policies, family)
    return load_policy_set(directory, fam), None
