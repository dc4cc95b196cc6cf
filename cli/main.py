"""``rulesengine``: validate policies and evaluate event streams from the command line.

Every command parses its options, calls the library and renders. Errors of the library
(:class:`~rulesengine.errors.RulesEngineError`) become messages on stderr and the exit codes
documented in docs/cli.md; nothing is printed as a traceback.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from rulesengine.errors import Diagnostic, RulesEngineError
from rulesengine.evaluate import evaluate as run_evaluation
from rulesengine.loading import load_policies, read_events
from rulesengine.periods import parse_period
from rulesengine.policy import Policy, check_policy_file
from rulesengine.render import render_json, render_table

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INVALID_POLICY = 3
EXIT_REJECTED_LINES = 6

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
                    if f.name != "events.yaml" and "tests" not in f.relative_to(path).parts
                )
            )
        else:
            files.append(path)
    diags: list[Diagnostic] = []
    for f in files:
        _, found = check_policy_file(f)
        diags.extend(found)
    diags.sort(key=Diagnostic.sort_key)
    errors = [d for d in diags if d.severity == "error"]
    for d in diags:
        if d.severity == "error" or show_warnings:
            click.echo(d.format(), err=d.severity == "error")
    warn = len(diags) - len(errors)
    click.echo(f"{len(files)} file(s) checked: {len(errors)} error(s), {warn} warning(s)", err=True)
    sys.exit(EXIT_INVALID_POLICY if errors else EXIT_OK)


@main.command()
@click.option(
    "--events",
    "events_files",
    multiple=True,
    required=True,
    type=click.Path(),
    help="A JSON Lines file of events (repeatable).",
)
@click.option("--period", required=True, help="2023-05 (month), 2023-Q2 (quarter) or 2023 (year).")
@click.option("--family", default=None, help="The policy family (default: the only one).")
@click.option(
    "--policies",
    "policies_dir",
    default=None,
    help="Directory of policy families [default: $RULESENGINE_POLICIES or ./policies].",
)
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
) -> None:
    """Evaluate one period: scores, rankings, actions and warnings."""
    target = parse_period(period)
    policies, forced_policy = load_policies(policies_dir or default_policies(), family, forced)
    vocab = policies.policies[0].vocabulary
    batch = read_events(list(events_files), vocab)
    for reject in batch.rejects:
        click.echo(f"rejected: {reject.format()}", err=True)
    click.echo(f"events: {batch.summary()}", err=True)
    result = run_evaluation(
        policies, batch.events, target, forced_policy if isinstance(forced_policy, Policy) else None
    )
    text = render_json(result, explain) if fmt == "json" else render_table(result, explain)
    click.echo(text, nl=False)
    if strict and batch.rejects:
        sys.exit(EXIT_REJECTED_LINES)


if __name__ == "__main__":  # pragma: no cover
    main()
