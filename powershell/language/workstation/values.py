"""Values of the workstation subset that are not plain Python values, and how PowerShell turns any
value into text (string expansion, casts to [string], arguments to string parameters)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from powershell.binding import ps_type_name
from powershell.language import ast
from powershell.objects import ErrorCategory, ErrorRecord, SourcePosition, error_record, with_position
from powershell.text import to_string


@dataclass
class ScriptBlockValue:
    """`{ ... }` as a value: kept as its syntax tree and source text, never run locally."""

    node: ast.ScriptBlockExpression
    source: str  # the whole script the block came from (offsets index into it)

    @property
    def text(self) -> str:
        """The text between the braces, as PowerShell sends a script block."""
        raw = self.node.text or self.source[self.node.start:self.node.end]
        raw = raw.strip()
        if raw.startswith("{") and raw.endswith("}"):
            raw = raw[1:-1]
        return raw

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class TypeValue:
    """`[datetime]` on its own: a type whose static members can be read."""

    name: str

    def __str__(self) -> str:
        return self.name


class ScriptError(Exception):
    """A statement-terminating runtime error (PowerShell's RuntimeException): the record is written
    and the script goes on with the next statement."""

    def __init__(self, record: ErrorRecord) -> None:
        super().__init__(str(record.Exception.Message))
        self.record = record


def runtime_error(message: str, error_id: str, node: ast.Node | None, text: str,
                  category: ErrorCategory = ErrorCategory.InvalidOperation,
                  exception_type: str = "System.Management.Automation.RuntimeException",
                  target: Any = None) -> ScriptError:
    record = error_record(message, error_id, category, exception_type=exception_type, target=target)
    if node is not None:
        with_position(record, SourcePosition(text, node.start, node.end))
    return ScriptError(record)


def type_name(value: Any) -> str:
    """The .NET type name PowerShell shows for a value in messages ([System.DateTime] ...)."""
    if isinstance(value, ScriptBlockValue):
        return "System.Management.Automation.ScriptBlock"
    if isinstance(value, TypeValue):
        return "System.RuntimeType"
    return ps_type_name(value)


def to_text(value: Any) -> str:
    """PowerShell's conversion of a value to a string ("$x", [string]$x): the one rule, powershell/text.py."""
    return to_string(value)


def collapse(outputs: list[Any]) -> Any:
    """How a pipeline's output becomes one value: nothing -> $null, one object -> itself, more -> array."""
    if not outputs:
        return None
    if len(outputs) == 1:
        return outputs[0]
    return list(outputs)
