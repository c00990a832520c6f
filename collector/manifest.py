"""manifest.json and the closing lines of a run, as pure functions of the run's state.

Nothing here reads a file, a clock or a journal: the report step (collector/run.py) gathers the
facts, settles every unit (settle_unit, run_status), then builds the manifest and the lines it
prints from them. tests/test_engine_manifest.py calls these directly.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from collector.jsontext import readable
from collector.status import Cut, CutKind, RunStatus, UnitStatus
from collector.units import UnitState
from common.redact import redact_value

TOOL = "Get-AzureStackLog (azs-pep)"
# A role's status is the worst of its hosts', in this order.
_WORST_FIRST = (UnitStatus.FAILED, UnitStatus.TIMED_OUT, UnitStatus.STOPPED, UnitStatus.PARTIAL, UnitStatus.OK)
_STOP_NAMES = 3  # roles named in the one line a stopped run prints


def manifest_json(manifest: Mapping[str, Any]) -> str:
    """The text of manifest.json: every string value redacted (common.redact), then serialised, so
    no secret typed into the request (a SAS signature, a password) reaches the file. The one
    exception is the path of a collected file (_collected)."""
    return readable(_redact_once(dict(manifest), {}))  # indented outer levels, one line per file


def _redact_once(value: Any, seen: dict[str, str]) -> Any:
    """common.redact.redact_value, each distinct string redacted once: a manifest repeats its keys,
    hosts, zips and statuses tens of thousands of times (redacting each was most of its cost)."""
    if isinstance(value, str):
        done = seen.get(value)
        if done is None:
            done = seen[value] = redact_value(value)
        return done
    if isinstance(value, dict):
        return {_redact_once(k, seen): _collected(v, seen) if k == "collected" else _redact_once(v, seen)
                for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_redact_once(v, seen) for v in value]
    return value


def _collected(files: Any, seen: dict[str, str]) -> Any:
    """A unit's collected files, each path as it is: it is the file's name on its host, the very
    name its zip entry carries in the same bundle, so redacting this copy hides nothing; and with
    a path distinct per file it was half the manifest's cost. Everything else is redacted."""
    if not isinstance(files, list):
        return _redact_once(files, seen)
    return [{_redact_once(k, seen): v if k == "path" and isinstance(v, str) else _redact_once(v, seen)
             for k, v in f.items()} if isinstance(f, dict) else _redact_once(f, seen) for f in files]


@dataclass(frozen=True)
class Header:
    bundle: str
    stamp: str
    ercs: str
    resumed: bool
    started: str
    ended: str
    window: Mapping[str, Any]
    request: Mapping[str, Any]


def collected_by_unit(zips: Mapping[str, Mapping[str, Any]]) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """(role, host in lower case) -> the files of delivered zips, each with the zip's name."""
    out: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for name, z in sorted(zips.items()):
        if z.get("delivered"):
            for f in z["files"]:
                out.setdefault((z["role"], f["host"].lower()), []).append({**f, "zip": name})
    return out


def unit_cuts(st: UnitState, cuts: Mapping[str, Cut]) -> list[tuple[str, Cut]]:
    """(path, cut) of the unit's selected files that are not (whole) in the bundle, in listing order."""
    role, host = st.key
    return [(j.file.relpath, cuts[k]) for j in st.selected if (k := f"{role}|{host}|{j.file.relpath}") in cuts]


def settle_unit(st: UnitState, collected: int, cuts: Sequence[Cut]) -> tuple[UnitStatus, str | None]:
    """The final status (and error) of a scanned unit: a stop wins, then a timeout; nothing collected
    of what was cut is a failure; anything cut, or a recovered VM, is partial."""
    if st.status is not UnitStatus.SCANNED:
        return st.status, st.error
    kinds = [c.kind for c in cuts]
    if CutKind.STOPPED in kinds:
        return UnitStatus.STOPPED, st.error
    timed = next((c for c in cuts if c.kind is CutKind.TIMED_OUT), None)
    if timed is not None:
        return UnitStatus.TIMED_OUT, timed.reason
    if cuts and not collected:
        return UnitStatus.FAILED, cuts[0].reason
    if cuts or st.recovered:
        return UnitStatus.PARTIAL, st.error or cuts[0].reason
    return UnitStatus.OK, st.error


def run_status(statuses: Sequence[UnitStatus], delivery_failed: bool, stopped: bool) -> RunStatus:
    if stopped:
        return RunStatus.STOPPED
    if statuses and all(s is UnitStatus.OK for s in statuses) and not delivery_failed:
        return RunStatus.COMPLETE
    if any(s in (UnitStatus.OK, UnitStatus.PARTIAL, UnitStatus.TIMED_OUT) for s in statuses):
        return RunStatus.TIMED_OUT if UnitStatus.TIMED_OUT in statuses else RunStatus.PARTIAL
    return RunStatus.FAILED if statuses else RunStatus.COMPLETE


def build_manifest(header: Header, units: Sequence[UnitState], zips: Mapping[str, Mapping[str, Any]],
                   cuts: Mapping[str, Cut], delivery_errors: Sequence[str], status: RunStatus) -> dict[str, Any]:
    """manifest.json of a run whose units are settled (no unit is pending or scanned)."""
    zips_by_role: dict[str, list[dict[str, Any]]] = {}
    for name, z in sorted(zips.items()):
        zips_by_role.setdefault(z["role"], []).append(
            {"name": name, "bytes": z["bytes"], "sha256": z["sha256"], "files": len(z["files"]),
             "delivered": bool(z.get("delivered")), "bytes_resumed": z.get("bytes_resumed", 0)})
    collected = collected_by_unit(zips)
    roles: dict[str, Any] = {}
    not_collected: list[dict[str, Any]] = []
    total_files = total_bytes = 0
    for st in units:
        role, host = st.key
        if st.status in (UnitStatus.PENDING, UnitStatus.SCANNED):
            raise ValueError(f"{role} on {host} is not settled ({st.status.value})")
        files = collected.get((role, host.lower()), [])
        not_collected += [{"role": role, "host": host, "path": path, "reason": c.reason}
                          for path, c in unit_cuts(st, cuts)]
        if st.status is UnitStatus.FAILED and not st.selected and st.error:
            not_collected.append({"role": role, "host": host, "path": None, "reason": st.error})
        nbytes = sum(f["bytes"] for f in files)
        total_files += len(files)
        total_bytes += nbytes
        r = roles.setdefault(role, {"status": UnitStatus.OK.value, "zips": zips_by_role.get(role, []), "hosts": {}})
        r["hosts"][host] = {
            "status": st.status.value, "files": len(files), "bytes": nbytes, "error": st.error,
            "start": st.started.isoformat() if st.started else None,
            "end": st.ended.isoformat() if st.ended else header.ended,
            "skipped_outside_window": st.outside, "skipped_dump_files": st.dumps_left_out, "collected": files,
        }
    for r in roles.values():
        present = {h["status"] for h in r["hosts"].values()}
        r["status"] = next((s.value for s in _WORST_FIRST if s.value in present), UnitStatus.OK.value)
    not_collected += [{"role": None, "host": None, "path": None, "reason": e} for e in delivery_errors]
    return {
        "tool": TOOL,
        "bundle": header.bundle,
        "stamp": header.stamp,
        "ercs": header.ercs,
        "status": status.value,
        "resumed": header.resumed,
        "started": header.started,
        "ended": header.ended,
        "window": dict(header.window),
        "request": dict(header.request),
        "summary": {"units": len(units), "files": total_files, "bytes": total_bytes,
                    "zips": sum(len(z) for z in zips_by_role.values()),
                    "zip_bytes": sum(z["bytes"] for zs in zips_by_role.values() for z in zs)},
        "roles": roles,
        "not_collected": not_collected,
    }


@dataclass(frozen=True)
class Closing:
    warnings: list[str]
    lines: list[str]
    units_ok: int


def closing(manifest: Mapping[str, Any], delivery_errors: Sequence[str], destination: str) -> Closing:
    """What a run prints at its end. A finished run: one WARNING per unit that is not ok and per zip
    not delivered. A stopped run stays short whatever its size: one WARNING counting the role
    instances the stop cut (naming a few roles), one counting any other trouble, one counting zips
    not delivered; the manifest has the detail."""
    hosts = [(role, host, h) for role, r in sorted(manifest["roles"].items()) for host, h in sorted(r["hosts"].items())]
    bad = [(role, host, h) for role, host, h in hosts if h["status"] != UnitStatus.OK.value]
    warnings: list[str] = []
    if manifest["status"] == RunStatus.STOPPED.value:
        cut = [role for role, _, h in bad if h["status"] == UnitStatus.STOPPED.value]
        if cut:
            names = list(dict.fromkeys(cut))
            named = ", ".join(names[:_STOP_NAMES]) + (f" and {len(names) - _STOP_NAMES} more" if len(names) > _STOP_NAMES else "")
            warnings.append(f"The collection was stopped: {len(cut)} of {len(hosts)} role instances were not "
                            f"collected completely ({named}). manifest.json lists what is missing; running the "
                            "same command again resumes the collection.")
        other = len(bad) - len(cut)
        if other:
            warnings.append(f"{other} other role instance(s) failed, timed out or were partial: see manifest.json.")
        if delivery_errors:
            warnings.append(f"{len(delivery_errors)} zip file(s) could not be delivered: see manifest.json.")
    else:
        warnings += [f"{role} on {host}: {h['status']}: {h.get('error') or 'see manifest.json'}" for role, host, h in bad]
        warnings += list(delivery_errors)
    s = manifest["summary"]
    ok = len(hosts) - len(bad)
    lines = [f"Log collection {manifest['status']}: collected {ok} of {len(hosts)} role instances "
             f"({s['files']} files, {s['bytes'] / 1048576:.1f} MB) into {s['zips']} zip file(s).",
             f"Logs are in {destination}: {manifest['bundle']}"]
    return Closing(warnings, lines, ok)
