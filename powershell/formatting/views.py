"""Out-Default's views: tables and lists, the way Windows PowerShell 5.1 lays them out.

Types without registered format data get PowerShell's default: a table for at most 4 properties,
a list for 5 or more. Cmdlets register views for their own type names with register_view.
"""
from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from psrpcore.types import ErrorRecord, InformationRecord, PSCustomObject, PSObject

from powershell.formatting import values as V

HASHTABLE_TYPE = "System.Collections.Hashtable"


@dataclass(frozen=True)
class View:
    kind: str  # "table" | "list"
    properties: tuple[str, ...]
    widths: tuple[int | None, ...] | None = None
    labels: tuple[str, ...] | None = None
    align: tuple[str, ...] | None = None  # per column "left"/"right"; registered views default left


_VIEWS: dict[str, View] = {
    # A hashtable is shown as Name/Value rows, the Name column 30 wide.
    HASHTABLE_TYPE: View("table", ("Name", "Value"), (30, None)),
}


def register_view(type_name: str, kind: str, properties: Sequence[str],
                  widths: Sequence[int | None] | None = None, labels: Sequence[str] | None = None,
                  align: Sequence[str] | None = None) -> None:
    """Register the default view of a type name (first matching PSTypeName wins).

    kind: "table" or "list"; widths: per column, None = sized to the content; labels: column
    headers when they differ from the property names."""
    if kind not in ("table", "list"):
        raise ValueError(f"view kind must be 'table' or 'list', not {kind!r}")
    if widths is not None and len(widths) != len(properties):
        raise ValueError("widths must have one entry per property")
    if labels is not None and len(labels) != len(properties):
        raise ValueError("labels must have one entry per property")
    if align is not None and (len(align) != len(properties) or set(align) - {"left", "right"}):
        raise ValueError("align must have one 'left' or 'right' per property")
    _VIEWS[type_name] = View(kind, tuple(properties), tuple(widths) if widths else None,
                             tuple(labels) if labels else None, tuple(align) if align else None)


def registered_views() -> dict[str, View]:
    """Every registered view by type name (what Get-FormatData lists)."""
    return dict(_VIEWS)


def type_names(obj: Any) -> tuple[str, ...]:
    if isinstance(obj, dict):
        return (HASHTABLE_TYPE, "System.Object")
    if isinstance(obj, PSObject):
        return tuple(obj.PSObject.type_names)
    return (type(obj).__name__,)


def view_for(obj: Any) -> View | None:
    for name in type_names(obj):
        if name in _VIEWS:
            return _VIEWS[name]
    return None


# -- classification ---------------------------------------------------------------------------------

def _is_scalar(obj: Any) -> bool:
    """Values Out-Default prints as their ToString, one per line."""
    if obj is None or isinstance(obj, (str, bool, int, float, _dt.timedelta)):
        return True
    if isinstance(obj, PSObject) and not isinstance(obj, PSCustomObject):
        # psrpcore primitives and objects with only a ToString (no properties) print as text
        return not V.properties(obj) or V.explicit_to_string(obj) is not None
    if isinstance(obj, PSCustomObject):
        return V.explicit_to_string(obj) is not None and view_for(obj) is None
    return not isinstance(obj, dict)


def _enumerate(objects: Sequence[Any]) -> list[Any]:
    flat: list[Any] = []
    for obj in objects:
        if V.is_collection(obj):
            flat.extend(_enumerate(list(obj)))
        else:
            flat.append(obj)
    return flat


# -- rendering --------------------------------------------------------------------------------------

def _fit(text: str, width: int) -> str:
    if len(text) <= width:
        return text
    return text[: width - 3] + "..." if width > 3 else text[:width]


def _one_line(text: str) -> str:
    lines = text.splitlines()
    if len(lines) > 1:
        return lines[0] + "..."
    return lines[0] if lines else ""


def _columns_for(first: Any, view: View | None) -> tuple[list[str], list[str], list[int | None]]:
    if view is not None:
        props = list(view.properties)
        labels = list(view.labels or view.properties)
        widths = list(view.widths or [None] * len(props))
    else:
        props = [name for name, _ in V.properties(first)]
        labels, widths = list(props), [None] * len(props)
    return props, labels, widths


def _rows(objs: list[Any], props: list[str]) -> list[list[Any]]:
    if objs and isinstance(objs[0], dict) and props == ["Name", "Value"]:
        return [[k, v] for obj in objs for k, v in obj.items()]
    return [[V.property_value(obj, p) for p in props] for obj in objs]


def render_table(objs: list[Any], width: int, view: View | None = None) -> list[str]:
    """Header, dashes and aligned rows; columns shrink (values cut with '...') to fit the width."""
    props, labels, fixed = _columns_for(objs[0], view)
    if not props:
        return []
    raw_rows = _rows(objs, props)
    cells = [[_one_line(V.cell_text(v)) for v in row] for row in raw_rows]
    right: list[bool] = []
    for col in range(len(props)):
        if view is not None:
            right.append(bool(view.align and view.align[col] == "right"))
            continue
        # generated tables right-align numbers, as PowerShell does without format data
        sample = next((row[col] for row in raw_rows if row[col] is not None), None)
        right.append(V.is_numeric(sample))
    widths: list[int] = []
    for col, label in enumerate(labels):
        natural = max([len(label)] + [len(row[col]) for row in cells])
        widths.append(fixed[col] or natural)
    auto = [fixed[col] is None for col in range(len(props))]
    available = max(width - 1, 10)
    # Shrink the widest auto-sized column until the row fits; then drop columns that cannot fit.
    while sum(widths) + len(widths) - 1 > available:
        candidates = [c for c in range(len(widths)) if auto[c] and widths[c] > max(len(labels[c]), 5)]
        if not candidates:
            candidates = [c for c in range(len(widths)) if widths[c] > 5]
        if candidates:
            widest = max(candidates, key=lambda c: (widths[c], c))
            widths[widest] -= 1
        elif len(widths) > 1:
            for seq in (widths, labels, right, auto):
                seq.pop()
            cells = [row[:-1] for row in cells]
        else:
            break

    def line(parts: list[str]) -> str:
        out = []
        for col, text in enumerate(parts):
            text = _fit(text, widths[col])
            out.append(text.rjust(widths[col]) if right[col] else text.ljust(widths[col]))
        return " ".join(out).rstrip()

    header = [_fit(lbl, widths[c]) for c, lbl in enumerate(labels)]
    lines = [line(header), line(["-" * len(h) for h in header])]
    lines.extend(line(row) for row in cells)
    return lines


def render_list_entry(obj: Any, width: int, view: View | None = None) -> list[str]:
    """'Name : Value' lines, names padded; long or multi-line values continue under the value."""
    if view is not None:
        labels = list(view.labels or view.properties)
        pairs = [(lbl, V.property_value(obj, p)) for lbl, p in zip(labels, view.properties, strict=False)]
    elif isinstance(obj, dict):
        pairs = [(V.to_text(k), v) for k, v in obj.items()]
    else:
        pairs = V.properties(obj)
    if not pairs:
        return []
    name_width = max(len(name) for name, _ in pairs)
    indent = " " * (name_width + 3)
    room = max(width - 1 - len(indent), 10)
    lines = []
    for name, value in pairs:
        chunks: list[str] = []
        for part in (V.cell_text(value).splitlines() or [""]):
            chunks.extend(part[i:i + room] for i in range(0, max(len(part), 1), room))
        lines.append(f"{name.ljust(name_width)} : {chunks[0]}".rstrip())
        lines.extend((indent + chunk).rstrip() for chunk in chunks[1:])
    return lines


def _kind_of(obj: Any) -> str:
    view = view_for(obj)
    if view is not None:
        return view.kind
    if isinstance(obj, dict):
        return "table"
    return "table" if len(V.properties(obj)) <= 4 else "list"


def format_output(objects: Sequence[Any], width: int = 120) -> str:
    """Render output objects as Out-Default does; returns text ending in a newline (or '')."""
    from powershell.formatting.errors import format_error

    lines: list[str] = []
    items = _enumerate(list(objects))
    i = 0
    while i < len(items):
        obj = items[i]
        if isinstance(obj, ErrorRecord):
            lines.extend(format_error(obj, width=width).splitlines())
            i += 1
            continue
        if isinstance(obj, InformationRecord):
            lines.extend(V.to_text(getattr(obj, "MessageData", "")).splitlines())
            i += 1
            continue
        if isinstance(obj, _dt.datetime):
            # DateTime has its own view: the long form, framed like any formatted object.
            lines.extend(["", V.long_datetime(obj), "", ""])
            i += 1
            continue
        if _is_scalar(obj):
            if obj is not None:
                lines.extend(V.to_text(obj).splitlines() or [""])
            i += 1
            continue
        # Consecutive objects of one type share a view, as they do in PowerShell's formatter.
        key = type_names(obj)
        group = [obj]
        j = i + 1
        while j < len(items) and not V.is_collection(items[j]) and not _is_scalar(items[j]) \
                and not isinstance(items[j], (ErrorRecord, InformationRecord, _dt.datetime)) \
                and type_names(items[j]) == key:
            group.append(items[j])
            j += 1
        view = view_for(obj)
        if _kind_of(obj) == "table":
            body = render_table(group, width, view)
            lines.extend([""] + body + ["", ""])
        else:
            lines.append("")
            for n, entry in enumerate(group):
                if n:
                    lines.append("")
                lines.extend(render_list_entry(entry, width, view))
            lines.extend(["", ""])
        i = j
    return "".join(line + "\n" for line in lines)
