"""Cmdlets that turn a value into text use the one rule (powershell/text.py, docs/values.md):
Measure-Object quotes a value in its error as the value's ToString() (to_display: an array is
System.Object[], never a Python list), and the workstation's Write-Host writes each object's
ToString() in the session culture (a date as 11/25/2026 8:00:00 AM), as Windows PowerShell 5.1 does,
while text expanded in a string stays invariant. Typed as a user types them."""
from __future__ import annotations

import pytest

from pep.bridge.frontends import workstation_runspace
from powershell.pipeline import ListSink
from session.environment import Environment
from session.runspace import Runspace


@pytest.fixture
def pep(tmp_path):
    rs = Runspace(Environment(state_dir=tmp_path / "pep"), transcript=False)
    yield rs
    rs.close()


@pytest.fixture
def workstation(tmp_path):
    rs = workstation_runspace(Environment(state_dir=tmp_path / "ws"))
    yield rs
    rs.close()


@pytest.mark.parametrize("text, quoted", [
    ("Measure-Object -InputObject 1.5,2 -Sum", "System.Object[]"),
    ("Measure-Object -InputObject abc -Sum", "abc"),
    ("Get-AzureStackStampInformation | Measure-Object -Sum", None),  # a PSCustomObject: @{...}
    ("Get-Command Get-Help | Measure-Object -Maximum", "Get-Help"),  # a CommandInfo's ToString is its name
])
def test_measure_object_quotes_a_non_numeric_input_as_its_tostring(pep, text, quoted):
    sink = ListSink()
    pep.invoke(text, sink)
    (err,) = sink.errors
    assert err.FullyQualifiedErrorId == "NonNumericInputObject,Microsoft.PowerShell.Commands.MeasureObjectCommand"
    message = str(err.Exception.Message)
    assert message.endswith('" is not numeric.') and message.startswith('Input object "')
    if quoted is not None:
        assert message == f'Input object "{quoted}" is not numeric.'
    else:
        assert message.startswith('Input object "@{') and "[" not in message.split("@{")[0]


@pytest.mark.parametrize("script, line", [
    ('$d = [datetime]"11/25/2026 08:00"; Write-Host $d', "11/25/2026 8:00:00 AM"),
    ('$d = [datetime]"11/25/2026 20:05:09"; Write-Host $d', "11/25/2026 8:05:09 PM"),
    ('$d = [datetime]"11/25/2026 08:00"; Write-Host "from $d"', "from 11/25/2026 08:00:00"),
    ('$d = [datetime]"11/25/2026 08:00"; $d | Write-Host', "11/25/2026 8:00:00 AM"),
    ('$d = [datetime]"11/25/2026 08:00"; Write-Host 1.5,$d -Separator "|"', "1.5|11/25/2026 8:00:00 AM"),
    ('Write-Host (1,(2,3)) -Separator ","', "1,2,3"),
    ("Write-Host $true 3 x", "True 3 x"),
    ('$c = New-Object System.Management.Automation.PSCredential("u", (ConvertTo-SecureString "p" -AsPlainText '
     "-Force)); Write-Host $c", "System.Management.Automation.PSCredential"),
])
def test_write_host_writes_each_object_s_tostring(workstation, script, line):
    sink = ListSink()
    workstation.invoke(script, sink)
    assert not sink.errors, [str(e.Exception.Message) for e in sink.errors]
    assert [str(i) for i in sink.informations] == [line]
