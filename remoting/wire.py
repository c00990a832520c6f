"""Values across the bridge: our object model (psrpcore types, Python values) <-> pypsrp's.

pypsrp serialises by Python type and has no DateTime writer, and it only encrypts secure strings
it knows as its own PSCredential / an "SS"-tagged value; so arguments are converted before they
are handed to pypsrp. Results come back as pypsrp message objects and are turned into
powershell.objects records and psrpcore PSObjects so the console renders them like local output.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date, datetime, timedelta
from typing import Any

from powershell.objects import (
    ErrorCategory,
    ErrorRecord,
    ProgressRecord,
    PSCredential,
    PSSecureString,
    custom_object,
    error_record,
    progress_record,
)
from remoting.pypsrp_adapter import explicit_to_string

# ----- to the wire --------------------------------------------------------------------------------

def has_secret(value: Any) -> bool:
    """Whether a value needs the PSRP session key (a SecureString anywhere inside it)."""
    if isinstance(value, (PSSecureString, PSCredential)):
        return True
    if isinstance(value, (list, tuple)):
        return any(has_secret(v) for v in value)
    if isinstance(value, dict):
        return any(has_secret(v) for v in value.values())
    return False


def datetime_text(value: datetime) -> str:
    from powershell.language.workstation.dates import round_trip

    return round_trip(value)


def _duration_text(value: timedelta) -> str:
    total = value.total_seconds()
    sign = "-" if total < 0 else ""
    total = abs(total)
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{sign}P{int(days)}DT{int(hours)}H{int(minutes)}M{seconds:.7f}S"


def to_wire(value: Any) -> Any:
    """A value pypsrp will serialise as the .NET type PowerShell would send."""
    from pypsrp.complex_objects import PSCredential as WireCredential
    from pypsrp.serializer import TaggedValue

    if value is None or isinstance(value, ET.Element):
        return value
    if isinstance(value, PSCredential):
        return WireCredential(username=str(value.UserName), password=_plain(value.Password))
    if isinstance(value, PSSecureString):
        return TaggedValue("SS", _plain(value))
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return TaggedValue("I32", int(value)) if -2**31 <= value < 2**31 else TaggedValue("I64", int(value))
    if isinstance(value, float):
        return TaggedValue("Db", float(value))
    if isinstance(value, datetime):
        return _element("DT", datetime_text(value))
    if isinstance(value, date):
        return _element("DT", datetime_text(datetime(value.year, value.month, value.day)))
    if isinstance(value, timedelta):
        return _element("TS", _duration_text(value))
    if isinstance(value, str):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [to_wire(v) for v in value]
    if isinstance(value, dict):
        return {str(k): to_wire(v) for k, v in value.items()}
    return str(value)


def _plain(secure: Any) -> str:
    return str(secure.decrypt()) if isinstance(secure, PSSecureString) else str(secure or "")


def _element(tag: str, text: str) -> ET.Element:
    el = ET.Element(tag)
    el.text = text
    return el


# ----- from the wire ------------------------------------------------------------------------------

_CATEGORIES = {c.value: c for c in ErrorCategory}


def from_wire(value: Any) -> Any:
    """A pypsrp output value as our object model (PSCustomObject keeps the remote type names)."""
    from pypsrp.complex_objects import ComplexObject, GenericComplexObject

    if isinstance(value, GenericComplexObject):
        props: dict[str, Any] = {}
        for source in (value.adapted_properties, value.extended_properties):
            for name, prop in source.items():
                props.setdefault(str(name), from_wire(prop))
        if not props:
            # an enum or a type with only a ToString form: what a user would see is that text
            return str(value.to_string) if value.to_string is not None else None
        obj = custom_object(None, **props)
        names = [t for t in value.types if t not in ("System.Management.Automation.PSCustomObject", "System.Object")]
        for t in reversed(names):
            obj.PSObject.type_names.insert(0, t)
        return obj
    if isinstance(value, ComplexObject):
        return str(value)
    if isinstance(value, list):
        return [from_wire(v) for v in value]
    if isinstance(value, dict):
        return {from_wire(k): from_wire(v) for k, v in value.items()}
    return value


def error_from_wire(rec: Any) -> ErrorRecord:
    """A pypsrp ErrorRecord message as a powershell.objects ErrorRecord that keeps the remote's
    FullyQualifiedErrorId, category, reason, target and activity."""
    message = _error_message(rec)
    category = _CATEGORIES.get(_int(getattr(rec, "category", 0)), ErrorCategory.NotSpecified)
    exception_type = "System.Exception"
    exc = getattr(rec, "exception", None)
    types = getattr(exc, "types", None) or []
    if types:
        exception_type = types[0].removeprefix("Deserialized.")
    target = getattr(rec, "target_name", None) or None
    record = error_record(
        message, getattr(rec, "fq_error", None) or "RemoteError", category,
        exception_type=exception_type, target=target,
        target_type=getattr(rec, "target_type", None) or None,
        recommended_action=getattr(rec, "action", None) or None,
    )
    info = record.CategoryInfo
    info.Activity = getattr(rec, "activity", None) or ""
    if getattr(rec, "reason", None):
        info.Reason = rec.reason
    return record


def _error_message(rec: Any) -> str:
    details = getattr(rec, "details_message", None)
    if details:
        return str(details)
    exc = getattr(rec, "exception", None)
    props = getattr(exc, "adapted_properties", None) or {}
    if props.get("Message"):
        return str(props["Message"])
    text = explicit_to_string(rec) or ""
    return text or str(getattr(rec, "message", "") or "")


def progress_from_wire(rec: Any) -> ProgressRecord:
    kind = getattr(getattr(rec, "progress_type", None), "value", 0)
    return progress_record(
        str(rec.activity or ""), str(rec.description or ""),
        activity_id=_int(rec.activity_id), parent_id=_int(rec.parent_activity_id, -1),
        percent=_int(rec.percent_complete, -1), current_operation=rec.current_operation,
        seconds_remaining=_int(rec.seconds_remaining, -1), completed=kind == 1,
    )


def information_from_wire(rec: Any) -> Any:
    """Write-Host text arrives as a HostInformationMessage; locally it is the line it shows."""
    data = getattr(rec, "message_data", None)
    if any(t.endswith("HostInformationMessage") for t in getattr(data, "types", None) or ()):
        props = getattr(data, "extended_properties", None) or {}
        text = props.get("Message")
        return str(text if text is not None else (getattr(data, "to_string", None) or ""))
    return from_wire(data)


def _int(value: Any, default: int = 0) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default
