"""Where the service meets the parts that run beside it: the outage switch (`pep support
down|up|status`, collector/support_switch.py) and the background services (the automatic-collection
scheduler, collector/scheduler.py, which also re-evaluates the health model every
`health.scan_seconds`). Portal(is_down=..., services=...) takes others (tests)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from session.environment import Environment

if TYPE_CHECKING:
    from collector.scheduler import ReporterFor


class BackgroundService(Protocol):
    """Something the service runs while it is up: `start()` returns at once (it runs on its own
    thread), `stop()` ends it. Both are called on a worker thread, never on the event loop."""

    def start(self) -> None: ...
    def stop(self) -> None: ...


def support_is_down(env: Environment) -> bool:
    """Whether Help + Support is switched off (the page and the API then answer 503). Read on every
    request, so `pep support down` is seen at once."""
    from collector import support_switch

    return support_switch.is_down(env)


def background_services(env: Environment, reporter_for: ReporterFor | None = None) -> list[BackgroundService]:
    """What runs inside the service: the automatic-collection scheduler (`reporter_for`: where each
    automatic collection reports its progress, so the API and the page show it live)."""
    from collector.scheduler import AutomaticCollector

    return [AutomaticCollector(env, reporter_for=reporter_for)]
