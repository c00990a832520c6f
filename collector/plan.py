"""Planning, sans-IO: which (role, host) units a request covers, and how a role's selected files
are cut into zips. Everything here is a plain function of the stamp, the request and listings.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from collector.stamp import ROLE_NAMES, Stamp
from collector.window import Window

DEFAULT_TIMEOUT_MINUTES = 150  # operator docs; the cmdlet reference says 240 (see README/bench notes)


@dataclass
class CollectionRequest:
    window: Window
    roles: list[str] | None = None
    nodes: list[str] | None = None
    log_types: list[str] | None = None
    resource_providers: list[str] | None = None
    include_dumps: bool = False
    vm_recovery: bool = False
    timeout_minutes: float = DEFAULT_TIMEOUT_MINUTES
    user: str = ""
    # names the resume journal: the same request made again continues the unfinished collection
    # (collector.destination.resume_key makes it; never a secret)
    resume_key: str = "default"
    command: str = "Get-AzureStackLog"


@dataclass(frozen=True)
class Unit:
    """One role (or value-add resource provider) on one host; `folder` is its directory name."""

    role: str
    host: str
    folder: str
    host_kind: str


@dataclass
class FileRef:
    unit: Unit
    relpath: str
    size: int
    mtime: float  # POSIX time, as listed by the scan

    @property
    def arcname(self) -> str:
        return f"{self.unit.host}/{self.relpath}"

    @property
    def key(self) -> str:
        return f"{self.unit.role}|{self.unit.host}|{self.relpath}"


def plan_units(stamp: Stamp, req: CollectionRequest) -> list[Unit]:
    kinds = {h.name.lower(): h.kind for h in stamp.hosts}
    wanted_nodes = {n.lower() for n in req.nodes} if req.nodes else None
    out: list[Unit] = []

    def add(role: str, folder: str, hosts: Iterable[str]) -> None:
        for h in hosts:
            if wanted_nodes is None or h.lower() in wanted_nodes:
                out.append(Unit(role, h, folder, kinds.get(h.lower(), "vm")))

    if req.resource_providers:
        wanted = {r.lower() for r in req.resource_providers}
        for rp, hosts in stamp.resource_providers.items():
            if rp.lower() in wanted:
                add(rp, f"RP-{rp}", hosts)
        if not req.roles:
            return out
    roles = req.roles or list(ROLE_NAMES)
    canon = {r.lower(): r for r in ROLE_NAMES}
    for r in roles:
        role = canon.get(r.lower(), r)
        add(role, role, stamp.roles.get(role, []))
    return out


def unknown_nodes(stamp: Stamp, nodes: list[str] | None) -> list[str]:
    return [n for n in (nodes or []) if stamp.host(n) is None]


def chunk(files: list[FileRef], split_bytes: int) -> list[list[FileRef]]:
    """Cut one role's files (in order) into zips of at most `split_bytes` of log data each; a file
    bigger than that gets a zip of its own. Deterministic, so a resumed run makes the same cuts."""
    out: list[list[FileRef]] = []
    cur: list[FileRef] = []
    size = 0
    for f in files:
        if cur and size + f.size > split_bytes:
            out.append(cur)
            cur, size = [], 0
        cur.append(f)
        size += f.size
    if cur:
        out.append(cur)
    return out
