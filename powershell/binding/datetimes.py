"""Parse DateTime and TimeSpan text the way the PEP session (culture en-US) does.

Accepted: en-US numeric dates month first (M/d/yyyy, M-d-yyyy, M.d.yyyy, two-digit years with
.NET's 2029 cut-off), month names ("November 25, 2026", "25 Nov 2026"), an optional leading weekday
as Get-Date prints it ("Wednesday, November 25, 2026 8:00:00 AM"), ISO 8601 (yyyy-MM-dd with 'T' or
space, fractions up to 7 digits), a time alone (today's date), 12- or 24-hour times. A trailing 'Z'
or +hh:mm gives a timezone-aware datetime; without one the result is naive and means local time.
Failures raise ValueError with .NET's message text.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone

NOT_A_DATETIME = "String was not recognized as a valid DateTime."
BAD_WEEKDAY = "String was not recognized as a valid DateTime because the day of week was incorrect."
NOT_A_TIMESPAN = "String was not recognized as a valid TimeSpan."

_MONTHS = {name: i for i, names in enumerate(
    [("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"), ("may",), ("june", "jun"),
     ("july", "jul"), ("august", "aug"), ("september", "sep", "sept"), ("october", "oct"),
     ("november", "nov"), ("december", "dec")], start=1) for name in names}
_WEEKDAYS = {name: i for i, names in enumerate(
    [("monday", "mon"), ("tuesday", "tue", "tues"), ("wednesday", "wed"), ("thursday", "thu", "thur", "thurs"),
     ("friday", "fri"), ("saturday", "sat"), ("sunday", "sun")]) for name in names}

_TIME = (r"(?P<hour>\d{1,2})(?::(?P<minute>\d{2})(?::(?P<second>\d{2})(?:[.,](?P<fraction>\d{1,7}))?)?)?"
         r"\s*(?P<ampm>[ap]\.?m\.?)?")
_ZONE = r"\s*(?P<zone>z|utc|gmt|[+-]\d{1,2}(?::?\d{2})?)?"
_TAIL = rf"(?:(?:\s+|t){_TIME})?{_ZONE}"
_MONTH_NAME = r"(?P<mname>[a-z]+)\.?"

_FORMS = [
    # ISO-like, year first: 2026-11-25, 2026/11/25, 2026-11-25T08:00:00.1234567+01:00
    re.compile(rf"(?P<year>\d{{4}})[-/.](?P<month>\d{{1,2}})[-/.](?P<day>\d{{1,2}}){_TAIL}"),
    # en-US, month first: 11/25/2026, 11-25-26 8:00 PM
    re.compile(rf"(?P<month>\d{{1,2}})[-/.](?P<day>\d{{1,2}})[-/.](?P<year>\d{{4}}|\d{{2}}){_TAIL}"),
    # month first without a year: 11/25 (current year)
    re.compile(rf"(?P<month>\d{{1,2}})/(?P<day>\d{{1,2}}){_TAIL}"),
    # November 25, 2026 [8:00 AM]
    re.compile(rf"{_MONTH_NAME}\s+(?P<day>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<year>\d{{4}}){_TAIL}"),
    # 25 November 2026, 25-Nov-2026
    re.compile(rf"(?P<day>\d{{1,2}})[\s-]+{_MONTH_NAME}[\s,-]+(?P<year>\d{{4}}){_TAIL}"),
    # November 2026
    re.compile(rf"{_MONTH_NAME}\s+(?P<year>\d{{4}}){_TAIL}"),
    # a time alone: 8:00, 8:00:00 PM, 8 PM
    re.compile(rf"{_TIME}{_ZONE}"),
]


def parse_datetime(text: str, *, now: datetime | None = None) -> datetime:
    s = " ".join(text.strip().lower().split())
    weekday = None
    head = re.match(r"([a-z]+)\.?,?\s+", s)
    if head and head.group(1) in _WEEKDAYS and not _is_month(head.group(1)):
        weekday = _WEEKDAYS[head.group(1)]
        s = s[head.end():]
    for form in _FORMS:
        m = form.fullmatch(s)
        if m is None:
            continue
        result = _build(m.groupdict(), now)
        if weekday is not None and result.weekday() != weekday:
            raise ValueError(BAD_WEEKDAY)
        return result
    raise ValueError(NOT_A_DATETIME)


def _is_month(word: str) -> bool:
    return word in _MONTHS


def _build(g: Mapping[str, str | None], now: datetime | None) -> datetime:
    today = (now or datetime.now()).date()
    mname, mnum, ytext, dtext = g.get("mname"), g.get("month"), g.get("year"), g.get("day")
    if mname is not None:
        named = _MONTHS.get(mname)
        if named is None:
            raise ValueError(NOT_A_DATETIME)
        month = named
    elif mnum is not None:
        month = int(mnum)
    else:
        month = today.month
    if ytext is not None:
        year = int(ytext)
        if len(ytext) == 2:  # .NET's TwoDigitYearMax 2029
            year += 2000 if year <= 29 else 1900
    else:
        year = today.year
    day = int(dtext) if dtext is not None else (1 if mname else today.day)
    if mnum is None and mname is None and dtext is None:
        year, month, day = today.year, today.month, today.day
    hour = minute = second = micro = 0
    htext, ampm = g.get("hour"), g.get("ampm")
    if htext is not None:
        if g.get("minute") is None and not ampm:
            raise ValueError(NOT_A_DATETIME)  # a bare number is not a time
        hour = int(htext)
        minute = int(g.get("minute") or 0)
        second = int(g.get("second") or 0)
        micro = int((g.get("fraction") or "0").ljust(7, "0")) // 10  # .NET ticks -> microseconds
        if ampm:
            if hour > 12:
                raise ValueError(NOT_A_DATETIME)
            pm = ampm.startswith("p")
            hour = (hour % 12) + (12 if pm else 0)
    try:
        result = datetime(year, month, day, hour, minute, second, micro)
    except ValueError:
        raise ValueError(NOT_A_DATETIME) from None
    zone = g.get("zone")
    if zone:
        result = result.replace(tzinfo=_zone(zone))
    return result


def _zone(text: str) -> timezone:
    if text in ("z", "utc", "gmt"):
        return timezone.utc
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    hours, minutes = (int(digits[:-2]), int(digits[-2:])) if len(digits) > 2 else (int(digits), 0)
    if hours > 14 or minutes > 59:
        raise ValueError(NOT_A_DATETIME)
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


_TIMESPAN = re.compile(
    r"(?P<sign>-)?(?:(?P<days>\d+)|(?:(?P<d>\d+)\.)?(?P<h>\d{1,2}):(?P<m>\d{1,2})"
    r"(?::(?P<s>\d{1,2})(?:\.(?P<f>\d{1,7}))?)?)")


def parse_timespan(text: str) -> timedelta:
    """.NET TimeSpan.Parse: [-]d or [-][d.]hh:mm[:ss[.fffffff]]."""
    m = _TIMESPAN.fullmatch(text.strip())
    if m is None:
        raise ValueError(NOT_A_TIMESPAN)
    g = m.groupdict()
    if g["days"] is not None:
        value = timedelta(days=int(g["days"]))
    else:
        h, mi, s = int(g["h"]), int(g["m"]), int(g["s"] or 0)
        if h > 23 or mi > 59 or s > 59:
            raise ValueError(NOT_A_TIMESPAN)
        ticks = int((g["f"] or "0").ljust(7, "0"))
        value = timedelta(days=int(g["d"] or 0), hours=h, minutes=mi, seconds=s, microseconds=ticks // 10)
    return -value if g["sign"] else value


def datetime_from_ticks(ticks: int) -> datetime:
    """[datetime]<integer>: .NET ticks (100 ns) since 0001-01-01."""
    try:
        return datetime(1, 1, 1) + timedelta(microseconds=ticks // 10)
    except OverflowError:
        raise ValueError("Ticks must be between DateTime.MinValue.Ticks and DateTime.MaxValue.Ticks.") from None
