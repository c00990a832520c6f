"""The one definition of "in the window" per kind of log (DESIGN rule 5). Sans-IO: works on
listings (name, size, mtime) and asks a callback for a text log's first record time.

A file is collected exactly when the span of its records [start, end] overlaps [from, to]:

  text  (.log/.txt, any folder)  start = first record time; end = last-write time. The first lines
                                  are read only when the last write is after the window's end: a
                                  file last written before the window is out, one last written
                                  within it is in (its records run up to that write), whatever its
                                  first record time. No parsable timestamp -> start unknown, the
                                  file is judged by its last-write time alone.
  etl   (ETW traces)             start = the time in the name (<Name>_<yyyyMMdd-HHmmss>.etl, as
                                  Trace Collector names them); end = the start of the next roll of the
                                  same trace, or the last-write time for the newest one.
  evtx  (event logs)             end = last-write time; start = the time in the name of the previous
                                  archive of the same channel (Archive-<channel>-<yyyy-MM-dd-HH-mm-ss-fff>.evtx
                                  is named when the log is archived, i.e. when the next file's first
                                  record arrives); the oldest file of a channel has no known start.
  dmp   (crash dumps)            a point in time: start = end = last-write time.

Log type comes from where a file lives: `Shares/` -> Share, `.evtx` -> WindowsEvent, else File.

Ruling out by name (prune_by_name), so a stamp holding weeks of rolls costs a listing, not a stat per
file: ETW rolls and event-log archives by the times in their names (the rules above, nothing more);
rolled text logs by their order alone. A rolled series (`x.log`, `x.1.log`, `x.2.log`, ... as rolling
loggers rename them; `x.<yyyyMMddHHmmss>.log`; IIS `u_ex<yyMMdd>.log`) is written one file after
another, so an older file's last write is no later than a newer one's. Once the newest-first walk meets
a file whose last-write time is before the window, every older file of the series is before it too:
those are ruled out without a stat (the oldest is stat'ed to check the order: a logger numbering the
other way round is caught there and its files are all judged). The text rule itself is unchanged.
"""
from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any

from collector.window import Window

TEXT_EXTS = (".log", ".txt")
_ETL_NAME = re.compile(r"^(?P<base>.+)_(?P<ts>\d{8}-\d{6})\.etl$", re.I)
_EVTX_ARCHIVE = re.compile(r"^Archive-(?P<ch>.+)-(?P<ts>\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}-\d{3})\.evtx$", re.I)
# Rolled text series. Roll numbers are small (at most 5 digits, no leading zero), so a 14-digit time
# in the same place is never mistaken for one: the two orders are opposite.
_ROLL_NUMBERED = re.compile(r"^(?P<base>.+)\.(?P<n>[1-9]\d{0,4})\.(?P<ext>log|txt)$", re.I)
_DATE = r"\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])"  # yyMMdd; digits that are no date are no time order
_ROLL_TIMED = re.compile(r"^(?P<base>.+)\.(?P<ts>(?:19|20)" + _DATE + r"(?:[01]\d|2[0-3])[0-5]\d[0-5]\d)\.(?P<ext>log|txt)$",
                         re.I)
_IIS_DAILY = re.compile(r"^u_ex(?P<d>" + _DATE + r")\.log$", re.I)


@dataclass(frozen=True)
class Listed:
    """One file as a directory listing shows it. `relpath` is relative to the unit folder
    (e.g. 'Logs/URP.1.log'); mtime is UTC."""

    relpath: str
    size: int
    mtime: datetime

    @property
    def name(self) -> str:
        return self.relpath.rsplit("/", 1)[-1]

    @property
    def folder(self) -> str:
        return self.relpath.rsplit("/", 1)[0] if "/" in self.relpath else ""


@dataclass(frozen=True)
class Judged:
    file: Listed
    kind: str
    log_type: str
    start: datetime | None  # None: unknown (earlier than anything)
    end: datetime
    selected: bool
    read_head: bool  # whether the decision needed the file's first lines


def kind_of(name: str) -> str:
    low = name.lower()
    if low.endswith(".etl"):
        return "etl"
    if low.endswith(".evtx"):
        return "evtx"
    if low.endswith(".dmp"):
        return "dmp"
    if low.endswith(TEXT_EXTS):
        return "text"
    return "other"


def log_type_of(f: Listed) -> str:
    if f.relpath.split("/", 1)[0].lower() == "shares":
        return "Share"
    if f.name.lower().endswith(".evtx"):
        return "WindowsEvent"
    return "File"


def _utc(y: str) -> datetime:
    # yyyyMMdd-HHmmss by slicing: strptime cost 10 us a name, most of a big stamp's scan
    return datetime(int(y[0:4]), int(y[4:6]), int(y[6:8]), int(y[9:11]), int(y[11:13]), int(y[13:15]),
                    tzinfo=timezone.utc)


def _evtx_ts(s: str) -> datetime:
    y, mo, d, h, mi, se, ms = (int(x) for x in s.split("-"))
    return datetime(y, mo, d, h, mi, se, ms * 1000, tzinfo=timezone.utc)


@lru_cache(maxsize=8192)
def _binary_series(name: str) -> tuple[str, str, str] | None:
    """('etl', trace, start) or ('evtx', channel, archive time) from a file name, else None. The time
    stays text: it is fixed-width digits, so text order is time order, and only the few times a
    decision needs are ever turned into datetimes (a stamp has tens of thousands of such names).
    Cached: pruning, the neighbour groups and the judging of one unit each ask for the same names
    (a few thousand at most per unit, so a small cache keeps them all while the unit is scanned)."""
    low = name[-5:].lower()
    if low.endswith(".etl"):
        m = _ETL_NAME.match(name)
        return ("etl", m["base"].lower(), m["ts"]) if m else None
    if low == ".evtx" and name[:8].lower() == "archive-":
        m = _EVTX_ARCHIVE.match(name)
        return ("evtx", m["ch"].lower(), m["ts"]) if m else None
    return None


def _parse(kind: str, ts: str) -> datetime:
    return _utc(ts) if kind == "etl" else _evtx_ts(ts)


def text_series(names: Iterable[str]) -> list[list[str]]:
    """Rolled text-log series among the names of one folder, each newest first (see the module doc).
    A numbered series starts with its active file when there is one."""
    by_key: dict[tuple[str, ...], list[tuple[tuple[Any, ...], str]]] = {}
    present = {n.lower(): n for n in names if n[-4:].lower() in TEXT_EXTS}
    for n in present.values():
        m = _ROLL_NUMBERED.match(n)
        if m:
            by_key.setdefault(("n", m["base"].lower(), m["ext"].lower()), []).append(((int(m["n"]),), n))
            continue
        m = _ROLL_TIMED.match(n)
        if m:  # fixed width: the string order is the time order; negate by sorting reversed below
            by_key.setdefault(("t", m["base"].lower(), m["ext"].lower()), []).append(((m["ts"],), n))
            continue
        m = _IIS_DAILY.match(n)
        if m:
            by_key.setdefault(("iis",), []).append(((m["d"],), n))
    out = []
    for key, items in by_key.items():
        if key[0] == "n":
            items.sort()
            series = [n for _, n in items]
            active = present.get(f"{key[1]}.{key[2]}")
            out.append(([active] if active else []) + series)
        else:
            items.sort(reverse=True)
            out.append([n for _, n in items])
    return [s for s in out if len(s) > 1]


class NameRuling(set[str]):
    """What prune_by_name returns: the names ruled out by name alone (a set), plus the rolled text
    series for the lister to stat newest first, stopping at the first file last written before
    `not_before` (the rest of that series are older still)."""

    def __init__(self, out: Iterable[str], series: list[list[str]], not_before: datetime):
        super().__init__(out)
        self.series = series
        self.not_before = not_before


def prune_by_name(names: list[str], window: Window) -> NameRuling:
    """Names in one folder that the rules above put outside the window from the names alone, so they
    are not even stat'ed (a stamp keeps weeks of rolls; a 1-hour window must not pay for them):
    an ETW roll whose successor starts before the window, or which itself starts after it; an event-log
    archive archived before the window (its records end by its archive time) or whose predecessor was
    archived after it. Rolled text series come back in `.series`: they need the lister's last-write
    times, newest first, and no more of them than the first one before the window."""
    out: set[str] = set()
    series: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for n in names:
        b = _binary_series(n)
        if b:
            series.setdefault(b[:2], []).append((b[2], n))
    for (kind, _), items in series.items():
        items.sort()
        times = [t for t, _ in items]
        key = _utc if kind == "etl" else _evtx_ts
        k = bisect.bisect_left(times, window.from_utc, key=key)  # first at or after the window's start
        j = bisect.bisect_right(times, window.to_utc, key=key)  # first after the window's end
        # etl i is kept when it starts by the end and its successor starts after the start: [k-1, j);
        # evtx i when archived at or after the start and its predecessor by the end: [k, j]
        lo, hi = (max(k - 1, 0), j) if kind == "etl" else (k, j + 1)
        out.update(n for i, (_, n) in enumerate(items) if not lo <= i < hi)
    return NameRuling(out, text_series(names), window.from_utc)


def overlaps(start: datetime | None, end: datetime, w: Window) -> bool:
    return end >= w.from_utc and (start is None or start <= w.to_utc)


def judge(
    files: Iterable[Listed],
    window: Window,
    first_record_time: Callable[[Listed], datetime | None],
    include_dumps: bool = False,
    siblings: Iterable[str] | None = None,
) -> list[Judged]:
    """Decide every file of one unit folder. `first_record_time` is called only for text logs last
    written after the window's end (a collection up to now never reads one); nothing else is ever
    read. `siblings`: relpaths of every file of the folder, when `files` omits some already ruled
    out by name (prune_by_name)."""
    files = list(files)
    out: list[Judged] = []
    # Neighbours needed by the binary rules: rolls of one ETW trace, archives of one event channel,
    # as sorted text times (parsed only where used).
    groups: dict[tuple[str, str, str], list[str]] = {}
    for rel in (siblings if siblings is not None else (f.relpath for f in files)):
        folder, _, name = rel.rpartition("/")
        b = _binary_series(name)
        if b:
            groups.setdefault((folder, b[0], b[1]), []).append(b[2])
    sorted_keys: set[tuple[str, str, str]] = set()

    def neighbours(key: tuple[str, str, str]) -> list[str]:
        times = groups.get(key, [])
        if key not in sorted_keys:
            times.sort()
            sorted_keys.add(key)
        return times

    for f in files:
        kind = kind_of(f.name)
        lt = log_type_of(f)
        start: datetime | None
        end = f.mtime
        read = False
        if kind == "etl":
            b = _binary_series(f.name)
            if b:
                start = _utc(b[2])
                starts = neighbours((f.folder, "etl", b[1]))
                i = bisect.bisect_right(starts, b[2])  # the next roll's start, in log time
                if i < len(starts):
                    end = _utc(starts[i])
            else:
                start = None
        elif kind == "evtx":
            b = _binary_series(f.name)
            if b:
                arch = neighbours((f.folder, "evtx", b[1]))
                i = bisect.bisect_left(arch, b[2])
                start = _evtx_ts(arch[i - 1]) if i > 0 else None
            else:  # the active log of a channel starts where its newest archive ended
                arch = neighbours((f.folder, "evtx", f.name[: -len(".evtx")].lower()))
                start = _evtx_ts(arch[-1]) if arch else None
        elif kind == "dmp":
            start = f.mtime
        else:  # text and anything unknown: first record .. last write
            start = None
            if end > window.to_utc and kind == "text":
                start = first_record_time(f)
                read = True
        selected = overlaps(start, end, window)
        if kind == "dmp" and not include_dumps:
            selected = False
        out.append(Judged(f, kind, lt, start, end, selected, read))
    return out
