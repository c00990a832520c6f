"""Convert an argument value to a parameter's type, as PowerShell's argument transformation does
for a function parameter ([datetime]$FromDate, [string[]]$FilterByRole, ...).

Failures raise ParameterBindingError(ParameterArgumentTransformationError) with the .NET cast
message inside PowerShell's "Cannot process argument transformation on parameter 'X'." text.
Script blocks are never coerced to anything (a script-block value smuggled in as an argument is
refused), so a NoLanguage runspace cannot be talked into running or storing one.
"""
from __future__ import annotations

import math
import re
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from psrpcore.types import PSCredential, PSScriptBlock, PSSecureString

from common.redact import REDACTED
from powershell.binding.datetimes import datetime_from_ticks, parse_datetime, parse_timespan
from powershell.binding.errors import ParameterBindingError
from powershell.commands import TYPES, Parameter
from powershell.limits import shorten
from powershell.objects import ps_type_name
from powershell.text import to_display, to_string

BAD_FORMAT = "Input string was not in a correct format."
_RANGES = {"int": (-2**31, 2**31 - 1, "Int32"), "long": (-2**63, 2**63 - 1, "Int64")}
_MULTIPLIERS = {"": 1, "kb": 1 << 10, "mb": 1 << 20, "gb": 1 << 30, "tb": 1 << 40, "pb": 1 << 50}
# PowerShell's string -> number conversion understands its own numeric literals: 0x10, 1kb, 1e3, 1.5.
_NUMBER = re.compile(r"([+-]?)(?:0x([0-9a-f]+)|(\d+\.?\d*(?:e[+-]?\d+)?|\.\d+(?:e[+-]?\d+)?))(kb|mb|gb|tb|pb)?")


class ConversionFailed(ValueError):
    """The .NET message of a failed cast (what follows "Cannot process argument transformation...");
    `hint` is one line for the user beyond what PowerShell says."""

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.hint = hint


# 25/11/2026: the day first, which an en-US session (the PEP's) never reads.
_DAY_FIRST = re.compile(r"\s*(1[3-9]|2\d|3[01])[/.-](0?[1-9]|1[0-2])[/.-](\d{4})\b")


def _day_first_hint(text: str) -> str | None:
    m = _DAY_FIRST.match(text)
    if not m:
        return None
    day, month, year = int(m[1]), int(m[2]), m[3]
    return (f"The PEP session reads dates the en-US way, month first: write {month}/{day}/{year} "
            f"(or ISO 8601, {year}-{month:02d}-{day:02d}).")


def convert_value(value: Any, parameter: Parameter, host: Any = None) -> Any:
    """`value` converted to `parameter.type`, or ParameterBindingError. `host` (a HostUI) is used
    only to ask for the password when a user name is given for a PSCredential parameter."""
    hint = None
    try:
        return _convert(value, parameter, host)
    except ConversionFailed as e:
        inner, hint = str(e), e.hint
    except (OverflowError, ValueError, TypeError, ArithmeticError):
        # out-of-range ticks, digit-length limits, ...: still a PowerShell error, never a traceback
        inner = _cast_message(value, TYPES.get(parameter.type, parameter.type))
    if parameter.type == "securestring" or parameter.name.lower().endswith("password"):
        # A password typed as text is never quoted back (docs/security.md, "Redaction").
        shown = shorten(ps_text(value))
        inner = inner.replace(shown, REDACTED) if shown else inner
    error = ParameterBindingError.make("ParameterArgumentTransformationError", parameter=parameter.name, inner=inner)
    error.hint = hint
    raise error


def _convert(value: Any, parameter: Parameter, host: Any) -> Any:
    kind = parameter.type
    if isinstance(value, PSScriptBlock) or (
            isinstance(value, (list, tuple)) and any(isinstance(v, PSScriptBlock) for v in value)):
        raise ConversionFailed(_cast_message(value, TYPES.get(kind, kind)))
    if kind.endswith("[]"):
        element = Parameter(parameter.name, kind[:-2]) if kind != "object[]" else None
        if value is None:
            return None
        items = list(value) if isinstance(value, (list, tuple)) else [value]
        if element is None:
            return items
        return [_convert(item, element, host) for item in items]
    converter = _CONVERTERS.get(kind)
    if converter is None:
        raise ConversionFailed(_cast_message(value, TYPES.get(kind, kind)))
    return converter(value, parameter, host)


def ps_text(value: Any) -> str:
    """A value as PowerShell's messages quote it: its ToString() in the session culture (the one
    value-to-text rule, powershell/text.py; a collection is its type name)."""
    return to_display(value)


def _cast_message(value: Any, target: str) -> str:
    return f'Cannot convert the "{shorten(ps_text(value))}" value of type "{ps_type_name(value)}" to type "{target}".'


def _inner_message(value: Any, target: str, error: str) -> str:
    return f'Cannot convert value "{shorten(ps_text(value))}" to type "{target}". Error: "{error}"'


# -- converters, one per TYPES key --------------------------------------------------------------

def _to_string(value: Any, p: Parameter, host: Any) -> Any:
    if value is None:
        return None
    # PowerShell's [string] conversion: invariant culture, an array joined with $OFS (a space).
    return to_string(value)


def _to_integer(value: Any, p: Parameter, host: Any) -> Any:
    low, high, short = _RANGES[p.type]
    target = f"System.{short}"
    if value is None:
        return None
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (int, float, Decimal)):
        number = value
    elif isinstance(value, str):
        number = _parse_number(value, target)
    else:
        raise ConversionFailed(_cast_message(value, target))
    if isinstance(number, (float, Decimal)):
        if isinstance(number, float) and not math.isfinite(number):
            raise ConversionFailed(_inner_message(value, target, f"Value was either too large or too small for an {short}."))
        number = round(number)  # .NET rounds half to even, as Python's round does
    if not low <= number <= high:
        raise ConversionFailed(_inner_message(value, target, f"Value was either too large or too small for an {short}."))
    return int(number)


def _parse_number(text: str, target: str) -> int | float:
    s = text.strip().lower()
    if s == "":
        return 0  # [int]"" is 0 in PowerShell
    m = _NUMBER.fullmatch(s)
    if m is None:
        raise ConversionFailed(_inner_message(text, target, BAD_FORMAT))
    sign, hexdigits, decimal_text, suffix = m.groups()
    if hexdigits is not None:
        number: int | float = int(hexdigits, 16)
    elif re.fullmatch(r"\d+", decimal_text):
        number = int(decimal_text)
    else:
        number = float(decimal_text)
    number *= _MULTIPLIERS[suffix or ""]
    return -number if sign == "-" else number


def _to_double(value: Any, p: Parameter, host: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float, Decimal)):
        return float(value)
    if isinstance(value, str):
        return float(_parse_number(value, "System.Double"))
    raise ConversionFailed(_cast_message(value, "System.Double"))


def _to_bool(value: Any, p: Parameter, host: Any) -> bool:
    # Boolean and switch parameters take only booleans and numbers (BooleanParameterDCR).
    if value is None:
        return False
    if isinstance(value, (bool, int, float, Decimal)):
        return bool(value)
    if isinstance(value, (list, tuple)) and len(value) == 1:
        return _to_bool(value[0], p, host)
    raise ConversionFailed(
        f'Cannot convert value "{ps_type_name(value)}" to type "{p.ps_type}". Boolean parameters accept only '
        f"Boolean values and numbers, such as $True, $False, 1 or 0.")


def _to_datetime(value: Any, p: Parameter, host: Any) -> Any:
    if value is None or isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    if isinstance(value, str):
        try:
            return parse_datetime(value)
        except ValueError as e:
            raise ConversionFailed(_inner_message(value, "System.DateTime", str(e)), _day_first_hint(value)) from None
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            return datetime_from_ticks(value)
        except ValueError as e:
            raise ConversionFailed(_inner_message(value, "System.DateTime", str(e))) from None
    raise ConversionFailed(_cast_message(value, "System.DateTime"))


def _to_timespan(value: Any, p: Parameter, host: Any) -> Any:
    if value is None or isinstance(value, timedelta):
        return value
    if isinstance(value, str):
        try:
            return parse_timespan(value)
        except ValueError as e:
            raise ConversionFailed(_inner_message(value, "System.TimeSpan", str(e))) from None
    if isinstance(value, int) and not isinstance(value, bool):
        return timedelta(microseconds=value // 10)  # ticks
    raise ConversionFailed(_cast_message(value, "System.TimeSpan"))


def _to_uri(value: Any, p: Parameter, host: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, str):
        return str(value)
    raise ConversionFailed(_cast_message(value, "System.Uri"))


NO_PROMPT = ("A command that prompts the user failed because the host program or the command type does not "
             "support user interaction. Try a host program that supports user interaction, such as the "
             "PowerShell Console, and remove prompt-related commands from command types that do not support "
             "user interaction.")


def _to_credential(value: Any, p: Parameter, host: Any) -> Any:
    if value is None or isinstance(value, PSCredential):
        return value
    if isinstance(value, str):
        # PowerShell's [Credential()] transformation: a user name prompts for the password.
        if host is None:
            raise ConversionFailed(NO_PROMPT)
        answer = host.read_line(f"Password for user {value}: ", secure=True)
        if answer is None:
            raise ConversionFailed(NO_PROMPT)
        password = answer if isinstance(answer, PSSecureString) else PSSecureString(str(answer))
        return PSCredential(UserName=str(value), Password=password)
    raise ConversionFailed(_cast_message(value, p.ps_type))


def _to_secure(value: Any, p: Parameter, host: Any) -> Any:
    if value is None or isinstance(value, PSSecureString):
        return value
    raise ConversionFailed(_cast_message(value, "System.Security.SecureString"))


def _to_hashtable(value: Any, p: Parameter, host: Any) -> Any:
    if value is None or isinstance(value, dict):
        return value
    raise ConversionFailed(_cast_message(value, "System.Collections.Hashtable"))


def _to_object(value: Any, p: Parameter, host: Any) -> Any:
    return value


def _to_pssession(value: Any, p: Parameter, host: Any) -> Any:
    """A PSSession is only ever the object New-PSSession made: nothing converts into one."""
    if value is None or TYPES["pssession"] in getattr(getattr(value, "PSObject", None), "type_names", ()):
        return value  # $null is for the validation (ValidateNotNullOrEmpty, mandatory) to refuse
    raise ConversionFailed(_cast_message(value, TYPES["pssession"]))


_CONVERTERS = {
    "string": _to_string,
    "int": _to_integer,
    "long": _to_integer,
    "double": _to_double,
    "bool": _to_bool,
    "switch": _to_bool,
    "datetime": _to_datetime,
    "timespan": _to_timespan,
    "uri": _to_uri,
    "pscredential": _to_credential,
    "securestring": _to_secure,
    "hashtable": _to_hashtable,
    "object": _to_object,
    "pssession": _to_pssession,
}
