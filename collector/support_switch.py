"""The Help + Support outage switch: `pep support down` / `pep support up` / `pep support status`.

    set_down(env, reason="planned maintenance")   # Help + Support is down from now
    set_up(env)                                    # back up
    is_down(env)                                   # what a running service asks on every request
    status(env)                                    # SwitchStatus(down, since, reason)

While down, automatic collection does not run (collector.scheduler) and the service answers 503
with a page that names the PEP fallback; the PEP keeps collecting. The state is one small file,
`<state>/help-support/support-switch.json`, written atomically and read again on every call, so a
running `pep serve` sees the switch at once. No file (or an unreadable one) means up.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from collector.settings import EngineEnv
from common.state import atomic_write_json

SWITCH_FILE = "support-switch.json"


@dataclass(frozen=True)
class SwitchStatus:
    down: bool
    since: datetime | None      # when it went down (down), or came back up (up; None: never switched)
    reason: str | None = None   # what `pep support down --reason` said

    def to_json(self) -> dict[str, Any]:
        return {"down": self.down, "since": self.since.isoformat() if self.since else None, "reason": self.reason}


def _path(env: EngineEnv) -> Path:
    return env.state.sub("help-support") / SWITCH_FILE


def status(env: EngineEnv) -> SwitchStatus:
    """The switch as stored now."""
    try:
        data = json.loads(_path(env).read_text(encoding="utf-8"))
        since = datetime.fromisoformat(str(data["since"])) if data.get("since") else None
        reason = data.get("reason")
        return SwitchStatus(bool(data.get("down")), since, str(reason) if reason else None)
    except (OSError, ValueError, KeyError, TypeError):
        return SwitchStatus(False, None)


def is_down(env: EngineEnv) -> bool:
    return status(env).down


def went_down(env: EngineEnv) -> datetime | None:
    """When Help + Support went down, or None while it is up."""
    s = status(env)
    return s.since if s.down else None


def set_down(env: EngineEnv, reason: str | None = None, now: datetime | None = None) -> SwitchStatus:
    """Take Help + Support down. Already down: keeps the original time (a new reason replaces the old)."""
    current = status(env)
    since = current.since if current.down and current.since else (now or datetime.now(timezone.utc))
    new = SwitchStatus(True, since.astimezone(timezone.utc), reason if reason is not None else current.reason)
    atomic_write_json(_path(env), new.to_json())
    return new


def set_up(env: EngineEnv, now: datetime | None = None) -> SwitchStatus:
    """Bring Help + Support back up. Already up: nothing changes."""
    current = status(env)
    if not current.down:
        return current
    new = SwitchStatus(False, (now or datetime.now(timezone.utc)).astimezone(timezone.utc))
    atomic_write_json(_path(env), new.to_json())
    return new
