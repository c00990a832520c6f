"""Properties and methods of the values operators' scripts touch: DateTime (the AddHours family,
ToUniversalTime, ToString(format), ...), [datetime]'s static members, strings, hashtables, arrays,
credentials and the PSObjects cmdlets return."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from powershell.language.workstation import dates
from powershell.language.workstation.values import TypeValue, to_text
from powershell.objects import PSCredential, PSSecureString


class NoSuchMember(Exception):
    """The value has no method of that name (the caller turns it into PowerShell's MethodNotFound)."""


def _number(args: list[Any], index: int = 0) -> float:
    value = args[index]
    if isinstance(value, str):
        value = float(value)
    return float(value)


def _add(unit: str) -> Callable[[datetime, list[Any]], datetime]:
    return lambda d, a: d + timedelta(**{unit: _number(a)})


_DATETIME_METHODS: dict[str, Callable[[datetime, list[Any]], Any]] = {
    "addhours": _add("hours"),
    "adddays": _add("days"),
    "addminutes": _add("minutes"),
    "addseconds": _add("seconds"),
    "addmilliseconds": _add("milliseconds"),
    "addmonths": lambda d, a: dates.add_months(d, int(_number(a))),
    "addyears": lambda d, a: dates.add_months(d, 12 * int(_number(a))),
    "add": lambda d, a: d + a[0],
    "touniversaltime": lambda d, a: dates.to_universal(d),
    "tolocaltime": lambda d, a: dates.to_local(d),
    "tostring": lambda d, a: dates.dotnet_format(d, to_text(a[0]) if a else None),
    "toshortdatestring": lambda d, a: dates.dotnet_format(d, "d"),
    "tolongdatestring": lambda d, a: dates.dotnet_format(d, "D"),
    "toshorttimestring": lambda d, a: dates.dotnet_format(d, "t"),
    "tolongtimestring": lambda d, a: dates.dotnet_format(d, "T"),
    "toiso8601": lambda d, a: dates.round_trip(d),
    "subtract": lambda d, a: d - a[0] if isinstance(a[0], timedelta) else dates.comparable(d) - dates.comparable(a[0]),
}

_DATETIME_PROPERTIES: dict[str, Callable[[datetime], Any]] = {
    "year": lambda d: d.year, "month": lambda d: d.month, "day": lambda d: d.day, "hour": lambda d: d.hour,
    "minute": lambda d: d.minute, "second": lambda d: d.second, "millisecond": lambda d: d.microsecond // 1000,
    "date": lambda d: d.replace(hour=0, minute=0, second=0, microsecond=0),
    "dayofweek": lambda d: dates._DAYS[d.weekday()], "dayofyear": lambda d: d.timetuple().tm_yday,
    "kind": dates.kind,
    "ticks": lambda d: int((d.replace(tzinfo=None) - datetime(1, 1, 1)).total_seconds() * 10**7),
}

_STRING_METHODS: dict[str, Callable[[str, list[Any]], Any]] = {
    "toupper": lambda s, a: s.upper(),
    "tolower": lambda s, a: s.lower(),
    "trim": lambda s, a: s.strip(to_text(a[0])) if a else s.strip(),
    "trimstart": lambda s, a: s.lstrip(to_text(a[0])) if a else s.lstrip(),
    "trimend": lambda s, a: s.rstrip(to_text(a[0])) if a else s.rstrip(),
    "replace": lambda s, a: s.replace(to_text(a[0]), to_text(a[1])),
    "contains": lambda s, a: to_text(a[0]) in s,
    "startswith": lambda s, a: s.startswith(to_text(a[0])),
    "endswith": lambda s, a: s.endswith(to_text(a[0])),
    "split": lambda s, a: s.split(to_text(a[0])) if a else s.split(),
    "substring": lambda s, a: s[int(a[0]):] if len(a) == 1 else s[int(a[0]):int(a[0]) + int(a[1])],
    "tostring": lambda s, a: s,
}


def static_member(type_value: TypeValue, name: str) -> Any:
    low = name.lower()
    if low == "utcnow":
        return dates.now_utc()
    if low == "now":
        return dates.now_local()
    if low == "today":
        return dates.now_local().replace(hour=0, minute=0, second=0, microsecond=0)
    if low == "minvalue":
        return datetime(1, 1, 1)
    if low == "maxvalue":
        return datetime(9999, 12, 31, 23, 59, 59, 999999)
    raise NoSuchMember(name)


def static_method(type_value: TypeValue, name: str, args: list[Any]) -> Any:
    from powershell.binding.datetimes import parse_datetime

    low = name.lower()
    if low == "parse" and len(args) >= 1:
        return parse_datetime(to_text(args[0]))
    if low == "specifykind" and len(args) == 2:
        return args[0]
    raise NoSuchMember(name)


def get_member(value: Any, name: str) -> Any:
    """Property read; a missing property is $null, as in PowerShell without strict mode."""
    low = name.lower()
    if isinstance(value, datetime) and low in _DATETIME_PROPERTIES:
        return _DATETIME_PROPERTIES[low](value)
    if isinstance(value, dict):
        for key, item in value.items():
            if str(key).lower() == low:
                return item
        if low == "count":
            return len(value)
        if low == "keys":
            return list(value.keys())
        if low == "values":
            return list(value.values())
        return None
    if isinstance(value, (list, tuple)):
        if low in ("count", "length"):
            return len(value)
        found = [get_member(v, name) for v in value]  # member enumeration
        found = [v for v in found if v is not None]
        return found[0] if len(found) == 1 else (found or None)
    if isinstance(value, str):
        return len(value) if low == "length" else None
    if isinstance(value, timedelta):
        return {"totalhours": value.total_seconds() / 3600, "totalminutes": value.total_seconds() / 60,
                "totalseconds": value.total_seconds(), "totaldays": value.total_seconds() / 86400,
                "days": value.days}.get(low)
    if isinstance(value, PSCredential):
        return {"username": value.UserName, "password": value.Password}.get(low)
    if isinstance(value, PSSecureString):
        return {"length": len(str(value.decrypt()))}.get(low)
    props = getattr(value, "PSObject", None)
    if props is not None:
        for prop in list(props.adapted_properties) + list(props.extended_properties):
            if prop.name.lower() == low:
                return prop.get_value(value)
        return None
    return None


def call_method(value: Any, name: str, args: list[Any]) -> Any:
    low = name.lower()
    if isinstance(value, datetime) and low in _DATETIME_METHODS:
        return _DATETIME_METHODS[low](value, args)
    if isinstance(value, str) and low in _STRING_METHODS:
        return _STRING_METHODS[low](value, args)
    if isinstance(value, PSCredential) and low == "getnetworkcredential":
        return {"UserName": value.UserName, "Password": str(value.Password.decrypt())}
    if low == "tostring" and not args:
        return to_text(value)
    if isinstance(value, dict) and low == "containskey":
        return any(str(k).lower() == to_text(args[0]).lower() for k in value)
    raise NoSuchMember(name)
