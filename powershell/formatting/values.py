"""How one value reads in a format view: the one value-to-text rule (powershell/text.py, display
form: ToString() under en-US, PowerShell 5.1's culture on the PEP) and the views' own shapes on top
of it (a cell's {a, b, c, d...})."""
from __future__ import annotations

import enum
from typing import Any

from psrpcore.types import PSObject

from powershell.text import (  # re-exported (__all__): the views and jsonify use them through V.
    double_text,
    explicit_to_string,
    general_datetime,
    invariant_datetime,
    is_collection,
    long_datetime,
    properties,
    timespan_text,
    to_display,
    to_string,
)

__all__ = [
    "ENUMERATION_LIMIT",
    "cell_text",
    "custom_object_text",
    "double_text",
    "explicit_to_string",
    "general_datetime",
    "invariant_datetime",
    "is_collection",
    "is_numeric",
    "long_datetime",
    "properties",
    "property_value",
    "timespan_text",
    "to_display",
    "to_string",
    "to_text",
]

# $FormatEnumerationLimit: how many items of a collection a cell shows before "...".
ENUMERATION_LIMIT = 4


def is_numeric(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, (bool, enum.Enum))


def custom_object_text(obj: PSObject) -> str:
    """PSCustomObject.ToString(): '@{Name=value; Other=value}'."""
    return to_display(obj)


def to_text(value: Any) -> str:
    """ToString() of one value (no enumeration of collections): the one rule's display form."""
    return to_display(value)


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
