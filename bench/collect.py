"""Collection benchmark (run by hand; minutes, several GB of disk for `engine`).

    .venv/bin/python bench/collect.py [--only whole,ttd,engine] [--work DIR] [--runs 5] [--keep] ...

Sections (each prints its figures against a baseline measured in the same run, and the targets):
  whole   the command as the operator waits for it: `pep -c "Get-AzureStackLog ..."` as a process,
          against `zip -1` of exactly the files the manifest lists and against `pep -c Get-Command`
          (start-up alone), for (a) every log of a 451 MB stamp (`pep stamp generate DIR --nodes 4
          --days 2 --mb-per-hour 10 --seed 11`, -FromDate three days back, -IncludeDumpFile) and
          (b) the default collection (last 4 hours, all roles) on the embedded stamp. Then one
          instrumented run of each in-process, with its breakdown (start-up and imports, scan,
          deflate, hash, write, deliver, report and manifest).
  ttd     time to delivered: 200 MB of logs to a private Azurite with upload.bandwidth_mbps 40,
          collection.compress_level auto (chosen from the link) against 1 (the former fixed level).
  engine  Engine.run in a warm child process: a 4-hour window of a 2 GB stamp vs zip -1, and a 1-hour
          window on a stamp ten times larger (the earlier benchmark; about 20 GB of disk).
Default: whole,ttd. Five engineers share this 2-core machine, so every figure is a median of
--runs rounds in which the two sides alternate, and each run's ratio is printed too.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

MB = 1048576


# -- whole process -----------------------------------------------------------------------------
def timed(cmd: list[str], env: dict[str, str] | None = None, stdin: object = None) -> tuple[float, int, str]:
    """(wall seconds, max RSS in KB, stdout) of one child process (os.wait4: its own peak, not the
    largest of all children)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=out, stderr=err, stdin=stdin, env=env)  # type: ignore[arg-type]
        _, status, usage = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if p.returncode != 0:
            raise SystemExit(f"{' '.join(cmd[:4])}... failed ({p.returncode}): {err.read().decode(errors='replace')[-2000:]}")
        return wall, usage.ru_maxrss, out.read().decode(errors="replace")


def settle() -> None:
    """Flush what the previous command wrote and removed before the next one is timed, on both
    sides alike. Each collection writes about 80 MB of zips and removes the last bundle; left to
    the kernel, that writeback (and, on a disk mounted with `discard`, the freed blocks' discards
    at the next journal commit) ran during whichever command came next and slowed its file
    creation several-fold: a command making 80 zips paid more of it than one making one zip."""
    os.sync()


CORES_PROBE = "import hashlib\nb = bytes(range(256)) * 4096\nfor _ in range(300): hashlib.sha256(b).digest()"


def cores_free() -> float:
    """How many cores this run really has: the same CPU-bound work (SHA-256 of 300 MB) in two
    processes at once against one, as a speed-up (2.0: both cores free; 1.0: the second core is
    someone else's). Printed beside the figures, since a two-packer run can only use what is free."""
    one = timed([sys.executable, "-c", CORES_PROBE])[0]
    t = time.perf_counter()
    procs = [subprocess.Popen([sys.executable, "-c", CORES_PROBE]) for _ in range(2)]
    for p in procs:
        p.wait()
    return 2 * one / (time.perf_counter() - t)


def compile_bytecode() -> None:
    """Write the project's bytecode first, as installing a package does (pip compiles it): with
    PYTHONDONTWRITEBYTECODE set, or sources edited since the last run, every `pep` start would
    compile the modules it imports again (about 25 ms for a collection), and the figures would
    measure the compiler, not pep."""
    packages = ("common", "powershell", "collector", "remoting", "cmdlets", "session", "pep")
    subprocess.run([sys.executable, "-m", "compileall", "-q", *packages], cwd=ROOT, check=True,
                   capture_output=True, env={k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"})


def pep(*args: str) -> list[str]:
    return [sys.executable, "-m", "pep", *args]


def listed_files(bundle_parent: Path, stamp: Path) -> list[str]:
    bundle = sorted(bundle_parent.glob("AzureStackLogs-*"))[-1]
    man = json.loads((bundle / "manifest.json").read_text())
    return [str(stamp / "hosts" / host / role / f["path"])  # all roles, no resource providers: folder = role
            for role, r in man["roles"].items() for host, h in r["hosts"].items() for f in h["collected"]]


INSTRUMENTED = r'''
import json, sys, threading, time
T0 = time.perf_counter()
sys.path.insert(0, {root!r})
acc = {{}}
def add(key, dt):
    acc.setdefault(key, []).append(dt)
def timer(key, f):
    def w(*a, **k):
        t = time.perf_counter()
        try:
            return f(*a, **k)
        finally:
            add(key, time.perf_counter() - t)
    return w
from pep.cli import main
import collector.engine as engine, collector.run as run, collector.zipwriter as zw, collector.manifest as manifest
marks = {{}}
orig_run = engine.Engine.run
def engine_run(*a, **k):
    marks["engine_start"] = time.perf_counter()
    try:
        return orig_run(*a, **k)
    finally:
        marks["engine_end"] = time.perf_counter()
engine.Engine.run = engine_run
orig_execute = run.Run.execute
def execute(self):
    try:
        return orig_execute(self)
    finally:
        marks["execute_end"] = time.perf_counter()
run.Run.execute = execute
run.Run.scan = timer("scan", run.Run.scan)
run.Run.pack = timer("pack", run.Run.pack)
run.Run.deliver = timer("deliver", run.Run.deliver)
class TimedCompressor:
    def __init__(self, c):
        self.c = c
    def compress(self, d):
        t = time.perf_counter(); r = self.c.compress(d); add("deflate", time.perf_counter() - t); return r
    def flush(self, *a):
        t = time.perf_counter(); r = self.c.flush(*a); add("deflate", time.perf_counter() - t); return r
orig_compressobj = run.compressobj
run.compressobj = lambda level: TimedCompressor(orig_compressobj(level))
run.deflate_whole = timer("deflate", run.deflate_whole)  # a log that fits in one read
def _write(self, data):
    t = time.perf_counter(); self._f.write(data); t1 = time.perf_counter(); self._hash.update(data); t2 = time.perf_counter()
    self.size += len(data); add("write", t1 - t); add("hash", t2 - t1)
zw.ZipWriter._write = _write
sys.argv = ["pep"] + {args!r}
try:
    main()
except SystemExit:
    pass
end = time.perf_counter()
s = {{k: sum(v) for k, v in acc.items()}}
print(json.dumps({{"startup": marks["engine_start"] - T0, "engine": marks["engine_end"] - marks["engine_start"],
                  "execute_to_end": marks["engine_end"] - marks["execute_end"], "exit": end - marks["engine_end"],
                  "child_total": end - T0, **s}}), file=sys.stderr)
'''


def breakdown(args: list[str], env: dict[str, str]) -> str:
    """One instrumented in-process run: where its time goes (thread-seconds summed over threads)."""
    code = INSTRUMENTED.format(root=str(ROOT), args=args)
    t = time.perf_counter()
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    wall = time.perf_counter() - t
    d = json.loads(r.stderr.strip().splitlines()[-1])
    interp = wall - d["child_total"]  # the interpreter's own start, before the first line of the child
    packing_rest = d.get("pack", 0) - d.get("deflate", 0) - d.get("hash", 0) - d.get("write", 0) - d.get("deliver", 0)
    return (f"    in-process Engine.run {d['engine']:.2f} s of {wall:.2f} s whole. Breakdown: start-up and imports "
            f"{interp + d['startup']:.2f} s; scan {d.get('scan', 0):.2f}; deflate {d.get('deflate', 0):.2f}; "
            f"hash {d.get('hash', 0):.2f}; write {d.get('write', 0):.2f}; read and per-file work {max(packing_rest, 0):.2f}; "
            f"deliver {d.get('deliver', 0):.2f} (thread-seconds, 2 cores); report and manifest "
            f"{d['execute_to_end']:.2f} s; exit {d['exit']:.2f} s")


def whole_case(title: str, args: list[str], env: dict[str, str], out: Path, stamp: Path, work: Path, runs: int,
               targets: str, one_packer: bool = False) -> dict[str, float]:
    shutil.rmtree(out, ignore_errors=True)
    timed(pep(*args), env)  # warm-up: page cache, the embedded stamp, first-use costs; gives the file list
    files = listed_files(out, stamp)
    listing = work / "files.txt"
    listing.write_text("\n".join(files) + "\n")
    size = sum(os.path.getsize(f) for f in files)
    target = work / "baseline.zip"
    pep_t, zip_t, start_t, rss, one_t, cores = [], [], [], [], [], []
    single = work / "one-packer.json"
    single.write_text(json.dumps({"collection": {"concurrency": 1}}))
    for _ in range(runs):
        cores.append(cores_free())
        shutil.rmtree(out, ignore_errors=True)
        settle()
        w, r, _ = timed(pep(*args), env)
        pep_t.append(w)
        rss.append(r)
        if one_packer:  # the same command with one packing thread (collection.concurrency 1)
            shutil.rmtree(out, ignore_errors=True)
            settle()
            one_t.append(timed(pep("--config", str(single), *args), env)[0])
        target.unlink(missing_ok=True)
        settle()
        with open(listing) as fin:
            zip_t.append(timed(["zip", "-1", "-q", "-@", str(target)], stdin=fin)[0])
        settle()
        start_t.append(timed(pep("-c", "Get-Command"), env)[0])
    e, z, s = statistics.median(pep_t), statistics.median(zip_t), statistics.median(start_t)
    each = ", ".join(f"{a / b:.2f}" for a, b in zip(pep_t, zip_t, strict=True))
    print(f"{title}: {len(files)} files, {size / MB:.1f} MB; median of {runs}")
    print(f"    whole process {e:.2f} s, zip -1 {z:.2f} s: ratio {e / z:.2f} (run by run: {each}); "
          f"pep -c Get-Command {s:.2f} s, so {e - s:+.2f} s over start-up; peak memory {max(rss) / 1024:.0f} MB")
    if one_t:
        o = statistics.median(one_t)
        print(f"    with one packing thread (collection.concurrency 1): {o:.2f} s, ratio {o / z:.2f}; two packers "
              f"take {e / o:.2f} of its time (run by run: {', '.join(f'{a / b:.2f}' for a, b in zip(pep_t, one_t, strict=True))})")
    print(f"    cores free while measuring (two CPU-bound processes against one): median {statistics.median(cores):.2f} "
          f"(run by run: {', '.join(f'{c:.2f}' for c in cores)}); load average {os.getloadavg()[0]:.2f}")
    print(f"    targets: {targets}")
    print(breakdown(args, env))
    return {"ratio": e / z, "over_startup": e - s, "rss_mb": max(rss) / 1024}


def section_whole(ns: argparse.Namespace, work: Path) -> None:
    stamp = work / "stamp-451"
    if not (ns.keep and (stamp / "stamp.json").exists()):
        shutil.rmtree(stamp, ignore_errors=True)
        subprocess.run(pep("stamp", "generate", str(stamp), "--nodes", "4", "--days", "2", "--mb-per-hour", "10",
                           "--seed", "11"), check=True, capture_output=True)
    env = dict(os.environ, PEP_STATE_DIR=str(work / "state-whole"))
    frm = (datetime.now(timezone.utc) - timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%S")
    out = work / "out-451"
    whole_case("every log of the 451 MB stamp, to a folder",
               ["--stamp", str(stamp), "-c", f"Get-AzureStackLog -OutputPath '{out}' -FromDate '{frm}' -IncludeDumpFile"],
               env, out, stamp, work, ns.runs, "ratio <= 0.35 against zip -1; peak <= 150 MB", one_packer=True)
    embedded = work / "state-whole" / "stamp"
    # Made afresh (by the warm-up run): the embedded stamp's logs end when it was generated, so the
    # last 4 hours of one made hours ago hold fewer files, and none at all after 4 hours.
    shutil.rmtree(embedded, ignore_errors=True)
    out = work / "out-default"
    whole_case("the default collection (last 4 hours, all roles) on the embedded stamp",
               ["-c", f"Get-AzureStackLog -OutputPath '{out}'"], env, out, embedded, work, ns.runs,
               "<= 2.5 x zip -1 and <= 0.3 s over pep -c Get-Command; peak <= 150 MB")


# -- time to delivered -----------------------------------------------------------------------------
def section_ttd(ns: argparse.Namespace, work: Path) -> None:
    from servers import start_azurite

    stamp = work / "stamp-200"
    if not (ns.keep and (stamp / "stamp.json").exists()):
        shutil.rmtree(stamp, ignore_errors=True)
        subprocess.run(pep("stamp", "generate", str(stamp), "--nodes", "4", "--days", "1", "--mb-per-hour", "9.2",
                           "--seed", "7"), check=True, capture_output=True)
    frm = (datetime.now(timezone.utc) - timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%S")
    times: dict[str, list[float]] = {"1": [], "auto": []}
    sent: dict[str, int] = {}
    with start_azurite() as az:
        for i in range(ns.ttd_runs):
            for level in (("1", "auto") if i % 2 == 0 else ("auto", "1")):
                cfg = work / f"ttd-{level}.json"
                cfg.write_text(json.dumps({"upload": {"bandwidth_mbps": ns.mbps}, "collection": {"compress_level": level}}))
                name = f"ttd{i}{level}"
                sas = az.make_container_sas(name)
                env = dict(os.environ, PEP_STATE_DIR=tempfile.mkdtemp(prefix="azs-ttd-", dir=work))
                w, _, _ = timed(pep("--config", str(cfg), "--stamp", str(stamp), "-c",
                                    f"Get-AzureStackLog -OutputSasUri '{sas}' -FromDate '{frm}'"), env)
                times[level].append(w)
                sent[level] = sum(b.size for b in az.container(name).list_blobs() if b.name.endswith(".zip"))
                shutil.rmtree(env["PEP_STATE_DIR"], ignore_errors=True)
    size = sum(p.stat().st_size for p in (stamp / "hosts").rglob("*") if p.is_file())
    fixed, auto = statistics.median(times["1"]), statistics.median(times["auto"])
    print(f"time to delivered: {size / MB:.0f} MB of logs to Azurite at upload.bandwidth_mbps {ns.mbps:g}, "
          f"median of {ns.ttd_runs}")
    print(f"    fixed level 1 (before): {fixed:.1f} s, {sent['1'] / MB:.1f} MB of zips "
          f"(all: {', '.join(f'{t:.1f}' for t in times['1'])})")
    print(f"    auto level (the link's speed): {auto:.1f} s, {sent['auto'] / MB:.1f} MB of zips "
          f"(all: {', '.join(f'{t:.1f}' for t in times['auto'])})")
    print(f"    {100 * (1 - auto / fixed):.1f} % less time, {100 * (1 - sent['auto'] / sent['1']):.1f} % fewer bytes "
          "(target: >= 15 % less time)")
    compressibility(stamp, ns.mbps)


def compressibility(stamp: Path, mbps: float) -> None:
    """What the ttd figure rests on: how the stamp's logs of each kind deflate at ISA-L 1 and at the
    level the engine starts a run with on this link (two packers; the run then follows what it sees)."""
    from collector.compress import FAST, compressobj, level_for_link

    auto = level_for_link(mbps * 1e6 / 8, max(2, os.cpu_count() or 1))
    kinds: dict[str, list[int]] = {}
    for p in (stamp / "hosts").rglob("*"):
        if p.is_file() and p.suffix != ".dmp":  # dumps are collected only with -IncludeDumpFile
            data = p.read_bytes()
            row = kinds.setdefault(p.suffix, [0, 0, 0])
            row[0] += len(data)
            for i, level in ((1, FAST), (2, auto)):
                c = compressobj(level)
                row[i] += len(c.compress(data)) + len(c.flush())
    print(f"    the stamp's logs, deflated whole file by file: ISA-L 1 against level {auto} "
          f"(the auto level at the start of a run on this link)")
    total = [sum(r[i] for r in kinds.values()) for i in range(3)]
    for kind, (n, fast, chosen) in sorted(kinds.items(), key=lambda kv: -kv[1][0]) + [("all", tuple(total))]:
        print(f"      {kind:6s} {n / MB:6.1f} MB  ISA-L 1 {fast / n:.3f} ({n / fast:.1f}:1)  level {auto} {chosen / n:.3f} "
              f"({n / chosen:.1f}:1)  {100 * (1 - chosen / fast):.1f} % fewer bytes")


# -- the engine alone (the earlier benchmark) --------------------------------------------------------
CHILD = """
import json, sys, threading, time, resource
sys.path.insert(0, {root!r})
from datetime import datetime
from pathlib import Path
from collector.engine import Engine
from collector.plan import CollectionRequest
from collector.sinks.folder import FolderSink
from collector.window import Window
from collector.report import NullReporter
from session.environment import Environment
env = Environment(stamp_dir=Path({stamp!r}), state_dir=Path({state!r}))
w = Window(datetime.fromisoformat({frm!r}), datetime.fromisoformat({to!r}))
t = time.monotonic()
r = Engine(env).run(CollectionRequest(w, resume_key="bench"), FolderSink(Path({out!r})), NullReporter(), threading.Event())
el = time.monotonic() - t
print(json.dumps({{"seconds": el, "rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "bundle": r.bundle,
                  "status": r.status, "bytes": r.manifest["summary"]["bytes"], "files": r.manifest["summary"]["files"],
                  "listed": sum(h["files"] + h["skipped_outside_window"] + h.get("skipped_dump_files", 0)
                                for rr in r.manifest["roles"].values() for h in rr["hosts"].values())}}))
"""


def collect(stamp: Path, work: Path, frm: datetime, to: datetime, tag: str) -> dict:
    state, out = work / f"state-{tag}", work / f"out-{tag}"
    shutil.rmtree(state, ignore_errors=True)
    shutil.rmtree(out, ignore_errors=True)
    code = CHILD.format(root=str(ROOT), stamp=str(stamp), state=str(state), out=str(out), frm=frm.isoformat(),
                        to=to.isoformat())
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    r = json.loads(res.stdout.strip().splitlines()[-1])
    r["bundle_dir"] = str(out / r["bundle"])
    return r


def generate(path: Path, days: float, mbph: float, end: datetime) -> float:
    from collector.stampgen import generate as gen
    t = time.monotonic()
    gen(path, days=days, mb_per_hour=mbph, seed=1, end=end)
    return time.monotonic() - t


def du(path: Path) -> int:
    return sum(p.stat().st_size for p in (path / "hosts").rglob("*") if p.is_file())


def section_engine(ns: argparse.Namespace, work: Path) -> None:
    end = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)
    small, big = work / "stamp-small", work / "stamp-big"
    if not (ns.keep and (small / "stamp.json").exists()):
        g = generate(small, ns.days, ns.mb_per_hour, end)
        print(f"generated small stamp: {du(small) / 2**30:.2f} GB in {g:.1f} s")
    # all roles, 4-hour window vs zip -1 of the same files. A warm-up run first (it also gives the
    # manifest whose files zip gets), then both alternately, medians: neither pays for a cold page cache.
    r = collect(small, work, end - timedelta(hours=4), end, "4h")
    man = json.loads((Path(r["bundle_dir"]) / "manifest.json").read_text())
    files = [str(small / "hosts" / host / role / f["path"])
             for role, rr in man["roles"].items() for host, h in rr["hosts"].items() for f in h["collected"]]
    listing = work / "files.txt"
    listing.write_text("\n".join(files) + "\n")
    target = work / "baseline.zip"
    engine_runs, zip_runs = [], []
    for _ in range(ns.runs):
        engine_runs.append(collect(small, work, end - timedelta(hours=4), end, "4h"))
        target.unlink(missing_ok=True)
        t = time.monotonic()
        with open(listing) as fin:
            subprocess.run(["zip", "-1", "-q", "-@", str(target)], stdin=fin, check=True)
        zip_runs.append(time.monotonic() - t)
    eng = statistics.median(x["seconds"] for x in engine_runs)
    base = statistics.median(zip_runs)
    each = ", ".join(f"{x['seconds'] / z:.2f}" for x, z in zip(engine_runs, zip_runs, strict=True))
    print(f"in-process, 4-hour window, all roles, median of {ns.runs}: {r['files']} files, {r['bytes'] / 2**20:.0f} MB -> "
          f"Engine.run {eng:.2f} s, zip -1 {base:.2f} s, ratio {eng / base:.2f} (target <= 0.5; run by run: {each})")
    peak = max(x["rss_kb"] for x in engine_runs + [r])
    print(f"peak memory of the collecting process: {peak / 1024:.0f} MB (target <= 150)")
    if not (ns.keep and (big / "stamp.json").exists()):
        g = generate(big, ns.days * ns.big_factor, ns.mb_per_hour, end)
        print(f"generated big stamp: {du(big) / 2**30:.2f} GB in {g:.1f} s")
    # Alternate the two, after one warm-up each (page cache, first-use costs), and compare medians.
    runs: dict[str, list[dict]] = {"small": [], "big": []}
    for i in range(ns.runs + 1):
        for tag, stamp in (("small", small), ("big", big)):
            r = collect(stamp, work, end - timedelta(hours=1), end, f"1h-{tag}")
            if i:
                runs[tag].append(r)
    a = statistics.median(r["seconds"] for r in runs["small"])
    b = statistics.median(r["seconds"] for r in runs["big"])
    each = ", ".join(f"{y['seconds'] / x['seconds']:.2f}" for x, y in zip(runs["small"], runs["big"], strict=True))
    print(f"1-hour window, median of {ns.runs}: small stamp {a:.2f} s ({runs['small'][0]['bytes'] / 2**20:.0f} MB, "
          f"{runs['small'][0]['listed']} files listed), {ns.big_factor}x stamp {b:.2f} s "
          f"({runs['big'][0]['bytes'] / 2**20:.0f} MB, {runs['big'][0]['listed']} files listed), "
          f"ratio {b / a:.2f} (target <= 1.5; run by run: {each})")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", default="whole,ttd", help="sections, comma-separated: whole, ttd, engine")
    ap.add_argument("--work", default="/tmp/azs-bench")
    ap.add_argument("--runs", type=int, default=5, help="timed rounds of each comparison (median)")
    ap.add_argument("--ttd-runs", type=int, default=2, help="rounds of the time-to-delivered pair (about 30 s each)")
    ap.add_argument("--mbps", type=float, default=40.0, help="upload.bandwidth_mbps of the time-to-delivered runs")
    ap.add_argument("--mb-per-hour", type=float, default=44.0, help="engine: the 2 GB stamp's rate")
    ap.add_argument("--days", type=float, default=2.0, help="engine: the 2 GB stamp's days")
    ap.add_argument("--big-factor", type=int, default=10, help="engine: how many times larger the big stamp is")
    ap.add_argument("--keep", action="store_true", help="reuse stamps already generated in --work")
    ns = ap.parse_args()
    work = Path(ns.work)
    work.mkdir(parents=True, exist_ok=True)
    sections = {s.strip() for s in ns.only.split(",") if s.strip()}
    compile_bytecode()
    for name, fn in (("whole", section_whole), ("ttd", section_ttd), ("engine", section_engine)):
        if name in sections:
            fn(ns, work)
            sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
