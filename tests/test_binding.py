"""The parameter binder, as a PowerShell user sees it: which parameter each argument lands on,
what it becomes, and the exact error record (FullyQualifiedErrorId, category, message) otherwise.

Scenarios follow PowerShell's own binder tests (StaticParameterBinder.Tests.ps1, ParameterBinding
tests, BooleanParameterDCR.Tests.ps1) re-expressed on PEP-shaped cmdlets defined here.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from psrpcore.types import ErrorCategory, PSCredential, PSDateTime, PSScriptBlock, PSSecureString

from powershell.binding import BindingResult, ParameterBindingError, bind, convert_value
from powershell.commands import Cmdlet, Parameter
from powershell.invocation import NO_VALUE, CommandArgument
from powershell.objects import exception_type_name

# -- throwaway cmdlets with real PEP signatures ----------------------------------------------------

class GetAzureStackLog(Cmdlet):
    name = "Get-AzureStackLog"
    default_parameter_set = "ByRole"
    parameters = (  # the reference syntax order, which is the order of "Possible matches"
        Parameter("FilterByRole", "string[]", sets=("ByRole",)),
        Parameter("CustomerConfigurationFilePath"),
        Parameter("OutputPath"),
        Parameter("LocalAdminCredential", "pscredential"),
        Parameter("FilterByResourceProvider", "string[]", sets=("ByResourceProvider",)),
        Parameter("InputSasUri", "uri"),
        Parameter("FilterByNode", "string[]"),
        Parameter("OutputShareCredential", "pscredential"),
        Parameter("ToDate", "datetime"),
        Parameter("FilterByLogType", "string[]", validate_set=("File", "Share", "WindowsEvent")),
        Parameter("TimeOutInMinutes", "int", validate_range=(1, 1440)),
        Parameter("FromDate", "datetime"),
        Parameter("OutputSharePath", validate_pattern=r"\\\\[^\\]+\\[^\\]+.*"),
        Parameter("OutputSasUri", "uri"),
        Parameter("PerformVMLogRecovery", "switch"),
        Parameter("IncludeDumpFile", "switch"),
        Parameter("AsJob", "switch"),
    )


class GetClusterLog(Cmdlet):
    name = "Get-ClusterLog"
    parameters = (
        Parameter("SkipClusterState", "switch", aliases=("scs",)),
        Parameter("InputObject", "object"),
        Parameter("Cluster"),
        Parameter("NetworkDiagnostics", "switch"),
        Parameter("Destination"),
        Parameter("NetworkDiagnosticsLevel", "int"),
        Parameter("Node", "string[]", position=0),
        Parameter("TimeSpan", "int", aliases=("Span",)),
        Parameter("PerformanceHistoryTimeFrame", "timespan"),
        Parameter("Health", "switch"),
        Parameter("ExportClusterPerformanceHistory", "switch"),
        Parameter("UseLocalTime", "switch", aliases=("lt",)),
        Parameter("AsJob", "switch"),
    )


class GetThing(Cmdlet):
    """Two sets, no default: like a cmdlet taking -Name or -Id at position 0."""
    name = "Get-Thing"
    parameters = (
        Parameter("Name", "string", position=0, mandatory=True, sets=("ByName",)),
        Parameter("Id", "int", position=0, mandatory=True, sets=("ById",)),
        Parameter("Limit", "int", position=1),
        Parameter("Tag", "string[]", sets=("ByName",)),
    )


class NewThing(Cmdlet):
    """Mandatory parameters, should-process, credential and secure string, NotNullOrEmpty."""
    name = "New-Thing"
    supports_should_process = True
    parameters = (
        Parameter("Name", "string", mandatory=True, position=0, help="Name of the thing"),
        Parameter("Count", "int", mandatory=True),
        Parameter("Labels", "string[]"),
        Parameter("Credential", "pscredential"),
        Parameter("Secret", "securestring"),
        Parameter("Note", "string", validate_not_null_or_empty=True),
        Parameter("Ratio", "double"),
        Parameter("Enabled", "bool"),
        Parameter("Window", "timespan"),
        Parameter("Settings", "hashtable"),
        Parameter("Anything", "object"),
        Parameter("Code", "string", validate_pattern="HR_[0-9]+"),
    )


class FakeHost:
    """Answers prompts from canned values and records what was asked."""

    def __init__(self, answers=None, password="p@ss"):
        self.answers = answers
        self.password = password
        self.prompts: list[tuple[str, list]] = []
        self.lines: list[tuple[str, bool]] = []

    def prompt_for_parameters(self, command, fields):
        self.prompts.append((command, fields))
        return self.answers

    def read_line(self, prompt, secure=False):
        self.lines.append((prompt, secure))
        return self.password


# -- a tiny argument builder: "-Name" / "-Name:" value / plain value ------------------------------

def args(*items):
    """Build CommandArguments: "-X" is a parameter, ("-X:", v) a colon parameter, anything else a value.
    Offsets are made up as if the items were typed separated by one space after a 4-char command."""
    out, pos = [], 4
    for item in items:
        if isinstance(item, tuple):
            name, value = item
            text = f"{name}{value}"
            out.append(CommandArgument(parameter=name[1:-1], value=value, colon=True, text=text))
        elif isinstance(item, str) and item.startswith("-") and len(item) > 1:
            text = item
            out.append(CommandArgument(parameter=item[1:], text=text))
        else:
            text = str(item)
            out.append(CommandArgument(value=item, text=text))
        out[-1].start, out[-1].end = pos, pos + len(text)
        pos += len(text) + 1
    return out


def bound(cls, *items, host=None) -> BindingResult:
    return bind(cls, args(*items), host=host)


def failure(cls, *items, host=None) -> ParameterBindingError:
    with pytest.raises(ParameterBindingError) as info:
        bind(cls, args(*items), host=host)
    return info.value


# -- names: case, prefixes, aliases, ambiguity -----------------------------------------------------

@pytest.mark.parametrize("cls, items, expected", [
    (GetAzureStackLog, ("-FromDate", "11/25/2026"), {"FromDate": datetime(2026, 11, 25)}),
    (GetAzureStackLog, ("-fromdate", "11/25/2026"), {"FromDate": datetime(2026, 11, 25)}),
    (GetAzureStackLog, ("-Fr", "11/25/2026"), {"FromDate": datetime(2026, 11, 25)}),
    (GetAzureStackLog, ("-FilterByResourceProvide", "databoxedge"), {"FilterByResourceProvider": ["databoxedge"]}),
    (GetAzureStackLog, ("-filterbyro", "ACS"), {"FilterByRole": ["ACS"]}),
    (GetAzureStackLog, ("-INCLUDED",), {"IncludeDumpFile": True}),
    (GetAzureStackLog, ("-OutputP", "C:\\x"), {"OutputPath": "C:\\x"}),
    (GetClusterLog, ("-scs",), {"SkipClusterState": True}),
    (GetClusterLog, ("-SCS",), {"SkipClusterState": True}),
    (GetClusterLog, ("-Span", 5), {"TimeSpan": 5}),
    (GetClusterLog, ("-Sp", 5), {"TimeSpan": 5}),                  # a prefix of an alias counts
    (GetClusterLog, ("-lt",), {"UseLocalTime": True}),
    (GetClusterLog, ("-D", "C:\\logs"), {"Destination": "C:\\logs"}),   # declared beats common -Debug
    (GetClusterLog, ("-Dest", "C:\\logs"), {"Destination": "C:\\logs"}),
    (GetClusterLog, ("-NetworkDiagnostics",), {"NetworkDiagnostics": True}),  # exact name beats longer one
])
def test_name_matching(cls, items, expected):
    assert bound(cls, *items).params == expected


@pytest.mark.parametrize("cls, items, common", [
    (GetAzureStackLog, ("-Verb",), {"Verbose": True}),
    (GetAzureStackLog, ("-vb",), {"Verbose": True}),
    (GetClusterLog, ("-Deb",), {"Debug": True}),
    (GetClusterLog, ("-db",), {"Debug": True}),
    (GetAzureStackLog, ("-ea", "stop"), {"ErrorAction": "Stop"}),       # ValidateSet re-cases the value
    (GetAzureStackLog, ("-ErrorA", "silentlycontinue"), {"ErrorAction": "SilentlyContinue"}),
    (GetAzureStackLog, ("-ov", "x"), {"OutVariable": "x"}),
    (GetAzureStackLog, ("-OutB", "10"), {"OutBuffer": 10}),
    (GetAzureStackLog, ("-PipelineVariable", "p", "-InformationAction", "Ignore"),
     {"PipelineVariable": "p", "InformationAction": "Ignore"}),
    (GetAzureStackLog, (("-Verbose:", False),), {"Verbose": False}),
    (NewThing, ("-Name", "a", "-Count", 1, "-WhatIf"), {"WhatIf": True}),
    (NewThing, ("-Name", "a", "-Count", 1, "-cf"), {"Confirm": True}),
])
def test_common_parameters(cls, items, common):
    result = bound(cls, *items)
    assert result.common == common
    assert not set(common) & set(result.params)


AMBIGUOUS_F = ("Parameter cannot be processed because the parameter name 'F' is ambiguous. Possible matches include:"
               " -FilterByRole -FilterByResourceProvider -FilterByNode -FilterByLogType -FromDate.")


@pytest.mark.parametrize("cls, items, error_id, message", [
    (GetAzureStackLog, ("-F", "x"), "AmbiguousParameter", AMBIGUOUS_F),
    (GetAzureStackLog, ("-filterbyr", "x"), "AmbiguousParameter",
     "Parameter cannot be processed because the parameter name 'filterbyr' is ambiguous. Possible matches include:"
     " -FilterByRole -FilterByResourceProvider."),
    (GetAzureStackLog, ("-filterby", "x"), "AmbiguousParameter",
     "Parameter cannot be processed because the parameter name 'filterby' is ambiguous. Possible matches include:"
     " -FilterByRole -FilterByResourceProvider -FilterByNode -FilterByLogType."),
    (GetAzureStackLog, ("-W", "x"), "AmbiguousParameter",   # only common candidates: no preference
     "Parameter cannot be processed because the parameter name 'W' is ambiguous. Possible matches include:"
     " -WarningAction -WarningVariable."),
    (GetAzureStackLog, ("-I",), "AmbiguousParameter",
     "Parameter cannot be processed because the parameter name 'I' is ambiguous. Possible matches include:"
     " -InputSasUri -IncludeDumpFile -InformationAction -InformationVariable."),
    (GetClusterLog, ("-S",), "AmbiguousParameter",        # SkipClusterState by name, TimeSpan by alias Span
     "Parameter cannot be processed because the parameter name 'S' is ambiguous. Possible matches include:"
     " -SkipClusterState -TimeSpan."),
    (GetAzureStackLog, ("-Path", "x"), "NamedParameterNotFound",
     "A parameter cannot be found that matches parameter name 'Path'."),
    (GetAzureStackLog, ("-WhatIf",), "NamedParameterNotFound",  # no ShouldProcess on this cmdlet
     "A parameter cannot be found that matches parameter name 'WhatIf'."),
    (GetAzureStackLog, ("-FromDate",), "MissingArgument",
     "Missing an argument for parameter 'FromDate'. Specify a parameter of type 'System.DateTime' and try again."),
    (GetAzureStackLog, ("-FilterByRole",), "MissingArgument",
     "Missing an argument for parameter 'FilterByRole'. Specify a parameter of type 'System.String[]' and try again."),
    (GetAzureStackLog, ("-OutputPath", "a", "-outputp", "b"), "ParameterAlreadyBound",
     "Cannot bind parameter because parameter 'OutputPath' is specified more than once. To provide multiple values "
     "to parameters that can accept multiple values, use the array syntax. For example, "
     "\"-parameter value1,value2,value3\"."),
    (GetClusterLog, ("-Span", 1, "-TimeSpan", 2), "ParameterAlreadyBound",
     "Cannot bind parameter because parameter 'TimeSpan' is specified more than once. To provide multiple values "
     "to parameters that can accept multiple values, use the array syntax. For example, "
     "\"-parameter value1,value2,value3\"."),
    (GetAzureStackLog, ("azs-xrp01",), "PositionalParameterNotFound",
     "A positional parameter cannot be found that accepts argument 'azs-xrp01'."),
    (GetClusterLog, ("n1", "n2"), "PositionalParameterNotFound",
     "A positional parameter cannot be found that accepts argument 'n2'."),
    (GetClusterLog, ("n1", ["a", "b"]), "PositionalParameterNotFound",
     "A positional parameter cannot be found that accepts argument 'System.Object[]'."),
    (GetAzureStackLog, ("-FilterByResourceProvider", "ACR", "-FilterByRole", "FabricRingServices"),
     "AmbiguousParameterSet", "Parameter set cannot be resolved using the specified named parameters."),
])
def test_binding_errors(cls, items, error_id, message):
    e = failure(cls, *items)
    assert (e.error_id, e.message) == (error_id, message)
    record = e.to_error_record(cls.name)
    assert record.FullyQualifiedErrorId == f"{error_id},{cls.name}"
    assert record.CategoryInfo.Category == ErrorCategory.InvalidArgument
    assert exception_type_name(record) == "System.Management.Automation.ParameterBindingException"
    assert record.CategoryInfo.Reason == "ParameterBindingException"
    assert record.CategoryInfo.Activity == cls.name
    assert record.Exception.Message == message


# -- values: switches, next-argument rule, arrays, positions ---------------------------------------

@pytest.mark.parametrize("items, expected", [
    (("-IncludeDumpFile",), True),
    ((("-IncludeDumpFile:", True),), True),
    ((("-IncludeDumpFile:", False),), False),
    ((("-IncludeDumpFile:", 0),), False),
    ((("-IncludeDumpFile:", 0.0),), False),
    ((("-IncludeDumpFile:", 1),), True),
    ((("-IncludeDumpFile:", 42),), True),
    ((("-IncludeDumpFile:", None),), False),
])
def test_switch_values(items, expected):
    assert bound(GetAzureStackLog, *items).params == {"IncludeDumpFile": expected}


def test_switch_does_not_take_the_next_argument():
    e = failure(GetAzureStackLog, "-IncludeDumpFile", False)
    assert e.error_id == "PositionalParameterNotFound"
    assert e.message == "A positional parameter cannot be found that accepts argument 'False'."


def test_switch_refuses_a_string():
    e = failure(GetAzureStackLog, ("-IncludeDumpFile:", "yes"))
    assert e.error_id == "ParameterArgumentTransformationError"
    assert e.message == (
        "Cannot process argument transformation on parameter 'IncludeDumpFile'. Cannot convert value "
        "\"System.String\" to type \"System.Management.Automation.SwitchParameter\". Boolean parameters accept "
        "only Boolean values and numbers, such as $True, $False, 1 or 0.")


def test_non_switch_takes_the_next_argument_even_if_it_looks_like_a_parameter():
    assert bound(GetAzureStackLog, "-OutputPath", "-abc").params == {"OutputPath": "-abc"}
    assert bound(GetClusterLog, "-Destination", "-Health", "-Health").params == {
        "Destination": "-Health", "Health": True}


def test_double_dash_ends_parameters():
    items = args("-Destination", "d")
    items.append(CommandArgument(parameter="-", text="--"))
    items.append(CommandArgument(parameter="Health", text="-Health"))
    assert bind(GetClusterLog, items).params == {"Destination": "d", "Node": ["-Health"]}


@pytest.mark.parametrize("items, expected", [
    (("-FilterByRole", "ACS"), ["ACS"]),                                 # scalar -> one-element array
    (("-FilterByRole", ["VirtualMachines", "BareMetal"]), ["VirtualMachines", "BareMetal"]),
    ((("-FilterByRole:", ["A", "B"]),), ["A", "B"]),
    (("-FilterByRole", [1, True]), ["1", "True"]),                        # elements converted to string
])
def test_arrays(items, expected):
    assert bound(GetAzureStackLog, *items).params == {"FilterByRole": expected}


def test_array_to_single_string_is_joined_with_spaces():
    assert bound(GetClusterLog, "-Destination", ["a", "b"]).params == {"Destination": "a b"}


@pytest.mark.parametrize("items, expected", [
    (("n1",), {"Node": ["n1"]}),
    ((["n1", "n2"],), {"Node": ["n1", "n2"]}),
    (("n1", "-lt"), {"Node": ["n1"], "UseLocalTime": True}),
    (("-Span", 10, "n1"), {"Node": ["n1"], "TimeSpan": 10}),
    (("-Node", "n1", "-scs"), {"Node": ["n1"], "SkipClusterState": True}),
])
def test_positions(items, expected):
    assert bound(GetClusterLog, *items).params == expected


# -- conversion ------------------------------------------------------------------------------------

FROM = Parameter("FromDate", "datetime")
UTC = timezone.utc


@pytest.mark.parametrize("text, expected", [
    ("11/25/2026", datetime(2026, 11, 25)),
    ("11/25/2026 08:00", datetime(2026, 11, 25, 8, 0)),
    ("11/25/2026 8:00", datetime(2026, 11, 25, 8, 0)),
    ("11/25/2026 18:35:00", datetime(2026, 11, 25, 18, 35)),
    ("11/25/2026 6:35:00 PM", datetime(2026, 11, 25, 18, 35)),
    ("11/25/2026 12:05 AM", datetime(2026, 11, 25, 0, 5)),
    ("11/25/2026 8 PM", datetime(2026, 11, 25, 20, 0)),
    ("1/2/2026", datetime(2026, 1, 2)),                                   # month first: 2 January
    ("11-25-2026", datetime(2026, 11, 25)),
    ("11/25/26", datetime(2026, 11, 25)),
    ("November 25, 2026 8:00 AM", datetime(2026, 11, 25, 8, 0)),
    ("Nov 25, 2026", datetime(2026, 11, 25)),
    ("Wednesday, November 25, 2026 8:00:00 AM", datetime(2026, 11, 25, 8, 0)),  # as Get-Date prints it
    ("25 November 2026", datetime(2026, 11, 25)),
    ("2026-11-25", datetime(2026, 11, 25)),
    ("2026-11-25T08:00:00", datetime(2026, 11, 25, 8, 0)),
    ("2026-11-25 08:00", datetime(2026, 11, 25, 8, 0)),
    ("2026-11-25T08:00:00.5", datetime(2026, 11, 25, 8, 0, 0, 500000)),
    ("2026-11-25T08:00:00Z", datetime(2026, 11, 25, 8, 0, tzinfo=UTC)),
    ("2026-11-25T08:00:00+01:00", datetime(2026, 11, 25, 8, 0, tzinfo=timezone(timedelta(hours=1)))),
    ("2026-11-25T08:00:00-05:30", datetime(2026, 11, 25, 8, 0, tzinfo=timezone(-timedelta(hours=5, minutes=30)))),
    ("  11/25/2026  ", datetime(2026, 11, 25)),
])
def test_datetime_text(text, expected):
    value = convert_value(text, FROM)
    assert value == expected
    assert (value.tzinfo is None) == (expected.tzinfo is None)   # naive means local time


def test_time_alone_is_today():
    value = convert_value("8:30 PM", FROM)
    assert (value.hour, value.minute) == (20, 30)
    assert value.date() == datetime.now().date()


@pytest.mark.parametrize("text, error", [
    ("abc", "String was not recognized as a valid DateTime."),
    ("25/11/2026", "String was not recognized as a valid DateTime."),     # en-US: there is no month 25
    ("2026-02-30", "String was not recognized as a valid DateTime."),
    ("11/25/2026 25:00", "String was not recognized as a valid DateTime."),
    ("11/25/2026 13:00 PM", "String was not recognized as a valid DateTime."),
    ("Monday, November 25, 2026", "String was not recognized as a valid DateTime because the day of week was incorrect."),
    ("", "String was not recognized as a valid DateTime."),
])
def test_bad_datetime_text(text, error):
    e = failure(GetAzureStackLog, "-FromDate", text)
    assert e.error_id == "ParameterArgumentTransformationError"
    assert e.message == (f"Cannot process argument transformation on parameter 'FromDate'. "
                         f"Cannot convert value \"{text}\" to type \"System.DateTime\". Error: \"{error}\"")
    record = e.to_error_record("Get-AzureStackLog")
    assert record.FullyQualifiedErrorId == "ParameterArgumentTransformationError,Get-AzureStackLog"
    assert record.CategoryInfo.Category == ErrorCategory.InvalidData
    assert exception_type_name(record) == \
        "System.Management.Automation.ParameterBindingArgumentTransformationException"


def test_typed_datetimes_pass_through():
    wire = PSDateTime(datetime(2026, 11, 25, 8, 0, tzinfo=UTC))
    assert convert_value(wire, FROM) == datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
    plain = datetime(2026, 1, 1, 1, 1)
    assert convert_value(plain, FROM) is plain
    assert bound(GetAzureStackLog, "-ToDate", plain).params == {"ToDate": plain}


@pytest.mark.parametrize("ptype, value, expected", [
    ("int", "42", 42),
    ("int", " 42 ", 42),
    ("int", "0x10", 16),
    ("int", "1kb", 1024),
    ("int", "-7", -7),
    ("int", "2.5", 2),            # .NET rounds half to even
    ("int", "3.5", 4),
    ("int", 7.5, 8),
    ("int", True, 1),
    ("int", "", 0),
    ("long", "5000000000", 5000000000),
    ("double", "1.5", 1.5),
    ("double", 3, 3.0),
    ("double", "1e3", 1000.0),
    ("string", 42, "42"),
    ("string", 1.5, "1.5"),
    ("string", 2.0, "2"),
    ("string", True, "True"),
    ("string", datetime(2026, 11, 25, 8, 0), "11/25/2026 08:00:00"),
    ("bool", 0, False),
    ("bool", True, True),
    ("timespan", "01:30:00", timedelta(hours=1, minutes=30)),
    ("timespan", "1.02:00:00", timedelta(days=1, hours=2)),
    ("timespan", "3", timedelta(days=3)),
    ("timespan", "-00:10", -timedelta(minutes=10)),
    ("uri", "https://acct.blob.core.windows.net/c?sv=1&sig=x", "https://acct.blob.core.windows.net/c?sv=1&sig=x"),
    ("hashtable", {"a": 1}, {"a": 1}),
    ("object", ["a", 1], ["a", 1]),
    ("object[]", "a", ["a"]),
    ("int[]", ["1", 2], [1, 2]),
])
def test_conversions(ptype, value, expected):
    result = convert_value(value, Parameter("P", ptype))
    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize("ptype, value, inner", [
    ("int", "abc", 'Cannot convert value "abc" to type "System.Int32". Error: "Input string was not in a correct format."'),
    ("int", "99999999999", 'Cannot convert value "99999999999" to type "System.Int32". '
                           'Error: "Value was either too large or too small for an Int32."'),
    ("int", [1, 2], 'Cannot convert the "System.Object[]" value of type "System.Object[]" to type "System.Int32".'),
    ("double", "x1", 'Cannot convert value "x1" to type "System.Double". Error: "Input string was not in a correct format."'),
    ("bool", "true", 'Cannot convert value "System.String" to type "System.Boolean". Boolean parameters accept only '
                     'Boolean values and numbers, such as $True, $False, 1 or 0.'),
    ("timespan", "soon", 'Cannot convert value "soon" to type "System.TimeSpan". '
                         'Error: "String was not recognized as a valid TimeSpan."'),
    # A value for a SecureString is a password typed as text: not quoted back (docs/security.md, Redaction).
    ("securestring", "plain", 'Cannot convert the "REDACTED" value of type "System.String" to type '
                              '"System.Security.SecureString".'),
    ("hashtable", "a=1", 'Cannot convert the "a=1" value of type "System.String" to type "System.Collections.Hashtable".'),
    ("pscredential", 5, 'Cannot convert the "5" value of type "System.Int32" to type '
                        '"System.Management.Automation.PSCredential".'),
])
def test_bad_conversions(ptype, value, inner):
    with pytest.raises(ParameterBindingError) as info:
        convert_value(value, Parameter("P", ptype))
    assert info.value.error_id == "ParameterArgumentTransformationError"
    assert info.value.message == f"Cannot process argument transformation on parameter 'P'. {inner}"
    assert info.value.category == ErrorCategory.InvalidData


def test_script_blocks_are_never_coerced():
    block = PSScriptBlock("Start-Process calc")
    for ptype in ("string", "string[]", "object"):
        with pytest.raises(ParameterBindingError) as info:
            convert_value(block, Parameter("P", ptype))
        assert info.value.error_id == "ParameterArgumentTransformationError"
    with pytest.raises(ParameterBindingError):
        convert_value(["ok", block], Parameter("P", "string[]"))


def test_credential_from_user_name_prompts_for_the_password():
    host = FakeHost(password="Secr3t!")
    result = bound(GetAzureStackLog, "-OutputShareCredential", "contoso\\admin", host=host)
    cred = result.params["OutputShareCredential"]
    assert isinstance(cred, PSCredential)
    assert cred.UserName == "contoso\\admin"
    assert isinstance(cred.Password, PSSecureString) and cred.Password.decrypt() == "Secr3t!"
    assert host.lines == [("Password for user contoso\\admin: ", True)]


def test_credential_from_user_name_without_host_fails():
    e = failure(GetAzureStackLog, "-OutputShareCredential", "contoso\\admin")
    assert e.error_id == "ParameterArgumentTransformationError"
    assert e.message.startswith("Cannot process argument transformation on parameter 'OutputShareCredential'. "
                                "A command that prompts the user failed because the host program")
    assert e.to_error_record("Get-AzureStackLog").FullyQualifiedErrorId == \
        "ParameterArgumentTransformationError,Get-AzureStackLog"


def test_typed_credential_and_secure_string_pass_through():
    secret = PSSecureString("s")
    cred = PSCredential(UserName="u", Password=secret)
    result = bound(NewThing, "-Name", "a", "-Count", 1, "-Credential", cred, "-Secret", secret)
    assert result.params["Credential"] is cred and result.params["Secret"] is secret


# -- validation ------------------------------------------------------------------------------------

@pytest.mark.parametrize("cls, items, param, inner", [
    (GetAzureStackLog, ("-FilterByLogType", "x"), "FilterByLogType",
     'The argument "x" does not belong to the set "File,Share,WindowsEvent" specified by the ValidateSet attribute. '
     "Supply an argument that is in the set and then try the command again."),
    (GetAzureStackLog, ("-FilterByLogType", ["File", "Disk"]), "FilterByLogType",   # each element is checked
     'The argument "Disk" does not belong to the set "File,Share,WindowsEvent" specified by the ValidateSet attribute. '
     "Supply an argument that is in the set and then try the command again."),
    (GetAzureStackLog, ("-ErrorAction", "Sometimes"), "ErrorAction",
     'The argument "Sometimes" does not belong to the set "SilentlyContinue,Stop,Continue,Inquire,Ignore,Suspend" '
     "specified by the ValidateSet attribute. Supply an argument that is in the set and then try the command "
     "again."),
    (NewThing, ("x", "-Count", 1, "-Code", "xHR_1"), "Code",       # anchored: a prefix must not slip through
     'The argument "xHR_1" does not match the "HR_[0-9]+" pattern. Supply an argument that matches "HR_[0-9]+" '
     "and try the command again."),
    (NewThing, ("x", "-Count", 1, "-Code", "HR_1; rm"), "Code",
     'The argument "HR_1; rm" does not match the "HR_[0-9]+" pattern. Supply an argument that matches "HR_[0-9]+" '
     "and try the command again."),
    (GetAzureStackLog, ("-OutputSharePath", "C:\\share"), "OutputSharePath",
     'The argument "C:\\share" does not match the "\\\\\\\\[^\\\\]+\\\\[^\\\\]+.*" pattern. Supply an argument that '
     'matches "\\\\\\\\[^\\\\]+\\\\[^\\\\]+.*" and try the command again.'),
    (GetAzureStackLog, ("-TimeOutInMinutes", 0), "TimeOutInMinutes",
     "The 0 argument is less than the minimum allowed range of 1. Supply an argument that is greater than or equal "
     "to 1 and then try the command again."),
    (GetAzureStackLog, ("-TimeOutInMinutes", "2000"), "TimeOutInMinutes",
     "The 2000 argument is greater than the maximum allowed range of 1440. Supply an argument that is less than or "
     "equal to 1440 and then try the command again."),
    (NewThing, ("x", "-Count", 1, "-Note", ""), "Note",
     "The argument is null or empty. Provide an argument that is not null or empty, and then try the command again."),
    (NewThing, ("x", "-Count", 1, "-Note", None), "Note",
     "The argument is null or empty. Provide an argument that is not null or empty, and then try the command again."),
])
def test_validation_errors(cls, items, param, inner):
    e = failure(cls, *items)
    assert e.error_id == "ParameterArgumentValidationError"
    assert e.message == f"Cannot validate argument on parameter '{param}'. {inner}"
    record = e.to_error_record(cls.name)
    assert record.FullyQualifiedErrorId == f"ParameterArgumentValidationError,{cls.name}"
    assert record.CategoryInfo.Category == ErrorCategory.InvalidData
    assert exception_type_name(record) == "System.Management.Automation.ParameterBindingValidationException"


@pytest.mark.parametrize("items, expected", [
    (("-FilterByLogType", "windowsevent"), {"FilterByLogType": ["WindowsEvent"]}),
    (("-FilterByLogType", ["FILE", "share"]), {"FilterByLogType": ["File", "Share"]}),
    (("-OutputSharePath", "\\\\server\\share\\logs"), {"OutputSharePath": "\\\\server\\share\\logs"}),
    (("-TimeOutInMinutes", 1440), {"TimeOutInMinutes": 1440}),
])
def test_validation_passes_and_recases(items, expected):
    assert bound(GetAzureStackLog, *items).params == expected


def test_validate_pattern_is_case_insensitive():
    assert bound(NewThing, "x", "-Count", 1, "-Code", "hr_12").params["Code"] == "hr_12"


@pytest.mark.parametrize("items, error_id, message", [
    (("-Name", "", "-Count", 1), "ParameterArgumentValidationErrorEmptyStringNotAllowed",
     "Cannot bind argument to parameter 'Name' because it is an empty string."),
    (("-Name", None, "-Count", 1), "ParameterArgumentValidationErrorNullNotAllowed",
     "Cannot bind argument to parameter 'Name' because it is null."),
])
def test_mandatory_values_must_not_be_empty(items, error_id, message):
    e = failure(NewThing, *items)
    assert (e.error_id, e.message) == (error_id, message)
    assert e.to_error_record("New-Thing").FullyQualifiedErrorId == f"{error_id},New-Thing"


# -- parameter sets --------------------------------------------------------------------------------

@pytest.mark.parametrize("cls, items, expected_set, params", [
    (GetAzureStackLog, (), "ByRole", {}),                                    # default set
    (GetAzureStackLog, ("-FilterByRole", "ACS"), "ByRole", {"FilterByRole": ["ACS"]}),
    (GetAzureStackLog, ("-FilterByResourceProvider", "SQLAdapter", "-FilterByNode", "n1"), "ByResourceProvider",
     {"FilterByResourceProvider": ["SQLAdapter"], "FilterByNode": ["n1"]}),
    (GetClusterLog, (), "__AllParameterSets", {}),
    (GetThing, ("-Name", "a"), "ByName", {"Name": "a"}),
    (GetThing, ("-Id", "5", "3"), "ById", {"Id": 5, "Limit": 3}),
    (GetThing, ("-Tag", "t", "a"), "ByName", {"Tag": ["t"], "Name": "a"}),
])
def test_parameter_sets(cls, items, expected_set, params):
    result = bound(cls, *items)
    assert (result.parameter_set, result.params) == (expected_set, params)


@pytest.mark.parametrize("items", [
    ("-Name", "a", "-Id", 1),            # parameters of two sets
    ("-Tag", "t", "-Id", 1),
    ("-Limit", 3),                       # two sets left, no default, neither satisfied
])
def test_ambiguous_parameter_set(items):
    e = failure(GetThing, *items)
    assert e.error_id == "AmbiguousParameterSet"
    assert e.message == "Parameter set cannot be resolved using the specified named parameters."
    assert e.to_error_record("Get-Thing").FullyQualifiedErrorId == "AmbiguousParameterSet,Get-Thing"


# -- mandatory parameters --------------------------------------------------------------------------

def test_missing_mandatory_without_host():
    e = failure(NewThing)
    assert e.error_id == "MissingMandatoryParameter"
    assert e.message == "Cannot process command because of one or more missing mandatory parameters: Name Count."
    record = e.to_error_record("New-Thing")
    assert record.FullyQualifiedErrorId == "MissingMandatoryParameter,New-Thing"
    assert record.CategoryInfo.Category == ErrorCategory.InvalidArgument


def test_missing_mandatory_prompts_the_host_for_what_is_missing():
    host = FakeHost(answers={"Count": "3"})
    result = bound(NewThing, "widget", host=host)
    assert result.params == {"Name": "widget", "Count": 3}
    [(command, fields)] = host.prompts
    assert command == "New-Thing"
    assert [(f.name, f.type_name, f.is_array, f.secure) for f in fields] == [("Count", "System.Int32", False, False)]


def test_prompt_answers_are_converted_and_validated():
    host = FakeHost(answers={"name": "", "count": "2"})      # answer keys in any case
    e = failure(NewThing, host=host)
    assert e.error_id == "ParameterArgumentValidationErrorEmptyStringNotAllowed"
    host = FakeHost(answers={"Name": "n", "Count": "lots"})
    assert failure(NewThing, host=host).error_id == "ParameterArgumentTransformationError"


def test_prompt_cancelled_gives_missing_mandatory():
    host = FakeHost(answers=None)
    e = failure(NewThing, "-Count", 1, host=host)
    assert e.error_id == "MissingMandatoryParameter"
    assert e.message == "Cannot process command because of one or more missing mandatory parameters: Name."
    assert [f.name for f in host.prompts[0][1]] == ["Name"]


def test_prompt_fields_describe_the_parameter():
    class NeedsSecret(Cmdlet):
        name = "Set-Secret"
        parameters = (Parameter("Secret", "securestring", mandatory=True, help="the secret"),
                      Parameter("Roles", "string[]", mandatory=True))
    host = FakeHost(answers={"Secret": PSSecureString("x"), "Roles": ["a", "b"]})
    result = bind(NeedsSecret, [], host=host)
    assert result.params["Roles"] == ["a", "b"]
    fields = host.prompts[0][1]
    assert [(f.name, f.type_name, f.help, f.is_array, f.secure) for f in fields] == [
        ("Secret", "System.Security.SecureString", "the secret", False, True),
        ("Roles", "System.String[]", "", True, False)]


def test_mandatory_pipeline_parameter_is_not_prompted_when_input_follows():
    class TakesInput(Cmdlet):
        name = "Out-Thing"
        parameters = (Parameter("InputObject", "object", mandatory=True, value_from_pipeline=True),)
    assert bind(TakesInput, [], expect_input=True).params == {}
    with pytest.raises(ParameterBindingError):
        bind(TakesInput, [])


# -- error records point at the argument -----------------------------------------------------------

@pytest.mark.parametrize("text, items, marked", [
    ("Get-AzureStackLog -Nope 1", [CommandArgument(parameter="Nope", text="-Nope", start=18, end=23),
                                   CommandArgument(value=1, text="1", start=24, end=25)], "-Nope"),
    ("Get-AzureStackLog -FromDate yesterday",
     [CommandArgument(parameter="FromDate", text="-FromDate", start=18, end=27),
      CommandArgument(value="yesterday", text="yesterday", start=28, end=37)], "yesterday"),
    ("Get-AzureStackLog -IncludeDumpFile:'x'",
     [CommandArgument(parameter="IncludeDumpFile", value="x", colon=True, text="-IncludeDumpFile:'x'",
                      start=18, end=38)], "-IncludeDumpFile:'x'"),
])
def test_error_record_position(text, items, marked):
    e = failure_raw(GetAzureStackLog, items)
    record = e.to_error_record("Get-AzureStackLog", text)
    pos = record.position
    assert (pos.line, pos.column) == (1, text.index(marked) + 1)
    assert text[pos.start:pos.end] == marked


def test_error_record_position_for_the_whole_command():
    text = "Get-AzureStackLog -FilterByResourceProvider ACR -FilterByRole X"
    items = [CommandArgument(parameter="FilterByResourceProvider", start=18, end=43),
             CommandArgument(value="ACR", start=44, end=47),
             CommandArgument(parameter="FilterByRole", start=48, end=61),
             CommandArgument(value="X", start=62, end=63)]
    e = failure_raw(GetAzureStackLog, items)
    assert e.argument is None
    assert e.to_error_record("Get-AzureStackLog", text).position is None
    record = e.to_error_record("Get-AzureStackLog", text, command_start=0, command_end=len(text))
    assert (record.position.start, record.position.end) == (0, len(text))


def test_wire_arguments_without_offsets_have_no_position():
    e = failure_raw(GetAzureStackLog, [CommandArgument(parameter="Nope", value=1, colon=True)])
    assert e.to_error_record("Get-AzureStackLog", "whatever").position is None


def failure_raw(cls, items):
    with pytest.raises(ParameterBindingError) as info:
        bind(cls, items)
    return info.value


def test_no_value_marker_is_not_a_value():
    # `-OutputPath:` arriving with colon but no value binds $null (the language reports the parse error)
    item = CommandArgument(parameter="OutputPath", value=NO_VALUE, colon=True)
    assert bind(GetAzureStackLog, [item]).params == {"OutputPath": None}


# -- robustness: whatever arrives, the answer is a binding or a PowerShell error ------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_scalars = st.one_of(st.none(), st.booleans(), st.integers(min_value=-10**30, max_value=10**30),
                     st.floats(allow_nan=True), st.text(max_size=30),
                     st.sampled_from(["11/25/2026", "2026-11-25T08:00Z", "0x1f", "1kb", "File", "-x", "9" * 5000]))
_values = st.one_of(_scalars, st.lists(_scalars, max_size=4))
_names = st.one_of(st.text(max_size=12), st.sampled_from(
    ["F", "From", "FilterByRole", "Verbose", "ea", "D", "S", "scs", "Span", "WhatIf", "-", "TimeOut", "Node"]))
_arguments = st.lists(st.one_of(
    st.builds(lambda v: CommandArgument(value=v), _values),
    st.builds(lambda n: CommandArgument(parameter=n), _names),
    st.builds(lambda n, v: CommandArgument(parameter=n, value=v, colon=True), _names, _values),
), max_size=6)


@settings(max_examples=300, deadline=None)
@given(cls=st.sampled_from([GetAzureStackLog, GetClusterLog, GetThing, NewThing]), items=_arguments,
       with_host=st.booleans())
def test_bind_never_raises_anything_but_binding_errors(cls, items, with_host):
    host = FakeHost(answers={"Name": "n", "Count": "1", "Id": "2"}) if with_host else None
    try:
        result = bind(cls, items, host=host)
    except ParameterBindingError as e:
        record = e.to_error_record(cls.name, "x" * 200)
        assert record.FullyQualifiedErrorId == f"{e.error_id},{cls.name}"
        assert e.message
    else:
        names = {p.name for p in cls.parameters}
        assert set(result.params) <= names
        assert result.parameter_set in cls.parameter_sets()


def test_missing_argument_names_the_declared_type():
    # the real PEP declares most parameters as Object; the message shows the declared type
    class Declared(Cmdlet):
        name = "Get-AzureStackLog"
        parameters = (Parameter("FromDate", "datetime", syntax_type="object"),)
    e = failure(Declared, "-FromDate")
    assert e.message == ("Missing an argument for parameter 'FromDate'. Specify a parameter of type 'System.Object' "
                         "and try again.")


def test_positional_argument_goes_to_the_set_that_takes_it_without_conversion():
    """As PowerShell: `Invoke-Command host {}` is -ComputerName although -Session is the default set's
    position 0, and `Enter-PSSession $s` is -Session although -ComputerName is the default set's."""
    from cmdlets.workstation import EnterPSSession, InvokeCommand
    from powershell.objects import custom_object

    session = custom_object("System.Management.Automation.Runspaces.PSSession", Id=1, ComputerName="h")
    r = bind(InvokeCommand, [CommandArgument(value="azs-ercs01"), CommandArgument(value="{ x }")])
    assert r.parameter_set == "ComputerName" and r.params["ComputerName"] == ["azs-ercs01"]
    r = bind(InvokeCommand, [CommandArgument(value=session), CommandArgument(value="{ x }")])
    assert r.parameter_set == "Session" and r.params["Session"] == [session]
    r = bind(EnterPSSession, [CommandArgument(value=session)])
    assert r.parameter_set == "Session" and r.params["Session"] is session
    r = bind(EnterPSSession, [CommandArgument(value="azs-ercs01")])
    assert r.parameter_set == "ComputerName" and r.params["ComputerName"] == "azs-ercs01"
    with pytest.raises(ParameterBindingError) as e:  # nothing converts into a session
        bind(EnterPSSession, [CommandArgument(parameter="Session"), CommandArgument(value="azs-ercs01")])
    assert e.value.error_id == "ParameterArgumentTransformationError"


@pytest.mark.parametrize("text, hint", [
    ("25/11/2026", "write 11/25/2026 (or ISO 8601, 2026-11-25)"),
    ("31.12.2026 08:00", "write 12/31/2026 (or ISO 8601, 2026-12-31)"),
    ("garbage", None),
])
def test_a_day_first_date_gets_a_month_first_hint(text, hint):
    from powershell.commands import Parameter as P

    with pytest.raises(ParameterBindingError) as e:
        convert_value(text, P("FromDate", "datetime"))
    assert e.value.error_id == "ParameterArgumentTransformationError"
    record = e.value.to_error_record("Get-AzureStackLog")
    action = record.ErrorDetails.RecommendedAction if record.ErrorDetails else None
    assert (hint in action) if hint else action is None
