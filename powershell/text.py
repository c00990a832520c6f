"""The one value-to-text rule: how Windows PowerShell 5.1 turns a value into text.

Two entry points, one rule; they differ only where PowerShell itself differs:

``to_string(value)``
    PowerShell's conversion to ``[string]``: a ``[string]`` cast, string expansion (``"$x"``), an
    argument bound to a string parameter, the transcript's copy of a typed argument. Invariant
    culture (LanguagePrimitives.ConvertTo uses CultureInfo.InvariantCulture); a collection is
    enumerated and its items joined with ``$OFS`` (a space), as ``"$a"`` shows it; a collection
    inside the collection is not enumerated again (``"$(1,(2,3))"`` is ``1 System.Object[]``).

``to_display(value)``
    The value's own ``ToString()`` under the session's culture, en-US on the PEP: what a format
    view (table cell, list value, a bare value written by Out-Default) shows and how an error
    message quotes a value (``Cannot convert value "..."``). No enumeration: a collection is its
    type name, ``System.Object[]``.

They agree on everything but DateTime and collections:

===================  ==========================  ==========================
value                to_string                   to_display
===================  ==========================  ==========================
DateTime             ``11/25/2026 08:00:00``     ``11/25/2026 8:00:00 AM``
``@(1, 'a')``        ``1 a``                     ``System.Object[]``
===================  ==========================  ==========================

Everything else is the same in both: ``$null`` is empty; Booleans ``True``/``False``; integers
as integers; a Double as .NET Framework's Double.ToString() ("G", 15 significant digits, which is
what 5.1 prints: ``1E+20``, ``1.5``, ``0.1``, ``0.3`` for 0.1+0.2, ``2.77555756156289E-17``,
``NaN``, ``Infinity``, ``-Infinity``); a Single with 7 digits; a Decimal as given (``1.50``);
TimeSpan as ``[-][d.]hh:mm:ss[.fffffff]`` (``1.00:00:01``, ``00:00:01.0005000``); an enum value
its name; SecureString ``System.Security.SecureString``; PSCredential
``System.Management.Automation.PSCredential``; a hashtable ``System.Collections.Hashtable``; a
PSCustomObject ``@{Name=value; Other=value}`` (values by the same rule).

Not the rule, but views of it: Out-Default's long form of a bare DateTime
(``long_datetime``: ``Wednesday, November 25, 2026 8:00:00 AM``), a table cell's ``{a, b, c, d...}``
(powershell/formatting/values.py), JSON (powershell/formatting/jsonify.py).

This module imports nothing first-party but the psrpcore adapter (a leaf): every floor above may use it.
"""
from __future__ import annotations

import datetime as _dt
import enum
import math
from decimal import Decimal
from typing import Any, TypeGuard

from psrpcore.types import PSChar, PSCredential, PSCustomObject, PSObject, PSSecureString, PSSingle

# The ToString a psrpcore object carries explicitly (deserialized objects, or set by a cmdlet): a
# private part of psrpcore, read in its adapter only (docs/design.md, house rule 10).
from powershell.psrpcore_adapter import explicit_to_string as explicit_to_string

SECURE_STRING = "System.Security.SecureString"
CREDENTIAL = "System.Management.Automation.PSCredential"
HASHTABLE = "System.Collections.Hashtable"
OBJECT_ARRAY = "System.Object[]"
OFS = " "  # $OFS, the separator of an array converted to a string


# -- numbers -------------------------------------------------------------------------------------

def _general(value: float, digits: int) -> str:
    """.NET's "G<digits>" format in the invariant culture (NaN/Infinity spelled as .NET does)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    text = format(value, f".{digits}g")  # same switch to exponent form as .NET: exp < -4 or exp >= digits
    if "e" in text:
        mantissa, exp = text.split("e")
        text = f"{mantissa}E{exp[0]}{exp[1:].rjust(2, '0')}"
    return "0" if text == "-0" else text


def double_text(value: float) -> str:
    """Double.ToString() on .NET Framework (Windows PowerShell 5.1): 15 significant digits."""
    return _general(float(value), 15)


def single_text(value: float) -> str:
    """Single.ToString() on .NET Framework: 7 significant digits."""
    return _general(float(value), 7)


def decimal_text(value: Decimal) -> str:
    """Decimal.ToString(): the digits as given, never an exponent ([decimal]'1.50' is 1.50)."""
    if not value.is_finite():
        return str(value)
    return format(value, "f")


def int_text(value: int) -> str:
    try:
        return int.__repr__(int(value))
    except ValueError:  # past Python's str() digit limit; no .NET integer is that long
        return "System.Numerics.BigInteger"


# -- dates and durations -------------------------------------------------------------------------

def _as_datetime(value: _dt.date) -> _dt.datetime:
    return value if isinstance(value, _dt.datetime) else _dt.datetime(value.year, value.month, value.day)


def invariant_datetime(value: _dt.date) -> str:
    """DateTime in the invariant culture, as [string] and "$d" give it: 'MM/dd/yyyy HH:mm:ss'."""
    d = _as_datetime(value)
    return f"{d.month:02d}/{d.day:02d}/{d.year:04d} {d.hour:02d}:{d.minute:02d}:{d.second:02d}"


def general_datetime(value: _dt.date) -> str:
    """DateTime.ToString() in en-US: 'M/d/yyyy h:mm:ss tt' (a table cell, a list value, a message)."""
    d = _as_datetime(value)
    hour = d.hour % 12 or 12
    ampm = "AM" if d.hour < 12 else "PM"
    return f"{d.month}/{d.day}/{d.year} {hour}:{d.minute:02d}:{d.second:02d} {ampm}"


_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December")


def long_datetime(value: _dt.date) -> str:
    """What Out-Default prints for a bare DateTime in en-US: 'dddd, MMMM d, yyyy h:mm:ss tt'."""
    d = _as_datetime(value)
    hour = d.hour % 12 or 12
    ampm = "AM" if d.hour < 12 else "PM"
    return (f"{_DAYS[d.weekday()]}, {_MONTHS[d.month - 1]} {d.day}, {d.year} "
            f"{hour}:{d.minute:02d}:{d.second:02d} {ampm}")


def timespan_text(value: _dt.timedelta) -> str:
    """TimeSpan.ToString(): [-][d.]hh:mm:ss[.fffffff] (same in every culture)."""
    ticks = (value.days * 86400 + value.seconds) * 10_000_000 + value.microseconds * 10
    sign = "-" if ticks < 0 else ""
    ticks = abs(ticks)
    seconds, frac = divmod(ticks, 10_000_000)
    minutes, sec = divmod(seconds, 60)
    hours, minute = divmod(minutes, 60)
    days, hour = divmod(hours, 24)
    text = f"{sign}{f'{days}.' if days else ''}{hour:02d}:{minute:02d}:{sec:02d}"
    return text + (f".{frac:07d}" if frac else "")


# -- objects -------------------------------------------------------------------------------------

def is_collection(value: Any) -> TypeGuard[list[Any] | tuple[Any, ...] | set[Any] | frozenset[Any]]:
    return isinstance(value, (list, tuple, set, frozenset))


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


def _text(value: Any, culture: bool, enumerate_top: bool) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, enum.Enum):
        return str(value.name)
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, PSChar):
        return chr(int(value))
    if isinstance(value, PSSingle):
        return single_text(value)
    if isinstance(value, float):
        return double_text(value)
    if isinstance(value, int):
        return int_text(value)
    if isinstance(value, Decimal):
        return decimal_text(value)
    if isinstance(value, _dt.date):
        return general_datetime(value) if culture else invariant_datetime(value)
    if isinstance(value, _dt.timedelta):
        return timespan_text(value)
    if isinstance(value, PSSecureString):
        return SECURE_STRING
    if isinstance(value, PSCredential):
        return CREDENTIAL
    if isinstance(value, dict):
        return HASHTABLE
    if is_collection(value):
        if not enumerate_top:
            return OBJECT_ARRAY
        return OFS.join(_text(v, culture, False) for v in value)
    if isinstance(value, PSObject):
        explicit = explicit_to_string(value)
        if explicit is not None:
            return explicit
        if isinstance(value, PSCustomObject):
            parts = [f"{name}={_text(val, culture, False)}" for name, val in properties(value)]
            return "@{" + "; ".join(parts) + "}"
        text = value.PSObject.to_string
        if text is not None:
            return text
        return value.PSObject.type_names[0] if value.PSObject.type_names else type(value).__name__
    return str(value)


def to_string(value: Any) -> str:
    """PowerShell's conversion of a value to [string] (invariant culture; arrays joined by $OFS)."""
    return _text(value, culture=False, enumerate_top=True)


def to_display(value: Any) -> str:
    """The value's ToString() in the en-US session culture (format views, values quoted in messages)."""
    return _text(value, culture=True, enumerate_top=False)
