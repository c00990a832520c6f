"""The one definition of "in the window" per kind of log (DESIGN rule 5). Sans-IO: works on
listings (name, size, mtime) and asks a callback for a text log's first record time.

A file is collected exactly when the span of its records [start, end] overlaps [from, to]:

  text  (.log/.txt, any folder)  start = first record time (only the first lines are read, and only
                                  when the mtime does not already rule the file out);
                                  end = last-write time. No parsable timestamp -> start unknown,
                                  the file is judged by its last-write time alone.
  etl   (ETW traces)             start = the time in the name (<Name>_<yyyyMMdd-HHmmss>.etl, as
                                  Trace Collector names them); end = the start of the next roll of the
                                  same trace, or the last-write time for the newest one.
  evtx  (event logs)             end = last-write time; start = the time in the name of the previous
                                  archive of the same channel (Archive-<channel>-<yyyy-MM-dd-HH-mm-ss-fff>.evtx
                                  is named when the log is archived, i.e. when the next file's first
                                  record arrives); the oldest file of a channel has no known start.
  dmp   (crash dumps)            a point in time: start = end = last-write time.

Log type comes from where a file lives: `Shares/` -> Share, `.evtx` -> WindowsEvent, else File.
"""
from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable, Iterable

from collector.window import Window

TEXT_EXTS = (".log", ".txt")
_ETL_NAME = re.compile(r"^(?P<base>.+)_(?P<ts>\d{8}-\d{6})\.etl$", re.I)
_EVTX_ARCHIVE = re.compile(r"^Archive-(?P<ch>.+)-(?P<ts>\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}-\d{3})\.evtx$", re.I)


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
    return datetime.strptime(y, "%Y%m%d-%H%M%S").replace(tzinfo=timezone.utc)


def _evtx_ts(s: str) -> datetime:
    y, mo, d, h, mi, se, ms = (int(x) for x in s.split("-"))
    return datetime(y, mo, d, h, mi, se, ms * 1000, tzinfo=timezone.utc)


def prune_by_name(names: list[str], window: Window) -> set[str]:
    """Names in one folder that the rules above put outside the window from the names alone, so they
    are not even stat'ed (a stamp keeps weeks of rolls; a 1-hour window must not pay for them):
    an ETW roll whose successor starts before the window, or which itself starts after it; an event-log
    archive archived before the window (its records end by its archive time) or whose predecessor was
    archived after it."""
    out: set[str] = set()
    etl: dict[str, list[tuple[datetime, str]]] = {}
    arch: dict[str, list[tuple[datetime, str]]] = {}
    for n in names:
        m = _ETL_NAME.match(n)
        if m:
            etl.setdefault(m["base"].lower(), []).append((_utc(m["ts"]), n))
            continue
        m = _EVTX_ARCHIVE.match(n)
        if m:
            arch.setdefault(m["ch"].lower(), []).append((_evtx_ts(m["ts"]), n))
    for series in etl.values():
        series.sort()
        for i, (start, n) in enumerate(series):
            if start > window.to_utc or (i + 1 < len(series) and series[i + 1][0] < window.from_utc):
                out.add(n)
    for series in arch.values():
        series.sort()
        for i, (ts, n) in enumerate(series):
            if ts < window.from_utc or (i > 0 and series[i - 1][0] > window.to_utc):
                out.add(n)
    return out


def overlaps(start: datetime | None, end: datetime, w: Window) -> bool:
    return end >= w.from_utc and (start is None or start <= w.to_utc)


def judge(
    files: Iterable[Listed],
    window: Window,
    first_record_time: Callable[[Listed], datetime | None],
    include_dumps: bool = False,
    siblings: Iterable[str] | None = None,
) -> list[Judged]:
    """Decide every file of one unit folder. `first_record_time` is called only for text logs whose
    last-write time is not before the window; nothing else is ever read. `siblings`: relpaths of every
    file of the folder, when `files` omits some already ruled out by name (prune_by_name)."""
    files = list(files)
    out: list[Judged] = []
    # Neighbours needed by the binary rules: rolls of one ETW trace, archives of one event channel.
    etl_starts: dict[tuple[str, str], list[datetime]] = {}
    evtx_archives: dict[tuple[str, str], list[datetime]] = {}
    for rel in (siblings if siblings is not None else (f.relpath for f in files)):
        folder, _, name = rel.rpartition("/")
        m = _ETL_NAME.match(name)
        if m:
            etl_starts.setdefault((folder, m["base"].lower()), []).append(_utc(m["ts"]))
        m = _EVTX_ARCHIVE.match(name)
        if m:
            evtx_archives.setdefault((folder, m["ch"].lower()), []).append(_evtx_ts(m["ts"]))
    for v in list(etl_starts.values()) + list(evtx_archives.values()):
        v.sort()

    for f in files:
        kind = kind_of(f.name)
        lt = log_type_of(f)
        start: datetime | None
        end = f.mtime
        read = False
        if kind == "etl":
            m = _ETL_NAME.match(f.name)
            if m:
                start = _utc(m["ts"])
                starts = etl_starts[(f.folder, m["base"].lower())]
                i = bisect.bisect_right(starts, start)  # sorted: the next roll's start, in log time
                if i < len(starts):
                    end = starts[i]
            else:
                start = None
        elif kind == "evtx":
            m = _EVTX_ARCHIVE.match(f.name)
            if m:
                ts = _evtx_ts(m["ts"])
                arch = evtx_archives[(f.folder, m["ch"].lower())]
                i = bisect.bisect_left(arch, ts)
                start = arch[i - 1] if i > 0 else None
            else:  # the active log of a channel starts where its newest archive ended
                ch = f.name[: -len(".evtx")].lower()
                arch = evtx_archives.get((f.folder, ch))
                start = arch[-1] if arch else None
        elif kind == "dmp":
            start = f.mtime
        else:  # text and anything unknown: first record .. last write
            start = None
            if end >= window.from_utc and kind == "text":
                start = first_record_time(f)
                read = True
        selected = overlaps(start, end, window)
        if kind == "dmp" and not include_dumps:
            selected = False
        out.append(Judged(f, kind, lt, start, end, selected, read))
    return out
