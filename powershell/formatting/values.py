"""How one value reads as text, the way .NET's ToString does under en-US (PowerShell 5.1's culture
on the PEP). Used for bare values and for the cells of tables and lists."""
from __future__ import annotations

import datetime as _dt
import enum
from typing import Any

from psrpcore.types import PSCredential, PSCustomObject, PSObject, PSSecureString

# $FormatEnumerationLimit: how many items of a collection a cell shows before "...".
ENUMERATION_LIMIT = 4


def general_datetime(value: _dt.datetime) -> str:
    """DateTime.ToString() in en-US: 'M/d/yyyy h:mm:ss tt' (what a table cell shows)."""
    hour = value.hour % 12 or 12
    ampm = "AM" if value.hour < 12 else "PM"
    return f"{value.month}/{value.day}/{value.year} {hour}:{value.minute:02d}:{value.second:02d} {ampm}"


def long_datetime(value: _dt.datetime) -> str:
    """What Out-Default prints for a bare DateTime: 'dddd, MMMM d, yyyy h:mm:ss tt'."""
    hour = value.hour % 12 or 12
    ampm = "AM" if value.hour < 12 else "PM"
    return (f"{value.strftime('%A')}, {value.strftime('%B')} {value.day}, {value.year} "
            f"{hour}:{value.minute:02d}:{value.second:02d} {ampm}")


def timespan_text(value: _dt.timedelta) -> str:
    """TimeSpan.ToString(): [-][d.]hh:mm:ss[.fffffff]."""
    ticks = (value.days * 86400 + value.seconds) * 10_000_000 + value.microseconds * 10
    sign = "-" if ticks < 0 else ""
    ticks = abs(ticks)
    seconds, frac = divmod(ticks, 10_000_000)
    minutes, sec = divmod(seconds, 60)
    hours, minute = divmod(minutes, 60)
    days, hour = divmod(hours, 24)
    text = f"{sign}{f'{days}.' if days else ''}{hour:02d}:{minute:02d}:{sec:02d}"
    return text + (f".{frac:07d}" if frac else "")


def double_text(value: float) -> str:
    """Double.ToString(): up to 15 significant digits, 'E+nn' exponents, no trailing '.0'."""
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "Infinity" if value > 0 else "-Infinity"
    text = format(value, ".15g")
    if "e" in text:
        mantissa, exp = text.split("e")
        sign = exp[0]
        text = f"{mantissa}E{sign}{exp[1:].rjust(2, '0')}"
    return text


def is_numeric(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, (bool, enum.Enum))


def is_collection(value: Any) -> bool:
    return isinstance(value, (list, tuple, set, frozenset))


def custom_object_text(obj: PSObject) -> str:
    """PSCustomObject.ToString(): '@{Name=value; Other=value}'."""
    parts = [f"{name}={to_text(val)}" for name, val in properties(obj)]
    return "@{" + "; ".join(parts) + "}"


def to_text(value: Any) -> str:
    """ToString() of one value (no enumeration of collections)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, float):
        return double_text(value)
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, _dt.datetime):
        return general_datetime(value)
    if isinstance(value, _dt.timedelta):
        return timespan_text(value)
    if isinstance(value, PSSecureString):
        return "System.Security.SecureString"
    if isinstance(value, PSCredential):
        return "System.Management.Automation.PSCredential"
    if isinstance(value, dict):
        return "System.Collections.Hashtable"
    if is_collection(value):
        return "System.Object[]"
    if isinstance(value, PSObject):
        explicit = explicit_to_string(value)
        if explicit is not None:
            return explicit
        if isinstance(value, PSCustomObject):
            return custom_object_text(value)
        text = value.PSObject.to_string
        if text is not None:
            return text
        return value.PSObject.type_names[0] if value.PSObject.type_names else type(value).__name__
    return str(value)


def cell_text(value: Any) -> str:
    """A value inside a table or list cell: collections show as {a, b, c, d...}."""
    if is_collection(value):
        items = list(value)
        shown = ", ".join(to_text(v) for v in items[:ENUMERATION_LIMIT])
        return "{" + shown + ("..." if len(items) > ENUMERATION_LIMIT else "") + "}"
    if isinstance(value, dict):
        items = list(value.items())
        shown = ", ".join(f"[{to_text(k)}, {to_text(v)}]" for k, v in items[:ENUMERATION_LIMIT])
        return "{" + shown + ("..." if len(items) > ENUMERATION_LIMIT else "") + "}"
    return to_text(value)


def explicit_to_string(obj: PSObject) -> str | None:
    """The ToString a psrpcore object carries explicitly (deserialized objects, or set by a cmdlet)."""
    return getattr(obj.PSObject, "_to_string", None)


def properties(obj: PSObject) -> list[tuple[str, Any]]:
    """(name, value) of an object's properties in declaration order (adapted, then extended)."""
    meta = obj.PSObject
    out: list[tuple[str, Any]] = []
    seen: set[str] = set()
    for prop in list(meta.adapted_properties) + list(meta.extended_properties):
        if prop.name in seen:
            continue
        seen.add(prop.name)
        try:
            out.append((prop.name, prop.get_value(obj)))
        except Exception:  # a computed property that fails shows empty, as in PowerShell
            out.append((prop.name, None))
    return out


def property_value(obj: Any, name: str) -> Any:
    """One property by name (case-insensitive), None when the object has no such property."""
    if isinstance(obj, dict):
        for key, val in obj.items():
            if str(key).lower() == name.lower():
                return val
        return None
    if isinstance(obj, PSObject):
        for prop_name, val in properties(obj):
            if prop_name.lower() == name.lower():
                return val
        return None
    return getattr(obj, name, None)
