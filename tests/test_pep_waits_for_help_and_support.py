"""A PEP collection started while Help + Support collects waits for it (one WARNING line, Ctrl+C
stops the wait) instead of failing; one started while another PEP session collects still refuses."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from enginehelp import END, small_stamp

from collector.engine import Engine
from session.environment import Environment

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def stamp(tmp_path_factory):
    return small_stamp(tmp_path_factory.mktemp("stamp") / "s")


def _collect(stamp: Path, state: Path, out: Path) -> subprocess.Popen[str]:
    frm = (END.replace(tzinfo=None) - timedelta(hours=2)).strftime("%m/%d/%Y %H:%M")
    to = END.replace(tzinfo=None).strftime("%m/%d/%Y %H:%M")
    text = f'Get-AzureStackLog -OutputPath "{out}" -FilterByRole SeedRing -FromDate "{frm}" -ToDate "{to}"'
    return subprocess.Popen([sys.executable, "-m", "pep", "--stamp", str(stamp), "--state-dir", str(state), "-c", text],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})


@pytest.mark.parametrize("holder, waits", [("Automatic collection", True), ("Collect logs now", True),
                                           ("Get-AzureStackLog", False)])
def test_a_pep_collection_waits_behind_help_and_support_only(tmp_path, stamp, holder, waits):
    env = Environment(stamp_dir=stamp, state_dir=tmp_path / "state")
    lock = Engine(env).lock()
    lock.acquire({"user": "Help + Support", "command": holder, "started": "now"})
    released = threading.Timer(3.0, lock.release)
    released.start()
    try:
        started = time.monotonic()
        proc = _collect(stamp, tmp_path / "state", tmp_path / "out")
        out, err = proc.communicate(timeout=180)
    finally:
        released.cancel()
        if lock.held:
            lock.release()
    assert "Traceback" not in err
    if waits:
        assert proc.returncode == 0, err
        assert time.monotonic() - started >= 3.0
        assert f"WARNING: Help + Support is collecting logs ({holder}" in out + err
        assert list((tmp_path / "out").glob("AzureStackLogs-*/manifest.json"))
    else:
        assert proc.returncode == 1 and "CollectionAlreadyRunning" in err
