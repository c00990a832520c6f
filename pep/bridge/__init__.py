"""The WinRM bridge: the workstation side of PowerShell remoting (pypsrp client), `pep run` and
`pep connect`. Everything heavy is imported lazily so `pep` starts fast."""
from __future__ import annotations

from typing import Any


def main_run(env: Any, args: Any) -> int:
    from pep.bridge.frontends import main_run as run

    return run(env, args)


def main_connect(env: Any, args: Any) -> int:
    from pep.bridge.frontends import main_connect as connect

    return connect(env, args)
