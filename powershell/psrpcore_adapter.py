"""The one place that reaches into psrpcore's private parts (psrpcore is pinned in pyproject.toml).

* `explicit_to_string`: the ToString a PSObject was *given* (psrpcore's public `to_string` also
  answers with `str()` of classes that define `__str__`, which the 5.1 views must not use).
* `fail_pipeline`: psrpcore's server pipeline can complete or stop, but has no public way to end in
  Failed with an error record, which a terminating error needs (clients then see had_errors).
* `CiTolerantPool`: psrpcore's server runspace pool reads a host call's id as `ci` only; pypsrp
  spells it `CI` (PowerShell's own deserialiser ignores case). The pool lowers it before psrpcore
  processes the four messages that carry one.
tests/test_library_adapters.py fails loudly if a new psrpcore changes any of these.
"""
from __future__ import annotations

from psrpcore import (
    GetAvailableRunspacesEvent,
    ResetRunspaceStateEvent,
    ServerPipeline,
    ServerRunspacePool,
    SetMaxRunspacesEvent,
    SetMinRunspacesEvent,
)
from psrpcore.types import ErrorRecord, PSInvocationState, PSObject

# The pool messages that carry a host call id.
_CiEvent = SetMaxRunspacesEvent | SetMinRunspacesEvent | GetAvailableRunspacesEvent | ResetRunspaceStateEvent


def explicit_to_string(obj: PSObject) -> str | None:
    """The ToString set on `obj` (by us or by the wire), or None."""
    return getattr(obj.PSObject, "_to_string", None)


def fail_pipeline(pipeline: ServerPipeline, error: ErrorRecord) -> None:
    """End a psrpcore ServerPipeline in the Failed state with `error` (an ErrorRecord) as its reason."""
    pipeline._change_state(PSInvocationState.Failed, error)


class CiTolerantPool(ServerRunspacePool):
    """psrpcore's server pool, tolerant of pypsrp spelling the call id `CI`."""

    @staticmethod
    def _fix_ci(event: _CiEvent) -> None:
        obj: PSObject = event._ps_object
        if getattr(obj, "ci", None) is None:
            for prop in obj.PSObject.extended_properties:
                if prop.name.lower() == "ci":
                    obj.ci = obj[prop.name]

    def _process_SetMaxRunspaces(self, event: SetMaxRunspacesEvent) -> None:
        self._fix_ci(event)
        super()._process_SetMaxRunspaces(event)

    def _process_SetMinRunspaces(self, event: SetMinRunspacesEvent) -> None:
        self._fix_ci(event)
        super()._process_SetMinRunspaces(event)

    def _process_GetAvailableRunspaces(self, event: GetAvailableRunspacesEvent) -> None:
        self._fix_ci(event)
        super()._process_GetAvailableRunspaces(event)

    def _process_ResetRunspaceState(self, event: ResetRunspaceStateEvent) -> None:
        self._fix_ci(event)
        super()._process_ResetRunspaceState(event)
