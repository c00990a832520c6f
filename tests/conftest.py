"""Shared pytest fixtures: real servers on loopback (Azurite, Samba), started once per session.

A missing server binary skips the tests that need it with a hint to run scripts/install-test-deps;
CI installs both, so nothing skips there.
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest
from hypothesis import Phase, settings

# No "explain" phase: on a failure its line tracer makes a run crawl for minutes before it reports.
settings.register_profile("azs-pep", deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink])
settings.load_profile("azs-pep")

# The project packages import from the repository root even when it is not pip-installed.
_ROOT = str(Path(__file__).resolve().parent.parent)
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from servers import Azurite, Samba, ServerUnavailable, start_azurite, start_samba  # noqa: E402 - after the path


def _serve(start):
    """Run a server for the whole session; skip its tests (with the install hint) when it is missing."""
    try:
        cm = start()
        server = cm.__enter__()
    except ServerUnavailable as e:
        pytest.skip(str(e))
    try:
        yield server
    finally:
        cm.__exit__(None, None, None)


@pytest.fixture(scope="session")
def azurite() -> Azurite:
    """A running Azurite blob service: .endpoint, .account, .key, .make_container_sas(name, permissions, expiry)."""
    yield from _serve(start_azurite)


@pytest.fixture(scope="session")
def samba() -> Samba:
    """A running smbd: .host, .port, .share, .user, .password, .path (local dir of the share), .unc(...)."""
    yield from _serve(start_samba)
