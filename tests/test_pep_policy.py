"""The PEP session's policy against the escape techniques of anchors.md C.5 that are not syntax
(syntax is tests/test_nolanguage.py): what is visible, what code-execution names get, common
parameters made inert, oversized input, and the audit trail."""
from __future__ import annotations

import time

import pytest

from powershell.pipeline import ListSink
from session.environment import Environment
from session.runspace import Runspace

PEP_COMMANDS = {
    # The JEA core set (RestrictedRemoteServer) ...
    "Clear-Host", "Exit-PSSession", "Get-Command", "Get-FormatData", "Get-Help", "Measure-Object", "Out-Default",
    "Select-Object",
    # ... and the PEP's own cmdlets built so far.
    "Close-PrivilegedEndpoint", "Get-AzureStackLog", "Get-AzureStackStampInformation",
    "Get-AzureStackSupportConfiguration", "Get-ClusterLog", "Get-ThirdPartyNotices", "Invoke-AzureStackOnDemandLog",
    "Send-AzureStackDiagnosticLog", "Test-AzureStack",
    # the CloudAdmin account cmdlets (cmdlets/accounts.py)
    "New-CloudAdminUser", "Remove-CloudAdminUser", "Set-CloudAdminUserPassword", "Get-CloudAdminUserList",
    # the support-session unlock (cmdlets/support.py); its diagnostic cmdlets only after an unlock
    "Get-SupportSessionToken", "Unlock-SupportSession", "Get-SupportSessionInfo",
}


@pytest.fixture()
def rs(tmp_path):
    runspace = Runspace(Environment(state_dir=tmp_path))
    yield runspace
    runspace.close()


def run(rs, text):
    sink = ListSink()
    return rs.invoke(text, sink), sink


def test_get_command_lists_exactly_the_pep_commands(rs):  # C.5 #6: an explicit allow-list, no wildcard leak
    result, sink = run(rs, "Get-Command")
    assert result.state == "Completed"
    assert {o.Name for o in sink.outputs} == PEP_COMMANDS
    result, sink = run(rs, "Get-Command -Name *-Process")
    assert sink.outputs == [] and not sink.errors


@pytest.mark.parametrize("name", [
    # C.5 #7 code execution, with their usual aliases
    "Invoke-Expression", "iex", "Invoke-Command", "icm", "Start-Process", "saps", "start", "Add-Type", "New-Object",
    "Invoke-Item", "ii", "Invoke-WmiMethod", "Invoke-CimMethod", "New-Service", "New-ScheduledTask",
    "Register-ScheduledJob", "cmd", "powershell", "pwsh", "bash", "python",
    # C.5 #8 new runspaces and jobs
    "Start-Job", "Start-ThreadJob", "ForEach-Object", "Where-Object", "Enter-PSHostProcess",
    # C.5 #9 type and format data
    "Update-TypeData", "Update-FormatData", "Remove-TypeData",
    # C.5 #10 providers
    "Get-Content", "Set-Content", "Set-Location", "cd", "dir", "ls", "cat", "Get-ChildItem", "Remove-Item",
    # C.5 #13 module-qualified names
    "Microsoft.PowerShell.Utility\\Invoke-Expression", "Microsoft.PowerShell.Management\\Start-Process",
])
def test_code_execution_and_provider_commands_are_not_recognized(rs, name):
    result, sink = run(rs, f"{name} x")
    assert result.state == "Failed"
    assert [e.FullyQualifiedErrorId for e in sink.errors] == ["CommandNotFoundException"]
    assert f"The term '{name}' is not recognized" in str(sink.errors[0])


def test_unicode_escape_in_a_command_name_does_not_reach_a_hidden_command(rs):  # C.5 #13
    result, sink = run(rs, "Invoke-Expr`u{65}ssion 'x'")
    assert result.state == "Failed"
    assert sink.errors and sink.errors[0].FullyQualifiedErrorId in ("CommandNotFoundException", "ScriptsNotAllowed")


@pytest.mark.parametrize("common", [
    "-OutVariable out", "-PipelineVariable p", "-ErrorVariable err", "-WarningVariable w",
    "-InformationVariable i", "-OutBuffer 10", "-WarningAction Inquire", "-ErrorAction Inquire",
])
def test_variable_common_parameters_are_accepted_and_inert(rs, common):  # C.5 #12
    result, sink = run(rs, f"Get-AzureStackStampInformation {common}")
    assert result.state == "Completed" and not sink.errors
    assert len(sink.outputs) == 1
    assert rs.variables == {}


def test_validateset_cannot_be_smuggled(rs):  # C.5 #11
    result, sink = run(rs, "Get-AzureStackLog -FilterByRole 'ECE;Start-Process x'")
    assert result.state == "Failed"
    assert sink.errors[0].FullyQualifiedErrorId == "ParameterArgumentValidationError,Get-AzureStackLog"


def test_huge_and_deeply_nested_inputs_end_quickly_in_an_error(rs):  # C.5 #17
    for text in ("Get-Help " + "a," * 50000 + "a -Name", "Get-Help " + "(" * 5000 + ")" * 5000):
        started = time.monotonic()
        result, sink = run(rs, text)
        assert time.monotonic() - started < 10
        assert result.state == "Failed" and sink.errors


def test_every_command_is_in_the_transcript_refused_ones_too(tmp_path):  # C.5 #18
    env = Environment(state_dir=tmp_path)
    rs = Runspace(env)
    run(rs, "Get-AzureStackStampInformation")
    run(rs, "(Get-Date).AddHours(-8)")
    run(rs, "Start-Process calc")
    rs.close()  # leaving with Exit-PSSession keeps the transcript on the PEP
    (path,) = env.state.transcripts.glob("*.txt")
    text = path.read_text()
    for line in ("PS>Get-AzureStackStampInformation", "PS>(Get-Date).AddHours(-8)", "PS>Start-Process calc"):
        assert line in text
    assert "ScriptsNotAllowed" in text and "CommandNotFoundException" in text
    assert "CloudID" in text
    assert "Windows PowerShell transcript end" in text


def test_exit_leaves_the_session_and_is_recorded(tmp_path):
    env = Environment(state_dir=tmp_path)
    rs = Runspace(env)
    result, sink = run(rs, "exit")
    assert result.state == "Completed" and not sink.errors and rs.exit_requested
    rs.close()
    (path,) = env.state.transcripts.glob("*.txt")
    assert "PS>exit" in path.read_text()
