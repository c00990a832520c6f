"""Timestamp formats found in Azure Stack Hub text logs: how the generator writes them and how the
engine reads a file's first record time. One table, so writer and reader cannot drift apart.

All text-log timestamps are in the stamp's time zone, which is UTC on every stamp we model.
"""
from __future__ import annotations

import re
from datetime import datetime, timezone

# name -> (regex that finds the timestamp in a line, how to build the datetime from the groups)
_PATTERNS: dict[str, re.Pattern[str]] = {
    # 2026-11-25T08:00:00.123Z  (ISO 8601, most services)
    "iso": re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,7}))?Z?"),
    # 11/25/2026 08:00:00.123  (en-US, ECE / deployment logs)
    "us": re.compile(r"(\d{2})/(\d{2})/(\d{4}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,7}))?"),
    # 2026-11-25 08:00:00  (W3C extended log, IIS: "date time" fields)
    "w3c": re.compile(r"(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})"),
    # 00000a1c.00001b2c::2026/11/25-08:00:00.123  (failover cluster log)
    "cluster": re.compile(r"(\d{4})/(\d{2})/(\d{2})-(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,7}))?"),
}
FORMATS = tuple(_PATTERNS)


def _build(fmt: str, g: tuple[str | None, ...]) -> datetime:
    if fmt == "us":
        mo, d, y, h, mi, s, frac = g
    elif fmt == "w3c":
        y, mo, d, h, mi, s = g
        frac = None
    else:
        y, mo, d, h, mi, s, frac = g
    us = int((frac or "0").ljust(6, "0")[:6])
    return datetime(int(y or 0), int(mo or 0), int(d or 0), int(h or 0), int(mi or 0), int(s or 0), us,
                    tzinfo=timezone.utc)


# One search for all formats: at each position the alternatives are tried in table order, so the
# leftmost timestamp wins and, at the same position, the format listed first (as four searches would).
_ANY = re.compile("|".join(f"(?P<{fmt}>{rx.pattern})" for fmt, rx in _PATTERNS.items()))
_GROUPS = {fmt: (_ANY.groupindex[fmt] + 1, _ANY.groupindex[fmt] + 1 + rx.groups) for fmt, rx in _PATTERNS.items()}


def parse_line(line: str) -> datetime | None:
    """The first timestamp of any known format at the start of a record line, else None."""
    m = _ANY.search(line, 0, 120)
    if m is None:
        return None
    fmt = m.lastgroup
    assert fmt is not None
    lo, hi = _GROUPS[fmt]
    try:
        return _build(fmt, m.groups()[lo - 1:hi - 1])
    except ValueError:
        return None


def first_record_time(head: bytes) -> datetime | None:
    """First record time of a text log from its first bytes: W3C `#` directives and blank lines are
    skipped; only the first few record lines are looked at."""
    text = head.decode("utf-8", "replace")
    seen = 0
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        ts = parse_line(line)
        if ts is not None:
            return ts
        seen += 1
        if seen >= 5:
            break
    return None


def stamp_prefix(fmt: str, t: datetime) -> str:
    """The timestamp text a line of `fmt` starts with (milliseconds, UTC)."""
    ms = t.microsecond // 1000
    if fmt == "iso":
        return f"{t:%Y-%m-%dT%H:%M:%S}.{ms:03d}Z"
    if fmt == "us":
        return f"{t:%m/%d/%Y %H:%M:%S}.{ms:03d}"
    if fmt == "w3c":
        return f"{t:%Y-%m-%d %H:%M:%S}"
    if fmt == "cluster":
        return f"{t:%Y/%m/%d-%H:%M:%S}.{ms:03d}"
    raise ValueError(fmt)
