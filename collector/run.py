"""One collection run, in steps: scan -> pack -> deliver -> report.

    run = Run(...)                  # the units planned, nothing done yet
    run.execute()                   # resume: deliver zips a previous run built; then scan every unit
                                    # and pack each role once all its hosts are scanned (a slow host
                                    # holds back its own role only); each zip is delivered when built
    outcome = run.report(ended)     # settle every unit, build manifest.json, say the closing lines

State shared between the steps lives on the run object, each piece with one writer per key: `units`
(a unit's status moves along collector.status.UNIT_TRANSITIONS), `cuts` (file key -> why it is not
whole in the bundle) and `delivery_errors`. The manifest is a pure function of that state
(collector.manifest).
"""
from __future__ import annotations

import heapq
import itertools
import os
import sys
import threading
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from collector.compress import FAST, ObservedRatio, compressobj, deflate_whole, level_for_link, worth_deflating
from collector.errors import CollectionStopped, DestinationError
from collector.journal import Journal
from collector.logkinds import judge, prune_by_name
from collector.manifest import Closing, Header, build_manifest, closing, collected_by_unit, run_status, settle_unit, unit_cuts
from collector.outputlog import OutputLog
from collector.plan import CollectionRequest, FileRef, Unit, chunk
from collector.progress import RunProgress
from collector.sinks.base import Sink
from collector.sinks.pacing import LinkMeter
from collector.source import FileUnreadable, HostUnreachable, StampSource
from collector.status import STOPPED_CUT, Cut, CutKind, RunStatus, UnitStatus
from collector.units import UnitState
from collector.window import Window
from collector.zipwriter import Method, ZipWriter

BLOCK = 1 << 20
_ZIP64_FROM = 0x7FFFFFFF  # a source this big gets ZIP64 headers (it may still grow while read)


def _now() -> datetime:
    return datetime.now(timezone.utc)


# On a slow link a zip is sent while the next is built; smaller zips start the link sooner.
SLOW_LINK_SPLIT = 64 * 1048576
_MEASURED_FROM = 1048576  # deliveries this big say something about the link's speed (smaller: latency)
# A role with this little log data is packed by the thread that scanned it: handing it to a packer
# costs a thread switch and GIL contention for work of a millisecond or two.
INLINE_BYTES = 1048576
# The GIL's switch interval while a run goes on (Python's default is 5 ms). The scanning thread and
# the packers' Python work between their C calls (read, deflate, hash, write: those release the GIL)
# wait for the GIL after every system call; with the default the scanner finished listing the 451 MB
# stamp at about 0.9 s into the run, with 0.5 ms at about 0.7 s, and the whole run took about 10 % less.
SWITCH_INTERVAL = 0.0005


@dataclass(frozen=True)
class Limits:
    workers: int           # zips built and delivered at once
    scan_workers: int      # units listed and judged at once
    split_bytes: int       # log data per zip
    level: int | None      # deflate level; None: chosen from the link's speed (compress.level_for_link)
    host_timeout: float    # seconds per host


@dataclass(frozen=True)
class ZipJob:
    role: str
    name: str
    files: list[FileRef]

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files)


@dataclass(frozen=True)
class Described:
    """What the manifest says about the run besides its units."""

    bundle: str
    stamp: str
    ercs: str
    resumed: bool
    started: str
    request: Mapping[str, Any]


@dataclass
class Outcome:
    status: RunStatus
    manifest: dict[str, Any]
    closing: Closing


class _Abort(Exception):
    """The stop signal, inside a zip being built: the zip is dropped."""


class Deadlines:
    """The stop signal, TimeOutInMinutes and each host's timeout (counted from its first use)."""

    def __init__(self, stop: threading.Event, timeout_minutes: float, host_timeout: float):
        self.stop = stop
        self._minutes = timeout_minutes
        self._deadline = time.monotonic() + timeout_minutes * 60
        self._host_timeout = host_timeout
        self._host_start: dict[str, float] = {}
        self._mutex = threading.Lock()

    def start_host(self, host: str) -> None:
        with self._mutex:
            self._host_start.setdefault(host.lower(), time.monotonic())

    def check(self, host: str) -> Cut | None:
        """None while work on `host` may go on; else why it must not."""
        if self.stop.is_set():
            return STOPPED_CUT
        now = time.monotonic()
        if now > self._deadline:
            return Cut(CutKind.TIMED_OUT, f"timed out: the run exceeded TimeOutInMinutes ({self._minutes:g})")
        t0 = self._host_start.get(host.lower())
        if t0 is not None and now - t0 > self._host_timeout:
            return Cut(CutKind.TIMED_OUT,
                       f"timed out: host {host} exceeded its {self._host_timeout:g} s collection timeout")
        return None


@dataclass
class Run:
    req: CollectionRequest
    window: Window
    units: list[Unit]
    source: StampSource
    disk: StampSource  # VM log recovery: a VM's disk, read through its node
    sink: Sink
    out: OutputLog
    stop: threading.Event
    journal: Journal
    staging: Path
    limits: Limits
    described: Described
    states: dict[tuple[str, str], UnitState] = field(init=False)
    cuts: dict[str, Cut] = field(default_factory=dict)
    delivery_errors: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.states = {(u.role, u.host): UnitState(u) for u in self.units}
        self.deadlines = Deadlines(self.stop, self.req.timeout_minutes, self.limits.host_timeout)
        self.progress = RunProgress(self.out)
        self._wanted_types = {t.lower() for t in self.req.log_types} if self.req.log_types else None
        # The link's speed: the destination's bandwidth cap, else measured on deliveries (bytes/s).
        limiter = getattr(self.sink, "limiter", None)
        self.link_cap: float | None = getattr(limiter, "rate", None)
        self.link_meter = LinkMeter()  # several zips share the link at once: measured as one
        self.observed = ObservedRatio()  # how these logs compress: the level follows them too
        self.split_bytes = self.limits.split_bytes
        self._senders: ThreadPoolExecutor | None = None
        if self.limits.level is None and level_for_link(self.link_cap, self.limits.workers) != FAST:
            self.split_bytes = min(self.split_bytes, SLOW_LINK_SPLIT)

    def level(self) -> int:
        """The deflate level of the next zip: the configured one, else the best for the link."""
        if self.limits.level is not None:
            return self.limits.level
        return level_for_link(self.link_cap or self.link_meter.rate(_MEASURED_FROM), self.limits.workers,
                              self.observed.content())

    # -- the whole run ------------------------------------------------------------------------
    def execute(self) -> None:
        before = sys.getswitchinterval()
        sys.setswitchinterval(min(before, SWITCH_INTERVAL))
        try:
            self._execute()
        finally:
            sys.setswitchinterval(before)

    def _execute(self) -> None:
        done = self.resume_deliveries()
        unscanned: dict[str, int] = {}
        for st in self.states.values():
            unscanned[st.unit.role] = unscanned.get(st.unit.role, 0) + 1
        mutex = threading.Lock()
        packers = ThreadPoolExecutor(self.limits.workers)
        # Zips waiting for a packer, biggest first: the role scanned last may be the biggest (on the
        # generated stamps VirtualMachines, a quarter of the bytes, is the 77th of 79 roles), and
        # taken in turn it left one packer building it alone at the end while the other idled.
        waiting: list[tuple[int, int, ZipJob]] = []
        order = itertools.count()
        # One scanning thread lists a local stamp: CPU work under the GIL. Packers running beside it
        # took the GIL after every read and deflate, and on the 451 MB stamp the scan took 0.6-0.8 s
        # instead of 0.2 s and the packing 3.3 thread-seconds instead of 1.9: so they wait for the scan
        # (small roles are still packed by the scanner as it goes). Slow hosts get two scanning threads
        # (Engine: collection.scan_concurrency), and then a role is packed as soon as it is scanned,
        # so a slow host holds back its own role only.
        scan_over = threading.Event()
        if self.limits.scan_workers > 1:
            scan_over.set()

        def pack_biggest() -> None:
            scan_over.wait()
            with mutex:
                _, _, job = heapq.heappop(waiting)
            self.pack_safely(job)
        # A destination behind a link (share, container: it has a bandwidth limiter) gets its own
        # sending threads, so the packers never wait for the link and the link never waits for a
        # packer that is sending; a folder takes a zip at once (a rename), in the packer's thread.
        self._senders = ThreadPoolExecutor(self.limits.workers) if hasattr(self.sink, "limiter") else None

        def scan_then_pack(st: UnitState) -> None:
            try:
                self.scan(st)
            finally:
                role = st.unit.role
                with mutex:
                    unscanned[role] -= 1
                    ready = unscanned[role] == 0
                if ready:
                    jobs = self.jobs_for(role, done)
                    size = sum(j.size for j in jobs)
                    self.progress.add_role(role, size, len(jobs))
                    if jobs:
                        self.out.verbose(f"{role}: {len(jobs)} zip file(s) to build from "
                                         f"{sum(len(j.files) for j in jobs)} file(s), {size / 1048576:.1f} MB.")
                    for job in jobs:
                        if size <= INLINE_BYTES:  # a small role: packed here, sooner than a hand-off
                            self.pack_safely(job)
                        else:
                            with mutex:
                                heapq.heappush(waiting, (-job.size, next(order), job))
                            packers.submit(pack_biggest)

        try:
            with ThreadPoolExecutor(self.limits.scan_workers) as scanners:
                list(scanners.map(scan_then_pack, self.states.values()))
        finally:
            scan_over.set()
            packers.shutdown(wait=True)
            if self._senders is not None:
                self._senders.shutdown(wait=True)
        self.progress.complete()

    # -- scan ---------------------------------------------------------------------------------
    def scan(self, st: UnitState) -> None:
        """List one unit and judge every file against the window; PENDING -> SCANNED, or FAILED /
        TIMED_OUT / STOPPED when it cannot be listed."""
        u = st.unit
        st.started = _now()
        self.deadlines.start_host(u.host)
        cut = self.deadlines.check(u.host)
        if cut is not None:
            st.move(UnitStatus.STOPPED if cut.kind is CutKind.STOPPED else UnitStatus.TIMED_OUT, cut.reason)
            st.ended = _now()
            return
        try:
            listing, names = self.source.list_unit_pruned(u.host, u.folder, lambda ns: prune_by_name(ns, self.window))
        except HostUnreachable as e:
            if not (self.req.vm_recovery and u.host_kind == "vm"):
                st.move(UnitStatus.FAILED, str(e))
                st.ended = _now()
                self.out.verbose(f"{u.role} on {u.host}: {e}")
                return
            # VM log recovery: the event logs are read from the VM's disk through its node.
            listing = [f for f in self.disk.list_unit(u.host, u.folder) if f.name.lower().endswith(".evtx")]
            names = [f.relpath for f in listing]
            st.recovered = True
            st.error = f"{e} Windows event logs were recovered from the VM's disk."
        judged = judge(listing, self.window, lambda f: self.source.first_record_time(u.host, u.folder, f),
                       include_dumps=self.req.include_dumps, siblings=names)
        st.outside += len(names) - len(listing)  # ruled out by name, never stat'ed
        for j in judged:
            if j.kind == "dmp" and not self.req.include_dumps:
                st.dumps_left_out += 1  # not asked for: not "outside the window"
            elif not j.selected:
                st.outside += 1
            elif self._wanted_types is None or j.log_type.lower() in self._wanted_types:
                st.selected.append(j)
        st.move(UnitStatus.SCANNED)
        dumps = f", {st.dumps_left_out} crash dump(s) left out (-IncludeDumpFile not given)" if st.dumps_left_out else ""
        self.out.verbose(f"{u.role} on {u.host}: {len(st.selected)} file(s) in the window, {st.outside} outside{dumps}.")

    # -- resume -------------------------------------------------------------------------------
    def resume_deliveries(self) -> set[str]:
        """Zips a previous run of the same request built: delivered ones are kept, built ones are
        delivered now from staging, lost ones forgotten (their files are collected again). Returns
        the file keys already in delivered zips."""
        for name, z in list(self.journal.zips().items()):
            if self.sink.has(name, z["bytes"]):
                if not z.get("delivered"):  # delivered just before the crash, not yet journalled
                    self.journal.record_delivered(name)
                continue
            z["delivered"] = False
            local = self.staging / name
            if local.is_file() and local.stat().st_size == z["bytes"]:
                self.deliver(local, name, z)
            if not z.get("delivered"):
                self.journal.forget_zip(name)
        return {f"{z['role']}|{f['host']}|{f['path']}" for z in self.journal.zips().values() for f in z.get("files", [])}

    # -- pack ---------------------------------------------------------------------------------
    def jobs_for(self, role: str, done: set[str]) -> list[ZipJob]:
        """The zips still to build for a scanned role: its files not yet delivered, cut at the split
        size, numbered after the zips earlier runs made; biggest first."""
        refs = [FileRef(st.unit, j.file.relpath, j.file.size, j.file.mtime.timestamp())
                for st in self.states.values() if st.unit.role == role for j in st.selected]
        refs = [r for r in refs if r.key not in done]
        used = [int(n.rsplit("_", 1)[1][:-4]) for n, z in self.journal.zips().items() if z["role"] == role]
        first = max(used, default=0) + 1
        jobs = [ZipJob(role, f"{role}_{first + i}.zip", part)
                for i, part in enumerate(chunk(refs, self.split_bytes))]
        return sorted(jobs, key=lambda j: -j.size)

    def pack_safely(self, job: ZipJob) -> None:
        try:
            self.pack(job)
        except Exception as e:  # a bug or an OS error in one zip must not sink the whole run
            for f in job.files:
                self.cuts.setdefault(f.key, Cut(CutKind.BUILD_FAILED, f"failed while building {job.name}: {e}"))
            (self.staging / (job.name + ".partial")).unlink(missing_ok=True)
        finally:
            self.progress.job_done(job.role)

    def pack(self, job: ZipJob) -> None:
        """Build one zip in staging, journal it, deliver it."""
        if self.stop.is_set():
            for f in job.files:
                self.cuts[f.key] = STOPPED_CUT
            return
        tmp = self.staging / (job.name + ".partial")
        entry: dict[str, Any] = {"role": job.role, "files": [], "errors": []}
        level = self.level()
        # One read buffer for the whole zip: a fresh 1 MiB per read was the allocator's to find each
        # time, and on the 451 MB stamp reading cost a third as much as deflating.
        buf = memoryview(bytearray(BLOCK))
        try:
            with ZipWriter(tmp) as zw:
                for f in job.files:
                    self._pack_file(zw, f, entry, level, buf)
        except _Abort:
            tmp.unlink(missing_ok=True)  # an interrupted zip is never delivered
            for f in job.files:
                self.cuts.setdefault(f.key, STOPPED_CUT)
            return
        if not entry["files"]:
            tmp.unlink(missing_ok=True)
            return
        final = self.staging / job.name
        os.replace(tmp, final)
        entry.update(bytes=zw.size, sha256=zw.sha256, delivered=False)  # hashed as written
        self.observed.add(level, sum(f["bytes"] for f in entry["files"]), zw.size)
        self.journal.record_zip(job.name, entry)  # built: a rerun delivers it instead of rebuilding
        if self._senders is not None:  # over a link: sent while the next zips are built
            self._senders.submit(self.deliver_built, final, job, entry)
        else:
            self.deliver_built(final, job, entry)

    def deliver_built(self, final: Path, job: ZipJob, entry: dict[str, Any]) -> None:
        """Deliver a built zip; what it could not deliver is cut (a bug or an OS error too)."""
        try:
            delivered = self.deliver(final, job.name, entry)
        except Exception as e:  # noqa: BLE001 - one zip must not sink the run; it is reported
            self.delivery_errors.append(f"{job.name} was built but could not be delivered: {e}")
            delivered = False
        if not delivered:
            cut = STOPPED_CUT if self.stop.is_set() else Cut(CutKind.NOT_DELIVERED, f"{job.name} could not be delivered")
            for f in job.files:
                self.cuts.setdefault(f.key, cut)

    def _pack_file(self, zw: ZipWriter, f: FileRef, entry: dict[str, Any], level: int, buf: memoryview) -> None:
        host = f.unit.host
        self.deadlines.start_host(host)
        cut = self.deadlines.check(host)
        if cut is not None:
            self.cuts[f.key] = cut
            if cut.kind is CutKind.STOPPED:
                raise _Abort()
            return
        source = self.disk if self.states[(f.unit.role, host)].recovered else self.source
        try:
            n, truncated = self._add_file(zw, f, source, level, buf)
        except FileUnreadable as e:
            entry["errors"].append({"host": host, "path": f.relpath, "reason": str(e)})
            self.cuts[f.key] = Cut(CutKind.UNREADABLE, str(e))
            return
        except HostUnreachable as e:
            self.cuts[f.key] = Cut(CutKind.UNREACHABLE, str(e))
            return
        rec: dict[str, Any] = {"host": host, "path": f.relpath, "bytes": n}
        if truncated is not None:
            rec["truncated"] = truncated.reason
            self.cuts[f.key] = Cut(truncated.kind, "truncated, " + truncated.reason)
        entry["files"].append(rec)

    def _add_file(self, zw: ZipWriter, f: FileRef, source: StampSource, level: int,
                  buf: memoryview) -> tuple[int, Cut | None]:
        """Stream one file into the zip through `buf`: (bytes, the cut that truncated it or None)."""
        n = 0
        with source.open(f.unit.host, f.unit.folder, f.relpath) as src:
            block = buf[:src.readinto(buf) or 0]
            deflate = worth_deflating(f.relpath, block)
            if len(block) < len(buf):
                # The whole file in one read (a regular file's short read is its end), dated as the
                # scan listed it: one entry in one call each to deflate and write. Each C call gives
                # up the GIL and then waits for it; the streaming path's compressor, flush, final
                # empty read and fstat were a quarter of the packers' time spent waiting, on the
                # 451 MB stamp's small logs.
                zw.add_whole(f.arcname, f.mtime, block, deflate_whole(block, level) if deflate else None)
                self.progress.add(f.unit.role, len(block))
                return len(block), None
            st = os.fstat(src.fileno())
            with zw.open_entry(f.arcname, st.st_mtime, Method.DEFLATED if deflate else Method.STORED,
                               compressobj(level) if deflate else None,
                               zip64=st.st_size > _ZIP64_FROM) as out:
                while block:
                    out.write(block)
                    n += len(block)
                    self.progress.add(f.unit.role, len(block))
                    cut = self.deadlines.check(f.unit.host)
                    if cut is not None:
                        if cut.kind is CutKind.STOPPED:
                            raise _Abort()
                        return n, cut
                    block = buf[:src.readinto(buf) or 0]
        return n, None

    # -- deliver ------------------------------------------------------------------------------
    def deliver(self, local: Path, name: str, entry: dict[str, Any]) -> bool:
        """Hand one built zip to the sink; True when it is at the destination. A stop is never a
        delivery failure: the zip stays built (journal, staging) and the next run sends the rest."""
        if self.stop.is_set():
            return False
        measured = entry["bytes"] >= _MEASURED_FROM
        if measured:
            self.link_meter.started()
        delivered = 0
        try:
            self.sink.deliver(local, name, stop=self.stop)
            delivered = entry["bytes"]
        except CollectionStopped:
            return False
        except DestinationError as e:
            self.delivery_errors.append(f"{name} was built but could not be delivered: {e.message}")
            return False
        finally:
            if measured:
                self.link_meter.ended(delivered)
        entry["delivered"] = True
        stats = (getattr(self.sink, "stats", None) or {}).get(name) or {}
        note, resumed = "", {}
        if stats.get("bytes_skipped"):  # an interrupted copy/upload was continued, not restarted
            resumed = {"bytes_resumed": stats["bytes_skipped"]}
            if "blocks_skipped" in stats:
                note = f"; {stats['blocks_skipped']} of {stats['blocks']} blocks were already at the destination"
            else:
                note = f"; {stats['bytes_skipped']} of {stats['bytes']} bytes were already at the destination"
        entry.update(resumed)
        self.journal.record_delivered(name, **resumed)
        self.out.verbose(f"Delivered {name} ({entry['bytes']} bytes{note}).")
        return True

    # -- report -------------------------------------------------------------------------------
    def report(self, ended: datetime) -> Outcome:
        """Settle every unit, build the manifest, print the closing warnings and lines."""
        zips = self.journal.zips()
        collected = collected_by_unit(zips)
        for st in self.states.values():
            if st.status is UnitStatus.PENDING:  # never reached (the scan pool was cut short)
                st.move(UnitStatus.STOPPED if self.stop.is_set() else UnitStatus.FAILED,
                        None if self.stop.is_set() else "not scanned")
            elif st.status is UnitStatus.SCANNED:
                files = collected.get((st.unit.role, st.unit.host.lower()), [])
                unit_status, error = settle_unit(st, len(files), [c for _, c in unit_cuts(st, self.cuts)])
                st.move(unit_status)
                st.error = error
        stopped = self.stop.is_set()
        status = run_status([st.status for st in self.states.values()], bool(self.delivery_errors), stopped)
        d = self.described
        header = Header(d.bundle, d.stamp, d.ercs, d.resumed, d.started, ended.isoformat(), self.window.as_dict(),
                        d.request)
        manifest = build_manifest(header, list(self.states.values()), zips, self.cuts, self.delivery_errors, status)
        end = closing(manifest, self.delivery_errors, str(d.request.get("destination", "")))
        for w in end.warnings:
            self.out.warning(w)
        for line in end.lines:
            self.out.line(line)
        return Outcome(status, manifest, end)
