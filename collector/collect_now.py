"""Help + Support "Collect logs now" (1907-1910): a 1 to 4 hour window of the last seven days, in a
time zone the operator picks, uploaded to the blob container of a SAS URL (the one Microsoft
support gives).

    req = CollectNowRequest(from_date="2026-11-25T08:00", to_date="2026-11-25T10:00",
                            time_zone="Pacific Standard Time", sas_url=url)
    valid = validate(req, now)               # pure: CollectNowError(code, message, field) or a ValidCollectNow
    check_destination(valid, env)            # the SAS's real pre-flight: a marker block staged and read back
    plan = collection_plan(valid, stamp)     # the engine's CollectionRequest, the Destination, Origin(manual)
    Engine(env).run(plan.request, open_sink(plan.destination, env), reporter, stop, plan.origin)

The rules, in the order they are checked, each with its own code (the portal's texts are not
documented; these are ours, docs/help-support.md lists them):

| code | when |
|---|---|
| MissingValue | fromDate, toDate, timeZone or sasUrl absent or empty |
| InvalidDate | a date that is not ISO 8601 (`2026-11-25T08:00`, seconds and an offset allowed) |
| UnknownTimeZone | neither an IANA name (`Europe/Berlin`, `UTC`) nor a Windows name (`Pacific Standard Time`) |
| EndBeforeStart | the end is not after the start |
| WindowTooShort | less than 1 hour |
| WindowTooLong | more than 4 hours |
| WindowTooOld | the start is more than seven days ago |
| WindowInFuture | the end is later than now (a minute of clock skew allowed) |
| InvalidSasUri, SasUriExpired, SasUriNotYetValid, SasUriPermissionDenied | the SAS checked offline (collector.sas) |
| SasUriAuthenticationFailed, ContainerNotFound, DestinationUnreachable, ... | the real pre-flight write |

A date without an offset is a wall-clock time in the chosen zone; one with an offset is taken as
given (the zone then only names how it was shown).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from collector.commands import COLLECT_NOW_COMMAND
from collector.destination import AsTyped, Destination, collection_request
from collector.errors import DestinationError
from collector.history import CollectionType, Origin
from collector.plan import CollectionRequest
from collector.sas import SasUriError, parse_sas_url
from collector.settings import EngineEnv
from collector.window import Window, fmt

COMMAND = COLLECT_NOW_COMMAND
MIN_WINDOW = timedelta(hours=1)
MAX_WINDOW = timedelta(hours=4)
MAX_AGE = timedelta(days=7)
CLOCK_SKEW = timedelta(minutes=1)

# Windows time zone names (what the Azure Stack Hub portal lists) -> IANA, from CLDR's windowsZones
# (the "001" territory of each). The common ones; any IANA name works as well.
WINDOWS_ZONES: dict[str, str] = {
    "Dateline Standard Time": "Etc/GMT+12", "UTC-11": "Etc/GMT+11", "Hawaiian Standard Time": "Pacific/Honolulu",
    "Alaskan Standard Time": "America/Anchorage", "Pacific Standard Time": "America/Los_Angeles",
    "Pacific Standard Time (Mexico)": "America/Tijuana", "US Mountain Standard Time": "America/Phoenix",
    "Mountain Standard Time": "America/Denver", "Central America Standard Time": "America/Guatemala",
    "Central Standard Time": "America/Chicago", "Central Standard Time (Mexico)": "America/Mexico_City",
    "Canada Central Standard Time": "America/Regina", "SA Pacific Standard Time": "America/Bogota",
    "Eastern Standard Time": "America/New_York", "US Eastern Standard Time": "America/Indianapolis",
    "Atlantic Standard Time": "America/Halifax", "Venezuela Standard Time": "America/Caracas",
    "Newfoundland Standard Time": "America/St_Johns", "E. South America Standard Time": "America/Sao_Paulo",
    "Argentina Standard Time": "America/Buenos_Aires", "SA Eastern Standard Time": "America/Cayenne",
    "Greenland Standard Time": "America/Godthab", "UTC-02": "Etc/GMT+2", "Azores Standard Time": "Atlantic/Azores",
    "Cape Verde Standard Time": "Atlantic/Cape_Verde", "UTC": "Etc/UTC", "Coordinated Universal Time": "Etc/UTC",
    "GMT Standard Time": "Europe/London", "Greenwich Standard Time": "Atlantic/Reykjavik",
    "W. Europe Standard Time": "Europe/Berlin", "Central Europe Standard Time": "Europe/Budapest",
    "Romance Standard Time": "Europe/Paris", "Central European Standard Time": "Europe/Warsaw",
    "W. Central Africa Standard Time": "Africa/Lagos", "GTB Standard Time": "Europe/Bucharest",
    "E. Europe Standard Time": "Europe/Chisinau", "Egypt Standard Time": "Africa/Cairo",
    "South Africa Standard Time": "Africa/Johannesburg", "FLE Standard Time": "Europe/Kiev",
    "Israel Standard Time": "Asia/Jerusalem", "Turkey Standard Time": "Europe/Istanbul",
    "Arabic Standard Time": "Asia/Baghdad", "Arab Standard Time": "Asia/Riyadh",
    "Russian Standard Time": "Europe/Moscow", "E. Africa Standard Time": "Africa/Nairobi",
    "Iran Standard Time": "Asia/Tehran", "Arabian Standard Time": "Asia/Dubai",
    "Afghanistan Standard Time": "Asia/Kabul", "Pakistan Standard Time": "Asia/Karachi",
    "West Asia Standard Time": "Asia/Tashkent", "India Standard Time": "Asia/Calcutta",
    "Sri Lanka Standard Time": "Asia/Colombo", "Nepal Standard Time": "Asia/Katmandu",
    "Central Asia Standard Time": "Asia/Almaty", "Bangladesh Standard Time": "Asia/Dhaka",
    "Myanmar Standard Time": "Asia/Rangoon", "SE Asia Standard Time": "Asia/Bangkok",
    "China Standard Time": "Asia/Shanghai", "Singapore Standard Time": "Asia/Singapore",
    "Taipei Standard Time": "Asia/Taipei", "W. Australia Standard Time": "Australia/Perth",
    "Tokyo Standard Time": "Asia/Tokyo", "Korea Standard Time": "Asia/Seoul",
    "Cen. Australia Standard Time": "Australia/Adelaide", "AUS Central Standard Time": "Australia/Darwin",
    "E. Australia Standard Time": "Australia/Brisbane", "AUS Eastern Standard Time": "Australia/Sydney",
    "Tasmania Standard Time": "Australia/Hobart", "West Pacific Standard Time": "Pacific/Port_Moresby",
    "Central Pacific Standard Time": "Pacific/Guadalcanal", "New Zealand Standard Time": "Pacific/Auckland",
    "Fiji Standard Time": "Pacific/Fiji", "Tonga Standard Time": "Pacific/Tongatapu",
}
_WINDOWS_BY_FOLDED = {k.casefold(): v for k, v in WINDOWS_ZONES.items()}


class CollectNowError(ValueError):
    """A "Collect logs now" request refused: `code` for programs, `message` for people, `field` the
    request field at fault (fromDate, toDate, timeZone, sasUrl)."""

    def __init__(self, code: str, message: str, field: str | None = None):
        super().__init__(message)
        self.code, self.message, self.field = code, message, field

    def as_json(self) -> dict[str, dict[str, str | None]]:
        return {"error": {"code": self.code, "message": self.message, "field": self.field}}


@dataclass(frozen=True)
class CollectNowRequest:
    from_date: str | datetime | None
    to_date: str | datetime | None
    time_zone: str | None
    sas_url: str | None

    @classmethod
    def from_json(cls, body: object) -> CollectNowRequest:
        """The API's body `{"fromDate", "toDate", "timeZone", "sasUrl"}`."""
        if not isinstance(body, dict):
            raise CollectNowError("InvalidRequest", "The request must be a JSON object with fromDate, toDate, timeZone "
                                  "and sasUrl.")

        def text(name: str) -> str | None:
            v = body.get(name)
            if v is not None and not isinstance(v, str):
                raise CollectNowError("InvalidRequest", f"{name} must be a string.", name)
            return v

        return cls(text("fromDate"), text("toDate"), text("timeZone"), text("sasUrl"))


@dataclass(frozen=True)
class ValidCollectNow:
    window: Window
    time_zone: str       # as given
    zone: ZoneInfo
    sas_url: str         # a secret: never print it (common.redact)


@dataclass(frozen=True)
class CollectNowPlan:
    request: CollectionRequest
    destination: Destination
    origin: Origin


def zone_of(name: str) -> ZoneInfo:
    """The zone of an IANA or Windows time zone name. Raises CollectNowError (UnknownTimeZone)."""
    key = name.strip()
    iana = _WINDOWS_BY_FOLDED.get(key.casefold(), key)
    if iana and not iana.startswith(("/", ".")) and ".." not in iana:
        try:
            return ZoneInfo(iana)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            pass
    raise CollectNowError("UnknownTimeZone", f"The time zone '{key[:100]}' is not known. Use an IANA name such as "
                          "'Europe/Berlin' or a Windows name such as 'Pacific Standard Time'.", "timeZone")


def _date(value: str | datetime, field: str, zone: ZoneInfo) -> datetime:
    if isinstance(value, datetime):
        t = value
    else:
        try:
            t = datetime.fromisoformat(value.strip().replace("z", "Z"))
        except ValueError:
            raise CollectNowError("InvalidDate", f"{field} '{value[:100]}' is not a date and time such as "
                                  "2026-11-25T08:00.", field) from None
    if t.tzinfo is None:
        t = t.replace(tzinfo=zone)
    return t.astimezone(timezone.utc)


def _hours(d: timedelta) -> str:
    minutes = int(d.total_seconds() // 60)
    h, m = divmod(abs(minutes), 60)
    return f"{'-' if minutes < 0 else ''}{h} h {m:02d} min"


def validate(req: CollectNowRequest, now: datetime | None = None) -> ValidCollectNow:
    """Check a request (module docstring: the rules in order). Pure: the SAS is checked offline only."""
    now = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    for name, value in (("fromDate", req.from_date), ("toDate", req.to_date), ("timeZone", req.time_zone),
                        ("sasUrl", req.sas_url)):
        if value is None or (isinstance(value, str) and not value.strip()):
            raise CollectNowError("MissingValue", f"{name} is required.", name)
    assert req.from_date is not None and req.to_date is not None and req.time_zone and req.sas_url
    zone = zone_of(req.time_zone)
    start = _date(req.from_date, "fromDate", zone)
    end = _date(req.to_date, "toDate", zone)
    span = end - start
    if end <= start:
        raise CollectNowError("EndBeforeStart", f"The end time ({fmt(end)} UTC) must be after the start time "
                              f"({fmt(start)} UTC).", "toDate")
    if span < MIN_WINDOW:
        raise CollectNowError("WindowTooShort", f"The time range is {_hours(span)}: it must be at least 1 hour.", "toDate")
    if span > MAX_WINDOW:
        raise CollectNowError("WindowTooLong", f"The time range is {_hours(span)}: it must be at most 4 hours.", "toDate")
    if start < now - MAX_AGE:
        raise CollectNowError("WindowTooOld", f"The start time ({fmt(start)} UTC) is more than seven days ago: logs "
                              "can be collected from the last seven days only.", "fromDate")
    if end > now + CLOCK_SKEW:
        raise CollectNowError("WindowInFuture", f"The end time ({fmt(end)} UTC) is in the future (now {fmt(now)} UTC): "
                              "choose a range that has already passed.", "toDate")
    try:
        parse_sas_url(req.sas_url).check("rwl", now)
    except SasUriError as e:
        raise CollectNowError(e.error_id, e.message, "sasUrl") from None
    return ValidCollectNow(Window(start, end), req.time_zone.strip(), zone, req.sas_url.strip())


def check_destination(valid: ValidCollectNow, env: EngineEnv) -> None:
    """The real pre-flight of the SAS (collector.sinks.blob: a marker block staged, read back, a
    listing), before any collection is queued. Raises CollectNowError with the sink's code."""
    from collector.sinks.blob import BlobSink

    sink = BlobSink(valid.sas_url, env)
    try:
        sink.preflight()
    except DestinationError as e:
        raise CollectNowError(e.error_id, e.message, "sasUrl") from None
    finally:
        sink.close()


def collection_plan(valid: ValidCollectNow, stamp: str, *, user: str = "", row_id: str | None = None,
                    correlation_id: str | None = None) -> CollectNowPlan:
    """What to hand Engine.run: the request (all roles, the window, resumable: the same window to the
    same container again continues), the container destination and a manual Origin."""
    dest = Destination.container(valid.sas_url)
    typed = AsTyped(from_date=valid.window.from_utc.isoformat(), to_date=valid.window.to_utc.isoformat())
    req = collection_request(COMMAND, stamp, valid.window, typed, dest, user=user)
    return CollectNowPlan(req, dest, Origin(CollectionType.MANUAL, row_id=row_id, correlation_id=correlation_id))
