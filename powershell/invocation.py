"""What a front end asks a runspace to run: command calls and their arguments.

The language produces these from parsed text (NoLanguage: constants only); the PSRP listener
produces them from command-form pipelines whose argument values are already typed. The binder
consumes them. Nothing here knows about syntax or about cmdlets.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar


class _NoValue:
    """Marks a parameter token given without a value (`-Verbose`, or `-FromDate` awaiting the next argument)."""

    _instance: ClassVar[_NoValue | None] = None

    def __new__(cls) -> _NoValue:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "NO_VALUE"

    def __bool__(self) -> bool:
        return False


NO_VALUE = _NoValue()


@dataclass
class CommandArgument:
    """One element after the command name.

    * `-Name value`   -> two arguments: CommandArgument(parameter="Name"), CommandArgument(value=value)
    * `-Name:value`   -> CommandArgument(parameter="Name", value=value, colon=True)
    * `value`         -> CommandArgument(value=value)
    `parameter` is the name as typed, without the dash (a prefix, any case). `text` is the source text
    of the element and `start`/`end` its offsets in the input (None when it came over the wire).
    """

    parameter: str | None = None
    value: Any = NO_VALUE
    colon: bool = False
    text: str = ""
    start: int | None = None
    end: int | None = None

    @property
    def is_parameter(self) -> bool:
        return self.parameter is not None


@dataclass
class CommandCall:
    """One command of a pipeline: its name as typed and its arguments in order."""

    name: str
    arguments: list[CommandArgument] = field(default_factory=list)
    start: int | None = None
    end: int | None = None
