"""The one value-to-text rule (powershell/text.py) and each of its users, as a user meets them:
the rule itself, `pep -c` output (format views), a `pep run` script ("$x", [string]), binding
error messages that quote a value, and the transcript's copy of a command-form call.

Windows PowerShell 5.1 is the reference: a Double prints with .NET Framework's 15 significant
digits (1E+20, 0.3 for 0.1+0.2), a TimeSpan as [-][d.]hh:mm:ss[.fffffff], a DateTime as
MM/dd/yyyy HH:mm:ss when converted to [string] and M/d/yyyy h:mm:ss tt (en-US) in a view or a
message.
"""
from __future__ import annotations

import re
import subprocess
import sys
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from psrpcore.types import PSCredential, PSSecureString

from powershell.formatting import format_output
from powershell.invocation import CommandArgument, CommandCall
from powershell.objects import custom_object
from powershell.pipeline import ListSink
from powershell.text import long_datetime, to_display, to_string
from session.environment import Environment
from session.runspace import Runspace

ROOT = Path(__file__).resolve().parent.parent
NAN, INF = float("nan"), float("inf")
DAY_AND_SECOND = timedelta(days=1, seconds=1)
NOV25 = datetime(2026, 11, 25, 8, 0, 0)

# value, [string] conversion (to_string), ToString() in en-US (to_display)
RULE = [
    (None, "", ""),
    (True, "True", "True"),
    (False, "False", "False"),
    (42, "42", "42"),
    (-7, "-7", "-7"),
    (2**40, "1099511627776", "1099511627776"),
    (1e20, "1E+20", "1E+20"),
    (1.5, "1.5", "1.5"),
    (0.1, "0.1", "0.1"),
    (0.1 + 0.2, "0.3", "0.3"),                      # 15 significant digits, as .NET Framework
    (0.4 - 0.3 - 0.1, "2.77555756156289E-17", "2.77555756156289E-17"),
    (1e15, "1E+15", "1E+15"),
    (123456789012345.0, "123456789012345", "123456789012345"),
    (1e-5, "1E-05", "1E-05"),
    (0.0001, "0.0001", "0.0001"),
    (4.0, "4", "4"),
    (-0.0, "0", "0"),
    (NAN, "NaN", "NaN"),
    (INF, "Infinity", "Infinity"),
    (-INF, "-Infinity", "-Infinity"),
    (Decimal("1.50"), "1.50", "1.50"),
    (DAY_AND_SECOND, "1.00:00:01", "1.00:00:01"),
    (timedelta(seconds=1, microseconds=500), "00:00:01.0005000", "00:00:01.0005000"),
    (timedelta(seconds=-90), "-00:01:30", "-00:01:30"),
    (NOV25, "11/25/2026 08:00:00", "11/25/2026 8:00:00 AM"),
    (datetime(2026, 11, 25, 18, 5, 3), "11/25/2026 18:05:03", "11/25/2026 6:05:03 PM"),
    ("text", "text", "text"),
    ([1, "a", 1.5], "1 a 1.5", "System.Object[]"),
    ([1, [2, 3]], "1 System.Object[]", "System.Object[]"),
    ([NOV25], "11/25/2026 08:00:00", "System.Object[]"),
    ({"a": 1}, "System.Collections.Hashtable", "System.Collections.Hashtable"),
    (PSSecureString("secret"), "System.Security.SecureString", "System.Security.SecureString"),
    (PSCredential(UserName="u", Password=PSSecureString("p")), "System.Management.Automation.PSCredential",
     "System.Management.Automation.PSCredential"),
    (custom_object(None, A=1e20, B=NOV25), "@{A=1E+20; B=11/25/2026 08:00:00}", "@{A=1E+20; B=11/25/2026 8:00:00 AM}"),
]


@pytest.mark.parametrize(("value", "as_string", "as_display"), RULE, ids=[repr(r[0])[:40] for r in RULE])
def test_the_rule(value, as_string, as_display):
    assert to_string(value) == as_string
    assert to_display(value) == as_display


def test_the_long_form_of_a_bare_datetime():
    assert long_datetime(NOV25) == "Wednesday, November 25, 2026 8:00:00 AM"


# -- format views (what pep -c and the console print) ----------------------------------------------

VIEWS = [
    (1e20, "1E+20"),
    (NAN, "NaN"),
    (DAY_AND_SECOND, "1.00:00:01"),
    (NOV25, "Wednesday, November 25, 2026 8:00:00 AM"),
    # four properties: a table; five: a list (as 5.1 picks for an object without a view)
    (custom_object(None, Sum=1e20, Span=DAY_AND_SECOND, When=NOV25, Flag=True),
     "1E+20 1.00:00:01 11/25/2026 8:00:00 AM True"),
    (custom_object(None, Sum=1e20, Span=DAY_AND_SECOND, When=NOV25, Flag=True, Items=[0.1, NAN]),
     "Sum   : 1E+20\nSpan  : 1.00:00:01\nWhen  : 11/25/2026 8:00:00 AM\nFlag  : True\nItems : {0.1, NaN}"),
]


@pytest.mark.parametrize(("value", "shown"), VIEWS, ids=[repr(v[0])[:30] for v in VIEWS])
def test_the_views_show_the_rules_text(value, shown):
    assert shown in format_output([value], 120)


def pep(*args: str, state: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pep", "--state-dir", str(state), *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


PEP_C = [
    ("Measure-Object -InputObject 1e20 -Sum", 0, r"Sum\s+: 1E\+20\n"),
    ("Measure-Object -InputObject 0.1 -Sum -Average", 0, r"Average\s+: 0\.1\n"),
    ("Measure-Object -InputObject NaN -Sum", 0, r"Sum\s+: NaN\n"),
    ("Get-AzureStackStampInformation | Measure-Object -Property NumberOfNodes -Average", 0, r"Average\s+: 4\n"),
    ("Get-ClusterLog -Node azs-node01 -TimeSpan 1 | Select-Object Name,LastWriteTime", 0,
     r"azs-node01_cluster\.log \d{1,2}/\d{1,2}/\d{4} \d{1,2}:\d{2}:\d{2} [AP]M\n"),
    # a binding error quotes the value by the same rule
    ("Get-ClusterLog -TimeSpan 1e20", 1, r'Cannot convert value "1E\+20" to type "System\.Int32"'),
]


@pytest.mark.parametrize(("text", "code", "pattern"), PEP_C, ids=[c[0] for c in PEP_C])
def test_pep_c_prints_values_by_the_rule(tmp_path, text, code, pattern):
    proc = pep("-c", text, state=tmp_path)
    assert proc.returncode == code, proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    assert re.search(pattern, proc.stdout + proc.stderr), proc.stdout + proc.stderr


# -- pep run: string expansion, casts, output of bare values ---------------------------------------

SCRIPT = [
    ('$x = 1e20; "$x"', "1E+20"),
    ("[string]1e20", "1E+20"),
    ('"$(0.1 + 0.2)"', "0.3"),
    ('$n = [double]"NaN"; "$n"', "NaN"),
    ('"$([double]\'Infinity\') $(-[double]\'Infinity\')"', "Infinity -Infinity"),
    ('$t = [timespan]"1.00:00:01"; "$t"', "1.00:00:01"),
    ('"$([timespan]\'00:00:01.0005\')"', "00:00:01.0005000"),
    ('"$([datetime]\'11/26/2026 08:00:01\' - [datetime]\'11/25/2026 08:00\')"', "1.00:00:01"),
    ('$d = [datetime]"11/25/2026 08:00"; "$d"', "11/25/2026 08:00:00"),
    ('[string][datetime]"11/25/2026 18:05:03"', "11/25/2026 18:05:03"),
    ('$a = 1, 2.5, "x"; "$a"', "1 2.5 x"),
    ('"$true $false"', "True False"),
    ('"[$null]"', "[]"),
    ('$pw = ConvertTo-SecureString "p" -AsPlainText -Force; "$pw"', "System.Security.SecureString"),
    ('$pw = ConvertTo-SecureString "p" -AsPlainText -Force; '
     '"$(New-Object System.Management.Automation.PSCredential("u", $pw))"', "System.Management.Automation.PSCredential"),
]


def test_pep_run_expands_values_by_the_rule(tmp_path):
    marks = [f"--{i}--" for i in range(len(SCRIPT))]
    lines = []
    for mark, (statement, _) in zip(marks, SCRIPT, strict=True):
        lines += [f'"{mark}"', statement]
    # a bare value is shown by the format view; a binding error quotes the value by the rule
    lines += ['"--bare--"', "1e20", "[double]'NaN'", "[timespan]'1.00:00:01'", '[datetime]"11/25/2026 08:00"',
              "Get-Date -Year 1e20"]
    script = tmp_path / "values.ps1"
    script.write_text("\n".join(lines) + "\n", encoding="utf-8")
    proc = pep("run", str(script), state=tmp_path / "state")
    assert "Traceback" not in proc.stdout + proc.stderr
    out = proc.stdout.splitlines()
    for mark, (statement, expected) in zip(marks, SCRIPT, strict=True):
        assert out[out.index(mark) + 1] == expected, statement
    bare = [line for line in out[out.index("--bare--") + 1:] if line]
    assert bare == ["1E+20", "NaN", "1.00:00:01", "Wednesday, November 25, 2026 8:00:00 AM"]
    assert 'Cannot convert value "1E+20" to type "System.Int32"' in proc.stderr
    assert proc.returncode == 1  # the binding error was written


# -- values that arrive typed (PSRP command-form calls): messages and the transcript ----------------

def test_a_typed_value_is_quoted_by_the_rule_in_messages_and_the_transcript(tmp_path):
    env = Environment(state_dir=tmp_path)
    rs = Runspace(env)
    sink = ListSink()
    rs.invoke_calls([CommandCall("Get-ClusterLog", [CommandArgument("TimeSpan"), CommandArgument(value=NOV25)])], sink)
    (record,) = sink.errors
    # a message quotes a value as its ToString() in the session culture (en-US)
    assert 'Cannot convert the "11/25/2026 8:00:00 AM" value of type "System.DateTime" to type "System.Int32".' \
        in str(record.Exception.Message)
    sink = ListSink()
    rs.invoke_calls([CommandCall("Get-Command", [CommandArgument("Name"), CommandArgument(value=[1e20, NOV25])])], sink)
    rs.close()
    (path,) = env.state.transcripts.glob("*.txt")
    # the transcript's copy of a typed argument is its [string] conversion
    assert "PS>Get-Command -Name 1E+20,'11/25/2026 08:00:00'" in path.read_text()
