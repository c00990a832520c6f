"""Helpers shared by the engine tests: a small generated stamp and a way to run one collection."""
from __future__ import annotations

import json
import zipfile
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from cmdlets.engine_bridge import CommandReporter
from collector.destination import Destination, open_sink
from collector.engine import Engine
from collector.journal import request_key
from collector.plan import CollectionRequest
from collector.stampgen import generate, load_truth
from collector.window import Window
from powershell.pipeline import CommandContext, ListSink
from session.environment import Environment

END = datetime(2026, 11, 25, 12, 0, 0, tzinfo=timezone.utc)


def small_stamp(path: Path, **kw: Any) -> Path:
    args = dict(days=1, mb_per_hour=0.5, seed=11, end=END)
    args.update(kw)
    return generate(path, **args)


def window(hours_back_from: float, hours_back_to: float) -> Window:
    return Window(END - timedelta(hours=hours_back_from), END - timedelta(hours=hours_back_to))


def run(stamp: Path, state: Path, out: Path, w: Window, config: dict | None = None, ctx: CommandContext | None = None,
        **req: Any):
    """One collection to the folder `out`, reported to a CommandContext's ListSink (as a cmdlet would
    see it). Raises the engine's own CollectionError / CollectionStopped."""
    env = Environment(stamp_dir=stamp, state_dir=state, config=config or {})
    sink = ListSink()
    ctx = ctx or CommandContext("Get-AzureStackLog", sink, verbose=True)
    key = request_key({"w": w.as_dict(), **{k: str(v) for k, v in req.items()}})
    folder = open_sink(Destination.folder(out), env)
    result = Engine(env).run(CollectionRequest(w, resume_key=key, **req), folder, CommandReporter(ctx), ctx.stop_event)
    return result, ctx.sink


def bundle_dir(out: Path) -> Path:
    (b,) = [p for p in out.iterdir() if p.name.startswith("AzureStackLogs-")]
    return b


def collected_paths(bundle: Path) -> dict[str, int]:
    """'hosts/<host>/<Role>/<relpath>' of every file in every zip -> how many times it appears."""
    got: dict[str, int] = {}
    for z in bundle.glob("*.zip"):
        role = z.name.rsplit("_", 1)[0]
        providers = ("SQLAdapter", "MySQLAdapter", "eventhub", "iothub", "IotHub", "databox", "ACR")
        folder = f"RP-{role}" if role.startswith(providers) else role
        with zipfile.ZipFile(z) as zf:
            for n in zf.namelist():
                host, rel = n.split("/", 1)
                k = f"hosts/{host}/{folder}/{rel}"
                got[k] = got.get(k, 0) + 1
    return got


def expected_paths(stamp: Path, w: Window, *, dumps: bool = False, roles=None, hosts=None, log_types=None) -> set[str]:
    out = set()
    for e in load_truth(stamp):
        if e["role"] is None:
            continue
        if e["kind"] == "dmp" and not dumps:
            continue
        if roles and e["role"] not in roles:
            continue
        if hosts and e["host"] not in hosts:
            continue
        if log_types and e["log_type"] not in log_types:
            continue
        first, last = datetime.fromisoformat(e["first"]), datetime.fromisoformat(e["last"])
        if first <= w.to_utc and last >= w.from_utc:
            out.add(e["path"])
    return out


def manifest(bundle: Path) -> dict:
    return json.loads((bundle / "manifest.json").read_text())
