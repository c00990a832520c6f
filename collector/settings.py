"""What the engine needs from its surroundings: configuration values and the state directory.
session.environment.Environment provides both; so can any front end (the Help + Support service)."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from common.state import StateDir


class EngineEnv(Protocol):
    @property
    def stamp_dir(self) -> Path | None: ...  # --stamp DIR; None: the embedded stamp in the state dir

    @property
    def state(self) -> StateDir: ...

    def setting(self, dotted: str, default: Any = None) -> Any: ...  # JSON values, dotted keys
