"""Which cmdlets a session can see.

Each area module (cmdlets/core.py, stamp.py, log.py, ...) lists its cmdlets in CMDLETS. The PEP
policy is the union of the PEP areas; the workstation policy adds the workstation cmdlets. A
cmdlet is visible only once its module exists and works: there are no stubs.
"""
from __future__ import annotations

import importlib
from functools import cache

from powershell.commands import Cmdlet

PEP_AREAS = ("cmdlets.core", "cmdlets.stamp", "cmdlets.log", "cmdlets.health", "cmdlets.endpoint", "cmdlets.accounts",
             "cmdlets.support")
WORKSTATION_AREAS = ("cmdlets.workstation",)


def _load(areas: tuple[str, ...]) -> tuple[type[Cmdlet], ...]:
    found: list[type[Cmdlet]] = []
    for module_name in areas:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as e:
            if e.name == module_name:  # the area is not built yet; anything else is a real error
                continue
            raise
        found.extend(getattr(module, "CMDLETS", ()))
    return tuple(found)


@cache
def pep_cmdlets() -> tuple[type[Cmdlet], ...]:
    return _load(PEP_AREAS)


@cache
def workstation_cmdlets() -> tuple[type[Cmdlet], ...]:
    return _load(WORKSTATION_AREAS)
