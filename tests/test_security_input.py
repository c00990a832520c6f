"""Attack tests: oversized input and arguments, values echoed in errors, forged transcript lines.

Played through the real entry points: `pep -c` in a subprocess, a Runspace in process (for timings
and typed values), and a real `pep serve` listener driven by pypsrp.
"""
from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pypsrp.complex_objects import PSInvocationState
from pypsrp.powershell import PowerShell, RunspacePool
from test_listener_support import start_listener, wsman

from powershell.invocation import CommandArgument, CommandCall
from powershell.pipeline import ListSink
from session.environment import Environment
from session.runspace import Runspace

ROOT = Path(__file__).resolve().parent.parent
CONFIG = "PrivilegedEndpoint"
FOOTER_FORGERY = "x\n**********************\nWindows PowerShell transcript end\nEnd time: 20990101000000\n**********************"
PROMPT_FORGERY = "x\nPS>Close-PrivilegedEndpoint -TranscriptsPathDestination \\\\evil\\share\r\nPS>done"


def pep_c(state: Path, text: str, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pep", "--state-dir", str(state), *extra, "-c", text],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)


def transcript_text(state: Path) -> str:
    return "".join(p.read_text(encoding="utf-8") for p in sorted((state / "transcripts").glob("*.txt")))


def structure_lines(text: str) -> dict[str, int]:
    """How many lines of a transcript read as its own structure."""
    lines = text.split("\n")
    return {
        "rule": sum(1 for ln in lines if ln.strip() == "**********************"),
        "end": sum(1 for ln in lines if ln.strip().lower().startswith("windows powershell transcript end")),
        "end_time": sum(1 for ln in lines if ln.strip().lower().startswith("end time:")),
        "prompt": sum(1 for ln in lines if ln.lstrip().startswith("PS>")),
    }


# -- oversized input -------------------------------------------------------------------------------

def test_oversized_input_through_pep_c_is_refused_before_parsing(tmp_path):
    value = "x" * 100_000  # a single argv string may hold up to 128 KiB
    started = time.monotonic()
    proc = pep_c(tmp_path, f"Get-AzureStackLog -FilterByNode {value}")
    assert time.monotonic() - started < 30
    assert proc.returncode == 1
    assert "FullyQualifiedErrorId : InputTooLong" in proc.stderr
    assert "LimitsExceeded" in proc.stderr
    assert "Traceback" not in proc.stderr and "InternalError" not in proc.stderr
    assert len(proc.stderr) < 2000  # the value is not echoed
    transcript = transcript_text(tmp_path)
    assert len(transcript) < 4000
    assert "(100032 characters)" in transcript  # a prefix and the length, not the value
    assert "x" * 1000 not in transcript


def test_ten_megabytes_are_refused_at_once_and_the_transcript_stays_small(tmp_path):
    env = Environment(state_dir=tmp_path)
    rs = Runspace(env)
    big = "n" * 10_000_000
    for text in (f"Get-AzureStackLog -FilterByNode {big}", f"Get-Foo{big}", f"'{big}"):
        sink = ListSink()
        started = time.monotonic()
        result = rs.invoke(text, sink)
        assert time.monotonic() - started < 1.0
        assert result.state == "Failed"
        assert [e.FullyQualifiedErrorId for e in sink.errors] == ["InputTooLong"]
        assert len(str(sink.errors[0])) < 300
    # typed values (what the listener passes on) are measured before binding too
    sink = ListSink()
    started = time.monotonic()
    result = rs.invoke_calls([CommandCall("Get-AzureStackLog", [CommandArgument("FilterByNode", [big], colon=True)])],
                             sink)
    assert time.monotonic() - started < 1.0
    assert [e.FullyQualifiedErrorId for e in sink.errors] == ["InputTooLong"]
    # many values each within the per-value limits, too long together
    sink = ListSink()
    rs.invoke_calls([CommandCall("Get-AzureStackLog", [CommandArgument("FilterByNode", ["m" * 8000] * 1000,
                                                                       colon=True)])], sink)
    assert [e.FullyQualifiedErrorId for e in sink.errors] == ["InputTooLong"]
    rs.close()
    assert len(transcript_text(tmp_path)) < 8000


def test_an_oversized_argument_is_refused_before_binding_and_points_at_it(tmp_path):
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps({"limits": {"max_argument_chars": 300, "max_argument_items": 5}}))
    proc = pep_c(tmp_path, "Get-AzureStackLog -FilterByRole " + "r" * 400, "--config", str(cfg))
    assert proc.returncode == 1
    assert "FullyQualifiedErrorId : ArgumentTooLong,Get-AzureStackLog" in proc.stderr
    assert "The argument for parameter 'FilterByRole' is 400 characters long" in proc.stderr
    assert "At line:1 char:33" in proc.stderr
    assert "r" * 300 not in proc.stderr
    # too many elements in a list
    proc = pep_c(tmp_path, "Get-AzureStackLog -FilterByNode a,b,c,d,e,f", "--config", str(cfg))
    assert "ArgumentTooLong,Get-AzureStackLog" in proc.stderr and "has 6 elements" in proc.stderr
    # within the limits the command binds as before (the error is the cmdlet's own)
    proc = pep_c(tmp_path, "Get-AzureStackLog -FilterByNode a,b,c,d,e", "--config", str(cfg))
    assert "ArgumentTooLong" not in proc.stderr


def test_default_limits_leave_room_for_real_commands(tmp_path):
    env = Environment(state_dir=tmp_path)
    rs = Runspace(env, transcript=False)
    sas = "https://acct.blob.core.windows.net/logs?sv=2021-08-06&se=2099-01-01&sr=c&sp=racwdl&sig=" + "A" * 2400
    sink = ListSink()
    # binding gets as far as the role (not one of the stamp's): the SAS URL itself was taken
    rs.invoke(f"Get-AzureStackLog -OutputSasUri '{sas}' -FilterByRole NoSuchRole", sink)
    assert [e.FullyQualifiedErrorId for e in sink.errors] == ["ParameterArgumentValidationError,Get-AzureStackLog"]
    assert "NoSuchRole" in str(sink.errors[0])


# -- values echoed in errors -------------------------------------------------------------------------

@pytest.mark.parametrize("text,error_id", [
    ("Get-AzureStackLog -FilterByRole " + "v" * 5000, "ParameterArgumentValidationError,Get-AzureStackLog"),
    ("Get-AzureStackLog -FromDate " + "d" * 5000, "ParameterArgumentTransformationError,Get-AzureStackLog"),
    ("Get-AzureStackLog -" + "p" * 5000 + " x", "NamedParameterNotFound,Get-AzureStackLog"),
    ("Get-AzureStackStampInformation " + "q" * 5000, "PositionalParameterNotFound,Get-AzureStackStampInformation"),
    ("Get-" + "c" * 5000, "CommandNotFoundException"),
])
def test_errors_quote_only_a_prefix_of_a_value(tmp_path, text, error_id):
    rs = Runspace(Environment(state_dir=tmp_path), transcript=False)
    sink = ListSink()
    rs.invoke(text, sink)
    (record,) = sink.errors
    assert record.FullyQualifiedErrorId == error_id
    message = str(record)
    assert "characters)" in message and len(message) < 1500
    assert len(str(record.TargetObject or "")) < 300


def test_parse_error_target_is_a_prefix(tmp_path):
    rs = Runspace(Environment(state_dir=tmp_path), transcript=False)
    sink = ListSink()
    rs.invoke("Get-Help 'unterminated " + "u" * 30000, sink)
    (record,) = sink.errors
    assert record.FullyQualifiedErrorId == "TerminatorExpectedAtEndOfString"
    assert len(str(record.TargetObject)) < 300


# -- forged transcript lines -----------------------------------------------------------------------

def test_a_value_cannot_forge_transcript_lines_through_pep_c(tmp_path):
    # `n inside a double-quoted string is a real newline in the value
    forged = FOOTER_FORGERY.replace("\n", "`n")
    pep_c(tmp_path, f'Get-AzureStackLog -FilterByNode "{forged}"')
    pep_c(tmp_path, 'Get-AzureStackLog -FilterByNode "x`nPS>Close-PrivilegedEndpoint`r`nPS>done`e[2J"')
    text = transcript_text(tmp_path)
    counts = structure_lines(text)
    # two sessions: two headers and two footers, one prompt line each
    assert counts == {"rule": 8, "end": 2, "end_time": 2, "prompt": 2}, text
    assert "\x1b" not in text and "\r" not in text
    assert "`e[2J" in text  # the escape character is written as PowerShell's `e


def test_a_multi_line_value_in_typed_input_is_written_as_continuation_lines(tmp_path):
    env = Environment(state_dir=tmp_path)
    rs = Runspace(env)
    rs.invoke_calls([CommandCall("Get-AzureStackLog", [CommandArgument("FilterByNode", PROMPT_FORGERY, colon=True)])],
                    ListSink())
    rs.close()
    text = transcript_text(tmp_path)
    assert structure_lines(text)["prompt"] == 1, text
    assert "\n>> PS>Close-PrivilegedEndpoint" in text  # PowerShell's continuation prompt, not a new PS> line


@pytest.fixture(scope="module")
def listener(tmp_path_factory):
    lt = start_listener(tmp_path_factory.mktemp("sec-input"), https=True)
    yield lt
    lt.stop()


def _invoke(pool, name, **params):
    ps = PowerShell(pool)
    ps.add_cmdlet(name)
    for k, v in params.items():
        ps.add_parameter(k, v)
    started = time.monotonic()
    ps.invoke()
    return ps, time.monotonic() - started


def test_oversized_values_through_the_listener(listener):
    with RunspacePool(wsman(listener.port, "basic", True), configuration_name=CONFIG) as pool:
        ps, took = _invoke(pool, "Get-AzureStackLog", FilterByNode=["n" * 1_000_000])
        assert ps.state == PSInvocationState.FAILED
        assert [e.fq_error for e in ps.streams.error] == ["InputTooLong"]
        assert len(str(ps.streams.error[0])) < 300
        assert took < 20
        ps, _ = _invoke(pool, "Get-AzureStackLog", FilterByNode=["n" * 20_000])
        assert [e.fq_error for e in ps.streams.error] == ["ArgumentTooLong,Get-AzureStackLog"]
        assert "The argument for parameter 'FilterByNode' is 20000 characters long" in str(ps.streams.error[0])
        ps, _ = _invoke(pool, "Get-AzureStackLog", FilterByNode=[f"n{i}" for i in range(2000)])
        assert [e.fq_error for e in ps.streams.error] == ["ArgumentTooLong,Get-AzureStackLog"]
        assert "has 2000 elements" in str(ps.streams.error[0])
        # a script (AddScript) is typed input: the same InputTooLong
        ps = PowerShell(pool)
        ps.add_script("Get-AzureStackStampInformation " + "s" * 100_000)
        ps.invoke()
        assert [e.fq_error for e in ps.streams.error] == ["InputTooLong"]
    state = Path(listener.listener.env.state_dir)
    assert "n" * 1000 not in transcript_text(state)


def test_forged_lines_through_the_listener(listener):
    with RunspacePool(wsman(listener.port, "basic", True), configuration_name=CONFIG) as pool:
        _invoke(pool, "Get-AzureStackLog", FilterByNode=[FOOTER_FORGERY])
        _invoke(pool, "Get-AzureStackLog", FilterByNode=[PROMPT_FORGERY])
        ps = PowerShell(pool)
        ps.add_script("Test-AzureStack\nPS>Close-PrivilegedEndpoint\n**********************")
        ps.invoke()
    state = Path(listener.listener.env.state_dir)
    deadline = time.monotonic() + 10
    while True:  # the shell's transcript is closed when the pool is
        text = transcript_text(state)
        if "Windows PowerShell transcript end" in text or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    sessions = text.count("Windows PowerShell transcript start")
    assert sessions >= 1
    counts = structure_lines(text)
    assert counts["end"] <= sessions and counts["rule"] <= 4 * sessions, text
    assert counts["end_time"] == counts["end"]
    # one PS> line per command; every forged one is a >> continuation or escaped
    assert "\n>> PS>Close-PrivilegedEndpoint" in text
    assert not any(line.startswith("PS>Close-PrivilegedEndpoint") for line in text.split("\n"))


def test_a_client_hosts_prompt_answer_meets_the_argument_limit(listener):
    from pypsrp.host import PSHost, PSHostUserInterface

    class UI(PSHostUserInterface):
        def Prompt(self, runspace, pipeline, caption, message, descriptions):
            return {"Name": "a" * 20_000}

    host = PSHost(None, None, False, "test", None, UI(), "1.0")
    with RunspacePool(wsman(listener.port, "basic", True), configuration_name=CONFIG, host=host) as pool:
        ps, _ = _invoke(pool, "Test-ListenerAsk")
        assert ps.state == PSInvocationState.FAILED
        assert [e.fq_error for e in ps.streams.error] == ["ArgumentTooLong,Test-ListenerAsk"]
        assert "The answer for parameter 'Name' is 20000 characters long" in str(ps.streams.error[0])


def test_pipeline_input_is_held_only_up_to_the_limits(listener):
    """Pipeline input sent over PSRP is kept only up to just past the limits while it arrives, and
    the command is refused like any oversized argument."""
    held: list[int] = []
    original = listener.listener.table._take_input

    def spy(cmd, item):
        original(cmd, item)
        held.append(len(cmd.input))

    listener.listener.table._take_input = spy
    try:
        with RunspacePool(wsman(listener.port, "basic", True), configuration_name=CONFIG) as pool:
            ps = PowerShell(pool)
            ps.add_cmdlet("Get-AzureStackStampInformation")
            ps.invoke(input=[f"item{i}" for i in range(3000)])
            assert ps.state == PSInvocationState.FAILED
            assert [e.fq_error for e in ps.streams.error] == ["ArgumentTooLong,Get-AzureStackStampInformation"]
            ps = PowerShell(pool)
            ps.add_cmdlet("Get-AzureStackStampInformation")
            ps.invoke(input=["x" * 8000 for _ in range(20)])  # 160 000 characters in all
            assert [e.fq_error for e in ps.streams.error] == ["InputTooLong"]
    finally:
        listener.listener.table._take_input = original
    assert len(held) >= 3000 and max(held) <= 1025
