"""``rulesengine``: validate policies and evaluate event streams from the command line.

Every command parses its options, calls the library and renders. Errors of the library
(:class:`~rulesengine.errors.RulesEngineError`) become messages on stderr and the exit codes
documented in docs/cli.md; nothing is printed as a traceback.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import click

from rulesengine.checkpoint import state_key
from rulesengine.errors import Diagnostic, RulesEngineError
from rulesengine.formats import read_records, roster_records
from rulesengine.incremental import evaluate_stored
from rulesengine.loading import load_policies, read_events
from rulesengine.partition import evaluate_partitioned
from rulesengine.periods import parse_period
from rulesengine.policy import Policy, check_policy_file, window_problems
from rulesengine.render import render_json, render_table
from rulesengine.scaffold import scaffold_policy
from rulesengine.schema_check import schema as load_schema
from rulesengine.store import Store, default_url
from rulesengine.store.window import clear_checkpoints, list_checkpoints
from rulesengine.testing import coverage, find_test_files, run_files

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INVALID_POLICY = 3
EXIT_REJECTED_LINES = 6
EXIT_TESTS_FAILED = 8

F = TypeVar("F", bound=Callable[..., Any])


def handle_errors(func: F) -> F:
    """Turn library errors into located messages and exit codes."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except RulesEngineError as exc:
            for line in exc.lines():
                click.echo(f"error: {line}", err=True)
            sys.exit(exc.exit_code)
        except (click.exceptions.Exit, click.ClickException, SystemExit):
            raise
        except Exception as exc:  # a bug of ours: say so in one line, never a traceback
            text = " ".join(str(exc).split())[:500]
            click.echo(
                f"internal error: {exc.__class__.__name__}: {text} (this is a bug in "
                "rulesengine; please report it with the command you ran)",
                err=True,
            )
            sys.exit(EXIT_ERROR)

    return wrapper  # type: ignore[return-value]


def default_policies() -> str:
    """The policy directory: $RULESENGINE_POLICIES, else ./policies."""
    return os.environ.get("RULESENGINE_POLICIES", "policies")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="zugong-rulesengine")
def main() -> None:
    """Evaluate organization-work information (组工信息) events under yearly YAML policies."""


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option(
    "--warnings/--no-warnings",
    "show_warnings",
    default=True,
    show_default=True,
    help="Also print warnings (legal but probably wrong).",
)
def validate(paths: tuple[str, ...], show_warnings: bool) -> None:
    """Check policy files (or directories of them) and report every problem as
    file:line:col: code: message. Exit status 3 if any policy has an error."""
    files: list[Path] = []
    for p in paths:
        path = Path(p)
        if path.is_dir():
            files.extend(
                sorted(
                    f
                    for f in path.rglob("*.yaml")
                    if f.name != "events.yaml"
                    and not {"tests", "vocabularies"} & set(f.relative_to(path).parts)
                )
            )
        else:
            files.append(path)
    diags: list[Diagnostic] = []
    loaded = []
    for f in files:
        policy, found = check_policy_file(f)
        diags.extend(found)
        if policy is not None:
            loaded.append(policy)
    diags.extend(window_problems(loaded))
    diags.sort(key=Diagnostic.sort_key)
    errors = [d for d in diags if d.severity == "error"]
    for d in diags:
        if d.severity == "error" or show_warnings:
            click.echo(d.format(), err=d.severity == "error")
    warn = len(diags) - len(errors)
    click.echo(f"{len(files)} file(s) checked: {len(errors)} error(s), {warn} warning(s)", err=True)
    sys.exit(EXIT_INVALID_POLICY if errors else EXIT_OK)


def db_option(func: F) -> F:
    """The ``--db`` option shared by the commands that use the store."""
    return click.option(
        "--db",
        default=None,
        help="The store: a SQLite file or a database URL such as "
        "postgresql+psycopg://user@host/db [default: $RULESENGINE_DB or ./rulesengine.sqlite].",
    )(func)


def policies_option(func: F) -> F:
    """The ``--family`` and ``--policies`` options."""
    func = click.option(
        "--policies",
        "policies_dir",
        default=None,
        help="Directory of policy families [default: $RULESENGINE_POLICIES or ./policies].",
    )(func)
    return click.option(
        "--family", default=None, help="The policy family (default: the only one)."
    )(func)


def open_store(db: str | None) -> Store:
    """The store named by ``--db`` (or the default), created and migrated on first use."""
    return Store(db or default_url())


@main.command()
@click.option(
    "--events",
    "events_files",
    multiple=True,
    type=click.Path(),
    help="Evaluate these files (JSON Lines, CSV or XLSX; repeatable) instead of the store.",
)
@click.option("--period", required=True, help="2023-05 (month), 2023-Q2 (quarter) or 2023 (year).")
@policies_option
@click.option(
    "--policy",
    "forced",
    default=None,
    type=click.Path(),
    help="Force this policy file for every period, look-backs included (what-if).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="table for people, json for programs.",
)
@click.option("--explain", is_flag=True, help="Include the reason for every score and action.")
@click.option("--strict", is_flag=True, help="Exit with status 6 if any event line was rejected.")
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    metavar="N",
    help="Evaluate on N processes, split by top-level unit: the same output (evaluated "
    "serially, with a note, when a split would not be exact, and for a month from the store "
    "with checkpoints).",
)
@click.option(
    "--checkpoints/--no-checkpoints",
    default=True,
    show_default=True,
    help="From the store, resume a month from its stored checkpoint when still valid, and "
    "store checkpoints after evaluating a month in full (the same output either way).",
)
@db_option
@handle_errors
def evaluate(
    events_files: tuple[str, ...],
    period: str,
    family: str | None,
    policies_dir: str | None,
    forced: str | None,
    fmt: str,
    explain: bool,
    strict: bool,
    workers: int,
    checkpoints: bool,
    db: str | None,
) -> None:
    """Evaluate one period: scores, rankings, actions and warnings.

    Reads the store unless --events is given."""
    target = parse_period(period)
    policies, forced_policy = load_policies(policies_dir or default_policies(), family, forced)
    what_if = forced_policy if isinstance(forced_policy, Policy) else None
    vocab = policies.policies[0].vocabulary
    rejected = 0
    if events_files:
        batch = read_events(list(events_files), vocab)
        for reject in batch.rejects:
            click.echo(f"rejected: {reject.format()}", err=True)
        click.echo(f"events: {batch.summary()}", err=True)
        events = batch.events
        rejected = len(batch.rejects)
        results, serial = evaluate_partitioned(policies, events, [target], workers, what_if)
    else:
        store = open_store(db)
        try:
            done = evaluate_stored(store, policies, target, what_if, workers, checkpoints)
        finally:
            store.close()
        click.echo(f"events: {done.events_read} read from the store ({done.how})", err=True)
        results, serial = [done.result], done.serial
    if serial is not None and workers > 1:
        click.echo(f"note: evaluated serially: {serial}", err=True)
    result = results[0]
    text = render_json(result, explain) if fmt == "json" else render_table(result, explain)
    click.echo(text, nl=False)
    if strict and rejected:
        sys.exit(EXIT_REJECTED_LINES)


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path())
@policies_option
@click.option("--quiet", is_flag=True, help="Print only the summary lines, not each reject.")
@db_option
@handle_errors
def ingest(
    files: tuple[str, ...],
    family: str | None,
    policies_dir: str | None,
    quiet: bool,
    db: str | None,
) -> None:
    """Add event files (JSON Lines, CSV or XLSX) to the store, each in one transaction.

    Re-sending an identical event is a no-op; bad lines are kept with their reason (see
    `rulesengine rejects`). Exit status 6 if any line was rejected."""
    policies, _ = load_policies(policies_dir or default_policies(), family, None)
    vocab = policies.policies[0].vocabulary
    store = open_store(db)
    rejected = 0
    try:
        for f in files:
            report = store.ingest(f, read_records(f, vocab), vocab)
            if not quiet:
                for r in report.rejects:
                    click.echo(f"rejected: {r.format()}", err=True)
            click.echo(report.summary())
            rejected += report.rejected
    finally:
        store.close()
    sys.exit(EXIT_REJECTED_LINES if rejected else EXIT_OK)


@main.command()
@click.argument("file", type=click.Path())
@click.option(
    "--at",
    "at",
    default=None,
    help="When the roster takes effect (ISO time with offset); a YAML roster may say it in `at:`.",
)
@policies_option
@db_option
@handle_errors
def roster(
    file: str, at: str | None, family: str | None, policies_dir: str | None, db: str | None
) -> None:
    """Import units and people (YAML, or a CSV of units or of people) as roster events."""
    policies, _ = load_policies(policies_dir or default_policies(), family, None)
    vocab = policies.policies[0].vocabulary
    store = open_store(db)
    try:
        report = store.ingest(file, roster_records(file, vocab, at), vocab)
    finally:
        store.close()
    for r in report.rejects:
        click.echo(f"rejected: {r.format()}", err=True)
    click.echo(report.summary())
    sys.exit(EXIT_REJECTED_LINES if report.rejected else EXIT_OK)


@main.command()
@click.option("--source", default=None, help="Only the rejects of this file (as it was given).")
@db_option
@handle_errors
def rejects(source: str | None, db: str | None) -> None:
    """List every rejected line kept in the store: file:line: code: field: reason."""
    store = open_store(db)
    try:
        found = store.rejects(source)
    finally:
        store.close()
    for r in found:
        click.echo(r.format())
        click.echo(f"    {r.raw}")
    click.echo(f"{len(found)} reject(s)", err=True)


@main.command()
@click.option(
    "--clear",
    is_flag=True,
    help="Delete every stored checkpoint (a cache: the next evaluation of a month in full "
    "stores its own again).",
)
@policies_option
@db_option
@handle_errors
def checkpoints(clear: bool, family: str | None, policies_dir: str | None, db: str | None) -> None:
    """List the store's checkpoints, a line each: the month, its start (in the family's time
    zone), the last ingest it has seen, and whether an evaluation under these policies resumes
    from it: usable; stale (an ingest since touched what came before it); or other policies
    or engine (stored under another key). With --clear, delete them all."""
    if clear:
        if family is not None or policies_dir is not None:
            raise click.UsageError(
                "--clear deletes every checkpoint in the store: it takes no --family or --policies"
            )
        store = open_store(db)
        try:
            cleared = clear_checkpoints(store)
        finally:
            store.close()
        click.echo(f"cleared {cleared} checkpoint(s)")
        return
    policies, _ = load_policies(policies_dir or default_policies(), family, None)
    store = open_store(db)
    try:
        found = list_checkpoints(store, state_key(policies, None))
    finally:
        store.close()
    zone = ZoneInfo(policies.policies[0].timezone)
    for c in found:
        at = c.at.astimezone(zone).isoformat()
        status = "usable" if c.usable else "stale" if c.current else "other policies or engine"
        click.echo(
            f"{c.month}  {at}  seen up to ingest {c.seq}  {status}  {c.size:,} bytes  "
            f"key {c.key[:12]}"
        )
    usable = sum(c.usable for c in found)
    click.echo(f"{len(found)} checkpoint(s), {usable} usable by these policies", err=True)


@main.command(name="test")
@click.argument("paths", nargs=-1, type=click.Path())
@click.option(
    "--coverage",
    "show_coverage",
    is_flag=True,
    help="Also list, per policy file, the rules no case exercised (exit 8 if any).",
)
@click.option("-v", "--verbose", is_flag=True, help="Print the file and line of every case.")
@handle_errors
def test_command(paths: tuple[str, ...], show_coverage: bool, verbose: bool) -> None:
    """Run the policy test cases (tests/*.yaml beside the policies; default: the policies
    directory). Prints PASS or FAIL per case with the differences, then `N passed, M failed`."""
    files = find_test_files(list(paths) or [default_policies()])
    if not files:
        click.echo("no test files found (looked for tests/*.yaml)", err=True)
        sys.exit(EXIT_USAGE)
    outcomes = run_files(files)
    for o in outcomes:
        where = f"  ({o.case.file}:{o.case.line})" if verbose or not o.passed else ""
        click.echo(f"{'PASS' if o.passed else 'FAIL'} {o.case.name}{where}")
        for d in o.differences:
            click.echo(f"    {d}")
    failed = sum(1 for o in outcomes if not o.passed)
    untested = 0
    if show_coverage:
        for policy, rules in coverage(files, outcomes).items():
            untested += len(rules)
            state = "all rules exercised" if not rules else "not exercised: " + ", ".join(rules)
            click.echo(f"coverage {policy}: {state}")
    click.echo(f"{len(outcomes) - failed} passed, {failed} failed")
    if failed or untested:
        sys.exit(EXIT_TESTS_FAILED)


@main.command()
@click.option("--vocabulary", is_flag=True, help="The schema of the event vocabulary instead.")
def schema(vocabulary: bool) -> None:
    """Print the JSON Schema of policy files (for editors and other tools)."""
    click.echo(
        json.dumps(
            load_schema("vocabulary" if vocabulary else "policy"), ensure_ascii=False, indent=2
        )
    )


@main.group()
def policy() -> None:
    """Work with policy files: start next year's policy."""


@policy.command(name="new")
@click.option("--family", required=True, help="The family, e.g. county-department.")
@click.option("--version", "version", required=True, help="The new version, e.g. 2025.")
@click.option(
    "--policies",
    "policies_dir",
    default=None,
    help="Directory of policy families [default: $RULESENGINE_POLICIES or ./policies].",
)
@click.option("--force", is_flag=True, help="Overwrite the file if it exists.")
@handle_errors
def policy_new(family: str, version: str, policies_dir: str | None, force: bool) -> None:
    """Write policies/FAMILY/VERSION.yaml from the latest version of the family, with the
    effective window moved to the next year; it validates at once."""
    path = scaffold_policy(Path(policies_dir or default_policies()), family, version, force)
    click.echo(f"wrote {path}; edit it, then run: rulesengine validate {path}")


if __name__ == "__main__":  # pragma: no cover
    main()
