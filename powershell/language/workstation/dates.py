"""System.DateTime as operators' scripts use it, over Python datetimes, in the en-US culture.

A datetime with a tzinfo is a Local or Utc DateTime (Kind), a naive one is Unspecified and, like
.NET, is taken as local time when converted. Formatting follows .NET's standard and custom format
strings ("yyyyMMdd-HHmm", "o", "u", "G", ...).
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December")

# en-US standard format strings, as custom patterns
_STANDARD = {
    "d": "M/d/yyyy", "D": "dddd, MMMM d, yyyy", "f": "dddd, MMMM d, yyyy h:mm tt",
    "F": "dddd, MMMM d, yyyy h:mm:ss tt", "g": "M/d/yyyy h:mm tt", "G": "M/d/yyyy h:mm:ss tt",
    "m": "MMMM d", "M": "MMMM d", "t": "h:mm tt", "T": "h:mm:ss tt", "y": "MMMM yyyy", "Y": "MMMM yyyy",
    "s": "yyyy'-'MM'-'dd'T'HH':'mm':'ss",
}

_TOKEN = re.compile(r"(d{1,4}|f{1,7}|F{1,7}|g{1,2}|h{1,2}|H{1,2}|K|m{1,2}|M{1,4}|s{1,2}|t{1,2}|y{1,5}|z{1,3}|:|/"
                    r"|'[^']*'?|\"[^\"]*\"?|\\.|%.|.)", re.S)


def now_local() -> datetime:
    return datetime.now().astimezone()


def now_utc() -> datetime:
    return datetime.now(timezone.utc)


def kind(value: datetime) -> str:
    if value.tzinfo is None:
        return "Unspecified"
    return "Utc" if value.utcoffset() == timedelta(0) and value.tzinfo is timezone.utc else "Local"


def to_universal(value: datetime) -> datetime:
    return value.astimezone(timezone.utc)  # naive counts as local, as in .NET


def to_local(value: datetime) -> datetime:
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)  # .NET: Unspecified is taken as UTC by ToLocalTime
    return value.astimezone()


def comparable(value: datetime) -> datetime:
    """An aware datetime, so Local, Utc and Unspecified values compare (naive counts as local)."""
    return value if value.tzinfo is not None else value.astimezone()


def round_trip(value: datetime) -> str:
    """.NET's round-trip form, as CLIXML carries it: 2026-11-25T08:00:00.1234560+01:00, 'Z' for UTC,
    no zone for Unspecified; the fraction only when there is one."""
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    if value.microsecond:
        text += f".{value.microsecond:06d}0"
    if value.tzinfo is None:
        return text
    if kind(value) == "Utc":
        return text + "Z"
    return text + _offset(value, colon=True)


def add_months(value: datetime, months: int) -> datetime:
    total = value.month - 1 + months
    year, month = value.year + total // 12, total % 12 + 1
    for day in (value.day, 30, 29, 28):
        try:
            return value.replace(year=year, month=month, day=day)
        except ValueError:
            continue
    raise ValueError("The added or subtracted value results in an un-representable DateTime.")


def dotnet_format(value: datetime, fmt: str | None = None) -> str:
    """DateTime.ToString(format) in en-US."""
    if not fmt:
        fmt = "G"
    if len(fmt) == 1:
        if fmt in ("o", "O"):
            text = round_trip(value)
            return text if value.microsecond else text[:19] + ".0000000" + text[19:]
        if fmt in ("r", "R"):
            return to_universal(value).strftime("%a, %d %b %Y %H:%M:%S GMT")
        if fmt == "u":
            return to_universal(value).strftime("%Y-%m-%d %H:%M:%SZ") if value.tzinfo else value.strftime(
                "%Y-%m-%d %H:%M:%SZ")
        if fmt == "U":
            return dotnet_format(to_universal(value), "F")
        if fmt not in _STANDARD:
            raise ValueError("Input string was not in a correct format.")
        fmt = _STANDARD[fmt]
    out: list[str] = []
    for tok in _TOKEN.findall(fmt):
        out.append(_token(value, tok))
    return "".join(out)


def _token(v: datetime, tok: str) -> str:
    c = tok[0]
    n = len(tok)
    if c in "'\"":
        return tok[1:-1] if len(tok) > 1 and tok[-1] == c else tok[1:]
    if c == "\\":
        return tok[1:]
    if c == "%" and n == 2:
        return _token(v, tok[1])
    if c == "d":
        return (str(v.day), f"{v.day:02d}", _DAYS[v.weekday()][:3], _DAYS[v.weekday()])[n - 1]
    if c == "M":
        return (str(v.month), f"{v.month:02d}", _MONTHS[v.month - 1][:3], _MONTHS[v.month - 1])[n - 1]
    if c == "y":
        return str(v.year % 100) if n == 1 else f"{v.year % 100:02d}" if n == 2 else str(v.year).zfill(n)
    if c == "h":
        h = v.hour % 12 or 12
        return str(h) if n == 1 else f"{h:02d}"
    if c == "H":
        return str(v.hour) if n == 1 else f"{v.hour:02d}"
    if c == "m":
        return str(v.minute) if n == 1 else f"{v.minute:02d}"
    if c == "s":
        return str(v.second) if n == 1 else f"{v.second:02d}"
    if c in "fF":
        digits = f"{v.microsecond:06d}0"[:n]
        return digits if c == "f" else digits.rstrip("0")
    if c == "t":
        ampm = "AM" if v.hour < 12 else "PM"
        return ampm[0] if n == 1 else ampm
    if c == "g":
        return "A.D."
    if c == "K":
        if v.tzinfo is None:
            return ""
        return "Z" if kind(v) == "Utc" else _offset(v, colon=True)
    if c == "z":
        off = v.utcoffset() if v.tzinfo else datetime.now().astimezone().utcoffset()
        minutes = int((off or timedelta(0)).total_seconds() // 60)
        sign = "-" if minutes < 0 else "+"
        minutes = abs(minutes)
        if n == 1:
            return f"{sign}{minutes // 60}"
        if n == 2:
            return f"{sign}{minutes // 60:02d}"
        return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"
    return tok


def _offset(v: datetime, colon: bool) -> str:
    minutes = int((v.utcoffset() or timedelta(0)).total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    minutes = abs(minutes)
    return f"{sign}{minutes // 60:02d}{':' if colon else ''}{minutes % 60:02d}"


_UFORMAT = {
    "a": "ddd", "A": "dddd", "b": "MMM", "B": "MMMM", "h": "MMM", "d": "dd", "e": "%d", "m": "MM", "y": "yy",
    "Y": "yyyy", "H": "HH", "I": "hh", "M": "mm", "S": "ss", "p": "tt", "D": "MM/dd/yy", "T": "HH:mm:ss",
    "R": "HH:mm", "F": "yyyy-MM-dd", "n": "'\n'", "t": "'\t'", "Z": "zz",
}


def uformat(value: datetime, fmt: str) -> str:
    """Get-Date -UFormat (the common specifiers; %s is seconds since the Unix epoch)."""
    out: list[str] = []
    i = 0
    while i < len(fmt):
        ch = fmt[i]
        if ch == "%" and i + 1 < len(fmt):
            spec = fmt[i + 1]
            i += 2
            if spec == "s":
                out.append(str(int(comparable(value).timestamp())))
            elif spec == "j":
                out.append(f"{value.timetuple().tm_yday:03d}")
            elif spec == "u":
                out.append(str(value.isoweekday()))
            elif spec in _UFORMAT:
                out.append(dotnet_format(value, _UFORMAT[spec]) if len(_UFORMAT[spec]) > 1 else
                           dotnet_format(value, "%" + _UFORMAT[spec]))
            else:
                out.append(spec)
            continue
        out.append(ch)
        i += 1
    return "".join(out)
