"""The common flags (--stamp, --state-dir, --config) work before and after a subcommand, as typed."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def pep(*args: str, cwd: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PEP_ADMIN_PASSWORD": "Flags-P@ss1"}
    env.pop("PEP_STATE_DIR", None)
    return subprocess.Popen([sys.executable, "-m", "pep", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, cwd=cwd, env=env)


@pytest.mark.parametrize("before", [True, False])
def test_state_dir_is_kept_on_either_side_of_serve(tmp_path, before):
    flags = ["--state-dir", "state"]
    args = [*flags, "serve", "--listen", "127.0.0.1:0"] if before else ["serve", "--listen", "127.0.0.1:0", *flags]
    proc = pep(*args, cwd=tmp_path)
    try:
        assert "Listening on" in (proc.stdout.readline() if proc.stdout else "")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert (tmp_path / "state" / "logs" / "pep-serve.log").is_file()


@pytest.mark.parametrize("before", [True, False])
def test_state_dir_is_kept_on_either_side_of_fault(tmp_path, before):
    add = ["fault", "add", "update-failed"]
    args = ["--state-dir", "state", *add] if before else [*add, "--state-dir", "state"]
    proc = pep(*args, cwd=tmp_path)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert (tmp_path / "state" / "health" / "faults.json").is_file()


def _port_free(port: int) -> bool:
    import socket

    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def test_portal_alone_starts_the_service_on_its_documented_address(tmp_path):
    if not _port_free(8443):
        pytest.skip("port 8443 is taken on this computer")
    proc = pep("--state-dir", "state", "serve", "--listen", "127.0.0.1:0", "--portal", cwd=tmp_path)
    try:
        lines = [proc.stdout.readline() if proc.stdout else "" for _ in range(3)]
        assert any(line.startswith("Help + Support on http://127.0.0.1:8443/") for line in lines), lines
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
