"""Windows PowerShell 5.1's error view (the default $ErrorView, "NormalView").

    Get-AzureStackLog : <message>
    At line:1 char:1
    + <source line, cut to 69 characters>
    + ~~~~~~~~
        + CategoryInfo          : <Category>: (<Target>:<Type>) [<Activity>], <Reason>
        + FullyQualifiedErrorId : <id>,<command>

Parse errors (category ParserError) put the position first and have no "<command> : " prefix,
as a ParseException's message carries its position in 5.1. A record from a remote session (it
has a PSComputerName note) is the message alone, then the + lines ending with
"+ PSComputerName        : <host>", as Invoke-Command and Enter-PSSession show it.
"""
from __future__ import annotations

from psrpcore.types import ErrorRecord

from powershell.objects import SourcePosition
from powershell.text import explicit_to_string

MAX_SOURCE_LINE = 69  # PowerShell keeps the quoted source line within an 80-column console


def _ellipsize(text: str) -> str:
    """ErrorCategoryInfo shortens every field longer than 40 characters to 15...15."""
    return text if len(text) <= 40 else f"{text[:15]}...{text[-15:]}"


def category_text(record: ErrorRecord) -> str:
    info = record.CategoryInfo
    explicit = explicit_to_string(info)
    if explicit:  # deserialized from a remote session: use the server's own rendering
        return explicit
    category = getattr(info.Category, "name", None) or str(info.Category or "NotSpecified")
    return (f"{category}: ({_ellipsize(info.TargetName or '')}:{_ellipsize(info.TargetType or '')}) "
            f"[{_ellipsize(info.Activity or '')}], {_ellipsize(info.Reason or '')}")


def position_message(position: SourcePosition) -> str:
    """'At line:L char:C', the source line and the ~~~ marker (PowerShell's PositionMessage)."""
    source = position.line_text.rstrip()
    head = f"At line:{position.line} char:{position.column}"
    if not source:
        return head
    before = position.column - 1
    end_line = position.text.count("\n", 0, position.end) + 1
    if end_line == position.line:
        length = position.end - position.start
    else:
        length = len(source) - position.column + 1
    if "\t" in source:
        error_part = source[before:before + length].replace("\t", "    ")
        head_part = source[:before].replace("\t", "    ")
        source = head_part + error_part + source[before + length:].replace("\t", "    ")
        before, length = len(head_part), len(error_part)
    prefix_dots = suffix_dots = False
    if len(source) > MAX_SOURCE_LINE:
        total_prefix = before
        prefix = min(total_prefix, 12)
        total_suffix = len(source) - length - before
        suffix = min(total_suffix, 8)
        candidate = prefix + length + suffix
        if candidate >= MAX_SOURCE_LINE:
            if prefix + length >= MAX_SOURCE_LINE:
                length = MAX_SOURCE_LINE - prefix
            suffix_dots = True
        else:
            spare = total_prefix - prefix
            if spare > 0:
                prefix += min(spare, MAX_SOURCE_LINE - candidate)
                candidate = prefix + length + suffix
            if candidate < MAX_SOURCE_LINE and total_suffix > 0:
                suffix += min(total_suffix, MAX_SOURCE_LINE - candidate)
            suffix_dots = suffix < total_suffix
        prefix_dots = prefix < total_prefix
        start = max(before - prefix, 0)
        source = source[start:start + MAX_SOURCE_LINE]
        before = min(before, prefix)
        length = min(length, MAX_SOURCE_LINE - before)
    shown = ("... " if prefix_dots else "") + source + (" ..." if suffix_dots else "")
    marker = " " * (before + (4 if prefix_dots else 0)) + "~" * max(length, 1)
    return f"{head}\n+ {shown}\n+ {marker}"


def error_message(record: ErrorRecord) -> str:
    details = getattr(record, "ErrorDetails", None)
    if details is not None and getattr(details, "Message", None):
        return str(details.Message)
    exc = getattr(record, "Exception", None)
    message = getattr(exc, "Message", None) if exc is not None else None
    return str(message) if message is not None else str(exc or "")


def _command_prefix(record: ErrorRecord) -> str:
    inv = getattr(record, "InvocationInfo", None)
    name = getattr(inv, "InvocationName", None) if inv is not None else None
    if not name:
        name = getattr(record, "command_name", None)  # set by the runspace (objects.with_invocation)
    if not name:
        name = record.CategoryInfo.Activity
    if not name and (record.CategoryInfo.Reason or "") == "CommandNotFoundException":
        name = record.CategoryInfo.TargetName  # the name typed, as PowerShell's InvocationName
    return f"{name} : " if name else ""


def remote_computer(record: ErrorRecord) -> str | None:
    """The PSComputerName note of a record that came from a remote session, else None."""
    for prop in getattr(getattr(record, "PSObject", None), "extended_properties", None) or ():
        if prop.name == "PSComputerName":
            value = prop.get_value(record)
            return None if value is None else str(value)
    return None


def _indented(label: str, value: str, width: int) -> list[str]:
    text = f"+ {label}: {value}"
    room = max(width - 6, 20)
    return ["    " + text[i:i + room] for i in range(0, len(text), room)] or ["    " + text]


def format_error(record: ErrorRecord, width: int = 120) -> str:
    """The 5.1 error view of one record, ending with a newline. ErrorDetails.RecommendedAction (our
    hints, beyond what 5.1 prints) adds one line after it."""
    position = getattr(record, "position", None)
    message = error_message(record)
    is_parse = getattr(record.CategoryInfo.Category, "name", "") == "ParserError"
    computer = remote_computer(record)
    if computer is not None:
        first = message  # the remote end's record: its command and position mean nothing here
    elif is_parse:
        first = (position_message(position) + "\n" + message) if position is not None else message
    else:
        first = _command_prefix(record) + message
        if position is not None:
            first += "\n" + position_message(position)
    lines = first.splitlines() or [""]
    lines += _indented("CategoryInfo          ", category_text(record), width)
    lines += _indented("FullyQualifiedErrorId ", record.FullyQualifiedErrorId or "", width)
    if computer is not None:
        lines += _indented("PSComputerName        ", computer, width)
    details = getattr(record, "ErrorDetails", None)
    hint = getattr(details, "RecommendedAction", None) if details is not None else None
    if hint:
        lines.append(str(hint))
    return "".join(line + "\n" for line in lines)


def format_warning(message: str) -> str:
    return f"WARNING: {message}"


def format_verbose(message: str) -> str:
    return f"VERBOSE: {message}"


def format_debug(message: str) -> str:
    return f"DEBUG: {message}"
