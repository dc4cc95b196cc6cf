"""The CLI reference page (docs/cli.md), generated from the commands themselves.

    python -m rulesengine_cli.reference > docs/cli.md

A test fails when docs/cli.md differs from what this prints, so the page cannot go stale.
"""

from __future__ import annotations

import click

from .main import main

EXIT_CODES = [
    (0, "success (for `validate`: no errors, warnings allowed)"),
    (1, "internal error: a bug in rulesengine (reported in one line, never a traceback)"),
    (2, "bad usage: unknown option, bad period, no policy in force for the period"),
    (3, "invalid policy or vocabulary (every problem is listed as file:line:col: code: message)"),
    (4, "event input unusable as a whole (file missing, not a table, not a roster)"),
    (5, "an expression failed while evaluating (the message names the expression and its inputs)"),
    (6, "some lines were rejected (`ingest`, `roster`, and `evaluate --strict`)"),
    (7, "the store cannot be opened or was made by a newer version of rulesengine"),
    (8, "`test`: a case failed, or (with --coverage) a rule is not exercised by any case"),
]


def render() -> str:
    """The whole page as Markdown."""
    ctx = click.Context(
        main,
        info_name="rulesengine",
        terminal_width=100,
        max_content_width=100,
        help_option_names=["-h", "--help"],
    )
    out = [
        "# Command-line reference",
        "",
        "Generated from the commands by `python -m rulesengine_cli.reference > docs/cli.md`;",
        "a test keeps it in step with `rulesengine --help`.",
        "",
        "```",
        main.get_help(ctx).rstrip(),
        "```",
        "",
    ]
    group = main
    for name in group.list_commands(ctx):
        cmd = group.get_command(ctx, name)
        if cmd is None:
            continue
        sub = click.Context(cmd, info_name=name, parent=ctx)
        out += [f"## rulesengine {name}", "", "```", cmd.get_help(sub).rstrip(), "```", ""]
    out += ["## Exit codes", "", "| code | meaning |", "|---|---|"]
    out += [f"| {code} | {meaning} |" for code, meaning in EXIT_CODES]
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    print(render(), end="")
