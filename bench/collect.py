"""Collection benchmark (run by hand; minutes, several GB of disk).

    .venv/bin/python bench/collect.py [--work DIR] [--mb-per-hour 44] [--days 2] [--big-factor 10] [--runs 5] [--keep]

Prints, each against a baseline measured in the same run:
  1. all roles, 4-hour window of a generated stamp of >= 2 GB: Get-AzureStackLog (engine, to a folder)
     vs `zip -1 -r` of the very files the manifest lists (target ratio <= 0.5);
  2. peak memory (max RSS) of the collecting child process (target <= 150 MB);
  3. 1-hour window on a stamp ten times larger (10x the days) vs the same window on the small one
     (target <= 1.5x): files outside the window must cost nothing but a listing. One warm-up each, then
     --runs timed runs alternating small and big; the ratio is of the medians.
Each collection runs in a child process so its max RSS is its own; the time is of Engine.run alone
(imports and start-up are outside it).
"""
from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

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


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", default="/tmp/azs-bench")
    ap.add_argument("--mb-per-hour", type=float, default=44.0)
    ap.add_argument("--days", type=float, default=2.0)
    ap.add_argument("--big-factor", type=int, default=10)
    ap.add_argument("--keep", action="store_true", help="reuse stamps already generated in --work")
    ap.add_argument("--runs", type=int, default=5, help="timed runs of each 1-hour collection (median)")
    ns = ap.parse_args()
    work = Path(ns.work)
    work.mkdir(parents=True, exist_ok=True)
    end = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)
    small, big = work / "stamp-small", work / "stamp-big"
    if not (ns.keep and (small / "stamp.json").exists()):
        g = generate(small, ns.days, ns.mb_per_hour, end)
        print(f"generated small stamp: {du(small) / 2**30:.2f} GB in {g:.1f} s")
    # 1 + 2: all roles, 4-hour window vs zip -1 of the same files. A warm-up run first (it also gives the
    # manifest whose files zip gets), then both alternately, medians: neither pays for a cold page cache.
    r = collect(small, work, end - timedelta(hours=4), end, "4h")
    man = json.loads((Path(r["bundle_dir"]) / "manifest.json").read_text())
    files = [str(small / "hosts" / host / role / f["path"])  # all roles, no resource providers: folder = role
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
    print(f"4-hour window, all roles, median of {ns.runs}: {r['files']} files, {r['bytes'] / 2**20:.0f} MB -> "
          f"engine {eng:.2f} s, zip -1 {base:.2f} s, ratio {eng / base:.2f} (target <= 0.5; run by run: {each})")
    peak = max(x["rss_kb"] for x in engine_runs + [r])
    print(f"peak memory of the collecting process: {peak / 1024:.0f} MB (target <= 150)")
    # 3: a stamp ten times larger (ten times the days), the same 1-hour window
    if not (ns.keep and (big / "stamp.json").exists()):
        g = generate(big, ns.days * ns.big_factor, ns.mb_per_hour, end)
        print(f"generated big stamp: {du(big) / 2**30:.2f} GB in {g:.1f} s")
    # Alternate the two, after one warm-up each (page cache, first-use costs), and compare medians:
    # single runs of about a second swing by 20 % on this machine.
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
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
