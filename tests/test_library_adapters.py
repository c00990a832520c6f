"""The adapters that reach into third-party private parts, against the pinned versions.

Each test fails loudly when a new release changes what the adapter relies on, before a user meets
it: powershell/psrpcore_adapter.py and remoting/pypsrp_adapter.py (pyspnego's adapter has its own
file, tests/test_spnego_acceptor.py).
"""
from __future__ import annotations

import uuid

from psrpcore import ServerPipeline, ServerRunspacePool
from psrpcore.types import PSInvocationState

from powershell.objects import custom_object, error_record
from powershell.psrpcore_adapter import CiTolerantPool, explicit_to_string, fail_pipeline


def test_explicit_to_string_is_only_what_was_given():
    obj = custom_object("AzureStack.Test", Name="x")
    assert explicit_to_string(obj) is None
    obj.PSObject.to_string = "shown"
    assert explicit_to_string(obj) == "shown" and str(obj) == "shown"


def test_the_pool_still_processes_the_messages_it_tolerates():
    for name in ("_process_SetMaxRunspaces", "_process_SetMinRunspaces", "_process_GetAvailableRunspaces",
                 "_process_ResetRunspaceState"):
        assert callable(getattr(ServerRunspacePool, name)), name
        assert getattr(CiTolerantPool, name) is not getattr(ServerRunspacePool, name)


def test_fail_pipeline_ends_in_failed_with_the_record():
    pool = CiTolerantPool()
    pipe = ServerPipeline(pool, uuid.uuid4())
    record = error_record("boom", "Boom")
    fail_pipeline(pipe, record)
    assert pipe.state == PSInvocationState.Failed


def test_pypsrp_objects_keep_their_tostring_where_the_adapter_reads_it():
    from pypsrp.complex_objects import ComplexObject, ErrorRecord

    from remoting.pypsrp_adapter import explicit_to_string as remote_text

    obj = ComplexObject()
    assert remote_text(obj) is None
    obj._to_string = "remote text"
    assert remote_text(obj) == "remote text" and str(obj) == "remote text"
    assert issubclass(ErrorRecord, ComplexObject) and "_to_string" in vars(ErrorRecord())
