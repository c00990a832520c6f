"""The collection window: -FromDate / -ToDate resolved to UTC.

Defaults: ToDate = now, FromDate = ToDate - 4 hours. The operator docs (and Send-AzureStackDiagnosticLog)
say the last 4 hours are collected when no dates are given; the auto-generated cmdlet reference says
`(Get-Date).AddHours(-1)`. We follow the operator docs: that is what operators read and rely on.

A naive datetime is local time (PowerShell's DateTimeKind.Unspecified/Local from `Get-Date` or a
typed "11/25/2026 08:00" in an en-US session); an aware one is converted. The resolved window is
echoed to the user in UTC, as Send-DiagnosticData does, so nobody has to guess the time zone.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

DEFAULT_HOURS = 4


class WindowError(ValueError):
    pass


@dataclass(frozen=True)
class Window:
    from_utc: datetime
    to_utc: datetime

    def describe(self) -> str:
        return f"FromDate {fmt(self.from_utc)} ToDate {fmt(self.to_utc)} (UTC)"

    def as_dict(self) -> dict[str, str]:
        return {"from_utc": self.from_utc.isoformat(), "to_utc": self.to_utc.isoformat()}


_MIN = datetime.min.replace(tzinfo=timezone.utc)
_MAX = datetime.max.replace(tzinfo=timezone.utc)


def fmt(t: datetime) -> str:
    t = t.astimezone(timezone.utc)
    return f"{t.year:04d}-{t:%m-%d %H:%M:%S}"  # strftime does not pad year 1


def to_utc(value: datetime) -> datetime:
    """Like DateTime.ToUniversalTime(): a date at the very edge of the calendar clamps to
    MinValue/MaxValue instead of failing."""
    try:
        if value.tzinfo is None:
            value = value.astimezone()  # naive = local time, like a PowerShell DateTime of kind Local
        return value.astimezone(timezone.utc)
    except (OverflowError, ValueError):
        return _MIN if value.year < 5000 else _MAX


def resolve(from_date: datetime | None, to_date: datetime | None, now: datetime | None = None,
            default_hours: float = DEFAULT_HOURS) -> Window:
    """Apply the defaults and normalise to UTC. Raises WindowError when ToDate is before FromDate."""
    now = to_utc(now) if now else datetime.now(timezone.utc)
    to = to_utc(to_date) if to_date is not None else now
    if from_date is not None:
        frm = to_utc(from_date)
    else:
        frm = to - timedelta(hours=default_hours) if to - _MIN > timedelta(hours=default_hours) else _MIN
    if to < frm:
        raise WindowError(
            f"The ToDate ({fmt(to)} UTC) is earlier than the FromDate ({fmt(frm)} UTC). "
            "Specify a FromDate that is before the ToDate."
        )
    return Window(frm, to)
