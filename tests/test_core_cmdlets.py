"""The JEA core cmdlets and the stamp cmdlets, run through a real runspace as a PEP user types them."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from cmdlets import core, stamp
from cmdlets.help import syntax_lines
from powershell.invocation import CommandArgument, CommandCall
from powershell.pipeline import CommandContext, ListSink
from session.environment import Environment
from session.runspace import Runspace

COMMANDS = core.CMDLETS + stamp.CMDLETS


@pytest.fixture
def env(tmp_path):
    return Environment(state_dir=tmp_path / "state")


@pytest.fixture
def rs(env):
    return Runspace(env, commands=COMMANDS, transcript=False)


def run(rs, text):
    sink = ListSink()
    result = rs.invoke(text, sink)
    return sink, result


def names(objs):
    return [o.Name for o in objs]


def fqids(sink):
    return [e.FullyQualifiedErrorId for e in sink.errors]


# -- Get-Command ----------------------------------------------------------------------------------

def test_get_command_lists_exactly_the_session_commands(rs):
    sink, _ = run(rs, "Get-Command")
    assert names(sink.outputs) == sorted((c.name for c in COMMANDS), key=str.lower)
    assert {o.CommandType for o in sink.outputs} == {"Function"}
    first = sink.outputs[0]
    assert first.PSObject.type_names[:2] == ["System.Management.Automation.FunctionInfo",
                                             "System.Management.Automation.CommandInfo"]


@pytest.mark.parametrize("text, expected", [
    ("Get-Command Get-*", ["Get-AzureStackStampInformation", "Get-AzureStackSupportConfiguration", "Get-Command",
                           "Get-FormatData", "Get-Help", "Get-ThirdPartyNotices"]),
    ("gcm *azurestack*", ["Get-AzureStackStampInformation", "Get-AzureStackSupportConfiguration"]),
    ("Get-Command get-help", ["Get-Help"]),
    ("Get-Command ?et-Help", ["Get-Help"]),
    ("Get-Command [ms]*-Object", ["Measure-Object", "Select-Object"]),
    ("Get-Command -Verb Exit", ["Exit-PSSession"]),
    ("Get-Command -Noun *Object", ["Measure-Object", "Select-Object"]),
    ("Get-Command Get-* -TotalCount 2", ["Get-AzureStackStampInformation", "Get-AzureStackSupportConfiguration"]),
    ("Get-Command -CommandType Cmdlet", []),
    ("Get-Command Start-Process*", []),
])
def test_get_command_filters(rs, text, expected):
    sink, _ = run(rs, text)
    assert names(sink.outputs) == expected
    assert sink.errors == []


def test_get_command_aliases_only_when_asked(rs):
    sink, _ = run(rs, "Get-Command -CommandType Alias")
    assert [o.DisplayName for o in sink.outputs] == [
        "clear -> Clear-Host", "cls -> Clear-Host", "exsn -> Exit-PSSession", "gcm -> Get-Command",
        "measure -> Measure-Object", "select -> Select-Object"]
    sink, _ = run(rs, "Get-Command gcm")
    assert [(o.CommandType, o.Name, o.ResolvedCommandName) for o in sink.outputs] == [("Alias", "gcm", "Get-Command")]


def test_get_command_unknown_name_is_command_not_found(rs):
    sink, result = run(rs, "Get-Command Get-AzureStackLogs, Get-Help")
    assert names(sink.outputs) == ["Get-Help"]
    (err,) = sink.errors
    assert err.FullyQualifiedErrorId == "CommandNotFoundException,Microsoft.PowerShell.Commands.GetCommandCommand"
    assert str(err.Exception.Message) == (
        "The term 'Get-AzureStackLogs' is not recognized as the name of a cmdlet, function, script file, or operable "
        "program. Check the spelling of the name, or if a path was included, verify that the path is correct and "
        "try again.")
    assert err.CategoryInfo.Category.name == "ObjectNotFound"
    assert err.CategoryInfo.Reason == "CommandNotFoundException"
    assert result.had_errors


def test_get_command_hides_commands_outside_the_policy(env):
    rs = Runspace(env, commands=(core.GetCommand,), transcript=False)
    sink, _ = run(rs, "Get-Command Get-Help")
    assert fqids(sink) == ["CommandNotFoundException,Microsoft.PowerShell.Commands.GetCommandCommand"]


def test_get_command_syntax_single_set(rs):
    sink, _ = run(rs, "Get-Command Get-AzureStackStampInformation -Syntax")
    assert sink.outputs == ["\nGet-AzureStackStampInformation [-AsJob] [<CommonParameters>]\n"]
    sink, _ = run(rs, "Get-Command -Syntax Get-AzureStackSupportConfiguration")
    assert sink.outputs == [
        "\nGet-AzureStackSupportConfiguration [-IncludeRegistrationObjectId] [-AsJob] [<CommonParameters>]\n"]


def test_get_command_syntax_multi_set_default_first(rs):
    sink, _ = run(rs, "Get-Command Select-Object -Syntax")
    assert sink.outputs == [
        "\nSelect-Object [[-Property] <Object[]>] [-InputObject <psobject>] [-ExcludeProperty <string[]>] "
        "[-ExpandProperty <string>] [-Unique] [-Last <int>] [-First <int>] [-Skip <int>] [<CommonParameters>]\n"
        "\nSelect-Object [[-Property] <Object[]>] [-InputObject <psobject>] [-ExcludeProperty <string[]>] "
        "[-ExpandProperty <string>] [-Unique] [-SkipLast <int>] [<CommonParameters>]\n"
        "\nSelect-Object [-InputObject <psobject>] [-Unique] [-Index <int[]>] [<CommonParameters>]\n"]
    sink, _ = run(rs, "gcm gcm -Syntax")
    assert sink.outputs == [
        "\nGet-Command [-Verb <string[]>] [-Noun <string[]>] [-Module <string[]>] [-TotalCount <int>] [-Syntax] "
        "[-ListImported] [<CommonParameters>]\n"
        "\nGet-Command [[-Name] <string[]>] [-Module <string[]>] [-CommandType <CommandTypes>] [-TotalCount <int>] "
        "[-Syntax] [-ListImported] [<CommonParameters>]\n"]


def test_syntax_brackets_mandatory_positional_and_should_process():
    from powershell.commands import Cmdlet, Parameter

    class Demo(Cmdlet):
        name = "Set-Demo"
        supports_should_process = True
        parameters = (
            Parameter("Path", "string[]", position=0, mandatory=True),
            Parameter("Value", "object", position=1),
            Parameter("Credential", "pscredential", mandatory=True),
            Parameter("Force", "switch"),
            Parameter("From", "datetime", syntax_type="object"),
        )

    assert syntax_lines(Demo) == [
        "Set-Demo [-Path] <string[]> [[-Value] <Object>] -Credential <pscredential> [-Force] [-From <Object>] "
        "[-WhatIf] [-Confirm] [<CommonParameters>]"]
    assert syntax_lines(Demo, help_style=True)[0].startswith("Set-Demo [-Path] <String[]> [[-Value] <Object>] "
                                                             "-Credential <PSCredential>")


# -- Get-Help -------------------------------------------------------------------------------------

def test_get_help_default_view_sections(rs):
    sink, _ = run(rs, "Get-Help Get-AzureStackStampInformation")
    (text,) = sink.outputs
    lines = text.splitlines()
    assert lines[:5] == ["", "NAME", "    Get-AzureStackStampInformation", "", "SYNOPSIS"]
    for heading in ("SYNTAX", "DESCRIPTION", "RELATED LINKS", "REMARKS"):
        assert heading in lines
    assert "    Get-AzureStackStampInformation [-AsJob] [<CommonParameters>]" in lines
    assert '    To see the examples, type: "get-help Get-AzureStackStampInformation -examples".' in lines
    assert "PARAMETERS" not in lines


def test_get_help_full_has_parameter_tables(rs):
    sink, _ = run(rs, "Get-Help Get-Command -Full")
    text = sink.outputs[0]
    block = text[text.index("    -Name <String[]>"):]
    assert block.splitlines()[:8] == [
        "    -Name <String[]>",
        "        Names of the commands to get. Wildcards are permitted.",
        "",
        "        Required?                    false",
        "        Position?                    0",
        "        Default value                None",
        "        Accept pipeline input?       false",
        "        Accept wildcard characters?  true",
    ]
    for heading in ("PARAMETERS", "INPUTS", "OUTPUTS", "NOTES", "RELATED LINKS"):
        assert heading in text.splitlines()
    assert "    <CommonParameters>" in text
    assert "Example 1: List the commands of the session" in text


def test_get_help_examples_only(rs):
    sink, _ = run(rs, "Get-Help Get-AzureStackStampInformation -Examples")
    text = sink.outputs[0]
    assert "    ---------- Example 1: Get the stamp information ----------" in text
    assert "    PS C:\\> Get-AzureStackStampInformation" in text
    assert "SYNTAX" not in text and "PARAMETERS" not in text


def test_get_help_parameter(rs):
    sink, _ = run(rs, "Get-Help Select-Object -Parameter First")
    assert sink.outputs[0].splitlines()[1:4] == [
        "    -First <Int32>", "        Number of objects to select from the beginning.", ""]
    sink, _ = run(rs, "Get-Help Select-Object -Parameter *Property")
    assert [line.strip() for line in sink.outputs[0].splitlines() if line.startswith("    -")] == [
        "-Property <Object[]>", "-ExcludeProperty <String[]>", "-ExpandProperty <String>"]
    sink, _ = run(rs, "Get-Help Select-Object -Parameter Nope")
    assert fqids(sink) == ["NoParmsFound,Microsoft.PowerShell.Commands.GetHelpCommand"]
    assert str(sink.errors[0].Exception.Message) == "No parameter matches criteria Nope."


def test_get_help_alias_and_wildcards(rs):
    sink, _ = run(rs, "Get-Help gcm")
    assert sink.outputs[0].splitlines()[2] == "    Get-Command"
    sink, _ = run(rs, "Get-Help *-Object")
    assert [(o.Name, o.Category) for o in sink.outputs] == [("Measure-Object", "Function"), ("Select-Object", "Function")]
    sink, _ = run(rs, "Get-Help *ThirdParty*")
    assert sink.outputs[0].splitlines()[2] == "    Get-ThirdPartyNotices"


def test_get_help_overview_lists_session_commands(rs):
    sink, _ = run(rs, "Get-Help")
    text = sink.outputs[0]
    assert "Privileged endpoint (PEP) help" in text
    for cls in COMMANDS:
        assert f"    {cls.name}" in text


def test_get_help_not_found_and_refusals(rs):
    sink, _ = run(rs, "Get-Help Start-Process")
    (err,) = sink.errors
    assert err.FullyQualifiedErrorId == "HelpNotFound,Microsoft.PowerShell.Commands.GetHelpCommand"
    assert str(err.Exception.Message).startswith("Get-Help could not find Start-Process in a help file in this session.")
    assert err.CategoryInfo.Category.name == "ResourceUnavailable"
    sink, result = run(rs, "Get-Help Get-Command -ShowWindow")
    assert fqids(sink) == ["RemotingNotSupported,Microsoft.PowerShell.Commands.GetHelpCommand"]
    assert str(sink.errors[0].Exception.Message) == "Get-Help does not work in a remote session."
    assert result.state == "Failed"
    sink, _ = run(rs, "Get-Help Get-Command -Online")
    assert fqids(sink) == ["InvalidOperation,Microsoft.PowerShell.Commands.GetHelpCommand"]
    assert "cannot be displayed because the Internet address (URI)" in str(sink.errors[0].Exception.Message)


# -- Select-Object --------------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("Get-Command | Select-Object -First 2", ["Clear-Host", "Exit-PSSession"]),
    ("Get-Command | Select-Object -Last 2", ["Out-Default", "Select-Object"]),
    ("Get-Command | Select-Object -Skip 8", ["Measure-Object", "Out-Default", "Select-Object"]),
    ("Get-Command | Select-Object -First 1 -Skip 1", ["Exit-PSSession"]),
    ("Get-Command | Select-Object -Last 1 -Skip 1", ["Out-Default"]),
    ("Get-Command | Select-Object -Index 0,2", ["Clear-Host", "Get-AzureStackStampInformation"]),
    ("Get-Command | select -SkipLast 9", ["Clear-Host", "Exit-PSSession"]),
])
def test_select_object_picks(rs, text, expected):
    sink, _ = run(rs, text)
    assert names(sink.outputs) == expected


def test_select_object_property_wildcards_and_exclude(rs):
    sink, _ = run(rs, "Get-AzureStackStampInformation | Select-Object CloudID, *Version, Missing")
    (obj,) = sink.outputs
    assert [p.name for p in obj.PSObject.extended_properties] == [
        "CloudID", "OEMVersion", "StampVersion", "InitialDeployedVersion", "Missing"]
    assert obj.StampVersion == "1.2408.1.50" and obj.Missing is None
    assert obj.PSObject.type_names[0] == "Selected.System.Management.Automation.PSCustomObject"
    sink, _ = run(rs, "Get-AzureStackStampInformation | Select-Object *Version -ExcludeProperty Initial*")
    assert [p.name for p in sink.outputs[0].PSObject.extended_properties] == ["OEMVersion", "StampVersion"]


def test_select_object_expand_property(rs):
    sink, _ = run(rs, "Get-AzureStackStampInformation | Select-Object -ExpandProperty EmergencyConsoleIPAddresses")
    assert sink.outputs == ["10.20.3.224", "10.20.3.225", "10.20.3.226"]
    sink, _ = run(rs, "Get-Command -Noun Help | Select-Object -ExpandProperty name")
    assert sink.outputs == ["Get-Help"]
    sink, _ = run(rs, "Get-AzureStackStampInformation | Select-Object -ExpandProperty Nope")
    assert fqids(sink) == ["ExpandPropertyNotFound,Microsoft.PowerShell.Commands.SelectObjectCommand"]
    assert str(sink.errors[0].Exception.Message) == 'Property "Nope" cannot be found.'


def test_select_object_unique(rs):
    sink, _ = run(rs, "Get-Command | Select-Object CommandType -Unique")
    assert [o.CommandType for o in sink.outputs] == ["Function"]


def test_select_object_refuses_calculated_properties(rs):
    # NoLanguage never parses a hashtable, but a remoting client can send one as a typed value.
    sink = ListSink()
    result = rs.invoke_calls([
        CommandCall("Get-AzureStackStampInformation"),
        CommandCall("Select-Object", [CommandArgument("Property"), CommandArgument(value=[{"n": "X", "e": "1"}])]),
    ], sink)
    assert result.state == "Failed"
    (err,) = sink.errors
    assert err.FullyQualifiedErrorId == "CannotConvertArgument,Microsoft.PowerShell.Commands.SelectObjectCommand"
    assert "Calculated properties are not supported" in str(err.Exception.Message)
    assert sink.outputs == []


def test_select_object_on_plain_values_via_context():
    sink = ListSink()
    ctx = CommandContext("Select-Object", sink)
    core.SelectObject().invoke(ctx, {"Last": 2}, [1, 2, 3])
    core.SelectObject().invoke(ctx, {"Property": ["Length"]}, ["abc"])
    assert sink.outputs[:2] == [2, 3]
    assert sink.outputs[2].Length == 3


# -- Measure-Object -------------------------------------------------------------------------------

def test_measure_object_counts_and_stats(rs):
    sink, _ = run(rs, "Get-Command | Measure-Object")
    (m,) = sink.outputs
    assert (m.Count, m.Sum, m.Average, m.Property) == (len(COMMANDS), None, None, None)
    assert m.PSObject.type_names[0] == "Microsoft.PowerShell.Commands.GenericMeasureInfo"
    sink, _ = run(rs, "Get-AzureStackStampInformation | Measure-Object -Property NumberOfNodes -Sum -Average -Maximum -Minimum")
    (m,) = sink.outputs
    assert (m.Count, m.Sum, m.Average, m.Maximum, m.Minimum, m.Property) == (1, 4.0, 4.0, 4.0, 4.0, "NumberOfNodes")


def test_measure_object_values_and_errors():
    sink = ListSink()
    ctx = CommandContext("Measure-Object", sink)
    core.MeasureObject().invoke(ctx, {"Sum": True, "Average": True, "Maximum": True, "Minimum": True}, [1, 2, "3", 4.5])
    (m,) = sink.outputs
    assert (m.Count, m.Sum, m.Average, m.Maximum, m.Minimum) == (4, 10.5, 2.625, 4.5, 1.0)
    core.MeasureObject().invoke(ctx, {"Sum": True}, ["abc"])
    assert [e.FullyQualifiedErrorId for e in sink.errors] == [
        "NonNumericInputObject,Microsoft.PowerShell.Commands.MeasureObjectCommand"]
    core.MeasureObject().invoke(ctx, {"Property": ["Nope"]}, [1])
    assert sink.errors[-1].FullyQualifiedErrorId == \
        "GenericMeasurePropertyNotFound,Microsoft.PowerShell.Commands.MeasureObjectCommand"
    assert str(sink.errors[-1].Exception.Message) == 'The property "Nope" cannot be found in the input for any objects.'


def test_measure_object_text(rs):
    sink = ListSink()
    core.MeasureObject().invoke(CommandContext("Measure-Object", sink),
                                {"Line": True, "Word": True, "Character": True}, ["one two\nthree", "four"])
    (m,) = sink.outputs
    assert (m.Lines, m.Words, m.Characters) == (3, 4, 17)
    assert m.PSObject.type_names[0] == "Microsoft.PowerShell.Commands.TextMeasureInfo"
    sink, _ = run(rs, "Get-ThirdPartyNotices | Measure-Object -Line")
    assert sink.outputs[0].Lines > 20 and sink.outputs[0].Words is None


# -- Out-Default, Clear-Host, Exit-PSSession, Get-FormatData --------------------------------------

def test_out_default_passes_objects_through(rs):
    sink, _ = run(rs, "Get-Command -Noun Help | Out-Default")
    assert names(sink.outputs) == ["Get-Help"]


def test_clear_host_draws_only_on_a_terminal(env):
    rs = Runspace(env, commands=COMMANDS, transcript=False)
    sink, result = run(rs, "cls")
    assert (sink.outputs, sink.informations, result.state) == ([], [], "Completed")
    term = Runspace(env, commands=COMMANDS, transcript=False, is_terminal=True)
    sink, _ = run(term, "Clear-Host")
    assert sink.outputs == [] and sink.informations == [core.CLEAR_SCREEN]


def test_exit_pssession_requests_exit(rs):
    assert rs.exit_requested is False
    run(rs, "exsn")
    assert rs.exit_requested is True


def test_get_format_data_lists_registered_views(rs):
    pytest.importorskip("powershell.formatting.views")
    sink, _ = run(rs, "Get-FormatData -TypeName *CommandInfo")
    (td,) = sink.outputs
    assert td.TypeName == "System.Management.Automation.CommandInfo"
    (view,) = td.FormatViewDefinition
    assert view.Control == "TableControl"
    assert view.Labels == ["CommandType", "Name", "Version", "Source"]


# -- stamp cmdlets --------------------------------------------------------------------------------

def test_stamp_information_from_the_default_stamp(rs):
    sink, _ = run(rs, "Get-AzureStackStampInformation")
    (info,) = sink.outputs
    assert info.CloudID == "6f1d3c2e-8a7b-4e3c-9c5d-2b1a0f9e8d7c"
    assert info.DeploymentID == "a3b9e2d4-5c6f-4a1b-8e7d-0c9f8b7a6e5d"
    assert (info.StampVersion, info.OEMVersion, info.InitialDeployedVersion) == ("1.2408.1.50", "2.3.0", "1.2408.1.50")
    assert (info.RegionName, info.Prefix, info.NumberOfNodes) == ("local", "AZS", 4)
    assert (info.DomainFQDN, info.ExternalDomainFQDN) == ("azurestack.local", "local.azurestack.external")
    assert info.EmergencyConsoleIPAddresses == ["10.20.3.224", "10.20.3.225", "10.20.3.226"]
    assert (info.ExternalDNSIPAddress01, info.ExternalDNSIPAddress02) == ("10.20.2.26", "10.20.2.27")
    assert info.AdminExternalEndpoints.AdminResourceManager == "https://adminmanagement.local.azurestack.external/"
    assert info.TenantExternalEndpoints.TenantHosting == "https://*.hosting.local.azurestack.external/"
    assert sink.warnings == []


def test_as_job_runs_in_foreground_with_a_warning(rs):
    sink, result = run(rs, "Get-AzureStackStampInformation -AsJob")
    assert len(sink.outputs) == 1 and result.state == "Completed" and not result.had_errors
    assert sink.warnings == ["Background jobs are not supported by this emulator; Get-AzureStackStampInformation "
                             "ran in the foreground and its output follows."]


def test_support_configuration(rs):
    sink, _ = run(rs, "Get-AzureStackSupportConfiguration")
    (cfg,) = sink.outputs
    assert (cfg.SubscriptionId, cfg.RegistrationName, cfg.AzureEnvironment) == (
        "0b6c4a7e-3d2f-4e1a-9b8c-7d6e5f4a3b2c", "AzureStack-6f1d3c2e", "AzureCloud")
    sink, result = run(rs, "Get-AzureStackSupportConfiguration -IncludeRegistrationObjectId")
    assert result.state == "Failed" and sink.outputs == []
    assert fqids(sink) == ["SupportVMNoInternetConnectivity,Get-AzureStackSupportConfiguration"]
    assert "no internet connectivity" in str(sink.errors[0].Exception.Message)


def test_support_configuration_with_internet_and_unregistered(tmp_path):
    env = Environment(state_dir=tmp_path / "s", config={"support": {"internet": True}})
    rs = Runspace(env, commands=COMMANDS, transcript=False)
    sink, _ = run(rs, "Get-AzureStackSupportConfiguration -IncludeRegistrationObjectId")
    first = sink.outputs[0].RegistrationObjectId
    sink, _ = run(rs, "Get-AzureStackSupportConfiguration -IncludeRegistrationObjectId")
    assert sink.outputs[0].RegistrationObjectId == first and len(first) == 36
    env.stamp.definition["registration"]["registered"] = False
    sink, _ = run(rs, "Get-AzureStackSupportConfiguration")
    assert sink.outputs == [None] and sink.errors == []


def test_third_party_notices_name_our_dependencies(rs):
    sink, _ = run(rs, "Get-ThirdPartyNotices")
    (text,) = sink.outputs
    for name in ("psrpcore", "pypsrp", "cmd2", "cryptography", "azure-storage-blob", "smbprotocol", "aiohttp"):
        assert name in text
    assert "Apache-2.0 OR BSD-3-Clause" in text


# -- a bug in a cmdlet ------------------------------------------------------------------------------
BROKEN = """
import sys
sys.path.insert(0, {root!r})
from powershell.commands import Cmdlet
from powershell.pipeline import ListSink
from session.environment import Environment
from session.runspace import Runspace

class Broken(Cmdlet):
    name = "Get-Broken"

    def invoke(self, ctx, params, input=None):
        raise ValueError("boom")

sink = ListSink()
Runspace(Environment(state_dir={state!r}), commands=(Broken,), transcript=False).invoke("Get-Broken", sink)
print([e.FullyQualifiedErrorId for e in sink.errors])
"""


def test_a_cmdlet_bug_is_a_record_and_no_traceback_on_the_console(tmp_path):
    # A process of its own: pytest's log capture would hide what the console prints.
    state = tmp_path / "state"
    script = BROKEN.format(root=str(Path(__file__).resolve().parent.parent), state=str(state))
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert proc.stdout.strip() == "['InternalError,Get-Broken']"
    assert "Traceback" not in proc.stdout + proc.stderr  # the operator sees the error record only
    log = (state / "logs" / "internal-errors.log").read_text()
    assert "Traceback" in log and "ValueError: boom" in log


def test_help_syntax_wraps_between_parameters_never_inside_one(tmp_path):
    from cmdlets.health import TestAzureStack
    from cmdlets.help import PROSE_WIDTH, render_help

    text = render_help(TestAzureStack, "default")
    block = text.split("SYNTAX\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert len(block) > 1 and all(len(line) <= PROSE_WIDTH and line.startswith("    ") for line in block)
    joined = " ".join(line.strip() for line in block)
    assert joined.startswith("Test-AzureStack [-BackupShareCredential <Object>]")
    assert joined.endswith("[-WhatIf] [-Confirm] [<CommonParameters>]")
    for line in block:  # every line holds whole [-Name <Type>] groups
        assert line.count("[") == line.count("]") and line.count("<") == line.count(">")
