"""NoLanguage (the PEP's language mode): allowed inputs become CommandCalls; every escape technique
of anchors.md C.5 that is a matter of syntax is refused with ScriptsNotAllowed."""
from decimal import Decimal

import pytest

from powershell.invocation import NO_VALUE
from powershell.language import ParseError, ScriptsNotAllowedError, to_command_calls
from powershell.objects import exception_type_name

SCRIPTS_NOT_ALLOWED = "The syntax is not supported by this runspace. This can occur if the runspace is in no-language mode."


def args(text):
    (call,) = to_command_calls(text)
    return [(a.parameter, a.value, a.colon) for a in call.arguments]


# ----- allowed ------------------------------------------------------------------------------------
def test_typical_get_azurestacklog_line():
    text = ('Get-AzureStackLog -FilterByRole Storage,ACS -FromDate "11/25/2026 08:00" '
            "-OutputSharePath '\\\\fs\\logs' -TimeOutInMinutes 30 -IncludeDumpFile:$false")
    (call,) = to_command_calls(text)
    assert call.name == "Get-AzureStackLog"
    assert [(a.parameter, a.value, a.colon) for a in call.arguments] == [
        ("FilterByRole", NO_VALUE, False), (None, ["Storage", "ACS"], False),
        ("FromDate", NO_VALUE, False), (None, "11/25/2026 08:00", False),
        ("OutputSharePath", NO_VALUE, False), (None, "\\\\fs\\logs", False),
        ("TimeOutInMinutes", NO_VALUE, False), (None, 30, False),
        ("IncludeDumpFile", False, True),
    ]
    date = call.arguments[3]
    assert (date.text, date.start, date.end) == ('"11/25/2026 08:00"', 54, 72)
    assert text[call.start:call.end] == text


@pytest.mark.parametrize("text,expected", [
    ("x -5", [(None, -5, False)]),
    ("x -Foo", [("Foo", NO_VALUE, False)]),
    ("x --Foo", [(None, "--Foo", False)]),
    ("x '-Foo'", [(None, "-Foo", False)]),
    ('x "-Foo"', [(None, "-Foo", False)]),
    ("x 0x10 1kb 1.5 1d", [(None, 16, False), (None, 1024, False), (None, 1.5, False), (None, Decimal(1), False)]),
    ("x 10.0.0.5 C:\\a\\b \\\\srv\\share a=b *.log", [(None, "10.0.0.5", False), (None, "C:\\a\\b", False),
                                                     (None, "\\\\srv\\share", False), (None, "a=b", False),
                                                     (None, "*.log", False)]),
    ("x $true $false $null", [(None, True, False), (None, False, False), (None, None, False)]),
    ("x -Name:'a','b'", [("Name", ["a", "b"], True)]),
    ("x 'it''s' \"say \"\"hi\"\"\" \"tab`there\"", [(None, "it's", False), (None, 'say "hi"', False),
                                                     (None, "tab\there", False)]),
    ("x -- -NotAParameter", [(None, "-NotAParameter", False)]),
    ('x "https://a/b?sv=1&sig=2"', [(None, "https://a/b?sv=1&sig=2", False)]),
    # as in PowerShell, an unparenthesised `[type]::x` argument is just a bare word
    ("x [datetime]::UtcNow", [(None, "[datetime]::UtcNow", False)]),
])
def test_constant_arguments(text, expected):
    assert args(text) == expected


def test_pipeline_of_commands_and_continuations():
    calls = to_command_calls("Get-Command -Name *Log* |\n  Select-Object -First 3")
    assert [c.name for c in calls] == ["Get-Command", "Select-Object"]
    calls = to_command_calls("Get-AzureStackLog `\n  -FilterByRole ACS")
    assert calls[0].arguments[1].value == "ACS"


@pytest.mark.parametrize("text", ["", "   ", "\n\n", "# just a comment", "<# block #>", ";"])
def test_nothing_to_run(text):
    assert to_command_calls(text) == []


def test_exit_is_a_command():
    assert [c.name for c in to_command_calls("exit")] == ["exit"]


# ----- refused: anchors.md C.5 ------------------------------------------------------------------------
REFUSED = [
    # 1 separators, chaining, background, injected newlines
    "Get-Help; Start-Process x", "a && b", "a || b", "Get-Help &", "Get-Help\nStart-Process x",
    "Get-Help\rStart-Process x", "Get-Help\r\nStart-Process x",
    # 2 subexpressions, also inside double quotes and bare words
    "Get-Help $(Start-Process x)", 'Get-Help "a $(Start-Process x) b"', "Get-Help a$(x)", 'Get-Help "$x"',
    "Get-Help @(Start-Process x)", "Get-Help @('a','b')",
    # 3 script blocks
    "Get-AzureStackLog -FilterByRole {Start-Process x}", "Invoke-Command {x}", "Where-Object {$_}",
    # 4 method calls, member access, type literals
    "Get-AzureStackLog -FromDate (Get-Date).AddHours(-1)", "[IO.File]::WriteAllText('x','y')",
    "Get-Help $x.Property", "Get-Help ([datetime]::UtcNow)", "Get-Help ([datetime]'1/1/2026')", "Get-Help (Get-Date)",
    # 5 variables and assignment
    "$a = 1", "Get-Help $env:PATH", "$ExecutionContext.SessionState.LanguageMode = 'FullLanguage'",
    "Get-Help $using:x", "Get-Help $a", "Get-Help ${a}", "Get-Help -Name:$x",
    # 13 invocation operators
    "& 'Get-Help'", ". Get-Help", "& Get-Help", ". .\\x.ps1",
    # 15 calculated properties, hashtables, splatting
    "Select-Object -Property @{e={Start-Process x}}", "Get-Help @params", "Get-Help @{a=1}",
    # 16 redirection and stop-parsing
    "Get-Help > file", "Get-Help >> file", "Get-Help 2>&1", "Get-Help *> file", "Get-Help --% x",
    # 17 ranges and other operators, expressions first in a pipeline
    "1..1000000000", "Get-Help (1..5)", "'x' | Get-Help", "$true", "-not $x",
    # keywords
    "if ($true) { Get-Help }", "foreach ($a in 1) { x }", "function Get-Help { x }", "exit 1", "throw 'x'",
    "while (1) {}", "try { x } catch { y }",
]


@pytest.mark.parametrize("text", REFUSED)
def test_escape_techniques_are_refused(text):
    with pytest.raises(ScriptsNotAllowedError) as e:
        to_command_calls(text)
    err = e.value
    assert err.error_id == "ScriptsNotAllowed"
    assert err.message == SCRIPTS_NOT_ALLOWED
    assert 0 <= err.offset <= err.end <= len(text)


def test_refusal_record_is_powershells():
    with pytest.raises(ScriptsNotAllowedError) as e:
        to_command_calls("Get-Help; Start-Process x")
    record = e.value.to_error_record()
    assert record.FullyQualifiedErrorId == "ScriptsNotAllowed"
    assert exception_type_name(record) == "System.Management.Automation.ParseException"
    assert str(record.CategoryInfo.Category).endswith("ParserError")
    assert record.TargetObject == "Get-Help; Start-Process x"
    assert record.position.start == 10  # the second statement


def test_sas_url_trap_is_a_parse_error_not_one_argument():
    with pytest.raises(ParseError) as e:
        to_command_calls("Get-AzureStackLog -OutputSasUri https://a.blob/c?sv=1&sig=2")
    assert e.value.error_id == "AmpersandNotAllowed"
    assert not isinstance(e.value, ScriptsNotAllowedError)


@pytest.mark.parametrize("text", ['Get-Help "abc', "Get-Help (", "Get-Help {", "gps |"])
def test_parse_errors_come_first(text):
    with pytest.raises(ParseError) as e:
        to_command_calls(text)
    assert not isinstance(e.value, ScriptsNotAllowedError)


@pytest.mark.parametrize("text,parameter", [
    ("Get-AzureStackLog -FromDate (Get-Date).AddHours(-8)", "FromDate"),
    ("Get-AzureStackLog -ToDate ([datetime]::UtcNow)", "ToDate"),
    ("Get-AzureStackLog -FromDate:(Get-Date).AddDays(-1)", "FromDate"),
    ("Get-AzureStackLog -FromDate $fromDate.AddMinutes(5)", "FromDate"),
])
def test_date_expressions_get_a_hint(text, parameter):
    with pytest.raises(ScriptsNotAllowedError) as e:
        to_command_calls(text)
    hint = e.value.hint
    assert hint and hint.startswith("Dates cannot be computed in the PEP session")
    assert f"-{parameter} \"" in hint
    assert f"$using:{parameter[0].lower() + parameter[1:]}" in hint


def test_other_refusals_have_no_hint():
    with pytest.raises(ScriptsNotAllowedError) as e:
        to_command_calls("Get-Help $x")
    assert e.value.hint is None


def test_unquoted_sas_url_is_refused_with_a_quoting_hint():
    text = "Get-AzureStackLog -OutputSasUri https://acct.blob.core.windows.net/logs?sv=2024-01-01&sp=rwl&sig=abc"
    with pytest.raises(ParseError) as info:
        to_command_calls(text)
    assert info.value.error_id == "AmpersandNotAllowed"
    assert info.value.offset == text.index("&")
    assert "put the whole URL in quotes" in info.value.hint
    quoted = 'Get-AzureStackLog -OutputSasUri "https://acct.blob.core.windows.net/logs?sv=2024-01-01&sp=rwl&sig=abc"'
    (call,) = to_command_calls(quoted)
    assert call.arguments[1].value.endswith("&sp=rwl&sig=abc")
