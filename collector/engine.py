"""The collection engine: pre-flight -> lock -> scan -> pack -> deliver -> report.

Calling it (a cmdlet, the Help + Support service, a scheduler; nothing here knows PowerShell):

    from collector.engine import Engine
    from collector.errors import CollectionError, CollectionStopped
    from collector.report import NullReporter          # or your own collector.report.Reporter

    request = collection_request(...)                   # collector.destination: filters, window, resume key
    sink = open_sink(destination, env)                  # collector.destination: folder, share or container
    try:
        result = Engine(env).run(request, sink, reporter, stop)   # stop: threading.Event, set it to stop
    except CollectionError as e:    # refused before collecting: e.error_id, e.category, e.message, e.target
        ...
    except CollectionStopped:       # the stop was honoured: the bundle's manifest says "stopped"
        ...
    finally:
        sink.close()

`result` (CollectionResult) names the bundle and holds the final manifest. Everything the run says
goes to `reporter` (lines, warnings, verbose detail, non-terminating errors, throttled progress) and
to the bundle's Get-AzureStackLog_Output.log.

1. pre-flight the destination (no work at all if it refuses), take the per-stamp lock, open (or
   resume) the journal; deliver manifest.json with status "running" (the in-progress marker);
2. collector.run.Run does the rest in steps: scan every (role, host) unit (collector.logkinds: the
   one definition per kind of log), pack each role's selected files into zips in a staging folder
   (collector.zipwriter; ISA-L or zlib-ng deflate releases the GIL, so threads compress in
   parallel; the level follows the link's speed: docs/collection.md, "Speed"), deliver each zip
   when built (to a share or a container by sending threads of their own, so the link never waits
   for a packer; the sink makes it visible only when whole; the journal records it, so a rerun of
   the same request skips it), then report: settle every unit, build manifest.json
   (collector.manifest, pure), print the closing lines;
3. deliver Get-AzureStackLog_Output.log, the per-collection report (CollectionReport.html,
   collector.bundle_report) and the final manifest, release the lock.

Every collection that gets past the pre-flight and the lock has a row in the collection history
(collector.history): "in progress" from the start, final at the end, its type from `origin`
(default: PEP for the PEP's cmdlets, else manual). A caller that added a row already passes its id
in `origin.row_id`; a refusal before collecting marks that row failed.

A bundle killed mid-way (kill -9, power loss) keeps its "running" manifest and so never looks whole;
the next collection into the same folder (its lock proves the owner is gone) rewrites it to status
"incomplete" and says so in a WARNING.

Deadlines: TimeOutInMinutes bounds the whole run; `collection.host_timeout_seconds` bounds each host.
When either fires, what was collected is kept and delivered and the manifest says what was cut.
Statuses and their transitions: collector.status (and docs/collection.md).
"""
from __future__ import annotations

import hashlib
import os
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from collector.bundle_report import REPORT_NAME, render_report
from collector.errors import Category, CollectionError, CollectionStopped, DestinationError
from collector.faults import Faults
from collector.history import History, HistoryRow, HistoryStatus, Origin, failed, new_id, new_row, summarize, this_process
from collector.journal import Journal
from collector.lock import CollectionLock, LockBusy, collection_lock
from collector.manifest import TOOL, manifest_json
from collector.outputlog import OutputLog
from collector.plan import CollectionRequest, plan_units
from collector.report import Reporter
from collector.run import BLOCK, Described, Limits, Run
from collector.settings import EngineEnv
from collector.sinks.base import ListsBundles, Sink
from collector.source import StampSource
from collector.stamp import Stamp, load_stamp
from collector.stampgen import ensure_default_stamp
from collector.status import RUN_TRANSITIONS, RunStatus, advance
from collector.window import Window, fmt
from common.processes import process_gone, this_host
from common.redact import redact
from common.state import atomic_write

__all__ = ["BLOCK", "CollectionError", "CollectionResult", "CollectionStopped", "Engine", "stamp_root"]

OUTPUT_LOG = "Get-AzureStackLog_Output.log"
MANIFEST = "manifest.json"
RUNNING_MANIFEST = ".manifest.running.json"  # staged copy of the in-progress marker


def stamp_root(env: EngineEnv) -> Path:
    """The folder holding the stamp's logs: --stamp DIR, or the embedded stamp in the state dir."""
    return Path(env.stamp_dir) if env.stamp_dir else ensure_default_stamp(env)


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _level_setting(value: object) -> int | None:
    """collection.compress_level: a number fixes the deflate level; "auto" (the default), or
    anything that is not a number, lets the run choose it from the link's speed."""
    try:
        return int(str(value))
    except ValueError:
        return None


# While another collection holds the lock: called with its holder; True means "try again".
LockWait = Callable[[dict[str, Any]], bool]


@dataclass
class CollectionResult:
    bundle: str
    location: str
    manifest: dict[str, Any]
    status: RunStatus
    collected_units: int
    total_units: int
    history_id: str | None = None


class _RowKeeper:
    """This run's history row, and whether the report step has written its final state."""

    def __init__(self, history: History, row: HistoryRow):
        self.history, self.row, self.done = history, row, False

    def finish(self, manifest: dict[str, Any], report: str, at_destination: str) -> None:
        local = self.history.save_report(self.row.id, report)
        ended = datetime.fromisoformat(str(manifest.get("ended"))) if manifest.get("ended") else _now()
        self.row = self.history.put(replace(summarize(self.row, manifest, ended), report=str(local),
                                            report_at_destination=redact(at_destination)))
        self.done = True


class Engine:
    def __init__(self, env: EngineEnv, stamp: Stamp | None = None, root: Path | None = None):
        self.env = env
        self.root = Path(root) if root else stamp_root(env)
        self.stamp = stamp or load_stamp(self.root)
        self.faults = Faults.from_env(env)
        self.source = StampSource(self.root, self.faults)
        # VM log recovery: an unreachable VM's disk, read through its node (the VM's faults do not apply)
        self.disk = StampSource(self.root)
        cpu = os.cpu_count() or 2
        self.limits = Limits(
            workers=int(env.setting("collection.concurrency", max(2, cpu))),
            # Listing a local stamp is Python work under one GIL: a second thread only contends (the
            # everyday collection's scan-and-pack took 0.31 s with two, 0.23 s with one). Hosts made
            # slow by a fault have latency to hide, so then two.
            scan_workers=int(env.setting("collection.scan_concurrency", 2 if self.faults.slow_hosts else 1)),
            split_bytes=int(float(env.setting("collection.zip_split_mb", 512)) * 1048576),
            level=_level_setting(env.setting("collection.compress_level", "auto")),
            host_timeout=float(env.setting("collection.host_timeout_seconds", 1800)),
        )
        self.resume_hours = float(env.setting("collection.resume_max_age_hours", 24))

    # -- the state directory ---------------------------------------------------------------
    def lock(self) -> CollectionLock:
        return collection_lock(self.env.state, self.stamp.name)

    # -- run --------------------------------------------------------------------------------
    def run(self, req: CollectionRequest, sink: Sink, reporter: Reporter, stop: threading.Event,
            origin: Origin | None = None, wait: LockWait | None = None) -> CollectionResult:
        """Collect `req` into `sink`. Raises CollectionError when refused before collecting (the
        destination's pre-flight, another collection running, the bundle cannot be opened) and
        CollectionStopped when `stop` was set (after delivering what was done and a "stopped"
        manifest). Any other outcome (partial, timed out, failed units) is in the result.
        `origin`: who asked, for the history row (module docstring). `wait`: while another
        collection holds the lock, called with its holder; it returns True to try again (after
        waiting as long as it likes) or False to be refused. Without it a held lock refuses at once.
        Waiting here, not before the call, leaves no gap for a third collection to slip into."""
        origin = origin or Origin.for_command(req.command)
        history = History(self.env.state)
        # Pre-flight before anything else: a destination that refuses costs no work.
        try:
            sink.preflight()
        except DestinationError as e:
            self._refused(history, origin, redact(e.message))
            raise CollectionError(redact(e.message), e.error_id, e.category, target=sink.description) from None
        lock = self.lock()
        while True:
            try:
                lock.acquire({"user": req.user or "unknown", "started": _now().isoformat(),
                              "window": req.window.describe(), "command": req.command})
                break
            except LockBusy as e:
                if stop.is_set():
                    self._refused(history, origin, "The collection was stopped before it started.")
                    raise CollectionStopped("The collection was stopped before it started.") from None
                if wait is not None and wait(e.holder):
                    continue
                self._refused(history, origin, str(e))
                raise CollectionError(str(e), "CollectionAlreadyRunning", Category.ResourceBusy) from None
        try:
            history.mark_interrupted()
            return self._run_locked(req, sink, reporter, stop, history, origin)
        finally:
            lock.release()

    @staticmethod
    def _refused(history: History, origin: Origin, message: str) -> None:
        """A refusal before collecting fails the row a caller added (none is added otherwise)."""
        row = history.get(origin.row_id) if origin.row_id else None
        if row is not None:
            history.put(failed(row, message, _now()))

    def _start_row(self, history: History, origin: Origin, req: CollectionRequest, journal: Journal, resumed: bool,
                   window: Window, sink: Sink, started: datetime) -> HistoryRow:
        """The history row of this run, "in progress": the caller's row, else the row of the run this
        one resumes, else a new one."""
        row_id = origin.row_id or journal.data.get("history_id")
        old = history.get(row_id) if isinstance(row_id, str) else None
        if old is not None:
            return history.put(replace(
                old, status=HistoryStatus.IN_PROGRESS, resumed=resumed or old.resumed, interrupted=None,
                bundle=journal.data["bundle"], owner=this_process(), command=old.command or req.command,
                destination=old.destination or redact(str(sink.description)),
                logs_start=old.logs_start or window.from_utc.isoformat(), logs_end=old.logs_end or window.to_utc.isoformat()))
        return history.add(new_row(replace(origin, row_id=row_id or new_id(started)), started=started,
                                   destination=str(sink.description), logs_start=window.from_utc,
                                   logs_end=window.to_utc, command=req.command, user=req.user,
                                   stamp=self.stamp.name, bundle=journal.data["bundle"]))

    def _run_locked(self, req: CollectionRequest, sink: Sink, reporter: Reporter,
                    stop: threading.Event, history: History, origin: Origin) -> CollectionResult:
        started = _now()
        ercs = self.stamp.ercs_name.upper()
        journal, resumed = Journal.open(
            self.env.state.sub("collector", "journals"), req.resume_key,
            {"bundle": f"AzureStackLogs-{self._bundle_time(started):%Y%m%d%H%M%S}-{ercs}",
             "window": req.window.as_dict(), "started": started.isoformat(),
             "history_id": origin.row_id or new_id(started)},
            self.resume_hours)
        window = req.window
        if resumed:  # the resumed run keeps the original window so the bundle stays consistent
            window = Window(datetime.fromisoformat(journal.data["window"]["from_utc"]),
                            datetime.fromisoformat(journal.data["window"]["to_utc"]))
        bundle = journal.data["bundle"]
        staging = self.env.state.sub("collector", "staging", req.resume_key)
        for p in staging.glob("*.partial"):
            p.unlink()
        row = self._start_row(history, origin, req, journal, resumed, window, sink, started)
        rows = _RowKeeper(history, row)
        try:
            with OutputLog(reporter, staging / OUTPUT_LOG, append=resumed) as out:
                return self._collect(req, window, sink, out, stop, journal, resumed, bundle, staging, rows)
        except BaseException as e:
            if not rows.done:  # refused or broken before the report step: the row says so
                what = e.message if isinstance(e, CollectionError) else f"The collection failed: {e or type(e).__name__}"
                history.put(failed(rows.row, what, _now()))
            raise
        finally:
            journal.close()

    def _collect(self, req: CollectionRequest, window: Window, sink: Sink, out: OutputLog, stop: threading.Event,
                 journal: Journal, resumed: bool, bundle: str, staging: Path, rows: _RowKeeper) -> CollectionResult:
        out.line(f"Converting FromDate and ToDate to UTC: {window.describe()}")
        if window.from_utc > _now():
            out.warning(f"FromDate {fmt(window.from_utc)} (UTC) is in the future: there are no logs to collect yet.")
        self._flag_interrupted(sink, bundle, out)
        try:
            location = sink.open_bundle(bundle)
            self._mark_running(req, window, bundle, journal, resumed, sink, staging)
        except DestinationError as e:
            raise CollectionError(redact(e.message), e.error_id, e.category, target=sink.description) from None
        out.line(f"Log collection destination: {location}")
        if resumed:
            done = [n for n, z in journal.zips().items() if z.get("delivered")]
            out.line(f"Resuming the collection started {journal.data['started']}: {len(done)} zip file(s) already delivered.")

        run = Run(req=req, window=window, units=plan_units(self.stamp, req), source=self.source, disk=self.disk,
                  sink=sink, out=out, stop=stop, journal=journal, staging=staging, limits=self.limits,
                  described=Described(bundle, self.stamp.name, self.stamp.ercs_name.upper(), resumed,
                                      journal.data.get("started") or "", self._request(req, sink)))
        run.execute()
        outcome = run.report(_now())
        # The output log, the report and the manifest go last; the manifest marks the bundle as described.
        report = render_report(outcome.manifest)
        atomic_write(staging / REPORT_NAME, report)
        try:
            sink.deliver(staging / OUTPUT_LOG, OUTPUT_LOG, stop=None)
            sink.deliver(staging / REPORT_NAME, REPORT_NAME, stop=None)
            atomic_write(staging / MANIFEST, manifest_json(outcome.manifest))
            sink.deliver(staging / MANIFEST, MANIFEST, stop=None)
        except DestinationError as e:
            out.error(CollectionError(redact(e.message), e.error_id, Category.WriteError))
        rows.finish(outcome.manifest, report, f"{location}/{REPORT_NAME}")
        if stop.is_set():
            raise CollectionStopped("The collection was stopped.")
        if not run.delivery_errors:
            journal.finish()
            shutil.rmtree(staging, ignore_errors=True)
            try:
                journal.path.unlink()
            except OSError:
                pass
        return CollectionResult(bundle, str(sink.description), outcome.manifest, outcome.status,
                                outcome.closing.units_ok, len(run.states), rows.row.id)

    # -- the in-progress marker ---------------------------------------------------------------
    def _owner(self) -> dict[str, Any]:
        """Who writes a bundle: enough to tell later whether it is still running. The lock is named
        by a hash (its path would show the server's state directory in a shipped bundle)."""
        lock_id = hashlib.sha256(str(self.lock().path.resolve()).encode()).hexdigest()[:16]
        return {"host": this_host(), "pid": os.getpid(), "lock": lock_id}

    def _mark_running(self, req: CollectionRequest, window: Window, bundle: str, journal: Journal, resumed: bool,
                      sink: Sink, staging: Path) -> None:
        """Deliver manifest.json with status "running" before the first zip (atomically, as every
        delivered file); the final manifest replaces it."""
        marker = {
            "tool": TOOL,
            "bundle": bundle,
            "stamp": self.stamp.name,
            "ercs": self.stamp.ercs_name.upper(),
            "status": RunStatus.RUNNING.value,
            "resumed": resumed,
            "started": journal.data.get("started"),
            "window": window.as_dict(),
            "request": self._request(req, sink),
            "owner": self._owner(),
            "note": "This collection has not finished: the zips here may not be all, and the output log is "
                    "written at the end. If its process is gone, the bundle is incomplete.",
        }
        atomic_write(staging / RUNNING_MANIFEST, manifest_json(marker))
        sink.deliver(staging / RUNNING_MANIFEST, MANIFEST, stop=None)

    def _owner_gone(self, owner: object) -> bool:
        """True when the process that wrote a "running" manifest cannot still be writing it: it used
        our lock (which this run holds), or it ran on this computer and its process is dead."""
        if not isinstance(owner, dict):
            return False
        if owner.get("lock") and owner.get("lock") == self._owner()["lock"]:
            return True
        return process_gone(owner)

    def _flag_interrupted(self, sink: Sink, bundle: str, out: OutputLog) -> None:
        """Bundles at this destination whose manifest still says "running" and whose owner is gone:
        rewrite the manifest to status "incomplete" and warn. Only destinations that can list their
        bundles (the folder sink) are checked; the bundle this run continues is left alone."""
        if not isinstance(sink, ListsBundles):
            return
        try:
            found = list(sink.running_bundles())
        except OSError:
            return
        for name, manifest in found:
            if name == bundle or not self._owner_gone(manifest.get("owner")):
                continue
            manifest["status"] = advance(RUN_TRANSITIONS, RunStatus.RUNNING, RunStatus.INCOMPLETE).value
            manifest["interrupted"] = {
                "detected": _now().isoformat(),
                "reason": "the collection's process ended before it finished (killed, crashed or powered off)",
            }
            try:
                where = sink.rewrite_manifest(name, manifest_json(manifest))
            except OSError as e:
                out.warning(f"The bundle {name} is incomplete (its collection was interrupted), and its manifest "
                            f"could not be marked so: {e.strerror or e}")
                continue
            out.warning(f"The bundle {where} is incomplete: its collection started {manifest.get('started') or '?'} "
                        "was interrupted before it finished (its process is gone), so some zips and the output "
                        "log are missing. Its manifest.json now says status 'incomplete'. Running the same command "
                        "again (within collection.resume_max_age_hours) completes it.")

    # -- helpers -----------------------------------------------------------------------------
    def _request(self, req: CollectionRequest, sink: Sink) -> dict[str, Any]:
        return {
            "FilterByRole": req.roles, "FilterByNode": req.nodes, "FilterByLogType": req.log_types,
            "FilterByResourceProvider": req.resource_providers, "IncludeDumpFile": req.include_dumps,
            "PerformVMLogRecovery": req.vm_recovery, "TimeOutInMinutes": req.timeout_minutes,
            "destination": redact(str(sink.description)),
        }

    def _bundle_time(self, t: datetime) -> datetime:
        """Bundle names carry seconds only: two collections in one second get distinct names."""
        f = self.env.state.sub("collector") / "last_bundle_time"
        try:
            last = datetime.fromisoformat(f.read_text().strip())
            if t.replace(microsecond=0) <= last:
                t = last + timedelta(seconds=1)
        except (OSError, ValueError):
            pass
        t = t.replace(microsecond=0)
        atomic_write(f, t.isoformat())
        return t
