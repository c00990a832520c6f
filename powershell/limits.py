"""Input size limits, and the one rule for quoting a user's value in an error message.

A PEP command is short: a typed line, or a command-form pipeline whose longest value is a SAS URL
(about 2 KB). A 10 MB argument only costs the endpoint time, memory and transcript space, so the
runspace refuses oversized input before it is parsed, and oversized arguments before they are
bound, with an ordinary error record:

    InputTooLong     the typed text (or, for a command-form pipeline, all its values together)
                     is longer than limits.max_input_chars
    ArgumentTooLong  one argument value (a string, or a string inside a list) is longer than
                     limits.max_argument_chars, or a list argument has more than
                     limits.max_argument_items elements

Every error message or target object that quotes a value the user gave goes through `shorten`:
the first ECHO_CHARS characters, then "... (N characters)". A refused value is never echoed whole.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from powershell.invocation import NO_VALUE, CommandArgument, CommandCall
from powershell.objects import ErrorCategory, ErrorRecord, SourcePosition, error_record, with_position

ECHO_CHARS = 200  # how much of a user's value an error message may quote

DEFAULT_MAX_INPUT_CHARS = 64 * 1024
DEFAULT_MAX_ARGUMENT_CHARS = 8 * 1024
DEFAULT_MAX_ARGUMENT_ITEMS = 1024
_MAX_DEPTH = 8  # nested lists / objects measured this deep; deeper counts as too long

ARGUMENT_EXCEPTION = "System.Management.Automation.PSArgumentException"


def shorten(text: object, limit: int = ECHO_CHARS) -> str:
    """`text` as an error may quote it: whole when short, else its first `limit` characters
    followed by '... (N characters)'."""
    s = text if isinstance(text, str) else str(text)
    if len(s) <= limit:
        return s
    return f"{s[:limit]}... ({len(s)} characters)"


@dataclass(frozen=True)
class Limits:
    max_input_chars: int = DEFAULT_MAX_INPUT_CHARS
    max_argument_chars: int = DEFAULT_MAX_ARGUMENT_CHARS
    max_argument_items: int = DEFAULT_MAX_ARGUMENT_ITEMS

    @classmethod
    def from_env(cls, env: object) -> Limits:
        """The `limits.*` configuration keys; a missing or unusable value keeps its default."""
        setting = getattr(env, "setting", None)

        def get(key: str, default: int) -> int:
            if setting is None:
                return default
            value = setting(f"limits.{key}", default)
            try:
                number = int(value)
            except (TypeError, ValueError, OverflowError):
                return default
            return number if number > 0 and not isinstance(value, bool) else default

        return cls(get("max_input_chars", DEFAULT_MAX_INPUT_CHARS),
                   get("max_argument_chars", DEFAULT_MAX_ARGUMENT_CHARS),
                   get("max_argument_items", DEFAULT_MAX_ARGUMENT_ITEMS))


# -- refusals --------------------------------------------------------------------------------------

def input_too_long(length: int, limits: Limits, what: str = "The input") -> ErrorRecord:
    return error_record(
        f"{what} is {length} characters long; this endpoint accepts at most {limits.max_input_chars} "
        f"characters per input (limits.max_input_chars).",
        "InputTooLong", ErrorCategory.LimitsExceeded, exception_type=ARGUMENT_EXCEPTION)


def check_input(text: str, limits: Limits) -> ErrorRecord | None:
    """InputTooLong for typed text over the limit, before anything parses it."""
    if len(text) > limits.max_input_chars:
        return input_too_long(len(text), limits)
    return None


def check_calls_total(calls: Iterable[CommandCall], limits: Limits, input: Sequence[object] | None = None) -> ErrorRecord | None:
    """InputTooLong when the values of a command-form pipeline (and its pipeline input) together
    hold more characters than limits.max_input_chars."""
    budget = limits.max_input_chars
    total = 0
    for call in calls:
        total += len(call.name)
        for arg in call.arguments:
            total += len(arg.parameter or "") + measure(arg.value, budget - total + 1)
            if total > budget:
                return input_too_long(total, limits, "The command")
    if input:
        total += measure(list(input), budget - total + 1)
    if total > budget:
        return input_too_long(total, limits, "The command")
    return None


def check_arguments(call: CommandCall, limits: Limits, command: str | None = None, text: str | None = None,
                    input: Sequence[object] | None = None) -> ErrorRecord | None:
    """ArgumentTooLong for the first argument (or pipeline input) of `call` over a per-value limit."""
    if len(call.name) > limits.max_argument_chars:
        return _argument_error(f"The command name is {len(call.name)} characters long", limits, command, text,
                               CommandArgument(start=call.start, end=call.end))
    awaiting: str | None = None  # `-Name value`: the value is the argument after the name
    for arg in call.arguments:
        if arg.parameter is not None and len(arg.parameter) > limits.max_argument_chars:
            return _argument_error(f"A parameter name is {len(arg.parameter)} characters long", limits, command,
                                   text, arg)
        name = arg.parameter if arg.parameter is not None else awaiting
        awaiting = arg.parameter if arg.parameter is not None and arg.value is NO_VALUE and not arg.colon else None
        problem = _too_long(arg.value, limits, 0)
        if problem:
            where = f"The argument for parameter '{shorten(name)}'" if name else "An argument"
            return _argument_error(f"{where} {problem}", limits, command, text, arg)
    if input:
        problem = _too_long(list(input), limits, 0)
        if problem:
            return _argument_error(f"The pipeline input {problem}", limits, command, text, None)
    return None


def check_value(value: object, limits: Limits) -> str | None:
    """Why one value breaks a per-value limit ('is N characters long', 'has N elements'), else None."""
    return _too_long(value, limits, 0)


def argument_too_long_message(what: str, limits: Limits) -> str:
    return (f"{what}; this endpoint accepts at most {limits.max_argument_chars} characters per value and "
            f"{limits.max_argument_items} elements per list (limits.max_argument_chars, limits.max_argument_items).")


def _argument_error(what: str, limits: Limits, command: str | None, text: str | None,
                    arg: CommandArgument | None) -> ErrorRecord:
    record = error_record(
        argument_too_long_message(what, limits),
        "ArgumentTooLong", ErrorCategory.LimitsExceeded, exception_type=ARGUMENT_EXCEPTION, command=command)
    if text is not None and arg is not None and arg.start is not None:
        with_position(record, SourcePosition(text, arg.start, arg.end))
    return record


# -- measuring ---------------------------------------------------------------------------------------

def _text_of(value: object) -> str | bytes | bytearray | None:
    """The text a scalar value carries (a string, a SecureString's plain text, bytes as they are);
    only its length is used."""
    if isinstance(value, (str, bytes, bytearray)):
        return value
    try:
        from psrpcore.types import PSSecureString
    except ImportError:  # pragma: no cover
        return None
    if isinstance(value, PSSecureString):
        try:
            return value.decrypt()
        except Exception:
            return ""
    return None


def _children(value: object) -> list[object] | None:
    """The elements of a container value (list, dict keys and values, an object's properties)."""
    if isinstance(value, (list, tuple, set, frozenset)):
        return list(value)
    if isinstance(value, dict):
        out: list[object] = []
        for k, v in value.items():
            out += [k, v]
        return out
    ps_object = getattr(value, "PSObject", None)
    props = getattr(ps_object, "extended_properties", None)
    if props is None:
        return None
    out = []
    for group in (getattr(ps_object, "adapted_properties", None) or [], props):
        for prop in group:
            try:
                out.append(prop.get_value(value))
            except Exception:
                continue
    return out


def _too_long(value: object, limits: Limits, depth: int) -> str | None:
    """Why `value` breaks a per-value limit ('is N characters long', 'has N elements'), else None."""
    text = _text_of(value)
    if text is not None:
        return f"is {len(text)} characters long" if len(text) > limits.max_argument_chars else None
    children = _children(value)
    if children is None:
        return None
    count = len(value) if isinstance(value, dict) else len(children)
    if count > limits.max_argument_items:
        return f"has {count} elements"
    if depth >= _MAX_DEPTH and children:
        return "is nested too deeply"
    for child in children:
        problem = _too_long(child, limits, depth + 1)
        if problem:
            return problem
    return None


def measure(value: object, budget: int, depth: int = 0) -> int:
    """Characters of text in `value`; stops counting once past `budget`."""
    text = _text_of(value)
    if text is not None:
        return len(text)
    children = _children(value)
    if not children or depth >= _MAX_DEPTH:
        return 0
    total = 0
    for child in children:
        total += measure(child, budget - total, depth + 1)
        if total > budget:
            break
    return total
