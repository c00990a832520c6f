"""One unit of a collection (a role on a host) as the run sees it: its status (collector.status)
and what its scan found."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from collector.logkinds import Judged
from collector.plan import Unit
from collector.status import UNIT_TRANSITIONS, UnitStatus, advance


@dataclass
class UnitState:
    unit: Unit
    status: UnitStatus = UnitStatus.PENDING
    error: str | None = None
    selected: list[Judged] = field(default_factory=list)
    outside: int = 0          # in no window: ruled out by name or by times
    dumps_left_out: int = 0   # crash dumps, left out because dumps were not asked for
    started: datetime | None = None
    ended: datetime | None = None
    recovered: bool = False   # listed from the VM's disk (VM log recovery)

    @property
    def key(self) -> tuple[str, str]:
        return self.unit.role, self.unit.host

    def move(self, new: UnitStatus, error: str | None = None) -> None:
        """Change status along UNIT_TRANSITIONS (IllegalTransition otherwise)."""
        self.status = advance(UNIT_TRANSITIONS, self.status, new)
        if error is not None:
            self.error = error
