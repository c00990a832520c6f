"""A transcript holds every command and its output, from the console and from a pypsrp client, and a
kill -9 in the middle of a long command leaves the command line (and what was shown) in it, with a
chain that still verifies up to there. Real processes: `pep`, `pep -c`, `pep serve`, SIGKILL."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest
from enginehelp import small_stamp
from pypsrp.powershell import PowerShell, RunspacePool
from test_listener_support import PASSWORD, wsman

ROOT = Path(__file__).resolve().parent.parent
PEP = [sys.executable, "-m", "pep"]


@pytest.fixture(scope="module")
def stamp(tmp_path_factory):
    return small_stamp(tmp_path_factory.mktemp("kill-stamp") / "stamp", days=0.5, mb_per_hour=0.3,
                       end=datetime.now(timezone.utc))


def _env() -> dict:
    return dict(os.environ, PYTHONPATH=str(ROOT))


def transcript_texts(state: Path) -> list[str]:
    return [p.read_text(encoding="utf-8") for p in sorted((state / "transcripts").glob("*.txt"))]


def verify(state: Path) -> subprocess.CompletedProcess:
    return subprocess.run(PEP + ["--state-dir", str(state), "transcript", "verify"], capture_output=True, text=True,
                          timeout=60, cwd=ROOT, env=_env())


def slow_config(tmp_path: Path) -> Path:
    cfg = tmp_path / "slow.json"  # a slow destination: the collection takes minutes
    cfg.write_text(json.dumps({"upload": {"bandwidth_mbps": 0.02, "block_size_mb": 1 / 64, "concurrency": 1}}))
    return cfg


def wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}")


def test_the_console_transcript_holds_every_command_and_its_output(tmp_path):
    state = tmp_path / "state"
    typed = "Get-AzureStackStampInformation\nGet-Command Get-AzureStackLog -Syntax\nGet-Nothing\n"
    proc = subprocess.run(PEP + ["--state-dir", str(state)], input=typed, capture_output=True, text=True,
                          timeout=120, cwd=ROOT, env=_env())  # the console closed by end of input
    assert "Traceback" not in proc.stderr
    (text,) = transcript_texts(state)
    assert "PS>Get-AzureStackStampInformation\n" in text and re.search(r"\nDeploymentID\s+: ", text)
    assert "PS>Get-Command Get-AzureStackLog -Syntax\n" in text and "Get-AzureStackLog [-FilterByRole" in text
    assert "PS>Get-Nothing\n" in text and "CommandNotFoundException" in text
    # in the order they ran, each command's output after its line
    assert text.index("PS>Get-AzureStackStampInformation") < text.index("DeploymentID") \
        < text.index("PS>Get-Command") < text.index("Get-AzureStackLog [-FilterByRole") < text.index("PS>Get-Nothing")
    result = verify(state)
    assert result.returncode == 0 and "intact: 3 command(s), closed" in result.stdout


def test_kill_9_of_pep_c_mid_collection_keeps_the_command_line(stamp, tmp_path, azurite):
    state = tmp_path / "state"
    sas = azurite.make_container_sas("kill-pep-c", permissions="rwl")
    command = f"Get-AzureStackLog -OutputSasUri '{sas}' -FilterByRole CA,ECE"
    proc = subprocess.Popen(PEP + ["--stamp", str(stamp), "--state-dir", str(state), "--config",
                                   str(slow_config(tmp_path)), "-c", command],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=_env())
    shown = []
    try:
        for line in proc.stdout:
            shown.append(line)
            if "Log collection destination" in line:
                break
        time.sleep(0.5)
        assert proc.poll() is None, "the collection should still be running"
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    (text,) = transcript_texts(state)
    sig = sas.split("sig=")[1].split("&")[0]
    assert "PS>Get-AzureStackLog -OutputSasUri '" in text and "-FilterByRole CA,ECE" in text
    assert sig not in text
    assert "Log collection destination" in text  # shown before the kill: in the transcript too
    assert "Windows PowerShell transcript end" not in text
    result = verify(state)
    assert result.returncode == 0, result.stdout
    assert "intact: 1 command(s), not closed" in result.stdout


def test_kill_9_of_pep_serve_mid_command_keeps_the_command_line(stamp, tmp_path, azurite):
    state = tmp_path / "state"
    pw = tmp_path / "admin-password"
    pw.write_text(PASSWORD + "\n")
    server = subprocess.Popen(PEP + ["serve", "--stamp", str(stamp), "--state-dir", str(state), "--config",
                                     str(slow_config(tmp_path)), "--listen", "127.0.0.1:0", "--admin-password-file",
                                     str(pw)],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT, env=_env())
    sas = azurite.make_container_sas("kill-serve", permissions="rwl")
    try:
        port = int(re.search(r":(\d+)/wsman", server.stdout.readline()).group(1))
        pool = RunspacePool(wsman(port, "ntlm", False), configuration_name="PrivilegedEndpoint")
        pool.open()
        ps = PowerShell(pool)
        ps.add_cmdlet("Get-AzureStackStampInformation")
        ps.invoke()
        assert not ps.had_errors
        ps = PowerShell(pool)
        ps.add_cmdlet("Get-AzureStackLog").add_parameter("OutputSasUri", sas).add_parameter("FilterByRole", ["CA"])
        ps.add_parameter("Verbose", True)
        running = threading.Thread(target=lambda: _swallow(ps.invoke), daemon=True)
        running.start()
        wait_for(lambda: any("PS>Get-AzureStackLog" in t and "VERBOSE:" in t for t in transcript_texts(state)),
                 60, "the command and its first output in the transcript")
        assert running.is_alive(), "the command should still be running"
        server.send_signal(signal.SIGKILL)
        server.wait(10)
    finally:
        if server.poll() is None:
            server.kill()
    (text,) = transcript_texts(state)
    assert "PS>Get-AzureStackStampInformation\n" in text and re.search(r"\nDeploymentID\s+: ", text)
    assert re.search(r"\nPS>Get-AzureStackLog -OutputSasUri[: ].*-FilterByRole[: ]CA", text)
    assert sas.split("sig=")[1].split("&")[0] not in text
    result = verify(state)
    assert result.returncode == 0, result.stdout
    assert "intact: 2 command(s), not closed" in result.stdout


def _swallow(call) -> None:
    try:
        call()
    except Exception:  # noqa: BLE001 - the server is killed under it
        pass
