"""The collection engine: plan -> collect -> package -> deliver.

    engine = Engine(env)
    result = engine.run(request, sink, ctx)     # ctx: powershell.pipeline.CommandContext (streams, stop_event)

1. pre-flight the destination (no work at all if it refuses), take the per-stamp lock, open (or
   resume) the journal;
2. scan every (role, host) unit concurrently: list files, judge each against the window
   (collector.logkinds: the one definition per kind of log), apply the log-type filter;
3. pack: each role's selected files are cut into zips (<Role>_1.zip, <Role>_2.zip past the split
   size); zips are built concurrently in a staging folder, streaming 1 MB blocks (zlib releases the
   GIL, so threads compress in parallel), then handed to the sink, which makes them visible only
   when whole; the journal records each finished zip so a rerun of the same command skips it;
4. write Get-AzureStackLog_Output.log (everything this command printed, secrets redacted) and
   manifest.json, deliver them, release the lock.

In-progress marker: as soon as the bundle folder exists, a small manifest.json with status
"running" (and who runs it) is delivered, before the first zip; the final manifest replaces it.
A bundle killed mid-way (kill -9, power loss) therefore never looks whole. The next collection into
the same folder (its lock proves the owner is gone) rewrites such a manifest to status
"incomplete" and says so in a WARNING.

Deadlines: TimeOutInMinutes bounds the whole run; `collection.host_timeout_seconds` bounds each host.
When either fires, what was collected is kept and delivered and the manifest says what was cut.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import threading
import time
import zipfile
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from collector.compress import compressobj
from collector.faults import Faults
from collector.journal import Journal, request_key
from collector.lock import CollectionLock, LockBusy
from collector.logkinds import Judged, judge, prune_by_name
from collector.plan import CollectionRequest, FileRef, Unit, chunk, plan_units
from collector.redact import redact
from collector.sinks.base import DestinationError
from collector.source import FileUnreadable, HostUnreachable, StampSource
from collector.stamp import Stamp, load_stamp
from collector.stampgen import ensure_default_stamp
from collector.window import fmt
from powershell.objects import ErrorCategory, error_record
from powershell.pipeline import PipelineStoppedError
from common.state import atomic_write

BLOCK = 1 << 20
OUTPUT_LOG = "Get-AzureStackLog_Output.log"
MANIFEST = "manifest.json"
RUNNING_MANIFEST = ".manifest.running.json"  # staged copy of the in-progress marker


class CollectionError(Exception):
    """A failure that ends the command before or instead of collecting: carries the error record."""

    def __init__(self, record):
        super().__init__(str(record.Exception.Message))
        self.record = record


class _Cut(Exception):
    def __init__(self, reason: str):
        self.reason = reason


def stamp_root(env: Any) -> Path:
    """The folder holding the stamp's logs: --stamp DIR, or the embedded stamp in the state dir."""
    return Path(env.stamp_dir) if env.stamp_dir else ensure_default_stamp(env)


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _iso(t: datetime | None) -> str | None:
    return t.isoformat() if t else None


def _looks_compressed(block: bytes) -> bool:
    """Already-compressed data (or random bytes) is stored, not deflated again."""
    sample = block[:16384]
    return len(sample) >= 4096 and len(zlib.compress(sample, 1)) > 0.95 * len(sample)


@dataclass
class UnitState:
    unit: Unit
    status: str = "pending"
    error: str | None = None
    selected: list[Judged] = field(default_factory=list)
    outside: int = 0
    started: datetime | None = None
    ended: datetime | None = None
    recovered: bool = False


@dataclass
class CollectionResult:
    bundle: str
    location: str
    manifest: dict[str, Any]
    status: str
    collected_units: int
    total_units: int


class _Reporter:
    """Everything the command prints goes to the user's streams and, redacted, to the output log."""

    def __init__(self, ctx: Any, log_path: Path, append: bool):
        self.ctx = ctx
        self._f = open(log_path, "a" if append else "w", encoding="utf-8")
        self._mutex = threading.Lock()

    def _log(self, line: str) -> None:
        with self._mutex:
            self._f.write(f"{_now():%Y-%m-%d %H:%M:%S}Z {redact(line)}\n")
            self._f.flush()

    def info(self, text: str) -> None:
        self._log(text)
        write = getattr(self.ctx, "write_host", None) or self.ctx.write_output
        write(redact(text))

    def verbose(self, text: str) -> None:
        self._log("VERBOSE: " + text)
        self.ctx.write_verbose(redact(text))

    def warning(self, text: str) -> None:
        self._log("WARNING: " + text)
        self.ctx.write_warning(redact(text))

    def error(self, record) -> None:
        self._log(f"ERROR: {record.Exception.Message} ({record.FullyQualifiedErrorId})")
        self.ctx.write_error(record)

    def close(self) -> None:
        self._f.close()


class _Progress:
    """Write-Progress: one overall bar (bytes) and one bar per role, throttled. A role's total is
    known once all its hosts are scanned, so the overall total grows while scanning goes on."""

    def __init__(self, ctx: Any):
        self.ctx = ctx
        self.total = 0
        self.role_totals: dict[str, int] = {}
        self.role_ids: dict[str, int] = {}
        self.done = 0
        self.role_done: dict[str, int] = {}
        self.jobs_left: dict[str, int] = {}
        self._mutex = threading.Lock()
        self._last = 0.0

    def add_role(self, role: str, total: int) -> None:
        with self._mutex:
            self.total += total
            self.role_totals[role] = total
            self.role_ids.setdefault(role, len(self.role_ids) + 2)
            self.role_done.setdefault(role, 0)

    def add(self, role: str, n: int, force: bool = False) -> None:
        with self._mutex:
            self.done += n
            self.role_done[role] = self.role_done.get(role, 0) + n
            now = time.monotonic()
            if not force and now - self._last < 0.25:
                return
            self._last = now
            done, rd, total = self.done, self.role_done[role], max(1, self.total)
        rt = max(1, self.role_totals.get(role, 1))
        self.ctx.write_progress("Get-AzureStackLog", f"Collected {done / 1048576:.1f} of {total / 1048576:.1f} MB",
                                activity_id=1, percent=min(100, done * 100 // total))
        self.ctx.write_progress(f"Collecting {role}", f"{rd / 1048576:.1f} of {rt / 1048576:.1f} MB",
                                activity_id=self.role_ids.get(role, 2), parent_id=1,
                                percent=min(100, rd * 100 // rt))

    def add_jobs(self, role: str, count: int) -> None:
        with self._mutex:
            self.jobs_left[role] = self.jobs_left.get(role, 0) + count

    def job_done(self, role: str) -> None:
        """A role's bar goes away when its last zip is built, not when the whole run ends."""
        with self._mutex:
            self.jobs_left[role] -= 1
            finished = self.jobs_left[role] == 0
        if finished:
            self.ctx.write_progress(f"Collecting {role}", "Completed", activity_id=self.role_ids[role], parent_id=1,
                                    completed=True)

    def complete(self) -> None:
        for role, i in self.role_ids.items():
            if self.jobs_left.get(role):  # stopped before all its zips were built
                self.ctx.write_progress(f"Collecting {role}", "Completed", activity_id=i, parent_id=1, completed=True)
        self.ctx.write_progress("Get-AzureStackLog", "Completed", activity_id=1, completed=True)


class Engine:
    def __init__(self, env: Any, stamp: Stamp | None = None, root: Path | None = None):
        self.env = env
        self.root = Path(root) if root else stamp_root(env)
        self.stamp = stamp or load_stamp(self.root)
        self.faults = Faults.from_env(env)
        self.source = StampSource(self.root, self.faults)
        # -PerformVMLogRecovery: an unreachable VM's disk, read through its node (the VM's faults do not apply)
        self.disk = StampSource(self.root)
        cpu = os.cpu_count() or 2
        self.workers = int(env.setting("collection.concurrency", max(2, cpu)))
        self.scan_workers = int(env.setting("collection.scan_concurrency", 2))  # CPU-bound: more threads only contend
        self.split_bytes = int(float(env.setting("collection.zip_split_mb", 512)) * 1048576)
        self.level = int(env.setting("collection.compress_level", 1))
        self.host_timeout = float(env.setting("collection.host_timeout_seconds", 1800))
        self.resume_hours = float(env.setting("collection.resume_max_age_hours", 24))

    # -- the state directory ---------------------------------------------------------------
    def lock(self) -> CollectionLock:
        return CollectionLock(self.env.state.sub("collector", "locks") / f"{self.stamp.name}.lock")

    # -- run --------------------------------------------------------------------------------
    def run(self, req: CollectionRequest, sink: Any, ctx: Any) -> CollectionResult:
        stop: threading.Event = ctx.stop_event
        # Pre-flight before anything else: a destination that refuses costs no work.
        try:
            sink.preflight()
        except DestinationError as e:
            raise CollectionError(error_record(
                redact(e.message), e.error_id, getattr(ErrorCategory, e.category, ErrorCategory.ResourceUnavailable),
                exception_type="System.IO.IOException", command=req.command, target=sink.description)) from None
        lock = self.lock()
        try:
            lock.acquire({"user": req.user or "unknown", "started": _now().isoformat(),
                          "window": req.window.describe(), "command": req.command})
        except LockBusy as e:
            raise CollectionError(error_record(
                str(e), "CollectionAlreadyRunning", ErrorCategory.ResourceBusy,
                exception_type="System.InvalidOperationException", command=req.command)) from None
        try:
            return self._run_locked(req, sink, ctx, stop)
        finally:
            lock.release()

    def _run_locked(self, req: CollectionRequest, sink: Any, ctx: Any, stop: threading.Event) -> CollectionResult:
        started = _now()
        key = request_key({**req.key_params, "stamp": self.stamp.name, "command": req.command})
        ercs = self.stamp.ercs_name.upper()
        journal, resumed = Journal.open(
            self.env.state.sub("collector", "journals"), key,
            {"bundle": f"AzureStackLogs-{self._bundle_time(started):%Y%m%d%H%M%S}-{ercs}",
             "window": req.window.as_dict(), "started": started.isoformat()},
            self.resume_hours)
        window = req.window
        if resumed:  # the resumed run keeps the original window so the bundle stays consistent
            from collector.window import Window
            window = Window(datetime.fromisoformat(journal.data["window"]["from_utc"]),
                            datetime.fromisoformat(journal.data["window"]["to_utc"]))
        bundle = journal.data["bundle"]
        staging = self.env.state.sub("collector", "staging", key)
        for p in staging.glob("*.partial"):
            p.unlink()
        rep = _Reporter(ctx, staging / OUTPUT_LOG, append=resumed)
        try:
            return self._collect(req, window, sink, ctx, stop, journal, resumed, bundle, staging, rep, started)
        finally:
            rep.close()

    def _collect(self, req, window, sink, ctx, stop, journal: Journal, resumed, bundle, staging: Path,
                 rep: _Reporter, started) -> CollectionResult:
        deadline = time.monotonic() + req.timeout_minutes * 60
        rep.info(f"Converting FromDate and ToDate to UTC: {window.describe()}")
        if window.from_utc > datetime.now(timezone.utc):
            rep.warning(f"FromDate {fmt(window.from_utc)} (UTC) is in the future: there are no logs to collect yet.")
        self._flag_interrupted(sink, bundle, rep)
        try:
            location = sink.open_bundle(bundle)
            self._mark_running(req, window, bundle, journal, resumed, sink, staging)
        except DestinationError as e:
            raise CollectionError(error_record(
                redact(e.message), e.error_id, getattr(ErrorCategory, e.category, ErrorCategory.WriteError),
                exception_type="System.IO.IOException", command=req.command, target=sink.description)) from None
        rep.info(f"Log collection destination: {location}")
        if resumed:
            done = [n for n, z in journal.zips().items() if z.get("delivered")]
            rep.info(f"Resuming the collection started {journal.data['started']}: {len(done)} zip file(s) already delivered.")

        units = plan_units(self.stamp, req)
        states = {(u.role, u.host): UnitState(u) for u in units}
        host_start: dict[str, float] = {}
        host_mutex = threading.Lock()
        cut_reason: dict[str, str] = {}  # file key -> why it was not collected

        def host_clock(host: str) -> None:
            with host_mutex:
                host_start.setdefault(host.lower(), time.monotonic())

        def check(host: str) -> None:
            if stop.is_set():
                raise _Cut("stopped")
            now = time.monotonic()
            if now > deadline:
                raise _Cut(f"timed out: the run exceeded TimeOutInMinutes ({req.timeout_minutes:g})")
            t0 = host_start.get(host.lower())
            if t0 is not None and now - t0 > self.host_timeout:
                raise _Cut(f"timed out: host {host} exceeded its {self.host_timeout:g} s collection timeout")

        # -- scan ------------------------------------------------------------------------------
        wanted_types = {t.lower() for t in req.log_types} if req.log_types else None

        def scan(st: UnitState) -> None:
            u = st.unit
            st.started = _now()
            host_clock(u.host)
            try:
                check(u.host)
                listing, names = self.source.list_unit_pruned(u.host, u.folder,
                                                              lambda ns: prune_by_name(ns, window))
            except HostUnreachable as e:
                if req.vm_recovery and u.host_kind == "vm":
                    # -PerformVMLogRecovery: event logs are read from the VM's disk through its node.
                    listing = [f for f in self.disk.list_unit(u.host, u.folder) if f.name.lower().endswith(".evtx")]
                    names = [f.relpath for f in listing]
                    st.recovered = True
                    st.error = f"{e} Windows event logs were recovered from the VM's disk."
                else:
                    st.status, st.error, st.ended = "failed", str(e), _now()
                    rep.verbose(f"{u.role} on {u.host}: {e}")
                    return
            except _Cut as c:
                st.status, st.error, st.ended = ("stopped" if c.reason == "stopped" else "timed out"), c.reason, _now()
                return
            judged = judge(listing, window, lambda f: self.source.first_record_time(u.host, u.folder, f),
                           include_dumps=req.include_dumps, siblings=names)
            st.outside += len(names) - len(listing)  # ruled out by name, never stat'ed
            for j in judged:
                if not j.selected:
                    st.outside += 1
                elif wanted_types is None or j.log_type.lower() in wanted_types:
                    st.selected.append(j)
            st.status = "scanned"
            rep.verbose(f"{u.role} on {u.host}: {len(st.selected)} file(s) in the window, {st.outside} outside.")

        # -- resume -----------------------------------------------------------------------------
        delivery_errors: list[str] = []
        # Zips a previous run built but did not deliver: deliver them now.
        for name, z in list(journal.zips().items()):
            if sink.has(name, z["bytes"]):
                if not z.get("delivered"):  # delivered just before the crash, not yet journalled
                    z["delivered"] = True
                    journal.record_zip(name, z)
                continue
            z["delivered"] = False
            local = staging / name
            if local.is_file() and local.stat().st_size == z["bytes"]:
                self._deliver(sink, local, name, z, journal, stop, rep, delivery_errors)
            if not z.get("delivered"):  # lost: its files are collected again
                journal.forget_zip(name)

        done_keys: set[str] = set()
        for z in journal.zips().values():
            for f in z.get("files", []):
                done_keys.add(f"{z['role']}|{f['host']}|{f['path']}")

        # -- pack -------------------------------------------------------------------------------
        def build(job: tuple[str, str, list[FileRef]]) -> None:
            role, name, part = job
            if stop.is_set():
                for f in part:
                    cut_reason[f.key] = "stopped"
                return
            tmp = staging / (name + ".partial")
            entry: dict[str, Any] = {"role": role, "files": [], "errors": []}
            try:
                with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=self.level, allowZip64=True) as zf:
                    for f in part:
                        try:
                            host_clock(f.unit.host)
                            check(f.unit.host)
                            source = self.disk if states[(f.unit.role, f.unit.host)].recovered else self.source
                            n, truncated = self._add_file(zf, f, source, check, progress)
                        except FileUnreadable as e:
                            entry["errors"].append({"host": f.unit.host, "path": f.relpath, "reason": str(e)})
                            cut_reason[f.key] = str(e)
                            continue
                        except HostUnreachable as e:
                            cut_reason[f.key] = str(e)
                            continue
                        except _Cut as c:
                            cut_reason[f.key] = c.reason
                            if c.reason == "stopped":
                                raise
                            continue
                        rec = {"host": f.unit.host, "path": f.relpath, "bytes": n}
                        if truncated:
                            rec["truncated"] = truncated
                            cut_reason[f.key] = "truncated, " + truncated
                        entry["files"].append(rec)
            except _Cut:
                tmp.unlink(missing_ok=True)  # an interrupted zip is never delivered
                for f in part:
                    cut_reason.setdefault(f.key, "stopped")
                return
            if not entry["files"]:
                tmp.unlink(missing_ok=True)
                return
            final = staging / name
            os.replace(tmp, final)
            entry["bytes"] = final.stat().st_size
            entry["sha256"] = _sha256(final)
            entry["delivered"] = False
            journal.record_zip(name, entry)  # built: a rerun delivers it (or finds it delivered) instead of rebuilding
            self._deliver(sink, final, name, entry, journal, stop, rep, delivery_errors)
            if not entry["delivered"]:
                for f in part:
                    cut_reason.setdefault(f.key, "stopped" if stop.is_set() else f"{name} could not be delivered")
            progress.add(role, 0, force=True)

        def build_safely(job: tuple[str, str, list[FileRef]]) -> None:
            try:
                build(job)
            except Exception as e:  # a bug or an OS error in one zip must not sink the whole run
                for f in job[2]:
                    cut_reason.setdefault(f.key, f"failed while building {job[1]}: {e}")
                (staging / (job[1] + ".partial")).unlink(missing_ok=True)
            finally:
                progress.job_done(job[0])

        def role_jobs(role: str) -> list[tuple[str, str, list[FileRef]]]:
            refs = [FileRef(st.unit, j.file.relpath, j.file.size)
                    for st in states.values() if st.unit.role == role for j in st.selected]
            refs = [r for r in refs if r.key not in done_keys]
            used = [int(n.rsplit("_", 1)[1][:-4]) for n, z in journal.zips().items() if z["role"] == role]
            n = max(used, default=0)
            jobs = []
            for part in chunk(refs, self.split_bytes):
                n += 1
                jobs.append((role, f"{role}_{n}.zip", part))
            return sorted(jobs, key=lambda j: -sum(f.size for f in j[2]))  # biggest first

        # A role is packed as soon as all its hosts are scanned, while other hosts are still being
        # scanned: one slow host holds back its own role, not the whole bundle.
        unscanned: dict[str, int] = {}
        for st in states.values():
            unscanned[st.unit.role] = unscanned.get(st.unit.role, 0) + 1
        unscanned_mutex = threading.Lock()
        progress = _Progress(ctx)
        pack_pool = ThreadPoolExecutor(self.workers)

        def scan_then_pack(st: UnitState) -> None:
            try:
                scan(st)
            finally:
                role = st.unit.role
                with unscanned_mutex:
                    unscanned[role] -= 1
                    ready = unscanned[role] == 0
                if ready:
                    jobs = role_jobs(role)
                    size = sum(f.size for job in jobs for f in job[2])
                    progress.add_role(role, size)
                    if jobs:
                        rep.verbose(f"{role}: {len(jobs)} zip file(s) to build from "
                                    f"{sum(len(j[2]) for j in jobs)} file(s), {size / 1048576:.1f} MB.")
                    progress.add_jobs(role, len(jobs))  # all of them before the first can finish
                    for job in jobs:
                        pack_pool.submit(build_safely, job)

        try:
            with ThreadPoolExecutor(self.scan_workers) as pool:
                list(pool.map(scan_then_pack, states.values()))
        finally:
            pack_pool.shutdown(wait=True)
        progress.complete()

        # -- report -----------------------------------------------------------------------------
        ended = _now()
        manifest = self._manifest(req, window, bundle, states, journal, cut_reason, delivery_errors,
                                  started, ended, sink, resumed, stop.is_set())
        units_ok = sum(1 for r in manifest["roles"].values() for h in r["hosts"].values() if h["status"] == "ok")
        total = len(states)
        for role, r in sorted(manifest["roles"].items()):
            for host, h in sorted(r["hosts"].items()):
                if h["status"] != "ok":
                    rep.warning(f"{role} on {host}: {h['status']}: {h.get('error') or 'see manifest.json'}")
        for err in delivery_errors:
            rep.warning(err)
        mb = manifest["summary"]["bytes"] / 1048576
        rep.info(f"Log collection {manifest['status']}: collected {units_ok} of {total} role instances "
                 f"({manifest['summary']['files']} files, {mb:.1f} MB) into {manifest['summary']['zips']} zip file(s).")
        rep.info(f"Logs are in {redact(str(sink.description))}: {bundle}")
        rep._f.flush()
        # The output log and the manifest go last; the manifest marks the bundle as described.
        try:
            sink.deliver(staging / OUTPUT_LOG, OUTPUT_LOG, stop=None)
            atomic_write(staging / MANIFEST, redact(json.dumps(manifest, indent=2)))
            sink.deliver(staging / MANIFEST, MANIFEST, stop=None)
        except DestinationError as e:
            rep.error(error_record(redact(e.message), e.error_id, ErrorCategory.WriteError,
                                   exception_type="System.IO.IOException", command=req.command))
        if stop.is_set():
            raise PipelineStoppedError("The pipeline has been stopped.")
        if not delivery_errors:
            journal.finish()
            shutil.rmtree(staging, ignore_errors=True)
            try:
                journal.path.unlink()
            except OSError:
                pass
        return CollectionResult(bundle, str(sink.description), manifest, manifest["status"], units_ok, total)

    # -- the in-progress marker ---------------------------------------------------------------
    def _owner(self) -> dict[str, Any]:
        """Who writes a bundle: enough to tell later whether it is still running. The lock is named
        by a hash (its path would show the server's state directory in a shipped bundle)."""
        lock_id = hashlib.sha256(str(self.lock().path.resolve()).encode()).hexdigest()[:16]
        return {"host": socket.gethostname(), "pid": os.getpid(), "lock": lock_id}

    def _mark_running(self, req, window, bundle, journal: Journal, resumed, sink, staging: Path) -> None:
        """Deliver manifest.json with status "running" before the first zip (atomically, as every
        delivered file); the final manifest replaces it."""
        marker = {
            "tool": "Get-AzureStackLog (azs-pep)",
            "bundle": bundle,
            "stamp": self.stamp.name,
            "ercs": self.stamp.ercs_name.upper(),
            "status": "running",
            "resumed": resumed,
            "started": journal.data.get("started"),
            "window": window.as_dict(),
            "request": self._request(req, sink),
            "owner": self._owner(),
            "note": "This collection has not finished: the zips here may not be all, and the output log is "
                    "written at the end. If its process is gone, the bundle is incomplete.",
        }
        atomic_write(staging / RUNNING_MANIFEST, redact(json.dumps(marker, indent=2)))
        sink.deliver(staging / RUNNING_MANIFEST, MANIFEST, stop=None)

    def _owner_gone(self, owner: dict[str, Any]) -> bool:
        """True when the process that wrote a "running" manifest cannot still be writing it: it used
        our lock (which this run holds), or it ran on this computer and its process is dead."""
        if not isinstance(owner, dict):
            return False
        if owner.get("lock") and owner.get("lock") == self._owner()["lock"]:
            return True
        pid = owner.get("pid")
        if owner.get("host") == socket.gethostname() and isinstance(pid, int) and pid > 0:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return True
            except OSError:
                return False
        return False

    def _flag_interrupted(self, sink, bundle: str, rep: _Reporter) -> None:
        """Bundles at this destination whose manifest still says "running" and whose owner is gone:
        rewrite the manifest to status "incomplete" and warn. Only destinations that can list their
        bundles (the folder sink) are checked; the bundle this run continues is left alone."""
        find = getattr(sink, "running_bundles", None)
        if find is None:
            return
        try:
            found = list(find())
        except OSError:
            return
        for name, manifest in found:
            if name == bundle or not self._owner_gone(manifest.get("owner")):
                continue
            manifest["status"] = "incomplete"
            manifest["interrupted"] = {
                "detected": _now().isoformat(),
                "reason": "the collection's process ended before it finished (killed, crashed or powered off)",
            }
            try:
                where = sink.rewrite_manifest(name, redact(json.dumps(manifest, indent=2)))
            except OSError as e:
                rep.warning(f"The bundle {name} is incomplete (its collection was interrupted), and its manifest "
                            f"could not be marked so: {e.strerror or e}")
                continue
            rep.warning(f"The bundle {where} is incomplete: its collection started {manifest.get('started') or '?'} "
                        "was interrupted before it finished (its process is gone), so some zips and the output "
                        "log are missing. Its manifest.json now says status 'incomplete'. Running the same command "
                        "again (within collection.resume_max_age_hours) completes it.")

    # -- helpers -----------------------------------------------------------------------------
    def _request(self, req: CollectionRequest, sink: Any) -> dict[str, Any]:
        return {
            "FilterByRole": req.roles, "FilterByNode": req.nodes, "FilterByLogType": req.log_types,
            "FilterByResourceProvider": req.resource_providers, "IncludeDumpFile": req.include_dumps,
            "PerformVMLogRecovery": req.vm_recovery, "TimeOutInMinutes": req.timeout_minutes,
            "destination": redact(str(sink.description)),
        }

    def _bundle_time(self, t: datetime) -> datetime:
        """Bundle names carry seconds only: two collections in one second get distinct names."""
        from datetime import timedelta

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

    def _add_file(self, zf: zipfile.ZipFile, f: FileRef, source: StampSource, check,
                  progress: _Progress) -> tuple[int, str | None]:
        """Stream one file into the zip; returns (bytes, why it was truncated or None)."""
        src = source.open(f.unit.host, f.unit.folder, f.relpath)
        n = 0
        truncated = None
        with src:
            st = os.fstat(src.fileno())
            first = src.read(BLOCK)
            info = zipfile.ZipInfo(f.arcname, time.gmtime(st.st_mtime)[:6])
            info.compress_type = zipfile.ZIP_STORED if _looks_compressed(first) else zipfile.ZIP_DEFLATED
            info.file_size = st.st_size
            # A hand-made ZipInfo carries no level: zipfile would fall back to zlib's default (6).
            for slot in ("_compresslevel", "compress_level"):  # 3.11/3.12 name, 3.13+ name
                if slot in zipfile.ZipInfo.__slots__:
                    setattr(info, slot, self.level)
            with zf.open(info, "w", force_zip64=st.st_size > 0x7FFFFFFF) as out:
                if info.compress_type == zipfile.ZIP_DEFLATED and hasattr(out, "_compressor"):
                    out._compressor = compressobj(self.level)  # a faster deflate (collector.compress)
                block = first
                while block:
                    out.write(block)
                    n += len(block)
                    progress.add(f.unit.role, len(block))
                    try:
                        check(f.unit.host)
                    except _Cut as c:
                        if c.reason == "stopped":
                            raise
                        truncated = c.reason
                        break
                    block = src.read(BLOCK)
        return n, truncated

    def _deliver(self, sink, local: Path, name: str, entry: dict, journal: Journal, stop, rep: _Reporter,
                 errors: list[str]) -> None:
        if stop.is_set():
            return
        try:
            sink.deliver(local, name, stop=stop)
        except PipelineStoppedError:
            return  # stopped mid-copy: not delivered; the next run resumes what was sent
        except DestinationError as e:
            errors.append(f"{name} was built but could not be delivered: {e.message}")
            return
        entry["delivered"] = True
        stats = (getattr(sink, "stats", None) or {}).get(name) or {}
        note = ""
        if stats.get("bytes_skipped"):  # an interrupted copy/upload was continued, not restarted
            entry["bytes_resumed"] = stats["bytes_skipped"]
            if "blocks_skipped" in stats:
                note = f"; {stats['blocks_skipped']} of {stats['blocks']} blocks were already at the destination"
            else:
                note = f"; {stats['bytes_skipped']} of {stats['bytes']} bytes were already at the destination"
        journal.record_zip(name, entry)
        rep.verbose(f"Delivered {name} ({entry['bytes']} bytes{note}).")

    def _manifest(self, req, window, bundle, states, journal, cut_reason, delivery_errors, started, ended,
                  sink, resumed, stopped) -> dict[str, Any]:
        roles: dict[str, Any] = {}
        collected: dict[tuple[str, str], list[dict]] = {}
        zips_by_role: dict[str, list[dict]] = {}
        for name, z in sorted(journal.zips().items()):
            zips_by_role.setdefault(z["role"], []).append(
                {"name": name, "bytes": z["bytes"], "sha256": z["sha256"], "files": len(z["files"]),
                 "delivered": bool(z.get("delivered")), "bytes_resumed": z.get("bytes_resumed", 0)})
            for f in z["files"] if z.get("delivered") else ():
                collected.setdefault((z["role"], f["host"].lower()), []).append({**f, "zip": name})
        not_collected = []
        total_files = total_bytes = 0
        for (role, host), st in states.items():
            files = collected.get((role, host.lower()), [])
            missing = []
            for j in st.selected:
                k = f"{role}|{host}|{j.file.relpath}"
                if k in cut_reason:
                    missing.append({"role": role, "host": host, "path": j.file.relpath, "reason": cut_reason[k]})
            not_collected += missing
            status = st.status
            error = st.error
            if status == "scanned":
                reasons = [m["reason"] for m in missing]
                if any(r == "stopped" for r in reasons):
                    status = "stopped"
                elif any("timed out" in r for r in reasons):
                    status, error = "timed out", next(r for r in reasons if "timed out" in r)
                elif reasons and not files:
                    status, error = "failed", reasons[0]
                elif reasons or st.recovered:
                    status, error = "partial", error or reasons[0]
                else:
                    status = "ok"
            if status == "failed" and st.error:
                not_collected.append({"role": role, "host": host, "path": None, "reason": st.error})
            nbytes = sum(f["bytes"] for f in files)
            total_files += len(files)
            total_bytes += nbytes
            r = roles.setdefault(role, {"status": "ok", "zips": zips_by_role.get(role, []), "hosts": {}})
            r["hosts"][host] = {
                "status": status, "files": len(files), "bytes": nbytes, "error": error,
                "start": _iso(st.started), "end": _iso(st.ended or ended),
                "skipped_outside_window": st.outside, "collected": files,
            }
        order = ["failed", "timed out", "stopped", "partial", "ok"]
        for r in roles.values():
            sts = [h["status"] for h in r["hosts"].values()]
            r["status"] = next((s for s in order if s in sts), "ok")
        all_status = [h["status"] for r in roles.values() for h in r["hosts"].values()]
        if stopped:
            status = "stopped"
        elif all_status and all(s == "ok" for s in all_status) and not delivery_errors:
            status = "complete"
        elif any(s in ("ok", "partial", "timed out") for s in all_status):
            status = "timed out" if "timed out" in all_status else "partial"
        else:
            status = "failed" if all_status else "complete"
        for e in delivery_errors:
            not_collected.append({"role": None, "host": None, "path": None, "reason": e})
        return {
            "tool": "Get-AzureStackLog (azs-pep)",
            "bundle": bundle,
            "stamp": self.stamp.name,
            "ercs": self.stamp.ercs_name.upper(),
            "status": status,
            "resumed": resumed,
            "started": journal.data.get("started", started.isoformat()),
            "ended": ended.isoformat(),
            "window": window.as_dict(),
            "request": self._request(req, sink),
            "summary": {"units": len(states), "files": total_files, "bytes": total_bytes,
                        "zips": sum(len(z) for z in zips_by_role.values()),
                        "zip_bytes": sum(z["bytes"] for zs in zips_by_role.values() for z in zs)},
            "roles": roles,
            "not_collected": not_collected,
        }


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(BLOCK)
            if not b:
                break
            h.update(b)
    return h.hexdigest()
