"""Errors a cmdlet writes (or throws) show where the command was typed, as Windows PowerShell 5.1's
error view does: "<command> : <message>", "At line:L char:C", the source line, "~~~" under the
command (that pipeline element only), then CategoryInfo and FullyQualifiedErrorId.

Parse and binding errors point at the faulty token (tests/test_formatting.py, test_binding.py);
records from a remote session keep the remote view (tests/test_bridge.py).
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def pep(*args: str, state: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pep", "--state-dir", str(state), *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


CASES = [
    ("Get-AzureStackLog -FilterByNode Nope", [
        "Get-AzureStackLog : Cannot find the computer 'Nope' in this stamp.",
        "At line:1 char:1",
        "+ Get-AzureStackLog -FilterByNode Nope",
        "+ ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~",
        "    + CategoryInfo          : ObjectNotFound: (Nope:String) [Get-AzureStackLog], ArgumentException",
        "    + FullyQualifiedErrorId : NodeNotFound,Get-AzureStackLog",
    ]),
    # the first element of a pipeline: the marker is under that element only
    ("Get-Command Nope | Select-Object Name", [
        "Get-Command : The term 'Nope' is not recognized",
        "At line:1 char:1",
        "+ Get-Command Nope | Select-Object Name",
        "+ ~~~~~~~~~~~~~~~~",
        "    + CategoryInfo          : ObjectNotFound: (Nope:String) [Get-Command], CommandNotFoundException",
    ]),
    # a later element
    ("Get-AzureStackStampInformation | Get-Help Nope", [
        "Get-Help : Get-Help could not find Nope",
        "At line:1 char:34",
        "+ Get-AzureStackStampInformation | Get-Help Nope",
        "+                                  ~~~~~~~~~~~~~",
    ]),
    # a terminating error (ThrowTerminatingError) carries the position too
    ('Get-AzureStackLog -FromDate "11/25/2026 10:00" -ToDate "11/25/2026 09:00" -OutputPath out', [
        "Get-AzureStackLog : The ToDate",
        "At line:1 char:1",
        '+ Get-AzureStackLog -FromDate "11/25/2026 10:00" -ToDate "11/25/2026 09 ...',
        "+ " + "~" * 69,
        "    + CategoryInfo          : InvalidArgument: (11/25/2026 9:00:00 AM:DateTime) [Get-AzureStackLog], "
        "ArgumentException",
        "    + FullyQualifiedErrorId : InvalidTimeWindow,Get-AzureStackLog",
    ]),
]


@pytest.mark.parametrize(("text", "expected"), CASES, ids=[c[0] for c in CASES])
def test_a_cmdlet_error_shows_where_the_command_was_typed(tmp_path, text, expected):
    proc = pep("-c", text, state=tmp_path / "state")
    assert proc.returncode == 1
    assert "Traceback" not in proc.stdout + proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) >= len(expected), proc.stderr
    for got, want in zip(lines, expected, strict=False):
        assert got.startswith(want), (got, want)


def test_json_errors_carry_the_line_and_column(tmp_path):
    proc = pep("--json", "-c", "Get-AzureStackStampInformation | Get-Help Nope", state=tmp_path)
    record = json.loads(proc.stderr.splitlines()[0])
    assert (record["FullyQualifiedErrorId"].split(",")[0], record["Line"], record["Column"]) == ("HelpNotFound", 1, 34)


def test_a_cmdlet_error_in_a_script_shows_its_line(tmp_path):
    script = tmp_path / "s.ps1"
    script.write_text("$x = 1\nNew-PSSession -ComputerName 127.0.0.1 -Port 1\n", encoding="utf-8")
    proc = pep("run", str(script), state=tmp_path / "state")
    assert proc.returncode == 1
    assert "Traceback" not in proc.stdout + proc.stderr
    lines = proc.stderr.splitlines()
    assert lines[0].startswith("New-PSSession : Connecting to remote server 127.0.0.1 failed")
    assert lines[1:4] == ["At line:2 char:1", "+ New-PSSession -ComputerName 127.0.0.1 -Port 1", "+ " + "~" * 45]
    assert lines[5] == "    + FullyQualifiedErrorId : CredentialRequired,PSSessionOpenFailed"
