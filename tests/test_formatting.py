"""Output as Windows PowerShell 5.1 shows it: default views, the error view, JSON, the sinks."""
from __future__ import annotations

import datetime as dt
import io
import json

import pytest

from powershell.formatting import (
    ConsoleSink,
    JsonSink,
    format_debug,
    format_error,
    format_output,
    format_verbose,
    format_warning,
    register_view,
    to_json,
)
from powershell.objects import (
    ErrorCategory,
    PSCredential,
    PSSecureString,
    SourcePosition,
    custom_object,
    error_record,
    progress_record,
    with_position,
    with_recommended_action,
)

PBE = "System.Management.Automation.ParameterBindingException"


# -- plain values -------------------------------------------------------------------------------

def test_scalars_print_their_tostring_one_per_line():
    assert format_output(["text", 42, True, False, None, 1.5]) == "text\n42\nTrue\nFalse\n1.5\n"


def test_datetime_prints_the_en_us_long_form_framed_like_5_1():
    out = format_output([dt.datetime(2026, 11, 25, 8, 0, 0)])
    assert out == "\nWednesday, November 25, 2026 8:00:00 AM\n\n\n"
    assert "8:05:09 PM" in format_output([dt.datetime(2026, 1, 2, 20, 5, 9)])


def test_arrays_are_enumerated():
    assert format_output([["a", ["b", "c"]], "d"]) == "a\nb\nc\nd\n"


def test_object_with_tostring_renders_as_that_text():
    obj = custom_object("Some.Type", A=1)
    obj.PSObject.to_string = "custom text"
    assert format_output([obj]) == "custom text\n"


# -- tables ---------------------------------------------------------------------------------------

def test_up_to_four_properties_make_one_aligned_table_numbers_right():
    objs = [custom_object("Azs.Node", Name="ERCS01", Count=3, Up=True),
            custom_object("Azs.Node", Name="ERCS02-longer", Count=12345, Up=False)]
    assert format_output(objs) == (
        "\n"
        "Name          Count Up\n"
        "----          ----- --\n"
        "ERCS01            3 True\n"
        "ERCS02-longer 12345 False\n"
        "\n\n"
    )


def test_a_different_type_starts_a_new_table():
    objs = [custom_object("A.T", X=1), custom_object("A.T", X=2), custom_object("B.T", Y="b")]
    out = format_output(objs)
    assert out == "\nX\n-\n1\n2\n\n\n\nY\n-\nb\n\n\n"


def test_wide_table_is_cut_to_the_width_with_dots():
    objs = [custom_object("W.T", Name="n" * 80, Path="p" * 80)]
    out = format_output(objs, width=80)
    lines = out.splitlines()
    assert all(len(line) <= 79 for line in lines)
    assert lines[3].endswith("...")
    assert lines[3].startswith("nnn")


def test_collection_in_a_cell_shows_four_items_then_dots():
    out = format_output([custom_object("C.T", Roles=["ACS", "ECE", "WAS", "SQL", "NC"])])
    assert "{ACS, ECE, WAS, SQL...}" in out


def test_registered_table_view_with_fixed_widths():
    register_view("Test.CommandRow", "table", ["CommandType", "Name", "Version", "Source"],
                  widths=[15, 50, 10, None])
    cmd = custom_object("Test.CommandRow", CommandType="Cmdlet", Name="Get-AzureStackLog",
                        Version="1.0", Source="AzureStack", Extra="hidden")
    lines = format_output([cmd]).splitlines()
    assert lines[1] == "CommandType     Name" + " " * 47 + "Version    Source"
    assert lines[2] == "-----------     ----" + " " * 47 + "-------    ------"
    assert lines[3] == "Cmdlet          Get-AzureStackLog" + " " * 34 + "1.0        AzureStack"


def test_register_view_rejects_a_bad_kind():
    with pytest.raises(ValueError):
        register_view("X.Y", "wide", ["A"])


def test_hashtable_is_a_name_value_table():
    out = format_output([{"FromDate": "11/25/2026", "Count": 3}])
    assert out.splitlines()[1:5] == [
        "Name                           Value",
        "----                           -----",
        "FromDate                       11/25/2026",
        "Count                          3",
    ]


# -- lists ----------------------------------------------------------------------------------------

def test_five_properties_make_a_list_with_blank_lines_around_each_object():
    objs = [custom_object("Azs.Stamp", Name="azs", Region="local", Domain="azurestack.local",
                          Nodes=4, Up=True),
            custom_object("Azs.Stamp", Name="b", Region="r", Domain="d", Nodes=1, Up=False)]
    assert format_output(objs) == (
        "\n"
        "Name   : azs\nRegion : local\nDomain : azurestack.local\nNodes  : 4\nUp     : True\n"
        "\n"
        "Name   : b\nRegion : r\nDomain : d\nNodes  : 1\nUp     : False\n"
        "\n\n"
    )


def test_long_list_values_wrap_under_the_value_column():
    obj = custom_object("L.T", A=1, B=2, C=3, D=4, LongValue="x" * 100)
    lines = format_output([obj], width=60).splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("LongValue : "))
    assert lines[start + 1].startswith(" " * 12 + "x")
    assert all(len(line) <= 59 for line in lines)


def test_datetime_in_a_cell_uses_the_general_format():
    out = format_output([custom_object("D.T", When=dt.datetime(2026, 11, 25, 14, 3, 0))])
    assert "11/25/2026 2:03:00 PM" in out


# -- the error view -------------------------------------------------------------------------------

def test_binding_error_view_with_position():
    text = "Get-AzureStackLog -FilterByResourceProvider ACR -FilterByRole FabricRingServices"
    record = error_record("Parameter set cannot be resolved using the specified named parameters.",
                          "AmbiguousParameterSet", ErrorCategory.InvalidArgument, command="Get-AzureStackLog",
                          exception_type=PBE)
    with_position(record, SourcePosition(text, 0, len(text)))
    assert format_error(record) == (
        "Get-AzureStackLog : Parameter set cannot be resolved using the specified named parameters.\n"
        "At line:1 char:1\n"
        "+ Get-AzureStackLog -FilterByResourceProvider ACR -FilterByRole FabricR ...\n"
        "+ ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~\n"
        "    + CategoryInfo          : InvalidArgument: (:) [Get-AzureStackLog], ParameterBindingException\n"
        "    + FullyQualifiedErrorId : AmbiguousParameterSet,Get-AzureStackLog\n"
    )


def test_error_view_without_position_has_no_at_line():
    record = error_record("Cannot bind.", "NamedParameterNotFound", ErrorCategory.InvalidArgument,
                          command="Get-AzureStackLog", exception_type=PBE)
    assert format_error(record).splitlines()[:2] == [
        "Get-AzureStackLog : Cannot bind.",
        "    + CategoryInfo          : InvalidArgument: (:) [Get-AzureStackLog], ParameterBindingException",
    ]


def test_marker_points_at_a_late_argument_with_leading_dots():
    text = "Get-AzureStackLog -OutputSharePath '\\\\10.0.0.5\\share' -FilterByRole ACS,ECE -FromDate nonsense"
    start = text.index("nonsense")
    record = with_position(error_record("bad", "X", command="Get-AzureStackLog"),
                           SourcePosition(text, start, start + len("nonsense")))
    lines = format_error(record).splitlines()
    assert lines[1] == f"At line:1 char:{start + 1}"
    assert lines[2].startswith("+ ... ")
    assert lines[2].endswith("nonsense")
    assert lines[3].index("~") == lines[2].index("nonsense") and lines[3].endswith("~" * 8)


def test_command_not_found_is_prefixed_with_the_typed_name():
    text = "Get-AzureStackLogs -FilterByRole ACS"
    record = error_record(
        "The term 'Get-AzureStackLogs' is not recognized as the name of a cmdlet, function, script file, or "
        "operable program. Check the spelling of the name, or if a path was included, verify that the path is "
        "correct and try again.", "CommandNotFoundException", ErrorCategory.ObjectNotFound,
        exception_type="System.Management.Automation.CommandNotFoundException", target="Get-AzureStackLogs")
    with_position(record, SourcePosition(text, 0, 18))
    lines = format_error(record).splitlines()
    assert lines[0].startswith("Get-AzureStackLogs : The term 'Get-AzureStackLogs' is not recognized")
    assert lines[2:4] == ["+ Get-AzureStackLogs -FilterByRole ACS", "+ ~~~~~~~~~~~~~~~~~~"]
    assert lines[4] == ("    + CategoryInfo          : ObjectNotFound: (Get-AzureStackLogs:String) [], "
                        "CommandNotFoundException")
    assert lines[5] == "    + FullyQualifiedErrorId : CommandNotFoundException"


def test_parse_error_puts_the_position_first():
    text = "Get-Help -Name {"
    record = error_record("Missing closing '}' in statement block or type definition.", "MissingEndCurlyBrace",
                          ErrorCategory.ParserError,
                          exception_type="System.Management.Automation.ParentContainsErrorRecordException")
    with_position(record, SourcePosition(text, 16))
    assert format_error(record) == (
        "At line:1 char:17\n"
        "+ Get-Help -Name {\n"
        "+                 ~\n"
        "Missing closing '}' in statement block or type definition.\n"
        "    + CategoryInfo          : ParserError: (:) [], ParentContainsErrorRecordException\n"
        "    + FullyQualifiedErrorId : MissingEndCurlyBrace\n"
    )


def test_scripts_not_allowed_as_a_remote_pep_shows_it_with_the_hint_after():
    record = error_record(
        "The syntax is not supported by this runspace. This can occur if the runspace is in no-language mode.",
        "ScriptsNotAllowed", ErrorCategory.ParserError, exception_type="System.Management.Automation.ParseException",
        target="Get-Date")
    with_recommended_action(record, 'Hint: pass a literal date, e.g. -FromDate "11/25/2026 08:00".')
    assert format_error(record) == (
        "The syntax is not supported by this runspace. This can occur if the runspace is in no-language mode.\n"
        "    + CategoryInfo          : ParserError: (Get-Date:String) [], ParseException\n"
        "    + FullyQualifiedErrorId : ScriptsNotAllowed\n"
        'Hint: pass a literal date, e.g. -FromDate "11/25/2026 08:00".\n'
    )


def test_long_category_fields_are_shortened_like_errorcategoryinfo():
    target = "\\\\10.0.0.5\\share\\a-very-long-folder-name\\AzureStackLogs"
    record = error_record("x", "Y", ErrorCategory.InvalidArgument, target=target)
    category_line = format_error(record).splitlines()[1]
    assert f"({target[:15]}...{target[-15:]}:String)" in category_line


def test_stream_prefixes():
    assert format_warning("disk low") == "WARNING: disk low"
    assert format_verbose("step") == "VERBOSE: step"
    assert format_debug("d") == "DEBUG: d"


# -- JSON -----------------------------------------------------------------------------------------

def test_json_of_objects_dates_and_secrets():
    obj = custom_object("Azs.Stamp", Name="azs", When=dt.datetime(2026, 11, 25, 8, 0, tzinfo=dt.timezone.utc),
                        Secret=PSSecureString("hunter2"),
                        Cred=PSCredential(UserName="u", Password=PSSecureString("hunter2")))
    value = to_json(obj)
    assert value["Name"] == "azs"
    assert value["When"] == "2026-11-25T08:00:00+00:00"
    assert value["Secret"] == "System.Security.SecureString"
    assert value["Cred"]["UserName"] == "u"
    assert value["PSTypeNames"][0] == "Azs.Stamp"
    assert "hunter2" not in json.dumps(value)


def test_json_of_an_error_record():
    record = error_record("Parameter set cannot be resolved using the specified named parameters.",
                          "AmbiguousParameterSet", ErrorCategory.InvalidArgument, command="Get-AzureStackLog",
                          exception_type=PBE)
    value = to_json(record)
    assert value["FullyQualifiedErrorId"] == "AmbiguousParameterSet,Get-AzureStackLog"
    assert value["Category"] == "InvalidArgument"
    assert value["Message"].startswith("Parameter set cannot be resolved")
    assert value["ExceptionType"] == PBE


def test_json_sink_writes_lines_per_stream():
    out, err = io.StringIO(), io.StringIO()
    sink = JsonSink(out, err)
    sink.output([custom_object(None, A=1), "two"])
    sink.warning("careful")
    sink.error(error_record("bad", "Bad", command="X"))
    sink.progress(progress_record("a", "b"))
    assert [json.loads(line) for line in out.getvalue().splitlines()] == [
        {"A": 1, "PSTypeNames": ["System.Management.Automation.PSCustomObject", "System.Object"]}, "two"]
    err_lines = [json.loads(line) for line in err.getvalue().splitlines()]
    assert err_lines[0] == {"stream": "warning", "message": "careful"}
    assert err_lines[1]["FullyQualifiedErrorId"] == "Bad,X"


# -- the console sink -----------------------------------------------------------------------------

def test_console_sink_shows_output_before_the_lines_written_after_it_and_no_progress_on_a_pipe():
    out, err = io.StringIO(), io.StringIO()
    sink = ConsoleSink(out, err, width=120, is_tty=False)
    sink.output(custom_object("N.T", Name="a", Size=1))
    sink.output(custom_object("N.T", Name="bb", Size=10))
    assert out.getvalue() == ""  # rows of one table wait for each other, so its columns align
    sink.progress(progress_record("Collecting", "ACS", percent=50))
    sink.verbose("working")
    # the rows written before the verbose line come before it (Out-Default's order), as one table
    assert out.getvalue() == "\nName Size\n---- ----\na       1\nbb     10\n\n\nVERBOSE: working\n"
    sink.error(error_record("bad", "Bad", command="X"))
    assert err.getvalue().startswith("X : bad\n")
    assert "\x1b[" not in err.getvalue()
    sink.output(custom_object("N.T", Name="longer-name", Size=22))
    sink.flush()
    assert out.getvalue().endswith("VERBOSE: working\n\nName        Size\n----        ----\nlonger-name   22\n\n\n")


def test_console_sink_on_a_terminal_colours_errors_and_draws_progress():
    out, err = io.StringIO(), io.StringIO()
    sink = ConsoleSink(out, err, width=100, is_tty=True, height=24)
    sink.error(error_record("bad", "Bad", command="X"))
    assert err.getvalue().startswith("\x1b[31mX : bad")
    sink.progress(progress_record("Collecting logs", "role ACS", percent=40))
    sink.progress(progress_record("Collecting logs", "role ACS", percent=40, completed=True))
    sink.flush()
    assert "Collecting logs" in out.getvalue()


def test_progress_of_many_activities_takes_at_most_a_third_of_the_terminal():
    # Get-AzureStackLog reports one activity per role (79): a live region taller than the window
    # pushed the command's own lines into the scrollback and left an empty screen behind.
    out, err = io.StringIO(), io.StringIO()
    sink = ConsoleSink(out, err, width=100, is_tty=True, height=24)
    sink.warning("before the bars")
    for i in range(30):
        sink.progress(progress_record(f"Collecting role{i:02d}", "1 of 2 MB", activity_id=i + 2, percent=50))
    sink._progress.progress.refresh()
    frame = out.getvalue().rsplit("\r", 1)[-1]
    rows = [line for line in frame.splitlines() if "Collecting" in line]
    assert len(rows) == 8  # max(5, 24 // 3), the activities updated last
    assert "role29" in rows[-1] and "role22" in rows[0]
    sink.flush()
    assert "before the bars" in out.getvalue()
