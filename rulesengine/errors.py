"""One exception root for everything the engine reports to people.

Every problem is a :class:`Diagnostic`: a stable code, a location (file, line, column, or an
event line and field), a message saying what is wrong and a hint saying how to fix it. Errors
that stop an operation carry one or more diagnostics.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One located problem. ``severity`` is ``error`` or ``warning``."""

    code: str
    message: str
    file: str = ""
    line: int = 0
    column: int = 0
    hint: str = ""
    severity: str = "error"

    def sort_key(self) -> tuple[str, int, int, str, str]:
        """Order diagnostics by place, then code, so reports are stable."""
        return (self.file, self.line, self.column, self.code, self.message)

    def format(self) -> str:
        """``file:line:col: code: message (hint)``, the one-line form used everywhere."""
        where = self.file or "<input>"
        if self.line:
            where += f":{self.line}"
            if self.column:
                where += f":{self.column}"
        text = f"{where}: {self.code}: {self.message}"
        if self.severity == "warning":
            text = f"{where}: {self.code} (warning): {self.message}"
        if self.hint:
            text += f" ({self.hint})"
        return text


class RulesEngineError(Exception):
    """Root of every error the engine raises on purpose."""

    exit_code = 1

    def __init__(self, message: str, diagnostics: list[Diagnostic] | None = None) -> None:
        super().__init__(message)
        self.diagnostics: list[Diagnostic] = sorted(diagnostics or [], key=Diagnostic.sort_key)

    def lines(self) -> list[str]:
        """The error as lines for people: each diagnostic, or the message alone."""
        if self.diagnostics:
            return [d.format() for d in self.diagnostics]
        return [str(self)]


class PolicyError(RulesEngineError):
    """A policy or vocabulary file is invalid; ``diagnostics`` lists every problem found."""

    exit_code = 3


class EventError(RulesEngineError):
    """Event input is unusable as a whole (not raised for single bad lines, which are rejects)."""

    exit_code = 4


class PeriodError(RulesEngineError):
    """A period is malformed, or no policy is in force for it."""

    exit_code = 2


@dataclass(frozen=True, slots=True)
class Reject:
    """An input line that was not accepted, with where and why."""

    source: str
    line: int
    raw: str
    code: str
    reason: str
    field: str = ""
    hint: str = ""

    def format(self) -> str:
        """One line: ``source:line: code: field: reason``."""
        fld = f"field '{self.field}': " if self.field else ""
        text = f"{self.source}:{self.line}: {self.code}: {fld}{self.reason}"
        if self.hint:
            text += f" ({self.hint})"
        return text


@dataclass(slots=True)
class Collector:
    """Accumulates diagnostics so a check can report every problem at once."""

    file: str = ""
    items: list[Diagnostic] = field(default_factory=list)

    def error(
        self, code: str, message: str, line: int = 0, column: int = 0, hint: str = ""
    ) -> None:
        """Record an error at ``line:column`` of this collector's file."""
        self.items.append(Diagnostic(code, message, self.file, line, column, hint, "error"))

    def warning(
        self, code: str, message: str, line: int = 0, column: int = 0, hint: str = ""
    ) -> None:
        """Record a warning at ``line:column`` of this collector's file."""
        self.items.append(Diagnostic(code, message, self.file, line, column, hint, "warning"))

    @property
    def errors(self) -> list[Diagnostic]:
        """The diagnostics of severity ``error``."""
        return [d for d in self.items if d.severity == "error"]
