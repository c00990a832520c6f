"""The collection history: one row per collection of any origin (manual "Collect logs now",
automatic, the PEP's Get-AzureStackLog / Send-AzureStackDiagnosticLog), kept 90 days.

    history = History(env.state)                  # <state>/history/
    row = history.add(new_row(...))               # a row "in progress"
    history.update(row.id, status=..., ...)       # fields changed; unknown fields refused
    page = history.list_rows(offset=0, limit=50)  # newest first; page.total, page.rows
    history.get(row_id)                           # one row, or None

Storage: one JSON file per row, `<state>/history/rows/<id>.json`, written atomically (temp name,
fsync, rename). A row's id starts with its start time (`20261125T120000123456Z-1a2b3c4d`), so the
folder listing *is* the index: sorting the names sorts the rows newest first without opening them,
a page opens only its own rows, and `get` is one open. Rows older than 90 days (by that time) are
pruned on every write. The per-collection HTML reports (collector.bundle_report) keep a copy in
`<state>/history/reports/<id>.html` so a front end can serve them whatever the destination was.

A row never holds a secret: the destination is the sink's safe description (a container URL
without its query, a share path), passed through common.redact once more on the way in, and
errors are redacted too.

Interrupted rows: a row records its owner (host name, process id). `mark_interrupted` (the engine
calls it when it starts a collection; a service should call it when it starts) turns every row
still "in progress" whose process on this computer is gone into "failed" with an `interrupted`
note, the same rule as the "running" -> "incomplete" manifest (docs/security.md, "Interrupted
collections"). Resuming that collection (the same command again) continues the same row. Rows in
progress are indexed by an empty file each under `<state>/history/running/`, so this reads only
them, however long the history.
"""
from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import datetime, timedelta, timezone
from enum import StrEnum
from pathlib import Path
from typing import Any

from collector.status import RunStatus
from common.processes import process_gone, this_host
from common.redact import redact, redact_value
from common.state import StateDir, atomic_write

RETENTION = timedelta(days=90)
_ID = re.compile(r"\d{8}T\d{12}Z-[0-9a-f]{8}")
_MAX_ERRORS = 20


class HistoryStatus(StrEnum):
    IN_PROGRESS = "in progress"
    COMPLETE = "complete"
    PARTIAL = "partial"
    FAILED = "failed"


class CollectionType(StrEnum):
    MANUAL = "manual"        # Help + Support "Collect logs now"
    AUTOMATIC = "automatic"  # started by a trigger alert
    PEP = "PEP"              # Get-AzureStackLog / Send-AzureStackDiagnosticLog through the PEP


PEP_COMMANDS = frozenset({"get-azurestacklog", "send-azurestackdiagnosticlog"})


def status_of(run: RunStatus, files: int) -> HistoryStatus:
    """A run's final status as a history status: complete stays complete; partial and timed out are
    partial; a stopped run is partial when it delivered some logs, else failed; failed and
    incomplete are failed. `running` is in progress."""
    if run is RunStatus.RUNNING:
        return HistoryStatus.IN_PROGRESS
    if run is RunStatus.COMPLETE:
        return HistoryStatus.COMPLETE
    if run in (RunStatus.PARTIAL, RunStatus.TIMED_OUT):
        return HistoryStatus.PARTIAL
    if run is RunStatus.STOPPED and files:
        return HistoryStatus.PARTIAL
    return HistoryStatus.FAILED


@dataclass(frozen=True)
class Origin:
    """Who started a collection, for its history row. `row_id`: a row the caller already added
    (a service answers a request with it before the run starts); else the engine adds one."""

    type: CollectionType
    trigger_alert: str | None = None     # automatic: the alert's title
    fault_id_type: str | None = None     # automatic: its FaultIdType
    row_id: str | None = None
    correlation_id: str | None = None
    # automatic: the other trigger alerts raised inside the window, which joined this collection
    joined_alerts: tuple[Mapping[str, Any], ...] = ()

    @classmethod
    def for_command(cls, command: str) -> Origin:
        """The origin of a request that names none: a PEP cmdlet is PEP, anything else manual."""
        return cls(CollectionType.PEP if command.lower() in PEP_COMMANDS else CollectionType.MANUAL)


@dataclass(frozen=True)
class HistoryRow:
    id: str
    correlation_id: str
    time_collected: str                  # ISO 8601 UTC: when the collection started
    status: HistoryStatus
    type: CollectionType
    logs_start: str | None               # the window, ISO 8601 UTC
    logs_end: str | None
    destination: str                     # safe to show: no SAS signature, no password
    command: str = ""
    user: str = ""
    stamp: str = ""
    bundle: str | None = None
    trigger_alert: str | None = None
    fault_id_type: str | None = None
    size_mb: float = 0.0                 # bytes of the zips delivered, in MB (1048576 bytes)
    files: int = 0                       # log files collected
    zips: int = 0
    errors: tuple[str, ...] = ()
    ended: str | None = None
    duration_seconds: float | None = None
    run_status: str | None = None        # the manifest's status (complete, partial, timed out, stopped, ...)
    resumed: bool = False
    report: str | None = None            # local copy of the per-collection report (an HTML file)
    report_at_destination: str | None = None
    owner: Mapping[str, Any] = field(default_factory=dict)  # host, pid: to tell an interrupted row
    interrupted: Mapping[str, Any] | None = None
    # automatic: alerts that joined it (id, title, fault_id_type, raised, component), trigger excluded
    joined_alerts: tuple[Mapping[str, Any], ...] = ()
    manifest_summary: Mapping[str, Any] | None = None  # the final manifest in brief (manifest_summary())

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["status"] = self.status.value
        d["type"] = self.type.value
        d["errors"] = list(self.errors)
        d["joined_alerts"] = [dict(a) for a in self.joined_alerts]
        return d

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> HistoryRow:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in d.items() if k in known}
        values["status"] = HistoryStatus(d["status"])
        values["type"] = CollectionType(d["type"])
        values["errors"] = tuple(str(e) for e in d.get("errors") or ())
        values["joined_alerts"] = tuple(joined_alert(a) for a in d.get("joined_alerts") or () if isinstance(a, Mapping))
        return cls(**values)


@dataclass(frozen=True)
class Page:
    total: int
    offset: int
    limit: int
    rows: list[HistoryRow]


def new_id(started: datetime) -> str:
    t = started.astimezone(timezone.utc)
    return f"{t:%Y%m%dT%H%M%S%f}Z-{uuid.uuid4().hex[:8]}"


def time_of_id(row_id: str) -> datetime:
    return datetime.strptime(row_id[:22], "%Y%m%dT%H%M%S%fZ").replace(tzinfo=timezone.utc)


def clean_errors(errors: Iterable[str]) -> tuple[str, ...]:
    """Errors as a row keeps them: redacted, at most 20 (then a count of the rest)."""
    out = [redact(str(e)) for e in errors]
    if len(out) > _MAX_ERRORS:
        out = out[:_MAX_ERRORS - 1] + [f"... and {len(out) - _MAX_ERRORS + 1} more (see the bundle's manifest.json)"]
    return tuple(out)


_JOINED_FIELDS = ("id", "title", "fault_id_type", "raised", "component")


def joined_alert(alert: Mapping[str, Any]) -> dict[str, Any]:
    """A joined alert as a row keeps it: its id, title, FaultIdType, raise time and component, no
    more (the row's every string then passes through the redactor when it is written)."""
    return {k: alert.get(k) for k in _JOINED_FIELDS}


def new_row(origin: Origin, *, started: datetime, destination: str, logs_start: datetime | None,
            logs_end: datetime | None, command: str = "", user: str = "", stamp: str = "",
            bundle: str | None = None) -> HistoryRow:
    """A row "in progress" owned by this process."""
    row_id = origin.row_id or new_id(started)
    return HistoryRow(
        id=row_id, correlation_id=origin.correlation_id or str(uuid.uuid4()),
        time_collected=started.astimezone(timezone.utc).isoformat(), status=HistoryStatus.IN_PROGRESS,
        type=origin.type, logs_start=logs_start.astimezone(timezone.utc).isoformat() if logs_start else None,
        logs_end=logs_end.astimezone(timezone.utc).isoformat() if logs_end else None,
        destination=redact(destination), command=command, user=user, stamp=stamp, bundle=bundle,
        trigger_alert=origin.trigger_alert, fault_id_type=origin.fault_id_type,
        joined_alerts=tuple(joined_alert(a) for a in origin.joined_alerts), owner=this_process())


def this_process() -> dict[str, Any]:
    """The owner of a row this process writes: enough to tell later that it is gone."""
    return {"host": this_host(), "pid": os.getpid()}


def manifest_summary(manifest: Mapping[str, Any]) -> dict[str, Any]:
    """The final manifest in brief, for a row: its status, role instances collected of all, roles by
    status, files, bytes, zips, how many entries were not collected. Counts only: the names are in
    the bundle's manifest.json and its report."""
    summary = manifest.get("summary") or {}
    roles = manifest.get("roles") or {}
    hosts = [h for r in roles.values() for h in (r.get("hosts") or {}).values()]
    by_status: dict[str, int] = {}
    for r in roles.values():
        by_status[str(r.get("status"))] = by_status.get(str(r.get("status")), 0) + 1
    return {"status": manifest.get("status"), "resumed": bool(manifest.get("resumed")),
            "role_instances": len(hosts), "role_instances_ok": sum(1 for h in hosts if h.get("status") == "ok"),
            "roles": len(roles), "roles_by_status": dict(sorted(by_status.items())),
            "files": int(summary.get("files") or 0), "bytes": int(summary.get("bytes") or 0),
            "zips": int(summary.get("zips") or 0), "zip_bytes": int(summary.get("zip_bytes") or 0),
            "not_collected": len(manifest.get("not_collected") or ())}


def summarize(row: HistoryRow, manifest: Mapping[str, Any], ended: datetime) -> HistoryRow:
    """The row of a finished run, from its final manifest (collector.manifest shapes it)."""
    summary = manifest.get("summary") or {}
    files = int(summary.get("files") or 0)
    run = RunStatus(str(manifest.get("status") or RunStatus.FAILED.value))
    errors: list[str] = []
    for role, r in sorted((manifest.get("roles") or {}).items()):
        for host, h in sorted((r.get("hosts") or {}).items()):
            if h.get("status") != "ok":
                errors.append(f"{role} on {host}: {h.get('status')}: {h.get('error') or 'see manifest.json'}")
    errors += [str(n["reason"]) for n in manifest.get("not_collected") or () if n.get("role") is None]
    if run is RunStatus.STOPPED:
        errors.insert(0, "The collection was stopped; running the same request again resumes it.")
    started = datetime.fromisoformat(row.time_collected)
    return replace(row, status=status_of(run, files), run_status=run.value, files=files,
                   zips=int(summary.get("zips") or 0),
                   size_mb=round(int(summary.get("zip_bytes") or 0) / 1048576, 3),
                   errors=clean_errors(errors), ended=ended.astimezone(timezone.utc).isoformat(),
                   duration_seconds=round((ended - started).total_seconds(), 3),
                   resumed=bool(manifest.get("resumed")), bundle=str(manifest.get("bundle") or row.bundle or ""),
                   interrupted=None, manifest_summary=manifest_summary(manifest))


def failed(row: HistoryRow, message: str, ended: datetime) -> HistoryRow:
    started = datetime.fromisoformat(row.time_collected)
    return replace(row, status=HistoryStatus.FAILED, errors=clean_errors([*row.errors, message]),
                   ended=ended.astimezone(timezone.utc).isoformat(),
                   duration_seconds=round((ended - started).total_seconds(), 3))


class History:
    """The rows in `<state>/history/` (module docstring)."""

    def __init__(self, state: StateDir, *, retention: timedelta = RETENTION,
                 clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)):
        self.rows_dir = state.sub("history", "rows")
        self.reports_dir = state.sub("history", "reports")
        # One empty file per row "in progress", so finding interrupted rows reads those rows only
        # (every collection looks; reading all of 10,000 rows cost about 0.5 s).
        self.running_dir = state.sub("history", "running")
        self.retention = retention
        self._clock = clock

    # -- write ------------------------------------------------------------------------------
    def add(self, row: HistoryRow) -> HistoryRow:
        self._write(row)
        self.prune()
        return row

    def put(self, row: HistoryRow) -> HistoryRow:
        """Write `row` as it is (add or replace)."""
        self._write(row)
        return row

    def update(self, row_id: str, **changes: Any) -> HistoryRow:
        """Change fields of one row; KeyError when there is no such row."""
        row = self.get(row_id)
        if row is None:
            raise KeyError(row_id)
        if "errors" in changes:
            changes["errors"] = clean_errors(changes["errors"])
        if "destination" in changes:
            changes["destination"] = redact(str(changes["destination"]))
        new = replace(row, **changes)
        self._write(new)
        return new

    def _write(self, row: HistoryRow) -> None:
        if not _ID.fullmatch(row.id):
            raise ValueError(f"not a history row id: {row.id!r}")
        running = self.running_dir / row.id
        if row.status is HistoryStatus.IN_PROGRESS:
            running.touch()  # before the row: a crash in between leaves a marker, never a row without one
        # Every string of the row (the typed command too) through the one redactor, as the row is written.
        atomic_write(self.rows_dir / f"{row.id}.json", json.dumps(redact_value(row.to_json()), separators=(",", ":")))
        if row.status is not HistoryStatus.IN_PROGRESS:
            running.unlink(missing_ok=True)

    def save_report(self, row_id: str, html_text: str) -> Path:
        path = self.reports_dir / f"{row_id}.html"
        atomic_write(path, html_text)
        return path

    def prune(self) -> int:
        """Remove rows (and their reports) started more than `retention` ago. Returns how many."""
        cutoff = new_id(self._clock() - self.retention)[:22]
        gone = 0
        for name in self._names():
            if name[:22] >= cutoff:
                break  # sorted oldest first
            row_id = name[:-5]
            for p in (self.rows_dir / name, self.reports_dir / f"{row_id}.html", self.running_dir / row_id):
                try:
                    p.unlink()
                except FileNotFoundError:
                    pass
            gone += 1
        return gone

    def mark_interrupted(self, now: datetime | None = None) -> list[HistoryRow]:
        """Rows still "in progress" whose process is gone become "failed" with an `interrupted` note."""
        now = now or self._clock()
        out: list[HistoryRow] = []
        for row_id in self._running_ids():
            row = self._read(row_id)
            if row is None or row.status is not HistoryStatus.IN_PROGRESS:
                (self.running_dir / row_id).unlink(missing_ok=True)  # a marker left by a crash after the row
                continue
            if not process_gone(row.owner):
                continue
            note = {"detected": now.isoformat(),
                    "reason": "the collection's process ended before it finished (killed, crashed or powered off)"}
            new = replace(failed(row, "Interrupted: the collection's process ended before it finished; running the "
                                      "same request again resumes it.", now), interrupted=note)
            self._write(new)
            out.append(new)
        return out

    def _running_ids(self) -> list[str]:
        """The ids of the rows marked "in progress". A state directory written before the markers
        existed is read whole once, to mark its rows."""
        built = self.running_dir / ".built"
        if not built.exists():
            for name in self._names():
                row = self._read(name[:-5])
                if row is not None and row.status is HistoryStatus.IN_PROGRESS:
                    (self.running_dir / row.id).touch()
            built.touch()
        return sorted(n for n in os.listdir(self.running_dir) if _ID.fullmatch(n))

    # -- read -------------------------------------------------------------------------------
    def _names(self) -> list[str]:
        """Row file names, oldest first (the id starts with the time)."""
        return sorted(n for n in os.listdir(self.rows_dir) if n.endswith(".json") and not n.startswith("."))

    def _read(self, row_id: str) -> HistoryRow | None:
        try:
            data: dict[str, Any] = json.loads((self.rows_dir / f"{row_id}.json").read_bytes())
            return HistoryRow.from_json(data)
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def get(self, row_id: str) -> HistoryRow | None:
        if not isinstance(row_id, str) or not _ID.fullmatch(row_id):
            return None
        return self._read(row_id)

    def list_rows(self, offset: int = 0, limit: int = 50) -> Page:
        """Rows newest first: `limit` of them from `offset` (limit 1..1000)."""
        offset = max(0, int(offset))
        limit = min(1000, max(1, int(limit)))
        names = self._names()
        names.reverse()
        rows = [r for n in names[offset:offset + limit] if (r := self._read(n[:-5])) is not None]
        return Page(len(names), offset, limit, rows)

    def report_path(self, row_id: str) -> Path | None:
        row = self.get(row_id)
        if row is None or not row.report:
            return None
        p = Path(row.report)
        return p if p.is_file() else None
