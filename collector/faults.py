"""Fault injection from configuration (tests and demos; never a cmdlet parameter, DESIGN rule 2).

    "faults": {
      "unreachable_hosts": ["azs-xrp02"],          # listing and reading fail as WinRM would
      "slow_hosts": {"azs-xrp01": 2.0},            # seconds of delay per listing and per file opened
      "unreadable_files": ["azs-xrp01/URP/Logs/URP.1.log", "*/ECE/Logs/*"],  # fnmatch on host/Role/relpath
      "destination_full_after_mb": 5               # FolderSink: zips past this many MB fail as on a full disk
                                                   # (0: pre-flight fails); output log and manifest still fit
    }

Unreachable hosts also come from the live health model (collector.healthmodel): an offline node
(`pep fault add node-offline azs-node02`) and every VM on it, an unavailable VM. Faults are read at
each Engine start, so a fault added while `pep serve` runs applies to the next collection.
"""
from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field

from collector.settings import EngineEnv


@dataclass(frozen=True)
class Faults:
    unreachable_hosts: frozenset[str] = frozenset()
    slow_hosts: dict[str, float] = field(default_factory=dict)
    unreadable_files: tuple[str, ...] = ()
    destination_full_after_mb: float | None = None

    @classmethod
    def from_env(cls, env: EngineEnv | None) -> Faults:
        get = env.setting if env is not None else (lambda k, d=None: d)
        full = get("faults.destination_full_after_mb")
        unreachable = frozenset(h.lower() for h in (get("faults.unreachable_hosts") or []))
        if env is not None:
            from collector.healthmodel import engine_unreachable_hosts  # the model reads this module's settings too

            unreachable |= engine_unreachable_hosts(env)
        return cls(
            unreachable_hosts=unreachable,
            slow_hosts={k.lower(): float(v) for k, v in (get("faults.slow_hosts") or {}).items()},
            unreadable_files=tuple(get("faults.unreadable_files") or ()),
            destination_full_after_mb=None if full is None else float(full),
        )

    def unreachable(self, host: str) -> bool:
        return host.lower() in self.unreachable_hosts

    def delay(self, host: str) -> float:
        return self.slow_hosts.get(host.lower(), 0.0)

    def unreadable(self, host: str, unit: str, relpath: str) -> bool:
        key = f"{host}/{unit}/{relpath}"
        return any(fnmatch.fnmatchcase(key.lower(), p.lower()) for p in self.unreadable_files)
