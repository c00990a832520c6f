"""The simulated stamp: a topology (stamp.json) and, on every host of every role, log sources that
look like the real ones, with file times that match their content. Deterministic for a seed.

Layout of a generated stamp directory:

    stamp.json                                   topology (collector.stamp.load_stamp reads it)
    hosts/<host>/<Role>/Logs/*.log               rolling text logs (ISO 8601, en-US, W3C/IIS formats)
    hosts/<host>/<Role>/Traces/<Role>_<yyyyMMdd-HHmmss>.etl   ETW traces rolled at a size cap
    hosts/<host>/<Role>/EventLogs/*.evtx         event logs; full ones archived as Archive-<ch>-<time>.evtx
    hosts/<host>/<Role>/Shares/*.log             logs kept on the infrastructure share (log type Share)
    hosts/<host>/<Role>/Dumps/*.dmp              crash dumps (collected only with -IncludeDumpFile)
    hosts/<node>/Storage/Cluster/cluster*.log    failover-cluster logs (Get-ClusterLog reads these)
    hosts/<host>/RP-<name>/...                   value-add resource provider logs (-FilterByResourceProvider)
    .truth/index.json                            ground truth: every file, its host, role, log type,
                                                 first and last record time. The engine never reads it.

The engine only ever lists `hosts/`; the ground truth exists so tests can check the engine's choices.

What the files contain comes from collector/stampcontent: text lines from message templates reused at
short, irregular distances with ids, numbers and durations from realistic pools; ETW buffers of
structured event records; event-log chunks of binary XML with UTF-16 strings and zero padding. They
deflate like real logs (docs/collection.md, "Speed": sources and per-kind ratios), not like the random
fields of the first generator. For a seed, every file name, size and time and the ground truth are
those the first generator wrote (a text log's size still follows its line lengths; the random draws
that placed the next files are still made), so figures measured before stay comparable.
"""
from __future__ import annotations

import json
import os
import random
import shutil
import struct
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, BinaryIO

from collector.settings import EngineEnv
from collector.stamp import ON_DEMAND_ROLES, ROLE_NAMES, default_definition
from collector.stampcontent import BLOCK, TextPool, dump_blocks, etl_buffers, evtx_chunks, evtx_file_header, guid, text_pool
from collector.timefmt import stamp_prefix

TRUTH_PATH = ".truth/index.json"
HOSTS_DIR = "hosts"
WEB_ROLES = {"WAS", "WASPUBLIC", "ADFS", "ASAppGateway", "NonPrivilegedAppGateway"}
US_FORMAT_ROLES = {"ECE", "URP", "DeploymentMachine", "PXE", "OEM", "SeedRing", "SeedRingServices", "CPI"}
HEAVY = {"VirtualMachines": 3.0, "BareMetal": 3.0, "Storage": 2.0, "ECE": 1.5}
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_LAST_LINE = 24  # bytes left at least for a text log's last line, cut to the file's exact size


# -- topology --------------------------------------------------------------------------------

def topology(nodes: int = 4) -> dict[str, Any]:
    """The embedded stamp definition adapted to `nodes` physical nodes: node roles on every node,
    infrastructure VMs spread over the nodes round-robin."""
    d = default_definition()
    template = d["nodes"][0]
    d["nodes"] = [
        {**template, "name": f"azs-node{i:02d}", "address": f"10.20.1.{10 + i}", "serial": f"CZJ91{i:02d}X7"}
        for i in range(1, nodes + 1)
    ]
    names = [n["name"] for n in d["nodes"]]
    old_nodes = {f"azs-node{i:02d}" for i in range(1, 100)}
    for i, vm in enumerate(d["vms"]):
        vm["host"] = names[i % len(names)]
    for role, hosts in d["roles"].items():
        if hosts and all(h in old_nodes for h in hosts):
            d["roles"][role] = names if len(hosts) > 1 else names[:1]
    return d


# -- content ---------------------------------------------------------------------------------

class _Content:
    """What the generated logs contain (collector/stampcontent: templated lines, structured binary
    records), with pools built once per stamp so writing is mostly big copies.

    The size of a text log follows from `_write_text`'s line count and the lengths of the lines the
    first generator cycled through (`legacy`): kept, so a seed gives the same file names, sizes and
    times as before while the bytes inside are new."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        comps = ["Deployment", "Health", "Update", "Fabric", "Storage", "Network", "Compute", "Identity", "Backup"]
        verbs = ["Starting", "Completed", "Retrying", "Validating", "Polling", "Heartbeat from", "Renewed lease on"]
        levels = ["Info", "Info", "Info", "Verbose", "Warning", "Error"]
        service = []
        for _ in range(257):
            op = guid(rng)  # drawn first, as the first generator did
            service.append(len(
                f" [{rng.choice(levels)}] [{rng.choice(comps)}] {rng.choice(verbs)} operation {op} "
                f"on {rng.choice(['node', 'vm', 'volume', 'share', 'endpoint'])} {rng.randint(1, 64)} "
                f"(attempt {rng.randint(1, 5)}, elapsed {rng.randint(1, 90000)} ms)\n"))
        w3c = [len(
            f" 10.20.2.{rng.randint(20, 60)} {rng.choice(['GET', 'POST', 'PUT'])} "
            f"/subscriptions/{rng.getrandbits(32):08x}/providers/Microsoft.{rng.choice(['Compute', 'Storage', 'Web'])}"
            f"/items - 443 - 10.20.3.{rng.randint(1, 250)} Mozilla/5.0 - {rng.choice([200, 200, 201, 404, 500])} 0 0 "
            f"{rng.randint(1, 900)}\n")
            for _ in range(131)]
        cluster = [len(
            f" {rng.choice(['INFO ', 'WARN ', 'INFO ', 'DBG  '])} [{rng.choice(['RCM', 'GUM', 'NM', 'RES', 'CS'])}] "
            f"{rng.choice(['Resource', 'Group', 'Node'])} '{rng.choice(['Cluster IP', 'SU1_Volume', 'vmms'])}' "
            f"state {rng.choice(['Online', 'Pending', 'Offline'])} -> {rng.choice(['Online', 'Pending'])}\n")
            for _ in range(97)]
        self.legacy = {"service": service, "w3c": w3c, "cluster": cluster}
        self.seed = rng.getrandbits(64)
        self._text: dict[str, TextPool] = {}
        self._binary: dict[str, list[bytes]] = {}

    def text(self, kind: str) -> TextPool:
        if kind not in self._text:  # built on first use: an on-demand log needs one pool only
            self._text[kind] = text_pool(kind, random.Random(f"{self.seed}:text:{kind}"))
        return self._text[kind]

    def blocks(self, kind: str) -> list[bytes]:
        if not self._binary:
            etl = etl_buffers(random.Random(f"{self.seed}:etl"))
            self._binary = {"etl": etl, "evtx": evtx_chunks(random.Random(f"{self.seed}:evtx")),
                            "dmp": dump_blocks(random.Random(f"{self.seed}:dmp"), etl)}
        return self._binary[kind]

    def binary(self, f: BinaryIO, size: int, header: bytes, rng: random.Random, kind: str,
               first_header: int | None = None) -> None:
        """`size` bytes: `header`, then buffers of `kind` in an order of their own. The unit's random
        stream moves as the first generator moved it (one draw per 64 KB after a header of
        `first_header` bytes), so the files written after this one keep their sizes and times."""
        old = size - min(size, len(header) if first_header is None else first_header)
        for _ in range(-(-old // BLOCK)):
            rng.randrange(8)
        f.write(header[:size])
        left = size - min(size, len(header))
        blocks = self.blocks(kind)
        pick = random.Random(f"{self.seed}:{kind}:{size}:{header.hex()}")
        while left > 0:
            b = blocks[pick.randrange(len(blocks))]
            n = min(left, len(b))
            f.write(b if n == len(b) else b[:n])
            left -= n


def _ms(t: datetime) -> int:
    d = t - _EPOCH
    return (d.days * 86400 + d.seconds) * 1000 + d.microseconds // 1000


def _from_ms(ms: int) -> datetime:
    return _EPOCH + timedelta(milliseconds=ms)


def _day_prefix(fmt: str, day: int) -> tuple[str, str | None]:
    """stamp_prefix of a day's midnight split around its time of day: (the text before "00:00:00",
    the text after the milliseconds, or None when the format has none)."""
    text = stamp_prefix(fmt, _from_ms(day * 86_400_000))
    k = text.index("00:00:00")
    return (text[:k], None) if len(text) == k + 8 else (text[:k], text[k + 12:])


def _stamp(day_text: tuple[str, str | None], ms_of_day: int) -> str:
    """stamp_prefix(fmt, t) for a time `ms_of_day` into the day of `day_text` (_day_prefix): the same
    text, without a datetime and strftime for every line."""
    h, rest = divmod(ms_of_day, 3_600_000)
    m, rest = divmod(rest, 60_000)
    sec, ms = divmod(rest, 1000)
    head, tail = day_text
    if tail is None:
        return f"{head}{h:02d}:{m:02d}:{sec:02d}"
    return f"{head}{h:02d}:{m:02d}:{sec:02d}.{ms:03d}{tail}"


def _write_text(path: Path, fmt: str, t0: datetime, t1: datetime, size: int, content: _Content,
                rng: random.Random) -> tuple[datetime, datetime]:
    """Lines evenly spread from t0 to t1, about `size` bytes; returns first and last record time."""
    leads = [""]
    if fmt == "w3c":
        kind, head = "w3c", (
            "#Software: Microsoft Internet Information Services 10.0\n#Version: 1.0\n"
            f"#Date: {t0:%Y-%m-%d %H:%M:%S}\n"
            "#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip "
            "cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken\n")
    elif fmt == "cluster":
        kind, head = "cluster", ""
        pid, tid = rng.getrandbits(16), rng.getrandbits(16)  # process.thread: a few threads of one process
        leads = [f"{pid:08x}.{(tid + 4 * k) & 0xFFFF:08x}::" for k in range(5)]
    else:
        kind, head = "service", ""
    # The file's size, as the first generator's line count and line lengths made it (see _Content).
    lengths = content.legacy[kind]
    lead, prefix = len(leads[0]), len(stamp_prefix(fmt, t0))
    n_old = max(2, size // (lead + 24 + sum(lengths[:16]) // 16))
    off = rng.randrange(len(lengths))
    total = len(head) + n_old * (lead + prefix) + (n_old // len(lengths)) * sum(lengths)
    total += sum(lengths[(off + i) % len(lengths)] for i in range(n_old % len(lengths)))
    a, b = _ms(t0), _ms(t1)
    if fmt == "w3c":  # second precision: keep the first and last record exactly representable
        a, b = -(-a // 1000) * 1000, b // 1000 * 1000
        b = max(a, b)
    # As many whole lines of the pool as fit, then a last line cut to the exact size.
    pool = content.text(kind)
    start = (off * 7919 + size) % len(pool.bodies)
    budget, fixed = total - len(head), lead + prefix
    n = 1 + pool.lines_for(start, budget - fixed - _LAST_LINE, fixed)
    bodies = [pool.body(start + i) for i in range(n - 1)]
    if n == 1:  # too small for one whole line besides the last: a cut one
        bodies, n = [pool.filler(start, max(1, (budget - 2 * fixed) // 2))], 2
    bodies.append(pool.filler(start + n, budget - fixed * n - sum(len(x) for x in bodies)))
    step = (b - a) / (n - 1)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(head)
        chunk: list[str] = []
        day = -1
        day_text: tuple[str, str | None] = ("", None)
        for i, body in enumerate(bodies):
            ms = b if i == n - 1 else a + int(i * step)
            if fmt == "w3c":
                ms = ms // 1000 * 1000
            if ms // 86_400_000 != day:
                day = ms // 86_400_000
                day_text = _day_prefix(fmt, day)
            chunk.append(leads[len(body) % len(leads)] + _stamp(day_text, ms % 86_400_000) + body)
            if len(chunk) >= 4096:
                f.write("".join(chunk))
                chunk.clear()
        f.write("".join(chunk))
    return _from_ms(a), _from_ms(b)


def _segments(start: datetime, end: datetime, rate: float, cap: int, rng: random.Random) -> list[tuple[datetime, datetime, int]]:
    """Split [start, end] into files rolled at `cap` bytes while the write rate wobbles around
    `rate` bytes/s: (first record, last record, size). The last file is the active, partial one."""
    out = []
    t = start
    while t < end:
        r = rate * rng.uniform(0.6, 1.4)
        dur = timedelta(seconds=cap / r)
        t1 = min(end, t + dur)
        size = cap if t1 < end else max(1024, int(r * (t1 - t).total_seconds()))
        out.append((t, t1, size))
        # The next file starts on a whole second (ETW names carry seconds only), after this one ends.
        t = (t1 + timedelta(seconds=rng.randint(1, 3))).replace(microsecond=0)
    return out


def _set_mtime(path: Path, t: datetime) -> None:
    ns = _ms(t) * 1_000_000  # exact: the engine compares mtimes with record times to the millisecond
    os.utime(path, ns=(ns, ns))


@dataclass
class _Unit:
    host: str
    role: str | None
    rp: str | None

    @property
    def dirname(self) -> str:
        return self.role if self.role else f"RP-{self.rp}"

    @property
    def weight(self) -> float:
        return HEAVY.get(self.role or "", 0.5 if self.rp else 1.0)


def _text_format(role: str) -> str:
    if role in WEB_ROLES:
        return "w3c"
    if role in US_FORMAT_ROLES:
        return "us"
    return "iso"


def _channels(unit: _Unit, host_kind: str) -> list[str]:
    if unit.role == "VirtualMachines" or unit.role == "BareMetal":
        return ["System", "Application"]
    if unit.role == "Storage" and host_kind == "node":
        return ["Microsoft-Windows-FailoverClustering%4Operational", "Microsoft-Windows-Hyper-V-VMMS-Admin"]
    return [f"Microsoft-AzureStack-{unit.dirname}%4Operational"]


def generate(directory: str | Path, nodes: int = 4, days: float = 2, mb_per_hour: float = 1.0, seed: int = 0,
             end: datetime | None = None) -> Path:
    """Write a simulated stamp into `directory` (replacing generated content already there)."""
    root = Path(directory)
    end = (end or datetime.now(timezone.utc)).astimezone(timezone.utc).replace(microsecond=0)
    start = end - timedelta(days=days)
    content = _Content(random.Random(seed * 7919 + 1))
    d = topology(nodes)
    d["generated"] = {"seed": seed, "days": days, "mb_per_hour": mb_per_hour, "nodes": nodes,
                      "start": start.isoformat(), "end": end.isoformat()}
    for sub in (HOSTS_DIR, ".truth"):
        shutil.rmtree(root / sub, ignore_errors=True)
    root.mkdir(parents=True, exist_ok=True)

    kinds = {h["name"]: "node" for h in d["nodes"]}
    units = [_Unit(h, r, None) for r in ROLE_NAMES for h in d["roles"].get(r, [])]
    units += [_Unit(h, None, rp) for rp, hs in d.get("resource_providers", {}).items() for h in hs]
    total_rate = mb_per_hour * 1024 * 1024 / 3600.0  # bytes per second, whole stamp
    wsum = sum(u.weight for u in units)
    truth: list[dict[str, Any]] = []

    def record(path: Path, unit: _Unit, log_type: str, kind: str, first: datetime, last: datetime) -> None:
        _set_mtime(path, last)
        truth.append({
            "path": path.relative_to(root).as_posix(), "host": unit.host, "role": unit.role,
            "resource_provider": unit.rp, "log_type": log_type, "kind": kind,
            "first": first.isoformat(), "last": last.isoformat(), "size": path.stat().st_size,
        })

    for ui, unit in enumerate(units):
        urng = random.Random(f"{seed}:{unit.host}:{unit.dirname}")
        base = root / HOSTS_DIR / unit.host / unit.dirname
        rate = total_rate * unit.weight / wsum
        name = unit.dirname
        # Text logs, rolled at a size cap (web roles: IIS rolls daily).
        fmt = _text_format(unit.role or "")
        text_rate = rate * 0.45
        if fmt == "w3c":
            day0 = start.replace(hour=0, minute=0, second=0)
            segs = []
            t = start
            while t < end:
                t1 = min(end, day0 + timedelta(days=1) - timedelta(seconds=urng.randint(1, 600)))
                segs.append((t, t1, max(512, int(text_rate * (t1 - t).total_seconds()))))
                day0 += timedelta(days=1)
                t = day0 + timedelta(seconds=urng.randint(1, 120))
            for t0, t1, size in segs:
                p = base / "Logs" / f"u_ex{t0:%y%m%d}.log"
                first, last = _write_text(p, fmt, t0, t1, size, content, urng)
                record(p, unit, "File", "text", first, last)
        else:
            segs = _segments(start, end, text_rate, max(1024, int(text_rate * 6 * 3600)), urng)
            for i, (t0, t1, size) in enumerate(segs):
                k = len(segs) - 1 - i
                p = base / "Logs" / (f"{name}.log" if k == 0 else f"{name}.{k}.log")
                first, last = _write_text(p, fmt, t0, t1, size, content, urng)
                record(p, unit, "File", "text", first, last)
        # Failover-cluster log on the physical nodes.
        if unit.role == "Storage" and kinds.get(unit.host) == "node":
            segs = _segments(start, end, rate * 0.1, max(1024, int(rate * 0.1 * 12 * 3600)), urng)
            for i, (t0, t1, size) in enumerate(segs):
                k = len(segs) - 1 - i
                p = base / "Cluster" / ("cluster.log" if k == 0 else f"cluster.{k}.log")
                first, last = _write_text(p, "cluster", t0, t1, size, content, urng)
                record(p, unit, "File", "text", first, last)
        # ETW traces: Trace Collector rolls at a size cap and names each file by its start time.
        etl_rate = rate * 0.35
        segs = _segments(start, end, etl_rate, max(1024, int(etl_rate * 5 * 3600)), urng)
        # A roll is closed the moment the next one starts: its last record is the next file's start.
        segs = [(t0, segs[i + 1][0] if i + 1 < len(segs) else t1, size) for i, (t0, t1, size) in enumerate(segs)]
        for t0, t1, size in segs:
            p = base / "Traces" / f"{name}_{t0:%Y%m%d-%H%M%S}.etl"
            p.parent.mkdir(parents=True, exist_ok=True)
            with open(p, "wb") as f:
                content.binary(f, size, b"\x00\x00\x00\x00\x02\x00\x01\x00" + struct.pack("<Q", _ms(t0)), urng, "etl")
            record(p, unit, "File", "etl", t0.replace(microsecond=0), t1)
        # Event logs: a full log is archived as Archive-<channel>-<time of the next record>.evtx.
        chans = _channels(unit, kinds.get(unit.host, "vm"))
        ev_rate = rate * 0.12 / len(chans)
        for ch in chans:
            segs = _segments(start, end, ev_rate, max(1024, int(ev_rate * 8 * 3600)), urng)
            for i, (t0, t1, size) in enumerate(segs):
                if i + 1 < len(segs):
                    nxt = segs[i + 1][0]
                    p = base / "EventLogs" / f"Archive-{ch}-{nxt:%Y-%m-%d-%H-%M-%S}-{nxt.microsecond // 1000:03d}.evtx"
                else:
                    p = base / "EventLogs" / f"{ch}.evtx"
                p.parent.mkdir(parents=True, exist_ok=True)
                with open(p, "wb") as f:
                    content.binary(f, size, evtx_file_header(max(size - 4096, 0) // BLOCK), urng, "evtx",
                                   first_header=128)
                record(p, unit, "WindowsEvent", "evtx", t0, t1)
        # Logs on the infrastructure share, for every third unit.
        if ui % 3 == 0:
            sh_rate = rate * 0.08
            for t0, t1, size in _segments(start, end, sh_rate, max(1024, int(sh_rate * 8 * 3600)), urng):
                p = base / "Shares" / f"{name}Share.{t0:%Y%m%d%H%M%S}.log"
                first, last = _write_text(p, "iso", t0, t1, size, content, urng)
                record(p, unit, "Share", "text", first, last)
        # Crash dumps, rare.
        if urng.random() < 0.15:
            for _ in range(urng.randint(1, 2)):
                t = start + timedelta(seconds=urng.uniform(0, (end - start).total_seconds()))
                t = t.replace(microsecond=0)
                p = base / "Dumps" / f"{name}Svc_{t:%Y%m%d-%H%M%S}.dmp"
                p.parent.mkdir(parents=True, exist_ok=True)
                with open(p, "wb") as f:
                    content.binary(f, max(32 * 1024, int(rate * 600)), b"MDMP\x93\xa7\x00\x00", urng, "dmp")
                record(p, unit, "File", "dmp", t, t)

    (root / "stamp.json").write_text(json.dumps(d, indent=1))
    (root / ".truth").mkdir(exist_ok=True)
    (root / TRUTH_PATH).write_text(json.dumps(truth))
    return root


def load_truth(directory: str | Path) -> list[dict[str, Any]]:
    """The ground-truth index of a generated stamp (for tests and benchmarks only)."""
    truth: list[dict[str, Any]] = json.loads((Path(directory) / TRUTH_PATH).read_text())
    return truth


def write_on_demand(root: str | Path, role: str, hosts: list[str], now: datetime | None = None) -> list[Path]:
    """What Invoke-AzureStackOnDemandLog -Generate leaves behind: a fresh text log per host of an
    on-demand role (OEM, NC, SLB, Gateway), timestamped now so the next collection picks it up."""
    assert role in ON_DEMAND_ROLES
    now = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    content = _Content(random.Random(hash((role, now.isoformat())) & 0xFFFF))
    out = []
    for h in hosts:
        p = Path(root) / HOSTS_DIR / h / role / "OnDemand" / f"{role}_OnDemand_{now:%Y%m%d-%H%M%S}.log"
        t0 = now - timedelta(minutes=5)
        _, last = _write_text(p, "iso", t0, now, 48 * 1024, content, random.Random(h))
        _set_mtime(p, last)
        out.append(p)
    return out


# -- the embedded default stamp --------------------------------------------------------------

DEFAULT_DAYS = 2
DEFAULT_MB_PER_HOUR = 1.0


def ensure_default_stamp(env: EngineEnv) -> Path:
    """The embedded stamp, generated into `<state>/stamp` on first use (about 50 MB over 2 days,
    ending now) and regenerated once its newest logs are older than its window."""
    root = env.state.sub("stamp")
    info_file = root / "stamp.json"
    try:
        gen = json.loads(info_file.read_text()).get("generated", {})
        end = datetime.fromisoformat(gen["end"])
        fresh = datetime.now(timezone.utc) - end < timedelta(days=gen.get("days", DEFAULT_DAYS))
    except (OSError, ValueError, KeyError, TypeError):
        fresh = False
    if not fresh:
        generate(root, nodes=4, days=env.setting("stamp.days", DEFAULT_DAYS),
                 mb_per_hour=env.setting("stamp.mb_per_hour", DEFAULT_MB_PER_HOUR), seed=0)
    return root
