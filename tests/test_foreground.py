"""The one foreground path (session/foreground.py): Ctrl+C during a real collection leaves the same
state from every front end - `pep -c` (SIGINT), the console and `pep connect` (Ctrl+C through a real
pseudo-terminal, against a `pep serve` subprocess): manifest `stopped`, output log written, lock
released (a second collection right after starts), the command in the transcript, and only a few
lines printed after the stop. Also: the exit rule, `pep connect` answering the remote's prompts
(-Confirm, a password), `pep run` of a missing script, and `pep connect --https` advice."""
from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from session.foreground import STOPPING_NOTICE, Foreground, leaves_session

ROOT = Path(__file__).resolve().parent.parent
PEP = [sys.executable, "-m", "pep"]
PASSWORD = "Azs-Test-P@ss1"
USER = "AZURESTACK\\CloudAdmin"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[=>]")
# The most lines a front end may print after Ctrl+C stops a collection (the stop summary, where the
# logs are, a warning naming what was not collected; not one line per unfinished unit).
MAX_LINES_AFTER_STOP = 6


# -- the rules, without a terminal ---------------------------------------------------------------------

@pytest.mark.parametrize("text, leaves", [
    ("exit", True), ("  EXIT  ", True), ("Exit-PSSession", True), ("exit-pssession;", True), ("exsn", True),
    ("exit 3", False), ("Get-Command exit", False), ("exit; Get-Command", False), ("", False), ("exi", False),
])
def test_one_function_decides_whether_an_input_leaves(text, leaves):
    assert leaves_session(text) is leaves


def test_first_interrupt_stops_second_says_so_once_and_the_wait_goes_on():
    notices = []
    fg = Foreground(notice=notices.append)
    seen = []

    def work(stop):
        fg.interrupt()
        seen.append(stop.is_set())
        fg.interrupt()
        fg.interrupt()
        time.sleep(0.3)  # still cleaning up: the foreground waits for it
        return "cleaned up"

    assert fg.run(work) == "cleaned up"
    assert seen == [True] and notices == [STOPPING_NOTICE]
    assert not fg.running and fg.interrupt() is False  # nothing runs, no guard: the caller decides


def test_an_interrupt_before_the_input_starts_stops_it_at_once():
    fg = Foreground()
    with fg.guard():
        assert fg.interrupt() is True
        assert fg.run(lambda stop: stop.is_set()) is True
        assert fg.run(lambda stop: stop.is_set()) is False  # only the next input


def test_sigint_inside_a_guard_never_raises_keyboard_interrupt():
    fg = Foreground()
    finished = []

    def work(stop):
        os.kill(os.getpid(), signal.SIGINT)
        assert stop.wait(5)
        time.sleep(0.1)
        finished.append(True)
        return "stopped cleanly"

    with fg.guard():
        assert fg.run(work) == "stopped cleanly"
        os.kill(os.getpid(), signal.SIGINT)  # during cleanup: recorded, not raised
        time.sleep(0.05)
    assert finished == [True]


def test_a_failing_input_becomes_an_error_record_not_a_traceback():
    from powershell.pipeline import ListSink

    sink = ListSink()
    assert Foreground().run(lambda stop: 1 / 0, sink=sink) is None
    assert [e.FullyQualifiedErrorId for e in sink.errors] == ["InternalError"]


# -- a collection that takes a few seconds -------------------------------------------------------------
# Ctrl+C must land while the collection runs. The stamp alone no longer guarantees that (its 220 MB
# are collected in under a second), so one host is made slow: 10 ms per listing and per file opened
# on azs-xrp01 (faults.slow_hosts), about 6 s for its 600 files.

@pytest.fixture(scope="module")
def stamp(tmp_path_factory):
    from collector.stampgen import generate

    root = generate(tmp_path_factory.mktemp("fg-stamp"), nodes=4, days=1, mb_per_hour=10, seed=5,
                    end=datetime.now(timezone.utc))
    (root.parent / "slow.json").write_text(json.dumps({"faults": {"slow_hosts": {"azs-xrp01": 0.01}}}))
    return root


def _slow(stamp: Path) -> list[str]:
    """The flag that makes collections on `stamp` take a few seconds."""
    return ["--config", str(stamp.parent / "slow.json")]


def _from_date() -> str:
    return (datetime.now() - timedelta(days=3)).strftime("%m/%d/%Y")


def _env(**extra) -> dict:
    return dict(os.environ, PYTHONPATH=str(ROOT), PROMPT_TOOLKIT_NO_CPR="1", TERM="xterm", **extra)


def _plain_lines(text: str) -> list[str]:
    """Printed lines, without terminal control sequences and without progress-bar redraws (a
    terminal draws those over one another in place)."""
    lines = []
    for raw in re.split(r"\r?\n", ANSI.sub("", text)):
        line = raw.split("\r")[-1].strip()
        if line and "━" not in line and line != "^C":
            lines.append(line)
    return lines


def _assert_stopped_cleanly(out_root: Path, state: Path, command: str) -> None:
    bundles = list(out_root.glob("AzureStackLogs-*"))
    assert len(bundles) == 1, bundles
    manifest = json.loads((bundles[0] / "manifest.json").read_text())
    assert manifest["status"] == "stopped"
    assert (bundles[0] / "Get-AzureStackLog_Output.log").stat().st_size > 0
    locks = state / "collector" / "locks"
    assert not list(locks.glob("*")) if locks.exists() else True
    transcripts = "".join(p.read_text() for p in (state / "transcripts").glob("*.txt"))
    assert command in transcripts


# -- pep -c: SIGINT ------------------------------------------------------------------------------------

def _lines_after_stop_pep_c(stdout_lines: list[str], stderr: str) -> list[str]:
    return [line for line in stdout_lines if line.strip()] + _plain_lines(stderr)


def test_sigint_to_pep_c_stops_the_collection_cleanly(stamp, tmp_path):
    state, out = tmp_path / "state", tmp_path / "logs"
    command = f"Get-AzureStackLog -OutputPath {out} -FromDate {_from_date()}"
    base = PEP + ["--stamp", str(stamp), "--state-dir", str(state), *_slow(stamp)]
    proc = subprocess.Popen(base + ["-c", command], cwd=str(ROOT), env=_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        for line in proc.stdout:
            if "Log collection destination" in line:
                break
        time.sleep(0.3)
        proc.send_signal(signal.SIGINT)
        rest, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    assert proc.returncode == 1  # stopped: not a success
    _assert_stopped_cleanly(out, state, command)
    after = _lines_after_stop_pep_c(rest.splitlines(), err)
    assert "Log collection stopped" in "\n".join(after)
    assert len(after) <= MAX_LINES_AFTER_STOP, after
    # the lock was released: a second collection right after starts (and completes)
    again = subprocess.run(base + ["-c", f"Get-AzureStackLog -OutputPath {tmp_path / 'again'} -FromDate "
                                         f"{_from_date()}"],
                           cwd=str(ROOT), env=_env(), capture_output=True, text=True, timeout=180)
    assert "CollectionAlreadyRunning" not in again.stderr
    assert again.returncode == 0, again.stderr
    assert list((tmp_path / "again").glob("AzureStackLogs-*/manifest.json"))


# -- the console and pep connect: Ctrl+C through a real pseudo-terminal ---------------------------------

def _spawn(args: list[str], **kw):
    pexpect = pytest.importorskip("pexpect")
    return pexpect.spawn(PEP[0], PEP[1:] + args, cwd=str(ROOT), env=_env(), encoding="utf-8",
                         codec_errors="replace", dimensions=(40, 160), timeout=kw.get("timeout", 60))


def _fresh_prompt(prompt: str):
    # prompt_toolkit redraws the prompt with the accepted line; a fresh, empty one is followed by
    # cursor movement
    return re.compile(re.escape(prompt) + r"\x1b\[")


def _ctrl_c_during_a_collection(child, prompt: str, command: str) -> list[str]:
    child.sendline(command)
    child.expect("Log collection destination")
    time.sleep(0.4)
    child.sendcontrol("c")
    started = time.monotonic()
    child.expect(_fresh_prompt(prompt))
    assert time.monotonic() - started < 30
    assert "Traceback" not in child.before
    return _plain_lines(child.before)


def test_ctrl_c_in_the_console_stops_the_collection_cleanly(stamp, tmp_path):
    state, out = tmp_path / "state", tmp_path / "logs"
    prompt = "[azs-ercs01]: PS>"
    child = _spawn(["--stamp", str(stamp), "--state-dir", str(state), *_slow(stamp)])
    try:
        child.expect_exact(prompt)
        command = f"Get-AzureStackLog -OutputPath {out} -FromDate {_from_date()}"
        after = _ctrl_c_during_a_collection(child, prompt, command)
        assert any("Log collection stopped" in line for line in after), after
        assert len(after) <= MAX_LINES_AFTER_STOP, after
        _assert_stopped_cleanly(out, state, command)
        child.sendline(f"Get-AzureStackLog -OutputPath {tmp_path / 'again'} -FromDate {_from_date()}")
        child.expect(_fresh_prompt(prompt), timeout=180)
        assert "CollectionAlreadyRunning" not in child.before
        assert "Log collection complete" in child.before
        child.sendline("exit")
        child.expect(__import__("pexpect").EOF)
    finally:
        if child.isalive():
            child.terminate(force=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def serve(stamp, tmp_path_factory):
    """A `pep serve` subprocess on the generated stamp."""
    root = tmp_path_factory.mktemp("serve")
    pw = root / "admin-password"
    pw.write_text(PASSWORD + "\n")
    port = _free_port()
    proc = subprocess.Popen(PEP + ["serve", "--stamp", str(stamp), "--state-dir", str(root / "state"), "--listen",
                                   f"127.0.0.1:{port}", "--admin-password-file", str(pw), *_slow(stamp)],
                            cwd=str(ROOT), env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.5).close()
            break
        except OSError:
            time.sleep(0.1)
    else:
        proc.kill()
        pytest.fail("pep serve did not start: " + (proc.stdout.read() if proc.stdout else ""))
    yield port, root / "state"
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()


def _connect(port: int, tmp_path: Path):
    child = _spawn(["connect", f"127.0.0.1:{port}", "--user", USER, "--auth", "ntlm", "--state-dir",
                    str(tmp_path / "ws")])
    child.expect_exact("Password for user")
    child.sendline(PASSWORD)
    child.expect_exact("[127.0.0.1]: PS>")
    return child, "[127.0.0.1]: PS>"


def test_ctrl_c_in_pep_connect_stops_the_remote_collection_cleanly(serve, tmp_path):
    port, state = serve
    out = state / "AzureStackLogs" / f"fg-{tmp_path.name}"  # a remote session writes under its output root
    child, prompt = _connect(port, tmp_path)
    try:
        command = f"Get-AzureStackLog -OutputPath {out} -FromDate {_from_date()}"
        after = _ctrl_c_during_a_collection(child, prompt, command)
        assert any("Log collection stopped" in line for line in after), after
        assert not any("PipelineStopped" in line for line in after), after
        assert len(after) <= MAX_LINES_AFTER_STOP, after
        _assert_stopped_cleanly(out, state, command)  # when the prompt is back, the remote is done
        child.sendline(f"Get-AzureStackLog -OutputPath {out}-again -FromDate {_from_date()}")
        child.expect(_fresh_prompt(prompt), timeout=180)
        assert "CollectionAlreadyRunning" not in child.before
        assert "Log collection complete" in child.before
        child.sendline("exit")
        child.expect(__import__("pexpect").EOF)
    finally:
        if child.isalive():
            child.terminate(force=True)


# -- pep connect answers the remote's host calls at the local console ---------------------------------

def test_pep_connect_answers_a_confirm_prompt(serve, tmp_path):
    port, _ = serve
    child, prompt = _connect(port, tmp_path)
    try:
        child.sendline("Test-AzureStack -Include AzsAcsSummary -Confirm")
        child.expect_exact("Confirm")
        child.expect_exact("Are you sure you want to perform this action?")
        child.expect_exact('[Y] Yes  [A] Yes to All  [N] No  [L] No to All  [?] Help (default is "Y"): ')
        child.sendline("?")
        child.expect_exact("N - ")
        child.expect_exact('(default is "Y"): ')
        child.sendline("n")  # No: the tests do not run
        child.expect(_fresh_prompt(prompt))
        assert "Starting Test-AzureStack" not in child.before and "HostException" not in child.before
        child.sendline("Test-AzureStack -Include AzsAcsSummary -Confirm")
        child.expect_exact('(default is "Y"): ')
        child.sendline("")  # the default, Yes
        child.expect(_fresh_prompt(prompt))
        assert "Test-AzureStack completed" in child.before
        assert "HostException" not in child.before
    finally:
        if child.isalive():
            child.terminate(force=True)


def test_pep_connect_answers_a_password_prompt_without_echo(serve, tmp_path):
    port, _ = serve
    child, prompt = _connect(port, tmp_path)
    try:
        child.sendline(r"Get-AzureStackLog -OutputSharePath \\127.0.0.1\nothere -OutputShareCredential contoso\op "
                       f"-FromDate {_from_date()}")
        child.expect_exact("Password for user contoso\\op: ")
        child.sendline("Sh4re-secret")
        child.expect(_fresh_prompt(prompt))
        # the password reached the remote (which then tried the share), and was never echoed
        assert "Sh4re-secret" not in child.before
        assert "HostException" not in child.before and "ParameterArgumentTransformationError" not in child.before
        assert "DestinationUnreachable" in child.before or "ShareLogonFailure" in child.before, child.before
        child.sendline("exit")
        child.expect(__import__("pexpect").EOF)
    finally:
        if child.isalive():
            child.terminate(force=True)


def _pep_run_script(tmp_path: Path, port: int, body: str) -> Path:
    script = tmp_path / "remote-prompts.ps1"
    script.write_text(
        f'$pw = ConvertTo-SecureString "{PASSWORD}" -AsPlainText -Force\n'
        f'$cred = New-Object System.Management.Automation.PSCredential("{USER}", $pw)\n'
        f"$s = New-PSSession -ComputerName 127.0.0.1 -Port {port} -ConfigurationName PrivilegedEndpoint "
        "-Credential $cred -SessionOption (New-PSSessionOption -Culture en-US -UICulture en-US)\n" + body)
    return script


def test_pep_run_answers_a_remote_confirm_prompt_at_the_terminal(serve, tmp_path):
    # As Windows PowerShell's Invoke-Command forwards the remote's host calls to the local console.
    port, _ = serve
    script = _pep_run_script(tmp_path, port, (
        "Invoke-Command -Session $s { Test-AzureStack -Include AzsAcsSummary -Confirm }\n"
        'Write-Host "after no"\n'
        "Invoke-Command -Session $s { Test-AzureStack -Include AzsAcsSummary -Confirm }\n"
        "Remove-PSSession $s\n"))
    child = _spawn(["run", str(script), "--state-dir", str(tmp_path / "ws")])
    try:
        child.expect_exact("Confirm")
        child.expect_exact("Are you sure you want to perform this action?")
        child.expect_exact('[Y] Yes  [A] Yes to All  [N] No  [L] No to All  [?] Help (default is "Y"): ')
        child.sendline("n")  # No: the tests do not run
        child.expect_exact("after no")
        assert "Starting Test-AzureStack" not in child.before and "HostException" not in child.before
        child.expect_exact('(default is "Y"): ')
        child.sendline("y")
        child.expect(__import__("pexpect").EOF)
        assert "Test-AzureStack completed" in child.before
        assert "HostException" not in child.before and "Traceback" not in child.before
        child.close()
        assert child.exitstatus == 0
    finally:
        if child.isalive():
            child.terminate(force=True)


def test_ctrl_c_at_a_remote_prompt_in_pep_run_stops_at_once(serve, tmp_path):
    # The remote waits for the answer to its PromptForChoice; Ctrl+C stops the remote pipeline,
    # which ends at once (not when the host call times out), and the script with it.
    port, _ = serve
    script = _pep_run_script(tmp_path, port, (
        "Invoke-Command -Session $s { Test-AzureStack -Include AzsAcsSummary -Confirm }\n"
        'Write-Host "not reached"\n'))
    child = _spawn(["run", str(script), "--state-dir", str(tmp_path / "ws")])
    try:
        child.expect_exact('(default is "Y"): ')
        started = time.monotonic()
        child.sendcontrol("c")
        child.expect(__import__("pexpect").EOF, timeout=30)
        assert time.monotonic() - started < 10
        text = ANSI.sub("", child.before)
        assert "not reached" not in text
        for noise in ("Traceback", "HostException", "PipelineStopped", "MissingMandatoryParameter"):
            assert noise not in text, text
        child.close()
        assert child.exitstatus == 1  # stopped: not a success
    finally:
        if child.isalive():
            child.terminate(force=True)


def test_a_mandatory_parameter_prompt_from_the_remote_is_asked_locally(tmp_path):
    """The remote's Prompt host call (a mandatory parameter left out) reaches the local HostUI."""
    from test_listener_support import start_listener

    from powershell.objects import PSCredential, PSSecureString
    from powershell.pipeline import ListSink
    from remoting.client import RemoteSession, SessionOption

    listener = start_listener(tmp_path)
    asked = []

    class LocalHost:
        def read_line(self, prompt, secure=False):
            asked.append(prompt)
            return "operator"

        def prompt_for_parameters(self, command, fields):
            asked.append((command, [f.name for f in fields]))
            return {"Name": "operator"}

        def write(self, text):
            asked.append(text)

    try:
        session = RemoteSession("127.0.0.1", listener.port, False, "PrivilegedEndpoint",
                                PSCredential(UserName=USER, Password=PSSecureString(PASSWORD)), "ntlm",
                                SessionOption(culture="en-US", ui_culture="en-US"), interactive=True).open()
        try:
            sink = ListSink()
            result = session.invoke_script("Test-ListenerAsk", sink, host=LocalHost())
            assert result.state == "Completed" and sink.outputs == ["Hello operator"], [str(e) for e in sink.errors]
            assert asked == [("Test-ListenerAsk", ["Name"])]
            # no local host for this input: the remote gets no answer, and says so as PowerShell does
            sink = ListSink()
            session.invoke_script("Test-ListenerAsk", sink)
            assert [e.FullyQualifiedErrorId.split(",")[0] for e in sink.errors] == ["MissingMandatoryParameter"]
            assert session.is_open  # and the session is still usable
        finally:
            session.close()
    finally:
        listener.stop()


# -- defects ----------------------------------------------------------------------------------------------

def test_pep_run_of_a_missing_script_is_a_powershell_error(tmp_path):
    done = subprocess.run(PEP + ["run", "missing.ps1", "--state-dir", str(tmp_path)], cwd=str(tmp_path),
                          env=_env(), capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "The term 'missing.ps1' is not recognized" in done.stderr
    assert "CommandNotFoundException" in done.stderr
    for python in ("FileNotFoundError", "Errno", "Traceback"):
        assert python not in done.stderr + done.stdout


def test_pep_connect_https_to_a_self_signed_certificate_advises_insecure(tmp_path):
    from test_listener_support import start_listener

    listener = start_listener(tmp_path, https=True)
    try:
        child = _spawn(["connect", f"127.0.0.1:{listener.port}", "--https", "--user", USER, "--auth", "basic",
                        "--state-dir", str(tmp_path / "ws")])
        child.expect_exact("Password for user")
        child.sendline(PASSWORD)
        child.expect(__import__("pexpect").EOF)
        text = ANSI.sub("", child.before)
        assert "ServerCertificateValidationFailed,PSSessionOpenFailed" in text
        assert "--insecure" in text and "-SessionOption" not in text
        child.close()
        assert child.exitstatus == 1
    finally:
        listener.stop()
