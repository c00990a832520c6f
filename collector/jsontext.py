"""JSON text that people read (manifest.json) at the speed of the C encoder.

json.dumps(indent=2) falls back to the pure-Python encoder: for a manifest listing thousands of
files that was a tenth of a second or more. Here the outer levels are laid out one key per line,
indented, and every value from `depth` down is written compactly on one line by the C encoder,
so a collected file's record is one line. json.loads reads the result as the same value.
"""
from __future__ import annotations

import json
from typing import Any

_compact = json.JSONEncoder(ensure_ascii=True, separators=(", ", ": ")).encode


def readable(value: Any, depth: int = 6, _indent: str = "") -> str:
    """`value` as JSON: dicts and lists above `depth` levels indented by two spaces per level."""
    if depth <= 0 or not isinstance(value, (dict, list)) or not value:
        return _compact(value)
    inner = _indent + "  "
    if isinstance(value, dict):
        items = [f"{inner}{_compact(str(k))}: {readable(v, depth - 1, inner)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + _indent + "}"
    return "[\n" + ",\n".join(inner + readable(v, depth - 1, inner) for v in value) + "\n" + _indent + "]"
