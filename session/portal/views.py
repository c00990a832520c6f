"""What the service shows, as plain JSON-ready data (blocking: they read the state directory; the
service calls them on its worker threads). The page renders the same data the API returns."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from collector import automatic_settings, health, healthmodel
from collector.history import History, HistoryRow
from common.redact import redact
from session.environment import Environment

ALERT_STATES = ("active", "closed")


def health_json(env: Environment) -> dict[str, Any]:
    """The summary of the live model (components per health) and the Test-AzureStack categories of
    the default run, with the components that are not healthy."""
    snap = healthmodel.current(env)
    names = list(health.GROUPS["Default"])
    results = health.results(snap.model, snap.alerts, names, env.setting("health.fail", []) or [],
                             env.setting("health.warn", []) or [])
    summary = snap.model.summary()
    overall = (healthmodel.CRITICAL if summary[healthmodel.CRITICAL] else
               healthmodel.WARNING if summary[healthmodel.WARNING] else healthmodel.HEALTHY)
    counts = {s: sum(1 for r in results if r.status == s) for s in ("PASS", "WARN", "FAIL")}
    return {
        "time": snap.now.isoformat(),
        "stamp": snap.model.stamp.name,
        "status": overall,
        "summary": summary,
        "activeAlerts": len(snap.active_alerts),
        "categories": [{"name": r.name, "displayName": r.display_name, "result": r.status, "details": r.detail}
                       for r in results],
        "categorySummary": counts,
        "unhealthy": [{"type": c.type, "name": c.name, "status": c.status, "detail": c.detail, "parent": c.parent}
                      for c in snap.model.components if c.status != healthmodel.HEALTHY],
    }


def alerts_json(env: Environment, state: str | None) -> list[dict[str, Any]]:
    """The model's alerts (newest first), and the automatic-collection SAS's own alert while active."""
    out: list[dict[str, Any]] = [a.to_json() for a in healthmodel.list_alerts(env, state)]
    if state in (None, "active"):
        settings = automatic_settings.load(env)
        for sas in automatic_settings.sas_alerts(settings, datetime.now(timezone.utc),
                                                 automatic_settings.warning_lead(env)):
            out.insert(0, {
                "id": f"sas:{sas.fault_id_type.rsplit('.', 1)[-1]}", "key": f"sas:{sas.fault_id_type}",
                "title": sas.title, "fault_id_type": sas.fault_id_type, "severity": sas.severity,
                "component": settings.location if settings else "", "component_type": "Automatic log collection",
                "description": redact(sas.description), "trigger": False, "state": "Active",
                "raised": None, "closed": None, "fault": None, "kind": "sas-url", "target": None,
                "expiry": sas.expiry,
            })
    return out


def short_time(value: object) -> str:
    """An ISO 8601 UTC time as the page's tables show it: `2026-11-25 08:00:05` (the API keeps the
    full form)."""
    if not isinstance(value, str) or not value:
        return ""
    try:
        return datetime.fromisoformat(value).astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
    except ValueError:
        return value


def row_json(row: HistoryRow, progress: dict[str, Any] | None = None) -> dict[str, Any]:
    """A history row as the API shows it: the local report path becomes the report's URL, the owner
    (host, process) stays in the state directory; `progress` while it runs here."""
    d = row.to_json()
    d.pop("owner", None)
    d["report"] = f"/api/collections/{row.id}/report" if row.report else None
    if progress is not None:
        d["progress"] = progress
    return d


def history_page(env: Environment, offset: int, limit: int) -> dict[str, Any]:
    page = History(env.state).list_rows(offset, limit)
    return {"total": page.total, "offset": page.offset, "limit": page.limit, "rows": [row_json(r) for r in page.rows]}


def settings_json(env: Environment) -> dict[str, Any]:
    return automatic_settings.public_view(automatic_settings.load(env))
