"""Objects as JSON-able values, for `pep --json -c` (one JSON line per object)."""
from __future__ import annotations

import datetime as _dt
import enum
from typing import Any, TypeAlias

from psrpcore.types import ErrorRecord, PSCredential, PSCustomObject, PSObject, PSSecureString

from powershell.formatting import values as V
from powershell.formatting.errors import error_message
from powershell.text import SECURE_STRING

# What json.dumps gets: every output object becomes one of these.
JsonValue: TypeAlias = "None | bool | int | float | str | list[JsonValue] | dict[str, JsonValue]"


def error_to_json(record: ErrorRecord) -> dict[str, JsonValue]:
    info = record.CategoryInfo
    out: dict[str, JsonValue] = {
        "FullyQualifiedErrorId": record.FullyQualifiedErrorId,
        "Message": error_message(record),
        "Category": getattr(info.Category, "name", None) or str(info.Category),
        "TargetName": info.TargetName or "",
        "TargetType": info.TargetType or "",
        "Activity": info.Activity or "",
        "Reason": info.Reason or "",
    }
    exc = getattr(record, "Exception", None)
    if isinstance(exc, PSObject) and exc.PSObject.type_names:
        out["ExceptionType"] = exc.PSObject.type_names[0]
    position = getattr(record, "position", None)
    if position is not None:
        out["Line"], out["Column"] = position.line, position.column
    hint = getattr(record, "hint", None)
    if hint:
        out["Hint"] = str(hint)
    return out


def to_json(obj: Any) -> JsonValue:
    """A JSON-serialisable value; secrets never appear (SecureString becomes its type name)."""
    if obj is None or isinstance(obj, bool):
        return obj
    if isinstance(obj, enum.Enum):
        return obj.name
    if isinstance(obj, str):
        return str.__str__(obj)
    if isinstance(obj, int):
        return int(obj)
    if isinstance(obj, float):
        return float(obj) if obj == obj and obj not in (float("inf"), float("-inf")) else V.double_text(obj)
    if isinstance(obj, _dt.datetime):
        return obj.isoformat()
    if isinstance(obj, _dt.date):
        return obj.isoformat()
    if isinstance(obj, _dt.timedelta):
        return V.timespan_text(obj)
    if isinstance(obj, PSSecureString):
        return SECURE_STRING
    if isinstance(obj, PSCredential):
        return {"UserName": obj.UserName, "Password": SECURE_STRING,
                "PSTypeNames": list(obj.PSObject.type_names)}
    if isinstance(obj, ErrorRecord):
        return error_to_json(obj)
    if isinstance(obj, dict):
        return {V.to_text(k): to_json(v) for k, v in obj.items()}
    if V.is_collection(obj):
        return [to_json(v) for v in obj]
    if isinstance(obj, (bytes, bytearray)):
        return list(obj)
    if isinstance(obj, PSObject):
        props = V.properties(obj)
        if not props and not isinstance(obj, PSCustomObject):
            return V.to_text(obj)
        out: dict[str, JsonValue] = {name: to_json(value) for name, value in props}
        out["PSTypeNames"] = list(obj.PSObject.type_names)
        return out
    return str(obj)
