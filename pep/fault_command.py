"""`pep fault add KIND [TARGET]`, `pep fault list`, `pep fault clear [ID | --all]`, `pep fault kinds`:
inject faults into the stamp's live health model (collector.faultstore, collector.healthmodel).

Emulator-only, so a `pep` subcommand and never a cmdlet parameter (DESIGN rule 2). A bad kind,
target or id is one line on stderr and exit code 2.
"""
from __future__ import annotations

import argparse
import sys
from datetime import datetime, timezone

from collector import faultkinds, healthmodel
from collector.faultstore import FaultError, FaultStore, resolve
from collector.settings import EngineEnv


def _err(message: str) -> int:
    print(f"pep fault: {message}", file=sys.stderr)
    return 2


def main_fault(env: EngineEnv, args: argparse.Namespace) -> int:
    cmd = getattr(args, "fault_command", None)
    try:
        if cmd == "add":
            return _add(env, args.kind, args.target)
        if cmd == "list":
            return _list(env)
        if cmd == "clear":
            return _clear(env, args.id, args.all)
        if cmd == "kinds":
            return _kinds()
    except FaultError as e:
        return _err(e.message)
    return _err("usage: pep fault add KIND [TARGET] | pep fault list | pep fault clear [ID | --all] | pep fault kinds")


def _add(env: EngineEnv, kind_name: str, target: str | None) -> int:
    stamp = healthmodel.model_stamp(env)
    kind, resolved = resolve(kind_name, target, stamp)
    fault, new = FaultStore.of(env).add(kind, resolved, datetime.now(timezone.utc))
    snap = healthmodel.current(env)  # raises the alert now, at the fault's time
    if not new:
        print(f"Fault {fault.id} ({fault.label()}) is already active; nothing changed.")
        return 0
    print(f"Fault {fault.id} added: {fault.label()}.")
    print(f"Alert raised: {kind.title} ({kind.fault_id_type}, {kind.severity}"
          f"{', triggers automatic collection' if kind.trigger else ''}).")
    effects = ", ".join(f"{c} {s}" for c, s in kind.effects)
    print(f"Test-AzureStack: {effects}.")
    hosts = [h for h, why in snap.model.unreachable.items()
             if why.endswith(f"{fault.target} is offline") or h == fault.target] if kind.unreachable else []
    if hosts:
        print(f"Not reachable for log collection: {', '.join(hosts)}.")
    return 0


def _list(env: EngineEnv) -> int:
    snap = healthmodel.current(env)
    if not snap.model.faults:
        print("No active faults.")
        return 0
    alert_of = {a.key: a for a in snap.active_alerts}
    rows = [("Id", "Kind", "Target", "Added (UTC)", "Alert")]
    for f in snap.model.faults:
        a = alert_of.get(f.key)
        rows.append((f.id, f.kind, f.target or "-", f.added, f"{a.title} ({a.severity})" if a else "-"))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for r in rows:
        print("  ".join(r[i].ljust(widths[i]) for i in range(4)) + "  " + r[4])
    return 0


def _clear(env: EngineEnv, fault_id: str | None, everything: bool) -> int:
    store = FaultStore.of(env)
    if everything and fault_id:
        return _err("clear takes a fault id or --all, not both")
    if not everything and not fault_id:
        return _err("clear needs a fault id (pep fault list shows them) or --all")
    gone = store.clear_all() if everything else [store.clear(fault_id or "")]
    snap = healthmodel.current(env)  # closes the alerts now
    if not gone:
        print("No active faults to clear.")
        return 0
    closed = {a.fault: a for a in snap.alerts if a.state == "Closed"}
    for f in gone:
        a = closed.get(f.id)
        print(f"Fault {f.id} cleared: {f.label()}." + (f" Alert closed: {a.title}." if a else ""))
    return 0


def _kinds() -> int:
    for k in faultkinds.KINDS:
        target = f" <{k.target}>" if k.target else ""
        trigger = "trigger" if k.trigger else "no trigger"
        print(f"{k.name}{target}: {k.title} ({k.fault_id_type}, {k.severity}, {trigger})")
    return 0
