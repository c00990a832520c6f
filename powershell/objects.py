"""The object model every cmdlet emits: psrpcore's PowerShell types, plus small constructors.

Objects are psrpcore PSObjects so the same value renders in the console, serialises to CLIXML on
the wire, and prints as JSON, without conversion (DESIGN rule 3).
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from psrpcore.types import (
    ErrorCategory,
    ErrorCategoryInfo,
    ErrorRecord,
    NETException,
    ProgressRecord,
    ProgressRecordType,
    PSCredential,
    PSCustomObject,
    PSObject,
    PSSecureString,
)

from common.redact import redact
from powershell.text import to_display

__all__ = [
    "ErrorCategory",
    "ErrorRecord",
    "ProgressRecord",
    "ProgressRecordType",
    "PSCredential",
    "PSCustomObject",
    "PSSecureString",
    "error_record",
    "custom_object",
    "progress_record",
    "exception_type_name",
]


def error_record(
    message: str,
    error_id: str,
    category: ErrorCategory = ErrorCategory.NotSpecified,
    *,
    exception_type: str = "System.Exception",
    command: str | None = None,
    target: Any = None,
    target_type: str | None = None,
    recommended_action: str | None = None,
) -> ErrorRecord:
    """Build an ErrorRecord the way PowerShell does for a cmdlet error.

    `error_id` is the bare id ("AmbiguousParameterSet"); when `command` is given the
    FullyQualifiedErrorId becomes "<id>,<command>" and the category activity is the command,
    which is what PowerShell prints as `[Get-AzureStackLog]`.
    `exception_type` is the .NET type name; its last segment is the category Reason.
    """
    # Messages and targets often quote what was typed: the one redactor keeps secrets out of the
    # record, so out of every view, transcript and wire message made of it (docs/security.md).
    message = redact(message)
    if isinstance(target, str):
        target = redact(target)
    exc = NETException(Message=message)
    exc.PSObject.type_names.insert(0, exception_type)
    reason = exception_type.rsplit(".", 1)[-1]
    if target is not None and target_type is None:
        target_type = _target_type_name(target)
    info = ErrorCategoryInfo(
        Category=category,
        Activity=command or "",
        Reason=reason,
        TargetName=to_display(target),  # the target's ToString(), as ErrorCategoryInfo shows it
        TargetType=target_type or "",
    )
    fqid = f"{error_id},{command}" if command else error_id
    record = ErrorRecord(
        Exception=exc,
        CategoryInfo=info,
        FullyQualifiedErrorId=fqid,
        TargetObject=target,
    )
    if recommended_action:
        with_recommended_action(record, redact(recommended_action))
    return record


def with_recommended_action(record: ErrorRecord, text: str) -> ErrorRecord:
    """ErrorDetails.RecommendedAction: one line telling the user what to do instead. It travels with
    the record over PSRP, and the console prints it under the error view (our hints)."""
    from psrpcore.types import ErrorDetails

    record.ErrorDetails = ErrorDetails(Message=str(record.Exception.Message), RecommendedAction=text)
    return record


def exception_type_name(record: ErrorRecord) -> str:
    """The .NET type name of the record's exception (first type name)."""
    exc: PSObject = record.Exception  # a NETException, ours or deserialized
    return exc.PSObject.type_names[0]


def ps_type_name(value: Any) -> str:
    """The .NET type name PowerShell would report for a value."""
    if isinstance(value, PSObject) and value.PSObject.type_names:
        return value.PSObject.type_names[0]
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "System.Boolean"
    if isinstance(value, int):
        return "System.Int32" if -2**31 <= value < 2**31 else "System.Int64"
    if isinstance(value, float):
        return "System.Double"
    if isinstance(value, Decimal):
        return "System.Decimal"
    if isinstance(value, str):
        return "System.String"
    if isinstance(value, (datetime, date)):
        return "System.DateTime"
    if isinstance(value, timedelta):
        return "System.TimeSpan"
    if isinstance(value, (list, tuple)):
        return "System.Object[]"
    if isinstance(value, dict):
        return "System.Collections.Hashtable"
    return "System.Object"


def _target_type_name(value: Any) -> str:
    """CategoryInfo's TargetType is the short name: String, Int32, ..."""
    return ps_type_name(value).rsplit(".", 1)[-1]


def custom_object(type_name: str | None = None, /, **properties: Any) -> PSCustomObject:
    """A PSCustomObject with the properties in the given order; `type_name` is put first in
    PSTypeNames so formatting and the wire know what it is (e.g. 'AzureStack.StampInformation')."""
    obj = PSCustomObject(**properties)
    if type_name:
        obj.PSObject.type_names.insert(0, type_name)
    return obj


def progress_record(
    activity: str,
    status: str,
    *,
    activity_id: int = 0,
    parent_id: int = -1,
    percent: int = -1,
    current_operation: str | None = None,
    seconds_remaining: int = -1,
    completed: bool = False,
) -> ProgressRecord:
    return ProgressRecord(
        Activity=activity,
        ActivityId=activity_id,
        StatusDescription=status,
        CurrentOperation=current_operation,
        ParentActivityId=parent_id,
        PercentComplete=percent,
        SecondsRemaining=seconds_remaining,
        RecordType=ProgressRecordType.Completed if completed else ProgressRecordType.Processing,
    )


class SourcePosition:
    """Where in the typed input an error points: PowerShell's 'At line:L char:C' and the ~~~ marker."""

    def __init__(self, text: str, start: int, end: int | None = None):
        # The error view quotes the typed line: show it redacted, the marker moved with the text.
        shown = redact(text)
        if shown != text:
            start = len(redact(text[:start]))
            end = None if end is None else len(redact(text[:end]))
            text = shown
        self.text = text
        self.start = max(0, min(start, len(text)))
        self.end = self.start if end is None else max(self.start, min(end, len(text)))

    @property
    def line(self) -> int:
        return self.text.count("\n", 0, self.start) + 1

    @property
    def column(self) -> int:
        return self.start - (self.text.rfind("\n", 0, self.start) + 1) + 1

    @property
    def line_text(self) -> str:
        begin = self.text.rfind("\n", 0, self.start) + 1
        stop = self.text.find("\n", self.start)
        return self.text[begin: stop if stop != -1 else len(self.text)].rstrip("\r")


def with_position(record: ErrorRecord, position: SourcePosition | None) -> ErrorRecord:
    """Attach a source position to a record (a plain Python attribute, not a PS property)."""
    record.position = position
    return record


def from_remote_session(record: ErrorRecord) -> bool:
    """A record that came back from a remote session carries a PSComputerName note."""
    props = getattr(getattr(record, "PSObject", None), "extended_properties", None) or ()
    return any(prop.name == "PSComputerName" for prop in props)


def with_invocation(record: ErrorRecord, command: str, position: SourcePosition | None) -> ErrorRecord:
    """What PowerShell's InvocationInfo gives a record a command wrote (WriteError or
    ThrowTerminatingError): the command's name (the "Name : " the error view starts with) and the
    command's extent in the typed input ('At line:1 char:1' and the ~~~ under the command). A
    position the record already has (an argument's, for a binding error) is kept; a record from a
    remote session is left alone (its command and position belong to the remote end)."""
    if from_remote_session(record):
        return record
    if getattr(record, "position", None) is None and position is not None:
        record.position = position
    if not getattr(record, "command_name", None):
        record.command_name = command
    return record
