"""The workstation subset of `pep run`: what a script evaluates to, what Invoke-Command would send,
and what is refused, through a real workstation Runspace (parser, binder, cmdlets; no network)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from pep.bridge.frontends import workstation_runspace
from powershell.invocation import NO_VALUE
from powershell.language import parse
from powershell.language.workstation.dates import dotnet_format, uformat
from powershell.language.workstation.remoting import plan
from powershell.objects import PSCredential, PSSecureString
from powershell.pipeline import ListSink
from session.environment import Environment


@pytest.fixture
def rs(tmp_path):
    runspace = workstation_runspace(Environment(state_dir=tmp_path / "state"))
    yield runspace
    runspace.close()


def run(rs, text):
    sink = ListSink()
    result = rs.invoke(text, sink)
    return result, sink


def outputs(rs, text):
    result, sink = run(rs, text)
    assert not sink.errors, [str(e.Exception.Message) for e in sink.errors]
    return sink.outputs


@pytest.mark.parametrize("text, expected", [
    ("$a = 5; $a", [5]),
    ("$a = 5\n$a += 2\n$a", [7]),
    ("$a = 'x'; \"value: $a\"", ["value: x"]),
    ("$a = 1,2,3; $a.Count", [3]),
    ("$a = @(7); $a[0]", [7]),
    ("$h = @{ Role = 'Storage'; Count = 2 }; $h.role; $h['COUNT']", ["Storage", 2]),
    ("1 -eq 1; 'A' -eq 'a'; 'A' -ceq 'a'; 2 -gt 10; 10 -gt '9'; '2' -lt 10", [True, True, False, False, True, False]),
    ("1,5,9 -ge 5", [5, 9]),
    ("$true -and $false; -not $false; $null -eq $x", [False, True, True]),
    ("'Get-AzureStackLog' -like 'get-*'", [True]),
    ("$n = 10 / 4; $n; 7 % 3; 'ab' * 2", [2.5, 1, "abab"]),
    ("$s = 'azs-ercs01'; $s.ToUpper(); $s.Length", ["AZS-ERCS01", 10]),
    ("Write-Output 'a','b'", ["a", "b"]),
    ("'x' | Write-Output", ["x"]),
    ("$(1 + 1)", [2]),
])
def test_expressions_and_variables(rs, text, expected):
    assert outputs(rs, text) == expected


def test_variables_persist_between_inputs(rs):
    outputs(rs, "$share = '\\\\fs\\logs'")
    assert outputs(rs, "\"to $share\"") == ["to \\\\fs\\logs"]


def test_dates_computed_on_the_workstation(rs):
    before = datetime.now(timezone.utc)
    (eight_ago,) = outputs(rs, "(Get-Date).AddHours(-8)")
    assert eight_ago.tzinfo is not None
    assert abs((before - timedelta(hours=8)) - eight_ago) < timedelta(seconds=5)
    assert outputs(rs, '[datetime]"11/25/2026 08:00"') == [datetime(2026, 11, 25, 8, 0)]
    assert outputs(rs, '([datetime]"11/25/2026 08:00").AddDays(1).AddMinutes(30).ToString("yyyy-MM-dd HH:mm")') == [
        "2026-11-26 08:30"]
    assert outputs(rs, '[datetime]"2026-11-25T08:00:00Z" -lt [datetime]::UtcNow') == [True]
    (utc,) = outputs(rs, "(Get-Date).ToUniversalTime()")
    assert utc.utcoffset() == timedelta(0)
    assert outputs(rs, 'Get-Date -Date "11/25/2026 08:05" -Format "yyyyMMdd-HHmm"') == ["20261125-0805"]
    assert outputs(rs, '$d = [datetime]"11/25/2026 08:00"; $d.Year; $d.Month; $d.Hour; $d.DayOfWeek') == [
        2026, 11, 8, "Wednesday"]
    assert outputs(rs, '[datetime]"11/25/2026" -eq "2026-11-25"') == [True]


@pytest.mark.parametrize("fmt, expected", [
    ("G", "11/25/2026 8:05:03 AM"),
    ("d", "11/25/2026"),
    ("s", "2026-11-25T08:05:03"),
    ("o", "2026-11-25T08:05:03.0000000"),
    ("dddd, MMMM d, yyyy h:mm:ss tt", "Wednesday, November 25, 2026 8:05:03 AM"),
    ("yyyy'-'MM HH\\h", "2026-11 08h"),
])
def test_dotnet_date_formats(fmt, expected):
    assert dotnet_format(datetime(2026, 11, 25, 8, 5, 3), fmt) == expected


def test_uformat():
    assert uformat(datetime(2026, 11, 25, 8, 5, 3), "%Y-%m-%d %H:%M") == "2026-11-25 08:05"


def test_credentials_are_built_locally(rs):
    (cred,) = outputs(rs, '$pw = ConvertTo-SecureString "P@ss w0rd" -AsPlainText -Force\n'
                          'New-Object System.Management.Automation.PSCredential("AZURESTACK\\CloudAdmin", $pw)')
    assert isinstance(cred, PSCredential)
    assert cred.UserName == "AZURESTACK\\CloudAdmin"
    assert cred.Password.decrypt() == "P@ss w0rd"
    (same,) = outputs(rs, "New-Object -TypeName PSCredential -ArgumentList 'u', $pw")
    assert same.UserName == "u"


@pytest.mark.parametrize("text, error_id", [
    ('ConvertTo-SecureString "x" -AsPlainText',
     "ImportSecureString_InvalidArgument,Microsoft.PowerShell.Commands.ConvertToSecureStringCommand"),
    ("New-Object System.Net.WebClient", "NotSupportedByWorkstationSubset,Microsoft.PowerShell.Commands.NewObjectCommand"),
    ("New-Object PSCredential('u', 'plain')",
     "ConstructorInvokedThrowException,Microsoft.PowerShell.Commands.NewObjectCommand"),
    ("$x = $using:fromDate", "UsingWithoutInvokeCommand"),
    ("(Get-Date).Frobnicate()", "MethodNotFound"),
    ("$n = $null; $n.ToString()", "InvokeMethodOnNull"),
    ('[datetime]"not a date"', "InvalidCastParseTargetInvocation"),
    ("Get-Process", "CommandNotFoundException"),
    ("New-PSSession -ComputerName h -Authentication Kerberos -Credential $null", None),
    ("Get-Date -Bogus", "NamedParameterNotFound,Get-Date"),
])
def test_runtime_errors_are_powershell_records(rs, text, error_id):
    result, sink = run(rs, text)
    assert result.had_errors and sink.errors
    if error_id:
        assert sink.errors[0].FullyQualifiedErrorId == error_id


def test_a_runtime_error_ends_only_its_statement(rs):
    result, sink = run(rs, "(Get-Date).Nope()\n'after'")
    assert sink.outputs == ["after"] and len(sink.errors) == 1


@pytest.mark.parametrize("text, construct", [
    ("foreach ($i in 1..3) { $i }", "'foreach' statement"),
    ("if ($true) { 'x' }", "'if' statement"),
    ("function f { 1 }", "'function' statement"),
    ("Get-Date > out.txt", "redirection"),
    ("& Get-Date", "'&' invocation operator"),
    ("Get-Date && Get-Date", "'&&' operator"),
    ("'a,b' -split ','", "'-split' operator"),
    ("[System.IO.File]::ReadAllText('x')", "[System.IO.File] type"),
    ("$a.b = 1", "assignment to anything but a variable"),
])
def test_unsupported_constructs_refused_before_anything_runs(rs, text, construct):
    result, sink = run(rs, "$ran = 'yes'\n" + text)
    assert result.state == "Failed"
    (record,) = sink.errors
    assert record.FullyQualifiedErrorId == "NotSupportedByWorkstationSubset"
    assert str(record.Exception.Message) == f"The {construct} is not supported by pep run's workstation subset."
    assert "ran" not in rs.variables  # nothing ran
    assert record.position is not None


def test_script_blocks_are_not_checked_locally(rs):
    # what is inside { } belongs to the remote endpoint; its language mode decides
    result, sink = run(rs, "$b = { foreach ($i in 1..3) { $i } }")
    assert not sink.errors and result.state == "Completed"


def _plan(text, variables):
    tree = parse(text)
    block = tree.statements[0].elements[0].expression
    body = text[block.start + 1:block.end - 1]
    return plan(block, body, text, lambda name: variables.get(name.lower()))


def test_one_pipeline_becomes_command_form_with_using_values():
    cred = PSCredential(UserName="AZURESTACK\\share", Password=PSSecureString("pw"))
    when = datetime(2026, 11, 25, 8, 0)
    p = _plan("{ Get-AzureStackLog -OutputSharePath $using:share -OutputShareCredential $using:cred "
              "-FromDate:$using:fromdate -FilterByRole Storage,SQL -IncludeDumpFile -TimeOutInMinutes 30 "
              "| Select-Object -First 1 }",
              {"share": "\\\\fs\\logs", "cred": cred, "fromdate": when})
    assert p.script is None
    first, second = p.calls
    assert first.name == "Get-AzureStackLog" and second.name == "Select-Object"
    args = [(a.parameter, a.value, a.colon) for a in first.arguments]
    assert args == [
        ("OutputSharePath", NO_VALUE, False), (None, "\\\\fs\\logs", False),
        ("OutputShareCredential", NO_VALUE, False), (None, cred, False),
        ("FromDate", when, True),
        ("FilterByRole", NO_VALUE, False), (None, ["Storage", "SQL"], False),
        ("IncludeDumpFile", NO_VALUE, False),
        ("TimeOutInMinutes", NO_VALUE, False), (None, 30, False),
    ]
    assert [(a.parameter, a.value) for a in second.arguments] == [("First", NO_VALUE), (None, 1)]


@pytest.mark.parametrize("block", [
    "{ $x = 1; Get-Date }",
    "{ Get-AzureStackLog -FromDate (Get-Date).AddHours(-1) }",
    "{ Get-AzureStackLog -OutputPath $localVar }",
    "{ Get-Date; Get-Date }",
    "{ foreach ($i in 1) { } }",
])
def test_anything_else_goes_as_a_script(block):
    p = _plan(block, {"localvar": "x"})
    assert p.calls is None and p.script == block[1:-1]


@pytest.mark.parametrize("text, error_id", [
    # $s is unset because New-PSSession failed: say so, never "no -Session given" or a connection to localhost
    ("Invoke-Command -Session $s { Get-Date }", "ParameterArgumentValidationError,Invoke-Command"),
    ("Invoke-Command $s { Get-Date }", "ParameterArgumentValidationError,Invoke-Command"),
    ("Invoke-Command -Session @() { Get-Date }", "ParameterArgumentValidationError,Invoke-Command"),
    ("Enter-PSSession -Session $s", "ParameterArgumentValidationError,Enter-PSSession"),
    ("Remove-PSSession $s", "ParameterArgumentValidationErrorNullNotAllowed,Remove-PSSession"),
])
def test_a_session_variable_left_unset_is_a_binding_error(rs, text, error_id):
    result, sink = run(rs, text)
    (err,) = sink.errors
    assert err.FullyQualifiedErrorId == error_id
    assert "'Session'" in str(err.Exception.Message)


def test_write_host_and_write_output_take_every_remaining_argument(rs):
    result, sink = run(rs, 'Write-Host Collecting for "the last" 8 hours\n'
                           'Write-Output a b; Write-Output -InputObject c')
    assert not sink.errors, [str(e.Exception.Message) for e in sink.errors]
    assert sink.outputs == ["a", "b", "c"]
    assert "Collecting for the last 8 hours" in [str(i) for i in sink.informations]
