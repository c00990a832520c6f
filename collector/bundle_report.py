"""The per-collection HTML report (Azure Stack Hub 2008+/2102): a summary, then each role with its
status, duration, files and zips, the role instances that are not ok, and what was not collected
and why. Written into the bundle as CollectionReport.html next to manifest.json, and linked from
the collection's history row (collector.history).

`render_report(manifest)` is a pure function of the final manifest (collector.manifest shapes it):
no clock, no file. Every value is HTML-escaped, and every text passes through common.redact, so
no SAS signature or password can reach the page even if one slipped into the manifest. A bundle
with a huge not-collected list shows its first `MAX_NOT_COLLECTED` entries and a count of the rest
(manifest.json has them all). Not to be confused with collector.report, the engine's Reporter.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from html import escape
from typing import Any

from common.redact import redact

REPORT_NAME = "CollectionReport.html"
MAX_NOT_COLLECTED = 500
_MB = 1048576

_CSS = """
body { font-family: "Segoe UI", system-ui, sans-serif; margin: 1.5em; color: #1b1b1b; }
h1 { font-size: 1.4em; } h2 { font-size: 1.15em; margin-top: 1.6em; }
table { border-collapse: collapse; margin: .5em 0; } th, td { border: 1px solid #c8c8c8; padding: .25em .6em; text-align: left; }
th { background: #f0f0f0; } td.num { text-align: right; }
.status { font-weight: 600; } .ok, .complete { color: #107c10; } .partial, .timed-out, .stopped, .incomplete, .running { color: #a05a00; }
.failed { color: #a80000; } dl { display: grid; grid-template-columns: max-content auto; gap: .2em 1em; } dt { font-weight: 600; }
"""


def _t(value: object) -> str:
    """A value as safe HTML text: redacted, then escaped."""
    return escape(redact("" if value is None else str(value)), quote=True)


def _status(value: object) -> str:
    s = str(value or "unknown")
    return f'<span class="status {escape(s.replace(" ", "-"), quote=True)}">{_t(s)}</span>'


def _time(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def duration(start: object, end: object) -> float | None:
    """Seconds between two ISO times, or None when either is missing or unreadable."""
    a, b = _time(start), _time(end)
    if a is None or b is None:
        return None
    try:
        return max(0.0, (b - a).total_seconds())
    except TypeError:  # one naive, one aware
        return None


def fmt_duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    s = int(round(seconds))
    h, rest = divmod(s, 3600)
    m, s = divmod(rest, 60)
    return f"{h}h {m:02d}m {s:02d}s" if h else f"{m}m {s:02d}s" if m else f"{seconds:.1f}s"


def role_duration(hosts: Mapping[str, Mapping[str, Any]]) -> float | None:
    """A role's duration: from its first host's start to its last host's end."""
    starts = [t for h in hosts.values() if (t := _time(h.get("start"))) is not None]
    ends = [t for h in hosts.values() if (t := _time(h.get("end"))) is not None]
    if not starts or not ends:
        return None
    try:
        return max(0.0, (max(ends) - min(starts)).total_seconds())
    except TypeError:
        return None


def _rows(cells: Iterable[Iterable[str]]) -> str:
    return "".join("<tr>" + "".join(cells_) + "</tr>\n" for cells_ in (list(c) for c in cells))


def _role_cells(role: str, r: Mapping[str, Any]) -> list[str]:
    hosts: Mapping[str, Mapping[str, Any]] = r.get("hosts") or {}
    zips = ", ".join(str(z.get("name")) + ("" if z.get("delivered") else " (not delivered)") for z in r.get("zips") or [])
    return [f"<td>{_t(role)}</td>", f"<td>{_status(r.get('status'))}</td>",
            f"<td>{_t(fmt_duration(role_duration(hosts)))}</td>",
            f"<td class=\"num\">{sum(1 for h in hosts.values() if h.get('status') == 'ok')} of {len(hosts)}</td>",
            f"<td class=\"num\">{sum(int(h.get('files') or 0) for h in hosts.values())}</td>",
            f"<td class=\"num\">{sum(int(h.get('bytes') or 0) for h in hosts.values()) / _MB:.1f}</td>",
            f"<td>{_t(zips or '-')}</td>"]


def render_report(manifest: Mapping[str, Any]) -> str:
    """The report of one bundle, as a whole HTML page."""
    roles: Mapping[str, Mapping[str, Any]] = manifest.get("roles") or {}
    summary: Mapping[str, Any] = manifest.get("summary") or {}
    window: Mapping[str, Any] = manifest.get("window") or {}
    request: Mapping[str, Any] = manifest.get("request") or {}
    not_collected: list[Mapping[str, Any]] = list(manifest.get("not_collected") or [])
    hosts_all = [(role, host, h) for role, r in sorted(roles.items()) for host, h in sorted((r.get("hosts") or {}).items())]
    ok = sum(1 for _, _, h in hosts_all if h.get("status") == "ok")
    status = manifest.get("status")

    out: list[str] = []
    out.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
               f"<title>Log collection report: {_t(manifest.get('bundle'))}</title><style>{_CSS}</style></head><body>\n")
    out.append(f"<h1>Log collection report</h1>\n<p>{_t(manifest.get('bundle'))}: {_status(status)}</p>\n")
    filters = ", ".join(f"{k} {', '.join(map(str, v)) if isinstance(v, list) else v}"
                        for k, v in request.items() if k != "destination" and v not in (None, False, [], ""))
    run_seconds = duration(manifest.get("started"), manifest.get("ended"))
    out.append("<h2>Summary</h2>\n<dl>\n")
    for label, value in (
        ("Status", _status(status)),
        ("Stamp", _t(manifest.get("stamp"))),
        ("Privileged endpoint", _t(manifest.get("ercs"))),
        ("Logs from (UTC)", _t(window.get("from_utc"))),
        ("Logs to (UTC)", _t(window.get("to_utc"))),
        ("Started", _t(manifest.get("started"))),
        ("Ended", _t(manifest.get("ended"))),
        ("Duration", _t(fmt_duration(run_seconds))),
        ("Role instances collected", _t(f"{ok} of {len(hosts_all)}")),
        ("Files", _t(summary.get("files", 0))),
        ("Log data", _t(f"{int(summary.get('bytes') or 0) / _MB:.1f} MB")),
        ("Zip files", _t(f"{summary.get('zips', 0)} ({int(summary.get('zip_bytes') or 0) / _MB:.1f} MB)")),
        ("Destination", _t(request.get("destination"))),
        ("Request", _t(filters or "all roles")),
        ("Resumed", _t("yes" if manifest.get("resumed") else "no")),
    ):
        out.append(f"<dt>{label}</dt><dd>{value}</dd>\n")
    out.append("</dl>\n")

    out.append("<h2>Roles</h2>\n<table id=\"roles\"><thead><tr><th>Role</th><th>Status</th><th>Duration</th>"
               "<th>Role instances ok</th><th>Files</th><th>MB</th><th>Zips</th></tr></thead><tbody>\n")
    out.append(_rows(_role_cells(role, r) for role, r in sorted(roles.items())))
    out.append("</tbody></table>\n")

    bad = [(role, host, h) for role, host, h in hosts_all if h.get("status") != "ok"]
    out.append("<h2>Role instances not collected completely</h2>\n")
    if bad:
        out.append("<table id=\"instances\"><thead><tr><th>Role</th><th>Host</th><th>Status</th><th>Why</th>"
                   "<th>Duration</th></tr></thead><tbody>\n")
        out.append(_rows((f"<td>{_t(role)}</td>", f"<td>{_t(host)}</td>", f"<td>{_status(h.get('status'))}</td>",
                          f"<td>{_t(h.get('error') or '-')}</td>",
                          f"<td>{_t(fmt_duration(duration(h.get('start'), h.get('end'))))}</td>")
                         for role, host, h in bad))
        out.append("</tbody></table>\n")
    else:
        out.append("<p>None: every role instance was collected.</p>\n")

    out.append("<h2>Not collected</h2>\n")
    if not_collected:
        shown = not_collected[:MAX_NOT_COLLECTED]
        out.append("<table id=\"not-collected\"><thead><tr><th>Role</th><th>Host</th><th>File</th><th>Why</th>"
                   "</tr></thead><tbody>\n")
        out.append(_rows((f"<td>{_t(n.get('role') or '-')}</td>", f"<td>{_t(n.get('host') or '-')}</td>",
                          f"<td>{_t(n.get('path') or '-')}</td>", f"<td>{_t(n.get('reason'))}</td>") for n in shown))
        out.append("</tbody></table>\n")
        if len(not_collected) > len(shown):
            out.append(f"<p>... and {len(not_collected) - len(shown)} more: see manifest.json.</p>\n")
    else:
        out.append("<p>Nothing: every file in the window was collected and delivered.</p>\n")
    if manifest.get("interrupted"):
        out.append(f"<p>Interrupted: {_t((manifest.get('interrupted') or {}).get('reason'))}</p>\n")
    out.append("<p>manifest.json in the same folder has every file collected, with sizes and checksums.</p>\n")
    out.append("</body></html>\n")
    return "".join(out)
