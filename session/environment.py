"""What every session of one `pep` process shares: the stamp, the state directory, the configuration.

Configuration (`--config FILE` / PEP_CONFIG) is JSON. Emulator-only knobs live here, never as
cmdlet parameters (DESIGN rule 2): bandwidth caps, fault injection, default output folder, ...
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from collector.stamp import Stamp, load_stamp
from common.state import StateDir

if TYPE_CHECKING:
    from session.accounts import Accounts


class ConfigError(Exception):
    pass


@dataclass
class Environment:
    stamp_dir: Path | None = None
    state_dir: Path | None = None
    config_path: Path | None = None
    config: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_options(cls, stamp: str | None = None, state_dir: str | None = None, config: str | None = None) -> Environment:
        config = config or os.environ.get("PEP_CONFIG")
        data: dict[str, Any] = {}
        if config:
            try:
                data = json.loads(Path(config).read_text())
            except (OSError, ValueError) as e:
                raise ConfigError(f"Cannot read configuration file '{config}': {e}") from None
            if not isinstance(data, dict):
                raise ConfigError(f"Configuration file '{config}' must hold a JSON object.")
        return cls(
            stamp_dir=Path(stamp) if stamp else None,
            state_dir=Path(state_dir) if state_dir else None,
            config_path=Path(config) if config else None,
            config=data,
        )

    @cached_property
    def state(self) -> StateDir:
        return StateDir(self.state_dir)

    @cached_property
    def stamp(self) -> Stamp:
        return load_stamp(self.stamp_dir)

    @cached_property
    def accounts(self) -> Accounts:
        """The CloudAdmin accounts (session/accounts.py); one store per process, and every process
        sees the others' changes. Config: accounts.min_password_length (default 8)."""
        from session.accounts import Accounts

        return Accounts(self.state, self.stamp.definition.get("domain_fqdn") or self.stamp.domain)

    def setting(self, dotted: str, default: Any = None) -> Any:
        """config value by dotted path, e.g. setting('upload.bandwidth_mbps')."""
        cur: Any = self.config
        for part in dotted.split("."):
            if not isinstance(cur, dict) or part not in cur:
                return default
            cur = cur[part]
        return cur
