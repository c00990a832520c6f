"""The one place that reaches into pypsrp's private parts (pypsrp is pinned in pyproject.toml).

* `explicit_to_string`: the `<ToString>` a deserialised pypsrp object arrived with, or None. pypsrp
  keeps it in `ComplexObject._to_string` (GenericComplexObject also has a public `to_string`), and
  `str()` of an object without one is not the remote text.
tests/test_library_adapters.py fails loudly if a new pypsrp changes this.
"""
from __future__ import annotations

from typing import Any


def explicit_to_string(obj: Any) -> str | None:
    text = getattr(obj, "_to_string", None)
    return str(text) if text else None
